/*
 * Tests of net: forward logits and every parameter gradient against a plain
 * C double-precision reference and against central finite differences of
 * the mean softmax cross-entropy, for each activation and both weight
 * layouts, with and without dropout (the reference applies masks it draws
 * itself from the formula of net.h); dropout's share and scale, zero rates
 * and evaluation equal to the plain net bit for bit; get/set round trips;
 * init statistics of every kind; several batch sizes; errors.
 *
 * The net's gradients live in its internal (possibly blocked) layout; the
 * tests read them in logical (out, in) order by copying the gradient block
 * over the parameter block (same size and offsets) and calling
 * mlp_net_get_layer.
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

#define MAXL (MLP_MAX_HIDDEN + 1)

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

static void fill_normal(float *v, size_t n, uint64_t seed, uint64_t stream,
                        double std)
{
    mlp_rng_t r;

    mlp_rng_seed(&r, seed, stream);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)(mlp_rng_normal(&r) * std);
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

/* The net's gradients of layer l in logical order. */
static void net_grads(mlp_net_t *net, size_t l, float *gw, float *gb)
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

static void assert_close(double got, double want, double rtol, double atol,
                         const char *what, size_t l, size_t i)
{
    ck_assert_msg(fabs(got - want) <= atol + rtol * fabs(want),
                  "%s layer %zu [%zu]: got %.9g want %.9g", what, l, i, got,
                  want);
}

static double sumsq(const float *v, size_t n)
{
    double s = 0;

    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    return s;
}

static mlp_net_spec_t make_spec(size_t in, size_t out, size_t nhidden,
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

static const size_t hidden_54[2] = {5, 4};

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
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    ref_init(&r, net);
    set_random_params(net, &r, 11 + _i);
    compare_step(net, &r, 4, 21 + _i, 1, RTOL, ATOL);
    compare_step(net, &r, 3, 31 + _i, 1, RTOL, ATOL);
    ref_free(&r);
    mlp_net_destroy(net);
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
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    ref_init(&r, net);
    set_random_params(net, &r, 5);
    /* The weights' std 0.5 on 100 inputs saturates tanh: scale down. */
    for (size_t l = 0; l < r.L; l++) {
        size_t nw = r.lin[l] * r.lout[l];
        float *w = malloc(nw * sizeof(float)), *b = malloc(r.lout[l] * 4);

        ck_assert(w && b);
        for (size_t i = 0; i < nw; i++)
            w[i] = (float)(r.w[l][i] / 8);
        for (size_t i = 0; i < r.lout[l]; i++)
            b[i] = (float)r.b[l][i];
        ck_assert_int_eq(mlp_net_set_layer(net, l, w, b), 0);
        for (size_t i = 0; i < nw; i++)
            r.w[l][i] = w[i];
        free(w);
        free(b);
    }
    compare_step(net, &r, 20, 3, 0, RTOL, ATOL);
    ref_free(&r);
    mlp_net_destroy(net);
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
    ref_free(&r);
    mlp_net_destroy(net);
}
END_TEST

START_TEST(test_get_set_roundtrip)
{
    static const size_t hid[2] = {70, 33};
    mlp_net_spec_t s = make_spec(100, 10, 2, hid, MLP_ACT_RELU, _i);
    mlp_net_t *net;
    float *p, *g;
    size_t n;
    double ss = 0;

    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    for (size_t l = 0; l < mlp_net_nlayers(net); l++) {
        size_t in, out;
        float *w, *b, *w2, *b2;

        mlp_net_layer_shape(net, l, &in, &out);
        w = malloc(in * out * 4);
        w2 = malloc(in * out * 4);
        b = malloc(out * 4);
        b2 = malloc(out * 4);
        ck_assert(w && w2 && b && b2);
        fill_normal(w, in * out, 3, l, 1.0);
        fill_normal(b, out, 4, l, 1.0);
        ck_assert_int_eq(mlp_net_set_layer(net, l, w, b), 0);
        ck_assert_int_eq(mlp_net_get_layer(net, l, w2, b2), 0);
        ck_assert_mem_eq(w, w2, in * out * 4);
        ck_assert_mem_eq(b, b2, out * 4);
        ss += sumsq(w, in * out) + sumsq(b, out);
        free(w);
        free(w2);
        free(b);
        free(b2);
    }
    /* Padding stayed zero, the gradients untouched. */
    mlp_net_params(net, &p, &g, &n);
    ck_assert_double_eq_tol(sumsq(p, n), ss, 1e-6 * ss);
    ck_assert_double_eq(sumsq(g, n), 0.0);
    ck_assert_uint_eq(mlp_net_nparams(net), 100 * 70 + 70 + 70 * 33 + 33 +
                                                33 * 10 + 10);
    ck_assert_uint_ge(n, mlp_net_nparams(net));
    ck_assert_double_eq(mlp_net_macs_per_sample(net),
                        100 * 70 + 70 * 33 + 33 * 10);
    mlp_net_destroy(net);
}
END_TEST

