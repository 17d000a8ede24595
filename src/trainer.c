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
#include "mlptrain/loader.h"
#include "mlptrain/loss.h"
#include "mlptrain/memprobe.h"
#include "mlptrain/net.h"
#include "mlptrain/optim.h"
#include "mlptrain/outfile.h"
#include "mlptrain/plot.h"
#include "mlptrain/trainer.h"

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
 * velocities in logical order, for --save and for the checkpoint being
 * resumed), dL/dlogits, the warm-up's input batch and the ring's slots.
 * The dataset is already loaded: it counts in *total (what the process
 * will hold, for tests against the peak RSS) but not against what is
 * still available.  Both sides get memprobe's margin.
 */
static int check_memory(const mlp_net_spec_t *spec, size_t maxb, size_t slots,
                        int momentum, int save, int resume,
                        const mlp_dataset_t *ds, double *total)
{
    mlp_net_mem_t nm;
    double logical = 0, in = (double)spec->in, need, avail, data = 0;
    double copies = (save ? 1 + momentum : 0) + (resume ? 1 + momentum : 0);
    double b = (double)maxb;
    int rc;

    for (size_t l = 0; l <= spec->nhidden; l++) {
        double out = (double)(l < spec->nhidden ? spec->hidden[l] : spec->out);

        logical += (in + 1) * out;
        in = out;
    }
    if ((rc = mlp_net_estimate(spec, &nm)) < 0)
        return rc;
    need = nm.params * (2 + momentum) + nm.act + nm.scratch + nm.workspace +
           4.0 * (logical * copies + b * (double)spec->out +
                  b * (double)spec->in) +
           (double)slots * (4.0 * b * (double)(spec->in + 1) + 128.0);
    for (int i = 0; i < MLP_NFILES; i++)
        data += (double)ds->idx[i].count * (double)ds->idx[i].item_size;
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

/* ---- checkpoints ---------------------------------------------------- */

/*
 * The options of a resumed run: the checkpoint's, except that an option
 * given explicitly with another value is an error naming it.  One option
 * is free: --lr (fine-tuning with a lower rate); *lr_override is set when
 * it differs from the checkpoint's, for the log's run record.
 */
static int merge_resume(mlp_config_t *cfg, const mlp_checkpoint_t *ck,
                        int *lr_override)
{
    const char *path = cfg->resume_path;
    const char *what = NULL;
    char mine[64] = "", theirs[64] = "";

#define DIFFERS(bit, a, b) ((cfg->given & (bit)) && (a) != (b))
    if ((cfg->given & MLP_GIVEN_HIDDEN) &&
        (cfg->nhidden != ck->nhidden ||
         memcmp(cfg->hidden, ck->hidden, ck->nhidden * sizeof(size_t)))) {
        what = "--hidden";
        for (size_t i = 0, o = 0; i < ck->nhidden && o < sizeof(theirs); i++)
            o += (size_t)snprintf(theirs + o, sizeof(theirs) - o, "%s%zu",
                                  i ? "," : "", ck->hidden[i]);
        for (size_t i = 0, o = 0; i < cfg->nhidden && o < sizeof(mine); i++)
            o += (size_t)snprintf(mine + o, sizeof(mine) - o, "%s%zu",
                                  i ? "," : "", cfg->hidden[i]);
        if (ck->nhidden == 0)
            strcpy(theirs, "none");
        if (cfg->nhidden == 0)
            strcpy(mine, "none");
    } else if (DIFFERS(MLP_GIVEN_ACT, cfg->act, ck->act)) {
        what = "--act";
        snprintf(mine, sizeof(mine), "%s", mlp_act_name(cfg->act));
        snprintf(theirs, sizeof(theirs), "%s", mlp_act_name(ck->act));
    } else if (DIFFERS(MLP_GIVEN_INIT_STD, cfg->init_std, ck->init_std)) {
        what = "--init-std";
        snprintf(mine, sizeof(mine), "%g", (double)cfg->init_std);
        snprintf(theirs, sizeof(theirs), "%g", (double)ck->init_std);
    } else if (DIFFERS(MLP_GIVEN_MOMENTUM, cfg->momentum, ck->momentum)) {
        what = "--momentum";
        snprintf(mine, sizeof(mine), "%g", (double)cfg->momentum);
        snprintf(theirs, sizeof(theirs), "%g", (double)ck->momentum);
    } else if (DIFFERS(MLP_GIVEN_WD, cfg->weight_decay, ck->weight_decay)) {
        what = "--weight-decay";
        snprintf(mine, sizeof(mine), "%g", (double)cfg->weight_decay);
        snprintf(theirs, sizeof(theirs), "%g", (double)ck->weight_decay);
    } else if (DIFFERS(MLP_GIVEN_BATCH, cfg->batch, ck->batch)) {
        what = "--batch";
        snprintf(mine, sizeof(mine), "%zu", cfg->batch);
        snprintf(theirs, sizeof(theirs), "%zu", ck->batch);
    } else if (DIFFERS(MLP_GIVEN_SEED, cfg->seed, ck->seed)) {
        what = "--seed";
        snprintf(mine, sizeof(mine), "%llu", (unsigned long long)cfg->seed);
        snprintf(theirs, sizeof(theirs), "%llu",
                 (unsigned long long)ck->seed);
    } else if (DIFFERS(MLP_GIVEN_LIMIT_TRAIN, cfg->limit_train,
                       ck->limit_train)) {
        what = "--limit-train";
        snprintf(mine, sizeof(mine), "%zu", cfg->limit_train);
        snprintf(theirs, sizeof(theirs), ck->limit_train ? "%zu" : "all",
                 ck->limit_train);
    }
#undef DIFFERS
    if (what != NULL)
        return mlp_error_set(MLP_EUSAGE,
                             "option '%s': %s conflicts with the checkpoint "
                             "'%s' (%s); a resumed run keeps the checkpoint's",
                             what, mine, path, theirs);
    if (cfg->epochs <= ck->epoch)
        return mlp_error_set(MLP_EUSAGE,
                             "option '--epochs': %u, but the checkpoint '%s' "
                             "has completed %u epochs; --epochs is the total "
                             "to reach",
                             cfg->epochs, path, ck->epoch);
    cfg->nhidden = ck->nhidden;
    memcpy(cfg->hidden, ck->hidden, sizeof(cfg->hidden));
    cfg->act = ck->act;
    cfg->init_std = ck->init_std;
    *lr_override = (cfg->given & MLP_GIVEN_LR) && cfg->lr != ck->lr;
    if (!*lr_override)
        cfg->lr = ck->lr;
    cfg->momentum = ck->momentum;
    cfg->weight_decay = ck->weight_decay;
    cfg->batch = ck->batch;
    cfg->seed = ck->seed;
    cfg->limit_train = ck->limit_train;
    return 0;
}

/* The data must be what the checkpoint was trained on. */
static int check_resume_data(const mlp_checkpoint_t *ck,
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

/* The first non-finite value of a block, or n. */
static size_t first_nonfinite(const float *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i]))
            return i;
    return n;
}

