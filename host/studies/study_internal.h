/*
 * The studies' state shared by the files of host/studies (not for other parts).
 */
#ifndef TARS_HOST_STUDIES_INTERNAL_H
#define TARS_HOST_STUDIES_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include "registry.h"
#include "tars/tuner.h"

struct host;

enum study_state { STUDY_RUNNING = 0, STUDY_STOPPED, STUDY_COMPLETE, STUDY_BROKEN };
/* What a study of an agent optimises. */
enum objective { OBJ_RETURN = 0, OBJ_STEPS, OBJ_EXTERNAL };

#define STUDY_NAME_MAX  48
#define STUDY_MAX_SEEDS 16

/* One intermediate value (the mean over seeds at a step) and the event that reported it. */
struct iv {
    uint64_t step;
    double value;
    uint64_t event;
};

/* A step's evaluations gathered over a trial's seeds until every seed has reported it. */
struct gather {
    uint64_t step;
    double sum;
    uint32_t seen; /* a bit per seed */
    int final;
};

struct trial {
    uint64_t number;
    uint32_t state;      /* tars_trial_state */
    tars_params *params; /* a snapshot of the study's space */
    double values[TARS_TUNER_MAX_OBJECTIVES];
    uint32_t n_values;
    struct iv *iv;
    size_t n_iv, cap_iv;
    struct gather *g;
    size_t n_g, cap_g;
    uint64_t last_posted[STUDY_MAX_SEEDS]; /* each seed's latest evaluated step (memory) */
    uint64_t ask_event;                    /* 0: told unasked (added) */
    uint64_t tell_event;                   /* 0: not finished */
    double started, finished;              /* Unix times */
    uint64_t reached;                      /* first step whose mean reached the target (0: none) */
    int launched;                          /* its runs were created (host-run trials) */
    int kept;                              /* its first seed's agent is kept (the best so far) */
    int enqueued;                          /* its values were given, not asked of the sampler */
    char error[512];
};

/* A sampler or pruner of a study: the plugin generation it holds (pinned), its parameters
 * and its instance. */
struct tuner_slot {
    struct plugin *p;
    tars_params *params;
    tars_ctx *ctx;
    tars_tuner *t;
    const tars_tuner_ops *ops;
    uint64_t saved_event; /* the events its last saved blob holds */
};

struct study {
    uint64_t id;
    char name[STUDY_NAME_MAX + 1];
    json_t *spec; /* the normalised request (stored) */
    /* From the spec. */
    enum objective objectives[TARS_TUNER_MAX_OBJECTIVES];
    uint32_t directions[TARS_TUNER_MAX_OBJECTIVES];
    uint32_t n_obj;
    const char *agent, *env, *preset; /* in spec; agent NULL for an external study */
    uint32_t n_envs, seeds, parallel, eval_episodes;
    uint64_t seed, budget, eval_every, n_trials;
    double target;
    int keep_best;
    /* The space: defs and what they own. */
    tars_param_def *space;
    uint32_t n_space;
    char **owned; /* names and choice strings to free */
    size_t n_owned;
    const char ***choices;             /* ENUM dimensions: identifiers c0, c1, ... (the tuner's) */
    const char ***choice_text;         /* and what each stands for (the API's and the agent's) */
    tars_study_spec tspec;             /* what the tuners were created for (outlives them) */
    struct tuner_slot sampler, pruner; /* pruner.p NULL: none */
    int state;
    uint64_t events; /* asks, reports and tells so far */
    double created;
    struct trial **trials;
    size_t n_trials_v, cap_trials;
    char error[512]; /* STUDY_BROKEN: why */
    int busy;        /* passes that let the lock go while they change its agents */
    int deleting;    /* a delete is under way: nothing else touches it */
    int transition;  /* a stop or resume is under way */
};

struct studies {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t idle; /* a study's busy count fell to 0 */
    struct study **v;
    size_t n, cap;
    uint64_t last_id;
    pthread_t thread;
    int running, stop;
};

/* space.c */
int study_space_build(struct host *h, struct study *s, json_t *space, const struct plugin *agent,
                      char *err, size_t errlen);
void study_space_free(struct study *s);
/* Applies a trial's values to an agent snapshot (the space's names are the agent's). */
int study_space_apply(const struct study *s, const tars_params *trial, tars_params *agent,
                      char *err, size_t errlen);
