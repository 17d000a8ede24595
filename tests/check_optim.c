/*
 * Tests of optim: one and two steps of SGD, momentum and weight decay
 * against hand-computed values; SGD with momentum, Nesterov, Adam and
 * AdamW over several steps at changing rates against PyTorch's rules
 * written out in double; the state layout, the step count and a restore;
 * option validation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/optim.h"
#include "testutil.h"

/* A few float roundings of O(1) values. */
#define TOL 1e-6

enum { N = 37 }; /* not a multiple of any vector width: the tail runs too */

static void fill(float *p, float *g)
{
    for (int i = 0; i < N; i++) {
        p[i] = 0.5f - 0.03f * (float)i;
        g[i] = (float)((i % 5) - 2) * 0.25f;
    }
}

START_TEST(test_sgd)
{
    mlp_optim_opts_t o = {.lr = 0.1f};
    mlp_optim_t *opt;
    float p[N], g[N], p0[N];
    size_t n = 1;

    fill(p, g);
    for (int i = 0; i < N; i++)
        p0[i] = p[i];
    ck_assert_int_eq(mlp_optim_create(&o, N, &opt), 0);
    ck_assert_ptr_null(mlp_optim_state(opt, &n));
    ck_assert_uint_eq(n, 0);
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq_tol(p[i], p0[i] - 0.1 * g[i], TOL);
    mlp_optim_destroy(opt);
}
END_TEST

/* The hand-worked SGD of one parameter: plain SGD at lr 0.5. */
static mlp_optim_t *sgd_one(void)
{
    mlp_optim_opts_t o = {.lr = 0.5f};
    mlp_optim_t *opt;

    ck_assert_int_eq(mlp_optim_create(&o, 1, &opt), 0);
    return opt;
}

START_TEST(test_sgd_hand)
{
    /* p = 1, g = 2, lr 0.5: p = 1 - 0.5 * 2 = 0; then p = 0 - 1 = -1. */
    mlp_optim_t *opt = sgd_one();
    float p[1] = {1.0f}, g[1] = {2.0f};

    mlp_optim_step(opt, p, g);
    ck_assert_double_eq_tol(p[0], 0.0, TOL);
    mlp_optim_step(opt, p, g);
    ck_assert_double_eq_tol(p[0], -1.0, TOL);
    mlp_optim_destroy(opt);
}
END_TEST

START_TEST(test_momentum)
{
    /*
     * PyTorch: v = m v + g; p -= lr v.  p = 1, g = 2, lr 0.1, m 0.9:
     * step 1: v = 2,           p = 1 - 0.2 = 0.8
     * step 2: v = 1.8 + 2 = 3.8, p = 0.8 - 0.38 = 0.42
     */
    mlp_optim_opts_t o = {.lr = 0.1f, .momentum = 0.9f};
    mlp_optim_t *opt;
    float p[N], g[N], *v;
    size_t n = 0;

    for (int i = 0; i < N; i++) {
        p[i] = 1.0f;
        g[i] = 2.0f;
    }
    ck_assert_int_eq(mlp_optim_create(&o, N, &opt), 0);
    v = mlp_optim_state(opt, &n);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(n, N);
    for (int i = 0; i < N; i++)
        ck_assert_float_eq(v[i], 0.0f);
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++) {
        ck_assert_double_eq_tol(v[i], 2.0, TOL);
        ck_assert_double_eq_tol(p[i], 0.8, TOL);
    }
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++) {
        ck_assert_double_eq_tol(v[i], 3.8, TOL);
        ck_assert_double_eq_tol(p[i], 0.42, TOL);
    }
    mlp_optim_destroy(opt);
}
END_TEST

