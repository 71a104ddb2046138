/*
 * env_spec — what the host accepts of an env's spec, and when two specs are the same for an
 * agent. One check for both paths that give an agent an env: a create (run.c) and a code swap
 * of the env under running agents (migrate.c), so a new build cannot slip past by a swap what
 * a create would refuse, nor change what the agent was built for (bounds, shapes) behind it.
 */
#ifndef TARS_HOST_ENV_SPEC_H
#define TARS_HOST_ENV_SPEC_H

#include <stddef.h>
#include "tars/env.h"

/*
 * 0 when spec is one the host can run: agents, non-empty spaces of known types, a shape that
 * matches dim, bounds that are numbers with low <= high, sizes within limits, reserved fields
 * zero. Otherwise TARS_EINVAL, with what is wrong in why ("an observation shape of 12 floats
 * for a dim of 4").
 */
int env_spec_check(const tars_env_spec *spec, char *why, size_t len);

/*
 * 0 when b offers an agent built for a exactly the same spaces: agent count, types, dims,
 * shapes and bounds. Otherwise TARS_EINVAL, with the first difference in why. The episode
 * limit may differ.
 */
int env_spec_same(const tars_env_spec *a, const tars_env_spec *b, char *why, size_t len);

#endif
