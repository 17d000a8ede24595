/*
 * bench_step: the training step alone (no loader): forward, softmax
 * cross-entropy, backward and SGD update of a model on random data, in
 * samples/s and GFLOP/s, against the dnnl_sgemm ceiling of the same GEMMs
 * at the same batch and thread count, measured in the same run; bf16
 * steps (--precision bf16: the update refreshes the bf16 copy of the
 * weights too) against the bf16 ceiling, the same products as bf16 inner
 * products (bench_gemm).
 * `bench_step --one [bf16]` prints only the default model's samples/s at
 * batch 256 (in bf16).
 * The optimizer's pass is also timed on its own (clock around each
 * mlp_optim_step): its share of a step at 784-256-10, batch 256, for SGD
 * and Adam, is printed after the table (the goal: under 5%);
 * `bench_step --optim [THREADS]` prints only that.
 *
 * Output: a table on stdout and bench/results/step.csv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "mlptrain/options.h"
#include "mlptrain/bf16.h"
#include "mlptrain/error.h"
#include "mlptrain/loss.h"
#include "mlptrain/net.h"
#include "mlptrain/optim.h"
#include "mlptrain/rng.h"

typedef struct {
    const char *name;
    size_t nhidden;
    size_t hidden[2];
    size_t batch;
    int plain;
    int bf16;
} step_case_t;

static const step_case_t cases[] = {
    {"784-256-10", 1, {256, 0}, 64, 0, 0},
    {"784-256-10", 1, {256, 0}, 128, 0, 0},
    {"784-256-10", 1, {256, 0}, 256, 0, 0},
    {"784-256-10", 1, {256, 0}, 512, 0, 0},
    {"784-256-10", 1, {256, 0}, 1024, 0, 0},
    {"784-256-10 plain", 1, {256, 0}, 256, 1, 0},
    {"784-1024-10", 1, {1024, 0}, 256, 0, 0},
    {"784-1024-512-10", 2, {1024, 512}, 256, 0, 0},
    {"784-256-10 bf16", 1, {256, 0}, 128, 0, 1},
    {"784-256-10 bf16", 1, {256, 0}, 256, 0, 1},
    {"784-1024-10 bf16", 1, {1024, 0}, 256, 0, 1},
    {"784-1024-10 bf16", 1, {1024, 0}, 512, 0, 1},
};

/* Seconds per step, median over reps timed runs of `steps` steps, with
 * optimizer `kind`; *optim_share (may be NULL) gets the median share of
 * the step spent in the optimizer's pass. */
static int time_steps(const step_case_t *c, int threads, int reps,
                      mlp_optim_kind_t kind, double *med, double *lo,
                      double *hi, double *optim_share)
{
    mlp_net_spec_t spec;
    mlp_net_t *net = NULL;
    mlp_optim_t *opt = NULL;
    mlp_optim_opts_t oo = {.lr = 0.01f, .kind = kind, .beta1 = 0.9f,
                           .beta2 = 0.999f, .eps = 1e-8f};
    size_t in = 784, out = 10, b = c->batch, np;
    float *x = NULL, *dl = NULL, *p, *g;
    mlp_bf16_t *xh = NULL;
    int32_t *y = NULL;
    double *t = calloc((size_t)reps, sizeof(double));
    double *share = calloc((size_t)reps, sizeof(double));
    int rc = MLP_ENOMEM, steps;
    mlp_rng_t r;

    memset(&spec, 0, sizeof(spec));
    spec.in = in;
    spec.out = out;
    spec.nhidden = c->nhidden;
    memcpy(spec.hidden, c->hidden, sizeof(c->hidden));
    spec.act = MLP_ACT_RELU;
    spec.batch_sizes[0] = b;
    spec.nbatch_sizes = 1;
    spec.threads = threads;
    spec.plain_weights = c->plain;
    spec.precision = c->bf16 ? MLP_PREC_BF16 : MLP_PREC_F32;
    x = aligned_alloc(64, b * in * sizeof(float));
    xh = aligned_alloc(64, b * in * sizeof(mlp_bf16_t));
    dl = aligned_alloc(64, b * out * sizeof(float));
    y = malloc(b * sizeof(int32_t));
    if (t == NULL || share == NULL || x == NULL || dl == NULL || y == NULL ||
        xh == NULL)
        goto out;
    mlp_rng_seed(&r, 1, 1);
    for (size_t i = 0; i < b * in; i++)
        x[i] = (float)mlp_rng_uniform(&r);
    for (size_t i = 0; i < b; i++)
        y[i] = (int32_t)(mlp_rng_u64(&r) % out);
    mlp_bf16_from_f32(xh, x, b * in);
    if ((rc = mlp_net_create(&spec, &net)) < 0 ||
        (rc = mlp_net_init(net, 1, 0.01f)) < 0)
        goto out;
    mlp_net_params(net, &p, &g, &np);
    if ((rc = mlp_optim_create(&oo, np, &opt)) < 0)
        goto out;
    /* about 0.2 s of work per timed run at 200k samples/s */
    steps = (int)(40000 / b) + 5;
    for (int k = -1; k < reps; k++) {
        double t0 = mlp_clock_now(), t_opt = 0;
        for (int s = 0; s < (k < 0 ? 10 : steps); s++) {
            const float *logits;
            double loss = 0;
            size_t correct = 0;
            if ((rc = mlp_net_forward(net, c->bf16 ? (const void *)xh
                                                    : (const void *)x,
                                      b, &logits)) < 0)
                goto out;
            mlp_loss_softmax_xent(logits, y, b, out, dl, &loss, &correct);
            if ((rc = mlp_net_backward(net, dl, b)) < 0)
                goto out;
            {
                double t1 = mlp_clock_now();

                mlp_optim_step(opt, p, g);
                mlp_net_params_changed(net, 0, np); /* bf16's copy */
                t_opt += mlp_clock_now() - t1;
            }
        }
        if (k >= 0) {
            t[k] = (mlp_clock_now() - t0) / steps;
            share[k] = t_opt / steps / t[k];
        }
    }
    *med = bu_median(t, (size_t)reps, lo, hi);
    if (optim_share != NULL) {
        double slo, shi;

        *optim_share = bu_median(share, (size_t)reps, &slo, &shi);
    }
    rc = 0;
out:
    mlp_optim_destroy(opt);
    mlp_net_destroy(net);
    free(x);
    free(xh);
    free(dl);
    free(y);
    free(t);
    free(share);
    return rc;
}