START_TEST(test_weight_decay)
{
    /*
     * g' = g + wd p.  SGD: p = 2, g = 1, lr 0.1, wd 0.5: g' = 2, p = 1.8.
     * With momentum 0.5: step 1 as SGD (v = 2, p = 1.8); step 2:
     * g' = 1 + 0.9 = 1.9, v = 1 + 1.9 = 2.9, p = 1.8 - 0.29 = 1.51.
     */
    mlp_optim_opts_t o = {.lr = 0.1f, .weight_decay = 0.5f};
    mlp_optim_t *opt;
    float p[N], g[N];

    for (int i = 0; i < N; i++) {
        p[i] = 2.0f;
        g[i] = 1.0f;
    }
    ck_assert_int_eq(mlp_optim_create(&o, N, &opt), 0);
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq_tol(p[i], 1.8, TOL);
    mlp_optim_destroy(opt);

    o.momentum = 0.5f;
    for (int i = 0; i < N; i++)
        p[i] = 2.0f;
    ck_assert_int_eq(mlp_optim_create(&o, N, &opt), 0);
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq_tol(p[i], 1.8, TOL);
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++)
        ck_assert_double_eq_tol(p[i], 1.51, TOL);
    mlp_optim_destroy(opt);
}
END_TEST

START_TEST(test_zero_stays_zero)
{
    /* Padding: zero parameters with zero gradients stay zero. */
    mlp_optim_opts_t o = {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-4f};
    mlp_optim_t *opt;
    float p[N] = {0}, g[N] = {0};

    ck_assert_int_eq(mlp_optim_create(&o, N, &opt), 0);
    for (int k = 0; k < 3; k++)
        mlp_optim_step(opt, p, g);
    for (int i = 0; i < N; i++)
        ck_assert_float_eq(p[i], 0.0f);
    mlp_optim_destroy(opt);
}
END_TEST

START_TEST(test_large_block)
{
    /* Large enough for the threaded path; odd so that chunks have tails. */
    enum { BIG = 100003 };
    mlp_optim_opts_t o = {.lr = 0.05f, .momentum = 0.8f,
                          .weight_decay = 0.01f};
    mlp_optim_t *opt;
    float *p = malloc(BIG * sizeof(float)), *g = malloc(BIG * sizeof(float));

    ck_assert(p && g);
    for (int i = 0; i < BIG; i++) {
        p[i] = (float)((i % 17) - 8) / 8;
        g[i] = (float)((i % 11) - 5) / 10;
    }
    ck_assert_int_eq(mlp_optim_create(&o, BIG, &opt), 0);
    mlp_optim_step(opt, p, g);
    mlp_optim_step(opt, p, g);
    for (int i = 0; i < BIG; i++) {
        double p0 = (double)((i % 17) - 8) / 8;
        double gi = (double)((i % 11) - 5) / 10;
        double v = gi + 0.01 * p0, p1 = p0 - 0.05 * v;

        v = 0.8 * v + gi + 0.01 * p1;
        ck_assert_double_eq_tol(p[i], p1 - 0.05 * v, TOL);
    }
    mlp_optim_destroy(opt);
    free(p);
    free(g);
}
END_TEST

static void expect_einval(float lr, float m, float wd, size_t n)
{
    mlp_optim_opts_t o = {.lr = lr, .momentum = m, .weight_decay = wd};
    mlp_optim_t *opt = (mlp_optim_t *)&o; /* must be reset to NULL */

    mlp_error_clear();
    ck_assert_int_eq(mlp_optim_create(&o, n, &opt), MLP_EINVAL);
    ck_assert_ptr_null(opt);
    ck_assert_str_ne(mlp_error_message(), "");
}

START_TEST(test_bad_options)
{
    expect_einval(0.0f, 0, 0, N);
    expect_einval(-0.1f, 0, 0, N);
    expect_einval(NAN, 0, 0, N);
    expect_einval(INFINITY, 0, 0, N);
    expect_einval(0.1f, -0.1f, 0, N);
    expect_einval(0.1f, 1.0f, 0, N);
    expect_einval(0.1f, NAN, 0, N);
    expect_einval(0.1f, 0, -1e-4f, N);
    expect_einval(0.1f, 0, NAN, N);
    expect_einval(0.1f, 0, INFINITY, N);
    expect_einval(0.1f, 0, 0, 0);
    ck_assert_int_eq(mlp_optim_create(NULL, N, NULL), MLP_EINVAL);
    mlp_optim_destroy(NULL);
}
END_TEST

