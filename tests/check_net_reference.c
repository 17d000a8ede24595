/*
 * Tests of net against a double-precision reference MLP written here:
 * forward, loss and backward of small and larger nets, every activation
 * and layout, with dropout, and in bf16; the small ones also against
 * finite differences.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "testutil.h"
#include "mlptrain/bf16.h"
#include "mlptrain/error.h"
#include "mlptrain/loss.h"
#include "mlptrain/net.h"
#include "mlptrain/rng.h"
#include "net_fixture.h"

#define MAXL (MLP_MAX_HIDDEN + 1)

/*
 * A bf16 net against the same double reference, which then rounds what
 * the net rounds (ref_op): the input, the weights, each hidden layer's
 * output (and its dropped copy), dL/dlogits and each gradient flowing
 * back (after backward-data, the mask and act') to bf16.  What is left is
 * f32 summation and the odd one-ulp disagreement of a rounding (2^-8 of
 * one term), far below 2e-3 on these nets (3e-4 passed); a real mistake (a
 * weight in the wrong place of the bf16 copy, a stale copy, a gradient not
 * rounded where the net rounds it) is off by 1e-2 to O(1).
 */
#define BF_RTOL 2e-3

#define BF_ATOL 2e-3

/* Finite differences of the double reference: step and tolerance.  With
 * h = 1e-5 the truncation error is ~h^2 |L'''| ~ 1e-10 and rounding
 * ~1e-16 / h ~ 1e-11, so the reference's gradient must agree to 1e-7. */
#define FD_EPS 1e-5

#define FD_TOL 1e-7

/* The reference: the same network in double precision. */
typedef struct {
    size_t L, lin[MAXL], lout[MAXL];
    mlp_act_t act;
    double *w[MAXL];  /* (out, in) */
    double *b[MAXL];  /* (out) */
    double *dw[MAXL]; /* (out, in) */
    double *db[MAXL]; /* (out) */
    /* Dropout factors of the current batch (0 or 1/(1-p)) per site: 0 the
     * input (n, in), l + 1 hidden layer l's output (n, out); NULL none. */
    double *mask[MAXL];
    int bf16;         /* round the forward's operands as a bf16 net does */
} ref_t;

static double ref_act(mlp_act_t a, double z)
{
    switch (a) {
    case MLP_ACT_RELU:
        return z > 0 ? z : 0;
    case MLP_ACT_SIGMOID:
        return 1 / (1 + exp(-z));
    default:
        return tanh(z);
    }
}

/* act'(z) from h = act(z). */
static double ref_dact(mlp_act_t a, double h)
{
    switch (a) {
    case MLP_ACT_RELU:
        return h > 0;
    case MLP_ACT_SIGMOID:
        return h * (1 - h);
    default:
        return 1 - h * h;
    }
}

/* v as a bf16 net holds an operand: rounded to bf16 when r->bf16. */
static double ref_op(const ref_t *r, double v)
{
    return r->bf16 ? (double)mlp_bf16_float(mlp_bf16_round((float)v)) : v;
}

static void ref_init(ref_t *r, const mlp_net_t *net)
{
    memset(r, 0, sizeof(*r));
    r->bf16 = mlp_net_spec(net)->precision == MLP_PREC_BF16;
    r->L = mlp_net_nlayers(net);
    r->act = mlp_net_spec(net)->act;
    for (size_t l = 0; l < r->L; l++) {
        mlp_net_layer_shape(net, l, &r->lin[l], &r->lout[l]);
        r->w[l] = calloc(r->lin[l] * r->lout[l], sizeof(double));
        r->dw[l] = calloc(r->lin[l] * r->lout[l], sizeof(double));
        r->b[l] = calloc(r->lout[l], sizeof(double));
        r->db[l] = calloc(r->lout[l], sizeof(double));
        ck_assert(r->w[l] && r->dw[l] && r->b[l] && r->db[l]);
    }
}

static void ref_free(ref_t *r)
{
    for (size_t l = 0; l < r->L; l++) {
        free(r->w[l]);
        free(r->dw[l]);
        free(r->b[l]);
        free(r->db[l]);
        free(r->mask[l]);
    }
}