/* A trial's values as JSON, choices as the client wrote them. */
json_t *study_values_json(const struct study *s, const tars_params *p);
/* The space as the API shows it: the schema of each dimension, choices as written. */
json_t *study_space_json(const struct study *s);
/* The spec's space written out in full (every range and choice), so that a restart builds
 * the same space whatever the agent's schema says by then. */
json_t *study_space_resolved(const struct study *s);
/* A snapshot of the space from JSON values (ask's enqueued values, a stored trial). */
int study_space_values(const struct study *s, json_t *values, tars_params **out, char *err,
                       size_t errlen);

/* tuner.c: a slot's life, and the events that teach it. */
int tuner_slot_open(struct host *h, struct study *s, struct tuner_slot *slot, json_t *conf,
                    uint32_t role, char *err, size_t errlen);
void tuner_slot_close(struct tuner_slot *slot);
int tuner_ask(struct host *h, struct study *s, struct trial *t, char *err, size_t errlen);
/* A trial whose values the client gave (an enqueued trial): told to the sampler as RUNNING. */
int tuner_enqueue(struct host *h, struct study *s, struct trial *t, char *err, size_t errlen);
int tuner_tell(struct host *h, struct study *s, struct trial *t, char *err, size_t errlen);
int tuner_report(struct host *h, struct study *s, struct trial *t, uint64_t step, double value,
                 int *prune, char *err, size_t errlen);
/* Saves each tuner taught since its last save (after the events' trial records). 0, or -1
 * (logged: the events after the last blob are replayed at a restart). */
int tuner_save_due(struct host *h, struct study *s);
/* Rebuilds both tuners of a loaded study: their blobs, then the events after them. */
int tuner_restore(struct host *h, struct study *s, char *err, size_t errlen);

/* record.c: records in the store. */
int study_put(struct host *h, const struct study *s);
int trial_put(struct host *h, const struct study *s, const struct trial *t);
int tuner_blob_put(struct host *h, const struct study *s, char role, uint64_t event,
                   const void *data, size_t len);
/* The blob saved for role, or NULL (free it). */
void *tuner_blob_get(struct host *h, const struct study *s, char role, uint64_t *event,
                     size_t *len);
int study_forget(struct host *h, const struct study *s);
json_t *trial_json(const struct study *s, const struct trial *t, int full);
json_t *study_json(const struct study *s, int summary);
/* Fills s's trials from the store. */
int study_load_trials(struct host *h, struct study *s, char *err, size_t errlen);

/* The study's derived values (study.c). */
struct trial *study_trial(const struct study *s, uint64_t number);
struct trial *trial_add(struct study *s);
void trial_free(struct trial *t);
void study_free(struct study *s);
/* Index of the best completed trial of a single-objective study, or -1. */
long study_best(const struct study *s);
int study_better(const struct study *s, double a, double b);
/* Which trials (by index) are on the Pareto front of the completed ones (malloc'd flags, NULL
 * when out of memory): O(trials x front). */
char *study_front(const struct study *s);
/* Builds a study from a normalised spec (create and load). */
int study_from_spec(struct host *h, struct study *s, char *err, size_t errlen);

/* driver.c */
void driver_step(struct host *h);
/* Builds a trial's parameters as a run would get them, for the space's defaults and for every
 * choice of each categorical dimension: a bad preset, params or choice is refused at create. */
int study_check_trials(struct host *h, const struct study *s, char *err, size_t errlen);
/* Whether agent `<study>-t<number>[-s<k>]` is that trial's run (not an agent of the same id). */
int trial_run_is(struct host *h, const struct study *s, uint64_t number, uint32_t k);
/* The agent id of a trial's seed k. */
void trial_agent_id(const struct study *s, uint64_t number, uint32_t k, char *buf, size_t len);
/* Lets go of a study a pass marked busy (lock not held). */
void study_let_go(struct studies *ss, uint64_t id);
/* Stops or starts ("stop", "start") the runs of a study's running trials, or deletes every
 * trial's runs ("delete"). Called with the studies' lock held, which it lets go meanwhile
 * (the study marked busy). */
void driver_runs(struct host *h, struct study *s, const char *what);

#endif