/* Everything the loop tracks that a checkpoint records. */
typedef struct {
    unsigned epoch;        /* completed */
    size_t batches_done;   /* of epoch + 1 */
    double loss_sum;       /* of those batches */
    size_t correct;
    double best_acc, final_acc;
    unsigned best_epoch;
} run_state_t;

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
                             bad < np && !isfinite(p[bad]) ? "weight"
                                                           : "momentum value");
    return 0;
}

/* Capture net and optimizer into ck (buffers reused) and save it. */
static int save(mlp_checkpoint_t *ck, const mlp_config_t *cfg,
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
    ck->seed = cfg->seed;
    ck->batches_done = rs->batches_done;
    ck->partial_loss_sum = rs->batches_done ? rs->loss_sum : 0.0;
    ck->partial_correct = rs->batches_done ? rs->correct : 0;
    ck->batch = cfg->batch;
    ck->lr = cfg->lr;
    ck->momentum = cfg->momentum;
    ck->weight_decay = cfg->weight_decay;
    ck->init_std = cfg->init_std;
    ck->limit_train = cfg->limit_train;
    ck->best_test_acc = rs->best_acc;
    ck->best_epoch = rs->best_epoch;
    ck->final_test_acc = rs->final_acc;
    return mlp_checkpoint_save(cfg->save_path, ck);
}

