/*
 * Tests of trainer: learning on generated data, the same figures for any
 * number of loader workers, the log, early failures; and, when Debian's
 * Fashion-MNIST is installed, one epoch on 6000 of its samples.
 */
#define _GNU_SOURCE /* fopencookie */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "mlptrain/checkpoint.h"
#include "mlptrain/error.h"
#include "mlptrain/faults.h"
#include "mlptrain/optim.h"
#include "mlptrain/options.h"
#include "mlptrain/schedule.h"
#include "mlptrain/step.h"
#include "mlptrain/trainer.h"
#include "testutil.h"

/* The given bit of the option called n (options.h). */
#define GIVEN(id) mlp_options_bit(MLP_O(id))

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static char *datadir;

static void make_data(void)
{
    datadir = tu_mkdtemp();
    /* 16x16 images, 26 classes: nothing in the trainer may assume 28x28/10 */
    ck_assert_int_eq(tu_make_dataset(datadir, 1500, 300, 16, 16, 26, 5, 1), 0);
}

static void rm_data(void)
{
    tu_rmtree(datadir);
    datadir = NULL;
}

/*
 * Compute threads of every run: 2, or $MLP_TEST_THREADS.  The
 * ThreadSanitizer run (scripts/sanitize.sh) sets 1: libgomp and oneDNN are
 * not instrumented, so an OpenMP team's hand-offs look like races; with
 * one compute thread TSan still sees every loader thread.
 */
static int test_threads(void)
{
    const char *env = getenv("MLP_TEST_THREADS");

    return env != NULL && atoi(env) > 0 ? atoi(env) : 2;
}

static void small_config(mlp_config_t *cfg)
{
    mlp_config_defaults(cfg);
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", datadir);
    cfg->epochs = 3;
    cfg->batch = 64; /* 1500 = 23 * 64 + 28: a short last batch */
    cfg->hidden[0] = 32;
    cfg->threads = test_threads();
    cfg->workers = 2;
    cfg->quiet = 1;
}

START_TEST(test_learns_generated_data)
{
    mlp_config_t cfg;
    mlp_train_result_t res;

    small_config(&cfg);
    cfg.init_std = 0.1f;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    ck_assert_uint_eq(res.epochs, 3);
    /* chance is 1/26 */
    ck_assert_double_gt(res.history[2].test_acc, 0.8);
    ck_assert_double_lt(res.history[2].train_loss, res.history[0].train_loss);
    ck_assert_double_gt(res.history[2].samples_per_s, 0.0);
    mlp_train_result_free(&res);
}
END_TEST

START_TEST(test_each_activation_and_depth_learns)
{
    static const struct { mlp_act_t act; size_t nh; size_t h[2]; } cases[] = {
        {MLP_ACT_SIGMOID, 1, {32, 0}},
        {MLP_ACT_TANH, 2, {32, 16}},
        {MLP_ACT_RELU, 0, {0, 0}},
    };

    for (size_t i = 0; i < 3; i++) {
        mlp_config_t cfg;
        mlp_train_result_t res;

        small_config(&cfg);
        cfg.act = cases[i].act;
        cfg.nhidden = cases[i].nh;
        memcpy(cfg.hidden, cases[i].h, sizeof(cases[i].h));
        cfg.init_std = 0.1f;
        cfg.lr = 0.5f;
        cfg.epochs = 4;
        ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
        ck_assert_msg(res.history[3].test_acc > 0.5, "case %zu: acc %f", i,
                      res.history[3].test_acc);
        mlp_train_result_free(&res);
    }
}
END_TEST

START_TEST(test_same_figures_for_any_workers)
{
    static const unsigned workers[] = {0, 1, 3, 20};
    mlp_train_result_t ref;

    for (size_t i = 0; i < 4; i++) {
        mlp_config_t cfg;
        mlp_train_result_t res;

        small_config(&cfg);
        cfg.workers = workers[i];
        ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
        if (i == 0) {
            ref = res;
            continue;
        }
        for (unsigned e = 0; e < 3; e++) {
            ck_assert_double_eq(res.history[e].train_loss,
                                ref.history[e].train_loss);
            ck_assert_double_eq(res.history[e].train_acc,
                                ref.history[e].train_acc);
            ck_assert_double_eq(res.history[e].test_acc,
                                ref.history[e].test_acc);
        }
        mlp_train_result_free(&res);
    }
    mlp_train_result_free(&ref);
}
END_TEST

START_TEST(test_seed_changes_figures)
{
    mlp_config_t cfg;
    mlp_train_result_t a, b;

    small_config(&cfg);
    cfg.epochs = 1;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &a), 0);
    cfg.seed = 2;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &b), 0);
    ck_assert_double_ne(a.history[0].train_loss, b.history[0].train_loss);
    mlp_train_result_free(&a);
    mlp_train_result_free(&b);
}
END_TEST

START_TEST(test_log_records)
{
    mlp_config_t cfg;
    char *log = tu_path(datadir, "run.jsonl");
    size_t len;
    char *text;
    int lines = 0;

    small_config(&cfg);
    cfg.epochs = 2;
    snprintf(cfg.log_path, sizeof(cfg.log_path), "%s", log);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);
    text = (char *)tu_read_bytes(log, &len);
    ck_assert_ptr_nonnull(text);
    text[len] = '\0';
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    ck_assert_int_eq(lines, 4); /* run, 2 epochs, end */
    ck_assert_ptr_nonnull(strstr(text, "{\"type\":\"run\""));
    ck_assert_ptr_nonnull(strstr(text, "\"crc32\":\""));
    ck_assert_ptr_nonnull(strstr(text, "\"classes\":26"));
    ck_assert_ptr_nonnull(strstr(text, "{\"type\":\"epoch\",\"epoch\":2"));
    ck_assert_ptr_nonnull(strstr(text, "{\"type\":\"end\",\"status\":\"ok\""));
    free(text);
    free(log);
}
END_TEST

START_TEST(test_unwritable_log_fails_first)
{
    mlp_config_t cfg;

    small_config(&cfg);
    snprintf(cfg.log_path, sizeof(cfg.log_path), "%s/no/such/dir/x.jsonl",
             datadir);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EIO);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "no/such/dir/x.jsonl"));
}
END_TEST

START_TEST(test_missing_data_dir)
{
    mlp_config_t cfg;

    small_config(&cfg);
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s/nope", datadir);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EIO);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "nope"));
}
END_TEST

START_TEST(test_fashion_mnist_subset)
{
    mlp_config_t cfg;
    mlp_train_result_t res;

    tu_need_file(FASHION_DIR "/train-images-idx3-ubyte.gz",
                 "dataset-fashion-mnist");
    mlp_config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", FASHION_DIR);
    /* One epoch of 6000 samples is 23 steps at batch 256: too few for the
     * reference's lr 0.1.  Batch 32 with momentum makes 188 steps that
     * reach 0.72-0.78 over seeds 1-8 (the full recipe's first epoch: 0.76). */
    cfg.epochs = 1;
    cfg.limit_train = 6000;
    cfg.batch = 32;
    cfg.lr = 0.05f;
    cfg.momentum = 0.9f;
    cfg.quiet = 1;
    cfg.threads = test_threads();
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    ck_assert_double_gt(res.history[0].test_acc, 0.7);
    mlp_train_result_free(&res);
}
END_TEST

