/*
 * A study's spec (the create request, checked and normalised with its defaults) and the
 * study's objects: trials, the best trial, freeing.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "host.h"
#include "study_internal.h"

struct trial *
study_trial(const struct study *s, uint64_t number)
{
    return number < s->n_trials_v ? s->trials[number] : NULL;
}

struct trial *
trial_add(struct study *s)
{
    if (s->n_trials_v == s->cap_trials) {
        size_t cap = s->cap_trials ? 2 * s->cap_trials : 16;
        struct trial **v = realloc(s->trials, cap * sizeof *v);
        if (!v)
            return NULL;
        s->trials = v;
        s->cap_trials = cap;
    }
    struct trial *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->number = s->n_trials_v;
    t->state = TARS_TRIAL_RUNNING;
    s->trials[s->n_trials_v++] = t;
    return t;
}

void
trial_free(struct trial *t)
{
    if (!t)
        return;
    tars_params_free(t->params);
    free(t->iv);
    free(t->g);
    free(t);
}

void
study_free(struct study *s)
{
    if (!s)
        return;
    tuner_slot_close(&s->sampler);
    tuner_slot_close(&s->pruner);
    for (size_t i = 0; i < s->n_trials_v; i++)
        trial_free(s->trials[i]);
    free(s->trials);
    study_space_free(s);
    json_decref(s->spec);
    free(s);
}

int
study_better(const struct study *s, double a, double b)
{
    return s->directions[0] == TARS_MAXIMIZE ? a > b : a < b;
}

long
study_best(const struct study *s)
{
    long best = -1;
    for (size_t i = 0; i < s->n_trials_v; i++) {
        const struct trial *t = s->trials[i];
        if (t->state == TARS_TRIAL_COMPLETE && t->n_values && isfinite(t->values[0]) &&
            (best < 0 || study_better(s, t->values[0], s->trials[best]->values[0])))
            best = (long)i;
    }
    return best;
}

/* Whether a dominates b (every objective at least as good, one better). */
static int
dominates(const struct study *s, const struct trial *a, const struct trial *b)
{
    int better = 0;
    for (uint32_t i = 0; i < s->n_obj; i++) {
        double x = a->values[i], y = b->values[i];
        int max = s->directions[i] == TARS_MAXIMIZE;
        if (max ? x < y : x > y)
            return 0;
        better |= max ? x > y : x < y;
    }
    return better;
}

char *
study_front(const struct study *s)
{
    /* An archive of the undominated so far: each completed trial is checked against the
     * archive only, which it joins unless dominated, evicting those it dominates. */
    char *on = calloc(s->n_trials_v + 1, 1);
    size_t *arch = malloc((s->n_trials_v + 1) * sizeof *arch), n = 0;
    if (!on || !arch) {
        free(on);
        free(arch);
        return NULL;
    }
    for (size_t i = 0; i < s->n_trials_v; i++) {
        const struct trial *t = s->trials[i];
        if (t->state != TARS_TRIAL_COMPLETE || t->n_values < s->n_obj)
            continue;
        int dominated = 0;
        for (size_t j = 0; j < n && !dominated; j++)
            dominated = dominates(s, s->trials[arch[j]], t);
        if (dominated)
            continue;
        size_t kept = 0;
        for (size_t j = 0; j < n; j++)
            if (!dominates(s, t, s->trials[arch[j]]))
                arch[kept++] = arch[j];
        n = kept;
        arch[n++] = i;
    }
    for (size_t j = 0; j < n; j++)
        on[arch[j]] = 1;
    free(arch);
    return on;
}

