/*
 * Tests of eval: loss, accuracy, confusion matrix, per-class figures and
 * predictions of a small net with known weights against a plain C double
 * reference computed here; the same figures for any batch size; class
 * names by the rule; model/data fit; bad usage of the commands.
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

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

/* A 3x4-pixel, 4-class problem: 12 -> 5 (tanh) -> 4; 23 samples. */
enum { ROWS = 3, COLS = 4, IN = ROWS * COLS, HID = 5, C = 4, N = 23 };

/* Mean loss of the float32 net against the double reference: sums of a
 * dozen O(1) products rounded to float (eps 6e-8) and a vectorised tanh
 * accurate to a few ulp: 1e-5 relative leaves a wide margin, while a
 * wrong decode (p instead of p / 255) or a missing row moves it by 1e-2. */
#define LOSS_RTOL 1e-5

typedef struct {
    float w1[HID * IN], b1[HID], w2[C * HID], b2[C];
    uint8_t images[N * IN], labels[N];
    mlp_split_t split;
} fixture_t;

static void make_fixture(fixture_t *f, uint64_t seed)
{
    mlp_rng_t r;

    mlp_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < HID * IN; i++)
        f->w1[i] = (float)mlp_rng_normal(&r);
    for (size_t i = 0; i < HID; i++)
        f->b1[i] = (float)(0.1 * mlp_rng_normal(&r));
    for (size_t i = 0; i < C * HID; i++)
        f->w2[i] = (float)(2.0 * mlp_rng_normal(&r));
    for (size_t i = 0; i < C; i++)
        f->b2[i] = (float)(0.1 * mlp_rng_normal(&r));
    for (size_t i = 0; i < N * IN; i++)
        f->images[i] = (uint8_t)(mlp_rng_u64(&r) & 0xff);
    for (size_t i = 0; i < N; i++)
        f->labels[i] = (uint8_t)(mlp_rng_u64(&r) % C);
    f->labels[N - 1] = C - 1; /* the class count comes from the labels */
    memset(&f->split, 0, sizeof(f->split));
    f->split.n = N;
    f->split.dim = IN;
    f->split.images = f->images;
    f->split.labels = f->labels;
}

/* The fixture's net, prepared for each batch size in `batches` over N. */
static mlp_net_t *make_net(const fixture_t *f, const size_t *batches,
                           size_t nb)
{
    mlp_net_spec_t spec;
    mlp_net_t *net = NULL;

    memset(&spec, 0, sizeof(spec));
    spec.in = IN;
    spec.out = C;
    spec.nhidden = 1;
    spec.hidden[0] = HID;
    spec.act = MLP_ACT_TANH;
    spec.threads = 1;
    for (size_t i = 0; i < nb; i++)
        mlp_net_spec_add_split(&spec, N, batches[i]);
    ck_assert_int_eq(mlp_net_create(&spec, &net), 0);
    ck_assert_int_eq(mlp_net_set_layer(net, 0, f->w1, f->b1), 0);
    ck_assert_int_eq(mlp_net_set_layer(net, 1, f->w2, f->b2), 0);
    return net;
}

/* The reference: logits in double, argmax, loss, confusion, per sample. */
typedef struct {
    double loss;               /* mean */
    size_t correct;
    size_t confusion[C * C];
    int32_t pred[N];
    double min_gap;            /* smallest top-1 minus top-2 logit */
} ref_t;

static void reference(const fixture_t *f, ref_t *r)
{
    memset(r, 0, sizeof(*r));
    r->min_gap = INFINITY;
    for (size_t s = 0; s < N; s++) {
        double x[IN], h[HID], z[C], mx, sum = 0.0, second = -INFINITY;
        size_t p = 0;

        for (size_t i = 0; i < IN; i++)
            x[i] = f->images[s * IN + i] / 255.0;
        for (size_t j = 0; j < HID; j++) {
            double a = f->b1[j];

            for (size_t i = 0; i < IN; i++)
                a += (double)f->w1[j * IN + i] * x[i];
            h[j] = tanh(a);
        }
        for (size_t k = 0; k < C; k++) {
            double a = f->b2[k];

            for (size_t j = 0; j < HID; j++)
                a += (double)f->w2[k * HID + j] * h[j];
            z[k] = a;
            if (a > z[p])
                p = k;
        }
        mx = z[p];
        for (size_t k = 0; k < C; k++) {
            sum += exp(z[k] - mx);
            if (k != p && z[k] > second)
                second = z[k];
        }
        if (mx - second < r->min_gap)
            r->min_gap = mx - second;
        r->loss += mx + log(sum) - z[f->labels[s]];
        r->pred[s] = (int32_t)p;
        r->correct += p == f->labels[s];
        r->confusion[f->labels[s] * C + p]++;
    }
    r->loss /= N;
}

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

        memset(&spec, 0, sizeof(spec));
        spec.in = IN;
        spec.out = C;
        spec.nhidden = 1;
        spec.hidden[0] = HID;
        spec.act = MLP_ACT_TANH;
        spec.threads = 1;
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
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "sample 0: the "
                                 "model's logits are not finite"));
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

