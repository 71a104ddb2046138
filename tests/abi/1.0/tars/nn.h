/*
 * tars/nn.h — small neural networks for agents: multi-layer perceptrons with forward and
 * backward passes on OpenBLAS, activations, distributions, losses, optimisers, initialisers.
 *
 * Conventions. Matrices are row-major float32. A batch is B rows. A dense layer holds W as
 * [out][in] and b as [out] and computes y = x W^T + b. Each network keeps all its weights in
 * one flat parameter vector and its gradients in a matching vector, so optimisers, gradient
 * clipping, Polyak averaging and save/load work on plain arrays.
 *
 * Threads: every object here belongs to one instance and is used by one thread at a time.
 * The SDK runs OpenBLAS single-threaded (parallelism comes from the host's runners).
 */
#ifndef TARS_NN_H
#define TARS_NN_H

#include <stddef.h>
#include <stdint.h>
#include "tars/version.h"
#include "tars/blob.h"
#include "tars/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tars_activation {
    TARS_ACT_NONE = 0, /* identity */
    TARS_ACT_TANH = 1,
    TARS_ACT_RELU = 2,
} tars_activation;

/* A multi-layer perceptron (opaque). */
typedef struct tars_mlp tars_mlp;

#define TARS_MLP_MAX_LAYERS 8

/*
 * An MLP with sizes[0] inputs, sizes[n_sizes-1] outputs and the sizes in between as hidden
 * widths; `hidden` after every hidden layer, `output` after the last. Weights start at zero:
 * initialise them (tars_mlp_init_default, tars_mlp_init_orthogonal). Returns TARS_EINVAL for
 * fewer than 2 or more than TARS_MLP_MAX_LAYERS + 1 sizes or a zero size, TARS_ENOMEM.
 */
TARS_EXPORT int tars_mlp_new(const uint32_t *sizes, uint32_t n_sizes, tars_activation hidden,
                             tars_activation output, tars_mlp **out);
TARS_EXPORT void tars_mlp_free(tars_mlp *m);
/* A new network with the same shape and parameters (gradients zero), e.g. a target network. */
TARS_EXPORT int tars_mlp_clone(const tars_mlp *m, tars_mlp **out);

TARS_EXPORT uint32_t tars_mlp_inputs(const tars_mlp *m);
TARS_EXPORT uint32_t tars_mlp_outputs(const tars_mlp *m);
/* The flat parameter and gradient vectors (same length). */
TARS_EXPORT float *tars_mlp_params(tars_mlp *m);
TARS_EXPORT float *tars_mlp_grads(tars_mlp *m);
TARS_EXPORT size_t tars_mlp_n_params(const tars_mlp *m);
/* Layer i's weights [out][in] and bias [out] inside the parameter vector. */
TARS_EXPORT int tars_mlp_layer(tars_mlp *m, uint32_t i, float **w, float **b, uint32_t *in,
                               uint32_t *out);
TARS_EXPORT uint32_t tars_mlp_n_layers(const tars_mlp *m);
/* Multiply-adds of one forward pass per sample (for FLOP accounting: 2x for FLOPs). */
TARS_EXPORT uint64_t tars_mlp_macs(const tars_mlp *m);
/* Floating-point operations of this network's matrix products so far (forward and backward). */
TARS_EXPORT uint64_t tars_mlp_flops(const tars_mlp *m);

/* PyTorch's nn.Linear default: W and b uniform in +-1/sqrt(in). */
TARS_EXPORT void tars_mlp_init_default(tars_mlp *m, tars_rng *rng);
/*
 * Orthogonal weights (as SB3's actor-critic policies): hidden layers with gain `hidden_gain`,
 * the last layer with `output_gain`; biases zero.
 */
TARS_EXPORT void tars_mlp_init_orthogonal(tars_mlp *m, double hidden_gain, double output_gain,
                                          tars_rng *rng);

/*
 * Forward pass over a batch of x[batch][inputs]; returns the outputs [batch][outputs] in memory
 * owned by the network, valid until the next forward. The activations are kept for backward.
 * Returns NULL only when memory for a larger batch cannot be had.
 */
TARS_EXPORT const float *tars_mlp_forward(tars_mlp *m, const float *x, uint32_t batch);
/*
 * Backward pass of the most recent forward: dy[batch][outputs] is dL/dy. Adds dL/dparams to
 * the gradient vector (call tars_mlp_zero_grad first) and, when dx is non-NULL, writes
 * dL/dx[batch][inputs]. Returns 0, or TARS_EINVAL without a preceding forward.
 */
TARS_EXPORT int tars_mlp_backward(tars_mlp *m, const float *dy, float *dx);
/*
 * Only dL/dx of the most recent forward, leaving the gradient vector alone (about a third
 * cheaper): for gradients that flow through a network into another, as DDPG's actor update
 * does through the critic.
 */
TARS_EXPORT int tars_mlp_backward_input(tars_mlp *m, const float *dy, float *dx);
TARS_EXPORT void tars_mlp_zero_grad(tars_mlp *m);