/* ---- checkpoints, interrupts, divergence ---------------------------- */

/* Epoch figures equal to the last digit. */
static void assert_same_epoch(const mlp_epoch_stats_t *a,
                              const mlp_epoch_stats_t *b)
{
    ck_assert_uint_eq(a->epoch, b->epoch);
    ck_assert_msg(a->train_loss == b->train_loss &&
                      a->train_acc == b->train_acc &&
                      a->test_loss == b->test_loss &&
                      a->test_acc == b->test_acc,
                  "epoch %u: loss %.17g/%.17g acc %.17g/%.17g test %.17g/%.17g",
                  a->epoch, a->train_loss, b->train_loss, a->train_acc,
                  b->train_acc, a->test_loss, b->test_loss);
}

/* The run every resume test compares with: 4 epochs, with momentum (so
 * the optimizer has state to carry). */
static void ref_config(mlp_config_t *cfg)
{
    small_config(cfg);
    cfg->epochs = 4;
    cfg->momentum = 0.9f;
    cfg->lr = 0.05f;
    cfg->weight_decay = 1e-4f;
    cfg->init_std = 0.1f;
}

static char *read_text(const char *path)
{
    size_t len;
    char *t = (char *)tu_read_bytes(path, &len);

    ck_assert_ptr_nonnull(t);
    t[len] = '\0';
    return t;
}

/* 4 epochs in one run == 2 epochs, then --resume to 4, digit for digit;
 * the resumed run takes every option from the checkpoint. */
START_TEST(test_resume_exact)
{
    mlp_config_t cfg;
    mlp_train_result_t ref, res;
    char *ck = tu_path(datadir, "exact.ckpt");
    mlp_checkpoint_t c;

    ref_config(&cfg);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &ref), 0);
    ck_assert_uint_eq(ref.nhistory, 4);

    cfg.epochs = 2;
    cfg.workers = 0; /* the figures do not depend on the workers */
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    mlp_train_result_free(&res);
    ck_assert_int_eq(mlp_checkpoint_load(ck, &c), 0);
    ck_assert_uint_eq(c.epoch, 2);
    ck_assert_uint_eq(c.batches_done, 0);
    ck_assert_uint_eq(c.nstate, c.nparams);
    mlp_checkpoint_free(&c);

    /* Defaults everywhere: the checkpoint decides. */
    small_config(&cfg);
    cfg.epochs = 4;
    cfg.workers = 3;
    snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    ck_assert_uint_eq(res.epochs, 4);
    ck_assert_uint_eq(res.first_epoch, 3);
    ck_assert_uint_eq(res.nhistory, 2);
    assert_same_epoch(&res.history[0], &ref.history[2]);
    assert_same_epoch(&res.history[1], &ref.history[3]);
    mlp_train_result_free(&res);
    mlp_train_result_free(&ref);
    free(ck);
}
END_TEST

/*
 * Interrupted mid-epoch (the test hook stands in for SIGINT): status
 * "interrupted" in the log, a checkpoint of that very batch, and a resumed
 * run that prints the uninterrupted run's figures.  Stops at a training
 * batch, at the end of an epoch's training (the test phase), and twice.
 */
START_TEST(test_interrupt_and_resume)
{
    /* 1500 samples in batches of 64: 24 training batches per epoch. */
    static const uint64_t stops[][2] = {{30, 0}, {24, 0}, {5, 40}};
    mlp_config_t cfg;
    mlp_train_result_t ref, res;
    char *ck = tu_path(datadir, "int.ckpt");
    char *log = tu_path(datadir, "int.jsonl");

    ref_config(&cfg);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &ref), 0);
    for (size_t i = 0; i < 3; i++) {
        mlp_checkpoint_t c;
        char *text;
        unsigned last = 0;

        unlink(ck);
        ref_config(&cfg);
        snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
        snprintf(cfg.log_path, sizeof(cfg.log_path), "%s", log);
        for (int k = 0; k < 2 && stops[i][k] > 0; k++) {
            mlp_fault_set_interrupt_after(stops[i][k]);
            ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), MLP_EINTERRUPTED);
            ck_assert_ptr_nonnull(strstr(mlp_error_message(), "interrupted in "
                                         "epoch"));
            ck_assert_ptr_nonnull(strstr(mlp_error_message(), "saved '"));
            mlp_train_result_free(&res);
            ck_assert_int_eq(mlp_checkpoint_load(ck, &c), 0);
            if (k == 0) {
                ck_assert_uint_eq(c.epoch, (stops[i][0] - 1) / 24);
                ck_assert_uint_eq(c.batches_done,
                                  stops[i][0] - 24 * c.epoch);
            }
            last = c.epoch;
            mlp_checkpoint_free(&c);
            text = read_text(log);
            ck_assert_ptr_nonnull(strstr(text, "{\"type\":\"end\",\"status\":"
                                               "\"interrupted\""));
            free(text);
            snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", ck);
        }
        mlp_fault_set_interrupt_after(0);
        ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
        ck_assert_uint_eq(res.first_epoch, last + 1);
        for (unsigned e = 0; e < res.nhistory; e++)
            assert_same_epoch(&res.history[e], &ref.history[last + e]);
        ck_assert_double_eq(res.best_test_acc, ref.best_test_acc);
        mlp_train_result_free(&res);
        /* The log holds every run, appended: the last ends "ok". */
        text = read_text(log);
        ck_assert_ptr_nonnull(strstr(text, "\"resume\":{\"path\":"));
        ck_assert_ptr_nonnull(strstr(text, "{\"type\":\"end\",\"status\":"
                                           "\"ok\""));
        free(text);
    }
    mlp_train_result_free(&ref);
    free(ck);
    free(log);
}
END_TEST

/*
 * The parallel step (step.h): in batch mode the figures are the same for
 * 1, 2 and 3 compute threads, with dropout (masks keyed by the row's place
 * in the global batch); --accum 2 of half the batch is the whole batch at
 * the same micro-batch partition (1500 rows: 23 x 64 + 28 = 46 x 32 + 28,
 * micro-batches of 16 cut both the same), and a different partition gives
 * other figures (the test can fail).  _i 0: f32; 1: bf16, whose figures
 * are its own (not f32's) and as independent of the threads.
 */
