/*
 * trainer: the epoch loop.  Loads the data, builds the net, starts the
 * loader, then for each epoch: trains on the shuffled training batches
 * (forward, softmax cross-entropy, backward, optimizer step), evaluates on
 * the test batches, and reports.
 *
 * Only the calling thread touches oneDNN; the loader's workers only decode.
 * Everything (primitives for every batch size, buffers, ring slots) is made
 * and warmed up before epoch 1's clock starts; the batch loop allocates
 * nothing.  Figures depend only on the data, the options and the seed (and
 * the compute thread count, which changes oneDNN's summation order), not on
 * the number of loader workers.
 *
 * Errors: any module's status, with its message; MLP_EDIVERGED when the loss
 * becomes non-finite (the message names the epoch and batch).  The log gets
 * an "end" record with the status in every case once it is open.
 * Not thread-safe: one training per thread.
 */
#ifndef MLPTRAIN_TRAINER_H
#define MLPTRAIN_TRAINER_H

#include <stdio.h>

#include "mlptrain/config.h"
#include "mlptrain/report.h"

typedef struct {
    unsigned epochs;             /* completed */
    mlp_epoch_stats_t *history;  /* (epochs) */
    double seconds;              /* all epochs */
    double samples_per_s;        /* training samples / training seconds */
    double best_test_acc;
    unsigned best_epoch;
} mlp_train_result_t;

/*
 * Train as cfg says; human lines to `out` (NULL: silent).  *res (may be
 * NULL) gets the per-epoch figures; free them with mlp_train_result_free.
 */
int mlp_train(const mlp_config_t *cfg, FILE *out, mlp_train_result_t *res);

void mlp_train_result_free(mlp_train_result_t *res);

#endif
