/*
 * abi_layout.c — ABI 1.0's layout, frozen: the offset of every field and the size of every
 * struct of the public headers, as 1.0 shipped them (generated once by tests/abi/gen_layout.py
 * from the frozen copy in tests/abi/1.0/, never from the current headers).
 *
 * A struct that carries struct_size (the descriptor, ops tables, the env spec) or that the host
 * fills and plugins read (batch, actions, step results) may grow at its end: its size is a
 * lower bound. Structs embedded in others or passed in arrays (space, parameter definition,
 * metric, tensor, rng) have a fixed stride: their size is exact. A failure here is an ABI
 * break: move the new field to the end, or to a reserved slot (docs/plugin-guide.md, "ABI").
 * The solver and exporter tables are provisional (their headers say so): the issue that freezes
 * one may change it once, with these lines and tests/abi/ in the same commit, as 1.1 did for
 * the tuner table (its lines below are 1.1's).
 */
#include <stddef.h>
#include <stdint.h>
#include "tars/plugin.h"

/* The numbers below are LP64's (x86_64, aarch64 Linux), the only ABI tars ships for. */
#if UINTPTR_MAX == UINT64_MAX

_Static_assert(TARS_ABI_MAJOR == 1, "ABI major changed: this file holds 1.x's layout");
_Static_assert(TARS_KIND_AGENT == 1 && TARS_KIND_ENV == 2 && TARS_KIND_SOLVER == 3 &&
                   TARS_KIND_TUNER == 4 && TARS_KIND_EXPORTER == 5,
               "plugin kinds renumbered");
_Static_assert(TARS_SPACE_DISCRETE == 1 && TARS_SPACE_BOX == 2, "space types renumbered");
_Static_assert(TARS_SPACE_MAX_DIMS == 4 && TARS_TENSOR_MAX_DIMS == 4, "shape ranks changed");
_Static_assert(sizeof(tars_batch) >= 56, "tars_batch shrank");
_Static_assert(offsetof(tars_batch, obs) == 0, "tars_batch.obs moved");
_Static_assert(offsetof(tars_batch, act_discrete) == 8, "tars_batch.act_discrete moved");
_Static_assert(offsetof(tars_batch, act_continuous) == 16, "tars_batch.act_continuous moved");
_Static_assert(offsetof(tars_batch, reward) == 24, "tars_batch.reward moved");
_Static_assert(offsetof(tars_batch, next_obs) == 32, "tars_batch.next_obs moved");
_Static_assert(offsetof(tars_batch, terminated) == 40, "tars_batch.terminated moved");
_Static_assert(offsetof(tars_batch, truncated) == 48, "tars_batch.truncated moved");
_Static_assert(sizeof(tars_agent_ops) >= 96, "tars_agent_ops shrank");
_Static_assert(offsetof(tars_agent_ops, struct_size) == 0, "tars_agent_ops.struct_size moved");
_Static_assert(offsetof(tars_agent_ops, reserved0) == 4, "tars_agent_ops.reserved0 moved");
_Static_assert(offsetof(tars_agent_ops, create) == 8, "tars_agent_ops.create moved");
_Static_assert(offsetof(tars_agent_ops, destroy) == 16, "tars_agent_ops.destroy moved");
_Static_assert(offsetof(tars_agent_ops, act) == 24, "tars_agent_ops.act moved");
_Static_assert(offsetof(tars_agent_ops, observe) == 32, "tars_agent_ops.observe moved");
_Static_assert(offsetof(tars_agent_ops, save) == 40, "tars_agent_ops.save moved");
_Static_assert(offsetof(tars_agent_ops, load) == 48, "tars_agent_ops.load moved");
_Static_assert(offsetof(tars_agent_ops, tensors) == 56, "tars_agent_ops.tensors moved");
_Static_assert(offsetof(tars_agent_ops, reserved) == 64, "tars_agent_ops.reserved moved");
_Static_assert(sizeof(tars_space) == 64, "tars_space changed size");
_Static_assert(offsetof(tars_space, type) == 0, "tars_space.type moved");
_Static_assert(offsetof(tars_space, dim) == 4, "tars_space.dim moved");
_Static_assert(offsetof(tars_space, ndim) == 8, "tars_space.ndim moved");
_Static_assert(offsetof(tars_space, shape) == 12, "tars_space.shape moved");
_Static_assert(offsetof(tars_space, reserved0) == 28, "tars_space.reserved0 moved");
_Static_assert(offsetof(tars_space, low) == 32, "tars_space.low moved");
_Static_assert(offsetof(tars_space, high) == 40, "tars_space.high moved");
_Static_assert(offsetof(tars_space, reserved) == 48, "tars_space.reserved moved");
_Static_assert(sizeof(tars_env_spec) >= 176, "tars_env_spec shrank");
_Static_assert(offsetof(tars_env_spec, struct_size) == 0, "tars_env_spec.struct_size moved");
_Static_assert(offsetof(tars_env_spec, n_agents) == 4, "tars_env_spec.n_agents moved");
_Static_assert(offsetof(tars_env_spec, obs) == 8, "tars_env_spec.obs moved");
_Static_assert(offsetof(tars_env_spec, act) == 72, "tars_env_spec.act moved");
_Static_assert(offsetof(tars_env_spec, max_episode_steps) == 136,
               "tars_env_spec.max_episode_steps moved");