/* Dropout factors of site `site`, n rows of c, from net.h's formula. */
static double *ref_mask(const mlp_drop_key_t *key, uint64_t site, size_t n,
                        size_t c, float p)
{
    double *m = malloc(n * c * sizeof(double));
    uint32_t thr = (uint32_t)(p * 4294967296.0);
    uint64_t k = mlp_rng_key(MLP_NET_DROP_DOMAIN, key->seed);

    ck_assert_ptr_nonnull(m);
    k = mlp_rng_key(mlp_rng_key(mlp_rng_key(k, key->epoch), key->batch),
                    site);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < c; j++)
            m[i * c + j] = mlp_rng_bits32(mlp_rng_key(k, i), (uint32_t)j) >=
                                   thr
                               ? (double)(1.0f / (1.0f - p))
                               : 0.0;
    return m;
}

/* The masks of a training forward of n rows with key (NULL: none). */
static void ref_set_masks(ref_t *r, const mlp_drop_key_t *key, size_t n,
                          float p, float p_in)
{
    for (size_t l = 0; l < r->L; l++) {
        free(r->mask[l]);
        r->mask[l] = NULL;
    }
    if (key && p_in > 0)
        r->mask[0] = ref_mask(key, 0, n, r->lin[0], p_in);
    for (size_t l = 0; key && p > 0 && l + 1 < r->L; l++)
        r->mask[l + 1] = ref_mask(key, l + 1, n, r->lout[l], p);
}

/*
 * Mean softmax cross-entropy of n rows of x (n, in) with labels y; logits
 * (n, out) if not NULL; the gradients into dw, db if grad.
 */
static double ref_loss(ref_t *r, const float *x, const int32_t *y, size_t n,
                       double *logits, int grad)
{
    double *h[MAXL + 1], *pre[MAXL + 1] = {NULL}, loss = 0;
    size_t L = r->L, C = r->lout[L - 1];

    h[0] = malloc(n * r->lin[0] * sizeof(double));
    ck_assert_ptr_nonnull(h[0]);
    for (size_t i = 0; i < n * r->lin[0]; i++)
        h[0][i] = ref_op(r, x[i] * (r->mask[0] ? r->mask[0][i] : 1.0));
    /* h[l + 1] = act(W_l h[l] + b_l); the last layer is linear. */
    for (size_t l = 0; l < L; l++) {
        size_t I = r->lin[l], O = r->lout[l];

        h[l + 1] = malloc(n * O * sizeof(double));
        ck_assert_ptr_nonnull(h[l + 1]);
        for (size_t i = 0; i < n; i++)
            for (size_t o = 0; o < O; o++) {
                double z = r->b[l][o];

                for (size_t k = 0; k < I; k++)
                    z += ref_op(r, r->w[l][o * I + k]) * h[l][i * I + k];
                h[l + 1][i * O + o] = l + 1 < L ? ref_op(r, ref_act(r->act, z))
                                                : z;
            }
        /* Dropout after the activation; act' needs the value before. */
        if (l + 1 < L && r->mask[l + 1]) {
            pre[l + 1] = malloc(n * O * sizeof(double));
            ck_assert_ptr_nonnull(pre[l + 1]);
            memcpy(pre[l + 1], h[l + 1], n * O * sizeof(double));
            for (size_t i = 0; i < n * O; i++)
                h[l + 1][i] = ref_op(r, h[l + 1][i] * r->mask[l + 1][i]);
        }
    }
    /* Softmax cross-entropy; h[L] becomes dL/dlogits. */
    for (size_t i = 0; i < n; i++) {
        double *z = h[L] + i * C, m = z[0], s = 0;

        if (logits)
            memcpy(logits + i * C, z, C * sizeof(double));
        for (size_t j = 1; j < C; j++)
            m = fmax(m, z[j]);
        for (size_t j = 0; j < C; j++)
            s += exp(z[j] - m);
        loss += m + log(s) - z[y[i]];
        for (size_t j = 0; j < C; j++)
            z[j] = (exp(z[j] - m) / s - (j == (size_t)y[i])) / n;
    }
    if (grad) {
        /* dz of layer l is h[l + 1] (overwritten in place). */
        for (size_t i = 0; r->bf16 && i < n * C; i++) /* dL/dlogits */
            h[L][i] = ref_op(r, h[L][i]);
        for (size_t l = L; l-- > 0;) {
            size_t I = r->lin[l], O = r->lout[l];
            double *dz = h[l + 1];

            memset(r->dw[l], 0, I * O * sizeof(double));
            memset(r->db[l], 0, O * sizeof(double));
            for (size_t i = 0; i < n; i++)
                for (size_t o = 0; o < O; o++) {
                    r->db[l][o] += dz[i * O + o];
                    for (size_t k = 0; k < I; k++)
                        r->dw[l][o * I + k] += dz[i * O + o] * h[l][i * I + k];
                }
            if (l == 0)
                break;
            /* dh[l] = dz W, times the mask, times act' from h[l] before
             * dropout. */
            for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < I; k++) {
                    double d = 0, *hv = pre[l] ? pre[l] : h[l];

                    for (size_t o = 0; o < O; o++)
                        d += dz[i * O + o] * ref_op(r, r->w[l][o * I + k]);
                    d = ref_op(r, d);
                    if (r->mask[l])
                        d = ref_op(r, d * r->mask[l][i * I + k]);
                    h[l][i * I + k] =
                        ref_op(r, d * ref_dact(r->act, hv[i * I + k]));
                }
        }
    }
    for (size_t l = 0; l <= L; l++) {
        free(h[l]);
        free(pre[l]);
    }
    return loss / n;
}