/*
 * Layer l's weights into w (its biases, asserted all 0, into b), their
 * sample mean into *mean; returns their sample std and sets *nw.
 */
static double layer_std(mlp_net_t *net, size_t l, float *w, float *b,
                        size_t *nw, double *mean)
{
    size_t in, out;
    double m = 0, v = 0;

    mlp_net_layer_shape(net, l, &in, &out);
    *nw = in * out;
    ck_assert_int_eq(mlp_net_get_layer(net, l, w, b), 0);
    for (size_t i = 0; i < out; i++)
        ck_assert_float_eq(b[i], 0.0f);
    for (size_t i = 0; i < *nw; i++)
        m += w[i];
    m /= *nw;
    for (size_t i = 0; i < *nw; i++)
        v += (w[i] - m) * (w[i] - m);
    *mean = m;
    return sqrt(v / (*nw - 1));
}

START_TEST(test_init_statistics)
{
    static const size_t hid[1] = {512};
    mlp_net_spec_t s = make_spec(784, 256, 1, hid, MLP_ACT_RELU, _i);
    mlp_net_t *net;
    float *w = malloc(784 * 512 * 4), *w2 = malloc(784 * 512 * 4);
    float *b = malloc(512 * 4);
    float *p, *g;
    size_t n;
    double ss = 0;

    ck_assert(w && w2 && b);
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    ck_assert_int_eq(mlp_net_init(net, 42, 0.01f), 0);
    for (size_t l = 0; l < 2; l++) {
        size_t nw;
        double m, sd = layer_std(net, l, w, b, &nw, &m);

        /* nw >= 131072: the std's standard error is 0.01 / sqrt(2 nw),
         * < 0.2% of it; the mean's 0.01 / sqrt(nw) < 2.8e-5. */
        ck_assert_double_eq_tol(sd, 0.01, 0.01 * 0.01);
        ck_assert_double_eq_tol(m, 0.0, 1.5e-4);
        ss += sumsq(w, nw);
        if (l == 0)
            memcpy(w2, w, 16 * 4);
        else /* layers draw from different streams */
            ck_assert_mem_ne(w, w2, 16 * 4);
    }
    mlp_net_params(net, &p, &g, &n);
    ck_assert_double_eq_tol(sumsq(p, n), ss, 1e-6 * ss);

    /* Deterministic: the same seed gives the same weights. */
    ck_assert_int_eq(mlp_net_get_layer(net, 0, w, b), 0);
    ck_assert_int_eq(mlp_net_init(net, 42, 0.01f), 0);
    ck_assert_int_eq(mlp_net_get_layer(net, 0, w2, b), 0);
    ck_assert_mem_eq(w, w2, 784 * 512 * 4);
    ck_assert_int_eq(mlp_net_init(net, 43, 0.01f), 0);
    ck_assert_int_eq(mlp_net_get_layer(net, 0, w2, b), 0);
    ck_assert_mem_ne(w, w2, 784 * 512 * 4);
    mlp_net_destroy(net);
    free(w);
    free(w2);
    free(b);
}
END_TEST

/* Rows do not interact: batch 3 gives batch 32's first three rows. */
START_TEST(test_batch_sizes_agree)
{
    static const size_t hid[2] = {64, 40};
    mlp_net_spec_t s = make_spec(50, 10, 2, hid, MLP_ACT_SIGMOID, _i);
    mlp_net_t *net;
    float x[32 * 50], big[32 * 10];
    const float *logits;

    s.batch_sizes[0] = 3;
    s.batch_sizes[1] = 32;
    s.batch_sizes[2] = 3;
    s.nbatch_sizes = 3;
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    ck_assert_int_eq(mlp_net_init(net, 1, 0.3f), 0);
    fill_normal(x, 32 * 50, 2, 0, 1.0);
    ck_assert_int_eq(mlp_net_forward(net, x, 32, &logits), 0);
    memcpy(big, logits, sizeof(big));
    ck_assert_int_eq(mlp_net_forward(net, x, 3, &logits), 0);
    for (size_t i = 0; i < 3 * 10; i++)
        assert_close(logits[i], big[i], RTOL, ATOL, "batch 3 vs 32", 2, i);
    /* The logits are the net's, not a copy: a forward refreshes them. */
    ck_assert_int_eq(mlp_net_forward(net, x + 3 * 50, 3, &logits), 0);
    for (size_t i = 0; i < 3 * 10; i++)
        assert_close(logits[i], big[30 + i], RTOL, ATOL, "rows 3-5", 2, i);
    mlp_net_destroy(net);
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(mlp_act_name(MLP_ACT_RELU), "relu");
    ck_assert_str_eq(mlp_act_name(MLP_ACT_SIGMOID), "sigmoid");
    ck_assert_str_eq(mlp_act_name(MLP_ACT_TANH), "tanh");
    for (int a = 0; a < 3; a++)
        ck_assert_int_eq(mlp_act_parse(mlp_act_name((mlp_act_t)a)), a);
    ck_assert_int_eq(mlp_act_parse("gelu"), -1);
    ck_assert_int_eq(mlp_act_parse("RELU"), -1);
    ck_assert_int_eq(mlp_act_parse(""), -1);
    ck_assert_int_eq(mlp_act_parse(NULL), -1);
    ck_assert_str_eq(mlp_act_name((mlp_act_t)9), "unknown");
    ck_assert_int_eq(MLP_NACT, 3);
    {
        int f, b;

        /* The table's algorithms are oneDNN's: the post-op differs from
         * its use_dst backward; an unknown activation is refused. */
        for (int a = 0; a < MLP_NACT; a++) {
            ck_assert_int_eq(mlp_act_algs((mlp_act_t)a, &f, &b), 0);
            ck_assert_int_ne(f, b);
        }
        ck_assert_int_eq(mlp_act_algs(MLP_NACT, &f, &b), MLP_EINVAL);
    }
    ck_assert(strncmp(mlp_net_dnnl_version(), "2.", 2) == 0);
    ck_assert_str_ne(mlp_net_isa(), "");
    ck_assert_str_ne(mlp_net_isa(), "unknown");
}
END_TEST

