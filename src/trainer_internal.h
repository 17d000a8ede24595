/*
 * trainer_internal: what the three files of the trainer share: the epoch
 * loop (trainer.c), the session's set-up stages (trainer_setup.c) and the
 * checkpoint side (trainer_ckpt.c).  The session they all work on, the run
 * state a checkpoint records, the set-up stages mlp_train calls, and the
 * checkpoint functions the stages call.  Private to those three files:
 * not in include/, not installed.
 */
#ifndef MLPTRAIN_TRAINER_INTERNAL_H
#define MLPTRAIN_TRAINER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/dataset.h"
#include "mlptrain/loader.h"
#include "mlptrain/net.h"
#include "mlptrain/optim.h"
#include "mlptrain/options.h"
#include "mlptrain/report.h"
#include "mlptrain/schedule.h"
#include "mlptrain/step.h"
#include "mlptrain/trainer.h"

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
 * A training session: everything one mlp_train call holds, so that each
 * stage is a function of it.  Stages, in order: open (validate, check and
 * lock the outputs, open the report), resume (checkpoint and its options),
 * load the data, build (net, optimizer, buffers, warm-up), start (loader,
 * run record, signals), the epochs, and finish (interrupt save, summary,
 * result); close frees what is left.  A stage fails with a status and its
 * message; later stages are skipped, finish and close always run once the
 * report is open.
 */
typedef struct mlp_train_run {
    const mlp_config_t *cfg_in; /* as given */
    mlp_config_t *cfg;          /* effective options (resume merged) */
    FILE *out;
    mlp_train_result_t *res;    /* may be NULL */
    mlp_report_t *rep;
    mlp_dataset_t *ds;
    mlp_net_t *net;
    mlp_optim_t *opt;
    mlp_stepper_t *step;        /* the parallel step over net and opt */
    mlp_sched_t sched;          /* the rate of each training step */
    mlp_loader_t *ld;
    mlp_epoch_stats_t *hist;    /* (epochs - first + 1) */
    float *dlogits;             /* (maxb, nclasses) */
    mlp_checkpoint_t rck, sck;  /* resumed from; saved to */
    mlp_checkpoint_t bck;       /* --save-best's */
    mlp_config_t *best_cfg;     /* cfg with save_path = --save-best */
    run_state_t rs;
    double train_time, t_start, trained_samples;
    size_t nb_train, nb_val, nb_test, maxb;
    size_t slots;               /* --slots bounded by an epoch's batches
                                   (0: automatic) */
    size_t steps_per_epoch;     /* global steps: ceil(nb_train / accum) */
    unsigned stopped_early;     /* --early-stop ended the run here */
    unsigned done;              /* the resumed checkpoint's run had stopped
                                   early at this epoch: nothing to train */
    uint32_t resume_crc;        /* crc32 of the resumed parameters */
    unsigned first;             /* first epoch of this run */
    uint64_t batches_run;
    double max_loss;            /* per sample; 0: only non-finite */
    char save_lock[MLP_PATH_MAX + 8], best_lock[MLP_PATH_MAX + 8];
    int save_lock_fd, best_lock_fd;
    int resume, free_cores;
    mlp_config_t *ck_cfg;       /* --resume, a warm start: the checkpoint's
                                   options */
    mlp_precision_choice_t prec; /* the step's precision and why */
    /* A run in memory (mlp_train_mem): its data, hooks and stop flag;
     * NULL for mlp_train.  warm: it starts from mem->model (resume is set
     * too: the stages that continue a checkpoint do it for both), with
     * the model's optimizer state when keep_state. */
    const mlp_train_mem_t *mem;
    int warm, keep_state;
    const char *warm_name;      /* the warm start's model in messages */
    unsigned stopped;           /* the hook ended the run after it */
    mlp_checkpoint_t mck;       /* mlp_train_run_model's capture */
    uint8_t *model_out;         /* the model the run ends with (mem) */
    size_t model_out_len;
    int rank, nranks;           /* MPI (dist.h); 0 and 1 without */
    mlp_config_t *rank_cfg;     /* rank > 0: cfg_in without outputs */
} session_t;

/*
 * The set-up stages (trainer_setup.c), in the order mlp_train runs them;
 * each fails with a status and its message.  session_open validates,
 * checks every output, takes the checkpoints' locks and opens the report
 * (on failure nothing is left to close); session_resume sets the
 * effective options (with --resume, the checkpoint and its options);
 * session_load_data loads and checks the data and counts its batches;
 * session_build makes the net (after the memory check), the optimizer,
 * the parameters, the loop's buffers, and warms up.
 */