START_TEST(test_fit)
{
    mlp_checkpoint_t ck;
    mlp_dataset_t ds;

    fake_dataset(&ds, ROWS, COLS, C);
    memset(&ck, 0, sizeof(ck));
    ck.in = IN;
    ck.out = C;
    ck_assert_int_eq(mlp_eval_check_fit(&ck, "m.ckpt", &ds), 0);
    ck.rows = ROWS;
    ck.cols = COLS;
    ck_assert_int_eq(mlp_eval_check_fit(&ck, "m.ckpt", &ds), 0);
}
END_TEST

/* Run a command on a NULL-terminated argument list; output to a buffer. */
static int run(int (*cmd)(int, char **, FILE *), char **out_text, ...)
{
    char *argv[32];
    int argc = 0, rc;
    size_t len;
    FILE *f = open_memstream(out_text, &len);
    va_list ap;

    ck_assert_ptr_nonnull(f);
    va_start(ap, out_text);
    while ((argv[argc] = va_arg(ap, char *)) != NULL)
        argc++;
    va_end(ap);
    rc = cmd(argc, argv, f);
    fclose(f);
    return rc;
}

static void assert_has(const char *text, const char *want)
{
    if (strstr(text, want) == NULL)
        ck_abort_msg("output lacks '%s':\n%s", want, text);
}

/* Precision, recall and F1 of class k of a C x C matrix, from the
 * definitions, 0 for 0/0 (macro: over classes labelled or predicted). */
static void ref_prf(const size_t *m, size_t k, double out[3])
{
    double tp = (double)m[k * C + k], lab = 0, pred = 0;

    for (size_t j = 0; j < C; j++) {
        lab += (double)m[k * C + j];
        pred += (double)m[j * C + k];
    }
    out[0] = pred > 0 ? tp / pred : 0.0;
    out[1] = lab > 0 ? tp / lab : 0.0;
    out[2] = out[0] + out[1] > 0 ? 2 * out[0] * out[1] / (out[0] + out[1])
                                 : 0.0;
}

/* The number after `key` at or after `from` in text. */
static double number_after(const char *text, const char *from,
                           const char *key)
{
    const char *p = strstr(from, key);
    double v;

    if (p == NULL || sscanf(p + strlen(key), "%lf", &v) != 1)
        ck_abort_msg("no number after '%s' in:\n%s", key, text);
    return v;
}

/*
 * The commands on a saved checkpoint of the fixture's net and a dataset
 * holding the fixture's samples: the figures are the reference's.
 */
