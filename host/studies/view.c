/*
 * What the UI draws of a study, thinned on the server so that a study of 10,000 trials costs
 * the page what one of a few hundred does: the trials' values over their number (every trial
 * that improved the best, then an even sample of the rest, up to max points), each trial's
 * intermediate values (the most recent `curves` trials that reported), the parameters'
 * importance, parallel coordinates (a sample of the completed trials) and, for several
 * objectives, whether each of those is on the Pareto front.
 *
 * Importance is the correlation ratio η² of the objective on each parameter: the completed
 * trials are grouped by the parameter (its categories, or 8 bins of equal counts along its
 * search coordinate, log for LOG dimensions), and η² is the share of the objective's variance
 * between the groups. The shares are normalised to sum to 1. It is cheaper than Optuna's
 * default (fANOVA over a random forest) and reads the same way for one strong parameter; it
 * does not see interactions between parameters.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host.h"
#include "params_json.h"
#include "studies.h"
#include "study_internal.h"

#define IMPORTANCE_BINS 8

static json_t *
num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* A dimension's value in its search coordinate (log for LOG). */
static double
coord(const tars_param_def *d, double v)
{
    return (d->flags & TARS_PARAM_LOG) && v > 0 ? log(v) : v;
}

static int
by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* η² of the completed values y[] on dimension d (x[] its coordinates). */
static double
eta2(const tars_param_def *d, const double *x, const double *y, size_t n)
{
    if (n < 2)
        return 0;
    size_t groups = d->type == TARS_PARAM_ENUM   ? 0
                    : d->type == TARS_PARAM_BOOL ? 2
                                                 : IMPORTANCE_BINS;
    if (d->type == TARS_PARAM_ENUM)
        while (d->choices[groups])
            groups++;
    double *edges = NULL;
    if (d->type != TARS_PARAM_ENUM && d->type != TARS_PARAM_BOOL) {
        edges = malloc(n * sizeof *edges);
        if (!edges)
            return 0;
        memcpy(edges, x, n * sizeof *edges);
        qsort(edges, n, sizeof *edges, by_double);
    }
    double *sum = calloc(groups, sizeof *sum), *cnt = calloc(groups, sizeof *cnt), mean = 0;
    if (!sum || !cnt) {
        free(edges);
        free(sum);
        free(cnt);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        mean += y[i] / (double)n;
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t g = 0;
        if (edges) /* the bin of equal counts x falls in */
            while (g + 1 < groups && x[i] > edges[(g + 1) * n / groups])
                g++;
        else
            g = (size_t)x[i] < groups ? (size_t)x[i] : groups - 1;
        sum[g] += y[i];
        cnt[g] += 1;
        total += (y[i] - mean) * (y[i] - mean);
    }
    double between = 0;
    for (size_t g = 0; g < groups; g++)
        if (cnt[g] > 0) {
            double m = sum[g] / cnt[g];
            between += cnt[g] * (m - mean) * (m - mean);
        }
    free(edges);
    free(sum);
    free(cnt);
    return total > 0 ? between / total : 0;
}

static json_t *
importance(const struct study *s)
{
    size_t n = 0;
    double *x = malloc((s->n_trials_v + 1) * sizeof *x),
           *y = malloc((s->n_trials_v + 1) * sizeof *y);
    double *e = calloc(s->n_space + 1, sizeof *e), total = 0;
    json_t *o = json_object();
    for (uint32_t k = 0; x && y && e && k < s->n_space; k++) {
        n = 0;
        for (size_t i = 0; i < s->n_trials_v; i++) {
            const struct trial *t = s->trials[i];
            if (t->state != TARS_TRIAL_COMPLETE || !t->n_values || !isfinite(t->values[0]))
                continue;
            x[n] = coord(&s->space[k], tars_param_value(t->params, k));
            y[n++] = t->values[0];
        }
        e[k] = eta2(&s->space[k], x, y, n);
        total += e[k];
    }
    for (uint32_t k = 0; e && k < s->n_space; k++)
        json_object_set_new(o, s->space[k].name, json_real(total > 0 ? e[k] / total : 0));
    free(x);
    free(y);
    free(e);
    return o;
}