_Static_assert(offsetof(tars_env_spec, reserved0) == 140, "tars_env_spec.reserved0 moved");
_Static_assert(offsetof(tars_env_spec, reserved) == 144, "tars_env_spec.reserved moved");
_Static_assert(sizeof(tars_actions) >= 16, "tars_actions shrank");
_Static_assert(offsetof(tars_actions, discrete) == 0, "tars_actions.discrete moved");
_Static_assert(offsetof(tars_actions, continuous) == 8, "tars_actions.continuous moved");
_Static_assert(sizeof(tars_step_out) >= 40, "tars_step_out shrank");
_Static_assert(offsetof(tars_step_out, obs) == 0, "tars_step_out.obs moved");
_Static_assert(offsetof(tars_step_out, final_obs) == 8, "tars_step_out.final_obs moved");
_Static_assert(offsetof(tars_step_out, reward) == 16, "tars_step_out.reward moved");
_Static_assert(offsetof(tars_step_out, terminated) == 24, "tars_step_out.terminated moved");
_Static_assert(offsetof(tars_step_out, truncated) == 32, "tars_step_out.truncated moved");
_Static_assert(sizeof(tars_env_ops) >= 96, "tars_env_ops shrank");
_Static_assert(offsetof(tars_env_ops, struct_size) == 0, "tars_env_ops.struct_size moved");
_Static_assert(offsetof(tars_env_ops, reserved0) == 4, "tars_env_ops.reserved0 moved");
_Static_assert(offsetof(tars_env_ops, create) == 8, "tars_env_ops.create moved");
_Static_assert(offsetof(tars_env_ops, destroy) == 16, "tars_env_ops.destroy moved");
_Static_assert(offsetof(tars_env_ops, spec) == 24, "tars_env_ops.spec moved");
_Static_assert(offsetof(tars_env_ops, reset) == 32, "tars_env_ops.reset moved");
_Static_assert(offsetof(tars_env_ops, step) == 40, "tars_env_ops.step moved");
_Static_assert(offsetof(tars_env_ops, save) == 48, "tars_env_ops.save moved");
_Static_assert(offsetof(tars_env_ops, load) == 56, "tars_env_ops.load moved");
_Static_assert(offsetof(tars_env_ops, reserved) == 64, "tars_env_ops.reserved moved");
_Static_assert(sizeof(tars_metric) == 56, "tars_metric changed size");
_Static_assert(offsetof(tars_metric, name) == 0, "tars_metric.name moved");
_Static_assert(offsetof(tars_metric, help) == 8, "tars_metric.help moved");
_Static_assert(offsetof(tars_metric, type) == 16, "tars_metric.type moved");
_Static_assert(offsetof(tars_metric, n_labels) == 20, "tars_metric.n_labels moved");
_Static_assert(offsetof(tars_metric, labels) == 24, "tars_metric.labels moved");
_Static_assert(offsetof(tars_metric, value) == 32, "tars_metric.value moved");
_Static_assert(offsetof(tars_metric, reserved) == 40, "tars_metric.reserved moved");
_Static_assert(sizeof(tars_exporter_ops) >= 80, "tars_exporter_ops shrank");
_Static_assert(offsetof(tars_exporter_ops, struct_size) == 0,
               "tars_exporter_ops.struct_size moved");
