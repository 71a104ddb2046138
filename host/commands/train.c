/*
 * tarsd train: one agent on one env in the foreground, no server. Stops at --steps, or as
 * soon as a deterministic evaluation reaches --target; Ctrl-C stops early and still reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "fault.h"
#include "host.h"
#include "log.h"
#include "params_json.h"
#include "progress.h"

/* Set by the SIGINT handler (the only writer), read by the training loop: a signal handler
 * reaches nothing else. */
static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct train_result {
    double wall, eval_time;
    double eval_mean, eval_std;
    int reached;
    uint64_t steps_to_target;
    double wall_to_target, train_to_target;
    json_t *evals;
    uint64_t last_eval_steps; /* steps at the last evaluation, UINT64_MAX before the first */
};

/* Applies --set KEY=VALUE (env.KEY for the env's parameters). */
static int
apply_sets(const struct opts *o, const struct run_spec *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < o->sets.n; i++) {
        char *key = strdup(o->sets.v[i]);
        if (!key)
            return -1;
        char *value = strchr(key, '=');
        *value++ = '\0';
        int is_env = strncmp(key, "env.", 4) == 0;
        char why[512];
        const struct plugin *p = is_env ? s->env : s->agent;
        int rc = tars_params_parse(is_env ? s->env_params : s->agent_params, is_env ? key + 4 : key,
                                   value, why, sizeof why);
        if (rc)
            snprintf(err, errlen, "--set %.128s: %s '%s': %s", o->sets.v[i],
                     tars_kind_name(p->info->kind), p->info->name, why);
        free(key);
        if (rc)
            return -1;
    }
    return 0;
}

static int
write_file(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp", path) < 0)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0;
    size_t put = 0;
    while (ok && put < len) {
        ssize_t n = write(fd, (const char *)data + put, len - put);
        if (n < 0 && errno == EINTR)
            continue;
        ok = n > 0;
        put += ok ? (size_t)n : 0;
    }
    ok = ok && fsync(fd) == 0;
    if (fd >= 0)
        ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}

static void
show_progress(const struct opts *o, struct run *r, double elapsed, const struct train_result *res)
{
    char line[512], done[16], total[16], sps[16], ret[32] = "-", ev[32] = "-";
    uint64_t steps = atomic_load(&r->steps);
    double frac = o->steps ? (double)steps / (double)o->steps : 1;
    int bar = (int)(frac * 20);
    char hashes[21];
    for (int i = 0; i < 20; i++)
        hashes[i] = i < bar ? '#' : '.';
    hashes[20] = '\0';
    progress_count(done, sizeof done, (double)steps);
    progress_count(total, sizeof total, (double)o->steps);
    progress_count(sps, sizeof sps, elapsed > 0 ? steps / elapsed : 0);
    double mr = atomic_load(&r->mean_return);
    if (isfinite(mr))
        snprintf(ret, sizeof ret, "%.1f", mr);
    if (isfinite(res->eval_mean))
        snprintf(ev, sizeof ev, "%.1f", res->eval_mean);
    snprintf(line, sizeof line,
             "  %s on %s [%s] %3.0f%% %s/%s steps %s/s  ep %llu  return %s  eval %s\n", o->agent,
             o->env, hashes, frac * 100, done, total, sps,
             (unsigned long long)atomic_load(&r->episodes), ret, ev);
    log_status(line);
}

static int
evaluate(const struct opts *o, struct run *r, double t0, struct train_result *res)
{
    char err[768];
    double e0 = host_now();
    int rc = run_evaluate(r, o->eval_episodes, &res->eval_mean, &res->eval_std, err, sizeof err);
    double now = host_now();
    res->eval_time += now - e0;
    if (rc) {
        fprintf(stderr, "tarsd: %s\n", err);
        return -1;
    }
    uint64_t steps = atomic_load(&r->steps);
    res->last_eval_steps = steps;
    json_array_append_new(res->evals,
                          json_pack("{s:I, s:f, s:f, s:f}", "steps", (json_int_t)steps, "mean",
                                    res->eval_mean, "std", res->eval_std, "wall_s", now - t0));
    if (o->has_target && !res->reached && res->eval_mean >= o->target) {
        res->reached = 1;
        res->steps_to_target = steps;
        res->wall_to_target = now - t0;
        res->train_to_target = now - t0 - res->eval_time;
    }
    return 0;
}

