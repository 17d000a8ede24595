/*
 * trainer: the epoch loop.  Loads the data, builds the net, starts the
 * loader, then for each epoch: trains on the shuffled training batches
 * (forward, softmax cross-entropy, backward, optimizer step), evaluates on
 * the test batches, and reports.
 *
 * oneDNN runs on the calling thread and the step's compute threads
 * (step.h: batch mode's replicas, one a thread, or gemm mode's OpenMP
 * threads inside each primitive); the loader's workers only decode.
 * Everything (primitives for every batch size, buffers, ring slots) is made
 * and warmed up before epoch 1's clock starts; the batch loop allocates
 * nothing.  Figures depend only on the data, the options (the precision
 * among them) and the seed: every sum of a step follows the micro-batch
 * partition (fold.h), so they are the same for any number of loader
 * workers, compute threads and MPI ranks (in gemm mode as far as oneDNN's
 * products give the same bits on any thread count).
 * cfg->precision auto is chosen at set-up (mlp_net_choose_precision, a
 * calibration of under 0.1 s; ranks agree) and stored resolved, like the
 * micro-batch: a checkpoint keeps what the run used.
 *
 * Outputs are checked before any work (outfile.h: each absent or a
 * regular file, none an input or another output), the checkpoints are
 * locked and the log is opened.  Before the net is built, every buffer
 * the run will allocate is counted (the net's parameters, gradients,
 * activations and oneDNN scratchpad as its primitive descriptors size them, the optimizer
 * state, checkpoint copies, the ring's slots), a margin is added (10% +
 * 64 MiB, memprobe.h) and the sum is compared with what the machine, the
 * cgroup and RLIMIT_AS/RLIMIT_DATA leave (memprobe.h): too much is
 * MLP_ENOMEM naming the sizes, before anything big is allocated, not an
 * OOM kill later.  res->mem_estimate gets the estimate with the dataset.
 *
 * Checkpoints.  With cfg->save_path, a checkpoint (checkpoint.h) is written
 * after every epoch and when interrupted.  With cfg->resume_path the run
 * continues the one in that checkpoint: every option the checkpoint keeps
 * (options.h MLP_OPT_CKPT: the model, the optimizer and its schedule, the
 * seed, batch and micro-batch, the data's limit and scaling, --val,
 * --clip-grad, ...) comes from it; an option given explicitly (cfg->given)
 * with another value is MLP_EUSAGE naming it, except the MLP_OPT_RESUME_FREE
 * ones: a given lr replaces the checkpoint's (fine-tuning), a given
 * precision the checkpoint's (a bf16 run finished in f32, say); each is
 * said on `out` and logged in the run record ("resume":{...,"overrides":
 * {"lr":{"checkpoint":X,"used":Y}}}), and the checkpoints written keep it;
 * a given --early-stop replaces the checkpoint's.  Without
 * cfg->save_path the run saves into cfg->resume_path.  cfg->epochs is the
 * total to reach: it must exceed the epochs the checkpoint completed (the
 * command line requires --epochs with --resume: the checkpoint does not
 * record the first run's target).  The data must have the image shape,
 * class count and training-set size the checkpoint was trained on
 * (MLP_EINVAL naming both).  Resuming is exact: with the same precision
 * and no lr override (and on any compute threads, loader workers or
 * ranks), epochs k+1.. print the same figures, digit for digit, as the
 * uninterrupted run (the checkpoint holds everything that feeds them: the
 * parameters and optimizer state bit for bit, the
 * seed that keys every epoch's order, and, for a save mid-epoch, the
 * batches done and their loss and accuracy sums).  The checkpoint's
 * header is checked against its options text and its run state against
 * those options (trainer_ckpt.c: MLP_EFORMAT naming the file), and the
 * rules between options against the merged options (MLP_EUSAGE).  A
 * checkpoint of a run that had stopped early (cfg->early_stop epochs since
 * the lowest validation loss) is done: the run trains and saves nothing
 * and returns 0 (res->stopped_early says where it stopped), unless a
 * larger early_stop is given.
 *
 * MPI ranks (dist.h): after set-up, whatever its status, every rank takes
 * the agreement (trainer_ranks.c): a rank given other options, data or
 * checkpoint, or one that failed, ends every rank with the same status
 * and message, before the loader or the first step.
 *
 * Pausing.  cfg->until = E (0: none) ends the run after epoch E of its
 * cfg->epochs plan, status "paused" (0 returned; the log's end record
 * says "paused"), its checkpoint saved as after every epoch.  Everything
 * else is the plan's: the schedule's total steps, warm-up and cosine span
 * are those of cfg->epochs, so a --resume of the paused checkpoint with
 * the same --epochs continues the plan exactly (its figures and its last
 * checkpoint, byte for byte, are the straight run's).  E must be at most
 * cfg->epochs and above a resumed checkpoint's epochs, and the run must
 * save (save_path or resume_path): MLP_EUSAGE naming --until otherwise.
 *
 * Validation.  With cfg->val = N, N of the training samples (after
 * limit_train) are held out before the run (mlp_dataset_hold_out: chosen
 * by the seed, never trained on), evaluated after every epoch's training
 * batches like the test set (no dropout, no augmentation), and shown as
 * "val loss" and "val acc".  The best epoch is then the one of the highest
 * validation accuracy (the first on ties), and its test accuracy is only
 * reported; without --val the best epoch is the one of the highest test
 * accuracy, which is a report, not a model choice (it looks at the test
 * set).  cfg->save_best_path writes the checkpoint of the best epoch
 * there, at the end of that epoch (same format and door as --save).
 * cfg->early_stop = K ends the run, status ok, after K epochs in a row
 * without a lower validation loss than the lowest so far (the summary
 * says so).  Both need cfg->val (MLP_EUSAGE naming them: the rules of
 * options.h, which session_open checks on any config, set by code too);
 * N at or above the training samples is MLP_EUSAGE naming --val.
 *
 * Errors: any module's status, with its message; MLP_EDIVERGED when the loss
 * of a training batch, the test loss, or (checked once per epoch) a
 * parameter or optimizer value becomes non-finite: the message names the
 * epoch and batch, and nothing is saved, so the last good checkpoint
 * stays; MLP_EINTERRUPTED after mlp_train_interrupt (below).  The log gets
 * an "end" record with the status ("ok", "error", "diverged",
 * "interrupted") in every case once it is open.
 * Not thread-safe: one training per thread.
 */
