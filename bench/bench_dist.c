/*
 * bench_dist: the cost of the cross-rank gradient reduction (dist.h) and
 * the compute it is set against, for the scaling estimate in doc/parallel.md.
 *
 *   mpirun -np R bench_dist LABEL   the step's sum across ranks (reduce.h:
 *       fold.h's tree, reduce-scatter then all-gather by messages) of a
 *       gradient of the default model 784-256-10 (203,530 floats) and of
 *       784-1024-1024-10 (1,863,690 floats), 4 micro-batch parts per step
 *       split over the ranks (mlp_fold_rank), one bucket: seconds per step
 *       (median of many, each started together: a stop agreement first),
 *       bytes this rank sent + received, and the tree in one process for
 *       the part that is not communication; against it, MPI_Allreduce of
 *       each rank's own float sum (mlp_dist_sum_unordered: Open MPI's
 *       order, not exact) and the order-independent integer alternative
 *       (fixed_sum: 64-bit fixed point, MPI_Allreduce on int64), each with
 *       its time and how many of its sums differ in bits from the tree's.
 *       Rank 0 prints; bench/results/dist-LABEL.csv.
 *   mpirun -np R bench_dist --step LABEL PRECISIONS   the training step
 *       itself on R ranks (step.h: the buckets, the communication thread,
 *       the overlap with the backward) for bucket sizes 16384, 65536, the
 *       default and "whole layers" (2^30), in f32 and/or bf16: seconds per
 *       step and the share of the reduction hidden behind the compute;
 *       bench/results/dist-step-LABEL.csv.
 *   bench_dist --compute            one process, one compute thread: seconds
 *       per sample of a training step (forward, loss, backward, SGD) of
 *       both models at batch 256: bench/results/dist-compute.csv.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "mlptrain/step.h"
#include "mlptrain/bf16.h"
#include "mlptrain/clock.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/fold.h"
#include "mlptrain/optim.h"
#include "mlptrain/reduce.h"
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
    mlp_optim_opts_t oo = {.lr = 0.01f, .kind = MLP_OPTIM_SGD};
    bu_step_t st = {0};
    double *t = calloc((size_t)reps, sizeof(double));
    int rc = MLP_ENOMEM, steps = (int)(20000 / b) + 2;

    if (t == NULL)
        goto out;
    if ((rc = bu_step_make(&st, m->nhidden, m->hidden, b, 1, 0, 0, &oo)) < 0)
        goto out;
    for (int k = -1; k < reps; k++) {
        double t0 = mlp_clock_now();

        for (int s = 0; s < (k < 0 ? 3 : steps); s++)
            if ((rc = bu_step_run(&st, NULL)) < 0)
                goto out;
        if (k >= 0)
            t[k] = (mlp_clock_now() - t0) / steps / (double)b;
    }
    *sps = bu_median(t, (size_t)reps, NULL, NULL);
    rc = 0;
out:
    bu_step_free(&st);
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

/*
 * The order-independent alternative, as it would run in the step: each
 * rank's own sum (the tree of its parts) converted to 64-bit fixed point
 * at one scale for the whole gradient (2^(62 - e - ceil(log2 R)), e the
 * exponent of the largest |value| on any rank: one MPI_Allreduce MAX of
 * one integer first), summed by MPI_Allreduce on int64 (any order, the
 * same bits), converted back.  Not the float sum: a value 2^38 below the
 * largest keeps fewer bits than a float has (the price of one scale; a
 * ReproBLAS-style binned sum keeps them at 2 to 3 times the bytes).
 */