START_TEST(test_spec_add_split_and_shape)
{
    mlp_net_spec_t spec;
    char buf[64];
    size_t hidden[2] = {256, 128};

    memset(&spec, 0, sizeof(spec));
    mlp_net_spec_add_split(&spec, 1000, 256); /* 256 and 232 */
    mlp_net_spec_add_split(&spec, 512, 256);  /* nothing new */
    mlp_net_spec_add_split(&spec, 10, 256);   /* 10 */
    mlp_net_spec_add_split(&spec, 10, 0);     /* nothing: no batches */
    ck_assert_uint_eq(spec.nbatch_sizes, 3);
    ck_assert_uint_eq(spec.batch_sizes[0], 256);
    ck_assert_uint_eq(spec.batch_sizes[1], 232);
    ck_assert_uint_eq(spec.batch_sizes[2], 10);
    /* A full list takes nothing more (the net refuses what is missing). */
    for (size_t n = 1; n <= 2 * MLP_MAX_BATCH_SIZES; n++)
        mlp_net_spec_add_split(&spec, n, 1000);
    ck_assert_uint_eq(spec.nbatch_sizes, MLP_MAX_BATCH_SIZES);

    ck_assert_str_eq(mlp_net_shape_str(buf, sizeof(buf), 784, hidden, 2, 10),
                     "784-256-128-10");
    ck_assert_str_eq(mlp_net_shape_str(buf, sizeof(buf), 784, NULL, 0, 10),
                     "784-10");
    ck_assert_str_eq(mlp_net_act_label(MLP_ACT_TANH, 2), "tanh");
    ck_assert_str_eq(mlp_net_act_label(MLP_ACT_TANH, 0), "linear");
    ck_assert_str_eq(mlp_net_shape_str(buf, 6, 784, hidden, 2, 10), "784-2");
}
END_TEST

static void expect_bad_spec(const mlp_net_spec_t *s, const char *what)
{
    mlp_net_t *net = (mlp_net_t *)&net; /* must come back NULL */

    mlp_error_clear();
    ck_assert_msg(mlp_net_create(s, &net) == MLP_EINVAL, "%s accepted", what);
    ck_assert_ptr_null(net);
    ck_assert_str_ne(mlp_error_message(), "");
}

START_TEST(test_bad_specs)
{
    mlp_net_spec_t good = make_spec(7, 3, 2, hidden_54, MLP_ACT_RELU, 0), s;

    s = good, s.in = 0;
    expect_bad_spec(&s, "in 0");
    s = good, s.out = 0;
    expect_bad_spec(&s, "out 0");
    s = good, s.nbatch_sizes = 0;
    expect_bad_spec(&s, "no batch sizes");
    s = good, s.nbatch_sizes = MLP_MAX_BATCH_SIZES + 1;
    expect_bad_spec(&s, "too many batch sizes");
    s = good, s.batch_sizes[1] = 0, s.nbatch_sizes = 2;
    expect_bad_spec(&s, "batch size 0");
    s = good, s.nhidden = MLP_MAX_HIDDEN + 1;
    expect_bad_spec(&s, "too many hidden layers");
    s = good, s.hidden[1] = 0;
    expect_bad_spec(&s, "hidden width 0");
    s = good, s.act = (mlp_act_t)3;
    expect_bad_spec(&s, "activation 3");
    s = good, s.threads = -1;
    expect_bad_spec(&s, "threads -1");
    expect_bad_spec(NULL, "NULL spec");
    mlp_net_destroy(NULL);
}
END_TEST

