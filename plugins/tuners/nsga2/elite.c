/* NSGA-II's survivor selection (elite.h), in Optuna 3.1's order of operations. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "elite.h"

/* A value oriented so that smaller is better. */
static double
oriented(const struct htrial *t, uint32_t k, const uint32_t *dirs)
{
    return dirs[k] == TARS_MAXIMIZE ? -t->values[k] : t->values[k];
}

int
nsga_dominates(const struct htrial *a, const struct htrial *b, const uint32_t *dirs, uint32_t n_obj)
{
    int equal = 1;
    for (uint32_t k = 0; k < n_obj; k++) {
        double x = oriented(a, k, dirs), y = oriented(b, k, dirs);
        if (x > y)
            return 0;
        equal &= x == y;
    }
    return !equal;
}

/* A trial and its crowding distance, which follows it through the sorts. */
struct crowd {
    const struct htrial *t;
    double d;
};

/* Stable insertion sort (Python's sort is stable) by objective k, or by distance (k < 0). */
static void
sort_crowd(struct crowd *c, size_t n, int k)
{
    for (size_t i = 1; i < n; i++) {
        struct crowd x = c[i];
        double key = k < 0 ? x.d : x.t->values[k];
        size_t j = i;
        while (j > 0 && (k < 0 ? c[j - 1].d : c[j - 1].t->values[k]) > key) {
            c[j] = c[j - 1];
            j--;
        }
        c[j] = x;
    }
}

/*
 * Optuna's _crowding_distance_sort on p[0..n): sorted by each objective in turn (raw values,
 * keeping the order of the previous sort among ties), the Manhattan crowding distance summed,
 * then sorted by distance and reversed, largest first.
 */
static int
crowding_sort(const struct htrial **p, size_t n, uint32_t n_obj)
{
    struct crowd *c = malloc((n ? n : 1) * sizeof *c);
    if (!c)
        return -1;
    for (size_t i = 0; i < n; i++)
        c[i] = (struct crowd){p[i], 0};
    for (uint32_t k = 0; n && k < n_obj; k++) {
        sort_crowd(c, n, (int)k);
        double lo = c[0].t->values[k], hi = c[n - 1].t->values[k];
        if (lo == hi)
            continue;
        double width = hi - lo > 0 ? hi - lo : 1.0;
        double *gap = malloc(n * sizeof *gap);
        if (!gap) {
            free(c);
            return -1;
        }
        for (size_t j = 0; j < n; j++) {
            double prev = j ? c[j - 1].t->values[k] : -INFINITY;
            double next = j + 1 < n ? c[j + 1].t->values[k] : INFINITY;
            gap[j] = prev == next ? 0.0 : next - prev;
        }
        for (size_t j = 0; j < n; j++)
            c[j].d += gap[j] / width;
        free(gap);
    }
    sort_crowd(c, n, -1);
    for (size_t i = 0; i < n; i++) /* reversed */
        p[i] = c[n - 1 - i].t;
    free(c);
    return 0;
}

long
nsga_elite(const struct htrial **pop, size_t n, size_t size, const uint32_t *dirs, uint32_t n_obj,
           const struct htrial **out)
{
    /* dominated[i]: how many dominate i; dom[i*n + j]: i dominates j. */
    size_t *count = calloc(n ? n : 1, sizeof *count);
    unsigned char *dom = calloc((n ? n : 1) * (n ? n : 1), 1);
    const struct htrial **rank = malloc((n ? n : 1) * sizeof *rank);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx), *ridx = malloc((n ? n : 1) * sizeof *ridx);
    long got = 0;
    if (!count || !dom || !rank || !idx || !ridx) {
        got = -1;
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            if (nsga_dominates(pop[i], pop[j], dirs, n_obj)) {
                dom[i * n + j] = 1;
                count[j]++;
            } else if (nsga_dominates(pop[j], pop[i], dirs, n_obj)) {
                dom[j * n + i] = 1;
                count[i]++;
            }
        }
    /* The ranks, in the order Optuna's loop takes them out: a taken trial's place is filled
     * by the list's last. */
    size_t left = n;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    while (left && (size_t)got < size) {
        size_t nr = 0, i = 0;
        while (i < left) {
            if (count[idx[i]] == 0) {
                ridx[nr++] = idx[i];
                idx[i] = idx[--left];
            } else
                i++;
        }
        for (size_t a = 0; a < nr; a++)
            for (size_t b = 0; b < n; b++)
                if (dom[ridx[a] * n + b])
                    count[b]--;
        for (size_t a = 0; a < nr; a++)
            rank[a] = pop[ridx[a]];
        if ((size_t)got + nr < size) {
            memcpy(out + got, rank, nr * sizeof *rank);
            got += (long)nr;
        } else {
            if (crowding_sort(rank, nr, n_obj)) {
                got = -1;
                goto out;
            }
            memcpy(out + got, rank, (size - (size_t)got) * sizeof *rank);
            got = (long)size;
        }
        if (nr == 0)
            break; /* never: some trial is always undominated */
    }
out:
    free(count);
    free(dom);
    free(rank);
    free(idx);
    free(ridx);
    return got;
}
