/*
 * trainer: the epoch loop and the end of a run (see trainer.h).
 *
 * Threads: this file runs on the caller's thread only.  It owns the net,
 * the optimizer and the report; the loader owns its workers and ring, the
 * stepper (step.h) its compute threads, which run only inside a
 * mlp_stepper_* call.  A
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
 * mlp_train is a row of stages over one session_t (trainer_internal.h):
 * session_open, session_resume, session_load_data, session_build (the
 * set-up, trainer_setup.c's), then this file's session_start, run_epochs
 * (run_epoch, train_batch per batch), session_finish (with
 * save_interrupted) and session_close.  The checkpoint side of a run
 * (which options it stores, the resume conflict check, the data check,
 * the save) is trainer_ckpt.c's, through trainer_internal.h.
 *
 * MPI ranks (dist.h, under mpirun): every rank runs this same loop on the
 * same schedule; the stepper splits each batch's micro-batches and sums
 * across ranks, so every rank holds the same weights and figures.  The
 * stop check between steps is an agreement (stop_agreed: one SIGINT on
 * any rank stops all at the same batch); rank 0 alone prints, logs and
 * saves (session_open gives the others no outputs, mlp_train_save is a
 * no-op there).  A checkpoint holds nothing of the ranks: it resumes with
 * any rank count.
 *
 * Non-goals: parsing options, printing (report.c does), setting a run up
 * (trainer_setup.c: outputs, locks, data, net, optimizer, warm-up).
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/clock.h"
#include "mlptrain/datacfg.h"
#include "mlptrain/dataset.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/faults.h"
#include "mlptrain/loader.h"
#include "mlptrain/loss.h"
#include "mlptrain/net.h"
#include "mlptrain/optim.h"
#include "mlptrain/schedule.h"
#include "mlptrain/step.h"
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

static long peak_rss_kb(void)
{
    struct rusage ru;

    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
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


/* The loader, the run record, and from here on the stop signals. */
static int session_start(session_t *s)
{
    const mlp_config_t *cfg = s->cfg;
    mlp_loader_opts_t lo;
    int rc;

    mlp_dataset_loader_opts(cfg, s->ds, &lo);
    lo.batch = s->maxb;
    lo.first_epoch = s->first;
    lo.epochs = mlp_train_last_epoch(s) - s->first + 1;
    lo.slots = s->slots;
    lo.rank = s->rank;
    lo.nranks = s->nranks;
    lo.bf16 = cfg->precision == MLP_PREC_BF16;
    if ((rc = mlp_loader_create(&lo, &s->ld)) < 0)
        return rc;
    {
        mlp_run_info_t info = {mlp_net_dnnl_version(), mlp_net_isa(),
                               mlp_net_nparams(s->net),
                               mlp_loader_slots(s->ld),
                               mlp_loader_bytes(s->ld),
                               s->warm     ? s->warm_name
                               : s->resume ? cfg->resume_path
                                           : NULL,
                               s->rck.epoch, s->rck.batches_done,
                               s->resume ? s->ck_cfg : NULL, s->free_cores,
                               s->nranks, 0, &s->prec};
        mlp_step_stats_t ss;

        mlp_stepper_stats(s->step, &ss);
        info.overlap = ss.overlap;
        if ((rc = mlp_report_run(s->rep, cfg, s->ds, &info)) < 0)
            return rc;
    }
    return arm_stop_signals();
}

/* A batch's rows as the net takes them: floats, or bf16 values. */
static const void *batch_x(const session_t *s, const mlp_batch_t *b)
{
    return s->cfg->precision == MLP_PREC_BF16 ? (const void *)b->xh
                                              : (const void *)b->x;
}

/*
 * Training loader batch k of epoch e: its micro-batches' gradients (loss
 * checked against divergence), folded into global step k / accum's
 * gradient, and at the step's last loader batch the optimizer's update in
 * the same pass.  The micro-batches' losses are added to the epoch's sum
 * one by one, in order, so the sum does not depend on how the rows are
 * cut into loader batches (--accum).
 */
