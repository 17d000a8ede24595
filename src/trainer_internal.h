/*
 * trainer_internal: what the trainer's epoch loop (trainer.c) and its
 * checkpoint side (trainer_ckpt.c) share: the run state a checkpoint
 * records, and the checkpoint functions the session's stages call.
 * Private to those two files: not in include/, not installed.
 */
#ifndef MLPTRAIN_TRAINER_INTERNAL_H
#define MLPTRAIN_TRAINER_INTERNAL_H

#include <stddef.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/dataset.h"
#include "mlptrain/net.h"
#include "mlptrain/optim.h"
#include "mlptrain/options.h"

/* Everything the loop tracks that a checkpoint records. */
typedef struct {
    unsigned epoch;        /* completed */
    size_t batches_done;   /* of epoch + 1 */
    double loss_sum;       /* of those batches */
    size_t correct;
    double best_acc, final_acc; /* test accuracy: of best_epoch, of the
                                   last epoch */
    unsigned best_epoch;   /* with --val: of the highest validation
                              accuracy; without: of the highest test
                              accuracy (a report, not a choice) */
    /* With --val (else unused): the best epoch's validation accuracy, and
     * the lowest validation loss and its epoch, which --early-stop counts
     * from.  A checkpoint must keep all three for an exact resume. */
    double best_val_acc;   /* < 0: no epoch yet */
    double best_val_loss;  /* INFINITY: no epoch yet */
    unsigned best_val_loss_epoch; /* 0: none */
} run_state_t;

/*
 * The options of a resumed run: the checkpoint's, by mlp_options_resume
 * (a given option with another value is an error naming it; --lr is free;
 * --epochs must exceed the checkpoint's).  *lr_override is set when a
 * given --lr differs from the checkpoint's.  Fails with MLP_EUSAGE or
 * MLP_ENOMEM.
 */
int mlp_train_merge_resume(mlp_config_t *cfg, const mlp_checkpoint_t *ck,
                           int *lr_override);

/* MLP_EINVAL unless ds has the checkpoint's image shape, classes and
 * training samples; path names the checkpoint in the message. */
int mlp_train_check_resume_data(const mlp_checkpoint_t *ck,
                                const mlp_dataset_t *ds, const char *path);

/*
 * Capture net and optimizer into ck (its buffers reused from the last
 * save), with the run's options and state, and save it atomically to
 * cfg->save_path.  Fails with the checkpoint's status.
 */
int mlp_train_save(mlp_checkpoint_t *ck, const mlp_config_t *cfg,
                   const mlp_dataset_t *ds, mlp_net_t *net, mlp_optim_t *opt,
                   const run_state_t *rs);

#endif
