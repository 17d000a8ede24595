/*
 * trainer_setup: the set-up stages of a training session (see trainer.c
 * and trainer_internal.h), everything mlp_train does before the loader
 * starts: session_open (validate, check every output, lock the
 * checkpoints, open the report), session_resume (the effective options;
 * with --resume the checkpoint and its options), session_load_data (the
 * data, checked, and its batch counts) and session_build (the memory
 * check, the net, the optimizer and its schedule, the parameters, the
 * loop's buffers and the warm-up).
 *
 * Threads: the caller's only; no signal handler is installed yet, so a
 * signal during set-up takes the caller's disposition.
 *
 * Non-goals: the loader, the batch and epoch loop, the end of a run
 * (trainer.c); what a checkpoint stores and how a resume is checked
 * against it (trainer_ckpt.c); printing (report.c).
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/dataset.h"
#include "mlptrain/datacfg.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/loader.h"
#include "mlptrain/memprobe.h"
#include "mlptrain/net.h"
#include "mlptrain/optim.h"
#include "mlptrain/outfile.h"
#include "mlptrain/plot.h"
#include "mlptrain/report.h"
#include "mlptrain/schedule.h"
#include "mlptrain/tfevents.h"
#include "mlptrain/table.h"
#include "mlptrain/trainer.h"
#include "trainer_internal.h"

/*
 * Test hook: with MLPTRAIN_TEST_STARTUP_HOLD=FILE, start-up writes its
 * process id and a newline to FILE (complete once the newline is there)
 * and then waits for a signal, so that a test can signal this very
 * process while it is certainly in start-up (tests/e2e_inputs.sh), not a
 * wrapper such as timeout(1), which may not know its child's pid yet.
 * Unset: nothing.
 */
static void startup_hold(void)
{
    const char *f = getenv("MLPTRAIN_TEST_STARTUP_HOLD");
    int fd;

    if (f == NULL || f[0] == '\0')
        return;
    if ((fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0) {
        char line[32];
        int len = snprintf(line, sizeof(line), "%ld\n", (long)getpid());

        if (len > 0 && write(fd, line, (size_t)len) != len)
            line[0] = '\0'; /* the test times out and says so */
        close(fd);
    }
    for (;;)
        pause();
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
 * checkpoint being resumed; `save` counts the files written), dL/dlogits, the warm-up's input batch and the ring's slots,
 * and the parallel step's: `grad_blocks` gradient buffers (one per
 * micro-batch of a batch and the accumulator) and `replicas` more nets'
 * gradients, activations and scratchpads; a bf16 net's copy of the
 * weights (one, shared) and half the ring's bytes.
 * The dataset is already loaded: it counts in *total (what the process
 * will hold, for tests against the peak RSS) but not against what is
 * still available.  Both sides get memprobe's margin.
 */