static int train_batch(session_t *s, unsigned e, size_t k,
                       const mlp_batch_t *b)
{
    size_t K = s->cfg->accum, j = k / K;
    double before = s->rs.loss_sum, batch_loss;
    int rc;

    if (k % K == 0) {
        /* Dropout's masks: a function of (seed, epoch, global step j, the
         * row's place in the step's rows). */
        mlp_drop_key_t dk = {s->cfg->seed, e, j, 0};
        size_t lo = j * K * s->cfg->batch, n = s->ds->train.n;
        size_t hi = n - lo > K * s->cfg->batch ? lo + K * s->cfg->batch : n;

        mlp_stepper_begin(s->step, hi - lo, &dk);
    }
    if ((rc = mlp_stepper_add(s->step, batch_x(s, b), b->y, b->n,
                              &s->rs.loss_sum, &s->rs.correct)) < 0)
        return rc;
    batch_loss = s->rs.loss_sum - before;
    if (!isfinite(batch_loss))
        return mlp_error_set(MLP_EDIVERGED,
                             "epoch %u batch %zu: the loss is not finite", e,
                             k + 1);
    if (s->max_loss > 0.0 && batch_loss > s->max_loss * b->n)
        return mlp_error_set(MLP_EDIVERGED,
                             "epoch %u batch %zu: the mean loss %.4g "
                             "exceeds %.4g (--max-loss)",
                             e, k + 1, batch_loss / (double)b->n,
                             s->max_loss);
    if ((k + 1) % K != 0 && k + 1 < s->nb_train)
        return mlp_stepper_fold(s->step);
    return mlp_stepper_apply(
        s->step, (float)mlp_sched_lr(&s->sched, mlp_train_step(s, e, j)));
}

/*
 * A stop asked here (signal or test hook), or with ranks on any rank: the
 * agreement (mlp_dist_any) runs at the same batches on every rank, so all
 * stop at the same one.  1: stop; a failed agreement is an error.
 */
static int stop_agreed(session_t *s, int *stop)
{
    int here = stop_requested ||
               (s->mem != NULL && s->mem->stop != NULL && *s->mem->stop) ||
               (mlp_fault_interrupt_after() > 0 &&
                s->batches_run >= mlp_fault_interrupt_after());

    *stop = here;
    return s->nranks > 1 ? mlp_dist_any(here, stop) : 0;
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
    double w0 = mlp_loader_wait_seconds(s->ld);
    size_t test_correct = 0, val_correct = 0, skip = 0, trained = 0;
    mlp_step_stats_t ds0, ds1;
    int rc = 0, stop;

    mlp_stepper_stats(s->step, &ds0);

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
        int train = k < s->nb_train;

        /* Stops come between global steps (a step's loader batches are
         * never split by a checkpoint). */
        if (k >= skip && (!train || k % s->cfg->accum == 0)) {
            if ((rc = stop_agreed(s, &stop)) < 0)
                return rc;
            if (stop)
                return interrupt_at(s, e, k);
        }
        if ((rc = mlp_loader_next(s->ld, &b)) < 0)
            return rc;
        if (k < skip) { /* trained before the checkpoint was saved */
            mlp_loader_release(s->ld, &b);
            continue;
        }
        if (train) {
            rc = train_batch(s, e, k, &b);
            rs->batches_done = k + 1;
            trained += b.n;
            s->batches_run++;
        } else {
            int val = b.phase == MLP_PHASE_VAL;

            rc = mlp_stepper_eval(s->step, batch_x(s, &b), b.y, b.n,
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
    st->lr = mlp_sched_lr(&s->sched,
                          mlp_train_step(s, e, s->steps_per_epoch - 1));
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
    st->wait_share = (mlp_loader_wait_seconds(s->ld) - w0) / st->seconds;
    mlp_stepper_stats(s->step, &ds1);
    st->ranks = s->nranks;
    st->dist_seconds = ds1.seconds - ds0.seconds;
    st->dist_exposed = ds1.exposed - ds0.exposed;
    /* The exchanges count the evaluation's none (its sums are
     * collectives): bytes over the steps that made them. */
    st->dist_bytes_per_step =
        ds1.steps > ds0.steps
            ? (double)(ds1.bytes - ds0.bytes) / (double)(ds1.steps - ds0.steps)
            : 0.0;
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
    for (unsigned e = s->first; e <= mlp_train_last_epoch(s); e++) {
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
            (rc = mlp_train_save(&s->sck, cfg, s)) < 0)
            return rc;
        if (best && s->best_cfg != NULL &&
            (rc = mlp_train_save(&s->bck, s->best_cfg, s)) < 0)
            return rc;
        /* A run in memory: the caller's hook, between epochs. */
        if (s->mem != NULL && s->mem->epoch_done != NULL &&
            (rc = s->mem->epoch_done(s->mem->arg, s, st)) != 0) {
            if (rc < 0)
                return rc;
            s->stopped = e;
            break;
        }
        if (cfg->early_stop > 0 && st->has_val &&
            e - rs->best_val_loss_epoch >= cfg->early_stop) {
            s->stopped_early = e;
            break;
        }
    }
    return 0;
}

int mlp_train_run_model(mlp_train_run_t *run, uint8_t **buf, size_t *len)
{
    int rc;

    *buf = NULL;
    *len = 0;
    if (run->net == NULL)
        return mlp_error_set(MLP_EINVAL, "the run has no model yet");
    if ((rc = mlp_train_fill(&run->mck, run->cfg, run)) < 0)
        return rc;
    return mlp_checkpoint_encode(&run->mck, buf, len);
}

/*
 * A run in memory keeps the model it ends with, finished or interrupted
 * (mid-epoch: a warm start continues it exactly), unless the state went
 * bad; a run that had nothing to do keeps the model it was given.
 */
static int keep_model(session_t *s, int rc)
{
    int rc2 = 0;

    if (s->mem == NULL || (rc != 0 && rc != MLP_EINTERRUPTED))
        return rc;
    if (s->net == NULL) { /* done before it started: the model given */
        if (s->mem->model == NULL || rc != 0)
            return rc;
        if ((s->model_out = malloc(s->mem->model_len)) == NULL)
            return mlp_error_set(MLP_ENOMEM, "out of memory");
        memcpy(s->model_out, s->mem->model, s->mem->model_len);
        s->model_out_len = s->mem->model_len;
        return rc;
    }
    if ((rc == 0 || (rc2 = check_finite(s->net, s->opt, s->rs.epoch + 1,
                                        s->rs.batches_done)) == 0) &&
        (rc2 = mlp_train_run_model(s, &s->model_out, &s->model_out_len)) ==
            0)
        return rc;
    return rc2;
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
        (rc2 = mlp_train_save(&s->sck, cfg, s)) < 0)
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
    /* Paused: stopped by --until before the plan's end, to be resumed
     * (not an early stop, which ends the run). */
    sum.status = rc == 0 && s->cfg != NULL && s->cfg->until > 0 &&
                         rs->epoch < s->cfg->epochs && s->stopped_early == 0
                     ? "paused"
                 : rc == 0                 ? "ok"
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
    sum.has_val = s->ds != NULL ? s->ds->val.n > 0
                                : s->cfg != NULL && s->cfg->val > 0;
    sum.already_done = s->done > 0;
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
        res->stopped = s->stopped;
    }
    return rc;
}