START_TEST(test_same_figures_for_any_threads_and_accum)
{
    mlp_config_t cfg;
    mlp_train_result_t ref, res;

    if (_i == 1 && !tu_bf16_here("test_same_figures_for_any_threads_and_accum"))
        return;
    ref_config(&cfg);
    cfg.epochs = 2;
    cfg.dropout = 0.25f;
    cfg.micro = 16;
    cfg.parallel = MLP_PAR_BATCH;
    cfg.threads = 1;
    if (_i == 1) {
        cfg.input_dropout = 0.1f;
        cfg.augment.shift = 1;
        cfg.augment.flip = 1;
        ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
        cfg.precision = MLP_PREC_BF16;
        ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &ref), 0);
        ck_assert(res.history[1].train_loss != ref.history[1].train_loss);
        ck_assert_double_eq_tol(res.history[1].train_loss,
                                ref.history[1].train_loss,
                                0.02 * ref.history[1].train_loss);
        mlp_train_result_free(&res);
    } else {
        ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &ref), 0);
    }
    for (int t = 2; t <= 3; t++) {
        cfg.threads = t;
        cfg.workers = (unsigned)t - 1;
        ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
        for (unsigned e = 0; e < 2; e++)
            assert_same_epoch(&res.history[e], &ref.history[e]);
        mlp_train_result_free(&res);
    }
    cfg.batch = 32;
    cfg.accum = 2;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    for (unsigned e = 0; e < 2; e++)
        assert_same_epoch(&res.history[e], &ref.history[e]);
    mlp_train_result_free(&res);
    cfg.micro = 32;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    ck_assert(res.history[1].train_loss != ref.history[1].train_loss);
    mlp_train_result_free(&res);
    mlp_train_result_free(&ref);
}
END_TEST

/*
 * Interrupted mid-epoch with --accum 3: the stop waits for the global
 * step's end (after batch 33 of 47, not 31), and the resumed run prints
 * the uninterrupted run's figures, the short last step of each epoch (47
 * batches: 15 steps of 3 and one of 2) included.
 */
START_TEST(test_interrupt_and_resume_accum)
{
    mlp_config_t cfg;
    mlp_train_result_t ref, res;
    mlp_checkpoint_t c;
    char *ck = tu_path(datadir, "accum.ckpt");

    ref_config(&cfg);
    cfg.epochs = 3;
    cfg.batch = 32;
    cfg.accum = 3;
    cfg.optimizer = MLP_OPTIM_ADAM;
    cfg.momentum = 0.0f;
    cfg.lr = 0.002f;
    cfg.schedule = MLP_SCHED_COSINE;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &ref), 0);
    unlink(ck);
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
    mlp_fault_set_interrupt_after(47 + 31);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), MLP_EINTERRUPTED);
    mlp_fault_set_interrupt_after(0);
    mlp_train_result_free(&res);
    ck_assert_int_eq(mlp_checkpoint_load(ck, &c), 0);
    ck_assert_uint_eq(c.epoch, 1);
    ck_assert_uint_eq(c.batches_done, 33);
    ck_assert_uint_eq(c.opt_steps, 16 + 11);
    mlp_checkpoint_free(&c);
    snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    ck_assert_uint_eq(res.first_epoch, 2);
    for (unsigned e = 0; e < res.nhistory; e++)
        assert_same_epoch(&res.history[e], &ref.history[1 + e]);
    mlp_train_result_free(&res);
    mlp_train_result_free(&ref);
    free(ck);
}
END_TEST

/* A stream that raises `raise_sig` when an epoch line is written to it:
 * a signal that certainly arrives while the batch loop runs. */
static int raise_sig;

static ssize_t raise_on_epoch(void *cookie, const char *buf, size_t n)
{
    (void)cookie;
    if (n >= 6 && strncmp(buf, "epoch ", 6) == 0)
        raise(raise_sig);
    return (ssize_t)n;
}

/*
 * The signal handlers, in a child: before the batch loop a SIGINT (or
 * SIGTERM) takes the caller's disposition (here the default: death), never
 * a flag nobody reads yet; in the loop a first one only asks the trainer to
 * stop, and it does; a second one kills at once.
 */
START_TEST(test_signals)
{
    static const int sigs[2] = {SIGINT, SIGTERM};

    for (int i = 0; i < 2; i++) {
        for (int early = 0; early < 2; early++) {
            pid_t pid = fork();
            int st;

            ck_assert_int_ge(pid, 0);
            if (pid == 0) {
                cookie_io_functions_t io = {NULL, raise_on_epoch, NULL, NULL};
                mlp_config_t cfg;
                FILE *out = fopencookie(NULL, "w", io);

                if (out == NULL)
                    _exit(13);
                setvbuf(out, NULL, _IOLBF, 0);
                small_config(&cfg);
                cfg.epochs = 2;
                cfg.quiet = 0;
                raise_sig = sigs[i];
                signal(sigs[i], SIG_DFL); /* not Check's handler */
                if (mlp_train_catch_signals() != 0)
                    _exit(10);
                if (early)
                    raise(sigs[i]); /* start-up: the default action */
                if (mlp_train(&cfg, out, NULL, NULL) != MLP_EINTERRUPTED)
                    _exit(11);
                raise(sigs[i]); /* the default action again */
                _exit(12);
            }
            ck_assert_int_eq(waitpid(pid, &st, 0), pid);
            ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == sigs[i],
                          "signal %d (early %d): status %d", sigs[i], early,
                          st);
        }
    }
}
END_TEST

/*
 * Every optimizer, schedule and regulariser: interrupted at training batch
 * 30 (in epoch 2) and resumed from the checkpoint alone (only the data,
 * the threads and --epochs given again: the checkpoint keeps every option
 * that changes the figures, the optimizer's state and step count, and the
 * validation state), the run prints the uninterrupted run's figures digit
 * for digit.  Dropout's masks and the augmentation's draws are recomputed
 * from (seed, epoch, batch or sample); nothing of them is saved.
 */
static void resume_case(int i, mlp_config_t *cfg)
{
    ref_config(cfg);
    switch (i) {
    case 0: /* SGD with momentum; dropout, smoothing, He init, clipped
             * gradients */
        cfg->dropout = 0.3f;
        cfg->input_dropout = 0.1f;
        cfg->label_smoothing = 0.1f;
        cfg->init = MLP_INIT_HE;
        cfg->init_std = 0.01f; /* --init-std is --init normal's */
        cfg->clip_grad = 0.5f;
        break;
    case 1: /* Adam, cosine after a warm-up, dropout, augmentation */
        cfg->optimizer = MLP_OPTIM_ADAM;
        cfg->momentum = 0.0f;
        cfg->lr = 0.002f;
        cfg->schedule = MLP_SCHED_COSINE;
        cfg->warmup = 0.5f;
        cfg->lr_min = 1e-5f;
        cfg->dropout = 0.2f;
        cfg->augment = (mlp_augment_t){1, 1};
        break;
    case 2: /* AdamW, one cycle, smoothing, a validation split, early stop */
        cfg->optimizer = MLP_OPTIM_ADAMW;
        cfg->momentum = 0.0f;
        cfg->lr = 0.003f;
        cfg->weight_decay = 0.05f;
        cfg->beta2 = 0.99f;
        cfg->schedule = MLP_SCHED_ONECYCLE;
        cfg->label_smoothing = 0.05f;
        cfg->val = 200;
        cfg->early_stop = 5;
        break;
    default: /* Nesterov, step schedule, Xavier, shifts */
        cfg->nesterov = 1;
        cfg->schedule = MLP_SCHED_STEP;
        cfg->lr_step = 1.0f;
        cfg->lr_gamma = 0.5f;
        cfg->init = MLP_INIT_XAVIER;
        cfg->init_std = 0.01f;
        cfg->augment = (mlp_augment_t){2, 0};
        break;
    }
}

