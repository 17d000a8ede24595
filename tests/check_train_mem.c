/*
 * Tests of the run in memory (trainer.h, mlp_train_mem) and of the
 * dataset over arrays under it (dataset.h, mlp_dataset_from_arrays): the
 * same figures as the run over the same data as files, a run without a
 * test split, warm starts that are resumes (after an epoch, mid-epoch,
 * with the optimizer's state) and those that are not (another optimizer,
 * another training set), the epoch hook and its model, the stop flag,
 * the caller's arrays left untouched by a hold-out; and every refusal
 * with its message.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "check_main.h"
#include "mlptrain/checkpoint.h"
#include "mlptrain/dataset.h"
#include "mlptrain/error.h"
#include "mlptrain/faults.h"
#include "mlptrain/options.h"
#include "mlptrain/trainer.h"
#include "testutil.h"

static char *datadir;
static mlp_dataset_t *files; /* the same data, read from the files */

static void make_data(void)
{
    datadir = tu_mkdtemp();
    /* 1000 = 15 x 64 + 40: a short last batch; 12x12 images, 5 classes */
    ck_assert_int_eq(tu_make_dataset(datadir, 1000, 200, 12, 12, 5, 3, 0), 0);
    ck_assert_int_eq(mlp_dataset_load(datadir, 0, 0, &files), 0);
}

static void rm_data(void)
{
    mlp_dataset_destroy(files);
    files = NULL;
    tu_rmtree(datadir);
    datadir = NULL;
}

static int test_threads(void)
{
    const char *env = getenv("MLP_TEST_THREADS");

    return env != NULL && atoi(env) > 0 ? atoi(env) : 2;
}

static void config(mlp_config_t *cfg)
{
    mlp_config_defaults(cfg);
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", datadir);
    cfg->epochs = 4;
    cfg->batch = 64;
    cfg->hidden[0] = 24;
    cfg->momentum = 0.9f;
    cfg->lr = 0.05f;
    cfg->init_std = 0.1f;
    cfg->threads = test_threads();
    cfg->workers = 2;
    cfg->quiet = 1;
}

/* The files' data as arrays (viewing the loaded dataset's buffers). */
static void arrays(mlp_dataset_arrays_t *a, int test)
{
    memset(a, 0, sizeof(*a));
    a->train.x = files->train.images;
    a->train.y = files->train.labels;
    a->train.n = files->train.n;
    if (test) {
        a->test.x = files->test.images;
        a->test.y = files->test.labels;
        a->test.n = files->test.n;
    }
    a->dim = files->train.dim;
    a->rows = files->rows;
    a->cols = files->cols;
    a->nclasses = files->nclasses;
    a->x_name = "X";
    a->y_name = "y";
}

static void same_epoch(const mlp_epoch_stats_t *a, const mlp_epoch_stats_t *b,
                       int test)
{
    ck_assert_uint_eq(a->epoch, b->epoch);
    ck_assert_msg(a->train_loss == b->train_loss &&
                      a->train_acc == b->train_acc &&
                      (!test || (a->test_loss == b->test_loss &&
                                 a->test_acc == b->test_acc)),
                  "epoch %u: loss %.17g/%.17g acc %.17g/%.17g test %.17g/%.17g",
                  a->epoch, a->train_loss, b->train_loss, a->train_acc,
                  b->train_acc, a->test_loss, b->test_loss);
}

static int run(const mlp_config_t *cfg, const mlp_train_mem_t *m,
               mlp_train_result_t *res, uint8_t **model, size_t *len)
{
    return mlp_train_mem(cfg, m, NULL, NULL, res, model, len);
}

/* The parameters of checkpoint bytes, and of a file. */
static void params_of(const uint8_t *b, size_t n, mlp_checkpoint_t *ck)
{
    ck_assert_int_eq(mlp_checkpoint_parse(b, n, "bytes", ck), 0);
}

/* ---- the same figures ----------------------------------------------- */

/* Arrays in memory train as the same data read from files: every
 * figure, digit for digit, and the same parameters, bit for bit. */
