/*
 * trial — a run that is one trial of a study (host/studies): it trains for a step budget,
 * evaluates itself deterministically every eval_every steps (and once more at the budget),
 * and posts each result for the study to take. Its runner does all of it at step
 * boundaries, on the run's own thread (evaluation needs the agent that thread owns), and
 * steps it no further once the budget is spent. The trial's settings are part of the
 * agent's record (persist.c), so a trial resumed after a restart keeps its budget.
 *
 * Also the on-demand evaluation of any run (run_eval_request): the caller posts a request
 * that the run's runner carries out after its next slice, running or stopped.
 *
 * Threads: run_trial_after_slice runs on the runner stepping the run; run_trial_take and
 * run_eval_request on any other thread, inside rcu_enter/rcu_leave for the run pointer
 * (run_eval_request holds a reference instead, as it waits).
 */
#ifndef TARS_HOST_RUNS_TRIAL_H
#define TARS_HOST_RUNS_TRIAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* What makes a run a trial (all zero: it is not one). */
struct trial_conf {
    uint64_t study;         /* the study's id (>= 1) */
    uint64_t number;        /* the trial's number in it */
    uint32_t seed_index;    /* which of the trial's seeds this run is */
    uint64_t budget;        /* env steps it trains for */
    uint64_t eval_every;    /* steps between evaluations (0: only at the budget) */
    uint32_t eval_episodes; /* episodes per evaluation */
};

/* One evaluation's result. */
struct trial_eval {
    uint64_t step;
    double mean, std;
    int final; /* the evaluation at the budget */
};

#define TRIAL_POSTED_MAX 64

struct run_trial {
    struct trial_conf conf;
    uint64_t next_eval; /* the runner's: the next step to evaluate at (0: not yet known) */
    /* Posted by the runner, taken by the study. */
    pthread_mutex_t lock;
    struct trial_eval posted[TRIAL_POSTED_MAX];
    size_t n_posted;
    atomic_int done; /* the budget is spent and its evaluation posted */
    char error[512]; /* an evaluation failed (then done is set too) */
};

struct run;

/* A trial's state for a new run (NULL when out of memory). */
struct run_trial *run_trial_new(const struct trial_conf *c);
void run_trial_free(struct run_trial *t);
/* The run spent its budget (its runner steps it no more), or an evaluation is due (the
 * slice ends there). Owner thread. */
int run_trial_spent(struct run *r);
/* The runner's hook before each slice: where the next evaluation is, once known. */
void run_trial_before_slice(struct run *r);
/* The runner's hook after each slice of a running or stopped run that is a trial. */
void run_trial_after_slice(struct run *r);
/* Moves what r posted into out (up to cap), oldest first; returns how many. */
size_t run_trial_take(struct run *r, struct trial_eval *out, size_t cap, char *error,
                      size_t errlen);

/* An evaluation asked of a run's runner (run_eval_request). */
struct run_eval_req {
    uint32_t episodes;
    double mean, std;
    int rc;
    char err[512];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int finished;
};

/*
 * Evaluates r (running or stopped) on its runner after its current slice, waiting at most
 * timeout_s: 0 with mean and std, or a negative errno with one sentence in err (-ETIMEDOUT,
 * -EBUSY: another evaluation is asked, -EIO: the evaluation failed). The caller holds a
 * reference on r (r->refs) and is not in a read-side section.
 */
int run_eval_request(struct run *r, uint32_t episodes, double timeout_s, double *mean, double *std,
                     char *err, size_t errlen);
/* The runner's side: carries out a posted request (after each slice). */
void run_eval_serve(struct run *r);

#endif