_Static_assert(offsetof(tars_exporter_ops, inputs) == 4, "tars_exporter_ops.inputs moved");
_Static_assert(offsetof(tars_exporter_ops, content_type) == 8,
               "tars_exporter_ops.content_type moved");
_Static_assert(offsetof(tars_exporter_ops, create) == 16, "tars_exporter_ops.create moved");
_Static_assert(offsetof(tars_exporter_ops, destroy) == 24, "tars_exporter_ops.destroy moved");
_Static_assert(offsetof(tars_exporter_ops, metrics) == 32, "tars_exporter_ops.metrics moved");
_Static_assert(offsetof(tars_exporter_ops, tensors) == 40, "tars_exporter_ops.tensors moved");
_Static_assert(offsetof(tars_exporter_ops, reserved) == 48, "tars_exporter_ops.reserved moved");
_Static_assert(sizeof(tars_tensor) == 56, "tars_tensor changed size");
_Static_assert(offsetof(tars_tensor, name) == 0, "tars_tensor.name moved");
_Static_assert(offsetof(tars_tensor, ndim) == 8, "tars_tensor.ndim moved");
_Static_assert(offsetof(tars_tensor, shape) == 12, "tars_tensor.shape moved");
_Static_assert(offsetof(tars_tensor, data) == 32, "tars_tensor.data moved");
_Static_assert(offsetof(tars_tensor, reserved) == 40, "tars_tensor.reserved moved");
_Static_assert(sizeof(tars_param_def) == 72, "tars_param_def changed size");
_Static_assert(offsetof(tars_param_def, name) == 0, "tars_param_def.name moved");
_Static_assert(offsetof(tars_param_def, help) == 8, "tars_param_def.help moved");
_Static_assert(offsetof(tars_param_def, type) == 16, "tars_param_def.type moved");
_Static_assert(offsetof(tars_param_def, flags) == 20, "tars_param_def.flags moved");
_Static_assert(offsetof(tars_param_def, min) == 24, "tars_param_def.min moved");
_Static_assert(offsetof(tars_param_def, max) == 32, "tars_param_def.max moved");
_Static_assert(offsetof(tars_param_def, def) == 40, "tars_param_def.def moved");
_Static_assert(offsetof(tars_param_def, choices) == 48, "tars_param_def.choices moved");
_Static_assert(offsetof(tars_param_def, reserved) == 56, "tars_param_def.reserved moved");
_Static_assert(sizeof(tars_plugin_info) >= 120, "tars_plugin_info shrank");
_Static_assert(offsetof(tars_plugin_info, struct_size) == 0, "tars_plugin_info.struct_size moved");
_Static_assert(offsetof(tars_plugin_info, abi_major) == 4, "tars_plugin_info.abi_major moved");
_Static_assert(offsetof(tars_plugin_info, abi_minor) == 6, "tars_plugin_info.abi_minor moved");
_Static_assert(offsetof(tars_plugin_info, kind) == 8, "tars_plugin_info.kind moved");
_Static_assert(offsetof(tars_plugin_info, n_params) == 12, "tars_plugin_info.n_params moved");
_Static_assert(offsetof(tars_plugin_info, name) == 16, "tars_plugin_info.name moved");
_Static_assert(offsetof(tars_plugin_info, version) == 24, "tars_plugin_info.version moved");
_Static_assert(offsetof(tars_plugin_info, description) == 32, "tars_plugin_info.description moved");
_Static_assert(offsetof(tars_plugin_info, params) == 40, "tars_plugin_info.params moved");
_Static_assert(offsetof(tars_plugin_info, ops) == 48, "tars_plugin_info.ops moved");
_Static_assert(offsetof(tars_plugin_info, reserved) == 56, "tars_plugin_info.reserved moved");
_Static_assert(sizeof(tars_rng) == 32, "tars_rng changed size");
_Static_assert(offsetof(tars_rng, s) == 0, "tars_rng.s moved");
_Static_assert(sizeof(tars_solver_ops) >= 64, "tars_solver_ops shrank");
_Static_assert(offsetof(tars_solver_ops, struct_size) == 0, "tars_solver_ops.struct_size moved");
_Static_assert(offsetof(tars_solver_ops, reserved0) == 4, "tars_solver_ops.reserved0 moved");
_Static_assert(offsetof(tars_solver_ops, create) == 8, "tars_solver_ops.create moved");
_Static_assert(offsetof(tars_solver_ops, destroy) == 16, "tars_solver_ops.destroy moved");
_Static_assert(offsetof(tars_solver_ops, solve) == 24, "tars_solver_ops.solve moved");
_Static_assert(offsetof(tars_solver_ops, reserved) == 32, "tars_solver_ops.reserved moved");
/* The tuner kind as ABI 1.1 froze it (1.0's table was provisional, and nothing ran it). */
_Static_assert(TARS_TRIAL_COMPLETE == 1 && TARS_TRIAL_PRUNED == 2 && TARS_TRIAL_FAILED == 3 &&
                   TARS_TRIAL_RUNNING == 4,
               "trial states renumbered");