START_TEST(test_bad_calls)
{
    mlp_net_spec_t s = make_spec(7, 3, 2, hidden_54, MLP_ACT_RELU, _i);
    mlp_net_t *net;
    float x[8 * 7] = {0}, d[8 * 3] = {0}, w[35], b[5];
    const float *logits;

    s.batch_sizes[1] = 8;
    s.nbatch_sizes = 2;
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    ck_assert_int_eq(mlp_net_forward(net, x, 5, &logits), MLP_EINVAL);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "5"));
    ck_assert_int_eq(mlp_net_forward(net, x, 0, &logits), MLP_EINVAL);
    ck_assert_int_eq(mlp_net_forward(net, NULL, 4, &logits), MLP_EINVAL);
    /* Backward needs the forward of the same batch size. */
    ck_assert_int_eq(mlp_net_backward(net, d, 4), MLP_EINVAL);
    ck_assert_int_eq(mlp_net_forward(net, x, 8, &logits), 0);
    ck_assert_int_eq(mlp_net_backward(net, d, 4), MLP_EINVAL);
    ck_assert_int_eq(mlp_net_backward(net, d, 5), MLP_EINVAL);
    ck_assert_int_eq(mlp_net_backward(net, NULL, 8), MLP_EINVAL);
    ck_assert_int_eq(mlp_net_backward(net, d, 8), 0);
    ck_assert_int_eq(mlp_net_forward(net, x, 5, &logits), MLP_EINVAL);
    ck_assert_int_eq(mlp_net_backward(net, d, 8), MLP_EINVAL);

    ck_assert_int_eq(mlp_net_get_layer(net, 3, w, b), MLP_EINVAL);
    ck_assert_int_eq(mlp_net_set_layer(net, 3, w, b), MLP_EINVAL);
    ck_assert_int_eq(mlp_net_init(net, 1, -1.0f), MLP_EINVAL);
    ck_assert_int_eq(mlp_net_init(net, 1, NAN), MLP_EINVAL);
    mlp_net_destroy(net);
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
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    ref_init(&r, net);
    set_random_params(net, &r, 41 + _i);
    compare_step_key(net, &r, 4, 51 + _i, 1, RTOL, ATOL, &k1);
    compare_step_key(net, &r, 3, 61 + _i, 1, RTOL, ATOL, &k2);
    compare_step_key(net, &r, 4, 71 + _i, 1, RTOL, ATOL, &k2);
    compare_step(net, &r, 4, 81 + _i, 1, RTOL, ATOL);
    ref_free(&r);
    mlp_net_destroy(net);
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
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    ref_init(&r, net);
    set_random_params(net, &r, 5);
    for (size_t l = 0; l < r.L; l++) { /* unsaturate tanh: weights / 8 */
        size_t nw = r.lin[l] * r.lout[l];
        float *w = malloc(nw * sizeof(float)), *b = malloc(r.lout[l] * 4);

        ck_assert(w && b);
        for (size_t i = 0; i < nw; i++)
            w[i] = (float)(r.w[l][i] / 8);
        for (size_t i = 0; i < r.lout[l]; i++)
            b[i] = (float)r.b[l][i];
        ck_assert_int_eq(mlp_net_set_layer(net, l, w, b), 0);
        for (size_t i = 0; i < nw; i++)
            r.w[l][i] = w[i];
        free(w);
        free(b);
    }
    compare_step_key(net, &r, 20, 3, 0, RTOL, ATOL, &key);
    ref_free(&r);
    mlp_net_destroy(net);
}
END_TEST

/* Identity weights, zero biases: K -> K (relu) -> K. */
static void set_identity(mlp_net_t *net, size_t K)
{
    float *w = calloc(K * K, sizeof(float)), *b = calloc(K, sizeof(float));

    ck_assert(w && b);
    for (size_t i = 0; i < K; i++)
        w[i * K + i] = 1;
    for (size_t l = 0; l < mlp_net_nlayers(net); l++)
        ck_assert_int_eq(mlp_net_set_layer(net, l, w, b), 0);
    free(w);
    free(b);
}

/*
 * Through identity layers the logits are the input times the product of
 * the factors: each either 0 or x / (1 - p) (x / ((1 - p)(1 - q)) with both
 * sites), and the kept share is 1 - p within 5 binomial sd (N = 32768:
 * sd <= 0.0028).  The same key draws the same masks, another key others;
 * an evaluating forward keeps everything.  The memory estimate counts the
 * dropped copies and masks.
 */
