/*
 * run — one agent instance trained on one vectorised env instance: the unit a runner steps.
 *
 * Threads: a run is stepped by one runner thread at a time, which owns every field below
 * except those marked shared. Shared fields are atomics written by the owner (or, for sps,
 * by the control loop) and read by anyone — the API, the progress line, tests.
 */
#ifndef TARS_HOST_RUN_H
#define TARS_HOST_RUN_H

#include <stdatomic.h>
#include <stdint.h>
#include "feed.h"
#include "trial.h"
#include "rcu.h"
#include "records.h"
#include "registry.h"
#include "vecbuf.h"
#include "tars/plugin.h"
#include "host_side.h"

#define RUN_RETURN_WINDOW 100

/*
 * READY: built, not yet stepped (or being reset); RUNNING: stepped by its runner; STOPPED:
 * paused by an operator (kept across restarts); FAILED: a plugin op failed, see error.
 */
enum run_state { RUN_READY = 0, RUN_RUNNING, RUN_STOPPED, RUN_FAILED };

struct run_spec {
    const char *id;
    struct plugin *agent;
    struct plugin *env;
    uint32_t n_envs;
    uint64_t seed;
    tars_params *agent_params; /* owned by the run after run_create, even on failure */
    tars_params *env_params;   /* likewise */
    /* When set, the run is built without instances (no plugin code runs) and is FAILED with
     * this reason: the agents of a quarantined build (registry.h). */
    const char *failed;
    /* When trial.budget is set, the run is a trial of a study (trial.h). */
    struct trial_conf trial;
};

/*
 * The parameters a run steps with: the agent's and the env's snapshots, published together
 * by one pointer (reload/params_swap.c) so that a step sees the old pair or the new pair
 * whole. Immutable once published, but for first_use_*, which the runner sets once.
 *
 * Lifetime: readers that look and let go (the API, the stream) read it inside
 * rcu_enter/rcu_leave. A runner, whose step may take long (a training update), holds it
 * instead (run_params_hold), so that no grace period ever waits for a training update. A
 * retired pair loses its publication's hold after a grace period; the last hold to go frees it.
 */
struct run_params {
    tars_params *agent;
    tars_params *env;
    uint64_t version;         /* 0 when the run is built, +1 with each published change */
    double published;         /* host_now() when it was published */
    uint64_t published_step;  /* the run's step counter then */
    _Atomic double first_use; /* host_now() when the runner first stepped with it (0: not yet) */
    _Atomic uint64_t first_use_step; /* the run's step counter then */
    atomic_uint holds;               /* the publication's (1 until retired) and runners' */
    struct rcu_head rcu;
};

struct run;

/* A bundle of two snapshots (owned by it, even on failure); NULL when out of memory. */
struct run_params *run_params_new(tars_params *agent, tars_params *env, uint64_t version);
void run_params_free(struct run_params *p);
/* Lets go of p's publication after a grace period (callers must be RCU threads, see rcu.h):
 * freed then, or when its last holder lets go. */
void run_params_retire(struct run_params *p);
/*
 * The one way a pair is published: np (built by run_params_new) becomes r's pair, stamped
 * with the time and step, and the pair it replaced is retired. Callers serialise on what
 * owns r's parameters (params_swap.h: the run set's lock; migrate.h: the runner on the lock
 * holder's behalf); the fresh run of a re-creation is not published yet and needs nothing.
 */
void run_params_publish(struct run *r, struct run_params *np);
/* r's current pair, held until run_params_release (an RCU thread; never NULL). */
struct run_params *run_params_hold(struct run *r);
void run_params_release(struct run_params *p);
/* Waits until every retired pair is freed (at exit). */
void run_params_drain(void);
typedef void (*run_episode_fn)(struct run *r, uint32_t env, double ret, uint32_t len, void *user);

struct swap_order;