_Static_assert(TARS_MINIMIZE == 1 && TARS_MAXIMIZE == 2, "directions renumbered");
_Static_assert(sizeof(tars_tuner_ops) >= 112, "tars_tuner_ops shrank");
_Static_assert(offsetof(tars_tuner_ops, struct_size) == 0, "tars_tuner_ops.struct_size moved");
_Static_assert(offsetof(tars_tuner_ops, roles) == 4, "tars_tuner_ops.roles moved");
_Static_assert(offsetof(tars_tuner_ops, create) == 8, "tars_tuner_ops.create moved");
_Static_assert(offsetof(tars_tuner_ops, destroy) == 16, "tars_tuner_ops.destroy moved");
_Static_assert(offsetof(tars_tuner_ops, ask) == 24, "tars_tuner_ops.ask moved");
_Static_assert(offsetof(tars_tuner_ops, tell) == 32, "tars_tuner_ops.tell moved");
_Static_assert(offsetof(tars_tuner_ops, report) == 40, "tars_tuner_ops.report moved");
_Static_assert(offsetof(tars_tuner_ops, save) == 48, "tars_tuner_ops.save moved");
_Static_assert(offsetof(tars_tuner_ops, load) == 56, "tars_tuner_ops.load moved");
_Static_assert(offsetof(tars_tuner_ops, reserved) == 64, "tars_tuner_ops.reserved moved");
_Static_assert(sizeof(tars_study_spec) >= 64, "tars_study_spec shrank");
_Static_assert(offsetof(tars_study_spec, n_objectives) == 4, "tars_study_spec.n_objectives moved");
_Static_assert(offsetof(tars_study_spec, directions) == 8, "tars_study_spec.directions moved");
_Static_assert(offsetof(tars_study_spec, space) == 16, "tars_study_spec.space moved");
_Static_assert(offsetof(tars_study_spec, n_space) == 24, "tars_study_spec.n_space moved");
_Static_assert(offsetof(tars_study_spec, reserved) == 32, "tars_study_spec.reserved moved");
_Static_assert(sizeof(tars_trial) >= 56, "tars_trial shrank");
_Static_assert(offsetof(tars_trial, state) == 8, "tars_trial.state moved");
_Static_assert(offsetof(tars_trial, n_values) == 12, "tars_trial.n_values moved");
_Static_assert(offsetof(tars_trial, values) == 16, "tars_trial.values moved");
_Static_assert(offsetof(tars_trial, params) == 24, "tars_trial.params moved");
_Static_assert(offsetof(tars_trial, last_step) == 32, "tars_trial.last_step moved");
_Static_assert(offsetof(tars_trial, reserved) == 40, "tars_trial.reserved moved");

#endif
