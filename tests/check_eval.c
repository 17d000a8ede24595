/*
 * Tests of eval: loss, accuracy, confusion matrix, per-class figures and
 * predictions of a small net with known weights against a plain C double
 * reference computed here; the same figures for any batch size; class
 * names by the rule; model/data fit.  The eval and predict commands on a
 * saved model are check_eval_commands.c's.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "mlptrain/error.h"
#include "mlptrain/commands.h"
#include "mlptrain/eval.h"
#include "mlptrain/rng.h"
#include "testutil.h"
#include "eval_fixture.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* Mean loss of the float32 net against the double reference: sums of a
 * dozen O(1) products rounded to float (eps 6e-8) and a vectorised tanh
 * accurate to a few ulp: 1e-5 relative leaves a wide margin, while a
 * wrong decode (p instead of p / 255) or a missing row moves it by 1e-2. */
#define LOSS_RTOL 1e-5

START_TEST(test_figures_match_reference)
{
    static const size_t batches[] = {8, N, 1};
    fixture_t f;
    ref_t ref;
    mlp_net_t *net;

    make_fixture(&f, 7 + (uint64_t)_i);
    reference(&f, &ref);
    /* Far from ties: float rounding cannot change an argmax. */
    ck_assert_double_gt(ref.min_gap, 1e-3);
    net = make_net(&f, batches, 3);
    for (size_t bi = 0; bi < 3; bi++) {
        mlp_eval_result_t res;
        size_t total = 0;

        ck_assert_int_eq(mlp_eval_split(net, &f.split, batches[bi], &res), 0);
        ck_assert_uint_eq(res.n, N);
        ck_assert_uint_eq(res.nclasses, C);
        ck_assert_uint_eq(res.correct, ref.correct);
        ck_assert_double_eq_tol(res.acc, (double)ref.correct / N, 1e-12);
        ck_assert_double_eq_tol(res.loss, ref.loss, LOSS_RTOL * ref.loss);
        for (size_t i = 0; i < C * C; i++)
            ck_assert_uint_eq(res.confusion[i], ref.confusion[i]);
        for (size_t k = 0; k < C; k++) {
            size_t want_total = 0;

            for (size_t s = 0; s < N; s++)
                want_total += f.labels[s] == k;
            ck_assert_uint_eq(mlp_eval_class_total(&res, k), want_total);
            ck_assert_uint_eq(mlp_eval_class_correct(&res, k),
                              ref.confusion[k * C + k]);
            total += mlp_eval_class_correct(&res, k);
        }
        ck_assert_uint_eq(total, res.correct);
        mlp_eval_result_free(&res);
        ck_assert_ptr_null(res.confusion);
    }
    mlp_net_destroy(net);
}
END_TEST

/*
 * Precision, recall and F1 of a confusion matrix worked out by hand, with a
 * class never labelled (2), one never predicted (3) and one absent from
 * both (4, left out of the macro means):
 *
 *   true\pred  0  1  2  3  4   labelled
 *   0          5  1  0  0  0   6
 *   1          2  3  1  0  0   6
 *   2          0  0  0  0  0   0
 *   3          1  0  0  0  0   1
 *   4          0  0  0  0  0   0
 *   predicted  8  4  1  0  0
 *
 * 0: P 5/8, R 5/6, F1 2*5/(8+6) = 5/7;  1: P 3/4, R 3/6, F1 6/(4+6) = 3/5;
 * 2: P 0/1, R 0/0 := 0, F1 0;  3: P 0/0 := 0, R 0/1, F1 0;  4: all 0/0.
 * Macro over classes 0-3: P (5/8 + 3/4) / 4 = 11/32, R (5/6 + 1/2) / 4 =
 * 1/3, F1 (5/7 + 3/5) / 4 = 23/70.
 */