START_TEST(test_same_as_files)
{
    mlp_config_t cfg;
    mlp_dataset_arrays_t a;
    mlp_train_mem_t m = {0};
    mlp_train_result_t ref, res;
    mlp_checkpoint_t fck, mck;
    char *save = tu_path(datadir, "ref.ckpt");
    uint8_t *model;
    size_t len;

    config(&cfg);
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", save);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &ref), 0);
    cfg.save_path[0] = '\0';
    cfg.workers = 0; /* the figures do not depend on the workers */
    arrays(&a, 1);
    m.data = &a;
    ck_assert_int_eq(run(&cfg, &m, &res, &model, &len), 0);
    ck_assert_ptr_nonnull(model);
    ck_assert_uint_eq(res.nhistory, 4);
    for (unsigned e = 0; e < 4; e++)
        same_epoch(&res.history[e], &ref.history[e], 1);
    ck_assert_int_eq(mlp_checkpoint_load(save, &fck), 0);
    params_of(model, len, &mck);
    ck_assert_uint_eq(mck.epoch, 4);
    ck_assert_uint_eq(mck.rows, 12);
    ck_assert_uint_eq(mck.nparams, fck.nparams);
    ck_assert_uint_eq(mck.nstate, fck.nstate);
    ck_assert_int_eq(memcmp(mck.params, fck.params,
                            fck.nparams * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(mck.state, fck.state,
                            fck.nstate * sizeof(float)), 0);
    ck_assert_str_eq(mck.options, fck.options);
    mlp_checkpoint_free(&fck);
    mlp_checkpoint_free(&mck);
    free(model);
    mlp_train_result_free(&res);
    /* No test split: the same training figures, no test figure. */
    arrays(&a, 0);
    ck_assert_int_eq(run(&cfg, &m, &res, &model, &len), 0);
    for (unsigned e = 0; e < 4; e++) {
        same_epoch(&res.history[e], &ref.history[e], 0);
        ck_assert(res.history[e].test_acc == 0.0);
    }
    free(model);
    mlp_train_result_free(&res);
    mlp_train_result_free(&ref);
    /* A --val hold-out: the same rows held out of the arrays (copied into
     * the dataset's own buffers) as of the files (moved in place). */
    cfg.val = 150;
    cfg.epochs = 2;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &ref), 0);
    arrays(&a, 1);
    ck_assert_int_eq(run(&cfg, &m, &res, &model, &len), 0);
    for (unsigned e = 0; e < 2; e++) {
        same_epoch(&res.history[e], &ref.history[e], 1);
        ck_assert(res.history[e].val_loss == ref.history[e].val_loss);
        ck_assert(res.history[e].val_acc == ref.history[e].val_acc);
    }
    free(model);
    mlp_train_result_free(&res);
    mlp_train_result_free(&ref);
    free(save);
}
END_TEST

/* Real features: the arrays' floats, standardised as a float .npy file
 * of the same values would be; the caller's arrays are never written,
 * even by the --val hold-out, which moves rows of the dataset's own. */
START_TEST(test_real_features_and_hold_out)
{
    mlp_config_t cfg;
    mlp_dataset_arrays_t a;
    mlp_train_mem_t m = {0};
    mlp_train_result_t r1, r2;
    size_t n = files->train.n, d = files->train.dim, len1, len2;
    float *x = malloc(n * d * sizeof(float));
    uint8_t *y = malloc(n), *m1, *m2;
    uLong crc;

    for (size_t i = 0; i < n * d; i++)
        x[i] = (float)files->train.images[i] * 0.5f - 3.0f;
    memcpy(y, files->train.labels, n);
    crc = crc32(crc32(0, (const Bytef *)x, (uInt)(n * d * sizeof(float))),
                y, (uInt)n);
    arrays(&a, 0);
    a.train.x = x;
    a.train.y = y;
    a.real = 1;
    m.data = &a;
    config(&cfg);
    cfg.val = 100;
    cfg.epochs = 2;
    ck_assert_int_eq(run(&cfg, &m, &r1, &m1, &len1), 0);
    ck_assert(r1.history[1].has_val);
    ck_assert(r1.history[1].val_acc > 0.0);
    ck_assert_uint_eq(crc32(crc32(0, (const Bytef *)x,
                                  (uInt)(n * d * sizeof(float))), y,
                            (uInt)n), crc);
    /* Again, from a copy: the same figures and the same model. */
    {
        float *x2 = malloc(n * d * sizeof(float));

        memcpy(x2, x, n * d * sizeof(float));
        a.train.x = x2;
        ck_assert_int_eq(run(&cfg, &m, &r2, &m2, &len2), 0);
        same_epoch(&r1.history[1], &r2.history[1], 0);
        ck_assert(r1.history[1].val_loss == r2.history[1].val_loss);
        ck_assert_uint_eq(len1, len2);
        ck_assert_int_eq(memcmp(m1, m2, len1), 0);
        free(x2);
    }
    {
        mlp_checkpoint_t ck;

        params_of(m1, len1, &ck);
        ck_assert_uint_eq(ck.input_kind, 1); /* affine: standardised */
        ck_assert_uint_eq(ck.ntrain, n - 100);
        mlp_checkpoint_free(&ck);
    }
    free(m1);
    free(m2);
    mlp_train_result_free(&r1);
    mlp_train_result_free(&r2);
    free(x);
    free(y);
}
END_TEST

