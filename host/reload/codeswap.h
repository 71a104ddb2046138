/*
 * codeswap — replacing a plugin's code while tarsd runs (SPEC §6; the protocol step by step
 * is in docs/hot-reload.md, "Code swaps").
 *
 * Triggers: a changed library in a plugin dir or a changed manifest in a manifest dir (watched
 * with libuv, watch.h), or POST /api/v1/plugins/{name}/reload. Each becomes a job for one
 * thread, "tars-reload", which runs them one at a time (reload.h): the new build is staged
 * (hashed, copied), smoke-tested in a child process (smoke.h), mapped and checked, published in
 * the registry as the plugin's next generation, and every instance migrates on its runner at
 * its next step boundary (migrate.h). The old generation is freed once no run uses it and an
 * RCU grace period passed. Any failure leaves the old version running; the outcome is kept per
 * plugin (plugin detail's last_reload), logged, audited (watcher-triggered swaps get their own
 * entry, who "watcher") and streamed (a "reload" event).
 *
 * Threads: codeswap_start/stop/free on the control thread; codeswap_rescan on the control
 * thread or the reload thread, codeswap_rescan_report on an API worker (all under reg_lock);
 * codeswap_reload, codeswap_last on API workers; codeswap_take_events on the stream hub;
 * codeswap_submit on the control thread (the watch).
 */
#ifndef TARS_HOST_CODESWAP_H
#define TARS_HOST_CODESWAP_H

#include <jansson.h>

struct host;

/* Starts the thread and the watch of the plugin and manifest dirs (the loop must exist).
 * 0, or -1 after logging why (tarsd then runs without code swaps). */
int codeswap_start(struct host *h);
/* Refuses new jobs, fails the queued ones ("tarsd is stopping"), ends the current one
 * (withdrawing the orders no runner took yet) and joins the thread. Idempotent. Call before
 * the runners and the HTTP server stop. */
void codeswap_stop(struct host *h);
/* Frees what is left, once the loop has closed the watch's handles. */
void codeswap_free(struct host *h);

/*
 * Reloads plugin name now (API: who is the token's name) and waits for the outcome. Returns
 * 0 (reloaded, unchanged, manifest updated, or loaded after a rescan), -ENOENT (no such
 * plugin), -EBUSY (it cannot move: an env without save/load in use), -EINVAL (the new build
 * was refused), -ESHUTDOWN (tarsd is stopping, or reloads are off), -EIO (out of memory,
 * anything else) — and the outcome as JSON in *result (the caller's), whose "message" (and
 * "error" on failure) says what happened.
 */
int codeswap_reload(struct host *h, const char *name, const char *who, json_t **result);
/* Queues a reload of plugin name (empty: a rescan of the manifest dirs) for a changed file;
 * trigger is "watcher" (a library) or "manifest". Never blocks. */
void codeswap_submit(struct host *h, const char *name, const char *trigger, const char *file);
/* The last reload of plugin name (a copy), or NULL when it had none. */
json_t *codeswap_last(struct host *h, const char *name);
/* The builds refused while an older generation runs on: {name: {sha256 (absent when the
 * library was not read), error, time}} (the caller's; empty when there are none). */
json_t *codeswap_refused_builds(struct host *h);
/* The reload events since the last call (an array, the caller's), for the stream. */
json_t *codeswap_take_events(struct host *h);
/* From now on, every build a rescan finds is smoke-tested before it is mapped (vet.c). */
void codeswap_vet_rescans(struct host *h);
/* Rescans the manifest dirs (new manifests, refused plugins retried) and logs what changed. */
void codeswap_rescan(struct host *h, const char *why);
/*
 * The same, on any thread (POST /api/v1/plugins/rescan), returning what changed:
 * {"added": [{kind, name, version}], "refusals": [one sentence each], "refused": count};
 * NULL when out of memory (the rescan happened all the same).
 */
json_t *codeswap_rescan_report(struct host *h, const char *why);

#endif