static json_t *
nullable(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void
report(const struct opts *o, struct run *r, const struct train_result *res)
{
    uint64_t steps = atomic_load(&r->steps);
    double train = res->wall - res->eval_time;
    double sps = train > 0 ? steps / train : 0;
    json_t *scalars = json_object();
    for (uint32_t i = 0; i < r->scalars.n; i++)
        json_object_set_new(scalars, r->scalars.items[i].name,
                            json_real(r->scalars.items[i].value));
    json_t *out = json_pack(
        "{s:s, s:s, s:s?, s:i, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:o, s:o, s:o, s:i, s:O, s:b}",
        "agent", o->agent, "env", o->env, "preset", o->preset, "n_envs", (int)o->n_envs, "seed",
        (json_int_t)o->seed, "steps", (json_int_t)steps, "episodes",
        (json_int_t)atomic_load(&r->episodes), "wall_s", res->wall, "train_s", train, "eval_s",
        res->eval_time, "sps", sps, "mean_return", nullable(atomic_load(&r->mean_return)),
        "eval_mean_return", nullable(res->eval_mean), "eval_std_return", nullable(res->eval_std),
        "eval_episodes", (int)o->eval_episodes, "evals", res->evals, "interrupted",
        (int)interrupted);
    json_object_set_new(out, "scalars", scalars);
    if (o->has_target) {
        json_object_set_new(out, "target", json_real(o->target));
        json_object_set_new(out, "reached_target", json_boolean(res->reached));
        json_object_set_new(out, "steps_to_target",
                            res->reached ? json_integer((json_int_t)res->steps_to_target)
                                         : json_null());
        json_object_set_new(out, "wall_to_target_s",
                            res->reached ? json_real(res->wall_to_target) : json_null());
        json_object_set_new(out, "train_to_target_s",
                            res->reached ? json_real(res->train_to_target) : json_null());
    } else {
        json_object_set_new(out, "reached_target", json_null());
        json_object_set_new(out, "steps_to_target", json_null());
        json_object_set_new(out, "wall_to_target_s", json_null());
    }
    if (o->json) {
        char *text = json_dumps(out, JSON_COMPACT);
        if (text)
            printf("%s\n", text);
        free(text);
    } else {
        char sps_s[16];
        progress_count(sps_s, sizeof sps_s, sps);
        printf("%s on %s: %llu steps, %llu episodes in %.2f s (%s steps/s)\n", o->agent, o->env,
               (unsigned long long)steps, (unsigned long long)atomic_load(&r->episodes), res->wall,
               sps_s);
        if (isfinite(res->eval_mean))
            printf("evaluation over %u episodes: mean return %.2f ± %.2f\n", o->eval_episodes,
                   res->eval_mean, res->eval_std);
        if (o->has_target && res->reached)
            printf("reached %.2f after %llu steps, %.2f s\n", o->target,
                   (unsigned long long)res->steps_to_target, res->wall_to_target);
        else if (o->has_target)
            printf("did not reach %.2f\n", o->target);
    }
    json_decref(out);
}

/* The training loop; returns 0, or -1 after printing why. */
static int
train_loop(const struct opts *o, struct run *r, struct train_result *res)
{
    double t0 = host_now(), last_draw = 0;
    uint64_t next_eval = o->eval_every;
    int tty = log_is_tty() && !o->json;
    atomic_store(&r->state, RUN_RUNNING);
    while (!interrupted && atomic_load_explicit(&r->steps, memory_order_relaxed) < o->steps) {
        if (run_step(r)) {
            fprintf(stderr, "tarsd: %s\n", r->error);
            return -1;
        }
        uint64_t steps = atomic_load_explicit(&r->steps, memory_order_relaxed);
        if (o->eval_every && steps >= next_eval) {
            next_eval += o->eval_every;
            if (evaluate(o, r, t0, res))
                return -1;
            if (res->reached)
                break;
        }
        if (tty && (steps & 1023) < r->n_envs) {
            double now = host_now();
            if (now - last_draw > 0.1) {
                show_progress(o, r, now - t0 - res->eval_time, res);
                last_draw = now;
            }
        }
    }
    /* A final evaluation unless the last one already saw the final policy. */
    if (o->eval_episodes && res->last_eval_steps != atomic_load(&r->steps) &&
        evaluate(o, r, t0, res))
        return -1;
    res->wall = host_now() - t0;
    atomic_store(&r->state, RUN_STOPPED);
    if (tty)
        log_status(NULL);
    return 0;
}

/*
 * The run's length and width: --steps and --n-envs when given; otherwise, with a preset, its
 * n_envs and the agent's total_steps (the budget the preset names); otherwise 100000 and 8.
 * An agent with schedules (total_steps) has them span exactly the steps this run takes.
 */
static int
plan(struct opts *t, struct run_spec *s, uint32_t preset_envs, char *err, size_t errlen)
{
    int total = tars_params_index(s->agent_params, "total_steps");
    int total_set = 0;
    for (size_t i = 0; i < t->sets.n; i++)
        total_set |= strncmp(t->sets.v[i], "total_steps=", 12) == 0;
    if (!t->n_envs)
        t->n_envs = preset_envs;
    if (!t->steps)
        t->steps = total >= 0 && t->preset
                       ? (uint64_t)tars_param_int(s->agent_params, (uint32_t)total)
                       : 100000;
    else if (total >= 0 && !total_set &&
             tars_params_set(s->agent_params, (uint32_t)total, (double)t->steps, err, errlen))
        return -1;
    s->n_envs = t->n_envs;
    return 0;
}

int
cmd_train(const struct opts *given)
{
    struct host *h = calloc(1, sizeof *h);
    struct diag d = {0};
    struct opts plan_opts = *given, *o = &plan_opts; /* with steps and n_envs resolved */
    uint32_t preset_envs = 8;
    struct run_spec s = {.id = "train", .seed = o->seed};
    struct run *r = NULL;
    struct train_result res = {
        .eval_mean = NAN, .eval_std = NAN, .evals = json_array(), .last_eval_steps = UINT64_MAX};
    char err[768];
    int rc = 1;
    if (!h || !res.evals || fault_install(-1)) {
        fprintf(stderr, "tarsd: out of memory\n");
        goto out;
    }
    if (host_setup(h, &o->flags, 0, &d)) {
        diag_print(&d, stderr, "tarsd: ");
        goto out;
    }
    if (registry_lookup(&h->reg, o->agent, TARS_KIND_AGENT, &s.agent, err, sizeof err) ||
        registry_lookup(&h->reg, o->env, TARS_KIND_ENV, &s.env, err, sizeof err) ||
        plugin_params(s.agent, o->preset, &s.agent_params, &preset_envs, err, sizeof err) ||
        plugin_params(s.env, NULL, &s.env_params, NULL, err, sizeof err) ||
        apply_sets(o, &s, err, sizeof err) || plan(o, &s, preset_envs, err, sizeof err)) {
        fprintf(stderr, "tarsd: %s\n", err);
        tars_params_free(s.agent_params);
        tars_params_free(s.env_params);
        goto out;
    }
    if (run_create(&s, &r, err, sizeof err)) {
        fprintf(stderr, "tarsd: %s\n", err);
        goto out;
    }
    fault_run(r->id); /* a crash in plugin code prints one line naming it (fault.h) */
    struct sigaction sa = {.sa_handler = on_sigint};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (train_loop(o, r, &res))
        goto out;
    if (o->save) {
        void *blob = NULL;
        size_t len = 0;
        if (run_save_agent(r, &blob, &len, err, sizeof err) ||
            write_file(o->save, blob, len, err, sizeof err)) {
            free(blob);
            fprintf(stderr, "tarsd: %s\n", err);
            goto out;
        }
        free(blob);
    }
    report(o, r, &res);
    rc = interrupted ? 130 : 0;
out:
    json_decref(res.evals);
    run_destroy(r);
    diag_free(&d);
    if (h)
        host_teardown(h);
    free(h);
    return rc;
}