/* ---- every rule over several steps against PyTorch's, in double ---- */

enum { STEPS = 6 };

/* The gradient of value i at step k (0-based): varied signs, away from
 * the smallest floats. */
static float grad_at(size_t i, int k)
{
    return (float)(0.5 * sin(0.7 * (double)i + 1.3 * k) +
                   0.2 * cos(0.3 * (double)i));
}

static float param0(size_t i)
{
    return (float)(1.0 + 0.25 * sin((double)i));
}

/* The rate of step k: changes every step, as a schedule would. */
static float lr_at(float lr, int k)
{
    return lr * (float)(STEPS - k) / STEPS;
}

/*
 * PyTorch's torch.optim.SGD / Adam / AdamW step, written out in double
 * (torch/optim/sgd.py, adam.py, adamw.py, single-tensor path): p, s1 (SGD
 * velocity or Adam's exp_avg), s2 (exp_avg_sq) updated in place for
 * step t = k + 1.
 */
static void reference_step(const mlp_optim_opts_t *o, double lr, int k,
                           size_t n, double *p, double *s1, double *s2)
{
    double wd = o->weight_decay, mom = o->momentum;
    double b1 = o->beta1, b2 = o->beta2, eps = o->eps;
    int t = k + 1;

    for (size_t i = 0; i < n; i++) {
        double g = grad_at(i, k);

        if (o->kind == MLP_OPTIM_SGD) {
            g = g + wd * p[i];
            if (mom > 0) {
                s1[i] = k == 0 ? g : mom * s1[i] + g; /* buf = clone(g) */
                g = o->nesterov ? g + mom * s1[i] : s1[i];
            }
            p[i] = p[i] - lr * g;
            continue;
        }
        if (o->kind == MLP_OPTIM_ADAMW)
            p[i] = p[i] * (1 - lr * wd);
        else
            g = g + wd * p[i];
        s1[i] = b1 * s1[i] + (1 - b1) * g;
        s2[i] = b2 * s2[i] + (1 - b2) * g * g;
        {
            double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
            double denom = sqrt(s2[i]) / sqrt(bc2) + eps;

            p[i] = p[i] - lr / bc1 * (s1[i] / denom);
        }
    }
}

/* |got - want| <= 1e-6 * scale, scale = |want| or an array's largest. */
static void expect_close(const float *got, const double *want, size_t n,
                         int per_value, const char *what)
{
    double scale = 0;

    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    /* One assertion per array: Check marks every assertion passed, by a
     * write to a pipe, too slow for 100000 values. */
    for (size_t i = 0; i < n; i++) {
        double s = per_value ? fabs(want[i]) : scale;

        if (!(fabs((double)got[i] - want[i]) <= 1e-6 * s))
            ck_abort_msg("%s[%zu] = %.9g, reference %.9g", what, i,
                         (double)got[i], want[i]);
    }
}

/* STEPS steps of o over n values at the rates lr_at(o->lr, k), each
 * checked against the reference: parameters, state block and count. */
