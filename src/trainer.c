/*
 * trainer: the epoch loop (see trainer.h).
 *
 * Threads: this file runs on the caller's thread only.  It owns the net,
 * the optimizer and the report; the loader owns its workers and ring.  A
 * signal handler installed when the batch loop starts may run on any
 * thread and only sets `stop_requested`, which the loop reads between
 * batches; before that, a signal takes the caller's disposition.
 *
 * A resumed run rebuilds everything from the checkpoint and asks the loader
 * for the schedule from the checkpoint's next epoch; a checkpoint saved
 * mid-epoch says how many of that epoch's training batches were done, and
 * the loop takes those batches from the loader and drops them unseen, so
 * every later batch is exactly the one the uninterrupted run would see.
 *
 * mlp_train is a row of stages over one session_t (see "the run" below):
 * session_open, session_resume, session_load_data, session_build,
 * session_start, run_epochs (run_epoch, train_batch per batch),
 * session_finish (with save_interrupted), session_close.  The checkpoint
 * side of a run (which options it stores, the resume conflict check, the
 * data check, the save) is trainer_ckpt.c's, through trainer_internal.h.
 *
 * Non-goals: parsing options, printing (report.c does).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/clock.h"
#include "mlptrain/dataset.h"
#include "mlptrain/error.h"
#include "mlptrain/faults.h"
#include "mlptrain/loader.h"
#include "mlptrain/loss.h"
#include "mlptrain/memprobe.h"
#include "mlptrain/net.h"
#include "mlptrain/optim.h"
#include "mlptrain/schedule.h"
#include "mlptrain/outfile.h"
#include "mlptrain/plot.h"
#include "mlptrain/trainer.h"
#include "trainer_internal.h"

/* Set by mlp_train_interrupt (a signal handler); read between batches. */
static volatile sig_atomic_t stop_requested;
/* mlp_train_catch_signals was called: the batch loop installs the handler. */
static volatile sig_atomic_t catch_in_loop;

void mlp_train_interrupt(void)
{
    stop_requested = 1;
}

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int mlp_train_catch_signals(void)
{
    catch_in_loop = 1;
    return 0;
}

/*
 * From here on a SIGINT or SIGTERM asks the loop to stop between batches
 * (it saves and logs).  Installed only when the batch loop starts: before,
 * the caller's disposition stands (main.c: exit 130 at once), so a signal
 * during start-up -- loading data, building primitives -- is never
 * swallowed by a flag nobody reads yet.  No SA_RESTART: nothing in the loop
 * blocks in a system call that a signal should not cut short.
 */
static int arm_stop_signals(void)
{
    struct sigaction sa;

    if (!catch_in_loop)
        return 0;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    if (sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGTERM, &sa, NULL) != 0)
        return mlp_error_set(MLP_EIO, "sigaction: %s", strerror(errno));
    return 0;
}

/*
 * Test hook: with MLPTRAIN_TEST_STARTUP_HOLD=FILE, start-up creates FILE
 * and then waits for a signal, so that a test can signal a run that is
 * certainly in start-up (tests/e2e_inputs.sh).  Unset: nothing.
 */
