/*
 * Tests of net: parameters in and out (logical layouts, blocked or plain),
 * initialisation, names and specs, dropout's masks and scaling, bf16's
 * copy of the weights and the precision choice, and the errors.  The
 * comparisons with a double-precision reference are check_net_reference.c.
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
    ck_assert_msg_has("5");
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
        ck_assert_msg_has("dropout");
    }
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
    /* Primitive creation JIT-compiles; valgrind makes that slow. */
    TCase *core = tu_tcase(s, "core", 300);
    TCase *errors = tu_tcase(s, "errors", 300);

    tcase_add_loop_test(core, test_get_set_roundtrip, 0, 2);
    tcase_add_loop_test(core, test_init_statistics, 0, 2);
    tcase_add_loop_test(core, test_batch_sizes_agree, 0, 2);
    tcase_add_test(core, test_dropout_share_and_scale);
    tcase_add_loop_test(core, test_dropout_zero_is_plain, 0, 2);
    tcase_add_loop_test(core, test_init_kinds, 0, 2);
    tcase_add_test(core, test_names);
    tcase_add_loop_test(core, test_bf16_copy_exact, 0, 6);
    tcase_add_test(core, test_bf16_memory_and_choice);
    tcase_add_test(core, test_spec_add_split_and_shape);
    tcase_add_test(errors, test_bad_specs);
    tcase_add_loop_test(errors, test_bad_calls, 0, 2);
    tcase_add_test(errors, test_bad_dropout);
    return s;
}

MLP_CHECK_MAIN(net_suite)
