/*
 * trainer_fixture: what the trainer suites (check_trainer,
 * check_trainer_resume, check_trainer_val) share: their generated data,
 * the small runs they start from, and the same-figures assertions.
 * Test-only code; failures abort the test (ck_assert).
 */
#ifndef MLPTRAIN_TRAINER_FIXTURE_H
#define MLPTRAIN_TRAINER_FIXTURE_H

#include <check.h>

#include "mlptrain/options.h"
#include "mlptrain/trainer.h"
#include "testutil.h"

/* The given bit of the option called n (options.h). */
#define GIVEN(id) mlp_options_bit(MLP_O(id))

/* mlp_train(cfg), with no outputs, fails with rc and a message that
 * names `what`.  A macro: a failure names the test's line. */
#define ck_assert_train_fails(cfg, rc, what)                        \
    do {                                                            \
        ck_assert_int_eq(mlp_train((cfg), NULL, NULL, NULL), (rc)); \
        ck_assert_msg_has(what);                                    \
    } while (0)

/* The data every run reads: 1500 training and 300 test images of 16x16
 * pixels in 26 classes (nothing in the trainer may assume 28x28/10), in
 * datadir while a data_tcase runs. */
extern char *datadir;

/* A test case of suite s (tu_tcase) whose tests read datadir: the data
 * is made before the case and removed after it (an unchecked fixture). */
TCase *data_tcase(Suite *s, const char *name, double seconds);

/*
 * Compute threads of every run: 2, or $MLP_TEST_THREADS.  The
 * ThreadSanitizer run (scripts/sanitize.sh) sets 1: libgomp and oneDNN are
 * not instrumented, so an OpenMP team's hand-offs look like races; with
 * one compute thread TSan still sees every loader thread.
 */
int test_threads(void);

/* 3 epochs of datadir's data in batches of 64 (a short last batch), 32
 * hidden units, test_threads() compute threads, 2 loader workers, quiet. */
void small_config(mlp_config_t *cfg);

/* Epoch figures equal to the last digit: training, test and validation
 * loss and accuracy, and the rate. */
void assert_same_epoch(const mlp_epoch_stats_t *a,
                       const mlp_epoch_stats_t *b);

/* The same figures: res's first n epochs are ref's from its epoch index
 * `from` (a resumed run's epochs against the uninterrupted run's). */
void assert_same_epochs(const mlp_train_result_t *res,
                        const mlp_train_result_t *ref, unsigned from,
                        unsigned n);

/* The run every resume test compares with: 4 epochs, with momentum (so
 * the optimizer has state to carry). */
void ref_config(mlp_config_t *cfg);

#endif
