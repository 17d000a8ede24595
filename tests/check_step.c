/*
 * Tests of step: one SGD step of micro-batches against the whole batch's
 * step computed by a plain net (to float tolerance); the same bits for 1,
 * 2 and 3 threads, for --accum's loader batches cut at the same
 * micro-batches, and in gemm mode at one thread; the evaluation's sums;
 * the micro-batch sizes a spec gets; the same in bf16 (its own bits, close
 * to f32's).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "testutil.h"
#include "mlptrain/bf16.h"
#include "mlptrain/error.h"
#include "mlptrain/faults.h"
#include "mlptrain/fold.h"
#include "mlptrain/loss.h"
#include "mlptrain/net.h"
#include "mlptrain/optim.h"
#include "mlptrain/rng.h"
#include "mlptrain/step.h"

#define IN 20
#define HID 16
#define OUT 5
#define N 50
#define MICRO 16
#define LR 0.5f

static float x[N * IN];
static mlp_bf16_t xh[N * IN];   /* x rounded, for bf16 nets */
static int32_t y[N];
static mlp_precision_t prec = MLP_PREC_F32; /* the stepper's nets */

static void make_batch(void)
{
    mlp_rng_t r;

    mlp_rng_seed(&r, 7, 0);
    for (size_t i = 0; i < N * IN; i++)
        x[i] = (float)mlp_rng_uniform(&r) * 2.0f - 1.0f;
    for (size_t i = 0; i < N; i++)
        y[i] = (int32_t)(mlp_rng_u64(&r) % OUT);
    mlp_bf16_from_f32(xh, x, N * IN);
}

/* Row `row` of the batch in the input type of prec. */
static const void *rows_at(size_t row)
{
    return prec == MLP_PREC_BF16 ? (const void *)(xh + row * IN)
                                 : (const void *)(x + row * IN);
}

static void spec_of(mlp_net_spec_t *spec, int threads)
{
    memset(spec, 0, sizeof(*spec));
    spec->in = IN;
    spec->out = OUT;
    spec->nhidden = 1;
    spec->hidden[0] = HID;
    spec->act = MLP_ACT_TANH;
    spec->threads = threads;
}

/* One step (SGD, LR) of the batch cut into loader batches cuts[] by the
 * stepper, its gradient clipped to a 2-norm of clip (0: none); the logical
 * parameters after it into w (HID*IN + HID + OUT*HID + OUT). */
static size_t micro = MICRO;
static float clip = 0.0f;
static size_t bucket = 0; /* the ranks' path's bucket (0: the default) */

static void stepper_step(mlp_par_t mode, int threads, const size_t *cuts,
                         size_t ncuts, float *w, double *eval_loss)
{
    mlp_net_spec_t spec;
    mlp_net_t *net;
    mlp_optim_t *opt;
    mlp_stepper_t *st;
    mlp_optim_opts_t oo = {.lr = LR};
    mlp_step_opts_t so = {.mode = mode, .threads = threads, .micro = micro,
                          .max_rows = N, .clip_norm = clip, .nranks = 1,
                          .accum = ncuts, .bucket = bucket};
    float *p, *g;
    size_t np, row = 0, correct = 0, ec = 0;
    double loss = 0.0;

    spec_of(&spec, 1);
    spec.precision = prec;
    for (size_t i = 0; i < ncuts; i++)
        ck_assert_int_eq(mlp_step_spec_sizes(&spec, cuts[i], cuts[i], micro),
                         0);
    ck_assert_int_eq(mlp_step_spec_sizes(&spec, N, N, micro), 0);
    ck_assert_int_eq(mlp_net_create(&spec, &net), 0);
    ck_assert_int_eq(mlp_net_init_as(net, 3, MLP_INIT_XAVIER, 0.0f), 0);
    mlp_net_params(net, &p, &g, &np);
    ck_assert_int_eq(mlp_optim_create(&oo, np, &opt), 0);
    ck_assert_int_eq(mlp_stepper_create(&so, net, opt, &st), 0);
    mlp_stepper_begin(st, N, NULL);
    for (size_t i = 0; i < ncuts; i++) {
        ck_assert_int_eq(mlp_stepper_add(st, rows_at(row), y + row, cuts[i],
                                         &loss, &correct), 0);
        row += cuts[i];
        if (i + 1 < ncuts)
            ck_assert_int_eq(mlp_stepper_fold(st), 0);
    }
    ck_assert_uint_eq(row, N);
    ck_assert_int_eq(mlp_stepper_apply(st, LR), 0);
    ck_assert_uint_eq(mlp_optim_steps(opt), 1);
    ck_assert(isfinite(loss) && loss > 0.0);
    *eval_loss = 0.0;
    ck_assert_int_eq(mlp_stepper_eval(st, rows_at(0), y, N, eval_loss, &ec),
                     0);
    ck_assert_int_eq(mlp_net_get_layer(net, 0, w, w + HID * IN), 0);
    ck_assert_int_eq(mlp_net_get_layer(net, 1, w + HID * IN + HID,
                                       w + HID * IN + HID + OUT * HID), 0);
    mlp_stepper_destroy(st);
    mlp_optim_destroy(opt);
    mlp_net_destroy(net);
}