/* The values chart: improvements of the best, then an even sample, in number order. */
static json_t *
points(const struct study *s, size_t max)
{
    size_t n = s->n_trials_v;
    char *keep = calloc(n + 1, 1);
    json_t *arr = json_array();
    if (!keep)
        return arr;
    double best = NAN;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const struct trial *t = s->trials[i];
        if (t->state == TARS_TRIAL_COMPLETE && t->n_values &&
            (!isfinite(best) || study_better(s, t->values[0], best))) {
            best = t->values[0];
            keep[i] = 1;
            kept++;
        }
    }
    size_t rest = n - kept, room = max > kept ? max - kept : 0;
    size_t stride = rest > room && room ? (rest + room - 1) / room : 1;
    size_t seen = 0;
    for (size_t i = 0; i < n; i++)
        if (!keep[i] && (room > 0) && (seen++ % stride == 0))
            keep[i] = 1;
    best = NAN;
    for (size_t i = 0; i < n; i++) {
        const struct trial *t = s->trials[i];
        double v = t->n_values ? t->values[0] : t->n_iv ? t->iv[t->n_iv - 1].value : NAN;
        if (t->state == TARS_TRIAL_COMPLETE && t->n_values &&
            (!isfinite(best) || study_better(s, t->values[0], best)))
            best = t->values[0];
        if (keep[i])
            json_array_append_new(arr,
                                  json_pack("[I, s, o, o]", (json_int_t)t->number,
                                            tars_trial_state_name(t->state), num(v), num(best)));
    }
    free(keep);
    return arr;
}

/* Intermediate values of the newest `curves` trials that reported, each at most 200 points. */
static json_t *
curves(const struct study *s, size_t max)
{
    json_t *arr = json_array();
    for (size_t i = s->n_trials_v; i-- > 0 && json_array_size(arr) < max;) {
        const struct trial *t = s->trials[i];
        if (!t->n_iv)
            continue;
        json_t *pts = json_array();
        size_t stride = (t->n_iv + 199) / 200;
        for (size_t k = 0; k < t->n_iv; k += stride)
            json_array_append_new(
                pts, json_pack("[I, o]", (json_int_t)t->iv[k].step, num(t->iv[k].value)));
        json_array_append_new(arr,
                              json_pack("{s:I, s:s, s:o}", "number", (json_int_t)t->number, "state",
                                        tars_trial_state_name(t->state), "points", pts));
    }
    return arr;
}

/* Completed trials for parallel coordinates (an even sample of at most max), values in the
 * space's coordinates, and for several objectives their Pareto rank (0: the front). */
static json_t *
completed(const struct study *s, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_trials_v; i++)
        n += s->trials[i]->state == TARS_TRIAL_COMPLETE;
    size_t stride = n > max ? (n + max - 1) / max : 1, seen = 0;
    json_t *arr = json_array();
    char *on = s->n_obj > 1 ? study_front(s) : NULL;
    for (size_t i = 0; i < s->n_trials_v; i++) {
        const struct trial *t = s->trials[i];
        if (t->state != TARS_TRIAL_COMPLETE || seen++ % stride)
            continue;
        json_t *values = json_array();
        for (uint32_t k = 0; k < t->n_values; k++)
            json_array_append_new(values, num(t->values[k]));
        json_t *o = json_pack("{s:I, s:o, s:o}", "number", (json_int_t)t->number, "values", values,
                              "params", study_values_json(s, t->params));
        if (on)
            json_object_set_new(o, "front", json_boolean(on[i]));
        json_array_append_new(arr, o);
    }
    free(on);
    return arr;
}

int
studies_view(struct host *h, uint64_t id, size_t max, json_t **out, char *err, size_t errlen)
{
    struct studies *ss = h->studies;
    pthread_mutex_lock(&ss->lock);
    struct study *s = NULL;
    for (size_t i = 0; i < ss->n; i++)
        if (ss->v[i]->id == id && !ss->v[i]->deleting)
            s = ss->v[i];
    if (!s) {
        pthread_mutex_unlock(&ss->lock);
        snprintf(err, errlen, "no study %llu", (unsigned long long)id);
        return -ENOENT;
    }
    json_t *dirs = json_array();
    for (uint32_t i = 0; i < s->n_obj; i++)
        json_array_append_new(
            dirs, json_string(s->directions[i] == TARS_MAXIMIZE ? "maximize" : "minimize"));
    *out = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "study", study_json(s, 1), "directions",
                     dirs, "space", study_space_json(s), "points", points(s, max), "curves",
                     curves(s, 50), "importance", importance(s), "completed",
                     completed(s, max < 500 ? max : 500));
    pthread_mutex_unlock(&ss->lock);
    return *out ? 0 : -ENOMEM;
}