/* ---- warm starts ---------------------------------------------------- */

/* 2 epochs, then a warm start to 4 with the same options: the 4-epoch
 * run's epochs 3 and 4; from a model stopped mid-epoch (the test hook
 * stands in for a stop), the same; the momentum carries over. */
START_TEST(test_warm_start_is_resume)
{
    mlp_config_t cfg;
    mlp_dataset_arrays_t a;
    mlp_train_mem_t m = {0};
    mlp_train_result_t ref, res;
    uint8_t *model, *next;
    size_t len, nlen;
    mlp_checkpoint_t ck;

    config(&cfg);
    arrays(&a, 1);
    m.data = &a;
    ck_assert_int_eq(run(&cfg, &m, &ref, &model, &len), 0);
    free(model);
    cfg.epochs = 2;
    ck_assert_int_eq(run(&cfg, &m, &res, &model, &len), 0);
    mlp_train_result_free(&res);
    cfg.epochs = 4;
    m.model = model;
    m.model_len = len;
    ck_assert_int_eq(run(&cfg, &m, &res, &next, &nlen), 0);
    ck_assert_uint_eq(res.first_epoch, 3);
    ck_assert_uint_eq(res.nhistory, 2);
    same_epoch(&res.history[0], &ref.history[2], 1);
    same_epoch(&res.history[1], &ref.history[3], 1);
    mlp_train_result_free(&res);
    free(next);
    free(model);
    /* Stopped after 20 batches (epoch 2, batch 4 of 16): kept, then
     * continued. */
    m.model = NULL;
    mlp_fault_set_interrupt_after(20);
    ck_assert_int_eq(run(&cfg, &m, &res, &model, &len), MLP_EINTERRUPTED);
    mlp_fault_set_interrupt_after(0);
    ck_assert_msg_has("interrupted in epoch 2 after batch 4 of 16");
    ck_assert_ptr_nonnull(model);
    params_of(model, len, &ck);
    ck_assert_uint_eq(ck.epoch, 1);
    ck_assert_uint_eq(ck.batches_done, 4);
    mlp_checkpoint_free(&ck);
    mlp_train_result_free(&res);
    m.model = model;
    m.model_len = len;
    ck_assert_int_eq(run(&cfg, &m, &res, &next, &nlen), 0);
    ck_assert_uint_eq(res.first_epoch, 2);
    for (unsigned e = 0; e < 3; e++)
        same_epoch(&res.history[e], &ref.history[e + 1], 1);
    mlp_train_result_free(&res);
    free(next);
    /* ... but only on its own training set. */
    a.train.n = 900;
    ck_assert_int_eq(run(&cfg, &m, &res, &next, &nlen), MLP_EINVAL);
    ck_assert_msg_has("continues that epoch only on its own training set");
    ck_assert_ptr_null(next);
    a.train.n = files->train.n;
    free(model);
    mlp_train_result_free(&ref);
}
END_TEST

/* A warm start takes the caller's options: another training set (a
 * chunk), another rate, another optimizer (whose state starts afresh);
 * the model's weights go on (its first epoch is not a fresh model's). */
