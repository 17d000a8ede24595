/*
 * trainer: the epoch loop (see trainer.h).
 *
 * Threads: this file runs on the caller's thread only.  It owns the net,
 * the optimizer and the report; the loader owns its workers and ring.
 *
 * Non-goals: parsing options, printing (report.c does), checkpoints.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "mlptrain/dataset.h"
#include "mlptrain/error.h"
#include "mlptrain/loader.h"
#include "mlptrain/loss.h"
#include "mlptrain/net.h"
#include "mlptrain/optim.h"
#include "mlptrain/trainer.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long peak_rss_kb(void)
{
    struct rusage ru;

    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* Add n to the set of batch sizes when it is new and nonzero. */
static void add_batch_size(mlp_net_spec_t *spec, size_t n)
{
    if (n == 0)
        return;
    for (size_t i = 0; i < spec->nbatch_sizes; i++)
        if (spec->batch_sizes[i] == n)
            return;
    spec->batch_sizes[spec->nbatch_sizes++] = n;
}

/* The sizes a split of n samples is cut into: full batches and the rest. */
static void add_split_sizes(mlp_net_spec_t *spec, size_t n, size_t batch)
{
    add_batch_size(spec, n < batch ? n : batch);
    add_batch_size(spec, n > batch ? n % batch : 0);
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

int mlp_train(const mlp_config_t *cfg, FILE *out, mlp_train_result_t *res)
{
    mlp_report_t *rep = NULL;
    mlp_dataset_t *ds = NULL;
    mlp_net_t *net = NULL;
    mlp_optim_t *opt = NULL;
    mlp_loader_t *ld = NULL;
    mlp_epoch_stats_t *hist = NULL;
    float *dlogits = NULL;
    mlp_net_spec_t spec;
    mlp_run_summary_t sum;
    double train_time = 0.0, t_start = 0.0;
    size_t nb_train, nb_test, nclasses;
    unsigned done = 0, best_epoch = 0;
    double best_acc = 0.0, final_acc = 0.0;
    int rc;

    if (res != NULL)
        memset(res, 0, sizeof(*res));
    if ((rc = mlp_config_validate(cfg)) < 0)
        return rc;
    /* The log first: an unwritable path fails before any work. */
    if ((rc = mlp_report_create(out, cfg->quiet, cfg->log_path, &rep)) < 0)
        return rc;
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
    nb_train = mlp_loader_nbatches(ds->train.n, cfg->batch);
    nb_test = mlp_loader_nbatches(ds->test.n, cfg->batch);

    memset(&spec, 0, sizeof(spec));
    spec.in = ds->train.dim;
    spec.out = nclasses;
    spec.nhidden = cfg->nhidden;
    memcpy(spec.hidden, cfg->hidden, sizeof(spec.hidden));
    spec.act = cfg->act;
    spec.threads = cfg->threads;
    spec.plain_weights = cfg->plain_weights;
    add_split_sizes(&spec, ds->train.n, cfg->batch);
    add_split_sizes(&spec, ds->test.n, cfg->batch);
    if ((rc = mlp_net_create(&spec, &net)) < 0)
        goto out;
    if ((rc = mlp_net_init(net, cfg->seed, cfg->init_std)) < 0)
        goto out;
    {
        mlp_optim_opts_t oo = {cfg->lr, cfg->momentum, cfg->weight_decay};
        float *p, *g;
        size_t np;

        mlp_net_params(net, &p, &g, &np);
        if ((rc = mlp_optim_create(&oo, np, &opt)) < 0)
            goto out;
    }
    dlogits = aligned_alloc(64, ((cfg->batch * nclasses * sizeof(float)) + 63)
                                    / 64 * 64);
    hist = calloc(cfg->epochs, sizeof(*hist));
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
        lo.batch = cfg->batch;
        lo.first_epoch = 1;
        lo.epochs = cfg->epochs;
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
                               mlp_loader_bytes(ld)};
        if ((rc = mlp_report_run(rep, cfg, ds, &info)) < 0)
            goto out;
    }

    t_start = now_s();
    for (unsigned e = 1; e <= cfg->epochs; e++) {
        mlp_epoch_stats_t *st = &hist[e - 1];
        double t0 = now_s(), t_train = t0;
        uint64_t w0 = mlp_loader_wait_ns(ld);
        double loss_sum = 0.0, test_loss = 0.0;
        size_t correct = 0, test_correct = 0;
        float *params, *grads;
        size_t np;

        mlp_net_params(net, &params, &grads, &np);
        for (size_t k = 0; k < nb_train + nb_test; k++) {
            mlp_batch_t b;
            const float *logits;
            double batch_loss = 0.0;
            int train = k < nb_train;

            if ((rc = mlp_loader_next(ld, &b)) < 0)
                goto out;
            rc = mlp_net_forward(net, b.x, b.n, &logits);
            if (rc == 0 && train) {
                mlp_loss_softmax_xent(logits, b.y, b.n, nclasses, dlogits,
                                      &batch_loss, &correct);
                if (!isfinite(batch_loss))
                    rc = mlp_error_set(MLP_EDIVERGED,
                                       "epoch %u batch %zu: the loss is not "
                                       "finite",
                                       e, k + 1);
                else
                    rc = mlp_net_backward(net, dlogits, b.n);
                if (rc == 0)
                    mlp_optim_step(opt, params, grads);
                loss_sum += batch_loss;
            } else if (rc == 0) {
                mlp_loss_softmax_xent(logits, b.y, b.n, nclasses, NULL,
                                      &test_loss, &test_correct);
            }
            mlp_loader_release(ld, &b);
            if (rc < 0)
                goto out;
            if (train && k + 1 == nb_train)
                t_train = now_s();
        }
        st->epoch = e;
        st->seconds = now_s() - t0;
        st->train_seconds = t_train - t0;
        st->train_loss = loss_sum / (double)ds->train.n;
        st->train_acc = (double)correct / (double)ds->train.n;
        st->test_loss = ds->test.n ? test_loss / (double)ds->test.n : 0.0;
        st->test_acc =
            ds->test.n ? (double)test_correct / (double)ds->test.n : 0.0;
        st->samples_per_s = (double)ds->train.n / st->train_seconds;
        st->wait_share =
            (double)(mlp_loader_wait_ns(ld) - w0) * 1e-9 / st->seconds;
        train_time += st->train_seconds;
        done = e;
        final_acc = st->test_acc;
        if (st->test_acc > best_acc || best_epoch == 0) {
            best_acc = st->test_acc;
            best_epoch = e;
        }
        if ((rc = mlp_report_epoch(rep, st)) < 0)
            goto out;
    }

out:
    memset(&sum, 0, sizeof(sum));
    sum.status = rc == 0                ? "ok"
                 : rc == MLP_EDIVERGED ? "diverged"
                                        : "error";
    sum.epochs = done;
    sum.seconds = t_start > 0.0 ? now_s() - t_start : 0.0;
    sum.samples_per_s =
        train_time > 0.0 ? (double)done * (double)ds->train.n / train_time
                         : 0.0;
    sum.final_test_acc = final_acc;
    sum.best_test_acc = best_acc;
    sum.best_epoch = best_epoch;
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
        res->epochs = done;
        res->history = hist;
        hist = NULL;
        res->seconds = sum.seconds;
        res->samples_per_s = sum.samples_per_s;
        res->best_test_acc = best_acc;
        res->best_epoch = best_epoch;
    }
    mlp_loader_destroy(ld);
    free(hist);
    free(dlogits);
    mlp_optim_destroy(opt);
    mlp_net_destroy(net);
    mlp_dataset_destroy(ds);
    return rc;
}

void mlp_train_result_free(mlp_train_result_t *res)
{
    if (res == NULL)
        return;
    free(res->history);
    memset(res, 0, sizeof(*res));
}