#define NW (HID * IN + HID + OUT * HID + OUT)

/* The whole batch on one plain net: forward, mean loss, backward, SGD;
 * with clip > 0 the gradient scaled as PyTorch's clip_grad_norm_, in
 * double: by clip / (|g| + 1e-6) when below 1.  *norm (may be NULL) gets
 * |g|. */
static void reference_step_clip(float *w, double *eval_loss, double *norm)
{
    mlp_net_spec_t spec;
    mlp_net_t *net;
    const float *logits;
    float dl[N * OUT], *p, *g;
    size_t np, correct = 0;
    double loss = 0.0;

    spec_of(&spec, 1);
    spec.batch_sizes[0] = N;
    spec.nbatch_sizes = 1;
    ck_assert_int_eq(mlp_net_create(&spec, &net), 0);
    ck_assert_int_eq(mlp_net_init_as(net, 3, MLP_INIT_XAVIER, 0.0f), 0);
    ck_assert_int_eq(mlp_net_forward(net, x, N, &logits), 0);
    mlp_loss_softmax_xent(logits, y, N, OUT, dl, &loss, &correct);
    ck_assert_int_eq(mlp_net_backward(net, dl, N), 0);
    mlp_net_params(net, &p, &g, &np);
    {
        double sq = 0.0, coef = 1.0, c;

        for (size_t i = 0; i < np; i++)
            sq += (double)g[i] * (double)g[i];
        if (norm != NULL)
            *norm = sqrt(sq);
        c = (double)clip / (sqrt(sq) + 1e-6);
        if (clip > 0.0f && c < 1.0)
            coef = c;
        for (size_t i = 0; i < np; i++)
            p[i] = (float)((double)p[i] - (double)LR * (coef * g[i]));
    }
    ck_assert_int_eq(mlp_net_forward(net, x, N, &logits), 0);
    *eval_loss = 0.0;
    correct = 0;
    mlp_loss_softmax_xent(logits, y, N, OUT, NULL, eval_loss, &correct);
    ck_assert_int_eq(mlp_net_get_layer(net, 0, w, w + HID * IN), 0);
    ck_assert_int_eq(mlp_net_get_layer(net, 1, w + HID * IN + HID,
                                       w + HID * IN + HID + OUT * HID), 0);
    mlp_net_destroy(net);
}

static void reference_step(float *w, double *eval_loss)
{
    reference_step_clip(w, eval_loss, NULL);
}

/* The largest |a[i] - b[i]|, and into *maxb the largest |b[i]|. */
static float max_diff(const float *a, const float *b, float *maxb)
{
    float d = 0.0f, m = 0.0f;

    for (size_t i = 0; i < NW; i++) {
        d = fmaxf(d, fabsf(a[i] - b[i]));
        m = fmaxf(m, fabsf(b[i]));
    }
    *maxb = m;
    return d;
}

/* The step of `one` (eval loss e1) again through the ranks' path in one
 * process (mlp_fault_set_step_ranks: buckets of 64 floats, so the layers
 * are cut, the communication thread, reduce.h), on 1 and 2 threads,
 * whole and in two loader batches, and in gemm mode: the same bits. */
static void assert_same_ranks_path(const float *one, double e1)
{
    static const size_t whole[] = {N}, accum[] = {32, 18};
    static float w[NW];
    double e;

    mlp_fault_set_step_ranks(1);
    bucket = 64;
    for (int t = 1; t <= 2; t++) {
        stepper_step(MLP_PAR_BATCH, t, whole, 1, w, &e);
        ck_assert_msg(memcmp(w, one, sizeof(w)) == 0, "ranks' path, -t %d "
                      "differs", t);
        ck_assert(e == e1);
    }
    stepper_step(MLP_PAR_BATCH, 2, accum, 2, w, &e);
    ck_assert_msg(memcmp(w, one, sizeof(w)) == 0, "ranks' path, --accum "
                  "differs");
    bucket = 0;
    stepper_step(MLP_PAR_GEMM, 1, whole, 1, w, &e);
    ck_assert_msg(memcmp(w, one, sizeof(w)) == 0, "ranks' path, gemm "
                  "differs");
    mlp_fault_set_step_ranks(0);
}