#ifndef MLPTRAIN_TRAINER_H
#define MLPTRAIN_TRAINER_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/dataset.h"
#include "mlptrain/options.h"
#include "mlptrain/report.h"

typedef struct {
    unsigned epochs;             /* completed, counting a resumed run's */
    unsigned first_epoch;        /* the first epoch this run trained in */
    unsigned nhistory;           /* epochs completed by this run */
    mlp_epoch_stats_t *history;  /* (nhistory): first_epoch, ... */
    double seconds;              /* all epochs */
    double samples_per_s;        /* training samples / training seconds */
    double best_test_acc;        /* the best epoch's test accuracy */
    unsigned best_epoch;         /* by validation accuracy with a --val
                                    split, else by test accuracy */
    double best_val_acc;         /* the best epoch's; < 0 without --val */
    double best_val_loss;        /* the lowest; INFINITY without --val */
    unsigned stopped_early;      /* --early-stop ended the run after this
                                    epoch; 0: it did not */
    unsigned stopped;            /* a hook (mlp_train_mem_t.epoch_done)
                                    ended the run after this epoch; 0:
                                    none did */
    double mem_estimate;         /* bytes the run was estimated to hold at
                                    its peak, dataset and margin in */
} mlp_train_result_t;

/*
 * Train as cfg says; human lines to `out` (NULL: silent), warnings and the
 * progress line to `err` (NULL: none; warnings print even with -q).  *res
 * (may be NULL) gets the per-epoch figures; free them with
 * mlp_train_result_free.
 */
int mlp_train(const mlp_config_t *cfg, FILE *out, FILE *err,
              mlp_train_result_t *res);

void mlp_train_result_free(mlp_train_result_t *res);