START_TEST(test_commands_on_saved_model)
{
    static const size_t batches[] = {8};
    char *dir = tu_mkdtemp(), *model = tu_path(dir, "m.ckpt"), *text = NULL;
    uint32_t idims[3] = {N, ROWS, COLS}, ldims[1] = {N};
    mlp_checkpoint_t ck;
    fixture_t f;
    ref_t ref;
    mlp_net_t *net;
    char want[256];
    size_t right = 0, off;
    double json_prf[C][3], macro[3] = {0, 0, 0};
    size_t occurs[C] = {0}, nocc = 0;

    make_fixture(&f, 5);
    reference(&f, &ref);
    ck_assert_double_gt(ref.min_gap, 1e-3);
    for (int i = 0; i < MLP_NFILES; i++) {
        char *p = tu_path(dir, mlp_dataset_file_names[i]);
        int images = i == MLP_FILE_TRAIN_IMAGES || i == MLP_FILE_TEST_IMAGES;

        ck_assert_int_eq(tu_write_idx(p, images ? idims : ldims, images ? 3 : 1,
                                      images ? f.images : f.labels, i & 1),
                         0);
        free(p);
    }
    net = make_net(&f, batches, 1);
    memset(&ck, 0, sizeof(ck));
    ck_assert_int_eq(mlp_checkpoint_capture(&ck, net, NULL), 0);
    ck.rows = ROWS;
    ck.cols = COLS;
    ck.ntrain = N;
    ck.batch = 8;
    ck.lr = 0.1f;
    ck.epoch = ck.best_epoch = 2;
    ck_assert_int_eq(mlp_checkpoint_save(model, &ck), 0);
    mlp_checkpoint_free(&ck);
    mlp_net_destroy(net);

    ck_assert_int_eq(run(mlp_cmd_eval, &text, "eval", "--model", model,
                         "--data", dir, "--batch", "8", "-t", "1", "--json",
                         (char *)NULL),
                     0);
    snprintf(want, sizeof(want), "\"samples\":%d,\"correct\":%zu,", N,
             ref.correct);
    assert_has(text, want);
    off = (size_t)snprintf(want, sizeof(want), "\"confusion\":[");
    for (size_t i = 0; i < C; i++)
        for (size_t j = 0; j < C; j++)
            off += (size_t)snprintf(want + off, sizeof(want) - off, "%s%zu%s",
                                    j == 0 ? (i ? ",[" : "[") : ",",
                                    ref.confusion[i * C + j],
                                    j == C - 1 ? "]" : "");
    assert_has(text, want);
    /* Per class and macro precision, recall and F1: the definitions'. */
    for (size_t k = 0; k < C; k++) {
        const char *obj;
        double r[3];

        snprintf(want, sizeof(want), "{\"class\":\"%zu\",", k);
        obj = strstr(text, want);
        ck_assert_ptr_nonnull(obj);
        ref_prf(ref.confusion, k, r);
        json_prf[k][0] = number_after(text, obj, "\"precision\":");
        json_prf[k][1] = number_after(text, obj, "\"recall\":");
        json_prf[k][2] = number_after(text, obj, "\"f1\":");
        for (size_t i = 0; i < 3; i++) {
            ck_assert_double_eq_tol(json_prf[k][i], r[i], 1e-6);
            macro[i] += r[i];
        }
        for (size_t j = 0; j < C; j++)
            occurs[k] |= ref.confusion[k * C + j] + ref.confusion[j * C + k];
        nocc += occurs[k] != 0;
    }
    for (size_t i = 0; i < 3; i++)
        macro[i] /= (double)nocc;
    assert_has(text, "],\"macro\":{\"precision\":");
    ck_assert_double_eq_tol(number_after(text, strstr(text, "\"macro\""),
                                         "\"precision\":"), macro[0], 1e-6);
    ck_assert_double_eq_tol(number_after(text, strstr(text, "\"macro\""),
                                         "\"recall\":"), macro[1], 1e-6);
    ck_assert_double_eq_tol(number_after(text, strstr(text, "\"macro\""),
                                         "\"f1\":"), macro[2], 1e-6);
    free(text);

    /* Text, with the user's names, as many as the classes. */
    ck_assert_int_eq(run(mlp_cmd_eval, &text, "eval", "--model", model,
                         "--data", dir, "-b", "8", "-t", "1",
                         "--class-names", "ant,bee,cat,dog", (char *)NULL),
                     0);
    snprintf(want, sizeof(want), "(%zu of %d right)", ref.correct, N);
    assert_has(text, want);
    assert_has(text, "model    ");
    assert_has(text, ": 12-5-4 tanh, 2 epochs");
    assert_has(text, "    ant bee cat dog\n");
    snprintf(want, sizeof(want), "\nant %3zu %3zu %3zu %3zu\n", ref.confusion[0],
             ref.confusion[1], ref.confusion[2], ref.confusion[3]);
    assert_has(text, want);
    /* The table agrees with the JSON to its 4 decimals; its macro row
     * counts every sample. */
    assert_has(text, "\nprecision, recall and F1 (0 for 0/0: never "
                     "predicted, no samples)\n"
                     "  class      precision  recall      f1  samples\n");
    for (size_t k = 0; k <= C; k++) {
        static const char *const names[] = {"ant", "bee", "cat", "dog",
                                            "macro avg"};
        const char *line;
        double v[3];
        size_t samples;

        snprintf(want, sizeof(want), "\n  %-9s  ", names[k]);
        line = strstr(strstr(text, "\nprecision, recall"), want);
        ck_assert_ptr_nonnull(line);
        ck_assert_int_eq(sscanf(line + strlen(want), "%lf %lf %lf %zu",
                                &v[0], &v[1], &v[2], &samples),
                         4);
        for (size_t i = 0; i < 3; i++)
            ck_assert_double_eq_tol(v[i], k < C ? json_prf[k][i] : macro[i],
                                    5.1e-5);
        if (k == C)
            ck_assert_uint_eq(samples, N);
    }
    free(text);

    for (size_t s = 0; s < 10; s++)
        right += ref.pred[s] == f.labels[s];
    ck_assert_int_eq(run(mlp_cmd_predict, &text, "predict", "--model", model,
                         "--data", dir, "-t", "1", (char *)NULL),
                     0);
    snprintf(want, sizeof(want), "\n%zu of 10 right\n", right);
    assert_has(text, want);
    snprintf(want, sizeof(want), "true  %u", f.labels[0]);
    assert_has(text, want);
    free(text);

    /* Wrong name count: usage; a model that does not fit: runtime. */
    ck_assert_int_eq(run(mlp_cmd_eval, &text, "eval", "--model", model,
                         "--data", dir, "--class-names", "a,b", (char *)NULL),
                     MLP_EUSAGE);
    free(text);
    ck_assert_int_eq(run(mlp_cmd_predict, &text, "predict", "--model", dir,
                         "--data", dir, (char *)NULL),
                     MLP_EIO);
    free(text);
    free(model);
    tu_rmtree(dir);
}
END_TEST