START_TEST(test_dropout_share_and_scale)
{
    enum { K = 512, N = 64 };
    static const size_t hid[1] = {K};
    static const float ps[3][2] = {{0.3f, 0}, {0, 0.2f}, {0.5f, 0.25f}};
    float *x = malloc(N * K * sizeof(float)), *first = malloc(N * K * 4);
    mlp_net_spec_t s = make_spec(K, K, 1, hid, MLP_ACT_RELU, 0);
    mlp_net_mem_t m0, m1;
    const float *logits;

    ck_assert(x && first);
    for (size_t i = 0; i < N * K; i++)
        x[i] = 1.0f + (float)(i % 7);
    s.batch_sizes[0] = N;
    ck_assert_int_eq(mlp_net_estimate(&s, &m0), 0);
    for (int c = 0; c < 3; c++) {
        float p = ps[c][0], q = ps[c][1];
        double keep = (1.0 - p) * (1.0 - q), kept = 0;
        double sd = sqrt(keep * (1 - keep) / (N * K));
        double scale = (double)(1.0f / (1.0f - p)) * (1.0f / (1.0f - q));
        mlp_drop_key_t key = {9, 1, (uint64_t)c, 0}, other = {9, 2, (uint64_t)c, 0};
        mlp_net_t *net;
        size_t ndiff = 0;

        s.dropout = p;
        s.input_dropout = q;
        ck_assert_int_eq(mlp_net_create(&s, &net), 0);
        set_identity(net, K);
        ck_assert_int_eq(mlp_net_forward_train(net, x, N, &key, &logits), 0);
        for (size_t i = 0; i < N * K; i++) {
            if (logits[i] != 0) {
                kept++;
                assert_close(logits[i], x[i] * scale, 1e-6, 0, "kept", c, i);
            }
        }
        ck_assert_msg(fabs(kept / (N * K) - keep) <= 5 * sd,
                      "case %d: kept %g, want %g", c, kept / (N * K), keep);
        memcpy(first, logits, N * K * sizeof(float));
        ck_assert_int_eq(mlp_net_forward_train(net, x, N, &key, &logits), 0);
        ck_assert_mem_eq(first, logits, N * K * sizeof(float));
        ck_assert_int_eq(mlp_net_forward_train(net, x, N, &other, &logits),
                         0);
        for (size_t i = 0; i < N * K; i++)
            ndiff += (first[i] != 0) != (logits[i] != 0);
        ck_assert_uint_gt(ndiff, N * K / 10);
        ck_assert_int_eq(mlp_net_forward(net, x, N, &logits), 0);
        for (size_t i = 0; i < N * K; i++)
            ck_assert_float_eq(logits[i], x[i]);
        /* hd and its mask per hidden layer, the dropped input */
        mlp_net_mem(net, &m1);
        ck_assert_double_eq(m1.act - m0.act,
                            4.0 * N * K * ((p > 0 ? 2 : 0) + (q > 0)));
        mlp_net_destroy(net);
    }
    free(x);
    free(first);
}
END_TEST

/* The net's gradients, all layers, logical order, into g (nparams). */
static void all_grads(mlp_net_t *net, float *g)
{
    for (size_t l = 0; l < mlp_net_nlayers(net); l++) {
        size_t in, out;

        mlp_net_layer_shape(net, l, &in, &out);
        net_grads(net, l, g, g + in * out);
        g += (in + 1) * out;
    }
}

/*
 * Zero rates are no dropout, bit for bit: a training forward with a key on
 * a net without dropout equals the plain forward; and a net with dropout
 * evaluates (forward, and backward after it) exactly as the plain net.
 */