/* Free everything the session still holds and drop the lock. */
static void session_close(session_t *s)
{
    mlp_loader_destroy(s->ld);
    mlp_stepper_destroy(s->step);
    free(s->hist);
    free(s->dlogits);
    mlp_checkpoint_free(&s->sck);
    mlp_checkpoint_free(&s->rck);
    mlp_checkpoint_free(&s->bck);
    mlp_checkpoint_free(&s->mck);
    free(s->model_out);
    mlp_optim_destroy(s->opt);
    mlp_net_destroy(s->net);
    mlp_dataset_destroy(s->ds);
    free(s->cfg);
    free(s->best_cfg);
    free(s->rank_cfg);
    free(s->ck_cfg);
    mlp_train_unlock_checkpoints(s);
}

/* mlp_train and mlp_train_mem: the stages, in order, over one session;
 * *model (mem) gets the model the run kept. */
static int train(const mlp_config_t *cfg_in, const mlp_train_mem_t *mem,
                 FILE *out, FILE *err, mlp_train_result_t *res,
                 uint8_t **model, size_t *model_len)
{
    session_t s;
    int rc;

    if ((rc = mlp_train_session_open(&s, cfg_in, mem, out, err, res)) < 0) {
        free(s.rank_cfg);
        return rc;
    }
    if ((rc = mlp_train_session_resume(&s)) == 0 && !s.done &&
        (rc = mlp_train_session_load_data(&s)) == 0)
        rc = mlp_train_session_build(&s);
    /* Under MPI every rank, ready or not, agrees before the first step. */
    rc = mlp_train_agree_ranks(&s, rc);
    if (rc == 0 && !s.done && (rc = session_start(&s)) == 0)
        rc = run_epochs(&s);
    rc = keep_model(&s, rc);
    rc = session_finish(&s, rc);
    if (model != NULL) {
        *model = s.model_out;
        *model_len = s.model_out_len;
        s.model_out = NULL;
    }
    session_close(&s);
    return rc;
}

int mlp_train(const mlp_config_t *cfg_in, FILE *out, FILE *err,
              mlp_train_result_t *res)
{
    return train(cfg_in, NULL, out, err, res, NULL, NULL);
}

int mlp_train_mem(const mlp_config_t *cfg, const mlp_train_mem_t *m,
                  FILE *out, FILE *err, mlp_train_result_t *res,
                  uint8_t **model, size_t *model_len)
{
    *model = NULL;
    *model_len = 0;
    return train(cfg, m, out, err, res, model, model_len);
}

void mlp_train_result_free(mlp_train_result_t *res)
{
    if (res == NULL)
        return;
    free(res->history);
    memset(res, 0, sizeof(*res));
}