/* The optimizer's share of a 784-256-10 step at batch 256, SGD and Adam. */
static int optim_shares(int threads, int reps)
{
    static const mlp_optim_kind_t kinds[] = {MLP_OPTIM_SGD, MLP_OPTIM_ADAM};

    printf("optimizer pass, %s batch %zu, %d threads, median of %d runs "
           "(goal: under 5%% of a step)\n",
           cases[2].name, cases[2].batch, threads, reps);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        double med, lo, hi, share;

        if (time_steps(&cases[2], threads, reps, kinds[i], &med, &lo, &hi,
                       &share) < 0) {
            fprintf(stderr, "bench_step: %s\n", mlp_error_message());
            return -1;
        }
        printf("%-6s step %7.1f us  optimizer %6.1f us  share %5.1f%%\n",
               mlp_optim_names[kinds[i]], med * 1e6, med * share * 1e6,
               100.0 * share);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int reps = bu_repeats(5), threads = mlp_config_ncores();
    FILE *csv;

    /* `bench_step --one`: samples/s of the default step only (3 runs), the
     * baseline the end-to-end benchmark measures beside each of its runs. */
    if (argc >= 2 && strcmp(argv[1], "--one") == 0) {
        /* --one bf16: the same in bf16 */
        const step_case_t *c = argc == 3 && strcmp(argv[2], "bf16") == 0
                                   ? &cases[9]
                                   : &cases[2];
        double med, lo, hi;

        if (time_steps(c, threads, 3, MLP_OPTIM_SGD, &med, &lo, &hi,
                       NULL) < 0) {
            fprintf(stderr, "bench_step: %s\n", mlp_error_message());
            return 1;
        }
        printf("%.0f\n", (double)c->batch / med);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--optim") == 0) {
        if (argc == 3)
            threads = atoi(argv[2]);
        return optim_shares(threads, reps) < 0 ? 1 : 0;
    }
    csv = bu_open_csv("step.csv",
                            "model,batch,threads,samples_per_s,lo,hi,gflops,"
                            "ceiling_samples_per_s,ratio_to_ceiling");

    if (csv == NULL)
        return 1;
    printf("training step alone, %d threads, median of %d runs (min..max)\n",
           threads, reps);
    printf("%-18s %5s %10s %19s %8s %10s %6s\n", "model", "batch",
           "samples/s", "range", "GFLOP/s", "ceiling", "ratio");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const step_case_t *c = &cases[i];
        size_t widths[4] = {784, c->hidden[0], c->hidden[1], 10};
        size_t nl = c->nhidden + 1;
        double med = 0, lo = 0, hi = 0, ceil_s, flops;

        widths[nl] = 10;
        if (time_steps(c, threads, reps, MLP_OPTIM_SGD, &med, &lo, &hi,
                       NULL) < 0) {
            fprintf(stderr, "bench_step: %s\n", mlp_error_message());
            return 1;
        }
        ceil_s = c->bf16 ? bu_ip_step_seconds(widths, nl, c->batch, 1, 20, NULL)
                         : bu_sgemm_step_seconds(widths, nl, c->batch, 20);
        flops = bu_step_flops(widths, nl, c->batch);
        printf("%-18s %5zu %10.0f %9.0f..%-9.0f %8.1f %10.0f %6.2f\n",
               c->name, c->batch, c->batch / med, c->batch / hi,
               c->batch / lo, flops / med * 1e-9, c->batch / ceil_s,
               ceil_s / med);
        fprintf(csv, "%s,%zu,%d,%.0f,%.0f,%.0f,%.2f,%.0f,%.3f\n", c->name,
                c->batch, threads, c->batch / med, c->batch / hi,
                c->batch / lo, flops / med * 1e-9, c->batch / ceil_s,
                ceil_s / med);
    }
    printf("(ceiling: dnnl_sgemm of the same GEMMs; bf16 rows: the same "
           "products as bf16 inner products)\n");
    if (fclose(csv) != 0)
        return 1;
    return optim_shares(threads, reps) < 0 ? 1 : 0;
}