static void startup_hold(void)
{
    const char *f = getenv("MLPTRAIN_TEST_STARTUP_HOLD");
    int fd;

    if (f == NULL || f[0] == '\0')
        return;
    if ((fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0)
        close(fd);
    for (;;)
        pause();
}

static long peak_rss_kb(void)
{
    struct rusage ru;

    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/*
 * Run every prepared batch size once, forward and backward, on zeros: the
 * first execution of a primitive generates its kernels, which must not land
 * in epoch 1's time.  Parameters are untouched (no optimizer step).
 */
static int warm_up(mlp_net_t *net, size_t dim, float *dlogits)
{
    const mlp_net_spec_t *spec = mlp_net_spec(net);
    size_t maxb = 0;
    float *x;
    const float *logits;
    int rc = 0;

    for (size_t i = 0; i < spec->nbatch_sizes; i++)
        if (spec->batch_sizes[i] > maxb)
            maxb = spec->batch_sizes[i];
    x = calloc(maxb * dim, sizeof(float));
    if (x == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory for warm-up");
    memset(dlogits, 0, maxb * spec->out * sizeof(float));
    for (size_t i = 0; i < spec->nbatch_sizes && rc == 0; i++) {
        rc = mlp_net_forward(net, x, spec->batch_sizes[i], &logits);
        if (rc == 0)
            rc = mlp_net_backward(net, dlogits, spec->batch_sizes[i]);
    }
    free(x);
    return rc;
}

/* ---- memory --------------------------------------------------------- */

/*
 * Refuse a run that cannot fit, before allocating it.  Counted, in bytes
 * (doubles: a huge --hidden overflows size_t): what the net allocates as
 * oneDNN's primitive descriptors size it (parameters and gradients in
 * their blocked layout, activations and their gradients at the largest
 * batch, the shared scratchpad and any workspace: mlp_net_estimate), the
 * optimizer's velocities, a checkpoint's copies (the parameters and
 * velocities in logical order, for --save, for --save-best and for the
 * checkpoint being resumed; `save` counts the files written), dL/dlogits, the warm-up's input batch and the ring's slots.
 * The dataset is already loaded: it counts in *total (what the process
 * will hold, for tests against the peak RSS) but not against what is
 * still available.  Both sides get memprobe's margin.
 */
static int check_memory(const mlp_net_spec_t *spec, size_t maxb, size_t slots,
                        int nstate, int save, int resume,
                        const mlp_dataset_t *ds, double *total)
{
    mlp_net_mem_t nm;
    double logical = 0, in = (double)spec->in, need, avail, data = 0;
    double copies = (double)save * (1 + nstate) + (resume ? 1 + nstate : 0);
    double b = (double)maxb;
    int rc;

    for (size_t l = 0; l <= spec->nhidden; l++) {
        double out = (double)(l < spec->nhidden ? spec->hidden[l] : spec->out);

        logical += (in + 1) * out;
        in = out;
    }
    if ((rc = mlp_net_estimate(spec, &nm)) < 0)
        return rc;
    need = nm.params * (2 + nstate) + nm.act + nm.scratch + nm.workspace +
           4.0 * (logical * copies + b * (double)spec->out +
                  b * (double)spec->in) +
           (double)slots * (4.0 * b * (double)(spec->in + 1) + 128.0);
    for (int i = 0; i < MLP_NFILES; i++)
        data += (double)ds->idx[i].count * (double)ds->idx[i].item_size;
    data += (double)ds->val.n * (double)(ds->val.dim + 1);
    if (total != NULL)
        *total = mlp_memprobe_with_margin(need + data);
    need = mlp_memprobe_with_margin(need);
    avail = mlp_memprobe_available();
    if (need > avail)
        return mlp_error_set(MLP_ENOMEM,
                             "not enough memory: the model (%.3g parameters) "
                             "and batches of %zu need about %.1f GiB, and "
                             "%.1f GiB is available",
                             logical, maxb, need / 1073741824.0,
                             avail / 1073741824.0);
    return 0;
}

/* ---- divergence ----------------------------------------------------- */

/* The first non-finite value of a block, or n. */
static size_t first_nonfinite(const float *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return i;
    return n;
}

/* Parameters and optimizer state finite, else MLP_EDIVERGED. */
static int check_finite(mlp_net_t *net, mlp_optim_t *opt, unsigned epoch,
                        size_t batch)
{
    float *p, *g, *v;
    size_t np, nv, bad;

    mlp_net_params(net, &p, &g, &np);
    v = mlp_optim_state(opt, &nv);
    if ((bad = first_nonfinite(p, np)) < np ||
        (v != NULL && (bad = first_nonfinite(v, nv)) < nv))
        return mlp_error_set(MLP_EDIVERGED,
                             "epoch %u batch %zu: a %s is not finite", epoch,
                             batch,
                             bad < np && !isfinite(p[bad])
                                 ? "weight"
                                 : "optimizer state value");
    return 0;
}

/* ---- the run -------------------------------------------------------- */

/*
 * Every output of a run, before any work: --save, --save-best and --log
 * absent or
 * regular files, --plot a .png or .svg one, and no output the same file as
 * an input (the data files, --resume) or as another output (outfile.h).
 * --save may name the --resume checkpoint: it replaces it atomically.
 */
static int check_outputs(const mlp_config_t *cfg)
{
    mlp_dataset_paths_t *data = NULL;
    mlp_out_file_t fs[MLP_DATASET_NPATHS + 5];
    size_t n = 0;
    int rc;

    if (cfg->save_path[0] != '\0' &&
        (rc = mlp_checkpoint_check_writable(cfg->save_path)) < 0)
        return rc;
    if (cfg->save_best_path[0] != '\0' &&
        (rc = mlp_checkpoint_check_writable(cfg->save_best_path)) < 0)
        return rc;
    if (cfg->log_path[0] != '\0' && (rc = mlp_out_check(cfg->log_path)) < 0)
        return rc;
    if (cfg->plot_path[0] != '\0' &&
        (rc = mlp_plot_check(cfg->plot_path)) < 0)
        return rc;
    fs[n++] = (mlp_out_file_t){cfg->log_path, "--log", 1, NULL};
    fs[n++] = (mlp_out_file_t){cfg->save_path, "--save", 1, "--resume"};
    fs[n++] = (mlp_out_file_t){cfg->save_best_path, "--save-best", 1, NULL};
    fs[n++] = (mlp_out_file_t){cfg->plot_path, "--plot", 1, NULL};
    fs[n++] = (mlp_out_file_t){cfg->resume_path, "--resume", 0, NULL};
    if ((data = malloc(sizeof(*data))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    mlp_dataset_paths(cfg->data_dir, data);
    for (size_t i = 0; i < MLP_DATASET_NPATHS; i++)
        fs[n++] = (mlp_out_file_t){data->path[i], data->what[i], 0, NULL};
    rc = mlp_out_no_alias(fs, n);
    free(data);
    return rc;
}

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
typedef struct {
    const mlp_config_t *cfg_in; /* as given */
    mlp_config_t *cfg;          /* effective options (resume merged) */
    FILE *out;
    mlp_train_result_t *res;    /* may be NULL */
    mlp_report_t *rep;
    mlp_dataset_t *ds;
    mlp_net_t *net;
    mlp_optim_t *opt;
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
    unsigned stopped_early;     /* --early-stop ended the run here */
    unsigned first;             /* first epoch of this run */
    uint64_t batches_run;
    double max_loss;            /* per sample; 0: only non-finite */
    char save_lock[MLP_PATH_MAX + 8], best_lock[MLP_PATH_MAX + 8];
    int save_lock_fd, best_lock_fd;
    int resume, lr_override, free_cores;
} session_t;

/* --save-best and --early-stop judge by the validation split: --val. */
static int check_val_options(const mlp_config_t *cfg)
{
    if (cfg->val > 0)
        return 0;
    if (cfg->save_best_path[0] != '\0')
        return mlp_error_set(MLP_EUSAGE, "option '--save-best' needs --val "
                             "N: the best epoch is chosen on a validation "
                             "split, never on the test set");
    if (cfg->early_stop > 0)
        return mlp_error_set(MLP_EUSAGE, "option '--early-stop' needs --val "
                             "N: it watches the validation loss");
    return 0;
}

/*
 * The checkpoint's inode changes at every rename: its lock is the sidecar
 * file PATH.lock, removed at the end.  "" takes no lock.
 */
static int lock_checkpoint(const char *path, char *lock, int *fd)
{
    int rc;

    if (path[0] == '\0')
        return 0;
    if ((rc = mlp_out_lock_name(path, lock, MLP_PATH_MAX + 8)) < 0 ||
        (rc = mlp_out_lock(lock, fd)) < 0) {
        if (rc == MLP_EBUSY)
            mlp_error_set(rc, "'%s' is in use by another mlptrain process "
                              "(lock '%s')", path, lock);
        return rc;
    }
    return 0;
}

static void unlock_checkpoints(session_t *s)
{
    if (s->save_lock_fd >= 0)
        mlp_out_unlock_remove(s->save_lock, s->save_lock_fd);
    if (s->best_lock_fd >= 0)
        mlp_out_unlock_remove(s->best_lock, s->best_lock_fd);
    s->save_lock_fd = s->best_lock_fd = -1;
}

/*
 * Validate, check every output, take the checkpoints' locks and open the
 * report.  On failure nothing is left to close (no summary is written).
 */
static int session_open(session_t *s, const mlp_config_t *cfg_in, FILE *out,
                        FILE *err, mlp_train_result_t *res)
{
    const char *save_to;
    int rc;

    memset(s, 0, sizeof(*s));
    s->cfg_in = cfg_in;
    s->out = out;
    s->res = res;
    s->first = 1;
    s->save_lock_fd = s->best_lock_fd = -1;
    s->rs.best_val_acc = -1.0;
    s->rs.best_val_loss = INFINITY;
    if (res != NULL)
        memset(res, 0, sizeof(*res));
    s->resume = cfg_in->resume_path[0] != '\0';
    /* A resumed run's --val is the checkpoint's: checked once merged. */
    if ((rc = mlp_config_validate(cfg_in)) < 0 ||
        (!s->resume && (rc = check_val_options(cfg_in)) < 0))
        return rc;
    /* Before any thread of ours runs: they would count as load. */
    s->free_cores = out != NULL
                        ? mlp_config_load_free_cores(mlp_config_ncores())
                        : -1;
    /* Outputs first: an unwritable path fails before any work (and before
     * the log is truncated).  A resumed run appends to its log. */
    if ((rc = check_outputs(cfg_in)) < 0)
        return rc;
    /* The checkpoint written: --save, else the --resume file. */
    save_to = cfg_in->save_path[0] != '\0' ? cfg_in->save_path
                                           : cfg_in->resume_path;
    if ((rc = lock_checkpoint(save_to, s->save_lock, &s->save_lock_fd)) <
            0 ||
        (rc = lock_checkpoint(cfg_in->save_best_path, s->best_lock,
                              &s->best_lock_fd)) < 0 ||
        (rc = mlp_report_create(out, err, cfg_in->quiet, cfg_in->log_path,
                                s->resume, &s->rep)) < 0) {
        unlock_checkpoints(s);
        return rc;
    }
    return 0;
}

/* The effective options; with --resume, the checkpoint and its options. */
static int session_resume(session_t *s)
{
    mlp_config_t *cfg;
    int rc;

    if (!(cfg = s->cfg = malloc(sizeof(*cfg))))
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    *cfg = *s->cfg_in;
    if (cfg->save_best_path[0] != '\0') {
        if (!(s->best_cfg = malloc(sizeof(*s->best_cfg))))
            return mlp_error_set(MLP_ENOMEM, "out of memory");
        *s->best_cfg = *cfg; /* options merged below */
    }
    startup_hold();
    if (!s->resume) {
        if (s->best_cfg != NULL)
            memcpy(s->best_cfg->save_path, cfg->save_best_path,
                   sizeof(cfg->save_best_path));
        return 0;
    }
    if ((rc = mlp_checkpoint_load(cfg->resume_path, &s->rck)) < 0 ||
        (rc = mlp_train_merge_resume(cfg, &s->rck,
                                     &s->lr_override)) < 0 ||
        (rc = check_val_options(cfg)) < 0)
        return rc;
    /* It goes on saving where it came from, unless --save names another
     * file (checked once the file proved a checkpoint). */
    if (cfg->save_path[0] == '\0') {
        memcpy(cfg->save_path, cfg->resume_path, sizeof(cfg->save_path));
        if ((rc = mlp_checkpoint_check_writable(cfg->save_path)) < 0)
            return rc;
    }
    s->first = s->rck.epoch + 1;
    s->rs.epoch = s->rck.epoch;
    s->rs.best_acc = s->rck.best_test_acc;
    s->rs.best_epoch = s->rck.best_epoch;
    /* The validation state (checkpoint version 2; a version 1 file has
     * none and had no --val): best epoch and early stop go on exactly. */
    if (s->rck.best_val_epoch > 0)
        s->rs.best_val_acc = s->rck.best_val_acc;
    if (s->rck.best_val_loss_epoch > 0) {
        s->rs.best_val_loss = s->rck.best_val_loss;
        s->rs.best_val_loss_epoch = s->rck.best_val_loss_epoch;
    }
    s->rs.final_acc = s->rck.final_test_acc;
    if (s->best_cfg != NULL) {
        char path[sizeof(cfg->save_best_path)];

        memcpy(path, cfg->save_best_path, sizeof(path));
        *s->best_cfg = *cfg;
        memcpy(s->best_cfg->save_path, path, sizeof(path));
    }
    return 0;
}

/* The data, checked against the run (and the checkpoint), and its batches. */
static int session_load_data(session_t *s)
{
    const mlp_config_t *cfg = s->cfg;
    mlp_dataset_t *ds;
    int rc;

    if ((rc = mlp_dataset_load(cfg->data_dir, cfg->limit_train,
                               cfg->limit_test, &s->ds)) < 0)
        return rc;
    ds = s->ds;
    if (ds->nclasses < 2)
        return mlp_error_set(MLP_EINVAL,
                             "%s: every training label is 0: a classifier "
                             "needs at least 2 classes",
                             ds->files[MLP_FILE_TRAIN_LABELS].path);
    /* Every figure of a run is a test figure: no test set, no run. */
    if (ds->test.n == 0)
        return mlp_error_set(MLP_EINVAL,
                             "%s: no test images: a run reports its test "
                             "accuracy",
                             ds->files[MLP_FILE_TEST_IMAGES].path);
    /* After --limit-train: N of the samples it leaves. */
    if (cfg->val >= ds->train.n && cfg->val > 0)
        return mlp_error_set(MLP_EUSAGE, "option '--val': %zu, but only %zu "
                             "training samples are used (after "
                             "--limit-train): none would be left to train on",
                             cfg->val, ds->train.n);
    if ((rc = mlp_dataset_hold_out(ds, cfg->val, cfg->seed)) < 0)
        return rc;
    if (s->resume && (rc = mlp_train_check_resume_data(&s->rck, ds,
                                                       cfg->resume_path)) < 0)
        return rc;
    /* A mean loss of 100 x ln(C) is 100 times a uniform guess's: a run
     * whose loss explodes that far has diverged even while it is finite. */
    s->max_loss = cfg->max_loss > 0.0f    ? (double)cfg->max_loss
                  : cfg->max_loss == 0.0f ? 100.0 * log((double)ds->nclasses)
                                          : 0.0;
    s->nb_train = mlp_loader_nbatches(ds->train.n, cfg->batch);
    s->nb_val = mlp_loader_nbatches(ds->val.n, cfg->batch);
    s->nb_test = mlp_loader_nbatches(ds->test.n, cfg->batch);
    /* A batch larger than every split is one batch of each: the ring
     * needs no more rows than the largest split. */
    s->maxb = ds->train.n > ds->test.n ? ds->train.n : ds->test.n;
    if (ds->val.n > s->maxb)
        s->maxb = ds->val.n;
    if (s->maxb > cfg->batch)
        s->maxb = cfg->batch;
    return 0;
}

/*
 * The optimizer and the schedule of its rate.  AdamW's weight decay is
 * PyTorch's 0.01 when --weight-decay is not given (a resumed run keeps
 * the checkpoint's); it is set in the effective options, so the run
 * record and the checkpoint show it.
 */
static int build_optim(session_t *s)
{
    mlp_config_t *cfg = s->cfg;
    mlp_optim_opts_t oo;
    mlp_sched_t *sc = &s->sched;
    float *p, *g;
    size_t np;
    int rc;

    if (!s->resume)
        mlp_config_resolve(cfg);
    if (cfg->optimizer != MLP_OPTIM_SGD && cfg->momentum > 0.0f)
        return mlp_error_set(MLP_EUSAGE,
                             "--momentum is for --optimizer sgd; %s has "
                             "--beta1",
                             mlp_optim_names[cfg->optimizer]);
    if (cfg->nesterov && (cfg->optimizer != MLP_OPTIM_SGD ||
                          !(cfg->momentum > 0.0f)))
        return mlp_error_set(MLP_EUSAGE,
                             "--nesterov needs --optimizer sgd and "
                             "--momentum X > 0");
    memset(sc, 0, sizeof(*sc));
    sc->kind = (mlp_sched_kind_t)cfg->schedule;
    sc->lr = cfg->lr;
    sc->lr_min = cfg->lr_min;
    sc->warmup = cfg->warmup;
    sc->lr_step = cfg->lr_step;
    sc->lr_gamma = cfg->lr_gamma;
    sc->steps_per_epoch = s->nb_train;
    sc->total_steps = (uint64_t)cfg->epochs * s->nb_train;
    if ((rc = mlp_sched_init(sc)) < 0)
        return rc;
    memset(&oo, 0, sizeof(oo));
    oo.lr = cfg->lr;
    oo.momentum = cfg->momentum;
    oo.weight_decay = cfg->weight_decay;
    oo.kind = (mlp_optim_kind_t)cfg->optimizer;
    oo.nesterov = cfg->nesterov;
    oo.beta1 = cfg->beta1;
    oo.beta2 = cfg->beta2;
    oo.eps = cfg->eps;
    mlp_net_params(s->net, &p, &g, &np);
    return mlp_optim_create(&oo, np, &s->opt);
}

/*
 * The net (after the memory check), the optimizer, the parameters (from
 * the checkpoint or fresh), the loop's buffers, and the warm-up.
 */
static int session_build(session_t *s)
{
    const mlp_config_t *cfg = s->cfg;
    const mlp_dataset_t *ds = s->ds;
    mlp_net_spec_t spec;
    size_t slots;
    int rc, nstate; /* optimizer state blocks the size of the parameters */

    memset(&spec, 0, sizeof(spec));
    spec.in = ds->train.dim;
    spec.out = ds->nclasses;
    spec.nhidden = cfg->nhidden;
    memcpy(spec.hidden, cfg->hidden, sizeof(spec.hidden));
    spec.act = cfg->act;
    spec.threads = cfg->threads;
    spec.plain_weights = cfg->plain_weights;
    spec.dropout = cfg->dropout;
    spec.input_dropout = cfg->input_dropout;
    mlp_net_spec_add_split(&spec, ds->train.n, cfg->batch);
    mlp_net_spec_add_split(&spec, ds->test.n, cfg->batch);
    if (ds->val.n > 0)
        mlp_net_spec_add_split(&spec, ds->val.n, cfg->batch);
    slots = mlp_loader_nslots(cfg->workers, cfg->slots);
    nstate = cfg->optimizer != MLP_OPTIM_SGD ? 2 : cfg->momentum > 0.0f;
    if ((rc = check_memory(&spec, s->maxb, slots, nstate,
                           (cfg->save_path[0] != '\0') +
                               (cfg->save_best_path[0] != '\0'),
                           s->resume, ds,
                           s->res != NULL ? &s->res->mem_estimate : NULL)) <
        0)
        return rc;
    if ((rc = mlp_net_create(&spec, &s->net)) < 0)
        return rc;
    if ((rc = build_optim(s)) < 0)
        return rc;
    if (s->resume) {
        if ((rc = mlp_checkpoint_restore(&s->rck, s->net, s->opt)) < 0)
            return mlp_error_prefix(rc, "%s", cfg->resume_path);
        /* One optimizer step per training batch so far (Adam's t): the
         * count a version 2 checkpoint holds must say the same. */
        uint64_t steps = (uint64_t)s->rck.epoch * s->nb_train +
                         s->rck.batches_done;

        if (s->rck.version >= 2 && s->rck.opt_steps != steps)
            return mlp_error_set(MLP_EFORMAT,
                                 "%s: %llu optimizer steps recorded, but "
                                 "%u epochs and %zu batches make %llu",
                                 cfg->resume_path,
                                 (unsigned long long)s->rck.opt_steps,
                                 s->rck.epoch, s->rck.batches_done,
                                 (unsigned long long)steps);
        mlp_optim_set_steps(s->opt, steps);
        /* The payload is in the net now; keep only the small fields. */
        free(s->rck.params);
        free(s->rck.state);
        s->rck.params = s->rck.state = NULL;
    } else if ((rc = mlp_net_init_as(s->net, cfg->seed,
                                     (mlp_init_t)cfg->init, cfg->init_std)) <
               0) {
        return rc;
    }
    s->dlogits = aligned_alloc(
        64, ((s->maxb * ds->nclasses * sizeof(float)) + 63) / 64 * 64);
    s->hist = calloc(cfg->epochs - s->first + 1, sizeof(*s->hist));
    if (s->dlogits == NULL || s->hist == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    return warm_up(s->net, ds->train.dim, s->dlogits);
}

/* The loader, the run record, and from here on the stop signals. */
static int session_start(session_t *s)
{
    const mlp_config_t *cfg = s->cfg;
    mlp_loader_opts_t lo;
    int rc;

    memset(&lo, 0, sizeof(lo));
    lo.train = &s->ds->train;
    lo.test = s->ds->test.n > 0 ? &s->ds->test : NULL;
    lo.val = s->ds->val.n > 0 ? &s->ds->val : NULL;
    lo.batch = s->maxb;
    lo.first_epoch = s->first;
    lo.epochs = cfg->epochs - s->first + 1;
    lo.seed = cfg->seed;
    lo.shuffle = 1;
    lo.workers = cfg->workers;
    lo.slots = cfg->slots;
    lo.augment = cfg->augment;
    lo.rows = s->ds->rows;
    lo.cols = s->ds->cols;
    if ((rc = mlp_loader_create(&lo, &s->ld)) < 0)
        return rc;
    {
        mlp_run_info_t info = {mlp_net_dnnl_version(), mlp_net_isa(),
                               mlp_net_nparams(s->net),
                               mlp_loader_slots(s->ld),
                               mlp_loader_bytes(s->ld),
                               s->resume ? cfg->resume_path : NULL,
                               s->rck.epoch, s->rck.batches_done,
                               s->lr_override, s->rck.lr, s->free_cores};
        if ((rc = mlp_report_run(s->rep, cfg, s->ds, &info)) < 0)
            return rc;
    }
    return arm_stop_signals();
}

/*
 * One training batch: forward, loss (checked against divergence),
 * backward and the optimizer's step; *loss gets the batch's summed loss.
 */
static int train_batch(session_t *s, unsigned e, size_t k,
                       const mlp_batch_t *b, double *loss)
{
    size_t nclasses = s->ds->nclasses;
    const float *logits;
    float *params, *grads;
    size_t np;
    int rc;
    /* Dropout's masks: a function of (seed, epoch, batch k of the epoch). */
    mlp_drop_key_t dk = {s->cfg->seed, e, k};
    /* The rate of the global step: batch k (from 0) of epoch e. */
    float lr = (float)mlp_sched_lr(&s->sched,
                                   (uint64_t)(e - 1) * s->nb_train + k);

    *loss = 0.0;
    if ((rc = mlp_net_forward_train(s->net, b->x, b->n, &dk, &logits)) < 0)
        return rc;
    mlp_loss_softmax_xent_smooth(logits, b->y, b->n, nclasses,
                                 s->cfg->label_smoothing, s->dlogits, loss,
                                 &s->rs.correct);
    if (!isfinite(*loss))
        return mlp_error_set(MLP_EDIVERGED,
                             "epoch %u batch %zu: the loss is not finite", e,
                             k + 1);
    if (s->max_loss > 0.0 && *loss > s->max_loss * b->n)
        return mlp_error_set(MLP_EDIVERGED,
                             "epoch %u batch %zu: the mean loss %.4g "
                             "exceeds %.4g (--max-loss)",
                             e, k + 1, *loss / (double)b->n, s->max_loss);
    if ((rc = mlp_net_backward(s->net, s->dlogits, b->n)) < 0)
        return rc;
    mlp_net_params(s->net, &params, &grads, &np);
    if ((rc = mlp_optim_set_lr(s->opt, lr)) < 0)
        return rc;
    mlp_optim_step(s->opt, params, grads);
    return 0;
}

/* A stop was asked (signal or test hook): MLP_EINTERRUPTED at batch k. */
static int interrupt_at(session_t *s, unsigned e, size_t k)
{
    s->rs.batches_done = k < s->nb_train ? k : s->nb_train;
    return mlp_error_set(MLP_EINTERRUPTED,
                         "interrupted in epoch %u after batch %zu of %zu", e,
                         s->rs.batches_done, s->nb_train);
}

/*
 * Epoch e's batches, training, validation then test, into *st.  A resumed epoch
 * takes the batches its checkpoint already trained on and drops them.
 */
static int run_epoch(session_t *s, unsigned e, mlp_epoch_stats_t *st)
{
    const mlp_dataset_t *ds = s->ds;
    run_state_t *rs = &s->rs;
    double t0 = mlp_clock_now(), t_train = t0, test_loss = 0.0;
    double val_loss = 0.0;
    uint64_t w0 = mlp_loader_wait_ns(s->ld);
    size_t test_correct = 0, val_correct = 0, skip = 0, trained = 0;
    int rc = 0;

    rs->loss_sum = 0.0;
    rs->correct = 0;
    rs->batches_done = 0;
    if (e == s->first && s->rck.batches_done > 0) {
        skip = s->rck.batches_done;
        rs->loss_sum = s->rck.partial_loss_sum;
        rs->correct = s->rck.partial_correct;
        rs->batches_done = skip;
    }
    for (size_t k = 0; k < s->nb_train + s->nb_val + s->nb_test; k++) {
        mlp_batch_t b;
        const float *logits;
        double batch_loss = 0.0;
        int train = k < s->nb_train;

        if (k >= skip && (stop_requested ||
                          (mlp_fault_interrupt_after() > 0 &&
                           s->batches_run >= mlp_fault_interrupt_after())))
            return interrupt_at(s, e, k);
        if ((rc = mlp_loader_next(s->ld, &b)) < 0)
            return rc;
        if (k < skip) { /* trained before the checkpoint was saved */
            mlp_loader_release(s->ld, &b);
            continue;
        }
        if (train) {
            rc = train_batch(s, e, k, &b, &batch_loss);
            rs->loss_sum += batch_loss;
            rs->batches_done = k + 1;
            trained += b.n;
            s->batches_run++;
        } else if ((rc = mlp_net_forward(s->net, b.x, b.n, &logits)) == 0) {
            int val = b.phase == MLP_PHASE_VAL;

            mlp_loss_softmax_xent(logits, b.y, b.n, ds->nclasses, NULL,
                                  val ? &val_loss : &test_loss,
                                  val ? &val_correct : &test_correct);
        }
        mlp_loader_release(s->ld, &b);
        if (rc < 0)
            return rc;
        if (train && k + 1 == s->nb_train)
            t_train = mlp_clock_now();
        if (train)
            mlp_report_progress(s->rep, e, k + 1, s->nb_train);
    }
    /* Once per epoch, before anything is saved: every parameter and
     * optimizer state value finite, and the test loss too. */
    if ((rc = check_finite(s->net, s->opt, e, s->nb_train)) < 0)
        return rc;
    if (!isfinite(test_loss))
        return mlp_error_set(MLP_EDIVERGED,
                             "epoch %u: the test loss is not finite", e);
    if (!isfinite(val_loss))
        return mlp_error_set(MLP_EDIVERGED,
                             "epoch %u: the validation loss is not finite",
                             e);
    st->epoch = e;
    st->lr = mlp_sched_lr(&s->sched, (uint64_t)e * s->nb_train - 1);
    st->seconds = mlp_clock_now() - t0;
    st->train_seconds = t_train - t0;
    st->train_loss = rs->loss_sum / (double)ds->train.n;
    st->train_acc = (double)rs->correct / (double)ds->train.n;
    st->test_loss = ds->test.n ? test_loss / (double)ds->test.n : 0.0;
    st->test_acc = ds->test.n ? (double)test_correct / (double)ds->test.n
                              : 0.0;
    st->has_val = ds->val.n > 0;
    st->val_loss = st->has_val ? val_loss / (double)ds->val.n : 0.0;
    st->val_acc = st->has_val ? (double)val_correct / (double)ds->val.n
                              : 0.0;
    st->samples_per_s =
        st->train_seconds > 0.0 ? (double)trained / st->train_seconds : 0.0;
    st->wait_share =
        (double)(mlp_loader_wait_ns(s->ld) - w0) * 1e-9 / st->seconds;
    s->train_time += st->train_seconds;
    s->trained_samples += (double)trained;
    return 0;
}

/*
 * The best epoch so far, after epoch e: by validation accuracy with a
 * split, else by test accuracy; the first on ties.  Returns 1 when e is
 * the new best.  Also the lowest validation loss, for --early-stop.
 */
static int update_best(run_state_t *rs, const mlp_epoch_stats_t *st,
                       unsigned e)
{
    int better;

    if (st->has_val) {
        if (st->val_loss < rs->best_val_loss) {
            rs->best_val_loss = st->val_loss;
            rs->best_val_loss_epoch = e;
        }
        better = st->val_acc > rs->best_val_acc || rs->best_epoch == 0;
        if (better)
            rs->best_val_acc = st->val_acc;
    } else {
        better = st->test_acc > rs->best_acc || rs->best_epoch == 0;
    }
    if (better) {
        rs->best_acc = st->test_acc;
        rs->best_epoch = e;
    }
    return better;
}

/* The epochs: each one run, recorded, reported and saved. */
static int run_epochs(session_t *s)
{
    const mlp_config_t *cfg = s->cfg;
    run_state_t *rs = &s->rs;
    int rc;

    s->t_start = mlp_clock_now();
    for (unsigned e = s->first; e <= cfg->epochs; e++) {
        mlp_epoch_stats_t *st = &s->hist[e - s->first];
        int best;

        if ((rc = run_epoch(s, e, st)) < 0)
            return rc;
        rs->epoch = e;
        rs->batches_done = 0;
        rs->final_acc = st->test_acc;
        best = update_best(rs, st, e);
        if ((rc = mlp_report_epoch(s->rep, st)) < 0)
            return rc;
        if (cfg->save_path[0] != '\0' &&
            (rc = mlp_train_save(&s->sck, cfg, s->ds, s->net, s->opt,
                                 rs)) < 0)
            return rc;
        if (best && s->best_cfg != NULL &&
            (rc = mlp_train_save(&s->bck, s->best_cfg, s->ds, s->net, s->opt,
                                 rs)) < 0)
            return rc;
        if (cfg->early_stop > 0 && st->has_val &&
            e - rs->best_val_loss_epoch >= cfg->early_stop) {
            s->stopped_early = e;
            break;
        }
    }
    return 0;
}

/*
 * An interrupted run saves exactly where it stopped, unless the state went
 * bad; the message then says where it was saved.
 */
static int save_interrupted(session_t *s, int rc)
{
    const mlp_config_t *cfg = s->cfg;
    mlp_error_saved_t first;
    int rc2;

    stop_requested = 0;
    mlp_error_save(&first);
    if (cfg->save_path[0] == '\0')
        return rc;
    if ((rc2 = check_finite(s->net, s->opt, s->rs.epoch + 1,
                            s->rs.batches_done)) < 0 ||
        (rc2 = mlp_train_save(&s->sck, cfg, s->ds, s->net, s->opt,
                             &s->rs)) < 0)
        return rc2;
    return mlp_error_set(rc, "%s; saved '%s'", first.msg, cfg->save_path);
}

/*
 * The run's end: the summary line and record (the first error's message
 * stands: the report's own errors come second), and *res.
 */
static int session_finish(session_t *s, int rc)
{
    const run_state_t *rs = &s->rs;
    mlp_run_summary_t sum;
    mlp_error_saved_t first;
    int rc2;

    if (rc == MLP_EINTERRUPTED)
        rc = save_interrupted(s, rc);
    memset(&sum, 0, sizeof(sum));
    sum.status = rc == 0                   ? "ok"
                 : rc == MLP_EDIVERGED     ? "diverged"
                 : rc == MLP_EINTERRUPTED ? "interrupted"
                                           : "error";
    /* A figure that does not exist is NAN (null in the log), not 0. */
    sum.epochs = rs->epoch;
    sum.seconds = s->t_start > 0.0 ? mlp_clock_now() - s->t_start : NAN;
    sum.samples_per_s =
        s->train_time > 0.0 ? s->trained_samples / s->train_time : NAN;
    sum.final_test_acc = rs->epoch > 0 ? rs->final_acc : NAN;
    sum.best_test_acc = rs->best_epoch > 0 ? rs->best_acc : NAN;
    sum.best_epoch = rs->best_epoch;
    sum.has_val = s->ds != NULL && s->ds->val.n > 0;
    sum.best_val_acc = rs->best_epoch > 0 && rs->best_val_acc >= 0.0
                           ? rs->best_val_acc
                           : NAN;
    sum.best_val_loss = rs->best_val_loss_epoch > 0 ? rs->best_val_loss : NAN;
    sum.stopped_early = s->stopped_early;
    sum.early_stop = s->cfg != NULL ? s->cfg->early_stop : 0;
    sum.peak_rss_kb = peak_rss_kb();
    mlp_error_save(&first);
    sum.message = rc < 0 ? first.msg : NULL;
    rc2 = mlp_report_end(s->rep, &sum);
    rc2 = mlp_report_destroy(s->rep) < 0 ? MLP_EIO : rc2;
    s->rep = NULL;
    if (rc == 0)
        rc = rc2;
    else
        mlp_error_restore(&first, rc);
    if (s->res != NULL) {
        mlp_train_result_t *res = s->res;

        res->epochs = rs->epoch;
        res->first_epoch = s->first;
        res->nhistory = rs->epoch >= s->first ? rs->epoch - s->first + 1 : 0;
        res->history = s->hist;
        s->hist = NULL;
        res->seconds = isfinite(sum.seconds) ? sum.seconds : 0.0;
        res->samples_per_s =
            isfinite(sum.samples_per_s) ? sum.samples_per_s : 0.0;
        res->best_test_acc = rs->best_acc;
        res->best_epoch = rs->best_epoch;
        res->best_val_acc = rs->best_val_acc;
        res->best_val_loss = rs->best_val_loss;
        res->stopped_early = s->stopped_early;
    }
    return rc;
}

/* Free everything the session still holds and drop the lock. */
static void session_close(session_t *s)
{
    mlp_loader_destroy(s->ld);
    free(s->hist);
    free(s->dlogits);
    mlp_checkpoint_free(&s->sck);
    mlp_checkpoint_free(&s->rck);
    mlp_checkpoint_free(&s->bck);
    mlp_optim_destroy(s->opt);
    mlp_net_destroy(s->net);
    mlp_dataset_destroy(s->ds);
    free(s->cfg);
    free(s->best_cfg);
    unlock_checkpoints(s);
}

int mlp_train(const mlp_config_t *cfg_in, FILE *out, FILE *err,
              mlp_train_result_t *res)
{
    session_t s;
    int rc;

    if ((rc = session_open(&s, cfg_in, out, err, res)) < 0)
        return rc;
    if ((rc = session_resume(&s)) == 0 && (rc = session_load_data(&s)) == 0 &&
        (rc = session_build(&s)) == 0 && (rc = session_start(&s)) == 0)
        rc = run_epochs(&s);
    rc = session_finish(&s, rc);
    session_close(&s);
    return rc;
}

void mlp_train_result_free(mlp_train_result_t *res)
{
    if (res == NULL)
        return;
    free(res->history);
    memset(res, 0, sizeof(*res));
}