START_TEST(test_dropout_zero_is_plain)
{
    static const size_t hid[2] = {70, 33};
    mlp_net_spec_t s = make_spec(100, 10, 2, hid, MLP_ACT_RELU, _i);
    mlp_drop_key_t key = {1, 1, 0, 0};
    mlp_net_t *a, *b;
    float x[16 * 100], d[16 * 10], la[16 * 10];
    const float *logits;
    size_t np;
    float *ga, *gb;

    s.batch_sizes[0] = 16;
    ck_assert_int_eq(mlp_net_create(&s, &a), 0);
    s.dropout = 0.5f;
    s.input_dropout = 0.5f;
    ck_assert_int_eq(mlp_net_create(&s, &b), 0);
    ck_assert_int_eq(mlp_net_init(a, 3, 0.1f), 0);
    ck_assert_int_eq(mlp_net_init(b, 3, 0.1f), 0);
    np = mlp_net_nparams(a);
    ga = malloc(np * sizeof(float));
    gb = malloc(np * sizeof(float));
    ck_assert(ga && gb);
    fill_normal(x, 16 * 100, 4, 0, 1.0);
    fill_normal(d, 16 * 10, 5, 0, 0.1);

    ck_assert_int_eq(mlp_net_forward(a, x, 16, &logits), 0);
    memcpy(la, logits, sizeof(la));
    ck_assert_int_eq(mlp_net_backward(a, d, 16), 0);
    all_grads(a, ga);
    ck_assert_int_eq(mlp_net_forward_train(a, x, 16, &key, &logits), 0);
    ck_assert_mem_eq(la, logits, sizeof(la));
    ck_assert_int_eq(mlp_net_backward(a, d, 16), 0);
    all_grads(a, gb);
    ck_assert_mem_eq(ga, gb, np * sizeof(float));

    /* b drops when training (so the logits differ), not when evaluating */
    ck_assert_int_eq(mlp_net_forward_train(b, x, 16, &key, &logits), 0);
    ck_assert_mem_ne(la, logits, sizeof(la));
    ck_assert_int_eq(mlp_net_backward(b, d, 16), 0);
    ck_assert_int_eq(mlp_net_forward(b, x, 16, &logits), 0);
    ck_assert_mem_eq(la, logits, sizeof(la));
    ck_assert_int_eq(mlp_net_backward(b, d, 16), 0);
    all_grads(b, gb);
    ck_assert_mem_eq(ga, gb, np * sizeof(float));
    /* key NULL: the evaluating forward */
    ck_assert_int_eq(mlp_net_forward_train(b, x, 16, NULL, &logits), 0);
    ck_assert_mem_eq(la, logits, sizeof(la));
    free(ga);
    free(gb);
    mlp_net_destroy(a);
    mlp_net_destroy(b);
}
END_TEST

/*
 * Xavier and He: layer l's weights have std sqrt(2 / (in + out)) and
 * sqrt(2 / in) (784-256-10: 0.04385 and 0.05051 for layer 0, 0.08671 and
 * 0.08839 for layer 1), within 5 standard errors of a sample std (std /
 * sqrt(2 nw): 0.16% and 1.4%); they are normal's draws (std 1) scaled,
 * biases zero; normal is mlp_net_init bit for bit.
 */
START_TEST(test_init_kinds)
{
    static const size_t hid[1] = {256};
    mlp_net_spec_t s = make_spec(784, 10, 1, hid, MLP_ACT_RELU, _i);
    static const double want[2][2] = {{0.043852900965351, 0.050507627227611},
                                      {0.086710996952412, 0.088388347648318}};
    float *w = malloc(784 * 256 * 4), *w1 = malloc(784 * 256 * 4);
    float b[256], *p, *g, *p0;
    size_t n;
    mlp_net_t *net;

    ck_assert(w && w1);
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    for (int kind = 1; kind <= 2; kind++) {
        ck_assert_int_eq(mlp_net_init_as(net, 7, (mlp_init_t)kind, NAN), 0);
        for (size_t l = 0; l < 2; l++) {
            size_t nw;
            double m, sd = layer_std(net, l, w, b, &nw, &m);

            ck_assert_msg(fabs(sd - want[l][kind - 1]) <=
                              5 * want[l][kind - 1] / sqrt(2.0 * nw),
                          "kind %d layer %zu: std %g, want %g", kind, l, sd,
                          want[l][kind - 1]);
            ck_assert_int_eq(mlp_net_init(net, 7, 1.0f), 0);
            ck_assert_int_eq(mlp_net_get_layer(net, l, w1, b), 0);
            for (size_t i = 0; i < nw; i++)
                assert_close(w[i], w1[i] * want[l][kind - 1], 1e-6, 1e-30,
                             "scaled draw", l, i);
            ck_assert_int_eq(mlp_net_init_as(net, 7, (mlp_init_t)kind, 0),
                             0);
        }
    }
    mlp_net_params(net, &p, &g, &n);
    p0 = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(p0);
    ck_assert_int_eq(mlp_net_init(net, 11, 0.02f), 0);
    memcpy(p0, p, n * sizeof(float));
    ck_assert_int_eq(mlp_net_init_as(net, 11, MLP_INIT_NORMAL, 0.02f), 0);
    ck_assert_mem_eq(p0, p, n * sizeof(float));
    ck_assert_int_eq(mlp_net_init_as(net, 11, (mlp_init_t)3, 0.02f),
                     MLP_EINVAL);
    ck_assert_int_eq(mlp_net_init_as(net, 11, MLP_INIT_NORMAL, NAN),
                     MLP_EINVAL);
    free(p0);
    free(w);
    free(w1);
    mlp_net_destroy(net);
}
END_TEST