int mlp_train_session_open(session_t *s, const mlp_config_t *cfg_in,
                           const mlp_train_mem_t *mem, FILE *out, FILE *err,
                           mlp_train_result_t *res);
int mlp_train_session_resume(session_t *s);
int mlp_train_session_load_data(session_t *s);
int mlp_train_session_build(session_t *s);

/*
 * The global step j (from 0) of epoch e (from 1) counted over the run: the
 * one count the schedule's rate, Adam's step count on resume and the epoch
 * line's rate are functions of.  A global step takes --accum loader
 * batches (the epoch's last may take fewer): loader batch k is in step
 * k / accum.
 */
static inline uint64_t mlp_train_step(const session_t *s, unsigned e,
                                      size_t j)
{
    return (uint64_t)(e - 1) * s->steps_per_epoch + j;
}

/* The last epoch this run trains: --until's, else the plan's --epochs. */
static inline unsigned mlp_train_last_epoch(const session_t *s)
{
    return s->cfg->until > 0 ? s->cfg->until : s->cfg->epochs;
}

/* Global steps done after `batches` loader batches of an epoch. */
static inline size_t mlp_train_steps_of(const session_t *s, size_t batches)
{
    size_t k = s->cfg->accum > 0 ? s->cfg->accum : 1;

    return (batches + k - 1) / k;
}

/*
 * The ranks' agreement (trainer_ranks.c, dist.h): with more than one rank,
 * every rank calls it once, after the set-up stages whatever their status
 * rc and before the loader starts; it returns rc, or the failure every
 * rank then shares (another rank's, or a difference in options, data or
 * checkpoint).  One rank: rc.
 */
int mlp_train_agree_ranks(session_t *s, int rc);

/* Remove the checkpoints' lock files session_open took; cannot fail. */
void mlp_train_unlock_checkpoints(session_t *s);

/*
 * The options of a resumed run: the checkpoint's, by mlp_options_resume
 * (a given option with another value is an error naming it; the
 * RESUME_FREE ones, --lr and --precision, are free; --epochs must exceed
 * the checkpoint's).  *theirs gets the checkpoint's own options (the
 * report logs a free option given with another value as an override).
 * Fails with MLP_EUSAGE or MLP_EFORMAT.
 */
int mlp_train_merge_resume(mlp_config_t *cfg, const mlp_checkpoint_t *ck,
                           mlp_config_t *theirs);

/* MLP_EINVAL unless ds has the checkpoint's image shape, classes and
 * training samples; path names the checkpoint in the message. */
int mlp_train_check_resume_data(const mlp_checkpoint_t *ck,
                                const mlp_dataset_t *ds, const char *path);

/*
 * Capture the session's net and optimizer into ck (its buffers reused
 * from the last capture), with the options cfg (the session's, or
 * --save-best's) and the session's data and run state: mlp_train_fill.
 * The same, then saved atomically to cfg->save_path: mlp_train_save (a
 * no-op on ranks above 0).  Fail with the checkpoint's status.
 */
int mlp_train_fill(mlp_checkpoint_t *ck, const mlp_config_t *cfg,
                   const session_t *s);
int mlp_train_save(mlp_checkpoint_t *ck, const mlp_config_t *cfg,
                   const session_t *s);

/*
 * A warm start's checks (trainer.h, mlp_train_mem), named `name` in
 * messages.  mlp_train_warm_options: the model's own options into *mcfg
 * (checked against its header, as a resume reads them), its shape against
 * cfg's (MLP_EINVAL), cfg->epochs above its epochs (MLP_EUSAGE), a model
 * saved mid-epoch continued with its --batch and --accum (MLP_EINVAL);
 * *keep_state when cfg's optimizer keeps the state the model holds.
 * mlp_train_check_warm_data: the model's inputs, classes and kind of
 * features against the data's, a mid-epoch model's training-set size;
 * rows of features without an image shape take the model's (ds is
 * changed then).  MLP_EINVAL naming both.
 */
int mlp_train_warm_options(const mlp_config_t *cfg,
                           const mlp_checkpoint_t *ck, const char *name,
                           mlp_config_t *mcfg, int *keep_state);
int mlp_train_check_warm_data(const mlp_checkpoint_t *ck, mlp_dataset_t *ds,
                              const char *name);

#endif