static void ref_from_net(ref_t *r, mlp_net_t *net);

/* Random weights (std 0.5) and biases (std 0.2) into net and ref. */
static void set_random_params(mlp_net_t *net, ref_t *r, uint64_t seed)
{
    for (size_t l = 0; l < r->L; l++) {
        size_t nw = r->lin[l] * r->lout[l];
        float *w = malloc(nw * sizeof(float)), *b = malloc(r->lout[l] * 4);

        ck_assert(w && b);
        fill_normal(w, nw, seed, 2 * l, 0.5);
        fill_normal(b, r->lout[l], seed, 2 * l + 1, 0.2);
        ck_assert_int_eq(mlp_net_set_layer(net, l, w, b), 0);
        free(w);
        free(b);
    }
    ref_from_net(r, net); /* get_layer gives back exactly what was set */
}

/* The reference's weights from the net's (biases too: the net's may not
 * be zero). */
static void ref_from_net(ref_t *r, mlp_net_t *net)
{
    for (size_t l = 0; l < r->L; l++) {
        size_t nw = r->lin[l] * r->lout[l];
        float *w = malloc(nw * sizeof(float)), *b = malloc(r->lout[l] * 4);

        ck_assert(w && b);
        ck_assert_int_eq(mlp_net_get_layer(net, l, w, b), 0);
        for (size_t i = 0; i < nw; i++)
            r->w[l][i] = w[i];
        for (size_t i = 0; i < r->lout[l]; i++)
            r->b[l][i] = b[i];
        free(w);
        free(b);
    }
}

/*
 * Forward, loss and backward of batch n through net and ref; compare
 * logits and gradients, and with fd also every gradient against central
 * differences of the reference loss.
 */