/* The step of `one` (eval loss e1) again on 2 and 3 threads, for loader
 * batches cut at the micro-batches, and in gemm mode at one thread: the
 * same bits each time. */
static void assert_same_any_threads(const float *one, double e1)
{
    static const size_t whole[] = {N}, accum[] = {32, 18};
    static float w[NW];
    double e;

    for (int t = 2; t <= 3; t++) {
        stepper_step(MLP_PAR_BATCH, t, whole, 1, w, &e);
        ck_assert_mem_eq(w, one, sizeof(w));
        ck_assert(e == e1);
    }
    stepper_step(MLP_PAR_BATCH, 2, accum, 2, w, &e);
    ck_assert_mem_eq(w, one, sizeof(w));
    stepper_step(MLP_PAR_GEMM, 1, whole, 1, w, &e);
    ck_assert_mem_eq(w, one, sizeof(w));
    assert_same_ranks_path(one, e1);
}

START_TEST(test_step_matches_whole_batch)
{
    static float ref[NW], one[NW], w[NW];
    static const size_t whole[] = {N}, other[] = {25, 25};
    double eref, e1, e;
    float maxd, maxw;

    make_batch();
    reference_step(ref, &eref);
    stepper_step(MLP_PAR_BATCH, 1, whole, 1, one, &e1);
    maxd = max_diff(one, ref, &maxw);
    ck_assert_msg(maxd <= 1e-5f * maxw, "max diff %g of %g", (double)maxd,
                  (double)maxw);
    ck_assert_msg(fabs(e1 - eref) <= 1e-5 * eref, "eval %g vs %g", e1, eref);
    /* the same bits on any thread count, and for loader batches cut at
     * the micro-batches */
    assert_same_any_threads(one, e1);
    /* another partition (16, 9, 16, 9): close, but not the same sums */
    stepper_step(MLP_PAR_BATCH, 2, other, 2, w, &e);
    ck_assert(max_diff(w, ref, &maxw) <= 1e-5f * maxw);
}
END_TEST

/*
 * Micro-batches of 2 rows: 25 of them, computed in waves of 8 (1 and 2
 * threads) or 10 (5 threads), each wave folded before the next: the same
 * bits, and the whole batch's step to float tolerance.
 */
START_TEST(test_waves)
{
    static float ref[NW], one[NW], w[NW];
    static const size_t whole[] = {N}, cut[] = {18, 32};
    mlp_step_opts_t o = {.mode = MLP_PAR_BATCH, .threads = 1, .micro = 2,
                         .max_rows = N, .nranks = 1};
    double eref, e1, e;
    float maxd = 0.0f, maxw = 0.0f;

    /* a wave's 8 (10 on 5 threads) and the tree's nodes kept between
     * waves (floor(log2 25) + 1 = 5); one wave: its 4 alone */
    ck_assert(mlp_step_grad_buffers(&o) == 13);
    o.threads = 5;
    ck_assert(mlp_step_grad_buffers(&o) == 15);
    o.micro = 16;
    ck_assert(mlp_step_grad_buffers(&o) == 4);
    make_batch();
    reference_step(ref, &eref);
    micro = 2;
    stepper_step(MLP_PAR_BATCH, 1, whole, 1, one, &e1);
    for (size_t i = 0; i < NW; i++) {
        maxd = fmaxf(maxd, fabsf(one[i] - ref[i]));
        maxw = fmaxf(maxw, fabsf(ref[i]));
    }
    ck_assert_msg(maxd <= 1e-5f * maxw, "max diff %g of %g", (double)maxd,
                  (double)maxw);
    stepper_step(MLP_PAR_BATCH, 5, whole, 1, w, &e);
    ck_assert_mem_eq(w, one, sizeof(one));
    ck_assert(e == e1);
    stepper_step(MLP_PAR_BATCH, 2, cut, 2, w, &e);
    ck_assert_mem_eq(w, one, sizeof(one));
    micro = MICRO;
}
END_TEST

/*
 * bf16 (mixed precision): the step's parameters close to f32's (one SGD
 * step at LR 0.5 from the same weights: the gradients' relative error of
 * bf16 operands, about 2^-8), yet not the same bits (the products did run
 * in bf16); and within bf16 the same bits for 1, 2 and 3 threads, loader
 * batches cut at the micro-batches, gemm mode, and waves of micro-batches.
 */
