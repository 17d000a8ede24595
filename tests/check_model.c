/*
 * Tests of model (model.h): a trained model's predictions on rows in
 * memory against the evaluation of the same net (eval.h), the same bits
 * for a row alone or among others, bytes and real features as `predict`
 * takes them, and the refusals (real features for a model of bytes, a
 * feature that is not finite, logits that overflow, bytes that are no
 * checkpoint).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "mlptrain/checkpoint.h"
#include "mlptrain/dataset.h"
#include "mlptrain/error.h"
#include "mlptrain/eval.h"
#include "mlptrain/model.h"
#include "mlptrain/options.h"
#include "mlptrain/trainer.h"
#include "testutil.h"

static char *datadir;
static mlp_dataset_t *ds;
static uint8_t *bytes_model, *real_model; /* checkpoint bytes */
static size_t bytes_len, real_len;
static float *xr;                         /* the test images as reals */

/* Two models trained on the generated data: on its bytes, and on the
 * same values as real features (standardised). */
static void make_models(void)
{
    mlp_config_t cfg;
    mlp_dataset_arrays_t a;
    mlp_train_mem_t m = {0};
    mlp_train_result_t res;
    size_t n, d;
    float *x;

    datadir = tu_mkdtemp();
    ck_assert_int_eq(tu_make_dataset(datadir, 600, 150, 10, 10, 4, 9, 0), 0);
    ck_assert_int_eq(mlp_dataset_load(datadir, 0, 0, &ds), 0);
    mlp_config_defaults(&cfg);
    cfg.epochs = 2;
    cfg.batch = 50;
    cfg.hidden[0] = 16;
    cfg.threads = 1;
    cfg.workers = 0;
    memset(&a, 0, sizeof(a));
    a.train.x = ds->train.images;
    a.train.y = ds->train.labels;
    a.train.n = ds->train.n;
    a.dim = ds->train.dim;
    a.nclasses = ds->nclasses;
    m.data = &a;
    ck_assert_int_eq(mlp_train_mem(&cfg, &m, NULL, NULL, &res, &bytes_model,
                                   &bytes_len), 0);
    mlp_train_result_free(&res);
    n = ds->train.n;
    d = ds->train.dim;
    x = malloc(n * d * sizeof(float));
    for (size_t i = 0; i < n * d; i++)
        x[i] = (float)ds->train.images[i];
    a.train.x = x;
    a.real = 1;
    ck_assert_int_eq(mlp_train_mem(&cfg, &m, NULL, NULL, &res, &real_model,
                                   &real_len), 0);
    mlp_train_result_free(&res);
    free(x);
    xr = malloc(ds->test.n * d * sizeof(float));
    for (size_t i = 0; i < ds->test.n * d; i++)
        xr[i] = (float)ds->test.images[i];
}

static void rm_models(void)
{
    free(bytes_model);
    free(real_model);
    free(xr);
    mlp_dataset_destroy(ds);
    tu_rmtree(datadir);
}

/* The classes are eval's (the same net over the same split), the
 * probabilities sum to 1 and peak at the class. */
START_TEST(test_predict_as_eval)
{
    mlp_model_t *m;
    mlp_checkpoint_t ck;
    mlp_net_t *net;
    size_t n = ds->test.n, c = ds->nclasses;
    int32_t *cls = malloc(n * sizeof(int32_t)), *ref = malloc(n * 4);
    double *p = malloc(n * c * sizeof(double));

    ck_assert_int_eq(mlp_model_open(bytes_model, bytes_len, "m", 1,
                                    MLP_EVAL_PRECISION_MODEL, &m), 0);
    ck_assert_uint_eq(mlp_model_checkpoint(m)->out, c);
    ck_assert_int_eq(mlp_model_predict(m, ds->test.images, NULL, n, "X", p,
                                       cls), 0);
    ck_assert_int_eq(mlp_checkpoint_parse(bytes_model, bytes_len, "m", &ck),
                     0);
    ck_assert_int_eq(mlp_eval_net(&ck, "m", 1, MLP_PREC_F32, n, 50, &net), 0);
    ck_assert_int_eq(mlp_eval_predict(net, &ds->test, n, 50, ref), 0);
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0;

        ck_assert_int_eq(cls[i], ref[i]);
        for (size_t k = 0; k < c; k++) {
            sum += p[i * c + k];
            ck_assert(p[i * c + k] <= p[i * c + (size_t)cls[i]]);
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-12);
    }
    mlp_net_destroy(net);
    mlp_checkpoint_free(&ck);
    mlp_model_destroy(m);
    free(cls);
    free(ref);
    free(p);
}
END_TEST

