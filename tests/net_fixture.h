/*
 * net_fixture: what the net suites (check_net, check_net_reference) share:
 * tolerances, specs, random parameters and the gradient accessors.
 * Test-only code; failures abort the test (ck_assert).
 */
#ifndef MLPTRAIN_NET_FIXTURE_H
#define MLPTRAIN_NET_FIXTURE_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "mlptrain/net.h"

/*
 * Tolerance of the float32 net against double precision: |a - b| <= ATOL +
 * RTOL |b|.  The net rounds every product and sum to float32 (eps 6e-8),
 * its sigmoid and tanh are vectorised approximations accurate to a few ulp,
 * and dL/dlogits comes from float logits; on these small nets (sums of at
 * most a few hundred O(1) terms) that puts the error near 1e-6 relative.
 * 1e-4 leaves two orders of magnitude of margin, while any real mistake (a
 * missing bias, a transposed weight, the derivative taken from z instead of
 * h, a wrong 1/n) changes values by 1e-2 relative or more.
 */
#define RTOL 1e-4
#define ATOL 1e-5

/* v (n) drawn from N(0, std^2) of (seed, stream). */
void fill_normal(float *v, size_t n, uint64_t seed, uint64_t stream,
                 double std);

/* The net's gradients of layer l in logical order. */
void net_grads(mlp_net_t *net, size_t l, float *gw, float *gb);

/* |got - want| <= atol + rtol |want|, else fail naming what, layer l and
 * index i. */
void assert_close(double got, double want, double rtol, double atol,
                  const char *what, size_t l, size_t i);

/* The sum of squares of v (n), in double. */
double sumsq(const float *v, size_t n);

/* A spec of in -> hidden... -> out with act, plain or blocked weights,
 * 2 threads, batch size 4 only (the caller adds others). */
mlp_net_spec_t make_spec(size_t in, size_t out, size_t nhidden,
                         const size_t *hidden, mlp_act_t act,
                         int plain);

/* Hidden widths (5, 4): the small nets'. */
extern const size_t hidden_54[2];

#endif
