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
#include "mlptrain/cli.h"
#include "mlptrain/dataset.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/options.h"
#include "mlptrain/trainer.h"
#include "mlptrain/transform.h"
#include "trainer_internal.h"

/*
 * The checkpoint's side of the options table (options.h, MLP_OPT_CKPT).
 * Version 2 stores every MLP_OPT_CKPT option as a line "name=value" of
 * the options text, in the table's exact format (mlp_options_format), read
 * back with the table's parser: adding an option to the table adds it to
 * checkpoints.  An option a file does not name keeps its default, which is
 * the behaviour of the mlptrain that wrote it.
 *
 * The fixed header fields below are version 1's record of the options
 * (read from a version 1 file, still written for readers of the header);
 * the model's shape (hidden, act) is written from the net
 * (mlp_checkpoint_capture), so it is only read here.
 */
#define CKPT_OPTIONS(X) \
    X(init_std) X(lr) X(momentum) X(weight_decay) X(batch) X(seed) \
    X(limit_train)

/* The options of the run in ck (cfg starts as the defaults: an option
 * the file does not name has its default); MLP_EFORMAT naming `path` and the line when the text
 * names an option this mlptrain does not store or a bad value. */
static int config_of_checkpoint(const mlp_checkpoint_t *ck,
                                mlp_config_t *cfg, const char *path)
{
    const char *p = ck->options, *end = p + ck->options_len;

    cfg->nhidden = ck->nhidden;
    memcpy(cfg->hidden, ck->hidden, sizeof(cfg->hidden));
    cfg->act = ck->act;
    if (ck->options == NULL) { /* version 1 */
#define X(f) cfg->f = ck->f;
        CKPT_OPTIONS(X)
#undef X
    }
    for (size_t line = 1; p != NULL && p < end; line++) {
        const char *eq = memchr(p, '=', (size_t)(end - p));
        const char *nl = eq != NULL ? memchr(eq, '\n', (size_t)(end - eq))
                                    : NULL;
        const mlp_option_t *o;
        char name[64], value[MLP_PATH_MAX];

        if (nl == NULL || (size_t)(eq - p) >= sizeof(name) ||
            (size_t)(nl - eq - 1) >= sizeof(value))
            return mlp_error_set(MLP_EFORMAT, "%s: options line %zu is not "
                                 "name=value", path, line);
        memcpy(name, p, (size_t)(eq - p));
        name[eq - p] = '\0';
        memcpy(value, eq + 1, (size_t)(nl - eq - 1));
        value[nl - eq - 1] = '\0';
        o = mlp_options_find(name);
        if (o == NULL || !(o->flags & MLP_OPT_CKPT))
            return mlp_error_set(MLP_EFORMAT, "%s: option '%s' (line %zu) "
                                 "is not one this mlptrain keeps in a "
                                 "checkpoint: written by a newer version?",
                                 path, name, line);
        if (mlp_cli_set_option(o, cfg, value) < 0)
            return mlp_error_prefix(MLP_EFORMAT, "%s: options line %zu",
                                    path, line);
        p = nl + 1;
    }
    /* A file that does not name --micro (version 1, and version 2 before
     * the parallel step) was trained on whole batches: micro = batch. */
    if (cfg->micro == 0)
        cfg->micro = cfg->batch;
    return 0;
}

int mlp_train_checkpoint_config(const mlp_checkpoint_t *ck, const char *path,
                                mlp_config_t *cfg)
{
    mlp_config_defaults(cfg);
    return config_of_checkpoint(ck, cfg, path);
}

/* ck's options: the header fields and the text of every MLP_OPT_CKPT
 * option. */