/* In bf16 the classes are eval's in bf16 (each scaled input rounded to
 * bf16, as the loader decodes for training). */
START_TEST(test_predict_bf16_as_eval)
{
    mlp_model_t *m;
    mlp_checkpoint_t ck;
    mlp_net_t *net;
    size_t n = ds->test.n;
    int32_t *cls = malloc(n * sizeof(int32_t)), *ref = malloc(n * 4);

    if (!tu_bf16_here("test_predict_bf16_as_eval")) {
        free(cls);
        free(ref);
        return;
    }
    ck_assert_int_eq(mlp_model_open(bytes_model, bytes_len, "m", 1,
                                    MLP_PREC_BF16, &m), 0);
    ck_assert_int_eq(mlp_model_predict(m, ds->test.images, NULL, n, "X",
                                       NULL, cls), 0);
    ck_assert_int_eq(mlp_checkpoint_parse(bytes_model, bytes_len, "m", &ck),
                     0);
    ck_assert_int_eq(mlp_eval_net(&ck, "m", 1, MLP_PREC_BF16, n, 50, &net),
                     0);
    ck_assert_int_eq(mlp_eval_predict(net, &ds->test, n, 50, ref), 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(cls[i], ref[i]);
    mlp_net_destroy(net);
    mlp_checkpoint_free(&ck);
    mlp_model_destroy(m);
    free(cls);
    free(ref);
}
END_TEST

/* A row's figures do not depend on the rows around it: each row alone,
 * and the rows in another order, give the same bits (150 rows: three
 * batches of 64, the last padded). */
START_TEST(test_row_alone_same_bits)
{
    mlp_model_t *m;
    size_t n = ds->test.n, c = ds->nclasses, d = ds->test.dim;
    double *all = malloc(n * c * sizeof(double)), one[16];
    uint8_t *rev = malloc(n * d);
    int32_t k;

    ck_assert_int_eq(mlp_model_open(bytes_model, bytes_len, "m", 2,
                                    MLP_EVAL_PRECISION_MODEL, &m), 0);
    ck_assert_int_eq(mlp_model_predict(m, ds->test.images, NULL, n, "X", all,
                                       NULL), 0);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(mlp_model_predict(m, ds->test.images + i * d, NULL,
                                           1, "X", one, &k), 0);
        ck_assert_int_eq(memcmp(one, all + i * c, c * sizeof(double)), 0);
        memcpy(rev + (n - 1 - i) * d, ds->test.images + i * d, d);
    }
    ck_assert_int_eq(mlp_model_predict(m, rev, NULL, n, "X", all, NULL), 0);
    ck_assert_int_eq(mlp_model_predict(m, ds->test.images + 7 * d, NULL, 1,
                                       "X", one, NULL), 0);
    ck_assert_int_eq(memcmp(one, all + (n - 8) * c, c * sizeof(double)), 0);
    mlp_model_destroy(m);
    free(all);
    free(rev);
}
END_TEST

/* A model of real features: rows of floats, and bytes taken as the
 * features' values (as `predict` takes a byte file), alike. */