static void compare_step_key(mlp_net_t *net, ref_t *r, size_t n,
                             uint64_t seed, int fd, double rtol, double atol,
                             const mlp_drop_key_t *key)
{
    const mlp_net_spec_t *sp = mlp_net_spec(net);
    size_t L = r->L, in = r->lin[0], C = r->lout[L - 1], correct = 0;
    float *x = malloc(n * in * sizeof(float));
    float *dlogits = malloc(n * C * sizeof(float));
    int32_t *y = malloc(n * sizeof(int32_t));
    double *want = malloc(n * C * sizeof(double)), loss = 0, ref;
    const float *logits;
    mlp_rng_t rng;

    mlp_bf16_t *xh = malloc(n * in * sizeof(*xh));
    const void *xin = x;

    ck_assert(x && dlogits && y && want && xh);
    mlp_rng_seed(&rng, seed, 1000);
    for (size_t i = 0; i < n * in; i++)
        x[i] = (float)(2 * mlp_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < n; i++)
        y[i] = (int32_t)(mlp_rng_u64(&rng) % C);
    if (sp->precision == MLP_PREC_BF16) { /* the reference gets it too */
        mlp_bf16_from_f32(xh, x, n * in);
        mlp_bf16_to_f32(x, xh, n * in);
        xin = xh;
    }

    ref_set_masks(r, key, n, sp->dropout, sp->input_dropout);
    if (key)
        ck_assert_int_eq(mlp_net_forward_train(net, xin, n, key, &logits),
                         0);
    else
        ck_assert_int_eq(mlp_net_forward(net, xin, n, &logits), 0);
    ref = ref_loss(r, x, y, n, want, 1);
    for (size_t i = 0; i < n * C; i++)
        assert_close(logits[i], want[i], rtol, atol, "logits", L - 1, i);
    mlp_loss_softmax_xent(logits, y, n, C, dlogits, &loss, &correct);
    ck_assert_double_eq_tol(loss / n, ref, atol + rtol * ref);
    ck_assert_int_eq(mlp_net_backward(net, dlogits, n), 0);

    {
        float *p, *g;
        size_t nflat;
        double ss = 0;

        for (size_t l = 0; l < L; l++) {
            size_t I = r->lin[l], O = r->lout[l];
            float *gw = malloc(I * O * sizeof(float));
            float *gb = malloc(O * sizeof(float));

            ck_assert(gw && gb);
            net_grads(net, l, gw, gb);
            for (size_t i = 0; i < I * O; i++)
                assert_close(gw[i], r->dw[l][i], rtol, atol, "dW", l, i);
            for (size_t i = 0; i < O; i++)
                assert_close(gb[i], r->db[l][i], rtol, atol, "db", l, i);
            ss += sumsq(gw, I * O) + sumsq(gb, O);

            for (size_t i = 0; fd && i < I * O + O; i++) {
                double *v = i < I * O ? &r->w[l][i] : &r->b[l][i - I * O];
                double v0 = *v, lp, lm, d;
                float got = i < I * O ? gw[i] : gb[i - I * O];

                *v = v0 + FD_EPS;
                lp = ref_loss(r, x, y, n, NULL, 0);
                *v = v0 - FD_EPS;
                lm = ref_loss(r, x, y, n, NULL, 0);
                *v = v0;
                d = (lp - lm) / (2 * FD_EPS);
                assert_close(got, d, rtol, atol, "net vs fd", l, i);
                assert_close(i < I * O ? r->dw[l][i] : r->db[l][i - I * O], d,
                             0, FD_TOL, "ref vs fd", l, i);
            }
            free(gw);
            free(gb);
        }
        /* Padding and gaps of the gradient block hold zeros only. */
        mlp_net_params(net, &p, &g, &nflat);
        ck_assert_double_eq_tol(sumsq(g, nflat), ss, 1e-6 * ss);
    }
    free(x);
    free(xh);
    free(dlogits);
    free(y);
    free(want);
}

static void compare_step(mlp_net_t *net, ref_t *r, size_t n, uint64_t seed,
                         int fd, double rtol, double atol)
{
    compare_step_key(net, r, n, seed, fd, rtol, atol, NULL);
}

/* A net of spec s with random parameters (seed) and its reference. */
static mlp_net_t *net_with_ref(const mlp_net_spec_t *s, ref_t *r,
                               uint64_t seed)
{
    mlp_net_t *net;

    ck_assert_int_eq(mlp_net_create(s, &net), 0);
    ref_init(r, net);
    set_random_params(net, r, seed);
    return net;
}

static void net_ref_free(mlp_net_t *net, ref_t *r)
{
    ref_free(r);
    mlp_net_destroy(net);
}

/* The weights' std 0.5 on 100 inputs saturates tanh: net and reference
 * get the weights / 8 (the biases as they are). */
static void unsaturate(mlp_net_t *net, ref_t *r)
{
    for (size_t l = 0; l < r->L; l++) {
        size_t nw = r->lin[l] * r->lout[l];
        float *w = malloc(nw * sizeof(float)), *b = malloc(r->lout[l] * 4);

        ck_assert(w && b);
        for (size_t i = 0; i < nw; i++)
            w[i] = (float)(r->w[l][i] / 8);
        for (size_t i = 0; i < r->lout[l]; i++)
            b[i] = (float)r->b[l][i];
        ck_assert_int_eq(mlp_net_set_layer(net, l, w, b), 0);
        for (size_t i = 0; i < nw; i++)
            r->w[l][i] = w[i];
        free(w);
        free(b);
    }
}

