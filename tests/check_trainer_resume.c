/*
 * Tests of trainer's --resume: a resumed run continues the uninterrupted
 * one exactly (after an epoch, mid-epoch, with --accum, with each
 * optimizer and schedule, in bf16), a new --lr is taken and kept, and a
 * checkpoint that does not fit the options, the data or itself is refused.
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
#include "trainer_fixture.h"

/* Trains cfg, saving to ck, until the test hook interrupts it after
 * `after` batches: the run must stop as interrupted, leaving ck. */
static void train_until_interrupt(mlp_config_t *cfg, const char *ck,
                                  uint64_t after)
{
    mlp_train_result_t res;

    unlink(ck);
    snprintf(cfg->save_path, sizeof(cfg->save_path), "%s", ck);
    mlp_fault_set_interrupt_after(after);
    ck_assert_int_eq(mlp_train(cfg, NULL, NULL, &res), MLP_EINTERRUPTED);
    mlp_fault_set_interrupt_after(0);
    mlp_train_result_free(&res);
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
    assert_same_epochs(&res, &ref, 2, 2);
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
            ck_assert_msg_has("interrupted in epoch");
            ck_assert_msg_has("saved '");
            mlp_train_result_free(&res);
            ck_assert_int_eq(mlp_checkpoint_load(ck, &c), 0);
            if (k == 0) {
                ck_assert_uint_eq(c.epoch, (stops[i][0] - 1) / 24);
                ck_assert_uint_eq(c.batches_done,
                                  stops[i][0] - 24 * c.epoch);
            }
            last = c.epoch;
            mlp_checkpoint_free(&c);
            text = tu_read_text(log);
            ck_assert_ptr_nonnull(strstr(text, "{\"type\":\"end\",\"status\":"
                                               "\"interrupted\""));
            free(text);
            snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", ck);
        }
        mlp_fault_set_interrupt_after(0);
        ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
        ck_assert_uint_eq(res.first_epoch, last + 1);
        assert_same_epochs(&res, &ref, last, res.nhistory);
        ck_assert_double_eq(res.best_test_acc, ref.best_test_acc);
        mlp_train_result_free(&res);
        /* The log holds every run, appended: the last ends "ok". */
        text = tu_read_text(log);
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
    train_until_interrupt(&cfg, ck, 47 + 31);
    ck_assert_int_eq(mlp_checkpoint_load(ck, &c), 0);
    ck_assert_uint_eq(c.epoch, 1);
    ck_assert_uint_eq(c.batches_done, 33);
    ck_assert_uint_eq(c.opt_steps, 16 + 11);
    mlp_checkpoint_free(&c);
    snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    ck_assert_uint_eq(res.first_epoch, 2);
    assert_same_epochs(&res, &ref, 1, res.nhistory);
    mlp_train_result_free(&res);
    mlp_train_result_free(&ref);
    free(ck);
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
    train_until_interrupt(&cfg, ck, 30);
    small_config(&again);
    again.epochs = cfg.epochs;
    snprintf(again.resume_path, sizeof(again.resume_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&again, NULL, NULL, &res), 0);
    ck_assert_uint_eq(res.first_epoch, 2);
    ck_assert_uint_eq(res.nhistory, ref.nhistory - 1);
    assert_same_epochs(&res, &ref, 1, res.nhistory);
    ck_assert_uint_eq(res.best_epoch, ref.best_epoch);
    ck_assert(res.best_test_acc == ref.best_test_acc);
    mlp_train_result_free(&res);
    mlp_train_result_free(&ref);
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
    ck_assert_train_fails(&cfg, MLP_EUSAGE,
                          "option '--momentum': 0.5 conflicts with "
                          "the checkpoint '");
    ck_assert_msg_has("opts.ckpt' (0.9)");
    cfg.momentum = 0.0f;
    cfg.given = GIVEN(HIDDEN);
    cfg.hidden[0] = 33;
    ck_assert_train_fails(&cfg, MLP_EUSAGE, "'--hidden': 33 ");
    cfg.given = GIVEN(SEED) | GIVEN(BATCH);
    cfg.hidden[0] = 32;
    cfg.batch = 100;
    ck_assert_train_fails(&cfg, MLP_EUSAGE, "'--batch': 100 ");
    /* Given with the checkpoint's own value: fine.  --epochs must grow. */
    cfg.batch = 64;
    cfg.given = GIVEN(BATCH) | GIVEN(HIDDEN) | GIVEN(SEED);
    cfg.epochs = 1;
    ck_assert_train_fails(&cfg, MLP_EUSAGE,
                          "has completed 1 epochs; --epochs is the "
                          "total");
    cfg.epochs = 2;
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);

    /* Data of another shape, or another training-set size. */
    ck_assert_int_eq(tu_make_dataset(other, 1500, 300, 8, 8, 26, 5, 0), 0);
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", other);
    cfg.epochs = 3;
    ck_assert_train_fails(&cfg, MLP_EINVAL,
                          "was trained on 16x16 images, the data in");
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", datadir);
    cfg.limit_train = 1000;
    cfg.given = GIVEN(LIMIT_TRAIN);
    ck_assert_train_fails(&cfg, MLP_EUSAGE, "'--limit-train'");

    /* A corrupt or missing checkpoint. */
    cfg.given = 0;
    cfg.limit_train = 0;
    bytes = tu_read_bytes(ck, &len);
    ck_assert_ptr_nonnull(bytes);
    bytes[len / 2] ^= 1;
    ck_assert_int_eq(tu_write_bytes(ck, bytes, len), 0);
    ck_assert_train_fails(&cfg, MLP_EFORMAT, "checksum mismatch");
    ck_assert_int_eq(tu_write_bytes(ck, bytes, len / 2), 0);
    ck_assert_train_fails(&cfg, MLP_EFORMAT, "truncated");
    unlink(ck);
    ck_assert_train_fails(&cfg, MLP_EIO, "cannot open '");
    free(bytes);
    free(ck);
    tu_rmtree(other);
}
END_TEST