START_TEST(test_interrupt_and_resume_each_optimizer)
{
    mlp_config_t cfg, again;
    mlp_train_result_t ref, res;
    char *ck = tu_path(datadir, "each.ckpt");

    resume_case(_i, &cfg);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &ref), 0);
    if (cfg.clip_grad > 0.0f) { /* the clip does clip this run */
        again = cfg;
        again.clip_grad = 0.0f;
        ck_assert_int_eq(mlp_train(&again, NULL, NULL, &res), 0);
        ck_assert(res.history[0].train_loss != ref.history[0].train_loss);
        mlp_train_result_free(&res);
    }
    unlink(ck);
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
    mlp_fault_set_interrupt_after(30);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), MLP_EINTERRUPTED);
    mlp_train_result_free(&res);
    mlp_fault_set_interrupt_after(0);
    small_config(&again);
    again.epochs = cfg.epochs;
    snprintf(again.resume_path, sizeof(again.resume_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&again, NULL, NULL, &res), 0);
    ck_assert_uint_eq(res.first_epoch, 2);
    ck_assert_uint_eq(res.nhistory, ref.nhistory - 1);
    for (unsigned e = 0; e < res.nhistory; e++) {
        assert_same_epoch(&res.history[e], &ref.history[1 + e]);
        ck_assert(res.history[e].val_acc == ref.history[1 + e].val_acc &&
                  res.history[e].val_loss == ref.history[1 + e].val_loss &&
                  res.history[e].lr == ref.history[1 + e].lr);
    }
    ck_assert_uint_eq(res.best_epoch, ref.best_epoch);
    ck_assert(res.best_test_acc == ref.best_test_acc);
    mlp_train_result_free(&res);
    mlp_train_result_free(&ref);
    free(ck);
}
END_TEST

/* mlp_train_interrupt before the run: honoured at the first batch, then
 * cleared; without --save nothing is written. */
START_TEST(test_interrupt_request)
{
    mlp_config_t cfg;
    mlp_train_result_t res;

    small_config(&cfg);
    mlp_train_interrupt();
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), MLP_EINTERRUPTED);
    ck_assert_uint_eq(res.epochs, 0);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(),
                                 "interrupted in epoch 1 after batch 0"));
    mlp_train_result_free(&res);
    cfg.epochs = 1;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);
}
END_TEST

/* The text f holds (rewound), malloc'd. */
static char *stream_text(FILE *f)
{
    long n;
    char *t;

    fflush(f);
    n = ftell(f);
    ck_assert_int_ge(n, 0);
    t = calloc(1, (size_t)n + 1);
    ck_assert_ptr_nonnull(t);
    rewind(f);
    ck_assert_uint_eq(fread(t, 1, (size_t)n, f), (size_t)n);
    return t;
}

/*
 * A run that ends before its first epoch finishes still prints its status
 * line, even quiet, and its end record has null, not 0, for the figures
 * that do not exist (issue 10, point 11).
 */
START_TEST(test_early_end_status_line)
{
    static const struct {
        int interrupt;
        const char *line, *status;
        int rc;
    } cases[] = {
        {1, "interrupted: 0 epochs in ", "\"status\":\"interrupted\"",
         MLP_EINTERRUPTED},
        {0, "diverged: 0 epochs in ", "\"status\":\"diverged\"",
         MLP_EDIVERGED},
    };
    char *log = tu_path(datadir, "early.jsonl");

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mlp_config_t cfg;
        FILE *out = tmpfile();
        char *text, *end;

        ck_assert_ptr_nonnull(out);
        small_config(&cfg); /* quiet */
        snprintf(cfg.log_path, sizeof(cfg.log_path), "%s", log);
        mlp_fault_set_interrupt_after(cases[i].interrupt ? 1 : 0);
        if (!cases[i].interrupt)
            cfg.max_loss = 1e-6f; /* the first batch diverges */
        ck_assert_int_eq(mlp_train(&cfg, out, NULL, NULL), cases[i].rc);
        mlp_fault_set_interrupt_after(0);
        text = stream_text(out);
        ck_assert_msg(strncmp(text, cases[i].line, strlen(cases[i].line)) ==
                          0,
                      "stdout: '%s'", text);
        ck_assert_ptr_nonnull(strstr(text, "epoch 1"));
        /* one line: the status line */
        ck_assert_ptr_eq(strchr(text, '\n'), text + strlen(text) - 1);
        free(text);
        fclose(out);
        text = read_text(log);
        end = strstr(text, "{\"type\":\"end\"");
        ck_assert_ptr_nonnull(end);
        ck_assert_ptr_nonnull(strstr(end, cases[i].status));
        ck_assert_ptr_nonnull(strstr(end, "\"epochs\":0,"));
        ck_assert_ptr_nonnull(strstr(end, "\"samples_per_s\":null"));
        ck_assert_ptr_nonnull(strstr(end, "\"final_test_acc\":null"));
        ck_assert_ptr_nonnull(strstr(end, "\"best_test_acc\":null"));
        ck_assert_ptr_nonnull(strstr(end, "\"best_epoch\":null"));
        ck_assert_ptr_null(strstr(text, "inf"));
        ck_assert_ptr_null(strstr(text, "nan"));
        free(text);
    }
    free(log);
}
END_TEST

/* A test set without images: an error, not "test acc 0.0000". */
START_TEST(test_empty_test_set)
{
    char *dir = tu_mkdtemp();
    mlp_config_t cfg;

    ck_assert_int_eq(tu_make_dataset(dir, 200, 0, 8, 8, 3, 5, 0), 0);
    small_config(&cfg);
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", dir);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EINVAL);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "no test images"));
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "t10k-images"));
    tu_rmtree(dir);
}
END_TEST

/*
 * Divergence (weight decay times learning rate above 2 makes the weights
 * grow geometrically): MLP_EDIVERGED naming the epoch and batch, status
 * "diverged", and the checkpoint is the last good epoch's, byte for byte
 * what a run stopped there writes.
 */
START_TEST(test_diverged_keeps_last_checkpoint)
{
    mlp_config_t cfg;
    mlp_train_result_t res;
    char *c1 = tu_path(datadir, "div1.ckpt"), *c2 = tu_path(datadir,
                                                           "div2.ckpt");
    char *log = tu_path(datadir, "div.jsonl"), *text;
    uint8_t *b1, *b2;
    size_t l1, l2;
    unsigned good;

    small_config(&cfg);
    cfg.lr = 1.0f;
    cfg.weight_decay = 2.05f;
    cfg.max_loss = -1.0f; /* only non-finite values: a good epoch first */
    cfg.epochs = 30;
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", c1);
    snprintf(cfg.log_path, sizeof(cfg.log_path), "%s", log);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), MLP_EDIVERGED);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "epoch "));
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "is not finite"));
    good = res.epochs;
    mlp_train_result_free(&res);
    ck_assert_uint_ge(good, 1); /* else this test proves nothing */
    text = read_text(log);
    ck_assert_ptr_nonnull(strstr(text, "\"status\":\"diverged\""));
    free(text);

    cfg.epochs = good;
    cfg.log_path[0] = '\0';
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", c2);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);
    b1 = tu_read_bytes(c1, &l1);
    b2 = tu_read_bytes(c2, &l2);
    ck_assert_ptr_nonnull(b1);
    ck_assert_ptr_nonnull(b2);
    ck_assert_uint_eq(l1, l2);
    ck_assert(memcmp(b1, b2, l1) == 0);
    free(b1);
    free(b2);
    free(c1);
    free(c2);
    free(log);
}
END_TEST