START_TEST(test_bf16)
{
    static float f32[NW], one[NW], w[NW];
    static const size_t whole[] = {N};
    double ef, e1, e;
    float maxd, maxw;

    if (!tu_bf16_here("test_bf16"))
        return;
    make_batch();
    stepper_step(MLP_PAR_BATCH, 1, whole, 1, f32, &ef);
    prec = MLP_PREC_BF16;
    stepper_step(MLP_PAR_BATCH, 1, whole, 1, one, &e1);
    maxd = max_diff(one, f32, &maxw);
    ck_assert_msg(maxd <= 1e-2f * maxw, "max diff %g of %g", (double)maxd,
                  (double)maxw);
    ck_assert_msg(maxd > 0.0f, "bf16 gave f32's bits");
    ck_assert_msg(fabs(e1 - ef) <= 1e-2 * ef, "eval %g vs %g", e1, ef);
    assert_same_any_threads(one, e1);
    micro = 2;
    stepper_step(MLP_PAR_BATCH, 1, whole, 1, one, &e1);
    stepper_step(MLP_PAR_BATCH, 5, whole, 1, w, &e);
    ck_assert_mem_eq(w, one, sizeof(one));
    ck_assert(e == e1);
    micro = MICRO;
    prec = MLP_PREC_F32;
}
END_TEST

START_TEST(test_spec_sizes)
{
    mlp_net_spec_t spec;

    memset(&spec, 0, sizeof(spec));
    /* 1000 rows by 256: 3 x 256 + 232; micro 64: 64; 232 = 3 x 64 + 40 */
    ck_assert_int_eq(mlp_step_spec_sizes(&spec, 1000, 256, 64), 0);
    ck_assert_uint_eq(spec.nbatch_sizes, 2);
    ck_assert_uint_eq(spec.batch_sizes[0], 64);
    ck_assert_uint_eq(spec.batch_sizes[1], 40);
    /* a batch smaller than the micro-batch is one micro-batch */
    ck_assert_int_eq(mlp_step_spec_sizes(&spec, 30, 20, 64), 0);
    ck_assert_uint_eq(spec.nbatch_sizes, 4);
    ck_assert_uint_eq(spec.batch_sizes[2], 20);
    ck_assert_uint_eq(spec.batch_sizes[3], 10);
    ck_assert_uint_eq(mlp_step_default_micro(256), 128);
    ck_assert_uint_eq(mlp_step_default_micro(128), 128);
    ck_assert_uint_eq(mlp_step_default_micro(127), 127);
    ck_assert_uint_eq(mlp_step_default_micro(16), 16);
    /* auto: 784-256-10 (0.2M MACs) in micro-batches: batch mode; one
     * micro-batch a batch, or 784-1024-1024-10 (1.86M) at micro 256:
     * gemm */
    memset(&spec, 0, sizeof(spec));
    spec.in = 784;
    spec.out = 10;
    spec.nhidden = 1;
    spec.hidden[0] = 256;
    ck_assert_int_eq(mlp_step_auto_mode(&spec, 256, 64), MLP_PAR_BATCH);
    ck_assert_int_eq(mlp_step_auto_mode(&spec, 256, 256), MLP_PAR_GEMM);
    ck_assert_int_eq(mlp_step_auto_mode(&spec, 512, 256), MLP_PAR_BATCH);
    spec.nhidden = 2;
    spec.hidden[0] = spec.hidden[1] = 1024;
    ck_assert_int_eq(mlp_step_auto_mode(&spec, 512, 256), MLP_PAR_GEMM);
    ck_assert_int_eq(mlp_step_auto_mode(&spec, 512, 128), MLP_PAR_BATCH);
}
END_TEST

/* The rows a rank decodes and computes: contiguous blocks of whole
 * micro-batches in rank order, the lower ranks one more when they do not
 * divide evenly (the reference below is written out, not fold.c's). */
START_TEST(test_rank_rows)
{
    for (size_t n = 1; n <= 60; n++)
        for (size_t m = 1; m <= 12; m++)
            for (int R = 1; R <= 5; R++) {
                size_t nm = (n + m - 1) / m, next = 0;

                for (int r = 0; r < R; r++) {
                    size_t base = nm / (size_t)R, extra = nm % (size_t)R;
                    size_t cnt = base + ((size_t)r < extra);
                    size_t first = (size_t)r * base +
                                   ((size_t)r < extra ? (size_t)r : extra);
                    size_t hi = (first + cnt) * m < n ? (first + cnt) * m : n;
                    size_t want = cnt > 0 ? hi - first * m : 0, lo, rows;

                    mlp_fold_rank_rows(n, m, r, R, &lo, &rows);
                    ck_assert_uint_eq(rows, R == 1 ? n : want);
                    if (rows > 0) {
                        ck_assert_uint_eq(lo, next);
                        next = lo + rows;
                    }
                }
                ck_assert_uint_eq(next, n);
            }
}
END_TEST