static int check_memory(const mlp_net_spec_t *spec, size_t maxb, size_t slots,
                        int nstate, int save, int resume,
                        double grad_blocks, int replicas,
                        const mlp_dataset_t *ds, double *total)
{
    mlp_net_mem_t nm;
    double logical = 0, in = (double)spec->in, need, avail, data;
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
    double vbytes = spec->precision == MLP_PREC_BF16 ? 2.0 : 4.0;

    need = nm.params * (2 + nstate + grad_blocks) + nm.act + nm.scratch +
           nm.workspace + nm.wcopy +
           (double)replicas * (nm.params + nm.act + nm.scratch) +
           4.0 * (logical * copies + b * (double)spec->out +
                  b * (double)spec->in) +
           (double)slots * (b * (vbytes * (double)spec->in + 4.0) + 128.0);
    data = mlp_dataset_bytes(ds);
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
/*
 * The step's precision: cfg->precision (f32, bf16 or auto) chosen for
 * spec (its threads, batch sizes) and set in spec and cfg (resolved, like
 * the micro-batch: a checkpoint keeps what the run used), with *c saying
 * why.  Ranks agree: bf16 only when every rank chose it (bf16 asked where
 * a rank has none fails on every rank).
 */
static int choose_precision(session_t *s, mlp_net_spec_t *spec)
{
    mlp_config_t *cfg = s->cfg;
    int rc, f32 = 0;

    rc = mlp_net_choose_precision(spec, (mlp_precision_t)cfg->precision,
                                  cfg->micro, &s->prec);
    if (s->nranks > 1 && cfg->precision != MLP_PREC_F32) {
        mlp_error_saved_t e;
        int bad, rc2;

        mlp_error_save(&e);
        if ((rc2 = mlp_dist_any(rc < 0, &bad)) < 0 ||
            (rc2 = mlp_dist_any(rc < 0 || s->prec.used != MLP_PREC_BF16,
                                &f32)) < 0)
            return rc2;
        if (rc < 0)
            return mlp_error_restore(&e, rc);
        if (bad)
            return mlp_error_set(MLP_EUSAGE, "option '--precision': %s "
                                 "failed on another rank (its message "
                                 "says why)",
                                 mlp_precision_names[cfg->precision]);
        if (f32 && s->prec.used == MLP_PREC_BF16) {
            s->prec.used = MLP_PREC_F32;
            snprintf(s->prec.why, sizeof(s->prec.why),
                     "another rank chose f32");
        }
    }
    if (rc < 0)
        return rc;
    cfg->precision = spec->precision = s->prec.used;
    if (s->best_cfg != NULL)
        s->best_cfg->precision = cfg->precision;
    return 0;
}

/* check_memory for the run of s on a net of spec, stepped as so. */
static int fits_memory(session_t *s, const mlp_net_spec_t *spec,
                       const mlp_step_opts_t *so)
{
    const mlp_config_t *cfg = s->cfg;
    /* optimizer state blocks the size of the parameters */
    int nstate = cfg->optimizer != MLP_OPTIM_SGD ? 2 : cfg->momentum > 0.0f;

    return check_memory(spec, s->maxb,
                        mlp_loader_nslots(cfg->workers, s->slots), nstate,
                        (cfg->save_path[0] != '\0') +
                            (cfg->save_best_path[0] != '\0'),
                        s->resume, (double)mlp_step_grad_buffers(so),
                        mlp_step_replicas(so), s->ds,
                        s->res != NULL ? &s->res->mem_estimate : NULL);
}

/* ---- the stages ---------------------------------------------------- */

/*
 * Every output of a run, before any work: --save, --save-best and --log
 * absent or
 * regular files, --plot a .png or .svg one, --tensorboard a directory or
 * one that can be made (tfevents.h), and no output the same file as
 * an input (the data files, --resume) or as another output (outfile.h).
 * --save may name the --resume checkpoint: it replaces it atomically.
 */
static int check_outputs(const mlp_config_t *cfg)
{
    mlp_dataset_paths_t *data = NULL;
    mlp_out_file_t fs[MLP_DATASET_NPATHS + 10];
    size_t n = 0;
    int rc;

    /* each message names its option */
    if (cfg->save_path[0] != '\0' &&
        (rc = mlp_checkpoint_check_writable(cfg->save_path)) < 0)
        return mlp_error_prefix(rc, "option '--save'");
    if (cfg->save_best_path[0] != '\0' &&
        (rc = mlp_checkpoint_check_writable(cfg->save_best_path)) < 0)
        return mlp_error_prefix(rc, "option '--save-best'");
    if (cfg->log_path[0] != '\0' && (rc = mlp_out_check(cfg->log_path)) < 0)
        return mlp_error_prefix(rc, "option '--log'");
    if (cfg->plot_path[0] != '\0' &&
        (rc = mlp_plot_check(cfg->plot_path)) < 0)
        return mlp_error_prefix(rc, "option '--png'");
    if (cfg->tensorboard_dir[0] != '\0' &&
        (rc = mlp_tfevents_check_dir(cfg->tensorboard_dir)) < 0)
        return mlp_error_prefix(rc, "option '--tensorboard'");
    fs[n++] = (mlp_out_file_t){cfg->log_path, "--log", 1, NULL};
    fs[n++] = (mlp_out_file_t){cfg->tensorboard_dir, "--tensorboard", 1,
                               NULL};
    fs[n++] = (mlp_out_file_t){cfg->save_path, "--save", 1, "--resume"};
    fs[n++] = (mlp_out_file_t){cfg->save_best_path, "--save-best", 1, NULL};
    fs[n++] = (mlp_out_file_t){cfg->plot_path, "--plot", 1, NULL};
    fs[n++] = (mlp_out_file_t){cfg->resume_path, "--resume", 0, NULL};
    fs[n++] = (mlp_out_file_t){cfg->train_path, "--train", 0, NULL};
    fs[n++] = (mlp_out_file_t){cfg->test_path, "--test", 0, NULL};
    fs[n++] = (mlp_out_file_t){cfg->train_labels_path, "--train-labels", 0,
                               NULL};
    fs[n++] = (mlp_out_file_t){cfg->test_labels_path, "--test-labels", 0,
                               NULL};
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

void mlp_train_unlock_checkpoints(session_t *s)
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
int mlp_train_session_open(session_t *s, const mlp_config_t *cfg_in,
                           const mlp_train_mem_t *mem, FILE *out, FILE *err,
                           mlp_train_result_t *res)
{
    const char *save_to;
    int rc;

    memset(s, 0, sizeof(*s));
    /* The ranges, and the rules between options (those that read a
     * resumed checkpoint's options wait for them: session_resume), on
     * the options as given, before a rank > 0 drops its outputs. */
    if ((rc = mlp_config_validate(cfg_in)) < 0)
        return rc;
    s->mem = mem;
    if (mem != NULL) {
        if (mem->data == NULL)
            return mlp_error_set(MLP_EINVAL, "a run in memory needs its "
                                 "data");
        if (cfg_in->resume_path[0] != '\0')
            return mlp_error_set(MLP_EUSAGE, "option '--resume': a run in "
                                 "memory starts from its model in memory");
        if (mlp_dist_size() > 1)
            return mlp_error_set(MLP_EUSAGE, "a run in memory trains in one "
                                 "process, not across %d MPI ranks",
                                 mlp_dist_size());
        s->warm = mem->model != NULL;
        s->warm_name = mem->model_name != NULL ? mem->model_name
                                               : "the model";
    }
    s->rank = mlp_dist_rank();
    s->nranks = mlp_dist_size();
    /* Rank 0 alone prints, logs, plots and saves: the others run the same
     * options without any output (and take no lock). */
    if (s->rank > 0) {
        if ((s->rank_cfg = malloc(sizeof(*s->rank_cfg))) == NULL)
            return mlp_error_set(MLP_ENOMEM, "out of memory");
        *s->rank_cfg = *cfg_in;
        s->rank_cfg->log_path[0] = s->rank_cfg->plot_path[0] = '\0';
        s->rank_cfg->tensorboard_dir[0] = '\0';
        s->rank_cfg->save_path[0] = s->rank_cfg->save_best_path[0] = '\0';
        s->rank_cfg->quiet = 1;
        cfg_in = s->rank_cfg;
        out = err = NULL;
    }
    s->cfg_in = cfg_in;
    s->out = out;
    s->res = res;
    s->first = 1;
    s->save_lock_fd = s->best_lock_fd = -1;
    s->rs.best_val_acc = -1.0;
    s->rs.best_val_loss = INFINITY;
    if (res != NULL)
        memset(res, 0, sizeof(*res));
    s->resume = cfg_in->resume_path[0] != '\0' || s->warm;
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
              : s->rank > 0                 ? ""
                                            : cfg_in->resume_path;
    if ((rc = lock_checkpoint(save_to, s->save_lock, &s->save_lock_fd)) <
            0 ||
        (rc = lock_checkpoint(cfg_in->save_best_path, s->best_lock,
                              &s->best_lock_fd)) < 0 ||
        (rc = mlp_report_create(out, err, cfg_in->quiet, cfg_in->log_path,
                                s->resume, &s->rep)) < 0) {
        mlp_train_unlock_checkpoints(s);
        return rc;
    }
    /* A new event file beside the log, resumed or not (tfevents.h). */
    if (cfg_in->tensorboard_dir[0] != '\0' &&
        (rc = mlp_report_tensorboard(s->rep, cfg_in->tensorboard_dir)) < 0) {
        mlp_error_saved_t first;

        mlp_error_save(&first);
        mlp_report_destroy(s->rep);
        s->rep = NULL;
        mlp_train_unlock_checkpoints(s);
        return mlp_error_restore(&first, rc);
    }
    return 0;
}

/*
 * A warm start (trainer.h, mlp_train_mem): the model's checkpoint from its
 * bytes, checked as a file would be, and against cfg's options, which
 * stay the run's.  The model's validation figures are of its own --val
 * split: with another --val they are dropped (the best epoch by
 * validation starts afresh).
 */
static int warm_start(session_t *s)
{
    const mlp_train_mem_t *m = s->mem;
    const char *name = s->warm_name;
    mlp_config_t *mcfg = s->ck_cfg = malloc(sizeof(*mcfg));
    int rc;

    if (mcfg == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    if ((rc = mlp_checkpoint_parse(m->model, m->model_len, name,
                                   &s->rck)) == 0 &&
        (rc = mlp_train_warm_options(s->cfg, &s->rck, name, mcfg,
                                     &s->keep_state)) == 0 &&
        mcfg->val != s->cfg->val) {
        s->rck.best_val_epoch = s->rck.best_val_loss_epoch = 0;
        s->rck.best_val_acc = s->rck.best_val_loss = 0.0;
    }
    return rc; /* mcfg, the model's options, is s->ck_cfg (the report's) */
}

/* The effective options; with --resume, the checkpoint and its options. */
int mlp_train_session_resume(session_t *s)
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
    if (s->warm) {
        if ((rc = warm_start(s)) < 0)
            return rc;
    } else {
        if (!(s->ck_cfg = malloc(sizeof(*s->ck_cfg))))
            return mlp_error_set(MLP_ENOMEM, "out of memory");
        if ((rc = mlp_checkpoint_load(cfg->resume_path, &s->rck)) < 0 ||
            (rc = mlp_train_merge_resume(cfg, &s->rck, s->ck_cfg)) < 0 ||
            (rc = mlp_config_check_rules(cfg, 1)) < 0)
            return rc;
        /* It goes on saving where it came from, unless --save names
         * another file (checked once the file proved a checkpoint). */
        if (cfg->save_path[0] == '\0') {
            memcpy(cfg->save_path, cfg->resume_path, sizeof(cfg->save_path));
            if ((rc = mlp_checkpoint_check_writable(cfg->save_path)) < 0)
                return rc;
        }
    }
    if (cfg->until > 0 && cfg->until <= s->rck.epoch)
        return mlp_error_set(MLP_EUSAGE, "option '--until': %u, but the "
                             "checkpoint '%s' has completed %u epochs",
                             cfg->until, cfg->resume_path, s->rck.epoch);
    s->first = s->rck.epoch + 1;
    s->rs.epoch = s->rck.epoch;
    s->rs.best_acc = s->rck.best_test_acc;
    s->rs.best_epoch = s->rck.best_epoch;
    /* The validation state (checkpoint version 2; a version 1 file has
     * none and had no --val): best epoch and early stop go on exactly.
     * A warm start on another --val starts it afresh (warm_start). */
    if (s->rck.best_val_epoch > 0)
        s->rs.best_val_acc = s->rck.best_val_acc;
    if (s->rck.best_val_loss_epoch > 0) {
        s->rs.best_val_loss = s->rck.best_val_loss;
        s->rs.best_val_loss_epoch = s->rck.best_val_loss_epoch;
    }
    s->rs.final_acc = s->rck.final_test_acc;
    /* The run had stopped early at the checkpoint's epoch (it is saved
     * before the stop is decided): the uninterrupted run ends there,
     * whatever --epochs says; a larger --early-stop given goes on. */
    if (cfg->early_stop > 0 && cfg->val > 0 && s->rck.batches_done == 0 &&
        s->rck.best_val_loss_epoch > 0 &&
        s->rck.epoch - s->rck.best_val_loss_epoch >= cfg->early_stop) {
        s->done = s->rck.epoch;
        s->stopped_early = s->rck.epoch;
    }
    if (s->best_cfg != NULL) {
        char path[sizeof(cfg->save_best_path)];

        memcpy(path, cfg->save_best_path, sizeof(path));
        *s->best_cfg = *cfg;
        memcpy(s->best_cfg->save_path, path, sizeof(path));
    }
    return 0;
}

/* The data's side of the rules (options.h: mlp_config_check_data). */
static int check_data_options(const mlp_config_t *cfg,
                              const mlp_dataset_t *ds)
{
    char what[2 * MLP_PATH_MAX + 128];
    unsigned has = 0;

    has |= ds->format[0] == MLP_FORMAT_CSV ? MLP_DATA_CSV : 0;
    has |= ds->format[0] == MLP_FORMAT_IDX || ds->format[0] == MLP_FORMAT_NPY
               ? MLP_DATA_LABELS_FILE
               : 0;
    has |= ds->format[1] == MLP_FORMAT_IDX || ds->format[1] == MLP_FORMAT_NPY
               ? MLP_DATA_TEST_LABELS_FILE
               : 0;
    if (cfg->train_path[0] != '\0')
        snprintf(what, sizeof(what), "'%s' is %s, '%s' is %s, with %s",
                 cfg->train_path, mlp_table_format_name(ds->format[0]),
                 cfg->test_path, mlp_table_format_name(ds->format[1]),
                 ds->image  ? "images"
                 : ds->real ? "real features"
                            : "byte features");
    else /* --data DIR: its files are IDX */
        snprintf(what, sizeof(what), "the data in '%s' is IDX %s",
                 cfg->data_dir, ds->image ? "images" : "byte features");
    has |= ds->real ? MLP_DATA_REAL : 0;
    has |= ds->image ? MLP_DATA_IMAGES : 0;
    return mlp_config_check_data(cfg, has, what);
}

/* The data, checked against the run (and the checkpoint), and its batches. */
int mlp_train_session_load_data(session_t *s)
{
    const mlp_config_t *cfg = s->cfg;
    mlp_dataset_t *ds;
    int rc;

    if ((rc = s->mem != NULL
                  ? mlp_dataset_from_arrays(s->mem->data, &s->ds)
                  : mlp_dataset_from_config(cfg, 0, NULL, &s->ds)) < 0)
        return rc;
    ds = s->ds;
    /* The options that need the data's format, now that it is known. */
    if ((rc = check_data_options(cfg, ds)) < 0)
        return rc;
    if (ds->nclasses < 2)
        return mlp_error_set(MLP_EINVAL,
                             "%s: every training label is 0: a classifier "
                             "needs at least 2 classes",
                             ds->files[MLP_FILE_TRAIN_LABELS].path);
    /* Every figure of a run is a test figure: no test set, no run (in
     * memory, a test split is the caller's choice). */
    if (ds->test.n == 0 && s->mem == NULL)
        return mlp_error_set(MLP_EINVAL,
                             "%s: no test images: a run reports its test "
                             "accuracy",
                             ds->files[MLP_FILE_TEST_IMAGES].path);
    /* After --limit-train (applied by the load): N of the samples left. */
    if ((rc = mlp_dataset_train_split(ds, cfg->limit_train, cfg->val,
                                      cfg->seed)) < 0)
        return rc;
    if (s->warm &&
        (rc = mlp_train_check_warm_data(&s->rck, ds, s->warm_name)) < 0)
        return rc;
    if (s->resume && !s->warm &&
        (rc = mlp_train_check_resume_data(&s->rck, ds, cfg->resume_path)) < 0)
        return rc;
    /* Real features: the scaling of the rows trained on, or the
     * checkpoint's when resuming (the same rows, the same figures). */
    if ((rc = mlp_dataset_set_transform(ds, cfg->normalize,
                                        s->resume ? s->rck.shift : NULL,
                                        s->resume ? s->rck.scale : NULL)) < 0)
        return rc;
    /* A mean loss of 100 x ln(C) is 100 times a uniform guess's: a run
     * whose loss explodes that far has diverged even while it is finite. */
    s->max_loss = cfg->max_loss > 0.0f    ? (double)cfg->max_loss
                  : cfg->max_loss == 0.0f ? 100.0 * log((double)ds->nclasses)
                                          : 0.0;
    s->nb_train = mlp_loader_nbatches(ds->train.n, cfg->batch);
    s->nb_val = mlp_loader_nbatches(ds->val.n, cfg->batch);
    s->nb_test = mlp_loader_nbatches(ds->test.n, cfg->batch);
    s->steps_per_epoch = mlp_train_steps_of(s, s->nb_train);
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
    float *p, *g;
    size_t np;
    int rc;

    if (!s->resume || s->warm) /* a warm start's options are cfg's */
        mlp_config_resolve(cfg);
    /* --momentum with adam, --nesterov without momentum: the rules
     * (options.h), checked at session_open and after a resume's merge. */
    mlp_sched_of(cfg, s->steps_per_epoch, &s->sched);
    /* Every epoch count becomes steps here, checked against the run's;
     * a resumed run's come from its checkpoint. */
    if ((rc = mlp_sched_init(&s->sched)) < 0)
        return s->resume ? mlp_error_prefix(rc, "the options of the "
                                            "checkpoint '%s' and --epochs "
                                            "%u", cfg->resume_path,
                                            cfg->epochs)
                         : rc;
    mlp_optim_opts_of(cfg, &oo);
    mlp_net_params(s->net, &p, &g, &np);
    return mlp_optim_create(&oo, np, &s->opt);
}

/*
 * The net (after the memory check), the optimizer, the parameters (from
 * the checkpoint or fresh), the loop's buffers, and the warm-up.
 */
int mlp_train_session_build(session_t *s)
{
    mlp_config_t *cfg = s->cfg;
    const mlp_dataset_t *ds = s->ds;
    mlp_net_spec_t spec;
    mlp_step_opts_t so;
    int rc;

    mlp_net_spec_of(cfg, ds->train.dim, ds->nclasses, &spec);
    /* The micro-batch: the checkpoint's, given, or a function of the
     * batch (stored resolved: a checkpoint's text always names it). */
    if (cfg->micro == 0)
        cfg->micro = mlp_step_default_micro(cfg->batch);
    if (s->best_cfg != NULL)
        s->best_cfg->micro = cfg->micro;
    if (cfg->parallel == MLP_PAR_AUTO)
        cfg->parallel = mlp_step_auto_mode(&spec, cfg->batch, cfg->micro);
    mlp_step_opts_of(cfg, s->maxb, s->rank, s->nranks, &so);
    spec.threads = mlp_step_net_threads(&so);
    if ((rc = mlp_step_spec_sizes(&spec, ds->train.n, cfg->batch,
                                  cfg->micro)) < 0 ||
        (rc = mlp_step_spec_sizes(&spec, ds->test.n, cfg->batch,
                                  cfg->micro)) < 0 ||
        (rc = mlp_step_spec_sizes(&spec, ds->val.n, cfg->batch,
                                  cfg->micro)) < 0)
        return rc;
    /* A given --slots beyond the batches of an epoch would hold batches
     * never used (a ring of 4096 slots of 256 rows for 8 batches is 3 GB):
     * bounded by them, and counted in the memory check as used. */
    s->slots = cfg->slots;
    if (s->slots > 0 && s->slots > s->nb_train + s->nb_val + s->nb_test)
        s->slots = s->nb_train + s->nb_val + s->nb_test < 2
                       ? 2
                       : s->nb_train + s->nb_val + s->nb_test;
    /* auto: the run must fit in f32 before the calibration makes its two
     * small nets (less than the run's: a run that fits, they fit); then
     * in what it chose. */
    spec.precision = MLP_PREC_F32;
    if ((cfg->precision == MLP_PREC_AUTO &&
         (rc = fits_memory(s, &spec, &so)) < 0) ||
        (rc = choose_precision(s, &spec)) < 0 ||
        (rc = fits_memory(s, &spec, &so)) < 0)
        return rc;
    if ((rc = mlp_net_create(&spec, &s->net)) < 0)
        return rc;
    if ((rc = build_optim(s)) < 0)
        return rc;
    if (s->resume) {
        /* A warm start whose optimizer changed keeps only the weights. */
        if ((rc = mlp_checkpoint_restore(
                 &s->rck, s->net,
                 s->warm && !s->keep_state ? NULL : s->opt)) < 0)
            return mlp_error_prefix(rc, "%s",
                                    s->warm ? s->warm_name
                                            : cfg->resume_path);
        s->resume_crc = (uint32_t)crc32_z(
            crc32_z(0L, Z_NULL, 0), (const Bytef *)s->rck.params,
            s->rck.nparams * sizeof(float));
        /* One optimizer step per training batch so far (Adam's t): the
         * count a version 2 checkpoint holds must say the same.  A warm
         * start counts on from the model's (its training sets may have
         * had other sizes), or from 0 with a fresh optimizer. */
        uint64_t steps = mlp_train_step(
            s, s->rck.epoch + 1, mlp_train_steps_of(s, s->rck.batches_done));

        if (s->warm)
            steps = !s->keep_state          ? 0
                    : s->rck.version >= 2   ? s->rck.opt_steps
                                            : steps;
        else if (s->rck.version >= 2 && s->rck.opt_steps != steps)
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
    if ((rc = warm_up(s->net, ds->train.dim, s->dlogits)) < 0)
        return rc;
    return mlp_stepper_create(&so, s->net, s->opt, &s->step);
}