/* Rates outside [0, 1) are refused at create and estimate. */
START_TEST(test_bad_dropout)
{
    static const float bad[] = {1.0f, -0.1f, 1.5f, NAN};
    mlp_net_spec_t s = make_spec(7, 3, 2, hidden_54, MLP_ACT_RELU, 0);
    mlp_net_t *net = (mlp_net_t *)&s;
    mlp_net_mem_t m;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s.dropout = bad[i];
        s.input_dropout = 0;
        ck_assert_int_eq(mlp_net_create(&s, &net), MLP_EINVAL);
        ck_assert_ptr_null(net);
        ck_assert_int_eq(mlp_net_estimate(&s, &m), MLP_EINVAL);
        s.dropout = 0;
        s.input_dropout = bad[i];
        ck_assert_int_eq(mlp_net_create(&s, &net), MLP_EINVAL);
        ck_assert_ptr_nonnull(strstr(mlp_error_message(), "dropout"));
    }
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
    ref_free(&r);
    mlp_net_destroy(net);
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
    ref_free(&r);
    mlp_net_destroy(net);
}
END_TEST

/*
 * The bf16 copy of the weights holds each master weight in its place:
 * softmax regression (no activation rounded) with weights and inputs that
 * bf16 holds exactly gives f32's logits bit for bit, for the layouts
 * oneDNN picks at these shapes (VNNI pairs, padded) and plain oi; again
 * after every parameter is written through mlp_net_params and refreshed
 * in odd pieces (partial blocks), and in a replica, which shares the copy.
 */
START_TEST(test_bf16_copy_exact)
{
    static const size_t shapes[][3] = {{784, 256, 32}, {784, 10, 16},
                                       {100, 37, 33}, {50, 3, 7},
                                       {256, 10, 16}, {784, 256, 32}};
    size_t in = shapes[_i][0], out = shapes[_i][1], n = shapes[_i][2];
    mlp_net_spec_t s = make_spec(in, out, 0, NULL, MLP_ACT_RELU, _i == 5);
    float *w = malloc(in * out * sizeof(float)), *b = calloc(out, 4);
    float *x = malloc(n * in * sizeof(float)), *pf, *pb, *g;
    mlp_bf16_t *xh = malloc(n * in * sizeof(*xh));
    mlp_net_t *f, *h, *rep;
    const float *lf, *lh;
    size_t nf, nb;

    if (!tu_bf16_here("test_bf16_copy_exact"))
        return;
    ck_assert(w && b && x && xh);
    s.batch_sizes[0] = n;
    s.threads = 1;
    ck_assert_int_eq(mlp_net_create(&s, &f), 0);
    s.precision = MLP_PREC_BF16;
    ck_assert_int_eq(mlp_net_create(&s, &h), 0);
    for (size_t i = 0; i < in * out; i++) /* k / 64, |k| <= 8: exact */
        w[i] = (float)((int)((i * 7919) % 17) - 8) / 64.0f;
    for (size_t i = 0; i < out; i++)
        b[i] = (float)((int)(i % 5) - 2) / 8.0f;
    for (size_t i = 0; i < n * in; i++)
        x[i] = (float)((i * 31) % 16) / 16.0f;
    mlp_bf16_from_f32(xh, x, n * in);
    ck_assert_int_eq(mlp_net_set_layer(f, 0, w, b), 0);
    ck_assert_int_eq(mlp_net_set_layer(h, 0, w, b), 0);
    ck_assert_int_eq(mlp_net_forward(f, x, n, &lf), 0);
    ck_assert_int_eq(mlp_net_forward(h, xh, n, &lh), 0);
    ck_assert_mem_eq(lf, lh, n * out * sizeof(float));
    /* Negate every parameter in place: the copy is stale until told. */
    mlp_net_params(f, &pf, &g, &nf);
    mlp_net_params(h, &pb, &g, &nb);
    for (size_t i = 0; i < nf; i++)
        pf[i] = -pf[i];
    for (size_t i = 0; i < nb; i++)
        pb[i] = -pb[i];
    ck_assert_int_eq(mlp_net_forward(h, xh, n, &lh), 0);
    ck_assert_int_eq(mlp_net_forward(f, x, n, &lf), 0);
    ck_assert(memcmp(lf, lh, n * out * sizeof(float)) != 0);
    for (size_t lo = 0; lo < nb; lo += 777)
        mlp_net_params_changed(h, lo, lo + 777);
    ck_assert_int_eq(mlp_net_forward(h, xh, n, &lh), 0);
    ck_assert_mem_eq(lf, lh, n * out * sizeof(float));
    ck_assert_int_eq(mlp_net_create_replica(h, &rep), 0);
    ck_assert_int_eq(mlp_net_forward(rep, xh, n, &lh), 0);
    ck_assert_mem_eq(lf, lh, n * out * sizeof(float));
    mlp_net_destroy(rep);
    mlp_net_destroy(f);
    mlp_net_destroy(h);
    free(w);
    free(b);
    free(x);
    free(xh);
}
END_TEST

/*
 * What a bf16 net holds: the estimate is the net made (a copy of the
 * weights of half the parameters' bytes at most, none for f32; the same
 * activations at about half the bytes); a precision that is neither f32
 * nor bf16 is refused; the choice: f32 asked is f32 without a
 * calibration, bf16 asked is bf16, auto calibrates and says why.
 */