START_TEST(test_bad_options)
{
    mlp_net_spec_t spec;
    mlp_net_t *net;
    mlp_optim_t *opt;
    mlp_stepper_t *st = (mlp_stepper_t *)1;
    mlp_optim_opts_t oo = {.lr = LR};
    mlp_step_opts_t so = {.mode = MLP_PAR_BATCH, .threads = 2, .micro = MICRO,
                          .max_rows = N, .nranks = 1};
    float *p, *g;
    size_t np;

    spec_of(&spec, 2);
    ck_assert_int_eq(mlp_step_spec_sizes(&spec, N, N, MICRO), 0);
    ck_assert_int_eq(mlp_net_create(&spec, &net), 0);
    mlp_net_params(net, &p, &g, &np);
    ck_assert_int_eq(mlp_optim_create(&oo, np, &opt), 0);
    /* batch mode needs a one-thread base net */
    ck_assert_int_eq(mlp_stepper_create(&so, net, opt, &st), MLP_EINVAL);
    ck_assert_ptr_null(st);
    so.micro = 0;
    so.mode = MLP_PAR_GEMM;
    ck_assert_int_eq(mlp_stepper_create(&so, net, opt, &st), MLP_EINVAL);
    mlp_stepper_destroy(NULL);
    mlp_optim_destroy(opt);
    mlp_net_destroy(net);
}
END_TEST

/*
 * --clip-grad: the clipped step against the double reference (to float
 * tolerance), with the clip below the gradient's norm (it scales) and
 * above it (the plain step, bit for bit); the same bits for 1, 2 and 3
 * threads, --accum's loader batches and gemm mode at one thread.
 */
START_TEST(test_clip_grad)
{
    static float ref[NW], one[NW], w[NW], plain[NW];
    static const size_t whole[] = {N}, accum[] = {32, 18};
    double e, norm, maxd = 0.0, maxw = 0.0;

    clip = 0.0f;
    reference_step_clip(ref, &e, &norm);
    stepper_step(MLP_PAR_BATCH, 1, whole, 1, plain, &e);
    ck_assert_double_gt(norm, 0.0);
    clip = (float)(norm / 3.0);
    reference_step_clip(ref, &e, NULL);
    stepper_step(MLP_PAR_BATCH, 1, whole, 1, one, &e);
    for (size_t i = 0; i < NW; i++) {
        double d = fabs((double)one[i] - (double)ref[i]);

        maxd = d > maxd ? d : maxd;
        maxw = fabs(ref[i]) > maxw ? fabs(ref[i]) : maxw;
    }
    ck_assert_msg(maxd <= 1e-5 * maxw, "clipped step off the reference by "
                  "%g (weights up to %g)", maxd, maxw);
    ck_assert(memcmp(one, plain, sizeof(one)) != 0); /* it clipped */
    for (int t = 2; t <= 3; t++) {
        stepper_step(MLP_PAR_BATCH, t, whole, 1, w, &e);
        ck_assert_msg(memcmp(w, one, sizeof(w)) == 0, "-t %d differs", t);
    }
    stepper_step(MLP_PAR_BATCH, 2, accum, 2, w, &e);
    ck_assert_msg(memcmp(w, one, sizeof(w)) == 0, "--accum differs");
    stepper_step(MLP_PAR_GEMM, 1, whole, 1, w, &e);
    ck_assert_msg(memcmp(w, one, sizeof(w)) == 0, "gemm mode differs");
    assert_same_ranks_path(one, e);
    /* a clip above the norm: the plain step */
    clip = (float)(norm * 2.0);
    stepper_step(MLP_PAR_BATCH, 2, whole, 1, w, &e);
    ck_assert_int_eq(memcmp(w, plain, sizeof(w)), 0);
    clip = 0.0f;
}
END_TEST

static Suite *step_suite(void)
{
    Suite *s = suite_create("step");
    TCase *tc = tu_tcase(s, "core", 120);

    tcase_add_test(tc, test_step_matches_whole_batch);
    tcase_add_test(tc, test_waves);
    tcase_add_test(tc, test_clip_grad);
    tcase_add_test(tc, test_bf16);
    tcase_add_test(tc, test_spec_sizes);
    tcase_add_test(tc, test_bad_options);
    tcase_add_test(tc, test_rank_rows);
    return s;
}
MLP_CHECK_MAIN(step_suite)
