/*
 * bench_dist: the cost of the cross-rank gradient reduction (dist.h) and
 * the compute it is set against, for the scaling estimate in doc/parallel.md.
 *
 *   mpirun -np R bench_dist LABEL   the ordered chain fold of a gradient of
 *       the default model 784-256-10 (203,530 floats) and of
 *       784-1024-1024-10 (1,863,690 floats), 4 micro-batch parts per step
 *       split over the ranks (mlp_fold_rank): seconds per fold (median of
 *       many, each started together: a stop agreement first), bytes this
 *       rank sent + received per fold, and the same fold in one process
 *       (mlp_fold of the 4 parts) for the part that is not communication,
 *       and MPI_Allreduce of each rank's own fold (mlp_dist_sum_unordered):
 *       its time, and how many of its sums differ in bits from the fold's.
 *       Rank 0 prints; bench/results/dist-LABEL.csv.
 *   bench_dist --compute            one process, one compute thread: seconds
 *       per sample of a training step (forward, loss, backward, SGD) of
 *       both models at batch 256: bench/results/dist-compute.csv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/fold.h"
#include "mlptrain/loss.h"
#include "mlptrain/net.h"
#include "mlptrain/optim.h"
#include "mlptrain/rng.h"

typedef struct {
    const char *name;
    size_t nhidden;
    size_t hidden[2];
    size_t nparams; /* gradient floats: weights and biases */
    int iters;      /* folds timed */
} model_t;

static const model_t models[] = {
    {"784-256-10", 1, {256, 0}, 784 * 256 + 256 + 256 * 10 + 10, 200},
    {"784-1024-1024-10", 2, {1024, 1024},
     784 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 10 + 10, 60},
};
#define NMODELS (sizeof(models) / sizeof(models[0]))
#define NMICRO 4

static int fail(const char *what)
{
    fprintf(stderr, "bench_dist: %s: %s\n", what, mlp_error_message());
    return 1;
}

/* Seconds per sample of one-thread training steps of model m at batch b. */
static int step_seconds(const model_t *m, size_t b, int reps, double *sps)
{
    mlp_net_spec_t spec;
    mlp_net_t *net = NULL;
    mlp_optim_t *opt = NULL;
    mlp_optim_opts_t oo = {.lr = 0.01f, .kind = MLP_OPTIM_SGD};
    size_t in = 784, out = 10, np;
    float *x = aligned_alloc(64, b * in * sizeof(float));
    float *dl = aligned_alloc(64, b * out * sizeof(float)), *p, *g;
    int32_t *y = malloc(b * sizeof(int32_t));
    double *t = calloc((size_t)reps, sizeof(double));
    int rc = MLP_ENOMEM, steps = (int)(20000 / b) + 2;
    mlp_rng_t r;

    memset(&spec, 0, sizeof(spec));
    spec.in = in;
    spec.out = out;
    spec.nhidden = m->nhidden;
    memcpy(spec.hidden, m->hidden, sizeof(m->hidden));
    spec.act = MLP_ACT_RELU;
    spec.batch_sizes[0] = b;
    spec.nbatch_sizes = 1;
    spec.threads = 1;
    if (x == NULL || dl == NULL || y == NULL || t == NULL)
        goto out;
    mlp_rng_seed(&r, 1, 1);
    for (size_t i = 0; i < b * in; i++)
        x[i] = (float)mlp_rng_uniform(&r);
    for (size_t i = 0; i < b; i++)
        y[i] = (int32_t)(mlp_rng_u64(&r) % out);
    if ((rc = mlp_net_create(&spec, &net)) < 0 ||
        (rc = mlp_net_init(net, 1, 0.01f)) < 0)
        goto out;
    mlp_net_params(net, &p, &g, &np);
    if ((rc = mlp_optim_create(&oo, np, &opt)) < 0)
        goto out;
    for (int k = -1; k < reps; k++) {
        double t0 = mlp_clock_now();

        for (int s = 0; s < (k < 0 ? 3 : steps); s++) {
            const float *logits;
            double loss = 0;
            size_t correct = 0;

            if ((rc = mlp_net_forward(net, x, b, &logits)) < 0)
                goto out;
            mlp_loss_softmax_xent(logits, y, b, out, dl, &loss, &correct);
            if ((rc = mlp_net_backward(net, dl, b)) < 0)
                goto out;
            mlp_optim_step(opt, p, g);
        }
        if (k >= 0)
            t[k] = (mlp_clock_now() - t0) / steps / (double)b;
    }
    *sps = bu_median(t, (size_t)reps, NULL, NULL);
    rc = 0;
out:
    mlp_optim_destroy(opt);
    mlp_net_destroy(net);
    free(x);
    free(dl);
    free(y);
    free(t);
    return rc;
}

static int compute(void)
{
    int reps = bu_repeats(5);
    FILE *csv = bu_open_csv("dist-compute.csv",
                            "model,params,batch,threads,seconds_per_sample");

    if (csv == NULL)
        return 1;
    printf("compute: one thread, batch 256, median of %d runs\n", reps);
    printf("%-18s %10s %16s %12s\n", "model", "params", "us per sample",
           "samples/s");
    for (size_t i = 0; i < NMODELS; i++) {
        double s = 0;

        if (step_seconds(&models[i], 256, reps, &s) < 0)
            return fail(models[i].name);
        printf("%-18s %10zu %16.3f %12.0f\n", models[i].name,
               models[i].nparams, s * 1e6, 1 / s);
        fprintf(csv, "%s,%zu,256,1,%.9g\n", models[i].name, models[i].nparams,
                s);
    }
    return fclose(csv) != 0;
}