/* Weights that overflow in an epoch's last step: the loss never saw them,
 * the once-per-epoch check does, before anything is saved. */
START_TEST(test_diverged_weights)
{
    mlp_config_t cfg;
    char *ck = tu_path(datadir, "w.ckpt");

    small_config(&cfg);
    cfg.batch = 2048; /* one training batch per epoch */
    cfg.lr = 1e30f;
    cfg.weight_decay = 1e30f;
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EDIVERGED);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(),
                                 "epoch 1 batch 1: a weight is not finite"));
    ck_assert_int_eq(access(ck, F_OK), -1);
    free(ck);
}
END_TEST

START_TEST(test_resume_errors)
{
    mlp_config_t cfg;
    char *ck = tu_path(datadir, "opts.ckpt"), *other = tu_mkdtemp();
    uint8_t *bytes;
    size_t len;

    ref_config(&cfg);
    cfg.epochs = 1;
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);

    small_config(&cfg);
    snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", ck);
    /* An option given with another value than the checkpoint's (--lr is
     * free: test_resume_lr_override). */
    cfg.momentum = 0.5f;
    cfg.given = GIVEN(MOMENTUM);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(),
                                 "option '--momentum': 0.5 conflicts with "
                                 "the checkpoint '"));
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "opts.ckpt' (0.9)"));
    cfg.momentum = 0.0f;
    cfg.given = GIVEN(HIDDEN);
    cfg.hidden[0] = 33;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "'--hidden': 33 "));
    cfg.given = GIVEN(SEED) | GIVEN(BATCH);
    cfg.hidden[0] = 32;
    cfg.batch = 100;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "'--batch': 100 "));
    /* Given with the checkpoint's own value: fine.  --epochs must grow. */
    cfg.batch = 64;
    cfg.given = GIVEN(BATCH) | GIVEN(HIDDEN) | GIVEN(SEED);
    cfg.epochs = 1;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(),
                                 "has completed 1 epochs; --epochs is the "
                                 "total"));
    cfg.epochs = 2;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);

    /* Data of another shape, or another training-set size. */
    ck_assert_int_eq(tu_make_dataset(other, 1500, 300, 8, 8, 26, 5, 0), 0);
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", other);
    cfg.epochs = 3;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EINVAL);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(),
                                 "was trained on 16x16 images, the data in"));
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", datadir);
    cfg.limit_train = 1000;
    cfg.given = GIVEN(LIMIT_TRAIN);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "'--limit-train'"));

    /* A corrupt or missing checkpoint. */
    cfg.given = 0;
    cfg.limit_train = 0;
    bytes = tu_read_bytes(ck, &len);
    ck_assert_ptr_nonnull(bytes);
    bytes[len / 2] ^= 1;
    ck_assert_int_eq(tu_write_bytes(ck, bytes, len), 0);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EFORMAT);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "checksum mismatch"));
    ck_assert_int_eq(tu_write_bytes(ck, bytes, len / 2), 0);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EFORMAT);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "truncated"));
    unlink(ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EIO);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "cannot open '"));
    free(bytes);
    free(ck);
    tu_rmtree(other);
}
END_TEST

/* Outputs are checked before the data is read or anything trained. */
/*
 * --resume without --save goes on saving into the resumed file; a new --lr
 * (fine-tuning) is taken, logged as an override and kept by the checkpoint.
 */
START_TEST(test_resume_lr_override)
{
    mlp_config_t cfg;
    mlp_checkpoint_t c;
    char *ck = tu_path(datadir, "ft.ckpt");
    char *log = tu_path(datadir, "ft.jsonl");
    char *text;

    unlink(ck);
    unlink(log);
    ref_config(&cfg);
    cfg.epochs = 1;
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);

    small_config(&cfg);
    cfg.epochs = 2;
    snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", ck);
    snprintf(cfg.log_path, sizeof(cfg.log_path), "%s", log);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);
    ck_assert_int_eq(mlp_checkpoint_load(ck, &c), 0);
    ck_assert_uint_eq(c.epoch, 2);
    ck_assert_float_eq(c.lr, 0.05f);
    mlp_checkpoint_free(&c);
    text = read_text(log);
    ck_assert_ptr_null(strstr(text, "\"overrides\""));
    free(text);

    cfg.epochs = 3;
    cfg.lr = 0.01f;
    cfg.given = GIVEN(LR);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);
    ck_assert_int_eq(mlp_checkpoint_load(ck, &c), 0);
    ck_assert_uint_eq(c.epoch, 3);
    ck_assert_float_eq(c.lr, 0.01f);
    mlp_checkpoint_free(&c);
    text = read_text(log);
    ck_assert_ptr_nonnull(strstr(text, "\"overrides\":{\"lr\":"
                                       "{\"checkpoint\":0.05,"
                                       "\"used\":0.01}}"));
    free(text);
    free(ck);
    free(log);
}
END_TEST

/*
 * bf16: interrupted mid-epoch, the resumed run prints the uninterrupted
 * run's figures (the checkpoint keeps bf16: a resume asks nothing); a
 * resume given another precision (the rest of a bf16 run in f32) is taken,
 * said as an override in the log and kept by the next checkpoint.
 */
START_TEST(test_resume_bf16)
{
    mlp_config_t cfg;
    mlp_train_result_t ref, res;
    mlp_config_t *ckcfg = malloc(sizeof(*ckcfg));
    mlp_checkpoint_t c;
    char *ck = tu_path(datadir, "bf.ckpt");
    char *log = tu_path(datadir, "bf.jsonl");
    char *text;

    if (!tu_bf16_here("test_resume_bf16"))
        goto out;
    ref_config(&cfg);
    cfg.precision = MLP_PREC_BF16;
    cfg.epochs = 3;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &ref), 0);
    unlink(ck);
    unlink(log);
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
    mlp_fault_set_interrupt_after(24 + 10);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), MLP_EINTERRUPTED);
    mlp_fault_set_interrupt_after(0);
    mlp_train_result_free(&res);
    small_config(&cfg); /* the checkpoint decides, precision included */
    cfg.epochs = 3;
    snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", ck);
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    ck_assert_uint_eq(res.first_epoch, 2);
    for (unsigned e = 0; e < res.nhistory; e++)
        assert_same_epoch(&res.history[e], &ref.history[1 + e]);
    mlp_train_result_free(&res);
    ck_assert_int_eq(mlp_checkpoint_load(ck, &c), 0);
    ck_assert_int_eq(mlp_train_checkpoint_config(&c, ck, ckcfg), 0);
    ck_assert_int_eq(ckcfg->precision, MLP_PREC_BF16);
    mlp_checkpoint_free(&c);
    /* The fourth epoch in f32: an override, kept. */
    cfg.epochs = 4;
    cfg.precision = MLP_PREC_F32;
    cfg.given = GIVEN(PRECISION);
    snprintf(cfg.log_path, sizeof(cfg.log_path), "%s", log);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    mlp_train_result_free(&res);
    text = read_text(log);
    ck_assert_ptr_nonnull(strstr(text, "\"overrides\":{\"precision\":"
                                       "{\"checkpoint\":\"bf16\","
                                       "\"used\":\"f32\"}}"));
    free(text);
    ck_assert_int_eq(mlp_checkpoint_load(ck, &c), 0);
    ck_assert_int_eq(mlp_train_checkpoint_config(&c, ck, ckcfg), 0);
    ck_assert_int_eq(ckcfg->precision, MLP_PREC_F32);
    mlp_checkpoint_free(&c);
    mlp_train_result_free(&ref);
