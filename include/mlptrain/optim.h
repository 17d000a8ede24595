/*
 * optim: update rules over a flat block of parameters.
 *
 * SGD: p -= lr * g.  With momentum m > 0: v = m * v + g; p -= lr * v (the
 * PyTorch convention).  Weight decay wd adds wd * p to g first.  The state
 * (velocity) is one block the size of the parameters, exposed for
 * checkpoints.  Steps allocate nothing.
 *
 * Not thread-safe; a step may use OpenMP threads internally.
 */
#ifndef MLPTRAIN_OPTIM_H
#define MLPTRAIN_OPTIM_H

#include <stddef.h>

typedef enum { MLP_OPTIM_SGD, MLP_OPTIM_ADAM, MLP_OPTIM_ADAMW } mlp_optim_kind_t;
/* "sgd", "adam", "adamw", NULL */
extern const char *const mlp_optim_names[];

typedef struct {
    float lr;           /* learning rate, > 0 */
    float momentum;     /* 0 <= m < 1; 0: plain SGD */
    float weight_decay; /* >= 0 */
} mlp_optim_opts_t;

typedef struct mlp_optim mlp_optim_t;

int mlp_optim_create(const mlp_optim_opts_t *opts, size_t nparams,
                     mlp_optim_t **out);
/* NULL is a no-op. */
void mlp_optim_destroy(mlp_optim_t *opt);
/* One step over n = nparams values. */
void mlp_optim_step(mlp_optim_t *opt, float *params, const float *grads);
/* State block (*n floats; NULL and 0 for plain SGD), for checkpoints. */
float *mlp_optim_state(mlp_optim_t *opt, size_t *n);

#endif