START_TEST(test_warm_start_other_options)
{
    mlp_config_t cfg;
    mlp_dataset_arrays_t a;
    mlp_train_mem_t m = {0};
    mlp_train_result_t fresh, res;
    uint8_t *model, *next;
    size_t len, nlen;
    mlp_checkpoint_t ck;

    config(&cfg);
    cfg.epochs = 2;
    arrays(&a, 0);
    m.data = &a;
    ck_assert_int_eq(run(&cfg, &m, &res, &model, &len), 0);
    mlp_train_result_free(&res);
    cfg.epochs = 3;
    cfg.optimizer = 1; /* adam */
    cfg.momentum = 0.0f;
    cfg.lr = 0.001f;
    a.train.n = 500;
    m.model = model;
    m.model_len = len;
    ck_assert_int_eq(run(&cfg, &m, &res, &next, &nlen), 0);
    ck_assert_uint_eq(res.nhistory, 1);
    params_of(next, nlen, &ck);
    ck_assert_uint_eq(ck.epoch, 3);
    ck_assert_uint_eq(ck.ntrain, 500);
    ck_assert_uint_eq(ck.nstate, 2 * ck.nparams);
    ck_assert_uint_eq(ck.opt_steps, 8); /* 500 / 64: a fresh Adam's 8 */
    ck_assert_ptr_nonnull(strstr(ck.options, "optimizer=adam\n"));
    mlp_checkpoint_free(&ck);
    /* A fresh model on the chunk learns less in its first epoch. */
    m.model = NULL;
    free(model);
    cfg.epochs = 1;
    ck_assert_int_eq(run(&cfg, &m, &fresh, &model, &len), 0);
    ck_assert_msg(res.history[0].train_loss < fresh.history[0].train_loss,
                  "warm %g, fresh %g", res.history[0].train_loss,
                  fresh.history[0].train_loss);
    mlp_train_result_free(&fresh);
    mlp_train_result_free(&res);
    free(model);
    free(next);
}
END_TEST

/* ---- the hook and the stop flag ------------------------------------- */

typedef struct {
    unsigned calls, stop_at, fail; /* fail: the call that fails (0: none) */
    double loss[8];
    uint8_t *kept;
    size_t kept_len;
    volatile sig_atomic_t *flag;
} hook_t;

static int hook(void *arg, mlp_train_run_t *run_, const mlp_epoch_stats_t *st)
{
    hook_t *h = arg;

    ck_assert_uint_eq(st->epoch, h->calls + 1);
    h->loss[h->calls++] = st->train_loss;
    if (h->calls == 2) {
        free(h->kept);
        ck_assert_int_eq(mlp_train_run_model(run_, &h->kept, &h->kept_len),
                         0);
    }
    if (h->fail && h->calls == h->fail)
        return mlp_error_set(MLP_EABORTED, "the hook says no");
    if (h->flag != NULL && h->calls == 1)
        *h->flag = 1;
    return h->calls == h->stop_at;
}

/* The hook sees every epoch's figures, may keep the model of an epoch,
 * stops the run, or fails it; the stop flag stops it at a batch. */
START_TEST(test_hook_and_stop)
{
    mlp_config_t cfg;
    mlp_dataset_arrays_t a;
    mlp_train_mem_t m = {0};
    mlp_train_result_t ref, res;
    hook_t h = {0};
    volatile sig_atomic_t stop = 0;
    uint8_t *model;
    size_t len;
    mlp_checkpoint_t ck;

    config(&cfg);
    arrays(&a, 0);
    m.data = &a;
    m.epoch_done = hook;
    m.arg = &h;
    ck_assert_int_eq(run(&cfg, &m, &ref, &model, &len), 0);
    ck_assert_uint_eq(h.calls, 4);
    for (unsigned e = 0; e < 4; e++)
        ck_assert(h.loss[e] == ref.history[e].train_loss);
    ck_assert_uint_eq(ref.stopped, 0);
    params_of(h.kept, h.kept_len, &ck);
    ck_assert_uint_eq(ck.epoch, 2);
    mlp_checkpoint_free(&ck);
    free(model);
    free(h.kept);
    /* Stop after epoch 3: ok, 3 epochs, the model of epoch 3. */
    memset(&h, 0, sizeof(h));
    h.stop_at = 3;
    ck_assert_int_eq(run(&cfg, &m, &res, &model, &len), 0);
    ck_assert_uint_eq(res.stopped, 3);
    ck_assert_uint_eq(res.nhistory, 3);
    params_of(model, len, &ck);
    ck_assert_uint_eq(ck.epoch, 3);
    mlp_checkpoint_free(&ck);
    free(model);
    free(h.kept);
    mlp_train_result_free(&res);
    /* A failing hook: its status and message, no model. */
    memset(&h, 0, sizeof(h));
    h.fail = 1;
    ck_assert_int_eq(run(&cfg, &m, &res, &model, &len), MLP_EABORTED);
    ck_assert_msg_has("the hook says no");
    ck_assert_ptr_null(model);
    mlp_train_result_free(&res);
    /* The stop flag, set after epoch 1: interrupted at the first batch of
     * epoch 2, the model of epoch 1 kept. */
    memset(&h, 0, sizeof(h));
    h.flag = &stop;
    m.stop = &stop;
    ck_assert_int_eq(run(&cfg, &m, &res, &model, &len), MLP_EINTERRUPTED);
    ck_assert_msg_has("interrupted in epoch 2 after batch 0");
    params_of(model, len, &ck);
    ck_assert_uint_eq(ck.epoch, 1);
    ck_assert_uint_eq(ck.batches_done, 0);
    mlp_checkpoint_free(&ck);
    free(model);
    free(h.kept);
    mlp_train_result_free(&res);
    mlp_train_result_free(&ref);
}
END_TEST