/* Outputs are checked before the data is read or anything trained. */

/* The checkpoint ck was saved after `epoch` epochs and keeps rate lr. */
static void assert_saved_lr(const char *ck, unsigned epoch, float lr)
{
    mlp_checkpoint_t c;

    ck_assert_int_eq(mlp_checkpoint_load(ck, &c), 0);
    ck_assert_uint_eq(c.epoch, epoch);
    ck_assert_float_eq(c.lr, lr);
    mlp_checkpoint_free(&c);
}

/*
 * --resume without --save goes on saving into the resumed file; a new --lr
 * (fine-tuning) is taken, logged as an override and kept by the checkpoint.
 */
START_TEST(test_resume_lr_override)
{
    mlp_config_t cfg;
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
    assert_saved_lr(ck, 2, 0.05f);
    text = tu_read_text(log);
    ck_assert_ptr_null(strstr(text, "\"overrides\""));
    free(text);

    cfg.epochs = 3;
    cfg.lr = 0.01f;
    cfg.given = GIVEN(LR);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, NULL), 0);
    assert_saved_lr(ck, 3, 0.01f);
    text = tu_read_text(log);
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
    unlink(log);
    train_until_interrupt(&cfg, ck, 24 + 10);
    small_config(&cfg); /* the checkpoint decides, precision included */
    cfg.epochs = 3;
    snprintf(cfg.resume_path, sizeof(cfg.resume_path), "%s", ck);
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", ck);
    ck_assert_int_eq(mlp_train(&cfg, NULL, NULL, &res), 0);
    ck_assert_uint_eq(res.first_epoch, 2);
    assert_same_epochs(&res, &ref, 1, res.nhistory);
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
    text = tu_read_text(log);
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
    text = tu_stream_text(out);
    ck_assert_msg(strstr(text, "nan") == NULL, "'%s'", text);
    free(text);
    fclose(out);
    tu_rmtree(other);
    free(ck);
}
END_TEST

static Suite *trainer_resume_suite(void)
{
    Suite *s = suite_create("trainer_resume");
    TCase *ckpt = data_tcase(s, "checkpoint", 120);

    tcase_add_test(ckpt, test_resume_exact);
    tcase_add_test(ckpt, test_interrupt_and_resume);
    tcase_add_test(ckpt, test_resume_bf16);
    tcase_add_test(ckpt, test_interrupt_and_resume_accum);
    tcase_add_loop_test(ckpt, test_interrupt_and_resume_each_optimizer, 0, 4);
    tcase_add_test(ckpt, test_resume_lr_override);
    tcase_add_test(ckpt, test_resume_errors);
    tcase_add_test(ckpt, test_crafted_checkpoints);
    tcase_add_test(ckpt, test_resume_setup_failure_line);
    return s;
}

MLP_CHECK_MAIN(trainer_resume_suite)
