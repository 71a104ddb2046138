#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "env_spec.h"
#include "tars/error.h"

/* The smallest spec an env may write: ABI 1.0's (sdk/src/abi_layout.c). */
#define SPEC_SIZE_1_0 176u

static const char *
type_name(uint32_t type)
{
    return type == TARS_SPACE_BOX ? "box" : type == TARS_SPACE_DISCRETE ? "discrete" : "unknown";
}

/* A space's rank, shape and bounds, for the spec check. `what` is "observation" or "action". */
static int
space_check(const tars_space *s, const char *what, char *why, size_t len)
{
    if (s->ndim > TARS_SPACE_MAX_DIMS)
        return snprintf(why, len, "an %s shape of rank %u (at most %u)", what, s->ndim,
                        TARS_SPACE_MAX_DIMS),
               TARS_EINVAL;
    if (s->type == TARS_SPACE_BOX && s->ndim > 1) {
        uint64_t n = 1;
        for (uint32_t i = 0; i < s->ndim; i++)
            n *= s->shape[i];
        if (n != s->dim)
            return snprintf(why, len, "an %s shape of %llu floats for a dim of %u", what,
                            (unsigned long long)n, s->dim),
                   TARS_EINVAL;
    }
    for (uint32_t i = 0; s->type == TARS_SPACE_BOX && i < s->dim; i++) {
        float lo = s->low ? s->low[i] : -INFINITY, hi = s->high ? s->high[i] : INFINITY;
        if (isnan(lo) || isnan(hi) || lo > hi)
            return snprintf(why, len, "%s bounds [%g, %g] at index %u", what, lo, hi, i),
                   TARS_EINVAL;
    }
    return 0;
}

int
env_spec_check(const tars_env_spec *spec, char *why, size_t len)
{
    const tars_space *o = &spec->obs, *a = &spec->act;
    if (spec->struct_size < SPEC_SIZE_1_0)
        return snprintf(why, len, "a spec of %u bytes (ABI 1.0's is %u)", spec->struct_size,
                        SPEC_SIZE_1_0),
               TARS_EINVAL;
    if (spec->n_agents == 0 || spec->n_agents > 4096)
        return snprintf(why, len, "%u agents (1 to 4096 supported)", spec->n_agents), TARS_EINVAL;
    if (o->type != TARS_SPACE_BOX || o->dim == 0)
        return snprintf(why, len, "an observation space that is not a non-empty box"), TARS_EINVAL;
    if ((a->type != TARS_SPACE_BOX && a->type != TARS_SPACE_DISCRETE) || a->dim == 0)
        return snprintf(why, len, "an action space that is neither discrete nor a box"),
               TARS_EINVAL;
    uint64_t ow = (uint64_t)spec->n_agents * o->dim;
    uint64_t aw = (uint64_t)spec->n_agents * (a->type == TARS_SPACE_BOX ? a->dim : 1);
    if (ow > (1u << 24) || aw > (1u << 24))
        return snprintf(why, len, "spaces of more than 2^24 floats per env"), TARS_EINVAL;
    if (o->reserved0 || a->reserved0 || spec->reserved0 || o->reserved[0] || o->reserved[1] ||
        a->reserved[0] || a->reserved[1] || spec->reserved[0] || spec->reserved[1] ||
        spec->reserved[2] || spec->reserved[3])
        return snprintf(why, len, "reserved fields set (built for a newer ABI?)"), TARS_EINVAL;
    int rc = space_check(o, "observation", why, len);
    return rc ? rc : space_check(a, "action", why, len);
}

/* Bounds: both NULL, or both set with the same dim values. */
static int
same_bounds(const float *x, const float *y, uint32_t dim)
{
    if (!x || !y)
        return x == y;
    return memcmp(x, y, (size_t)dim * sizeof *x) == 0;
}

static int
space_same(const tars_space *a, const tars_space *b, const char *what, char *why, size_t len)
{
    if (a->type != b->type || a->dim != b->dim)
        return snprintf(why, len, "another %s space (%s of %u instead of %s of %u)", what,
                        type_name(b->type), b->dim, type_name(a->type), a->dim),
               TARS_EINVAL;
    uint32_t ra = a->ndim > 1 ? a->ndim : 1, rb = b->ndim > 1 ? b->ndim : 1;
    int shape_differs = ra != rb;
    for (uint32_t i = 0; !shape_differs && ra > 1 && i < ra; i++)
        shape_differs = a->shape[i] != b->shape[i];
    if (shape_differs)
        return snprintf(why, len, "another %s shape (rank %u instead of %u, or other sizes)", what,
                        rb, ra),
               TARS_EINVAL;
    if (a->type == TARS_SPACE_BOX &&
        (!same_bounds(a->low, b->low, a->dim) || !same_bounds(a->high, b->high, a->dim)))
        return snprintf(why, len, "other %s bounds: agents keep the ones they were built for",
                        what),
               TARS_EINVAL;
    return 0;
}

int
env_spec_same(const tars_env_spec *a, const tars_env_spec *b, char *why, size_t len)
{
    if (a->n_agents != b->n_agents)
        return snprintf(why, len, "%u agents instead of %u", b->n_agents, a->n_agents), TARS_EINVAL;
    int rc = space_same(&a->obs, &b->obs, "observation", why, len);
    return rc ? rc : space_same(&a->act, &b->act, "action", why, len);
}