/* ---- the run -------------------------------------------------------- */

/*
 * Every output of a run, before any work: --save and --log absent or
 * regular files, --plot a .png or .svg one, and no output the same file as
 * an input (the data files, --resume) or as another output (outfile.h).
 * --save may name the --resume checkpoint: it replaces it atomically.
 */
static int check_outputs(const mlp_config_t *cfg)
{
    enum { NDATA = 2 * MLP_NFILES, NAME = MLP_PATH_MAX + 40 };
    char *names = NULL, opts[NDATA][64];
    mlp_out_file_t fs[NDATA + 4];
    size_t n = 0;
    int rc;

    if (cfg->save_path[0] != '\0' &&
        (rc = mlp_checkpoint_check_writable(cfg->save_path)) < 0)
        return rc;
    if (cfg->log_path[0] != '\0' && (rc = mlp_out_check(cfg->log_path)) < 0)
        return rc;
    if (cfg->plot_path[0] != '\0' &&
        (rc = mlp_plot_check(cfg->plot_path)) < 0)
        return rc;
    fs[n++] = (mlp_out_file_t){cfg->log_path, "--log", 1, NULL};
    fs[n++] = (mlp_out_file_t){cfg->save_path, "--save", 1, "--resume"};
    fs[n++] = (mlp_out_file_t){cfg->plot_path, "--plot", 1, NULL};
    fs[n++] = (mlp_out_file_t){cfg->resume_path, "--resume", 0, NULL};
    if ((names = malloc(NDATA * NAME)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    for (size_t i = 0; i < MLP_NFILES; i++)
        for (int gz = 0; gz < 2; gz++) {
            char *p = names + (2 * i + (size_t)gz) * NAME;

            snprintf(p, NAME, "%s/%s%s", cfg->data_dir,
                     mlp_dataset_file_names[i], gz ? ".gz" : "");
            snprintf(opts[2 * i + (size_t)gz], sizeof(opts[0]), "--data (%s)",
                     mlp_dataset_file_names[i]);
            fs[n++] = (mlp_out_file_t){p, opts[2 * i + (size_t)gz], 0, NULL};
        }
    rc = mlp_out_no_alias(fs, n);
    free(names);
    return rc;
}

int mlp_train(const mlp_config_t *cfg_in, FILE *out, mlp_train_result_t *res)
{
    mlp_report_t *rep = NULL;
    mlp_dataset_t *ds = NULL;
    mlp_net_t *net = NULL;
    mlp_optim_t *opt = NULL;
    mlp_loader_t *ld = NULL;
    mlp_epoch_stats_t *hist = NULL;
    float *dlogits = NULL;
    mlp_checkpoint_t rck, sck; /* resumed from; saved to */
    mlp_config_t *cfg = NULL;  /* effective options */
    mlp_net_spec_t spec;
    mlp_run_summary_t sum;
    run_state_t rs;
    double train_time = 0.0, t_start = 0.0, trained_samples = 0.0;
    size_t nb_train = 0, nb_test, nclasses, maxb, slots;
    unsigned first = 1;
    uint64_t batches_run = 0;
    double max_loss = 0.0; /* per sample; 0: only non-finite */
    char save_lock[MLP_PATH_MAX + 8];
    const char *save_to;
    int rc, resume, lr_override = 0, free_cores, save_lock_fd = -1;

    memset(&rck, 0, sizeof(rck));
    memset(&sck, 0, sizeof(sck));
    memset(&rs, 0, sizeof(rs));
    if (res != NULL)
        memset(res, 0, sizeof(*res));
    if ((rc = mlp_config_validate(cfg_in)) < 0)
        return rc;
    resume = cfg_in->resume_path[0] != '\0';
    /* Before any thread of ours runs: they would count as load. */
    free_cores = out != NULL ? mlp_config_load_free_cores(mlp_config_ncores())
                             : -1;
    /* Outputs first: an unwritable path fails before any work (and before
     * the log is truncated).  A resumed run appends to its log. */
    if ((rc = check_outputs(cfg_in)) < 0)
        return rc;
    /* The checkpoint written: --save, else the --resume file. */
    save_to = cfg_in->save_path[0] != '\0' ? cfg_in->save_path
                                           : cfg_in->resume_path;
    if (save_to[0] != '\0') {
        /* The checkpoint's inode changes at every rename: its lock is the
         * sidecar file SAVE.lock, removed at the end. */
        if ((rc = mlp_out_lock_name(save_to, save_lock,
                                    sizeof(save_lock))) < 0 ||
            (rc = mlp_out_lock(save_lock, &save_lock_fd)) < 0) {
            if (rc == MLP_EBUSY)
                mlp_error_set(rc, "'%s' is in use by another mlptrain "
                                  "process (lock '%s')",
                              save_to, save_lock);
            return rc;
        }
    }
    if ((rc = mlp_report_create(out, cfg_in->quiet, cfg_in->log_path, resume,
                                &rep)) < 0) {
        if (save_lock_fd >= 0)
            mlp_out_unlock_remove(save_lock, save_lock_fd);
        return rc;
    }
    if (!(cfg = malloc(sizeof(*cfg)))) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    *cfg = *cfg_in;
    startup_hold();
    if (resume) {
        if ((rc = mlp_checkpoint_load(cfg->resume_path, &rck)) < 0 ||
            (rc = merge_resume(cfg, &rck, &lr_override)) < 0)
            goto out;
        /* It goes on saving where it came from, unless --save names
         * another file (checked once the file proved a checkpoint). */
        if (cfg->save_path[0] == '\0') {
            memcpy(cfg->save_path, cfg->resume_path, sizeof(cfg->save_path));
            if ((rc = mlp_checkpoint_check_writable(cfg->save_path)) < 0)
                goto out;
        }
        first = rck.epoch + 1;
        rs.epoch = rck.epoch;
        rs.best_acc = rck.best_test_acc;
        rs.best_epoch = rck.best_epoch;
        rs.final_acc = rck.final_test_acc;
    }
    if ((rc = mlp_dataset_load(cfg->data_dir, cfg->limit_train,
                               cfg->limit_test, &ds)) < 0)
        goto out;
    nclasses = ds->nclasses;
    if (nclasses < 2) {
        rc = mlp_error_set(MLP_EINVAL,
                           "%s: every training label is 0: a classifier "
                           "needs at least 2 classes",
                           ds->files[MLP_FILE_TRAIN_LABELS].path);
        goto out;
    }
    /* Every figure of a run is a test figure: no test set, no run. */
    if (ds->test.n == 0) {
        rc = mlp_error_set(MLP_EINVAL,
                           "%s: no test images: a run reports its test "
                           "accuracy",
                           ds->files[MLP_FILE_TEST_IMAGES].path);
        goto out;
    }
    if (resume && (rc = check_resume_data(&rck, ds, cfg->resume_path)) < 0)
        goto out;
    /* A mean loss of 100 x ln(C) is 100 times a uniform guess's: a run
     * whose loss explodes that far has diverged even while it is finite. */
    max_loss = cfg->max_loss > 0.0f   ? (double)cfg->max_loss
               : cfg->max_loss == 0.0f ? 100.0 * log((double)nclasses)
                                       : 0.0;
    nb_train = mlp_loader_nbatches(ds->train.n, cfg->batch);
    nb_test = mlp_loader_nbatches(ds->test.n, cfg->batch);
    /* A batch larger than both splits is one batch of each: the ring
     * needs no more rows than the larger split. */
    maxb = ds->train.n > ds->test.n ? ds->train.n : ds->test.n;
    if (maxb > cfg->batch)
        maxb = cfg->batch;

    memset(&spec, 0, sizeof(spec));
    spec.in = ds->train.dim;
    spec.out = nclasses;
    spec.nhidden = cfg->nhidden;
    memcpy(spec.hidden, cfg->hidden, sizeof(spec.hidden));
    spec.act = cfg->act;
    spec.threads = cfg->threads;
    spec.plain_weights = cfg->plain_weights;
    mlp_net_spec_add_split(&spec, ds->train.n, cfg->batch);
    mlp_net_spec_add_split(&spec, ds->test.n, cfg->batch);
    slots = cfg->slots;
    if (slots == 0) /* the loader's automatic count (loader.h) */
        slots = cfg->workers < 1 ? 2 : cfg->workers > 8 ? 16
                                                         : 2 * cfg->workers;
    if ((rc = check_memory(&spec, maxb, slots, cfg->momentum > 0.0f,
                           cfg->save_path[0] != '\0', resume, ds,
                           res != NULL ? &res->mem_estimate : NULL)) < 0)
        goto out;
    if ((rc = mlp_net_create(&spec, &net)) < 0)
        goto out;
    {
        mlp_optim_opts_t oo = {cfg->lr, cfg->momentum, cfg->weight_decay};
        float *p, *g;
        size_t np;

        mlp_net_params(net, &p, &g, &np);
        if ((rc = mlp_optim_create(&oo, np, &opt)) < 0)
            goto out;
    }
    if (resume) {
        if ((rc = mlp_checkpoint_restore(&rck, net, opt)) < 0) {
            mlp_error_set(rc, "%s: %s", cfg->resume_path,
                          mlp_error_message());
            goto out;
        }
        /* The payload is in the net now; keep only the small fields. */
        free(rck.params);
        free(rck.state);
        rck.params = rck.state = NULL;
    } else if ((rc = mlp_net_init(net, cfg->seed, cfg->init_std)) < 0) {
        goto out;
    }
    dlogits = aligned_alloc(64, ((maxb * nclasses * sizeof(float)) + 63)
                                    / 64 * 64);
    hist = calloc(cfg->epochs - first + 1, sizeof(*hist));
    if (dlogits == NULL || hist == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = warm_up(net, ds->train.dim, dlogits)) < 0)
        goto out;
    {
        mlp_loader_opts_t lo;

        memset(&lo, 0, sizeof(lo));
        lo.train = &ds->train;
        lo.test = ds->test.n > 0 ? &ds->test : NULL;
        lo.batch = maxb;
        lo.first_epoch = first;
        lo.epochs = cfg->epochs - first + 1;
        lo.seed = cfg->seed;
        lo.shuffle = 1;
        lo.workers = cfg->workers;
        lo.slots = cfg->slots;
        if ((rc = mlp_loader_create(&lo, &ld)) < 0)
            goto out;
    }
    {
        mlp_run_info_t info = {mlp_net_dnnl_version(), mlp_net_isa(),
                               mlp_net_nparams(net), mlp_loader_slots(ld),
                               mlp_loader_bytes(ld),
                               resume ? cfg->resume_path : NULL, rck.epoch,
                               rck.batches_done, lr_override,
                               rck.lr, free_cores};
        if ((rc = mlp_report_run(rep, cfg, ds, &info)) < 0)
            goto out;
    }

    if ((rc = arm_stop_signals()) < 0)
        goto out;
    t_start = mlp_clock_now();
    for (unsigned e = first; e <= cfg->epochs; e++) {
        mlp_epoch_stats_t *st = &hist[e - first];
        double t0 = mlp_clock_now(), t_train = t0;
        uint64_t w0 = mlp_loader_wait_ns(ld);
        double test_loss = 0.0;
        size_t test_correct = 0, skip = 0, trained = 0;
        float *params, *grads;
        size_t np;

        rs.loss_sum = 0.0;
        rs.correct = 0;
        rs.batches_done = 0;
        if (e == first && rck.batches_done > 0) {
            skip = rck.batches_done;
            rs.loss_sum = rck.partial_loss_sum;
            rs.correct = rck.partial_correct;
            rs.batches_done = skip;
        }
        mlp_net_params(net, &params, &grads, &np);
        for (size_t k = 0; k < nb_train + nb_test; k++) {
            mlp_batch_t b;
            const float *logits;
            double batch_loss = 0.0;
            int train = k < nb_train;

            if (k >= skip &&
                (stop_requested || (cfg->interrupt_after > 0 &&
                                    batches_run >= cfg->interrupt_after))) {
                rs.batches_done = k < nb_train ? k : nb_train;
                rc = mlp_error_set(MLP_EINTERRUPTED,
                                   "interrupted in epoch %u after batch %zu "
                                   "of %zu",
                                   e, rs.batches_done, nb_train);
                goto out;
            }
            if ((rc = mlp_loader_next(ld, &b)) < 0)
                goto out;
            if (k < skip) { /* trained before the checkpoint was saved */
                mlp_loader_release(ld, &b);
                continue;
            }
            rc = mlp_net_forward(net, b.x, b.n, &logits);
            if (rc == 0 && train) {
                mlp_loss_softmax_xent(logits, b.y, b.n, nclasses, dlogits,
                                      &batch_loss, &rs.correct);
                if (!isfinite(batch_loss))
                    rc = mlp_error_set(MLP_EDIVERGED,
                                       "epoch %u batch %zu: the loss is not "
                                       "finite",
                                       e, k + 1);
                else if (max_loss > 0.0 && batch_loss > max_loss * b.n)
                    rc = mlp_error_set(MLP_EDIVERGED,
                                       "epoch %u batch %zu: the mean loss "
                                       "%.4g exceeds %.4g (--max-loss)",
                                       e, k + 1, batch_loss / (double)b.n,
                                       max_loss);
                else
                    rc = mlp_net_backward(net, dlogits, b.n);
                if (rc == 0)
                    mlp_optim_step(opt, params, grads);
                rs.loss_sum += batch_loss;
                rs.batches_done = k + 1;
                trained += b.n;
                batches_run++;
            } else if (rc == 0) {
                mlp_loss_softmax_xent(logits, b.y, b.n, nclasses, NULL,
                                      &test_loss, &test_correct);
            }
            mlp_loader_release(ld, &b);
            if (rc < 0)
                goto out;
            if (train && k + 1 == nb_train)
                t_train = mlp_clock_now();
            if (train)
                mlp_report_progress(rep, e, k + 1, nb_train);
        }
        /* Once per epoch, before anything is saved: every parameter and
         * momentum value finite, and the test loss too. */
        if ((rc = check_finite(net, opt, e, nb_train)) < 0)
            goto out;
        if (!isfinite(test_loss)) {
            rc = mlp_error_set(MLP_EDIVERGED,
                               "epoch %u: the test loss is not finite", e);
            goto out;
        }
        st->epoch = e;
        st->seconds = mlp_clock_now() - t0;
        st->train_seconds = t_train - t0;
        st->train_loss = rs.loss_sum / (double)ds->train.n;
        st->train_acc = (double)rs.correct / (double)ds->train.n;
        st->test_loss = ds->test.n ? test_loss / (double)ds->test.n : 0.0;
        st->test_acc =
            ds->test.n ? (double)test_correct / (double)ds->test.n : 0.0;
        st->samples_per_s = st->train_seconds > 0.0
                                ? (double)trained / st->train_seconds
                                : 0.0;
        st->wait_share =
            (double)(mlp_loader_wait_ns(ld) - w0) * 1e-9 / st->seconds;
        train_time += st->train_seconds;
        trained_samples += (double)trained;
        rs.epoch = e;
        rs.batches_done = 0;
        rs.final_acc = st->test_acc;
        if (st->test_acc > rs.best_acc || rs.best_epoch == 0) {
            rs.best_acc = st->test_acc;
            rs.best_epoch = e;
        }
        if ((rc = mlp_report_epoch(rep, st)) < 0)
            goto out;
        if (cfg->save_path[0] != '\0' &&
            (rc = save(&sck, cfg, ds, net, opt, &rs)) < 0)
            goto out;
    }

out:
    if (rc == MLP_EINTERRUPTED) {
        char msg[1024];
        int rc2 = 0;

        stop_requested = 0;
        snprintf(msg, sizeof(msg), "%s", mlp_error_message());
        /* Save exactly this point, unless the state went bad. */
        if (cfg->save_path[0] != '\0' &&
            ((rc2 = check_finite(net, opt, rs.epoch + 1, rs.batches_done)) <
                 0 ||
             (rc2 = save(&sck, cfg, ds, net, opt, &rs)) < 0))
            rc = rc2;
        else if (cfg->save_path[0] != '\0')
            mlp_error_set(rc, "%s; saved '%s'", msg, cfg->save_path);
        else
            mlp_error_set(rc, "%s", msg);
    }
    memset(&sum, 0, sizeof(sum));
    sum.status = rc == 0                   ? "ok"
                 : rc == MLP_EDIVERGED     ? "diverged"
                 : rc == MLP_EINTERRUPTED ? "interrupted"
                                           : "error";
    /* A figure that does not exist is NAN (null in the log), not 0. */
    sum.epochs = rs.epoch;
    sum.seconds = t_start > 0.0 ? mlp_clock_now() - t_start : NAN;
    sum.samples_per_s = train_time > 0.0 ? trained_samples / train_time : NAN;
    sum.final_test_acc = rs.epoch > 0 ? rs.final_acc : NAN;
    sum.best_test_acc = rs.best_epoch > 0 ? rs.best_acc : NAN;
    sum.best_epoch = rs.best_epoch;
    sum.peak_rss_kb = peak_rss_kb();
    sum.message = rc < 0 ? mlp_error_message() : NULL;
    if (rep != NULL) {
        /* Keep the first error's message: report errors come second. */
        char msg[1024];
        int rc2;

        snprintf(msg, sizeof(msg), "%s", mlp_error_message());
        sum.message = rc < 0 ? msg : NULL;
        rc2 = mlp_report_end(rep, &sum);
        rc2 = mlp_report_destroy(rep) < 0 ? MLP_EIO : rc2;
        if (rc == 0)
            rc = rc2;
        else
            mlp_error_set(rc, "%s", msg);
    }
    if (res != NULL) {
        res->epochs = rs.epoch;
        res->first_epoch = first;
        res->nhistory = rs.epoch >= first ? rs.epoch - first + 1 : 0;
        res->history = hist;
        hist = NULL;
        res->seconds = isfinite(sum.seconds) ? sum.seconds : 0.0;
        res->samples_per_s =
            isfinite(sum.samples_per_s) ? sum.samples_per_s : 0.0;
        res->best_test_acc = rs.best_acc;
        res->best_epoch = rs.best_epoch;
    }
    mlp_loader_destroy(ld);
    free(hist);
    free(dlogits);
    mlp_checkpoint_free(&sck);
    mlp_checkpoint_free(&rck);
    mlp_optim_destroy(opt);
    mlp_net_destroy(net);
    mlp_dataset_destroy(ds);
    free(cfg);
    if (save_lock_fd >= 0)
        mlp_out_unlock_remove(save_lock, save_lock_fd);
    return rc;
}

void mlp_train_result_free(mlp_train_result_t *res)
{
    if (res == NULL)
        return;
    free(res->history);
    memset(res, 0, sizeof(*res));
}