/* ---- refusals ------------------------------------------------------- */

/* The arrays are checked as files are: each problem named. */
START_TEST(test_arrays_refused)
{
    mlp_dataset_arrays_t a;
    mlp_dataset_t *ds = NULL;
    float x[6] = {1, 2, 3, 4, 5, 6};
    uint8_t y[3] = {0, 1, 1};
    char names[2][MLP_CLASS_NAME_MAX] = {"cat", "dog"};

    memset(&a, 0, sizeof(a));
    a.train.x = x;
    a.train.y = y;
    a.train.n = 3;
    a.dim = 2;
    a.real = 1;
    a.nclasses = 2;
    a.x_name = "X";
    a.y_name = "y";
    ck_assert_int_eq(mlp_dataset_from_arrays(&a, &ds), 0);
    ck_assert_uint_eq(ds->rows, 1);
    ck_assert_uint_eq(ds->cols, 2);
    ck_assert_int_eq(ds->format[0], MLP_FORMAT_ARRAY);
    ck_assert_ptr_eq(ds->train.features, x); /* viewed, not copied */
    mlp_dataset_destroy(ds);
    a.nclasses = 1;
    ck_assert_int_eq(mlp_dataset_from_arrays(&a, &ds), MLP_EINVAL);
    ck_assert_msg_has("y: 1 class: a classifier needs at least 2 classes");
    a.nclasses = 2;
    y[2] = 2;
    ck_assert_int_eq(mlp_dataset_from_arrays(&a, &ds), MLP_EINVAL);
    ck_assert_msg_has("y: row 2: class 2 is not below the class count 2");
    y[2] = 1;
    x[3] = NAN;
    ck_assert_int_eq(mlp_dataset_from_arrays(&a, &ds), MLP_EINVAL);
    ck_assert_msg_has("X: row 1, column 1 is NaN");
    x[3] = INFINITY;
    ck_assert_int_eq(mlp_dataset_from_arrays(&a, &ds), MLP_EINVAL);
    ck_assert_msg_has("X: row 1, column 1 is infinite");
    x[3] = 4;
    a.rows = 3;
    a.cols = 3;
    ck_assert_int_eq(mlp_dataset_from_arrays(&a, &ds), MLP_EINVAL);
    ck_assert_msg_has("images of 3x3 are not rows of 2 features");
    a.rows = a.cols = 0;
    a.dim = 0;
    ck_assert_int_eq(mlp_dataset_from_arrays(&a, &ds), MLP_EINVAL);
    ck_assert_msg_has("0 features per row");
    a.dim = 2;
    a.train.n = 0;
    ck_assert_int_eq(mlp_dataset_from_arrays(&a, &ds), MLP_EINVAL);
    ck_assert_msg_has("no training samples");
    a.train.n = 3;
    a.names = (const char(*)[MLP_CLASS_NAME_MAX])names;
    ck_assert_int_eq(mlp_dataset_from_arrays(&a, &ds), 0);
    ck_assert_str_eq(ds->class_names[1], "dog");
    mlp_dataset_destroy(ds);
    strcpy(names[1], "cat");
    ck_assert_int_eq(mlp_dataset_from_arrays(&a, &ds), MLP_EINVAL);
    ck_assert_msg_has("classes 0 and 1 have the same name 'cat'");
    strcpy(names[1], "d\tg");
    ck_assert_int_eq(mlp_dataset_from_arrays(&a, &ds), MLP_EINVAL);
    ck_assert_msg_has("is not a class name");
    ck_assert_ptr_null(ds);
}
END_TEST