/*
 * A run over data and a model in memory: the Python module's fit and
 * partial_fit, and tests.  Everything mlp_train does (the loader's
 * workers decoding ahead, the step, the schedule, the optimizer, every
 * figure) is the same, digit for digit: the same options, data and seed
 * give the same figures whether the data comes from files or arrays.
 * What differs:
 *
 *   - the data is m->data (dataset.h, mlp_dataset_from_arrays: viewed, not
 *     copied); cfg's data options (--data, --train, ...) are not read, its
 *     --limit-train, --val and --normalize apply.  A test split is
 *     optional: without one, the epochs report no test figures (0) and,
 *     without --val, the best epoch is the first;
 *   - the run may start from a model (m->model, m->model_len: checkpoint
 *     bytes, as this function or a file gives them; m->model_name names it
 *     in messages) instead of fresh weights: a warm start.  Its parameters,
 *     its input scaling, its epochs and, when saved mid-epoch, its place in
 *     the epoch continue; its optimizer state and step count too when cfg's
 *     optimizer keeps the same state (same kind; SGD with momentum or
 *     without), else the optimizer starts afresh.  Every option is cfg's,
 *     not the checkpoint's (unlike --resume), but the model's shape must be
 *     cfg's and the data's: hidden widths, activation, inputs, classes,
 *     bytes or real features (MLP_EINVAL naming both); rows without an
 *     image shape take the model's.  cfg->epochs is the total to reach,
 *     above the model's epochs (MLP_EUSAGE).  The training set may differ
 *     from the model's (another size), except for a model saved mid-epoch,
 *     which continues its epoch only on a training set of its size.  With
 *     the checkpoint's own options and the same data, a warm start is a
 *     --resume: the same figures, digit for digit;
 *   - m->epoch_done (may be NULL) is called after every epoch's report
 *     with the epoch's figures, on the calling thread, between epochs (no
 *     loader batch is held): it returns 0 to go on, 1 to end the run there
 *     (status ok; res->stopped says when), or a negative status, which
 *     ends the run with that status and the message the hook set.  The
 *     hook may call mlp_train_run_model;
 *   - *m->stop (when m->stop is not NULL) non-zero asks the run to stop,
 *     as mlp_train_interrupt does: checked between steps, it ends the run
 *     with MLP_EINTERRUPTED after the batch in progress.  It may be set
 *     from any thread or a signal handler;
 *   - no checkpoint is written unless cfg->save_path says so; instead, on
 *     success and on MLP_EINTERRUPTED, *model gets the model as it ended
 *     (after the last batch trained: mid-epoch when interrupted, so that a
 *     warm start from it continues exactly), checkpoint bytes to free(),
 *     and *model_len their length; *model is NULL otherwise (MLP_EDIVERGED
 *     keeps nothing).  A run that had nothing to do (an early-stopped
 *     model) hands back a copy of m->model.
 *
 * One process, one rank: under mpirun with several ranks it is MLP_EUSAGE.
 * Runs on other threads at the same time may share the arrays (read
 * only); each has its own state and stop flag (mlp_train_interrupt, being
 * process-wide, stops them all).  Errors: as mlp_train, and
 * mlp_dataset_from_arrays's.
 */
typedef struct mlp_train_run mlp_train_run_t; /* a run, as hooks see it */

typedef struct {
    const mlp_dataset_arrays_t *data;  /* required */
    const uint8_t *model;              /* warm start, or NULL */
    size_t model_len;
    const char *model_name;            /* "the model" when NULL */
    int (*epoch_done)(void *arg, mlp_train_run_t *run,
                      const mlp_epoch_stats_t *st);
    void *arg;                         /* epoch_done's */
    const volatile sig_atomic_t *stop; /* or NULL */
} mlp_train_mem_t;

int mlp_train_mem(const mlp_config_t *cfg, const mlp_train_mem_t *m,
                  FILE *out, FILE *err, mlp_train_result_t *res,
                  uint8_t **model, size_t *model_len);

/*
 * From an epoch_done hook: the model as it is now (at the end of the epoch
 * just reported), as checkpoint bytes to free(); a model kept to restore
 * the best epoch's weights later.  Errors: MLP_ENOMEM, the checkpoint's.
 */
int mlp_train_run_model(mlp_train_run_t *run, uint8_t **buf, size_t *len);

/*
 * The options of the run a checkpoint was saved from: the defaults, then
 * every option the checkpoint keeps (options.h MLP_OPT_CKPT: its options
 * text, or a version 1 file's fixed fields), as a resumed run takes them.
 * MLP_EFORMAT naming `path` for options this mlptrain does not read.
 */
int mlp_train_checkpoint_config(const mlp_checkpoint_t *ck, const char *path,
                                mlp_config_t *cfg);

/*
 * Ask the training running in this process to stop: it finishes the batch
 * in progress, saves a checkpoint of exactly that point when
 * cfg->save_path is set (mid-epoch: --resume continues with the next
 * batch), logs an "end" record with status "interrupted" and returns
 * MLP_EINTERRUPTED.  A request made before mlp_train reaches its first
 * batch is honoured there; mlp_train clears it when it returns
 * MLP_EINTERRUPTED.  Async-signal-safe (it sets a volatile sig_atomic_t).
 */
void mlp_train_interrupt(void);

/*
 * Make SIGINT and SIGTERM call mlp_train_interrupt while a batch loop runs:
 * mlp_train installs that handler (and nothing else) when its batch loop
 * starts, not before, so that during start-up (loading data, building
 * primitives) the caller's disposition stands -- main.c's ends the process
 * at once with exit 130.  SA_RESETHAND restores the default action as the
 * handler runs, so a second SIGINT (or SIGTERM) ends the process at once.
 * Process-wide: for main.c, not for library users.  Returns 0.
 */
int mlp_train_catch_signals(void);

#endif