START_TEST(test_bf16_memory_and_choice)
{
    static const size_t hid[1] = {256};
    mlp_net_spec_t s = make_spec(784, 10, 1, hid, MLP_ACT_RELU, 0);
    mlp_net_mem_t mf, mh, made;
    mlp_precision_choice_t c;
    mlp_net_t *net;

    if (!tu_bf16_here("test_bf16_memory_and_choice"))
        return;
    s.batch_sizes[0] = 128;
    s.threads = 1;
    s.dropout = 0.2f;
    ck_assert_int_eq(mlp_net_estimate(&s, &mf), 0);
    ck_assert_double_eq(mf.wcopy, 0);
    s.precision = MLP_PREC_BF16;
    ck_assert_int_eq(mlp_net_estimate(&s, &mh), 0);
    ck_assert_int_eq(mlp_net_create(&s, &net), 0);
    mlp_net_mem(net, &made);
    ck_assert_double_eq(made.params, mh.params);
    ck_assert_double_eq(made.act, mh.act);
    ck_assert_double_eq(made.wcopy, mh.wcopy);
    ck_assert(mh.wcopy >= 2.0 * (784 * 256 + 256 * 10) &&
              mh.wcopy <= mh.params / 2 + 4096);
    ck_assert(mh.act < 0.75 * mf.act);
    mlp_net_destroy(net);
    s.precision = MLP_PREC_AUTO;
    expect_bad_spec(&s, "precision auto");
    s.precision = (mlp_precision_t)7;
    expect_bad_spec(&s, "precision 7");
    s.precision = MLP_PREC_F32;
    s.dropout = 0.0f;
    ck_assert_int_eq(mlp_net_choose_precision(&s, MLP_PREC_F32, 128, &c), 0);
    ck_assert_int_eq(c.used, MLP_PREC_F32);
    ck_assert_double_eq(c.seconds, 0);
    ck_assert_int_eq(mlp_net_choose_precision(&s, MLP_PREC_BF16, 128, &c), 0);
    ck_assert_int_eq(c.used, MLP_PREC_BF16);
    ck_assert_int_eq(mlp_net_choose_precision(&s, MLP_PREC_AUTO, 128, &c), 0);
    ck_assert(c.used == MLP_PREC_F32 || c.used == MLP_PREC_BF16);
    ck_assert(c.speedup > 0 && c.seconds > 0 && c.rows == 128);
    ck_assert_int_eq(c.used == MLP_PREC_BF16,
                     c.speedup >= MLP_BF16_MIN_SPEEDUP);
    ck_assert_ptr_nonnull(strstr(c.why, "calibration"));
    ck_assert_str_eq(mlp_precision_names[MLP_PREC_BF16], "bf16");
}
END_TEST

Suite *net_suite(void);
Suite *net_suite(void)
{
    Suite *s = suite_create("net");
    TCase *core = tcase_create("core");
    TCase *errors = tcase_create("errors");

    /* Primitive creation JIT-compiles; valgrind makes that slow. */
    tcase_set_timeout(core, 300);
    tcase_set_timeout(errors, 300);
    tcase_add_loop_test(core, test_small_matches_reference, 0, 12);
    tcase_add_loop_test(core, test_larger_matches_reference, 0, 2);
    tcase_add_loop_test(core, test_default_shape_matches_reference, 0, 2);
    tcase_add_loop_test(core, test_get_set_roundtrip, 0, 2);
    tcase_add_loop_test(core, test_init_statistics, 0, 2);
    tcase_add_loop_test(core, test_batch_sizes_agree, 0, 2);
    tcase_add_loop_test(core, test_dropout_matches_reference, 0, 6);
    tcase_add_loop_test(core, test_dropout_larger_matches_reference, 0, 2);
    tcase_add_test(core, test_dropout_share_and_scale);
    tcase_add_loop_test(core, test_dropout_zero_is_plain, 0, 2);
    tcase_add_loop_test(core, test_init_kinds, 0, 2);
    tcase_add_test(core, test_names);
    tcase_add_loop_test(core, test_bf16_matches_reference, 0, 18);
    tcase_add_loop_test(core, test_bf16_larger_matches_reference, 0, 3);
    tcase_add_loop_test(core, test_bf16_copy_exact, 0, 6);
    tcase_add_test(core, test_bf16_memory_and_choice);
    tcase_add_test(core, test_spec_add_split_and_shape);
    suite_add_tcase(s, core);
    tcase_add_test(errors, test_bad_specs);
    tcase_add_loop_test(errors, test_bad_calls, 0, 2);
    tcase_add_test(errors, test_bad_dropout);
    suite_add_tcase(s, errors);
    return s;
}

MLP_CHECK_MAIN(net_suite)