/* in 7, hidden (5, 4) or none, out 3; batch 4 and 3; every activation
 * and layout: _i picks (activation, layout, depth). */
START_TEST(test_small_matches_reference)
{
    mlp_act_t act = (mlp_act_t)(_i % 3);
    int plain = (_i / 3) % 2;
    size_t nhidden = _i / 6 ? 0 : 2;
    mlp_net_spec_t s = make_spec(7, 3, nhidden, hidden_54, act, plain);
    mlp_net_t *net;
    ref_t r;

    s.batch_sizes[1] = 3;
    s.nbatch_sizes = 2;
    net = net_with_ref(&s, &r, 11 + _i);
    compare_step(net, &r, 4, 21 + _i, 1, RTOL, ATOL);
    compare_step(net, &r, 3, 31 + _i, 1, RTOL, ATOL);
    net_ref_free(net, &r);
}
END_TEST

/*
 * Shapes where oneDNN picks blocked, padded weight layouts (widths not
 * multiples of 16); no finite differences (the small nets cover the math).
 */
START_TEST(test_larger_matches_reference)
{
    static const size_t hid[2] = {70, 33};
    int plain = _i % 2;
    mlp_net_spec_t s = make_spec(100, 10, 2, hid, MLP_ACT_TANH, plain);
    mlp_net_t *net;
    ref_t r;

    s.batch_sizes[0] = 20;
    net = net_with_ref(&s, &r, 5);
    unsaturate(net, &r);
    compare_step(net, &r, 20, 3, 0, RTOL, ATOL);
    net_ref_free(net, &r);
}
END_TEST

/* The default model, 784-256-10 ReLU at batch 64, both layouts. */
START_TEST(test_default_shape_matches_reference)
{
    static const size_t hid[1] = {256};
    mlp_net_spec_t s = make_spec(784, 10, 1, hid, MLP_ACT_RELU, _i);
    mlp_net_t *net;
    ref_t r;

    s.batch_sizes[0] = 64;
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    ck_assert_int_eq(mlp_net_init(net, 9, 0.05f), 0);
    ref_init(&r, net);
    ref_from_net(&r, net);
    compare_step(net, &r, 64, 4, 0, RTOL, ATOL);
    net_ref_free(net, &r);
}
END_TEST

/*
 * Dropout on the input and on both hidden layers against the reference
 * with the same masks (drawn there from net.h's formula), finite
 * differences included: every activation and layout, batches 4 and 3, two
 * keys; then an evaluating forward of the same net never drops.
 */
START_TEST(test_dropout_matches_reference)
{
    mlp_act_t act = (mlp_act_t)(_i % 3);
    int plain = _i / 3;
    static const size_t hid[2] = {9, 8};
    mlp_net_spec_t s = make_spec(7, 3, 2, hid, act, plain);
    mlp_drop_key_t k1 = {5, 1, 0, 0}, k2 = {5, 2, 7, 0};
    mlp_net_t *net;
    ref_t r;

    s.batch_sizes[1] = 3;
    s.nbatch_sizes = 2;
    s.dropout = 0.4f;
    s.input_dropout = 0.3f;
    net = net_with_ref(&s, &r, 41 + _i);
    compare_step_key(net, &r, 4, 51 + _i, 1, RTOL, ATOL, &k1);
    compare_step_key(net, &r, 3, 61 + _i, 1, RTOL, ATOL, &k2);
    compare_step_key(net, &r, 4, 71 + _i, 1, RTOL, ATOL, &k2);
    compare_step(net, &r, 4, 81 + _i, 1, RTOL, ATOL);
    net_ref_free(net, &r);
}
END_TEST