static int fixed_sum(float *v, int64_t *q, size_t n, int R)
{
    int64_t e = -300;
    int lg = 0, rc;
    float mx = 0.0f;
    double scale;

    for (size_t i = 0; i < n; i++)
        mx = fabsf(v[i]) > mx ? fabsf(v[i]) : mx;
    if (mx > 0.0f)
        e = (int64_t)ilogbf(mx) + 1;
    if ((rc = mlp_dist_max_i64(&e, 1)) < 0)
        return rc;
    while ((1 << lg) < R)
        lg++;
    scale = ldexp(1.0, 62 - (int)e - lg);
    for (size_t i = 0; i < n; i++)
        q[i] = (int64_t)llrint((double)v[i] * scale);
    if ((rc = mlp_dist_sum_i64(q, n)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        v[i] = (float)((double)q[i] / scale);
    return 0;
}

/*
 * Each rank's own parts buf[first .. first + count) summed left to right
 * into ar, then across the ranks by MPI_Allreduce on floats (how 0) or
 * fixed_sum (how 1): *med the median seconds of iters (t: their room);
 * ar holds the last sum.
 */
static int own_then(int how, float *ar, const float *buf, int64_t *q,
                    size_t n, size_t first, size_t count, int iters,
                    double *t, double *med)
{
    int any, rc;

    for (int k = -5; k < iters; k++) {
        double t0;

        memcpy(ar, buf + first * n, n * sizeof(float));
        if ((rc = mlp_dist_any(0, &any)) < 0)
            return rc;
        t0 = mlp_clock_now();
        for (size_t j = 1; j < count; j++)
            for (size_t i = 0; i < n; i++)
                ar[i] += buf[(first + j) * n + i];
        if (count == 0)
            memset(ar, 0, n * sizeof(float));
        if ((rc = how == 0 ? mlp_dist_sum_unordered(ar, n)
                           : fixed_sum(ar, q, n, mlp_dist_size())) < 0)
            return rc;
        if (k >= 0)
            t[k] = mlp_clock_now() - t0;
    }
    *med = bu_median(t, (size_t)iters, NULL, NULL);
    return 0;
}

/* Model m's gradient summed over the ranks: rank 0 prints, CSV row. */
static int fold_model(const model_t *m, FILE *csv, const char *label)
{
    size_t n = m->nparams, first, count, lo = 0, hi = n;
    int R = mlp_dist_size(), iters = m->iters, any, rc = 1;
    float *buf = malloc((2 * NMICRO + 2) * n * sizeof(float)), *out, *ar;
    float *parts[NMICRO];
    int64_t *q = malloc(n * sizeof(int64_t));
    double *t = malloc((size_t)iters * sizeof(double)), tlo, thi, med;
    double local, allred, fixed;
    size_t differ = 0, fdiffer = 0;
    mlp_reduce_t *red = NULL;
    mlp_reduce_opts_t ro;
    mlp_dist_stats_t st;
    mlp_rng_t r;

    if (buf == NULL || t == NULL || q == NULL) {
        mlp_error_set(MLP_ENOMEM, "%zu floats", n);
        goto out;
    }
    out = buf + 2 * NMICRO * n;
    ar = out + n;
    mlp_rng_seed(&r, 5, 0);
    /* gradient-like: both signs, magnitudes over 6 decades */
    for (size_t i = 0; i < NMICRO * n; i++)
        buf[i] = (float)((mlp_rng_uniform(&r) < 0.5 ? -1 : 1) *
                         pow(10.0, 6.0 * mlp_rng_uniform(&r) - 6.0));
    for (int k = 0; k < NMICRO; k++)
        parts[k] = buf + (size_t)(NMICRO + k) * n;
    /* One process summing all the parts in the tree: the arithmetic
     * alone (the reducer's one bucket, one rank). */
    mlp_fold_rank(NMICRO, mlp_dist_rank(), R, &first, &count);
    ro = (mlp_reduce_opts_t){.nflat = n, .nbuckets = 1, .lo = &lo, .hi = &hi,
                             .rank = mlp_dist_rank(), .nranks = R,
                             .max_micro = NMICRO, .max_step_micro = NMICRO};
    if (mlp_reduce_create(&ro, &red) < 0)
        goto out;
    {
        mlp_fold_tree_t tr;
        mlp_fold_op_t ops[2 * NMICRO];
        int freed[2 * NMICRO], id;
        size_t nops = 0, nf = 0;

        mlp_fold_tree_init(&tr, 0);
        for (int k = 0; k < NMICRO; k++)
            mlp_fold_push(&tr, 1, k, ops, &nops, freed, &nf);
        mlp_fold_finish(&tr, -1, ops, &nops, freed, &nf, &id);
        for (int k = -3; k < iters; k++) {
            double t0;

            memcpy(parts[0], buf, NMICRO * n * sizeof(float));
            t0 = mlp_clock_now();
            mlp_fold_run(parts, ops, nops, 0, n);
            if (k >= 0)
                t[k] = mlp_clock_now() - t0;
        }
        local = bu_median(t, (size_t)iters, NULL, NULL);
    }
    /* The step's reducer (reduce.h), one bucket, this rank's block. */
    for (int k = -5; k < iters; k++) {
        double t0;

        memcpy(parts[0], buf, NMICRO * n * sizeof(float));
        if (mlp_dist_any(0, &any) < 0) /* start together */
            goto out;
        if (k == 0)
            mlp_dist_stats_reset();
        t0 = mlp_clock_now();
        if (mlp_reduce_batch(red, NMICRO, parts + first, 1) < 0 ||
            mlp_reduce_bucket(red, 0, NULL, NULL) < 0)
            goto out;
        if (k >= 0)
            t[k] = mlp_clock_now() - t0;
    }
    memcpy(out, mlp_reduce_result(red), n * sizeof(float));
    mlp_dist_stats(&st);
    med = bu_median(t, (size_t)iters, &tlo, &thi);
    /* MPI_Allreduce of each rank's own sum (floats, Open MPI's order),
     * then the exact integer alternative (fixed_sum): times, and how many
     * sums come out with other bits than the tree's. */
    if (own_then(0, ar, buf, q, n, first, count, iters, t, &allred) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        differ += memcmp(&ar[i], &out[i], sizeof(float)) != 0;
    if (own_then(1, ar, buf, q, n, first, count, iters, t, &fixed) < 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        fdiffer += memcmp(&ar[i], &out[i], sizeof(float)) != 0;
    if (mlp_dist_rank() == 0) {
        double bytes = (double)(st.bytes_sent + st.bytes_received) / iters;

        printf("%-17s %8zu %2d %9.0f %7.3f %7.3f..%-7.3f %6.3f %7.3f %7zu "
               "%7.3f %7zu\n",
               m->name, n, R, bytes, med * 1e3, tlo * 1e3, thi * 1e3,
               local * 1e3, allred * 1e3, differ, fixed * 1e3, fdiffer);
        if (csv != NULL)
            fprintf(csv,
                    "%s,%s,%zu,%d,%.0f,%.9g,%.9g,%.9g,%.9g,%.9g,%zu,%.9g,"
                    "%zu\n",
                    label, m->name, n, R, bytes, med, tlo, thi, local,
                    allred, differ, fixed, fdiffer);
    }
    rc = 0;
out:
    mlp_reduce_destroy(red);
    free(buf);
    free(q);
    free(t);
    return rc ? fail(m->name) : 0;
}

/*
 * --step: the training step itself under mpirun (step.h's ranks path, the
 * communication thread, the buckets), model m, batch 256 over the ranks
 * (micro 128: one micro-batch a rank on 2), one compute thread a rank, in
 * f32 or bf16, for bucket sizes of `buckets` floats (0: the default):
 * seconds per step (median), and the reduction's seconds at work and
 * exposed per step (mlp_stepper_stats): hidden = 1 - exposed / at work.
 */
static int step_case(const model_t *m, mlp_precision_t prec, size_t bucket,
                     FILE *csv, const char *label)
{
    enum { B = 256, STEPS = 40 };
    mlp_net_spec_t spec;
    mlp_net_t *net = NULL;
    mlp_optim_t *opt = NULL;
    mlp_stepper_t *st = NULL;
    mlp_optim_opts_t oo = {.lr = 0.01f, .kind = MLP_OPTIM_SGD};
    mlp_step_opts_t so = {.mode = MLP_PAR_BATCH, .threads = 1, .micro = 128,
                          .max_rows = B, .rank = mlp_dist_rank(),
                          .nranks = mlp_dist_size(), .accum = 1,
                          .bucket = bucket};
    size_t in = 784, np;
    float *x = aligned_alloc(64, B * in * sizeof(float)), *p, *g;
    void *xin = NULL;
    int32_t *y = malloc(B * sizeof(int32_t));
    int reps = bu_repeats(5), rc = MLP_ENOMEM, any;
    double *t = calloc((size_t)reps, sizeof(double));
    double *ha = calloc((size_t)reps, sizeof(double));
    double *he = calloc((size_t)reps, sizeof(double));
    mlp_step_stats_t s0, s1;
    mlp_rng_t r;

    memset(&spec, 0, sizeof(spec));
    spec.in = in;
    spec.out = 10;
    spec.nhidden = m->nhidden;
    memcpy(spec.hidden, m->hidden, sizeof(m->hidden));
    spec.act = MLP_ACT_RELU;
    spec.threads = 1;
    spec.precision = prec;
    if (x == NULL || y == NULL || t == NULL || ha == NULL || he == NULL)
        goto out;
    mlp_rng_seed(&r, 1, 1);
    for (size_t i = 0; i < B * in; i++)
        x[i] = (float)mlp_rng_uniform(&r);
    for (size_t i = 0; i < B; i++)
        y[i] = (int32_t)(mlp_rng_u64(&r) % 10);
    xin = x;
    if (prec == MLP_PREC_BF16) {
        if ((xin = aligned_alloc(64, B * in * sizeof(mlp_bf16_t))) == NULL)
            goto out;
        mlp_bf16_from_f32(xin, x, B * in);
    }
    if ((rc = mlp_step_spec_sizes(&spec, B, B, 128)) < 0 ||
        (rc = mlp_net_create(&spec, &net)) < 0 ||
        (rc = mlp_net_init(net, 1, 0.01f)) < 0)
        goto out;
    mlp_net_params(net, &p, &g, &np);
    if ((rc = mlp_optim_create(&oo, np, &opt)) < 0 ||
        (rc = mlp_stepper_create(&so, net, opt, &st)) < 0)
        goto out;
    for (int k = -1; k < reps; k++) {
        double t0;

        if ((rc = mlp_dist_any(0, &any)) < 0) /* start together */
            goto out;
        mlp_stepper_stats(st, &s0);
        t0 = mlp_clock_now();
        for (int i = 0; i < (k < 0 ? 3 : STEPS); i++) {
            double loss = 0;
            size_t correct = 0;

            mlp_stepper_begin(st, B, NULL);
            if ((rc = mlp_stepper_add(st, xin, y, B, &loss, &correct)) < 0 ||
                (rc = mlp_stepper_apply(st, 0.01f)) < 0)
                goto out;
        }
        mlp_stepper_stats(st, &s1);
        if (k >= 0) {
            t[k] = (mlp_clock_now() - t0) / STEPS;
            ha[k] = (s1.seconds - s0.seconds) / STEPS;
            he[k] = (s1.exposed - s0.exposed) / STEPS;
        }
    }
    if (mlp_dist_rank() == 0) {
        double lo, hi, med = bu_median(t, (size_t)reps, &lo, &hi);
        double hid[64], a = 0, e = 0;

        for (int k = 0; k < reps && k < 64; k++) {
            hid[k] = ha[k] > 0 ? 1.0 - he[k] / ha[k] : 0.0;
            a += ha[k];
            e += he[k];
        }
        {
            double hlo, hhi, hmed = bu_median(hid, (size_t)(reps < 64 ? reps : 64),
                                              &hlo, &hhi);

            printf("%-17s %4s %8zu %8.3f %7.3f..%-7.3f %7.3f %7.3f %5.2f "
                   "(%4.2f..%4.2f)\n",
                   m->name, prec == MLP_PREC_BF16 ? "bf16" : "f32",
                   bucket ? bucket : MLP_STEP_BUCKET, med * 1e3, lo * 1e3,
                   hi * 1e3, a / reps * 1e3, e / reps * 1e3, hmed, hlo, hhi);
            if (csv != NULL)
                fprintf(csv, "%s,%s,%s,%d,%zu,%.9g,%.9g,%.9g,%.9g,%.9g,%.4g\n",
                        label, m->name, prec == MLP_PREC_BF16 ? "bf16" : "f32",
                        mlp_dist_size(), bucket ? bucket : MLP_STEP_BUCKET,
                        med, lo, hi, a / reps, e / reps, hmed);
        }
    }
    rc = 0;
out:
    mlp_stepper_destroy(st);
    mlp_optim_destroy(opt);
    mlp_net_destroy(net);
    if (xin != x)
        free(xin);
    free(x);
    free(y);
    free(t);
    free(ha);
    free(he);
    return rc < 0 ? fail(m->name) : 0;
}

static int steps(const char *label, const char *precs)
{
    static const size_t sizes[] = {0, 16384, 65536, 1u << 30};
    char name[256];
    FILE *csv = NULL;
    int rc = 0;

    if (mlp_dist_rank() == 0) {
        snprintf(name, sizeof(name), "dist-step-%s.csv", label);
        csv = bu_open_csv(name, "transport,model,precision,ranks,bucket,"
                                "seconds,lo,hi,reduce_active_s,"
                                "reduce_exposed_s,hidden");
        printf("the step on %d ranks, %s, batch 256, one thread a rank "
               "(per step: median, min..max; the reduction at work and "
               "exposed; hidden = 1 - exposed / at work)\n",
               mlp_dist_size(), label);
        printf("%-17s %4s %8s %8s %16s %7s %7s %s\n", "model", "prec",
               "bucket", "ms", "range", "red ms", "exp ms", "hidden");
    }
    for (size_t i = 0; i < NMODELS && rc == 0; i++)
        for (int pi = 0; pi < 2 && rc == 0; pi++) {
            mlp_precision_t prec = pi ? MLP_PREC_BF16 : MLP_PREC_F32;

            if (strstr(precs, pi ? "bf16" : "f32") == NULL)
                continue;
            for (size_t b = 0; b < sizeof(sizes) / sizeof(sizes[0]) && rc == 0;
                 b++)
                rc = step_case(&models[i], prec, sizes[b], csv, label);
        }
    if (mlp_dist_rank() == 0 && csv != NULL && fclose(csv) != 0)
        rc = 1;
    return rc;
}

int main(int argc, char **argv)
{
    char name[256];
    FILE *csv = NULL;
    int rc = 0;

    if (argc == 2 && strcmp(argv[1], "--compute") == 0)
        return compute();
    if (argc == 4 && strcmp(argv[1], "--step") == 0) {
        if (mlp_dist_init(&argc, &argv) < 0)
            return fail("init");
        rc = steps(argv[2], argv[3]);
        if (mlp_dist_finalize() < 0 && rc == 0)
            rc = fail("finalize");
        return rc;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: mpirun -np R bench_dist LABEL | "
                        "mpirun -np R bench_dist --step LABEL f32,bf16 | "
                        "bench_dist --compute\n");
        return 2;
    }
    if (mlp_dist_init(&argc, &argv) < 0)
        return fail("init");
    if (mlp_dist_rank() == 0) {
        snprintf(name, sizeof(name), "dist-%s.csv", argv[1]);
        csv = bu_open_csv(name, "transport,model,params,ranks,"
                                "bytes_per_rank,seconds,lo,hi,"
                                "local_tree_seconds,allreduce_seconds,"
                                "allreduce_bits_differ,fixed_seconds,"
                                "fixed_bits_differ");
        printf("the tree's sum across ranks (reduce.h), %s, %d ranks, %d "
               "micro-batch parts (median, min..max)\n",
               argv[1], mlp_dist_size(), NMICRO);
        printf("%-17s %8s %2s %9s %7s %16s %6s %7s %7s %7s %7s\n", "model",
               "floats", "R", "bytes", "ms", "range", "local", "allred",
               "differ", "fixed", "differ");
    }
    for (size_t i = 0; i < NMODELS && rc == 0; i++)
        rc = fold_model(&models[i], csv, argv[1]);
    if (mlp_dist_rank() == 0 && (csv == NULL || fclose(csv) != 0))
        rc = 1;
    if (mlp_dist_finalize() < 0 && rc == 0)
        rc = fail("finalize");
    return rc;
}