static void check_rule(mlp_optim_opts_t o, size_t n)
{
    mlp_optim_t *opt;
    float *p = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
    double *rp = malloc(n * sizeof(double));
    double *r1 = calloc(n, sizeof(double)), *r2 = calloc(n, sizeof(double));
    int adam = o.kind != MLP_OPTIM_SGD;
    size_t ns = 1;
    float *st;

    ck_assert(p && g && rp && r1 && r2);
    for (size_t i = 0; i < n; i++)
        rp[i] = p[i] = param0(i);
    ck_assert_int_eq(mlp_optim_create(&o, n, &opt), 0);
    st = mlp_optim_state(opt, &ns);
    ck_assert_ptr_nonnull(st);
    ck_assert_uint_eq(ns, adam ? 2 * n : n);
    for (int k = 0; k < STEPS; k++) {
        float lr = lr_at(o.lr, k);

        for (size_t i = 0; i < n; i++)
            g[i] = grad_at(i, k);
        ck_assert_uint_eq(mlp_optim_steps(opt), (uint64_t)k);
        ck_assert_int_eq(mlp_optim_set_lr(opt, lr), 0);
        mlp_optim_step(opt, p, g);
        reference_step(&o, lr, k, n, rp, r1, r2);
        expect_close(p, rp, n, 1, "p");
        expect_close(st, r1, n, 0, adam ? "m" : "v");
        if (adam)
            expect_close(st + n, r2, n, 0, "v");
    }
    ck_assert_uint_eq(mlp_optim_steps(opt), STEPS);
    mlp_optim_destroy(opt);
    free(p);
    free(g);
    free(rp);
    free(r1);
    free(r2);
}

START_TEST(test_rules_reference)
{
    mlp_optim_opts_t mom = {.lr = 0.1f, .momentum = 0.9f,
                            .weight_decay = 1e-3f};
    mlp_optim_opts_t adam = {.lr = 0.01f, .kind = MLP_OPTIM_ADAM,
                             .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};

    check_rule(mom, N);
    mom.nesterov = 1;
    check_rule(mom, N);
    mom.momentum = 0.5f;
    mom.weight_decay = 0;
    check_rule(mom, N);
    check_rule(adam, N);
    adam.weight_decay = 0.05f; /* L2 */
    check_rule(adam, N);
    adam.kind = MLP_OPTIM_ADAMW;
    adam.weight_decay = 0.01f; /* PyTorch's AdamW default */
    check_rule(adam, N);
    adam.weight_decay = 0.5f;
    adam.beta1 = 0.8f;
    adam.beta2 = 0.99f;
    adam.eps = 1e-3f; /* eps large enough to matter */
    check_rule(adam, N);
}
END_TEST

START_TEST(test_rules_threaded)
{
    /* The threaded path, odd size: chunk tails. */
    mlp_optim_opts_t nest = {.lr = 0.05f, .momentum = 0.8f,
                             .weight_decay = 0.01f, .nesterov = 1};
    mlp_optim_opts_t adamw = {.lr = 0.003f, .kind = MLP_OPTIM_ADAMW,
                              .weight_decay = 0.01f, .beta1 = 0.9f,
                              .beta2 = 0.999f, .eps = 1e-8f};

    check_rule(nest, 100003);
    check_rule(adamw, 100003);
}
END_TEST

/*
 * The step in pieces (mlp_optim_begin, then mlp_optim_step_range over
 * ranges of odd sizes, out of order, the last past the end) gives the
 * bits of mlp_optim_step, for every rule, over three steps.
 */
