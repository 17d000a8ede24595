/*
 * Tests of trainer's validation split (--val): its figures, the best
 * epoch, --save-best, --early-stop and their usage errors, and resuming a
 * run that stopped early.
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
        assert_same_epochs(&res, &ref, 0, 5);
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
    text = tu_stream_text(out);
    ck_assert_msg(strncmp(text, "ok: 4 epochs", 12) == 0, "'%s'", text);
    ck_assert_ptr_nonnull(strstr(text, "stopped early at epoch 4 (no better "
                                       "val loss for 3 epochs)"));
    free(text);
    fclose(out);
    text = tu_read_text(log);
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
    ck_assert_train_fails(&cfg, MLP_EUSAGE, "'--save-best'");
    ck_assert_int_eq(access(best, F_OK), -1);

    small_config(&cfg);
    cfg.early_stop = 2;
    ck_assert_train_fails(&cfg, MLP_EUSAGE, "'--early-stop'");

    small_config(&cfg);
    cfg.limit_train = 500;
    cfg.val = 500;
    ck_assert_train_fails(&cfg, MLP_EUSAGE, "'--val': 500");

    /* --save-best may not be another output */
    small_config(&cfg);
    cfg.val = 100;
    snprintf(cfg.save_best_path, sizeof(cfg.save_best_path), "%s", best);
    snprintf(cfg.save_path, sizeof(cfg.save_path), "%s", best);
    ck_assert_train_fails(&cfg, MLP_EUSAGE, "--save-best");
    free(best);
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
    text = tu_stream_text(out);
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

static Suite *trainer_val_suite(void)
{
    Suite *s = suite_create("trainer_val");
    TCase *ckpt = data_tcase(s, "checkpoint", 120);

    tcase_add_test(ckpt, test_val_best_epoch);
    tcase_add_test(ckpt, test_val_changes_training);
    tcase_add_test(ckpt, test_save_best);
    tcase_add_test(ckpt, test_early_stop);
    tcase_add_test(ckpt, test_val_usage_errors);
    tcase_add_test(ckpt, test_resume_early_stopped);
    return s;
}

MLP_CHECK_MAIN(trainer_val_suite)
