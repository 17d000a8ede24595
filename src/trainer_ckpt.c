/*
 * trainer_ckpt: the checkpoint side of a training run (see trainer.c and
 * trainer_internal.h): which options a checkpoint stores, the options of a
 * resumed run and their conflict check, the check that the data is what
 * the checkpoint was trained on, and the save of the net, optimizer and
 * run state at the end of an epoch or an interrupt.
 *
 * Non-goals: the file format and its checks (checkpoint.c), moving
 * parameters between net and checkpoint (checkpoint_net.c), when to save
 * (the epoch loop in trainer.c decides).
 */
#include <stdlib.h>
#include <string.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/dataset.h"
#include "mlptrain/error.h"
#include "mlptrain/options.h"
#include "trainer_internal.h"

/*
 * The checkpoint's side of the options table (options.h, MLP_OPT_CKPT):
 * the one list of the options a checkpoint stores, under the same field
 * names in mlp_config_t and mlp_checkpoint_t.  The model's shape (hidden,
 * act) is written from the net (mlp_checkpoint_capture), so it is only
 * read here.
 */
#define CKPT_OPTIONS(X) \
    X(init_std) X(lr) X(momentum) X(weight_decay) X(batch) X(seed) \
    X(limit_train)

static void config_of_checkpoint(const mlp_checkpoint_t *ck,
                                 mlp_config_t *cfg)
{
    cfg->nhidden = ck->nhidden;
    memcpy(cfg->hidden, ck->hidden, sizeof(cfg->hidden));
    cfg->act = ck->act;
#define X(f) cfg->f = ck->f;
    CKPT_OPTIONS(X)
#undef X
}

static void checkpoint_of_config(const mlp_config_t *cfg,
                                 mlp_checkpoint_t *ck)
{
#define X(f) ck->f = cfg->f;
    CKPT_OPTIONS(X)
#undef X
}

/*
 * The options of a resumed run: the checkpoint's, by mlp_options_resume
 * (a given option with another value is an error naming it; --lr is free);
 * *lr_override is set when a given --lr differs from the checkpoint's, for
 * the log's run record.
 */
int mlp_train_merge_resume(mlp_config_t *cfg, const mlp_checkpoint_t *ck,
                           int *lr_override)
{
    const char *path = cfg->resume_path;
    mlp_config_t *theirs = malloc(sizeof(*theirs));
    int rc;

    if (theirs == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    *theirs = *cfg;
    config_of_checkpoint(ck, theirs);
    *lr_override = mlp_options_given(cfg, "lr") && cfg->lr != ck->lr;
    rc = mlp_options_resume(cfg, theirs, path);
    free(theirs);
    if (rc == 0 && cfg->epochs <= ck->epoch)
        rc = mlp_error_set(MLP_EUSAGE,
                           "option '--epochs': %u, but the checkpoint '%s' "
                           "has completed %u epochs; --epochs is the total "
                           "to reach",
                           cfg->epochs, path, ck->epoch);
    return rc;
}

/* The data must be what the checkpoint was trained on. */
int mlp_train_check_resume_data(const mlp_checkpoint_t *ck,
                                const mlp_dataset_t *ds, const char *path)
{
    if (ck->rows != ds->rows || ck->cols != ds->cols)
        return mlp_error_set(MLP_EINVAL,
                             "the checkpoint '%s' was trained on %zux%zu "
                             "images, the data in '%s' has %zux%zu",
                             path, ck->rows, ck->cols,
                             ds->files[MLP_FILE_TRAIN_IMAGES].path, ds->rows,
                             ds->cols);
    if (ck->out != ds->nclasses)
        return mlp_error_set(MLP_EINVAL,
                             "the checkpoint '%s' was trained on %zu classes, "
                             "the data in '%s' has %zu",
                             path, ck->out,
                             ds->files[MLP_FILE_TRAIN_LABELS].path,
                             ds->nclasses);
    if (ck->ntrain != ds->train.n)
        return mlp_error_set(MLP_EINVAL,
                             "the checkpoint '%s' was trained on %zu samples "
                             "per epoch, the data in '%s' gives %zu",
                             path, ck->ntrain,
                             ds->files[MLP_FILE_TRAIN_IMAGES].path,
                             ds->train.n);
    return 0;
}


/* Capture net and optimizer into ck (buffers reused) and save it. */
int mlp_train_save(mlp_checkpoint_t *ck, const mlp_config_t *cfg,
                   const mlp_dataset_t *ds, mlp_net_t *net, mlp_optim_t *opt,
                   const run_state_t *rs)
{
    int rc;

    if ((rc = mlp_checkpoint_capture(ck, net, opt)) < 0)
        return rc;
    ck->rows = ds->rows;
    ck->cols = ds->cols;
    ck->ntrain = ds->train.n;
    ck->epoch = rs->epoch;
    checkpoint_of_config(cfg, ck);
    ck->batches_done = rs->batches_done;
    ck->partial_loss_sum = rs->batches_done ? rs->loss_sum : 0.0;
    ck->partial_correct = rs->batches_done ? rs->correct : 0;
    ck->best_test_acc = rs->best_acc;
    ck->best_epoch = rs->best_epoch;
    ck->final_test_acc = rs->final_acc;
    return mlp_checkpoint_save(cfg->save_path, ck);
}