START_TEST(test_step_range_same_bits)
{
    static const mlp_optim_opts_t rules[] = {
        {.lr = 0.1f, .weight_decay = 0.01f},
        {.lr = 0.05f, .momentum = 0.9f, .weight_decay = 0.001f},
        {.lr = 0.05f, .momentum = 0.8f, .nesterov = 1},
        {.lr = 0.003f, .kind = MLP_OPTIM_ADAM, .weight_decay = 0.01f,
         .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
        {.lr = 0.003f, .kind = MLP_OPTIM_ADAMW, .weight_decay = 0.01f,
         .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
    };
    enum { M = 40001 };
    static float pa[M], pb[M], g[M];
    /* cut points: [0, 7), [7, 16391), ... in the order listed */
    static const size_t cuts[][2] = {
        {16391, 30000}, {0, 7}, {30000, 50000}, {7, 16391}};

    for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
        mlp_optim_t *a, *b;

        for (size_t i = 0; i < M; i++) {
            pa[i] = pb[i] = 0.5f - 1e-5f * (float)i;
            g[i] = (float)((int)(i % 7) - 3) * 0.1f;
        }
        ck_assert_int_eq(mlp_optim_create(&rules[r], M, &a), 0);
        ck_assert_int_eq(mlp_optim_create(&rules[r], M, &b), 0);
        for (int k = 0; k < 3; k++) {
            mlp_optim_step(a, pa, g);
            mlp_optim_begin(b);
            for (size_t c = 0; c < 4; c++)
                mlp_optim_step_range(b, pb, g, cuts[c][0], cuts[c][1]);
        }
        ck_assert_uint_eq(mlp_optim_steps(b), 3);
        ck_assert_mem_eq(pa, pb, sizeof(pa));
        mlp_optim_destroy(a);
        mlp_optim_destroy(b);
    }
}
END_TEST

START_TEST(test_adam_hand)
{
    /*
     * Adam's first step moves every parameter by lr sign(g) (up to eps):
     * m = (1 - b1) g, v = (1 - b2) g^2, m / (1 - b1) = g,
     * sqrt(v / (1 - b2)) = |g|.  p = 1, g = 4, lr 0.01: p = 0.99;
     * g = -0.5: p = 1.01.  AdamW with wd 0.1 first scales p by
     * 1 - 0.001: 0.999 - 0.01 = 0.989.
     */
    mlp_optim_opts_t o = {.lr = 0.01f, .kind = MLP_OPTIM_ADAM,
                          .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    mlp_optim_t *opt;
    float p[2] = {1, 1}, g[2] = {4, -0.5f};

    ck_assert_int_eq(mlp_optim_create(&o, 2, &opt), 0);
    mlp_optim_step(opt, p, g);
    ck_assert_double_eq_tol(p[0], 0.99, 1e-6);
    ck_assert_double_eq_tol(p[1], 1.01, 1e-6);
    mlp_optim_destroy(opt);
    o.kind = MLP_OPTIM_ADAMW;
    o.weight_decay = 0.1f;
    p[0] = 1;
    ck_assert_int_eq(mlp_optim_create(&o, 2, &opt), 0);
    mlp_optim_step(opt, p, g);
    ck_assert_double_eq_tol(p[0], 0.989, 1e-6);
    mlp_optim_destroy(opt);
}
END_TEST

START_TEST(test_state_restore)
{
    /*
     * A second optimizer given the first's state block and step count
     * continues bit for bit (what a checkpoint does); with another count
     * the bias corrections differ and so does the step.
     */
    mlp_optim_opts_t o = {.lr = 0.01f, .kind = MLP_OPTIM_ADAM,
                          .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    mlp_optim_t *a, *b, *c;
    float pa[N], pb[N], pc[N], g[N], *sa, *sb, *sc;
    size_t na, nb, nc;

    for (size_t i = 0; i < N; i++)
        pa[i] = param0(i);
    ck_assert_int_eq(mlp_optim_create(&o, N, &a), 0);
    ck_assert_int_eq(mlp_optim_create(&o, N, &b), 0);
    ck_assert_int_eq(mlp_optim_create(&o, N, &c), 0);
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < N; i++)
            g[i] = grad_at(i, k);
        mlp_optim_step(a, pa, g);
    }
    sa = mlp_optim_state(a, &na);
    sb = mlp_optim_state(b, &nb);
    sc = mlp_optim_state(c, &nc);
    ck_assert_uint_eq(na, 2 * N);
    ck_assert_uint_eq(nb, na);
    memcpy(sb, sa, na * sizeof(float));
    memcpy(sc, sa, na * sizeof(float));
    memcpy(pb, pa, sizeof(pa));
    memcpy(pc, pa, sizeof(pa));
    mlp_optim_set_steps(b, mlp_optim_steps(a));
    ck_assert_uint_eq(mlp_optim_steps(b), 3);
    for (size_t i = 0; i < N; i++)
        g[i] = grad_at(i, 3);
    mlp_optim_step(a, pa, g);
    mlp_optim_step(b, pb, g);
    mlp_optim_step(c, pc, g); /* t = 1: another step */
    ck_assert_mem_eq(pa, pb, sizeof(pa));
    ck_assert_mem_eq(sa, sb, na * sizeof(float));
    ck_assert(memcmp(pa, pc, sizeof(pa)) != 0);
    ck_assert_uint_eq(mlp_optim_steps(b), 4);
    mlp_optim_destroy(a);
    mlp_optim_destroy(b);
    mlp_optim_destroy(c);
}
END_TEST

START_TEST(test_set_lr)
{
    /* A rate of 0 (a schedule's end) leaves SGD's parameters; a negative
     * or non-finite one is refused and the rate kept. */
    mlp_optim_t *opt = sgd_one();
    float p[1] = {1.0f}, g[1] = {2.0f};

    ck_assert_int_eq(mlp_optim_set_lr(opt, 0.0f), 0);
    mlp_optim_step(opt, p, g);
    ck_assert_float_eq(p[0], 1.0f);
    ck_assert_int_eq(mlp_optim_set_lr(opt, 0.25f), 0);
    ck_assert_int_eq(mlp_optim_set_lr(opt, -0.1f), MLP_EINVAL);
    ck_assert_int_eq(mlp_optim_set_lr(opt, NAN), MLP_EINVAL);
    ck_assert_int_eq(mlp_optim_set_lr(opt, INFINITY), MLP_EINVAL);
    mlp_optim_step(opt, p, g); /* at 0.25: 1 - 0.5 */
    ck_assert_double_eq_tol(p[0], 0.5, TOL);
    ck_assert_uint_eq(mlp_optim_steps(opt), 2);
    mlp_optim_destroy(opt);
}
END_TEST

static void expect_einval_opts(mlp_optim_opts_t o)
{
    mlp_optim_t *opt = (mlp_optim_t *)&o; /* must be reset to NULL */

    mlp_error_clear();
    ck_assert_int_eq(mlp_optim_create(&o, N, &opt), MLP_EINVAL);
    ck_assert_ptr_null(opt);
    ck_assert_str_ne(mlp_error_message(), "");
}

START_TEST(test_bad_kinds)
{
    mlp_optim_opts_t adam = {.lr = 0.01f, .kind = MLP_OPTIM_ADAM,
                             .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    mlp_optim_opts_t o;

    o = (mlp_optim_opts_t){.lr = 0.1f, .nesterov = 1}; /* no momentum */
    expect_einval_opts(o);
    o = adam;
    o.momentum = 0.9f;
    expect_einval_opts(o);
    o = adam;
    o.nesterov = 1;
    expect_einval_opts(o);
    o = adam;
    o.beta1 = 1.0f;
    expect_einval_opts(o);
    o = adam;
    o.beta2 = -0.1f;
    expect_einval_opts(o);
    o = adam;
    o.kind = MLP_OPTIM_ADAMW;
    o.beta2 = NAN;
    expect_einval_opts(o);
    o = adam;
    o.eps = 0;
    expect_einval_opts(o);
    o = adam;
    o.eps = INFINITY;
    expect_einval_opts(o);
    o = adam;
    o.kind = (mlp_optim_kind_t)7;
    expect_einval_opts(o);
}
END_TEST

Suite *optim_suite(void);
Suite *optim_suite(void)
{
    Suite *s = suite_create("optim");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_sgd);
    tcase_add_test(core, test_sgd_hand);
    tcase_add_test(core, test_momentum);
    tcase_add_test(core, test_weight_decay);
    tcase_add_test(core, test_zero_stays_zero);
    tcase_add_test(core, test_large_block);
    tcase_add_test(core, test_rules_reference);
    tcase_add_test(core, test_rules_threaded);
    tcase_add_test(core, test_step_range_same_bits);
    tcase_add_test(core, test_adam_hand);
    tcase_add_test(core, test_state_restore);
    tcase_add_test(core, test_set_lr);
    tcase_add_test(errors, test_bad_options);
    tcase_add_test(errors, test_bad_kinds);
    return s;
}

MLP_CHECK_MAIN(optim_suite)
