/*
 * trainer_fixture: see trainer_fixture.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
#include "trainer_fixture.h"

char *datadir;

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

TCase *data_tcase(Suite *s, const char *name, double seconds)
{
    TCase *tc = tu_tcase(s, name, seconds);

    tcase_add_unchecked_fixture(tc, make_data, rm_data);
    return tc;
}

/*
 * Compute threads of every run: 2, or $MLP_TEST_THREADS.  The
 * ThreadSanitizer run (scripts/sanitize.sh) sets 1: libgomp and oneDNN are
 * not instrumented, so an OpenMP team's hand-offs look like races; with
 * one compute thread TSan still sees every loader thread.
 */
int test_threads(void)
{
    const char *env = getenv("MLP_TEST_THREADS");

    return env != NULL && atoi(env) > 0 ? atoi(env) : 2;
}

void small_config(mlp_config_t *cfg)
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

/* Epoch figures equal to the last digit: training, test and validation
 * loss and accuracy, and the rate. */
void assert_same_epoch(const mlp_epoch_stats_t *a,
                       const mlp_epoch_stats_t *b)
{
    ck_assert_uint_eq(a->epoch, b->epoch);
    ck_assert_msg(a->train_loss == b->train_loss &&
                      a->train_acc == b->train_acc &&
                      a->test_loss == b->test_loss &&
                      a->test_acc == b->test_acc &&
                      a->val_loss == b->val_loss &&
                      a->val_acc == b->val_acc && a->lr == b->lr,
                  "epoch %u: loss %.17g/%.17g acc %.17g/%.17g test %.17g/%.17g "
                  "val %.17g/%.17g lr %.9g/%.9g",
                  a->epoch, a->train_loss, b->train_loss, a->train_acc,
                  b->train_acc, a->test_loss, b->test_loss, a->val_loss,
                  b->val_loss, (double)a->lr, (double)b->lr);
}

/* The same figures: res's first n epochs are ref's from its epoch index
 * `from` (a resumed run's epochs against the uninterrupted run's). */
void assert_same_epochs(const mlp_train_result_t *res,
                        const mlp_train_result_t *ref, unsigned from,
                        unsigned n)
{
    ck_assert_uint_ge(res->nhistory, n);
    ck_assert_uint_ge(ref->nhistory, from + n);
    for (unsigned e = 0; e < n; e++)
        assert_same_epoch(&res->history[e], &ref->history[from + e]);
}

/* The run every resume test compares with: 4 epochs, with momentum (so
 * the optimizer has state to carry). */
void ref_config(mlp_config_t *cfg)
{
    small_config(cfg);
    cfg->epochs = 4;
    cfg->momentum = 0.9f;
    cfg->lr = 0.05f;
    cfg->weight_decay = 1e-4f;
    cfg->init_std = 0.1f;
}
