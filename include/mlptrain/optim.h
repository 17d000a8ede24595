/*
 * optim: update rules over a flat block of parameters, PyTorch's
 * torch.optim.SGD, Adam and AdamW step for step.
 *
 * With g the gradient, p the parameter, lr the current rate, wd the weight
 * decay and t the step count (1 at the first step):
 *
 *   SGD        g += wd p; p -= lr g
 *   momentum   g += wd p; v = m v + g; p -= lr v
 *   Nesterov   g += wd p; v = m v + g; p -= lr (g + m v)
 *   Adam       g += wd p (L2, coupled)
 *   AdamW      p *= 1 - lr wd (decoupled)
 *   both then  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *              p -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 *
 * (the bias corrections are computed in double, as PyTorch's Python
 * floats are; the element arithmetic in float, sqrt(v) times the
 * reciprocal of sqrt(1 - b2^t) where PyTorch divides: an ulp apart).
 * Nesterov needs momentum > 0; Adam and AdamW take no momentum.  The rate
 * starts at opts->lr; mlp_optim_set_lr changes it (a schedule sets it
 * before each step).
 *
 * State (for checkpoints), one block from mlp_optim_state:
 *   plain SGD (momentum 0)   none: NULL, 0
 *   SGD with momentum        n floats: v (velocity), in parameter order
 *   Adam, AdamW              2n floats: m (first moment) at [0, n), then
 *                            v (second moment) at [n, 2n)
 * and the step count t (mlp_optim_steps, mlp_optim_set_steps), which
 * Adam's bias corrections need; every kind counts its steps.  A restored
 * state with its count continues the run exactly.
 *
 * Each step is one fused pass over the block, vectorized, split over the
 * OpenMP threads for large blocks in chunks taken dynamically (or over the
 * caller's own threads: mlp_optim_step_range); every element's arithmetic
 * is independent of the others, so results do not depend on the split or
 * the thread count.  Steps allocate nothing.
 *
 * Errors: mlp_optim_create fails with MLP_EINVAL (bad option, message
 * naming it) or MLP_ENOMEM.  Not thread-safe; a step may use OpenMP
 * threads internally.
 */
#ifndef MLPTRAIN_OPTIM_H
#define MLPTRAIN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    MLP_OPTIM_SGD,
    MLP_OPTIM_ADAM,
    MLP_OPTIM_ADAMW,
} mlp_optim_kind_t;
/* "sgd", "adam", "adamw", NULL */
extern const char *const mlp_optim_names[];

typedef struct {
    float lr;           /* initial learning rate, > 0 */
    float momentum;     /* SGD: 0 <= m < 1; 0: plain SGD */
    float weight_decay; /* >= 0; SGD, Adam: L2 in the gradient; AdamW:
                           decoupled */
    mlp_optim_kind_t kind; /* MLP_OPTIM_SGD (0) by default */
    int nesterov;       /* SGD: Nesterov momentum (needs momentum > 0) */
    float beta1, beta2; /* Adam, AdamW: in [0, 1) */
    float eps;          /* Adam, AdamW: > 0 */
} mlp_optim_opts_t;

typedef struct mlp_optim mlp_optim_t;

struct mlp_config;

/* The optimizer's options of a run (the one place they are built from the
 * run options, options.h): kind, lr, momentum, Nesterov, weight decay,
 * betas and eps, as cfg holds them (resolved: mlp_config_resolve). */
void mlp_optim_opts_of(const struct mlp_config *cfg, mlp_optim_opts_t *o);

int mlp_optim_create(const mlp_optim_opts_t *opts, size_t nparams,
                     mlp_optim_t **out);
/* NULL is a no-op. */
void mlp_optim_destroy(mlp_optim_t *opt);
/* The rate of the following steps: finite, >= 0 (a schedule may reach 0),
 * else MLP_EINVAL and the rate is unchanged. */
int mlp_optim_set_lr(mlp_optim_t *opt, float lr);
/* One step over n = nparams values, at the current rate. */
void mlp_optim_step(mlp_optim_t *opt, float *params, const float *grads);
/*
 * The same step in pieces, for a caller that splits the block over its own
 * threads: mlp_optim_begin counts the step (once, before any piece), then
 * mlp_optim_step_range updates values [lo, hi) (hi clipped to nparams) on
 * the calling thread; pieces that cover the block once give the bits of
 * mlp_optim_step.  Disjoint pieces may run on different threads at once;
 * nothing else may touch opt meanwhile.
 */
void mlp_optim_begin(mlp_optim_t *opt);
void mlp_optim_step_range(mlp_optim_t *opt, float *params,
                          const float *grads, size_t lo, size_t hi);
/* State block (*n floats, layout above; NULL and 0 for plain SGD). */
float *mlp_optim_state(mlp_optim_t *opt, size_t *n);
/* Steps taken (Adam's t); set it when restoring a state. */
uint64_t mlp_optim_steps(const mlp_optim_t *opt);
void mlp_optim_set_steps(mlp_optim_t *opt, uint64_t steps);

#endif
