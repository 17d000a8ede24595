/*
 * net_fixture: see net_fixture.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "mlptrain/bf16.h"
#include "mlptrain/error.h"
#include "mlptrain/loss.h"
#include "mlptrain/net.h"
#include "mlptrain/rng.h"
#include "net_fixture.h"

void fill_normal(float *v, size_t n, uint64_t seed, uint64_t stream,
                 double std)
{
    mlp_rng_t r;

    mlp_rng_seed(&r, seed, stream);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(mlp_rng_normal(&r) * std);
}

/* The net's gradients of layer l in logical order. */
void net_grads(mlp_net_t *net, size_t l, float *gw, float *gb)
{
    float *p, *g, *save;
    size_t n;

    mlp_net_params(net, &p, &g, &n);
    save = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(save);
    memcpy(save, p, n * sizeof(float));
    memcpy(p, g, n * sizeof(float));
    ck_assert_int_eq(mlp_net_get_layer(net, l, gw, gb), 0);
    memcpy(p, save, n * sizeof(float));
    free(save);
}

void assert_close(double got, double want, double rtol, double atol,
                  const char *what, size_t l, size_t i)
{
    ck_assert_msg(fabs(got - want) <= atol + rtol * fabs(want),
                  "%s layer %zu [%zu]: got %.9g want %.9g", what, l, i, got,
                  want);
}

double sumsq(const float *v, size_t n)
{
    double s = 0;

    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    return s;
}

mlp_net_spec_t make_spec(size_t in, size_t out, size_t nhidden,
                         const size_t *hidden, mlp_act_t act,
                         int plain)
{
    mlp_net_spec_t s;

    memset(&s, 0, sizeof(s));
    s.in = in;
    s.out = out;
    s.nhidden = nhidden;
    for (size_t i = 0; i < nhidden; i++)
        s.hidden[i] = hidden[i];
    s.act = act;
    s.batch_sizes[0] = 4;
    s.nbatch_sizes = 1;
    s.threads = 2;
    s.plain_weights = plain;
    return s;
}

const size_t hidden_54[2] = {5, 4};