/* Wider: blocked layouts, tanh, dropout on hidden layers only. */
START_TEST(test_dropout_larger_matches_reference)
{
    static const size_t hid[2] = {70, 33};
    mlp_net_spec_t s = make_spec(100, 10, 2, hid, MLP_ACT_TANH, _i);
    mlp_drop_key_t key = {3, 4, 5, 0};
    mlp_net_t *net;
    ref_t r;

    s.batch_sizes[0] = 20;
    s.dropout = 0.5f;
    net = net_with_ref(&s, &r, 5);
    unsaturate(net, &r);
    compare_step_key(net, &r, 20, 3, 0, RTOL, ATOL, &key);
    net_ref_free(net, &r);
}
END_TEST

/*
 * bf16 nets against the double reference (BF_RTOL, BF_ATOL): every
 * activation and layout, one or two hidden layers (and none), with and
 * without dropout, batches 4 and 3; blocked padded shapes; the default
 * model at batch 64.  _i picks (activation, layout, depth, dropout).
 */
START_TEST(test_bf16_matches_reference)
{
    mlp_act_t act = (mlp_act_t)(_i % 3);
    int plain = (_i / 3) % 2, drop = _i / 6 == 2;
    size_t nhidden = _i / 6 == 1 ? 0 : 2;
    static const size_t hid[2] = {9, 8};
    mlp_net_spec_t s = make_spec(7, 3, nhidden, hid, act, plain);
    mlp_drop_key_t k1 = {5, 1, 0, 0}, k2 = {5, 2, 7, 0};
    mlp_net_t *net;
    ref_t r;

    if (!tu_bf16_here("test_bf16_matches_reference"))
        return;
    s.batch_sizes[1] = 3;
    s.nbatch_sizes = 2;
    s.precision = MLP_PREC_BF16;
    s.dropout = drop ? 0.4f : 0.0f;
    s.input_dropout = drop ? 0.3f : 0.0f;
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    ck_assert_uint_eq(mlp_net_input_bytes(net), 2);
    ref_init(&r, net);
    set_random_params(net, &r, 141 + _i);
    compare_step_key(net, &r, 4, 151 + _i, 0, BF_RTOL, BF_ATOL,
                     drop ? &k1 : NULL);
    compare_step_key(net, &r, 3, 161 + _i, 0, BF_RTOL, BF_ATOL,
                     drop ? &k2 : NULL);
    compare_step(net, &r, 4, 171 + _i, 0, BF_RTOL, BF_ATOL);
    net_ref_free(net, &r);
}
END_TEST

START_TEST(test_bf16_larger_matches_reference)
{
    static const size_t hid[2] = {70, 33}, def[1] = {256};
    mlp_net_spec_t s = _i < 2 ? make_spec(100, 10, 2, hid, MLP_ACT_TANH, _i)
                              : make_spec(784, 10, 1, def, MLP_ACT_RELU, 0);
    mlp_net_t *net;
    ref_t r;

    if (!tu_bf16_here("test_bf16_larger_matches_reference"))
        return;
    s.batch_sizes[0] = _i < 2 ? 20 : 64;
    s.precision = MLP_PREC_BF16;
    s.threads = 1;
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    ck_assert_int_eq(mlp_net_init(net, 9, _i < 2 ? 0.06f : 0.05f), 0);
    ref_init(&r, net);
    ref_from_net(&r, net);
    compare_step(net, &r, s.batch_sizes[0], 4, 0, BF_RTOL, BF_ATOL);
    net_ref_free(net, &r);
}
END_TEST

Suite *net_reference_suite(void);
Suite *net_reference_suite(void)
{
    Suite *s = suite_create("net_reference");
    /* Primitive creation JIT-compiles; valgrind makes that slow. */
    TCase *core = tu_tcase(s, "core", 300);

    tcase_add_loop_test(core, test_small_matches_reference, 0, 12);
    tcase_add_loop_test(core, test_larger_matches_reference, 0, 2);
    tcase_add_loop_test(core, test_default_shape_matches_reference, 0, 2);
    tcase_add_loop_test(core, test_dropout_matches_reference, 0, 6);
    tcase_add_loop_test(core, test_dropout_larger_matches_reference, 0, 2);
    tcase_add_loop_test(core, test_bf16_matches_reference, 0, 18);
    tcase_add_loop_test(core, test_bf16_larger_matches_reference, 0, 3);
    return s;
}

MLP_CHECK_MAIN(net_reference_suite)