/* Members of the spec, with defaults; errors name the member. */
static int
get_u64(json_t *spec, const char *key, uint64_t def, uint64_t min, uint64_t max, uint64_t *out,
        char *err, size_t errlen)
{
    json_t *v = json_object_get(spec, key);
    if (!v || json_is_null(v)) {
        *out = def;
        json_object_set_new(spec, key, json_integer((json_int_t)def));
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)min ||
        (uint64_t)json_integer_value(v) > max) {
        snprintf(err, errlen, "%s: an integer in [%llu, %llu]", key, (unsigned long long)min,
                 (unsigned long long)max);
        return -1;
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static int
name_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len == 0 || len > STUDY_NAME_MAX)
        return 0;
    for (const char *p = n; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

static const char *const known_keys[] = {
    "name",       "agent",         "env",       "preset",     "n_envs", "params",
    "env_params", "space",         "objective", "directions", "target", "budget",
    "eval_every", "eval_episodes", "n_trials",  "parallel",   "seeds",  "seed",
    "sampler",    "pruner",        "keep",      NULL};

static int
objectives(struct study *s, json_t *spec, char *err, size_t errlen)
{
    json_t *o = json_object_get(spec, "objective");
    if (!s->agent) {
        json_t *d = json_object_get(spec, "directions");
        if (!d)
            json_object_set_new(spec, "directions", d = json_pack("[s]", "minimize"));
        size_t n = json_array_size(d);
        if (!json_is_array(d) || n == 0 || n > TARS_TUNER_MAX_OBJECTIVES) {
            snprintf(err, errlen, "directions: a list of 1 to %d of \"minimize\", \"maximize\"",
                     TARS_TUNER_MAX_OBJECTIVES);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            const char *v = json_string_value(json_array_get(d, i));
            if (!v || (strcmp(v, "minimize") && strcmp(v, "maximize"))) {
                snprintf(err, errlen, "directions[%zu]: \"minimize\" or \"maximize\"", i);
                return -1;
            }
            s->objectives[i] = OBJ_EXTERNAL;
            s->directions[i] = strcmp(v, "maximize") == 0 ? TARS_MAXIMIZE : TARS_MINIMIZE;
        }
        s->n_obj = (uint32_t)n;
        return 0;
    }
    if (!o)
        json_object_set_new(spec, "objective", o = json_string("return"));
    json_t *list = json_is_string(o) ? json_pack("[O]", o) : json_incref(o);
    size_t n = json_array_size(list);
    int rc = 0;
    if (!json_is_array(list) || n == 0 || n > 2)
        rc = -1;
    for (size_t i = 0; !rc && i < n; i++) {
        const char *v = json_string_value(json_array_get(list, i));
        if (v && strcmp(v, "return") == 0) {
            s->objectives[i] = OBJ_RETURN;
            s->directions[i] = TARS_MAXIMIZE;
        } else if (v && strcmp(v, "steps_to_target") == 0) {
            s->objectives[i] = OBJ_STEPS;
            s->directions[i] = TARS_MINIMIZE;
        } else
            rc = -1;
    }
    if (!rc && n == 2 && s->objectives[0] == s->objectives[1])
        rc = -1;
    json_decref(list);
    if (rc) {
        snprintf(err, errlen,
                 "objective: \"return\" (the evaluation's mean return at the budget), "
                 "\"steps_to_target\", or both in a list");
        return -1;
    }
    s->n_obj = (uint32_t)n;
    json_t *target = json_object_get(spec, "target");
    int steps = s->objectives[0] == OBJ_STEPS || (n == 2 && s->objectives[1] == OBJ_STEPS);
    if (steps && !json_is_number(target)) {
        snprintf(err, errlen, "target: steps_to_target needs the return to reach (a number)");
        return -1;
    }
    s->target = json_is_number(target) ? json_number_value(target) : NAN;
    return 0;
}

/* A tuner's conf: "name" or {"name", "params"}; normalised to the object. */
static json_t *
tuner_conf(json_t *spec, const char *key, const char *def, char *err, size_t errlen)
{
    json_t *v = json_object_get(spec, key);
    if (!v && def && strcmp(def, "none") != 0)
        json_object_set_new(spec, key, v = json_pack("{s:s}", "name", def));
    if (!v || json_is_null(v) || (json_is_string(v) && strcmp(json_string_value(v), "none") == 0))
        return NULL;
    if (json_is_string(v))
        json_object_set_new(spec, key, v = json_pack("{s:O}", "name", v));
    json_t *params = json_object_get(v, "params");
    if (!json_is_object(v) || !json_is_string(json_object_get(v, "name")) ||
        (params && !json_is_object(params))) {
        snprintf(err, errlen, "%s: a tuner's name, or {\"name\", \"params\": {...}}", key);
        return json_null();
    }
    return v;
}

/* The members of a study of an agent: budget, evaluations, envs, trials at once, seeds. */
static int
agent_members(struct study *s, json_t *spec, char *err, size_t errlen)
{
    uint64_t n_envs, seeds, parallel, episodes;
    if ((get_u64(spec, "budget", 25000, 1, UINT64_C(1) << 40, &s->budget, err, errlen) ||
         get_u64(spec, "eval_every", s->budget / 5, 0, s->budget, &s->eval_every, err, errlen) ||
         get_u64(spec, "eval_episodes", 10, 1, 10000, &episodes, err, errlen) ||
         get_u64(spec, "n_envs", 0, 0, 4096, &n_envs, err, errlen) ||
         get_u64(spec, "parallel", 1, 1, 256, &parallel, err, errlen) ||
         get_u64(spec, "seeds", 1, 1, STUDY_MAX_SEEDS, &seeds, err, errlen)))
        return -1;
    {
        s->eval_episodes = (uint32_t)episodes;
        s->n_envs = (uint32_t)n_envs;
        s->parallel = (uint32_t)parallel;
        s->seeds = (uint32_t)seeds;
        if (s->n_trials == 0) {
            snprintf(err, errlen, "n_trials: a study of an agent runs 1 or more trials");
            return -1;
        }
        const char *keep = json_string_value(json_object_get(spec, "keep"));
        if (!json_object_get(spec, "keep"))
            json_object_set_new(spec, "keep", json_string(keep = "best"));
        if (!keep || (strcmp(keep, "best") && strcmp(keep, "none"))) {
            snprintf(err, errlen, "keep: \"best\" (the best trial's agent stays) or \"none\"");
            return -1;
        }
        s->keep_best = strcmp(keep, "best") == 0;
        for (const char *k2 = "params"; k2; k2 = strcmp(k2, "params") == 0 ? "env_params" : NULL) {
            json_t *p = json_object_get(spec, k2);
            if (p && !json_is_object(p)) {
                snprintf(err, errlen, "%s: an object of parameter values", k2);
                return -1;
            }
        }
    }
    return 0;
}

/* The sampler and the pruner a spec names (the sampler tpe and the pruner median by
 * default for a study of an agent, nsga2 for several objectives; no pruner for an external
 * one). */
static int
open_tuners(struct host *h, struct study *s, json_t *spec, char *err, size_t errlen)
{
    int rc;
    json_t *sc = tuner_conf(spec, "sampler", s->n_obj > 1 ? "nsga2" : "tpe", err, errlen);
    if (json_is_null(sc))
        return -EINVAL;
    json_t *pc =
        tuner_conf(spec, "pruner", s->agent && s->n_obj == 1 ? "median" : "none", err, errlen);
    if (json_is_null(pc))
        return -EINVAL;
    if (!sc) {
        snprintf(err, errlen, "sampler: a study needs a sampler (random, tpe, ...)");
        return -EINVAL;
    }
    rc = tuner_slot_open(h, s, &s->sampler, sc, TARS_TUNER_SAMPLER, err, errlen);
    if (!rc && pc)
        rc = tuner_slot_open(h, s, &s->pruner, pc, TARS_TUNER_PRUNER, err, errlen);
    return rc;
}

int
study_from_spec(struct host *h, struct study *s, char *err, size_t errlen)
{
    json_t *spec = s->spec;
    if (!json_is_object(spec)) {
        snprintf(err, errlen,
                 "the body must be a study: {\"name\", \"agent\", \"env\", \"space\", "
                 "\"objective\", \"budget\", \"n_trials\", ...}");
        return -EINVAL;
    }
    const char *key;
    json_t *v;
    json_object_foreach(spec, key, v)
    {
        int known = 0;
        for (size_t i = 0; known_keys[i]; i++)
            known |= strcmp(known_keys[i], key) == 0;
        if (!known) {
            snprintf(err, errlen, "unknown key '%.64s' in the study", key);
            return -EINVAL;
        }
    }
    const char *name = json_string_value(json_object_get(spec, "name"));
    if (!name_ok(name)) {
        snprintf(err, errlen, "name: a study name of [a-z0-9_-], 1 to %d characters",
                 STUDY_NAME_MAX);
        return -EINVAL;
    }
    snprintf(s->name, sizeof s->name, "%s", name);
    s->agent = json_string_value(json_object_get(spec, "agent"));
    s->env = json_string_value(json_object_get(spec, "env"));
    s->preset = json_string_value(json_object_get(spec, "preset"));
    if (!s->agent != !s->env || (json_object_get(spec, "agent") && !s->agent)) {
        snprintf(err, errlen,
                 "agent and env: a study of an agent names both (neither for an "
                 "objective computed elsewhere)");
        return -EINVAL;
    }
    if (objectives(s, spec, err, errlen) ||
        get_u64(spec, "n_trials", s->agent ? 20 : 0, 0, 1000000, &s->n_trials, err, errlen) ||
        get_u64(spec, "seed", 0, 0, UINT32_MAX, &s->seed, err, errlen) ||
        (s->agent && agent_members(s, spec, err, errlen)))
        return -EINVAL;
    /* The space, from the agent's schema. */
    struct plugin *agent = NULL;
    char why[512];
    if (s->agent) {
        pthread_rwlock_rdlock(&h->reg_lock);
        int rc = registry_lookup(&h->reg, s->agent, TARS_KIND_AGENT, &agent, why, sizeof why);
        if (!rc)
            rc = registry_lookup(&h->reg, s->env, TARS_KIND_ENV, &(struct plugin *){NULL}, why,
                                 sizeof why);
        if (rc) {
            pthread_rwlock_unlock(&h->reg_lock);
            snprintf(err, errlen, "%s", why);
            return -EINVAL;
        }
    }
    json_t *space = json_object_get(spec, "space");
    if (!space && s->agent)
        json_object_set_new(spec, "space", space = json_string("hot"));
    int rc = study_space_build(h, s, space, agent, err, errlen);
    if (s->agent)
        pthread_rwlock_unlock(&h->reg_lock);
    if (rc)
        return -EINVAL;
    s->tspec = (tars_study_spec){.struct_size = sizeof s->tspec,
                                 .n_objectives = s->n_obj,
                                 .directions = s->directions,
                                 .space = s->space,
                                 .n_space = s->n_space};
    return open_tuners(h, s, spec, err, errlen);
}