out:
    free(ckcfg);
    free(ck);
    free(log);
}
END_TEST

START_TEST(test_unwritable_save_fails_first)
{
    mlp_config_t cfg;

    small_config(&cfg);
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s/no/such/x.ckpt",
             datadir);
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s/not-read", datadir);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EIO);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "no/such/x.ckpt"));
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", datadir);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EIO);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "is a directory"));
}
END_TEST

/* A model that cannot fit is refused before anything is allocated. */
START_TEST(test_out_of_memory_refused)
{
    mlp_config_t cfg;

    small_config(&cfg);
    cfg.nhidden = 2;
    cfg.hidden[0] = 16000000;
    cfg.hidden[1] = 16000000;
    cfg.batch = 1000000;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_ENOMEM);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "not enough memory"));
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "GiB is available"));
}
END_TEST

/* ---- validation ------------------------------------------------------- */

/* small_config with 300 of the 1500 training samples held out. */
static void val_config(mlp_config_t *cfg)
{
    small_config(cfg);
    cfg->val = 300;
    cfg->epochs = 5;
    cfg->init_std = 0.1f;
    cfg->lr = 0.3f;
}

/* The epoch a run should call best: the highest validation accuracy, the
 * first on ties. */
static unsigned argmax_val(const mlp_train_result_t *r)
{
    unsigned best = 0;

    for (unsigned i = 0; i < r->nhistory; i++)
        if (best == 0 || r->history[i].val_acc > r->history[best - 1].val_acc)
            best = i + 1;
    return best;
}

/* Validation figures every epoch, in (0, 1], identical for any -j; the
 * best epoch is chosen by them and its test accuracy reported. */
START_TEST(test_val_best_epoch)
{
    static const unsigned workers[] = {0, 3};
    mlp_train_result_t ref;

    for (size_t w = 0; w < 2; w++) {
        mlp_config_t cfg;
        mlp_train_result_t res;
        unsigned best;

        val_config(&cfg);
        cfg.workers = workers[w];
        ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
        ck_assert_uint_eq(res.nhistory, 5);
        for (unsigned e = 0; e < 5; e++) {
            ck_assert(res.history[e].has_val);
            ck_assert_double_gt(res.history[e].val_loss, 0.0);
            ck_assert_double_gt(res.history[e].val_acc, 0.0);
            ck_assert_double_le(res.history[e].val_acc, 1.0);
            /* an accuracy over 300 samples */
            ck_assert_double_eq_tol(res.history[e].val_acc * 300.0,
                                    nearbyint(res.history[e].val_acc * 300.0),
                                    1e-9);
        }
        best = argmax_val(&res);
        ck_assert_uint_eq(res.best_epoch, best);
        ck_assert_double_eq(res.best_val_acc, res.history[best - 1].val_acc);
        ck_assert_double_eq(res.best_test_acc,
                            res.history[best - 1].test_acc);
        ck_assert_uint_eq(res.stopped_early, 0);
        if (w == 0) {
            ref = res;
            continue;
        }
        for (unsigned e = 0; e < 5; e++) {
            ck_assert_double_eq(res.history[e].val_loss,
                                ref.history[e].val_loss);
            ck_assert_double_eq(res.history[e].val_acc,
                                ref.history[e].val_acc);
            ck_assert_double_eq(res.history[e].train_loss,
                                ref.history[e].train_loss);
            ck_assert_double_eq(res.history[e].test_acc,
                                ref.history[e].test_acc);
        }
        mlp_train_result_free(&res);
    }
    mlp_train_result_free(&ref);
}
END_TEST

/* Holding out changes what is trained on; without --val there are no
 * validation figures and the best epoch is the test set's. */
START_TEST(test_val_changes_training)
{
    mlp_config_t cfg;
    mlp_train_result_t a, b;
    unsigned best = 0;

    val_config(&cfg);
    cfg.epochs = 2;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &a), 0);
    cfg.val = 0;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &b), 0);
    ck_assert_double_ne(a.history[0].train_loss, b.history[0].train_loss);
    ck_assert(!b.history[0].has_val);
    for (unsigned i = 0; i < b.nhistory; i++)
        if (best == 0 || b.history[i].test_acc > b.history[best - 1].test_acc)
            best = i + 1;
    ck_assert_uint_eq(b.best_epoch, best);
    mlp_train_result_free(&a);
    mlp_train_result_free(&b);
}
END_TEST

/* --save-best holds the best epoch's model: the very parameters a run
 * stopped at that epoch saves. */
START_TEST(test_save_best)
{
    mlp_config_t cfg;
    mlp_train_result_t res;
    char *best = tu_path(datadir, "best.ckpt");
    char *upto = tu_path(datadir, "upto.ckpt");
    mlp_checkpoint_t b, u;

    val_config(&cfg);
    cfg.epochs = 6;
    cfg.lr = 0.8f; /* noisy enough that the best is not always the last */
    snprintf(cfg.save_best_path, sizeof(cfg.save_best_path), "%s", best);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    ck_assert_uint_eq(res.best_epoch, argmax_val(&res));
    ck_assert_int_eq(mlp_checkpoint_load(best, &b), 0);
    ck_assert_uint_eq(b.epoch, res.best_epoch);
    ck_assert_uint_eq(b.best_epoch, res.best_epoch);
    ck_assert_uint_eq(b.batches_done, 0);
    ck_assert_double_eq(b.best_test_acc, res.best_test_acc);

    cfg.epochs = res.best_epoch;
    cfg.save_best_path[0] = '\0';
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", upto);
    mlp_train_result_free(&res);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    ck_assert_int_eq(mlp_checkpoint_load(upto, &u), 0);
    ck_assert_uint_eq(u.epoch, b.epoch);
    ck_assert_uint_eq(u.nparams, b.nparams);
    ck_assert_mem_eq(u.params, b.params, b.nparams * sizeof(float));
    mlp_checkpoint_free(&b);
    mlp_checkpoint_free(&u);
    mlp_train_result_free(&res);
    free(best);
    free(upto);
}
END_TEST

/* --early-stop K: the run ends, ok, K epochs after its lowest validation
 * loss.  A learning rate too small to move a weight keeps the loss the
 * same every epoch: epoch 1 stays the lowest, the run stops at 1 + K. */