START_TEST(test_prf_by_hand)
{
    static const size_t m[25] = {
        5, 1, 0, 0, 0,
        2, 3, 1, 0, 0,
        0, 0, 0, 0, 0,
        1, 0, 0, 0, 0,
        0, 0, 0, 0, 0,
    };
    static const double want[5][3] = {
        {5.0 / 8, 5.0 / 6, 5.0 / 7},
        {3.0 / 4, 1.0 / 2, 3.0 / 5},
        {0, 0, 0},
        {0, 0, 0},
        {0, 0, 0},
    };
    mlp_prf_t prf[5], macro;

    mlp_eval_prf(m, 5, prf, &macro);
    for (size_t k = 0; k < 5; k++) {
        ck_assert_double_eq_tol(prf[k].precision, want[k][0], 1e-12);
        ck_assert_double_eq_tol(prf[k].recall, want[k][1], 1e-12);
        ck_assert_double_eq_tol(prf[k].f1, want[k][2], 1e-12);
    }
    ck_assert_double_eq_tol(macro.precision, 11.0 / 32, 1e-12);
    ck_assert_double_eq_tol(macro.recall, 1.0 / 3, 1e-12);
    ck_assert_double_eq_tol(macro.f1, 23.0 / 70, 1e-12);
    /* F1 is the harmonic mean of P and R where both are defined. */
    for (size_t k = 0; k < 2; k++)
        ck_assert_double_eq_tol(prf[k].f1,
                                2 * prf[k].precision * prf[k].recall /
                                    (prf[k].precision + prf[k].recall),
                                1e-12);
    /* macro may be NULL. */
    mlp_eval_prf(m, 5, prf, NULL);
    ck_assert_double_eq_tol(prf[0].f1, 5.0 / 7, 1e-12);
}
END_TEST

/* 0/0 is 0: an empty matrix gives zeros, never NaN; a diagonal one gives
 * ones; two classes all predicted 0 leave class 1 never predicted. */
START_TEST(test_prf_zero_division)
{
    static const size_t empty[9] = {0};
    static const size_t diag[9] = {4, 0, 0, 0, 2, 0, 0, 0, 7};
    static const size_t all0[4] = {3, 0, 5, 0};
    mlp_prf_t prf[3], macro;

    mlp_eval_prf(empty, 3, prf, &macro);
    for (size_t k = 0; k < 3; k++) {
        ck_assert(prf[k].precision == 0.0 && prf[k].recall == 0.0 &&
                  prf[k].f1 == 0.0);
    }
    ck_assert(macro.precision == 0.0 && macro.recall == 0.0 &&
              macro.f1 == 0.0);

    mlp_eval_prf(diag, 3, prf, &macro);
    for (size_t k = 0; k < 3; k++)
        ck_assert(prf[k].precision == 1.0 && prf[k].recall == 1.0 &&
                  prf[k].f1 == 1.0);
    ck_assert(macro.precision == 1.0 && macro.recall == 1.0 &&
              macro.f1 == 1.0);

    /* Class 0: P 3/8, R 1, F1 6/11; class 1: P 0/0 := 0, R 0/5, F1 0. */
    mlp_eval_prf(all0, 2, prf, &macro);
    ck_assert_double_eq_tol(prf[0].precision, 3.0 / 8, 1e-12);
    ck_assert_double_eq_tol(prf[0].recall, 1.0, 1e-12);
    ck_assert_double_eq_tol(prf[0].f1, 6.0 / 11, 1e-12);
    ck_assert(prf[1].precision == 0.0 && prf[1].recall == 0.0 &&
              prf[1].f1 == 0.0);
    ck_assert_double_eq_tol(macro.precision, 3.0 / 16, 1e-12);
    ck_assert_double_eq_tol(macro.recall, 0.5, 1e-12);
    ck_assert_double_eq_tol(macro.f1, 3.0 / 11, 1e-12);
}
END_TEST