/* The fold of model m's gradient: rank 0 prints, CSV row. */
static int fold_model(const model_t *m, FILE *csv, const char *label)
{
    size_t n = m->nparams, first, count;
    int R = mlp_dist_size(), iters = m->iters, any, rc = 1;
    float *buf = malloc((NMICRO + 2) * n * sizeof(float)), *out, *ar;
    const float *parts[NMICRO];
    double *t = malloc((size_t)iters * sizeof(double)), lo, hi, med, local;
    double allred;
    size_t differ = 0;
    mlp_dist_stats_t st;
    mlp_rng_t r;

    if (buf == NULL || t == NULL) {
        mlp_error_set(MLP_ENOMEM, "%zu floats", n);
        goto out;
    }
    out = buf + NMICRO * n;
    ar = out + n;
    mlp_rng_seed(&r, 5, 0);
    for (size_t i = 0; i < NMICRO * n; i++)
        buf[i] = (float)mlp_rng_uniform(&r) - 0.5f;
    for (int k = 0; k < NMICRO; k++)
        parts[k] = buf + (size_t)k * n;
    /* One process folding all the parts: the arithmetic alone. */
    for (int k = -3; k < iters; k++) {
        double t0 = mlp_clock_now();

        mlp_fold(out, 0, parts, NMICRO, 0, n);
        if (k >= 0)
            t[k] = mlp_clock_now() - t0;
    }
    local = bu_median(t, (size_t)iters, NULL, NULL);
    mlp_fold_rank(NMICRO, mlp_dist_rank(), R, &first, &count);
    for (int k = -5; k < iters; k++) {
        double t0;

        if (mlp_dist_any(0, &any) < 0) /* start together */
            goto out;
        if (k == 0)
            mlp_dist_stats_reset();
        t0 = mlp_clock_now();
        if (mlp_dist_fold(out, parts + first, count, n) < 0)
            goto out;
        if (k >= 0)
            t[k] = mlp_clock_now() - t0;
    }
    mlp_dist_stats(&st);
    med = bu_median(t, (size_t)iters, &lo, &hi);
    /* MPI_Allreduce of each rank's own fold, for comparison: time, and
     * how many sums come out with other bits than the ordered fold's. */
    for (int k = -5; k < iters; k++) {
        double t0;

        if (mlp_dist_any(0, &any) < 0)
            goto out;
        t0 = mlp_clock_now();
        if (count > 0)
            mlp_fold(ar, 0, parts + first, count, 0, n);
        else
            memset(ar, 0, n * sizeof(float));
        if (mlp_dist_sum_unordered(ar, n) < 0)
            goto out;
        if (k >= 0)
            t[k] = mlp_clock_now() - t0;
    }
    allred = bu_median(t, (size_t)iters, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        differ += memcmp(&ar[i], &out[i], sizeof(float)) != 0;
    if (mlp_dist_rank() == 0) {
        double bytes = (double)(st.bytes_sent + st.bytes_received) / iters;
        size_t chunk = mlp_dist_chunk(n, R);

        printf("%-17s %8zu %2d %6zu %9.0f %7.3f %7.3f..%-7.3f %6.3f %7.3f "
               "%7zu\n",
               m->name, n, R, chunk, bytes, med * 1e3, lo * 1e3, hi * 1e3,
               local * 1e3, allred * 1e3, differ);
        if (csv != NULL)
            fprintf(csv,
                    "%s,%s,%zu,%d,%zu,%.0f,%.9g,%.9g,%.9g,%.9g,%.9g,%zu\n",
                    label, m->name, n, R, chunk, bytes, med, lo, hi, local,
                    allred, differ);
    }
    rc = 0;
out:
    free(buf);
    free(t);
    return rc ? fail(m->name) : 0;
}

int main(int argc, char **argv)
{
    char name[256];
    FILE *csv = NULL;
    int rc = 0;

    if (argc == 2 && strcmp(argv[1], "--compute") == 0)
        return compute();
    if (argc != 2) {
        fprintf(stderr, "usage: mpirun -np R bench_dist LABEL | "
                        "bench_dist --compute\n");
        return 2;
    }
    if (mlp_dist_init(&argc, &argv) < 0)
        return fail("init");
    if (mlp_dist_rank() == 0) {
        snprintf(name, sizeof(name), "dist-%s.csv", argv[1]);
        csv = bu_open_csv(name, "transport,model,params,ranks,chunk,"
                                "bytes_per_rank,seconds,lo,hi,"
                                "local_fold_seconds,allreduce_seconds,"
                                "allreduce_bits_differ");
        printf("ordered chain fold, %s, %d ranks, %d micro-batch parts "
               "(median, min..max)\n",
               argv[1], mlp_dist_size(), NMICRO);
        printf("%-17s %8s %2s %6s %9s %7s %16s %6s %7s %7s\n", "model",
               "floats", "R", "chunk", "bytes", "ms", "range", "local",
               "allred", "differ");
    }
    for (size_t i = 0; i < NMODELS && rc == 0; i++)
        rc = fold_model(&models[i], csv, argv[1]);
    if (mlp_dist_rank() == 0 && (csv == NULL || fclose(csv) != 0))
        rc = 1;
    if (mlp_dist_finalize() < 0 && rc == 0)
        rc = fail("finalize");
    return rc;
}