/* ---- errors ----------------------------------------------------------- */

static void assert_message_has(const char *s)
{
    if (strstr(mlp_error_message(), s) == NULL)
        ck_abort_msg("message '%s' lacks '%s'", mlp_error_message(), s);
}

START_TEST(test_bad_class_name_counts)
{
    mlp_class_names_t cn;
    mlp_dataset_t ds;

    fake_dataset(&ds, ROWS, COLS, 3);
    ck_assert_int_eq(mlp_eval_class_names("a,b", &ds, 3, &cn), MLP_EUSAGE);
    assert_message_has("--class-names");
    assert_message_has("2 names for 3 classes");
    ck_assert_ptr_null(cn.names);
    ck_assert_int_eq(mlp_eval_class_names("a,b,c,d", &ds, 3, &cn),
                     MLP_EUSAGE);
    assert_message_has("4 names for 3 classes");
    ck_assert_int_eq(mlp_eval_class_names("a,,c", &ds, 3, &cn), MLP_EUSAGE);
    assert_message_has("name 2 is empty");
    ck_assert_int_eq(mlp_eval_class_names("a,b,", &ds, 3, &cn), MLP_EUSAGE);
    assert_message_has("name 3 is empty");
    ck_assert_int_eq(mlp_eval_class_names("", &ds, 3, &cn), MLP_EUSAGE);
    assert_message_has("1 name for 3 classes");
    ck_assert_ptr_null(cn.names);
    ck_assert_ptr_null(cn.buf);
}
END_TEST