START_TEST(test_predict_first_rows)
{
    static const size_t batches[] = {10, 4};
    fixture_t f;
    ref_t ref;
    int32_t pred[10];
    mlp_net_t *net;

    make_fixture(&f, 11);
    reference(&f, &ref);
    ck_assert_double_gt(ref.min_gap, 1e-3);
    /* A net prepared for the first 10 rows, in one batch or batches of 4. */
    {
        mlp_net_spec_t spec;

        fixture_spec(&spec);
        for (size_t i = 0; i < 2; i++)
            mlp_net_spec_add_split(&spec, 10, batches[i]);
        ck_assert_uint_eq(spec.nbatch_sizes, 3); /* 10, 4, 2 */
        ck_assert_int_eq(mlp_net_create(&spec, &net), 0);
        ck_assert_int_eq(mlp_net_set_layer(net, 0, f.w1, f.b1), 0);
        ck_assert_int_eq(mlp_net_set_layer(net, 1, f.w2, f.b2), 0);
    }
    for (size_t bi = 0; bi < 2; bi++) {
        memset(pred, 0xff, sizeof(pred));
        ck_assert_int_eq(mlp_eval_predict(net, &f.split, 10, batches[bi],
                                          pred), 0);
        for (size_t s = 0; s < 10; s++)
            ck_assert_int_eq(pred[s], ref.pred[s]);
    }
    mlp_net_destroy(net);
}
END_TEST

/*
 * Logits that overflow (finite weights and inputs): no figure, an error
 * naming the sample (eval.h's rule).  Logits that are large but finite
 * give a finite loss.  Hidden units all tanh(1); the second layer's
 * weights 3e38 sum past float's range, 1e30 do not.
 */
START_TEST(test_overflowing_logits)
{
    static const size_t batches[] = {8};
    fixture_t f;
    mlp_eval_result_t res;
    int32_t pred[N];
    mlp_net_t *net;
    const float row[3] = {1.0f, INFINITY, 2.0f}, nan_row[2] = {NAN, 0.0f};

    ck_assert_int_eq(mlp_eval_logits_finite(row, 1), 1);
    ck_assert_int_eq(mlp_eval_logits_finite(row, 3), 0);
    ck_assert_int_eq(mlp_eval_logits_finite(nan_row, 2), 0);
    make_fixture(&f, 5);
    memset(f.w1, 0, sizeof(f.w1));
    for (size_t j = 0; j < HID; j++)
        f.b1[j] = 1.0f;
    for (size_t i = 0; i < C * HID; i++)
        f.w2[i] = i % C == 0 ? 3e38f : 1.0f;
    net = make_net(&f, batches, 1);
    ck_assert_int_eq(mlp_eval_split(net, &f.split, 8, &res), MLP_ERANGE);
    ck_assert_msg_has("sample 0: the model's logits are not finite");
    ck_assert_ptr_null(res.confusion);
    ck_assert_int_eq(mlp_eval_predict(net, &f.split, N, 8, pred),
                     MLP_ERANGE);
    mlp_net_destroy(net);
    for (size_t i = 0; i < C * HID; i++)
        f.w2[i] = i % C == 0 ? 1e30f : 1.0f;
    net = make_net(&f, batches, 1);
    ck_assert_int_eq(mlp_eval_split(net, &f.split, 8, &res), 0);
    ck_assert(isfinite(res.loss));
    mlp_eval_result_free(&res);
    mlp_net_destroy(net);
}
END_TEST

START_TEST(test_batch_sizes)
{
    mlp_net_spec_t spec;

    memset(&spec, 0, sizeof(spec));
    mlp_net_spec_add_split(&spec, 1000, 256); /* 256 and 232 */
    mlp_net_spec_add_split(&spec, 512, 256);  /* nothing new */
    mlp_net_spec_add_split(&spec, 10, 256);   /* 10 */
    ck_assert_uint_eq(spec.nbatch_sizes, 3);
    ck_assert_uint_eq(spec.batch_sizes[0], 256);
    ck_assert_uint_eq(spec.batch_sizes[1], 232);
    ck_assert_uint_eq(spec.batch_sizes[2], 10);
}
END_TEST

/* A dataset struct as mlp_dataset_load fills it, without files. */
static void fake_dataset(mlp_dataset_t *ds, size_t rows, size_t cols,
                         size_t nclasses)
{
    memset(ds, 0, sizeof(*ds));
    ds->rows = rows;
    ds->cols = cols;
    ds->nclasses = nclasses;
    for (int i = 0; i < MLP_NFILES; i++)
        snprintf(ds->files[i].path, sizeof(ds->files[i].path), "d/%s",
                 mlp_dataset_file_names[i]);
}

