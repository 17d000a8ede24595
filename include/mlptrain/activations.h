/*
 * activations: each activation function and its derivative, computed by the
 * oneDNN eltwise primitives the net uses (see net.h): the forward algorithm
 * of its post-op (relu with alpha 0, logistic, tanh) and the backward of
 * the *_use_dst_for_bwd algorithm, which derives from the forward's output.
 * The derivative is that backward with diff_dst = 1, so it is exactly what
 * training multiplies gradients by; ReLU's at x = 0 is 0.
 *
 * The `mlptrain activations` command (src/cmd_activations.c) prints them
 * over x in [-8, 8) in steps of 0.1, and with --png draws a panel per
 * function and one per derivative.
 *
 * Errors: MLP_EDNNL (the message names the oneDNN call), MLP_EINVAL (bad
 * activation), MLP_ENOMEM.  Thread-safe: each call makes its own engine,
 * stream and primitives (a few milliseconds; not for a hot path).
 */
#ifndef MLPTRAIN_ACTIVATIONS_H
#define MLPTRAIN_ACTIVATIONS_H

#include <stddef.h>
#include <stdio.h>

#include "mlptrain/net.h"

/* The table's x: -8 + 0.1 i for i in [0, MLP_ACTIVATIONS_N). */
#define MLP_ACTIVATIONS_N 160

/*
 * y[i] = act(x[i]) and dy[i] = act'(x[i]) for n values (dy may be NULL).
 * y and dy must not overlap x.
 */
int mlp_activation_eval(mlp_act_t act, const float *x, size_t n, float *y,
                        float *dy);

#endif
