/* progress — the in-place status lines shown on a terminal. */
#ifndef TARS_HOST_PROGRESS_H
#define TARS_HOST_PROGRESS_H

#include <stddef.h>
#include "run.h"

/* "1.23M", "45.6k", "987" */
void progress_count(char *buf, size_t len, double v);
/* One line per run: id, plugins, steps, steps/s, episodes, mean return, state. */
void progress_runs(char *buf, size_t len, struct run *const *runs, size_t n);

#endif