START_TEST(test_class_names_rule)
{
    mlp_class_names_t cn;
    mlp_dataset_t ds;

    /* No list, not Fashion-MNIST: numbers. */
    fake_dataset(&ds, 28, 28, 10);
    ck_assert_int_eq(mlp_eval_is_fashion_mnist(&ds), 0);
    ck_assert_int_eq(mlp_eval_class_names(NULL, &ds, 10, &cn), 0);
    ck_assert_uint_eq(cn.n, 10);
    ck_assert_str_eq(cn.names[0], "0");
    ck_assert_str_eq(cn.names[9], "9");
    mlp_class_names_free(&cn);
    ck_assert_int_eq(mlp_eval_class_names(NULL, NULL, 26, &cn), 0);
    ck_assert_str_eq(cn.names[25], "25");
    mlp_class_names_free(&cn);

    /* A list: its names, in order. */
    ck_assert_int_eq(mlp_eval_class_names("cat,dog,bird eye", &ds, 3, &cn),
                     0);
    ck_assert_uint_eq(cn.n, 3);
    ck_assert_str_eq(cn.names[0], "cat");
    ck_assert_str_eq(cn.names[1], "dog");
    ck_assert_str_eq(cn.names[2], "bird eye");
    mlp_class_names_free(&cn);
    mlp_class_names_free(&cn); /* safe twice */
}
END_TEST

START_TEST(test_fashion_mnist_recognised)
{
    mlp_dataset_t *ds = NULL;
    mlp_class_names_t cn;

    tu_need_file(FASHION_DIR "/t10k-labels-idx1-ubyte.gz",
                 "dataset-fashion-mnist");
    /* Limits do not matter: the whole label file is judged. */
    ck_assert_int_eq(mlp_dataset_load(FASHION_DIR, 100, 20, &ds), 0);
    ck_assert_int_eq(mlp_eval_is_fashion_mnist(ds), 1);
    ck_assert_int_eq(mlp_eval_class_names(NULL, ds, 10, &cn), 0);
    ck_assert_str_eq(cn.names[0], "t-shirt");
    ck_assert_str_eq(cn.names[9], "ankle boot");
    mlp_class_names_free(&cn);
    /* The user's names win. */
    ck_assert_int_eq(mlp_eval_class_names("a,b,c,d,e,f,g,h,i,j", ds, 10, &cn),
                     0);
    ck_assert_str_eq(cn.names[9], "j");
    mlp_class_names_free(&cn);
    mlp_dataset_destroy(ds);
}
END_TEST

/* mlp_eval_check_fit of a model of in inputs (rows x cols images; 0x0:
 * not said) and out classes, on a ROWSxCOLS dataset of C classes. */
static int fit(size_t in, size_t rows, size_t cols, size_t out)
{
    mlp_checkpoint_t ck;
    mlp_dataset_t ds;

    fake_dataset(&ds, ROWS, COLS, C);
    memset(&ck, 0, sizeof(ck));
    ck.in = in;
    ck.rows = rows;
    ck.cols = cols;
    ck.out = out;
    return mlp_eval_check_fit(&ck, "m.ckpt", &ds);
}

START_TEST(test_fit)
{
    ck_assert_int_eq(fit(IN, 0, 0, C), 0);
    ck_assert_int_eq(fit(IN, ROWS, COLS, C), 0);
}
END_TEST

/* ---- errors ----------------------------------------------------------- */