START_TEST(test_early_stop)
{
    mlp_config_t cfg;
    mlp_train_result_t res;
    char *log = tu_path(datadir, "early-stop.jsonl");
    FILE *out = tmpfile();
    char *text;

    ck_assert_ptr_nonnull(out);
    val_config(&cfg);
    cfg.epochs = 10;
    cfg.lr = 1e-30f;
    cfg.early_stop = 3;
    snprintf(cfg.log_path, sizeof(cfg.log_path), "%s", log);
    ck_assert_int_eq(mlp_train(&cfg, out, NULL, &res), 0);
    ck_assert_uint_eq(res.epochs, 4);
    ck_assert_uint_eq(res.stopped_early, 4);
    ck_assert_double_eq(res.history[3].val_loss, res.history[0].val_loss);
    text = stream_text(out);
    ck_assert_msg(strncmp(text, "ok: 4 epochs", 12) == 0, "'%s'", text);
    ck_assert_ptr_nonnull(strstr(text, "stopped early at epoch 4 (no better "
                                       "val loss for 3 epochs)"));
    free(text);
    fclose(out);
    text = read_text(log);
    ck_assert_ptr_nonnull(strstr(text, "\"status\":\"ok\""));
    ck_assert_ptr_nonnull(strstr(text, "\"stopped_early\":4"));
    ck_assert_ptr_nonnull(strstr(text, "\"val_acc\":"));
    free(text);
    mlp_train_result_free(&res);

    /* Learning: it stops exactly where the history says K epochs passed
     * without a lower loss, or runs to the end. */
    val_config(&cfg);
    cfg.epochs = 12;
    cfg.lr = 2.0f;
    cfg.early_stop = 2;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    {
        unsigned low = 0, want = 0;

        for (unsigned i = 0; i < res.nhistory && want == 0; i++) {
            if (low == 0 ||
                res.history[i].val_loss < res.history[low - 1].val_loss)
                low = i + 1;
            if (i + 1 - low >= 2)
                want = i + 1;
        }
        ck_assert_uint_eq(res.stopped_early, want);
        ck_assert_uint_eq(res.epochs, want ? want : 12);
    }
    mlp_train_result_free(&res);
    free(log);
}
END_TEST

/* --save-best and --early-stop need --val; --val needs samples left. */
START_TEST(test_val_usage_errors)
{
    mlp_config_t cfg;
    char *best = tu_path(datadir, "nb.ckpt");

    small_config(&cfg);
    snprintf(cfg.save_best_path, sizeof(cfg.save_best_path), "%s", best);
    mlp_error_clear();
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "'--save-best'"));
    ck_assert_int_eq(access(best, F_OK), -1);

    small_config(&cfg);
    cfg.early_stop = 2;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "'--early-stop'"));

    small_config(&cfg);
    cfg.limit_train = 500;
    cfg.val = 500;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "'--val': 500"));

    /* --save-best may not be another output */
    small_config(&cfg);
    cfg.val = 100;
    snprintf(cfg.save_best_path, sizeof(cfg.save_best_path), "%s", best);
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", best);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), MLP_EUSAGE);
    ck_assert_ptr_nonnull(strstr(mlp_error_message(), "--save-best"));
    free(best);
}
END_TEST

/*
 * Issue 20, bug 8: a checkpoint whose CRC is right but whose header does
 * not fit its options text is refused before anything is trained: it
 * used to skip a whole epoch (header batch 1), log accuracies above 1 or
 * a 300-digit loss, and take the last of two lines naming one option.
 * Each file is written by the encoder (a valid CRC) from a good one.
 */
static void craft(const mlp_checkpoint_t *good, const char *path,
                  void (*edit)(mlp_checkpoint_t *c))
{
    mlp_checkpoint_t c = *good;
    char *text = malloc(good->options_len + 64);

    ck_assert_ptr_nonnull(text);
    memcpy(text, good->options, good->options_len + 1);
    c.options = text;
    edit(&c);
    ck_assert_int_eq(mlp_checkpoint_save(path, &c), 0);
    free(text);
}

static void header_batch_1(mlp_checkpoint_t *c)
{
    c->batch = 1; /* the options text says 64 */
    c->batches_done = c->ntrain;
    /* the steps the resumed run counts (64-row batches, then these): the
     * file passed every check but the header's against the text */
    c->opt_steps += c->batches_done;
}

static void correct_above_rows(mlp_checkpoint_t *c)
{
    c->batches_done = 1;
    c->partial_correct = 1400; /* of 64 rows */
    c->partial_loss_sum = 100.0;
}

static void huge_loss(mlp_checkpoint_t *c)
{
    c->batches_done = 1;
    c->partial_correct = 10;
    c->partial_loss_sum = 1e300;
}

static void duplicate_line(mlp_checkpoint_t *c)
{
    strcat(c->options, "lr=0.5\n");
    c->options_len = strlen(c->options);
}

static void text_batch(mlp_checkpoint_t *c)
{
    char *b = strstr(c->options, "batch=64\n");

    ck_assert_ptr_nonnull(b);
    memcpy(b, "batch=32\n", 9); /* the header says 64 */
}

static void val_figures_without_val(mlp_checkpoint_t *c)
{
    c->best_val_epoch = 1;
    c->best_val_acc = 0.5;
    c->best_val_loss = 1.0;
    c->best_val_loss_epoch = 1;
}

static void state_without_momentum(mlp_checkpoint_t *c)
{
    char *m = strstr(c->options, "momentum=0.899999976\n");

    ck_assert_ptr_nonnull(m);
    /* plain SGD keeps no state, but the file holds the velocities */
    memmove(m + 11, m + 21, strlen(m + 21) + 1);
    memcpy(m, "momentum=0\n", 11);
    c->options_len = strlen(c->options);
    c->momentum = 0.0f;
}

START_TEST(test_crafted_checkpoints)
{
    static const struct {
        void (*edit)(mlp_checkpoint_t *c);
        const char *msg;
    } cases[] = {
        {header_batch_1, "the header's batch is 1, the options text's 64"},
        {correct_above_rows, "1400 correct of the 64 rows"},
        {huge_loss, "a loss sum of 1e+300 over 64 rows"},
        {duplicate_line, "option 'lr' is on options lines"},
        {text_batch, "the header's batch is 64, the options text's 32"},
        {val_figures_without_val, "do not fit --val 0"},
        {state_without_momentum, "optimizer state values; sgd keeps 0"},
    };
    mlp_config_t cfg;
    mlp_checkpoint_t good;
    char *ck = tu_path(datadir, "crafted-good.ckpt");
    char *bad = tu_path(datadir, "crafted.ckpt");

    ref_config(&cfg);
    cfg.epochs = 1;
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);
    ck_assert_int_eq(mlp_checkpoint_load(ck, &good), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mlp_train_result_t res;

        craft(&good, bad, cases[i].edit);
        small_config(&cfg);
        cfg.epochs = 2;
        snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", bad);
        ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), MLP_EFORMAT);
        ck_assert_msg(strstr(mlp_error_message(), cases[i].msg) != NULL &&
                          strstr(mlp_error_message(), "crafted.ckpt") != NULL,
                      "case %zu: '%s' lacks '%s'", i, mlp_error_message(),
                      cases[i].msg);
        ck_assert_uint_eq(res.nhistory, 0); /* nothing trained */
        mlp_train_result_free(&res);
    }
    /* The good file resumes (the edits were all that was wrong). */
    small_config(&cfg);
    cfg.epochs = 2;
    snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);
    mlp_checkpoint_free(&good);
    free(ck);
    free(bad);
}
END_TEST

