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
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/dataset.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/optim.h"
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

/*
 * The header's record of the options (CKPT_OPTIONS, the model's shape)
 * against the text's: a value the text names must be the header's; one it
 * does not name is the header's (a version 1 file names none).
 */
static int header_matches(const mlp_checkpoint_t *ck, mlp_config_t *cfg,
                          uint64_t named, const char *path)
{
    mlp_config_t *h = malloc(sizeof(*h));
    const mlp_option_t *bad = NULL;

    if (h == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    *h = *cfg; /* h: the header's values */
#define X(f) h->f = ck->f;
    CKPT_OPTIONS(X)
#undef X
    h->nhidden = ck->nhidden;
    memcpy(h->hidden, ck->hidden, sizeof(h->hidden));
    h->act = ck->act;
    for (size_t i = 0; i < MLP_NOPTIONS && bad == NULL; i++) {
        const mlp_option_t *o = &mlp_options[i];
        int kept = o->offset == offsetof(mlp_config_t, nhidden) ||
                   o->offset == offsetof(mlp_config_t, act);

#define X(f) kept |= o->offset == offsetof(mlp_config_t, f);
        CKPT_OPTIONS(X)
#undef X
        if (kept && (named & mlp_options_bit(o)) &&
            !mlp_options_equal(o, cfg, h))
            bad = o;
    }
    if (bad != NULL) {
        char a[64], b[64];

        mlp_options_format(bad, h, 1, a, sizeof(a));
        mlp_options_format(bad, cfg, 1, b, sizeof(b));
        free(h);
        return mlp_error_set(MLP_EFORMAT, "%s: the header's %s is %s, the "
                             "options text's %s", path, bad->name, a, b);
    }
    /* what the text does not name: the header's */
#define X(f) cfg->f = ck->f;
    CKPT_OPTIONS(X)
#undef X
    free(h);
    return 0;
}

/*
 * The run state of the header against the options (cfg: the file's, as
 * read): the counts of the epoch in progress within its batches and rows,
 * its loss within what the run allows, the optimizer state the optimizer
 * keeps, the validation figures only with --val, an early stop not past
 * its epoch.  MLP_EFORMAT naming the file.
 */
static int state_matches(const mlp_checkpoint_t *ck, const mlp_config_t *cfg,
                         const char *path)
{
    size_t nb = ck->ntrain / cfg->batch + (ck->ntrain % cfg->batch != 0);
    size_t accum = cfg->accum > 0 ? cfg->accum : 1;
    double rows = (double)ck->batches_done * (double)cfg->batch;
    /* a sample's loss: --max-loss bounds a batch's mean (auto: 100 ln C);
     * off: a float's softmax cross-entropy stays below 2 FLT_MAX + ln C */
    double per = cfg->max_loss > 0    ? (double)cfg->max_loss
                 : cfg->max_loss == 0 ? 100.0 * log((double)ck->out)
                                      : 7e38;
    size_t want_state;

    if (rows > (double)ck->ntrain)
        rows = (double)ck->ntrain;
    if (ck->epoch > MLP_O(EPOCHS)->hi)
        return mlp_error_set(MLP_EFORMAT, "%s: %u epochs completed; a run "
                             "has at most %llu", path, ck->epoch,
                             MLP_O(EPOCHS)->hi);
    if (ck->batches_done > nb ||
        (ck->batches_done % accum != 0 && ck->batches_done != nb))
        return mlp_error_set(MLP_EFORMAT, "%s: %zu training batches of "
                             "epoch %u done, but an epoch has %zu of %zu "
                             "rows (--batch %zu, saved every --accum %zu)",
                             path, ck->batches_done, ck->epoch + 1, nb,
                             ck->ntrain, cfg->batch, accum);
    if ((double)ck->partial_correct > rows)
        return mlp_error_set(MLP_EFORMAT, "%s: %llu correct of the %.0f "
                             "rows of the epoch's first %zu batches", path,
                             (unsigned long long)ck->partial_correct, rows,
                             ck->batches_done);
    if (ck->partial_loss_sum > per * rows)
        return mlp_error_set(MLP_EFORMAT, "%s: a loss sum of %g over %.0f "
                             "rows: above %g a row (--max-loss)", path,
                             ck->partial_loss_sum, rows, per);
    want_state = cfg->optimizer != MLP_OPTIM_SGD ? 2 * ck->nparams
                 : cfg->momentum > 0.0f          ? ck->nparams
                                                 : 0;
    if (ck->nstate != want_state)
        return mlp_error_set(MLP_EFORMAT, "%s: %zu optimizer state values; "
                             "%s%s keeps %zu for %zu parameters", path,
                             ck->nstate, mlp_optim_names[cfg->optimizer],
                             cfg->optimizer == MLP_OPTIM_SGD &&
                                     cfg->momentum > 0.0f
                                 ? " with momentum"
                                 : "",
                             want_state, ck->nparams);
    if (cfg->limit_train > 0 && ck->ntrain + cfg->val > cfg->limit_train)
        return mlp_error_set(MLP_EFORMAT, "%s: %zu training and %zu "
                             "validation samples, but --limit-train %zu",
                             path, ck->ntrain, cfg->val, cfg->limit_train);
    if (ck->version >= 2 &&
        (cfg->val == 0 ? ck->best_val_epoch != 0 ||
                             ck->best_val_loss_epoch != 0
                       : ck->epoch > 0 && (ck->best_val_loss_epoch == 0 ||
                                           ck->best_val_epoch !=
                                               ck->best_epoch)))
        return mlp_error_set(MLP_EFORMAT, "%s: validation figures (best "
                             "epoch %u, best loss at epoch %u) do not fit "
                             "--val %zu and the best epoch %u", path,
                             ck->best_val_epoch, ck->best_val_loss_epoch,
                             cfg->val, ck->best_epoch);
    if (cfg->early_stop > 0 && cfg->val > 0 && ck->best_val_loss_epoch > 0 &&
        ck->epoch - ck->best_val_loss_epoch >
            cfg->early_stop - (ck->batches_done > 0))
        return mlp_error_set(MLP_EFORMAT, "%s: %u epochs since the best "
                             "validation loss (epoch %u): --early-stop %u "
                             "would have stopped the run", path,
                             ck->epoch - ck->best_val_loss_epoch,
                             ck->best_val_loss_epoch, cfg->early_stop);
    return 0;
}

/* The options of the run in ck (cfg starts as the defaults: an option
 * the file does not name has its default, or the header's value for
 * those the header keeps); MLP_EFORMAT naming `path` and the line when the
 * text names an option this mlptrain does not store, one twice, or a bad
 * value, and when the header's fields and the options do not fit each
 * other. */
static int config_of_checkpoint(const mlp_checkpoint_t *ck,
                                mlp_config_t *cfg, const char *path)
{
    const char *p = ck->options, *end = p + ck->options_len;
    uint64_t named = 0;
    size_t first[MLP_NOPTIONS] = {0};
    int rc;

    cfg->nhidden = ck->nhidden;
    memcpy(cfg->hidden, ck->hidden, sizeof(cfg->hidden));
    cfg->act = ck->act;
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
        if (named & mlp_options_bit(o))
            return mlp_error_set(MLP_EFORMAT, "%s: option '%s' is on "
                                 "options lines %zu and %zu: a checkpoint "
                                 "names each once", path, name,
                                 first[o - mlp_options], line);
        named |= mlp_options_bit(o);
        first[o - mlp_options] = line;
        if (mlp_options_parse(o, cfg, value) < 0)
            return mlp_error_prefix(MLP_EFORMAT, "%s: options line %zu",
                                    path, line);
        p = nl + 1;
    }
    if ((rc = header_matches(ck, cfg, named, path)) < 0)
        return rc;
    /* A file that does not name --micro (version 1, and version 2 before
     * the parallel step) was trained on whole batches: micro = batch. */
    if (cfg->micro == 0)
        cfg->micro = cfg->batch;
    return state_matches(ck, cfg, path);
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
    for (size_t i = 0; text != NULL && i < MLP_NOPTIONS; i++) {
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


/* Capture net and optimizer into ck (buffers reused). */
int mlp_train_fill(mlp_checkpoint_t *ck, const mlp_config_t *cfg,
                   const session_t *s)
{
    const mlp_dataset_t *ds = s->ds;
    const run_state_t *rs = &s->rs;
    int rc;

    if ((rc = mlp_checkpoint_capture(ck, s->net, s->opt)) < 0)
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
    ck->opt_steps = mlp_optim_steps(s->opt);
    ck->best_val_acc = rs->best_val_acc >= 0.0 ? rs->best_val_acc : 0.0;
    ck->best_val_epoch = rs->best_val_acc >= 0.0 ? rs->best_epoch : 0;
    ck->best_val_loss =
        rs->best_val_loss_epoch > 0 ? rs->best_val_loss : 0.0;
    ck->best_val_loss_epoch = rs->best_val_loss_epoch;
    ck->best_epoch = rs->best_epoch;
    ck->final_test_acc = rs->final_acc;
    return 0;
}

/* ... and save it. */
int mlp_train_save(mlp_checkpoint_t *ck, const mlp_config_t *cfg,
                   const session_t *s)
{
    int rc;

    /* Rank 0 alone writes (every rank holds the same state). */
    if (mlp_dist_rank() > 0)
        return 0;
    if ((rc = mlp_train_fill(ck, cfg, s)) < 0)
        return rc;
    return mlp_checkpoint_save(cfg->save_path, ck);
}

/* ---- warm starts (mlp_train_mem) ------------------------------------ */

/* "784-256-10 relu" of a shape. */
static void shape_text(char *buf, size_t len, size_t in, const size_t *hidden,
                       size_t nhidden, size_t out, mlp_act_t act)
{
    char s[256];

    mlp_net_shape_str(s, sizeof(s), in, hidden, nhidden, out);
    snprintf(buf, len, "%s %s", s, mlp_net_act_label(act, nhidden));
}

int mlp_train_warm_options(const mlp_config_t *cfg,
                           const mlp_checkpoint_t *ck, const char *name,
                           mlp_config_t *mcfg, int *keep_state)
{
    size_t want_state;
    int rc;

    if ((rc = mlp_train_checkpoint_config(ck, name, mcfg)) < 0)
        return rc;
    if (cfg->nhidden != ck->nhidden || cfg->act != ck->act ||
        memcmp(cfg->hidden, ck->hidden, ck->nhidden * sizeof(size_t)) != 0) {
        char a[300], b[300];

        shape_text(a, sizeof(a), ck->in, ck->hidden, ck->nhidden, ck->out,
                   ck->act);
        shape_text(b, sizeof(b), ck->in, cfg->hidden, cfg->nhidden, ck->out,
                   cfg->act);
        return mlp_error_set(MLP_EINVAL, "the model '%s' is %s; the options "
                             "ask for %s", name, a, b);
    }
    if (cfg->epochs <= ck->epoch)
        return mlp_error_set(MLP_EUSAGE, "option '--epochs': %u, but the "
                             "model '%s' has completed %u epochs; --epochs is "
                             "the total to reach", cfg->epochs, name,
                             ck->epoch);
    if (ck->batches_done > 0 &&
        (cfg->batch != mcfg->batch || cfg->accum != mcfg->accum))
        return mlp_error_set(MLP_EINVAL, "the model '%s' was saved in epoch "
                             "%u after batch %zu of --batch %zu (--accum "
                             "%u): it continues that epoch only with them",
                             name, ck->epoch + 1, ck->batches_done,
                             mcfg->batch, mcfg->accum);
    want_state = cfg->optimizer != MLP_OPTIM_SGD ? 2 * ck->nparams
                 : cfg->momentum > 0.0f          ? ck->nparams
                                                 : 0;
    *keep_state = cfg->optimizer == mcfg->optimizer &&
                  ck->nstate == want_state;
    return 0;
}

int mlp_train_check_warm_data(const mlp_checkpoint_t *ck, mlp_dataset_t *ds,
                              const char *name)
{
    const char *x = ds->files[MLP_FILE_TRAIN_IMAGES].path;

    if (ck->in != ds->train.dim)
        return mlp_error_set(MLP_EINVAL, "the model '%s' takes %zu inputs, "
                             "%s has %zu features per sample", name, ck->in,
                             x, ds->train.dim);
    if (ck->out != ds->nclasses)
        return mlp_error_set(MLP_EINVAL, "the model '%s' has %zu classes, "
                             "%s has %zu", name, ck->out,
                             ds->files[MLP_FILE_TRAIN_LABELS].path,
                             ds->nclasses);
    if ((ck->input_kind == MLP_XFORM_AFFINE) != (ds->real != 0))
        return mlp_error_set(MLP_EINVAL, "the model '%s' was trained on %s, "
                             "%s has %s", name,
                             ck->input_kind ? "real features" : "bytes", x,
                             ds->real ? "real features" : "bytes");
    if (ds->image && ck->rows > 1 &&
        (ck->rows != ds->rows || ck->cols != ds->cols))
        return mlp_error_set(MLP_EINVAL, "the model '%s' was trained on "
                             "%zux%zu images, %s has %zux%zu", name,
                             ck->rows, ck->cols, x, ds->rows, ds->cols);
    if (!ds->image && ck->rows > 1) { /* the same pixels, in rows */
        ds->image = 1;
        ds->rows = ck->rows;
        ds->cols = ck->cols;
    }
    if (ck->batches_done > 0 && ck->ntrain != ds->train.n)
        return mlp_error_set(MLP_EINVAL, "the model '%s' was saved in epoch "
                             "%u after batch %zu of a training set of %zu "
                             "samples; %s has %zu: it continues that epoch "
                             "only on its own training set", name,
                             ck->epoch + 1, ck->batches_done, ck->ntrain, x,
                             ds->train.n);
    return 0;
}