/* A warm start whose model does not fit the options or the data, or is
 * no checkpoint; options that do not go with a run in memory.  Each case
 * changes one thing in the 2-epoch warm start from a 1-epoch model. */
enum { W_HIDDEN, W_EPOCHS, W_CLASSES, W_INPUTS, W_CORRUPT, W_RESUME };
static const struct {
    int change;
    int rc;
    const char *msg;
} warm_refused[] = {
    {W_HIDDEN, MLP_EINVAL, "the model 'M' is 144-24-5 relu; the options ask "
                           "for 144-25-5 relu"},
    {W_EPOCHS, MLP_EUSAGE, "the model 'M' has completed 1 epochs"},
    {W_CLASSES, MLP_EINVAL, "the model 'M' has 5 classes, y has 6"},
    {W_INPUTS, MLP_EINVAL, "the model 'M' takes 144 inputs, X has 72"},
    {W_CORRUPT, MLP_EFORMAT, "M: "},
    {W_RESUME, MLP_EUSAGE, "a run in memory starts from its model in memory"},
};

START_TEST(test_warm_start_refused)
{
    mlp_config_t cfg;
    mlp_dataset_arrays_t a;
    mlp_train_mem_t m = {0};
    mlp_train_result_t res;
    uint8_t *model, *next;
    size_t len, nlen;

    config(&cfg);
    cfg.epochs = 1;
    arrays(&a, 0);
    m.data = &a;
    ck_assert_int_eq(run(&cfg, &m, &res, &model, &len), 0);
    mlp_train_result_free(&res);
    m.model = model;
    m.model_len = len;
    m.model_name = "M";
    cfg.epochs = 2;
    switch (warm_refused[_i].change) {
    case W_HIDDEN:
        cfg.hidden[0] = 25;
        break;
    case W_EPOCHS:
        cfg.epochs = 1;
        break;
    case W_CLASSES:
        a.nclasses = 6;
        break;
    case W_INPUTS:
        a.dim = 72;
        a.rows = 6;
        break;
    case W_CORRUPT:
        model[len - 1] ^= 1;
        break;
    case W_RESUME:
        snprintf(cfg.resume_path, sizeof(cfg.resume_path), "x.ckpt");
        break;
    }
    ck_assert_int_eq(run(&cfg, &m, &res, &next, &nlen), warm_refused[_i].rc);
    ck_assert_msg_has(warm_refused[_i].msg);
    ck_assert_ptr_null(next);
    mlp_train_result_free(&res);
    free(model);
}
END_TEST

static Suite *train_mem_suite(void)
{
    Suite *s = suite_create("train_mem");
    TCase *core = tu_tcase(s, "core", 60);
    TCase *errors = tu_tcase(s, "errors", 0);
    TCase *arr = tu_tcase(s, "arrays", 0);

    tcase_add_unchecked_fixture(core, make_data, rm_data);
    tcase_add_unchecked_fixture(errors, make_data, rm_data);
    tcase_set_tags(core, "dnnl");
    tcase_set_tags(errors, "dnnl");
    tcase_add_test(core, test_same_as_files);
    tcase_add_test(core, test_real_features_and_hold_out);
    tcase_add_test(core, test_warm_start_is_resume);
    tcase_add_test(core, test_warm_start_other_options);
    tcase_add_test(core, test_hook_and_stop);
    tcase_add_loop_test(errors, test_warm_start_refused, 0,
                        (int)(sizeof(warm_refused) / sizeof(warm_refused[0])));
    tcase_add_test(arr, test_arrays_refused);
    return s;
}

MLP_CHECK_MAIN(train_mem_suite)