/*
 * Issue 20, bug 11: a run that stopped early is done: resuming it (even
 * with a larger --epochs) trains nothing, leaves its checkpoint as it
 * was, exits 0 and says so; a larger --early-stop given goes on, as an
 * uninterrupted run with that patience would have.
 */
START_TEST(test_resume_early_stopped)
{
    mlp_config_t cfg;
    mlp_train_result_t res;
    char *ck = tu_path(datadir, "stopped.ckpt");
    uint8_t *before, *after;
    size_t nb, na;
    FILE *out = tmpfile();
    char *text;

    val_config(&cfg);
    cfg.epochs = 10;
    cfg.lr = 1e-30f; /* the validation loss never falls: stops at 4 */
    cfg.early_stop = 3;
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    ck_assert_uint_eq(res.stopped_early, 4);
    mlp_train_result_free(&res);
    before = tu_read_bytes(ck, &nb);

    small_config(&cfg);
    cfg.epochs = 20;
    cfg.given = GIVEN(EPOCHS);
    snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, out, NULL, &res), 0);
    ck_assert_uint_eq(res.nhistory, 0);
    ck_assert_uint_eq(res.epochs, 4);
    ck_assert_uint_eq(res.stopped_early, 4);
    mlp_train_result_free(&res);
    after = tu_read_bytes(ck, &na);
    ck_assert(nb == na && memcmp(before, after, nb) == 0);
    text = stream_text(out);
    ck_assert_msg(strstr(text, "ok: 4 epochs (none in this run)") != NULL &&
                      strstr(text, "had stopped early at epoch 4") != NULL &&
                      strstr(text, "already done") != NULL,
                  "'%s'", text);
    ck_assert_ptr_null(strstr(text, "nan"));
    free(text);
    fclose(out);

    /* a larger patience goes on: 4 - 1 = 3 epochs < 5, stops at 6 */
    cfg.early_stop = 5;
    cfg.given = GIVEN(EPOCHS) | GIVEN(EARLY_STOP);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    ck_assert_uint_eq(res.first_epoch, 5);
    ck_assert_uint_eq(res.stopped_early, 6);
    mlp_train_result_free(&res);
    free(before);
    free(after);
    free(ck);
}
END_TEST

/* Issue 20, bug 14: a resumed run that fails in set-up (here: data of
 * another shape) prints no "epochs in nan s". */
START_TEST(test_resume_setup_failure_line)
{
    mlp_config_t cfg;
    char *ck = tu_path(datadir, "setup.ckpt"), *other = tu_mkdtemp();
    FILE *out = tmpfile();
    char *text;

    ref_config(&cfg);
    cfg.epochs = 1;
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);
    ck_assert_int_eq(tu_make_dataset(other, 200, 50, 8, 8, 26, 5, 0), 0);
    small_config(&cfg);
    cfg.epochs = 2;
    cfg.quiet = 0;
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", other);
    snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, out, NULL, NULL), MLP_EINVAL);
    text = stream_text(out);
    ck_assert_msg(strstr(text, "nan") == NULL, "'%s'", text);
    free(text);
    fclose(out);
    tu_rmtree(other);
    free(ck);
}
END_TEST

/* --slots beyond an epoch's batches is bounded by them (4096 slots of 64
 * rows would be allocated for 29 batches). */
START_TEST(test_slots_bounded)
{
    mlp_config_t cfg;
    char *log = tu_path(datadir, "slots.jsonl");
    char *text;

    small_config(&cfg);
    cfg.epochs = 1;
    cfg.slots = 4096;
    snprintf(cfg.log_path, sizeof(cfg.log_path), "%s", log);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);
    text = read_text(log);
    /* 1500 training rows and 300 test rows of 64: 24 + 5 batches */
    ck_assert_msg(strstr(text, "\"slots\":29") != NULL, "%s", text);
    free(text);
    free(log);
}
END_TEST

static Suite *trainer_suite(void)
{
    Suite *s = suite_create("trainer");
    TCase *core = tcase_create("core");
    TCase *errors = tcase_create("errors");
    TCase *real = tcase_create("fashion-mnist");
    TCase *ckpt = tcase_create("checkpoint");

    tcase_add_unchecked_fixture(core, make_data, rm_data);
    tcase_add_unchecked_fixture(errors, make_data, rm_data);
    tcase_set_timeout(core, 120);
    tcase_set_timeout(real, 120);
    tcase_add_test(core, test_learns_generated_data);
    tcase_add_test(core, test_each_activation_and_depth_learns);
    tcase_add_test(core, test_same_figures_for_any_workers);
    tcase_add_test(core, test_seed_changes_figures);
    tcase_add_test(core, test_log_records);
    tcase_add_test(errors, test_unwritable_log_fails_first);
    tcase_add_test(errors, test_missing_data_dir);
    tcase_add_test(real, test_fashion_mnist_subset);
    tcase_add_unchecked_fixture(ckpt, make_data, rm_data);
    tcase_set_timeout(ckpt, 120);
    tcase_add_test(ckpt, test_resume_exact);
    tcase_add_test(ckpt, test_interrupt_and_resume);
    tcase_add_loop_test(ckpt, test_same_figures_for_any_threads_and_accum, 0,
                        2);
    tcase_add_test(ckpt, test_resume_bf16);
    tcase_add_test(ckpt, test_interrupt_and_resume_accum);
    tcase_add_loop_test(ckpt, test_interrupt_and_resume_each_optimizer, 0, 4);
    tcase_add_test(ckpt, test_resume_lr_override);
    tcase_add_test(ckpt, test_interrupt_request);
    tcase_add_test(ckpt, test_signals);
    tcase_add_test(ckpt, test_diverged_keeps_last_checkpoint);
    tcase_add_test(ckpt, test_diverged_weights);
    tcase_add_test(ckpt, test_resume_errors);
    tcase_add_test(ckpt, test_unwritable_save_fails_first);
    tcase_add_test(ckpt, test_out_of_memory_refused);
    tcase_add_test(ckpt, test_early_end_status_line);
    tcase_add_test(ckpt, test_empty_test_set);
    tcase_add_test(ckpt, test_val_best_epoch);
    tcase_add_test(ckpt, test_val_changes_training);
    tcase_add_test(ckpt, test_save_best);
    tcase_add_test(ckpt, test_early_stop);
    tcase_add_test(ckpt, test_val_usage_errors);
    tcase_add_test(ckpt, test_crafted_checkpoints);
    tcase_add_test(ckpt, test_resume_early_stopped);
    tcase_add_test(ckpt, test_resume_setup_failure_line);
    tcase_add_test(ckpt, test_slots_bounded);
    suite_add_tcase(s, ckpt);
    suite_add_tcase(s, core);
    suite_add_tcase(s, errors);
    suite_add_tcase(s, real);
    return s;
}

MLP_CHECK_MAIN(trainer_suite)