struct run {
    char *id;
    /* The plugin generations it runs: replaced by a code swap on the runner (migrate.h), read
     * by anyone inside rcu_enter/rcu_leave (a superseded one is freed after a grace period). */
    struct plugin *_Atomic agent_plugin;
    struct plugin *_Atomic env_plugin;
    const tars_agent_ops *aops;
    const tars_env_ops *eops;
    tars_ctx *actx;
    tars_ctx *ectx;
    tars_agent *agent;
    tars_env *env;
    /* Published parameters (see struct run_params): replaced whole, never modified. */
    struct run_params *_Atomic params;
    uint64_t params_used; /* the version the runner last stepped with (owner thread) */
    tars_env_spec spec;
    uint64_t seed;
    uint32_t n_envs;
    struct vecbuf buf;
    float *next_obs;      /* what observe sees: new_obs, with final_obs where an episode ended */
    tars_scalars scalars; /* what the last observe reported */
    tars_scalars latest;  /* the newest value of every scalar reported so far */
    int latest_fresh;     /* latest changed since persist recorded it */
    double window[RUN_RETURN_WINDOW]; /* last finished returns, for the rolling mean */
    uint32_t window_n;
    uint32_t window_at;
    run_episode_fn on_episode;
    void *on_episode_user;
    /* Evaluation env, created on first use; stepped by whoever evaluates (owner thread). */
    tars_env *eval_env;
    tars_ctx *eval_ctx;
    uint32_t eval_n; /* copies in eval_env */
    /* A study's trial (trial.h), or NULL; fixed at creation. */
    struct run_trial *trial;
    /* An evaluation asked by another thread (trial.h), taken by the runner. */
    struct run_eval_req *_Atomic eval_req;
    /* Persistence (host/persist/checkpoints.c), owned by the runner stepping the run. */
    struct episode_rec *history; /* finished episodes not yet handed to the writer */
    uint32_t history_n, history_cap;
    uint64_t scalar_seq; /* scalars records written */
    double scalar_time;  /* when the last one was */
    /* The stream's share (feed.h): the runner publishes, the stream hub takes. */
    struct run_feed feed;
    /* A code swap's order (migrate.h): posted by the code-swap thread, taken by the runner at
     * its next slice, which carries it out at that step boundary. */
    struct swap_order *_Atomic swap;
    /* Set when the run joins the set of runs (runset.c), then fixed. */
    uint32_t runner; /* the runner thread that steps it */
    /* The control loop's. */
    uint64_t tick_steps;        /* steps at the previous steps/s update */
    int tick_seen;              /* tick_steps is set */
    uint64_t dropped_reported;  /* history_dropped when last logged */
    double dropped_report_time; /* and when */
    /* Shared. */
    atomic_int refs;                 /* runners stepping it outside a read-side section */
    atomic_int stepping;             /* its runner is inside a slice (see runner.c) */
    atomic_int checkpoint_request;   /* set by the control loop, taken by the runner */
    atomic_int checkpoint_in_flight; /* queued and not yet committed */
    atomic_int checkpointed;         /* it has a checkpoint (taken, queued, or resumed from) */
    _Atomic uint64_t checkpoint_step;
    _Atomic double checkpoint_time;   /* Unix time of the last committed-or-queued one */
    _Atomic uint64_t steps;           /* env transitions: n_envs per vectorised step */
    _Atomic uint64_t episodes;        /* finished episodes */
    _Atomic uint64_t history_dropped; /* finished episodes the history could not record */
    _Atomic double mean_return; /* rolling mean of the last RUN_RETURN_WINDOW (NaN: none yet) */
    _Atomic double last_return;
    _Atomic double sps; /* written by the control loop */
    _Atomic int state;  /* enum run_state */
    char error[512];    /* set before state becomes RUN_FAILED, then never written */
};

/* Creates plugins' instances and resets the env. On failure err says which op failed and why.
 * With s->failed, only the run without instances (r->agent and r->env NULL), FAILED. */
int run_create(const struct run_spec *s, struct run **out, char *err, size_t errlen);
/* One vectorised step: act, env step, observe, bookkeeping. On failure fills r->error.
 * run_step uses r's current pair, for a thread whose runs' parameters nobody changes (train,
 * the smoke child); run_step_with the pair the caller holds (a runner, run_params_hold). */
int run_step(struct run *r);
int run_step_with(struct run *r, struct run_params *pp);
void run_destroy(struct run *r);

/* The agent's state blob (malloc'd). */
int run_save_agent(struct run *r, void **data, size_t *len, char *err, size_t errlen);

/*
 * The whole run at a step boundary (malloc'd blob): counters, the observations to act on,
 * episode accumulators and the rolling window, the agent's state and the env's (when the env
 * can save). Loading it into a run of the same plugins and n_envs continues exactly where
 * the saved one stood. Owner thread only. On failure err says why; a run whose load failed
 * must be destroyed.
 */
int run_save(struct run *r, void **data, size_t *len, char *err, size_t errlen);
int run_load(struct run *r, const void *data, size_t len, char *err, size_t errlen);

/*
 * Deterministic evaluation: `episodes` episodes on the run's evaluation env (seeded apart
 * from training), acting with explore = 0. Writes mean and standard deviation of returns.
 */
int run_evaluate(struct run *r, uint32_t episodes, double *mean, double *std, char *err,
                 size_t errlen);

const char *run_state_name(int state);

#endif