START_TEST(test_real_model)
{
    mlp_model_t *m;
    size_t n = ds->test.n, c = ds->nclasses;
    double *p = malloc(n * c * sizeof(double)), *q = malloc(n * c * 8);
    int32_t *k = malloc(n * 4);
    size_t right = 0;

    ck_assert_int_eq(mlp_model_open(real_model, real_len, "r", 1,
                                    MLP_EVAL_PRECISION_MODEL, &m), 0);
    ck_assert_uint_eq(mlp_model_checkpoint(m)->input_kind, 1);
    ck_assert_int_eq(mlp_model_predict(m, NULL, xr, n, "X", p, k), 0);
    ck_assert_int_eq(mlp_model_predict(m, ds->test.images, NULL, n, "X", q,
                                       NULL), 0);
    ck_assert_int_eq(memcmp(p, q, n * c * sizeof(double)), 0);
    for (size_t i = 0; i < n; i++)
        right += k[i] == ds->test.labels[i];
    ck_assert_msg(right > n / 2, "%zu of %zu right", right, n);
    mlp_model_destroy(m);
    free(p);
    free(q);
    free(k);
}
END_TEST

START_TEST(test_refused)
{
    mlp_model_t *m = NULL;
    size_t d = ds->test.dim;
    float *row = malloc(d * sizeof(float));
    uint8_t *bad = malloc(bytes_len);
    int32_t k;

    ck_assert_int_eq(mlp_model_open(bytes_model, bytes_len, "m", 1,
                                    MLP_EVAL_PRECISION_MODEL, &m), 0);
    ck_assert_int_eq(mlp_model_predict(m, NULL, xr, 1, "X", NULL, &k),
                     MLP_EINVAL);
    ck_assert_msg_has("X has real-valued features but model 'm' was trained on bytes");
    mlp_model_destroy(m);
    ck_assert_int_eq(mlp_model_open(real_model, real_len, "r", 1,
                                    MLP_EVAL_PRECISION_MODEL, &m), 0);
    memcpy(row, xr, d * sizeof(float));
    row[5] = NAN;
    ck_assert_int_eq(mlp_model_predict(m, NULL, row, 1, "X", NULL, &k),
                     MLP_EINVAL);
    ck_assert_msg_has("X: row 0, column 5 is NaN");
    mlp_model_destroy(m);
    /* Weights of 1e30: finite, but bright pixels overflow the logits. */
    {
        mlp_checkpoint_t ck;
        uint8_t *big, px[1024];
        size_t blen;

        ck_assert_int_eq(mlp_checkpoint_parse(bytes_model, bytes_len, "m",
                                              &ck), 0);
        for (size_t i = 0; i < ck.nparams; i++)
            ck.params[i] = 1e30f;
        ck_assert_int_eq(mlp_checkpoint_encode(&ck, &big, &blen), 0);
        mlp_checkpoint_free(&ck);
        ck_assert_int_eq(mlp_model_open(big, blen, "big", 1,
                                    MLP_EVAL_PRECISION_MODEL, &m), 0);
        memset(px, 255, d);
        ck_assert_int_eq(mlp_model_predict(m, px, NULL, 1, "X", NULL, &k),
                         MLP_ERANGE);
        ck_assert_msg_has("X: row 0: the model's logits are not finite");
        mlp_model_destroy(m);
        free(big);
    }
    memcpy(bad, bytes_model, bytes_len);
    bad[100] ^= 0x40;
    m = NULL;
    ck_assert_int_eq(mlp_model_open(bad, bytes_len, "bad", 1,
                                    MLP_EVAL_PRECISION_MODEL, &m),
                     MLP_EFORMAT);
    ck_assert_msg_has("bad: ");
    ck_assert_ptr_null(m);
    ck_assert_int_eq(mlp_model_open(bad, 10, "short", 1, MLP_EVAL_PRECISION_MODEL, &m), MLP_EFORMAT);
    ck_assert_ptr_null(m);
    mlp_model_destroy(NULL);
    free(row);
    free(bad);
}
END_TEST

static Suite *model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *core = tu_tcase(s, "core", 30);

    tcase_add_unchecked_fixture(core, make_models, rm_models);
    tcase_set_tags(core, "dnnl");
    tcase_add_test(core, test_predict_as_eval);
    tcase_add_test(core, test_predict_bf16_as_eval);
    tcase_add_test(core, test_row_alone_same_bits);
    tcase_add_test(core, test_real_model);
    tcase_add_test(core, test_refused);
    return s;
}

MLP_CHECK_MAIN(model_suite)