/* Versioned save/load of the parameters (shape checked on load). */
TARS_EXPORT int tars_mlp_save(const tars_mlp *m, tars_blob_writer *w);
TARS_EXPORT int tars_mlp_load(tars_mlp *m, tars_blob_reader *r);

/*
 * Initialisers on plain arrays. Orthogonal: a rows x cols matrix with orthonormal rows (or
 * columns, whichever are fewer) times gain, from the QR decomposition of a Gaussian matrix.
 */
TARS_EXPORT void tars_init_orthogonal(float *w, uint32_t rows, uint32_t cols, double gain,
                                      tars_rng *rng);
TARS_EXPORT void tars_init_uniform(float *x, size_t n, double lo, double hi, tars_rng *rng);

/*
 * Vector helpers. Polyak: target = (1 - tau) target + tau src. Norm: the L2 norm. Clip: scales
 * g down to max_norm when its norm exceeds it and returns the norm before clipping.
 */
TARS_EXPORT void tars_polyak(float *target, const float *src, size_t n, double tau);
TARS_EXPORT double tars_l2_norm(const float *x, size_t n);
TARS_EXPORT void tars_scale(float *x, size_t n, double s);
TARS_EXPORT double tars_clip_grad_norm(float *g, size_t n, double max_norm);

/*
 * Losses over n values: return the mean loss and write dL/dpred (already divided by n) into
 * grad (may be NULL). Huber is PyTorch's smooth_l1_loss with beta = delta.
 */
TARS_EXPORT double tars_mse(const float *pred, const float *target, size_t n, float *grad);
TARS_EXPORT double tars_huber(const float *pred, const float *target, size_t n, double delta,
                              float *grad);

/* Row-wise log-softmax of x[rows][cols] into out (may equal x). */
TARS_EXPORT void tars_log_softmax(const float *x, uint32_t rows, uint32_t cols, float *out);
TARS_EXPORT void tars_softmax(const float *x, uint32_t rows, uint32_t cols, float *out);

/*
 * Categorical distribution over `cols` choices per row, given logits[rows][cols].
 * logp[i] = log p(actions[i]); entropy[i] = H(row i); either output may be NULL.
 */
TARS_EXPORT void tars_categorical(const float *logits, uint32_t rows, uint32_t cols,
                                  const int32_t *actions, float *logp, float *entropy);
/* Samples one choice per row (explore) or takes the argmax (not explore). */
TARS_EXPORT void tars_categorical_sample(const float *logits, uint32_t rows, uint32_t cols,
                                         int explore, tars_rng *rng, int32_t *actions);
/*
 * dL/dlogits for L = sum_i (g_logp[i] * logp[i] + g_ent[i] * entropy[i]); g_ent may be NULL.
 * Writes dlogits[rows][cols].
 */
TARS_EXPORT void tars_categorical_backward(const float *logits, uint32_t rows, uint32_t cols,
                                           const int32_t *actions, const float *g_logp,
                                           const float *g_ent, float *dlogits);

/*
 * Diagonal Gaussian with means mu[rows][dim] and one log standard deviation per dimension
 * (state-independent, as SB3). logp[i] = log N(actions[i]; mu[i], exp(log_std)); the entropy
 * is the same for every row and returned.
 */
TARS_EXPORT double tars_gaussian(const float *mu, const float *log_std, uint32_t rows, uint32_t dim,
                                 const float *actions, float *logp);
TARS_EXPORT void tars_gaussian_sample(const float *mu, const float *log_std, uint32_t rows,
                                      uint32_t dim, tars_rng *rng, float *actions);
/*
 * For L = sum_i g_logp[i] * logp[i] + g_ent * entropy: writes dL/dmu[rows][dim] and adds
 * dL/dlog_std[dim] to dlog_std.
 */
TARS_EXPORT void tars_gaussian_backward(const float *mu, const float *log_std, uint32_t rows,
                                        uint32_t dim, const float *actions, const float *g_logp,
                                        double g_ent, float *dmu, float *dlog_std);

/* Optimisers over a flat parameter vector (opaque state: moments and step count). */
typedef struct tars_optim tars_optim;

/* Adam (Kingma & Ba) with PyTorch's update: bias-corrected moments, eps outside the sqrt. */
TARS_EXPORT int tars_adam_new(size_t n, double beta1, double beta2, double eps, tars_optim **out);
/* RMSprop as PyTorch computes it (no momentum, not centred): v = a v + (1 - a) g^2. */
TARS_EXPORT int tars_rmsprop_new(size_t n, double alpha, double eps, tars_optim **out);
TARS_EXPORT void tars_optim_free(tars_optim *o);
/* params -= lr * update(grads). n must equal the size the optimiser was made for. */
TARS_EXPORT void tars_optim_step(tars_optim *o, float *params, const float *grads, double lr);
TARS_EXPORT int tars_optim_save(const tars_optim *o, tars_blob_writer *w);
TARS_EXPORT int tars_optim_load(tars_optim *o, tars_blob_reader *r);

#ifdef __cplusplus
}
#endif

#endif