START_TEST(test_bad_class_name_counts)
{
    mlp_class_names_t cn;
    mlp_dataset_t ds;

    fake_dataset(&ds, ROWS, COLS, 3);
    ck_assert_int_eq(mlp_eval_class_names("a,b", &ds, 3, &cn), MLP_EUSAGE);
    ck_assert_msg_has("--class-names");
    ck_assert_msg_has("2 names for 3 classes");
    ck_assert_ptr_null(cn.names);
    ck_assert_int_eq(mlp_eval_class_names("a,b,c,d", &ds, 3, &cn),
                     MLP_EUSAGE);
    ck_assert_msg_has("4 names for 3 classes");
    ck_assert_int_eq(mlp_eval_class_names("a,,c", &ds, 3, &cn), MLP_EUSAGE);
    ck_assert_msg_has("name 2 is empty");
    ck_assert_int_eq(mlp_eval_class_names("a,b,", &ds, 3, &cn), MLP_EUSAGE);
    ck_assert_msg_has("name 3 is empty");
    ck_assert_int_eq(mlp_eval_class_names("", &ds, 3, &cn), MLP_EUSAGE);
    ck_assert_msg_has("1 name for 3 classes");
    ck_assert_ptr_null(cn.names);
    ck_assert_ptr_null(cn.buf);
}
END_TEST

START_TEST(test_model_data_mismatch)
{
    ck_assert_int_eq(fit(16, 4, 4, C), MLP_EINVAL);
    ck_assert_msg_has("model 'm.ckpt' takes 16 inputs (4x4 images)");
    ck_assert_msg_has("3x4");
    /* Same width, another shape. */
    ck_assert_int_eq(fit(IN, 2, 6, C), MLP_EINVAL);
    ck_assert_msg_has("trained on 2x6 images");
    /* Class count. */
    ck_assert_int_eq(fit(IN, ROWS, COLS, C + 1), MLP_EINVAL);
    ck_assert_msg_has("model 'm.ckpt' has 5 classes");
    ck_assert_msg_has("has 4");
}
END_TEST

START_TEST(test_split_does_not_fit)
{
    static const size_t batches[] = {8};
    fixture_t f;
    mlp_net_t *net;
    mlp_eval_result_t res;
    mlp_split_t s;
    int32_t pred[N];

    make_fixture(&f, 3);
    net = make_net(&f, batches, 1);
    s = f.split;
    s.dim = IN + 1;
    ck_assert_int_eq(mlp_eval_split(net, &s, 8, &res), MLP_EINVAL);
    ck_assert_msg_has("input width 12");
    ck_assert_ptr_null(res.confusion);
    s = f.split;
    f.labels[5] = C;
    ck_assert_int_eq(mlp_eval_split(net, &s, 8, &res), MLP_EINVAL);
    ck_assert_msg_has("label 4 of sample 5");
    f.labels[5] = 0;
    ck_assert_int_eq(mlp_eval_split(net, &s, 0, &res), MLP_EINVAL);
    /* A batch size the net was not prepared for. */
    ck_assert_int_eq(mlp_eval_split(net, &s, 5, &res), MLP_EINVAL);
    ck_assert_ptr_null(res.confusion);
    ck_assert_int_eq(mlp_eval_predict(net, &s, N + 1, 8, pred), MLP_EINVAL);
    mlp_eval_result_free(&res);
    mlp_net_destroy(net);
}
END_TEST

static Suite *eval_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *core = tu_tcase(s, "core", 60);
    TCase *prf = tu_tcase(s, "prf", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    /* core runs oneDNN, which valgrind's memcheck misreads: `make
     * check-valgrind` runs only errors (see Makefile.am). */
    tcase_set_tags(core, "dnnl");
    tcase_add_loop_test(core, test_figures_match_reference, 0, 3);
    tcase_add_test(core, test_predict_first_rows);
    tcase_add_test(prf, test_prf_by_hand);
    tcase_add_test(prf, test_prf_zero_division);
    tcase_add_test(core, test_batch_sizes);
    tcase_add_test(core, test_class_names_rule);
    tcase_add_test(core, test_fashion_mnist_recognised);
    tcase_add_test(core, test_fit);
    tcase_add_test(core, test_split_does_not_fit);
    tcase_add_test(core, test_overflowing_logits);
    tcase_add_test(errors, test_bad_class_name_counts);
    tcase_add_test(errors, test_model_data_mismatch);
    return s;
}

MLP_CHECK_MAIN(eval_suite)