START_TEST(test_model_data_mismatch)
{
    mlp_checkpoint_t ck;
    mlp_dataset_t ds;

    fake_dataset(&ds, ROWS, COLS, C);
    memset(&ck, 0, sizeof(ck));
    ck.in = 16;
    ck.rows = 4;
    ck.cols = 4;
    ck.out = C;
    ck_assert_int_eq(mlp_eval_check_fit(&ck, "m.ckpt", &ds), MLP_EINVAL);
    assert_message_has("model 'm.ckpt' takes 16 inputs (4x4 images)");
    assert_message_has("3x4");
    /* Same width, another shape. */
    ck.in = IN;
    ck.rows = 2;
    ck.cols = 6;
    ck_assert_int_eq(mlp_eval_check_fit(&ck, "m.ckpt", &ds), MLP_EINVAL);
    assert_message_has("trained on 2x6 images");
    /* Class count. */
    ck.rows = ROWS;
    ck.cols = COLS;
    ck.out = C + 1;
    ck_assert_int_eq(mlp_eval_check_fit(&ck, "m.ckpt", &ds), MLP_EINVAL);
    assert_message_has("model 'm.ckpt' has 5 classes");
    assert_message_has("has 4");
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
    assert_message_has("input width 12");
    ck_assert_ptr_null(res.confusion);
    s = f.split;
    f.labels[5] = C;
    ck_assert_int_eq(mlp_eval_split(net, &s, 8, &res), MLP_EINVAL);
    assert_message_has("label 4 of sample 5");
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

START_TEST(test_command_usage)
{
    char *text = NULL;

#define USAGE(cmd, want, ...)                                             \
    do {                                                                  \
        ck_assert_int_eq(run(cmd, &text, __VA_ARGS__, (char *)NULL),      \
                         MLP_EUSAGE);                                     \
        assert_message_has(want);                                         \
        free(text);                                                       \
        text = NULL;                                                      \
    } while (0)

    USAGE(mlp_cmd_eval, "option '--model' is required", "eval");
    USAGE(mlp_cmd_eval, "option '--batch': 'x'", "eval", "--model", "m",
          "--batch", "x");
    USAGE(mlp_cmd_eval, "option '--batch': '0' is out of range", "eval",
          "--model", "m", "-b", "0");
    USAGE(mlp_cmd_eval, "option '--threads'", "eval", "--model", "m",
          "--threads", "-1");
    USAGE(mlp_cmd_eval, "option '--limit-test'", "eval", "--model", "m",
          "--limit-test", "1e3");
    USAGE(mlp_cmd_eval, "unknown option '--bogus'", "eval", "--bogus");
    USAGE(mlp_cmd_eval, "option '--model' needs a value", "eval", "--model");
    USAGE(mlp_cmd_eval, "unexpected argument 'extra'", "eval", "--model", "m",
          "extra");
    USAGE(mlp_cmd_predict, "option '--limit-test': '0' is out of range", "predict",
          "--model", "m", "-n", "0");
    USAGE(mlp_cmd_predict, "option '--limit-test': '101' is out of range", "predict",
          "--model", "m", "-n", "101");
    USAGE(mlp_cmd_predict, "option '--png': an empty file name", "predict",
          "--model", "m", "--png", "");
    USAGE(mlp_cmd_predict, "option '--c' is ambiguous: it could be "
          "--class-names, --count", "predict", "--model", "m", "--c", "3");
    USAGE(mlp_cmd_eval, "unknown option '--png'", "eval", "--model", "m",
          "--png", "x.png");
    /* the rules beside the tables (cmd_eval.c): what does not apply */
    USAGE(mlp_cmd_eval, "option '--label' needs --test FILE", "eval",
          "--model", "m", "--label", "y");
    USAGE(mlp_cmd_eval, "option '--data' conflicts with --test", "eval",
          "--model", "m", "--data", "d", "--test", "t.csv");
    USAGE(mlp_cmd_eval, "option '--test-labels' needs --test FILE", "eval",
          "--model", "m", "--test-labels", "y.npy");
    USAGE(mlp_cmd_predict, "option '--csv' conflicts with --json", "predict",
          "--model", "m", "--input", "x.csv", "--csv", "--json");
    USAGE(mlp_cmd_predict, "option '--logits' needs --input FILE", "predict",
          "--model", "m", "--logits");
    USAGE(mlp_cmd_predict, "option '--input' conflicts with --show-train",
          "predict", "--model", "m", "--input", "x.csv", "--show-train");
    USAGE(mlp_cmd_predict, "option '--seed' needs --show-train", "predict",
          "--model", "m", "--seed", "3");
#undef USAGE

    /* --help shows every default and succeeds without --model. */
    ck_assert_int_eq(run(mlp_cmd_eval, &text, "eval", "--help", (char *)NULL),
                     0);
    ck_assert_ptr_nonnull(strstr(text, "--batch N          batch size; N in "
                                       "1..1048576 [256]"));
    ck_assert_ptr_nonnull(strstr(text, "[all]"));
    ck_assert_ptr_nonnull(strstr(text, "[off]"));
    free(text);
    ck_assert_int_eq(run(mlp_cmd_predict, &text, "predict", "-h",
                         (char *)NULL),
                     0);
    ck_assert_ptr_nonnull(strstr(text, "[10]"));
    ck_assert_ptr_nonnull(strstr(text, "[none]"));
    free(text);
}
END_TEST

static Suite *eval_suite(void)
{
    Suite *s = suite_create("eval");
    TCase *core = tcase_create("core");
    TCase *errors = tcase_create("errors");
    TCase *prf = tcase_create("prf");

    /* core runs oneDNN, which valgrind's memcheck misreads: `make
     * check-valgrind` runs only errors (see Makefile.am). */
    tcase_set_tags(core, "dnnl");
    tcase_set_timeout(core, 60);
    tcase_add_loop_test(core, test_figures_match_reference, 0, 3);
    tcase_add_test(core, test_predict_first_rows);
    tcase_add_test(prf, test_prf_by_hand);
    tcase_add_test(prf, test_prf_zero_division);
    tcase_add_test(core, test_batch_sizes);
    tcase_add_test(core, test_class_names_rule);
    tcase_add_test(core, test_fashion_mnist_recognised);
    tcase_add_test(core, test_fit);
    tcase_add_test(core, test_commands_on_saved_model);
    tcase_add_test(core, test_split_does_not_fit);
    tcase_add_test(core, test_overflowing_logits);
    tcase_add_test(errors, test_bad_class_name_counts);
    tcase_add_test(errors, test_model_data_mismatch);
    tcase_add_test(errors, test_command_usage);
    suite_add_tcase(s, core);
    suite_add_tcase(s, prf);
    suite_add_tcase(s, errors);
    return s;
}

MLP_CHECK_MAIN(eval_suite)