static int checkpoint_of_config(const mlp_config_t *cfg,
                                mlp_checkpoint_t *ck)
{
    size_t len = 0, cap = 4096;
    char *text = malloc(cap);

#define X(f) ck->f = cfg->f;
    CKPT_OPTIONS(X)
#undef X
    for (size_t i = 0; text != NULL && i < mlp_noptions; i++) {
        const mlp_option_t *o = &mlp_options[i];
        char v[MLP_PATH_MAX];
        size_t need;

        if (!(o->flags & MLP_OPT_CKPT))
            continue;
        mlp_options_format(o, cfg, 1, v, sizeof(v));
        need = strlen(o->name) + strlen(v) + 3;
        if (len + need > cap) {
            char *t = realloc(text, cap = 2 * (len + need));

            if (t == NULL) {
                free(text);
                text = NULL;
                break;
            }
            text = t;
        }
        len += (size_t)snprintf(text + len, cap - len, "%s=%s\n", o->name, v);
    }
    if (text == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    free(ck->options);
    ck->options = text;
    ck->options_len = len;
    return 0;
}

/*
 * The options of a resumed run: the checkpoint's, by mlp_options_resume
 * (a given option with another value is an error naming it; --lr and
 * --precision are free); *theirs gets the checkpoint's options, for the
 * report's overrides.
 */
int mlp_train_merge_resume(mlp_config_t *cfg, const mlp_checkpoint_t *ck,
                           mlp_config_t *theirs)
{
    const char *path = cfg->resume_path;
    int rc;

    mlp_config_defaults(theirs);
    if ((rc = config_of_checkpoint(ck, theirs, path)) < 0)
        return rc;
    rc = mlp_options_resume(cfg, theirs, path);
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
    if (ck->in != ds->train.dim)
        return mlp_error_set(MLP_EINVAL,
                             "the checkpoint '%s' takes %zu inputs, the data "
                             "in '%s' has %zu features per sample", path,
                             ck->in, ds->files[MLP_FILE_TRAIN_IMAGES].path,
                             ds->train.dim);
    if ((ck->input_kind == MLP_XFORM_AFFINE) != (ds->real != 0))
        return mlp_error_set(MLP_EINVAL,
                             "the checkpoint '%s' was trained on %s, the "
                             "data in '%s' has %s", path,
                             ck->input_kind ? "real features" : "bytes",
                             ds->files[MLP_FILE_TRAIN_IMAGES].path,
                             ds->real ? "real features" : "bytes");
    return 0;
}

/* The input transform and class names of ds into ck (allocated once). */
static int checkpoint_of_data(mlp_checkpoint_t *ck, const mlp_dataset_t *ds)
{
    size_t dim = ds->train.dim;

    ck->input_kind = ds->real ? MLP_XFORM_AFFINE : MLP_XFORM_U8;
    if (ds->real && ck->shift == NULL) {
        if ((ck->shift = malloc(dim * sizeof(float))) == NULL ||
            (ck->scale = malloc(dim * sizeof(float))) == NULL)
            return mlp_error_set(MLP_ENOMEM, "out of memory");
        memcpy(ck->shift, ds->shift, dim * sizeof(float));
        memcpy(ck->scale, ds->scale, dim * sizeof(float));
    }
    if (ds->class_names != NULL && ck->class_names == NULL) {
        _Static_assert(MLP_CHECKPOINT_NAME_BYTES == MLP_CLASS_NAME_MAX,
                       "one name size");
        if ((ck->class_names = malloc(ds->nclasses *
                                      sizeof(*ck->class_names))) == NULL)
            return mlp_error_set(MLP_ENOMEM, "out of memory");
        memset(ck->class_names, 0, ds->nclasses * sizeof(*ck->class_names));
        for (size_t k = 0; k < ds->nclasses; k++)
            strncpy(ck->class_names[k], ds->class_names[k],
                    MLP_CHECKPOINT_NAME_BYTES - 1);
        ck->nnames = ds->nclasses;
    }
    return 0;
}


/* Capture net and optimizer into ck (buffers reused) and save it. */
int mlp_train_save(mlp_checkpoint_t *ck, const mlp_config_t *cfg,
                   const mlp_dataset_t *ds, mlp_net_t *net, mlp_optim_t *opt,
                   const run_state_t *rs)
{
    int rc;

    /* Rank 0 alone writes (every rank holds the same state). */
    if (mlp_dist_rank() > 0)
        return 0;
    if ((rc = mlp_checkpoint_capture(ck, net, opt)) < 0)
        return rc;
    ck->rows = ds->rows;
    ck->cols = ds->cols;
    ck->ntrain = ds->train.n;
    ck->epoch = rs->epoch;
    if ((rc = checkpoint_of_config(cfg, ck)) < 0 ||
        (rc = checkpoint_of_data(ck, ds)) < 0)
        return rc;
    ck->batches_done = rs->batches_done;
    ck->partial_loss_sum = rs->batches_done ? rs->loss_sum : 0.0;
    ck->partial_correct = rs->batches_done ? rs->correct : 0;
    ck->best_test_acc = rs->best_acc;
    ck->opt_steps = mlp_optim_steps(opt);
    ck->best_val_acc = rs->best_val_acc >= 0.0 ? rs->best_val_acc : 0.0;
    ck->best_val_epoch = rs->best_val_acc >= 0.0 ? rs->best_epoch : 0;
    ck->best_val_loss =
        rs->best_val_loss_epoch > 0 ? rs->best_val_loss : 0.0;
    ck->best_val_loss_epoch = rs->best_val_loss_epoch;
    ck->best_epoch = rs->best_epoch;
    ck->final_test_acc = rs->final_acc;
    return mlp_checkpoint_save(cfg->save_path, ck);
}
