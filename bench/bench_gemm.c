/*
 * bench_gemm: the compute ceiling.  dnnl_sgemm GFLOP/s on a large square
 * product and on the training GEMMs of the default model (784-256-10) at
 * batch 256, for 1 thread and all cores; then the bf16 ceiling: the same
 * products, and those of 784-1024-10, as oneDNN bf16 inner products (bf16
 * operands, f32 weight gradients: what a --precision bf16 step runs), with
 * the f32 inner products beside them for the speed-up of the products
 * alone.  The ratio column compares each row with the square product at
 * the same thread count, measured in the same run.
 *
 * `bench_gemm --ceiling f32|bf16 HIDDEN BATCH [THREADS]` prints only the
 * samples/s ceiling of 784-HIDDEN-10 at that batch (the inner products;
 * THREADS: all cores; the fastest of 30 passes, a ceiling, where a
 * neighbour's load only ever slows a pass down), the baseline `make
 * bench` and bench/goals.sh measure end-to-end runs against.
 *
 * Output: a table on stdout and bench/results/gemm.csv.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "benchutil.h"
#include "mlptrain/options.h"

static double square_seconds(size_t n, int reps)
{
    float *a = calloc(n * n, sizeof(float)), *b = calloc(n * n, sizeof(float));
    float *c = calloc(n * n, sizeof(float));
    double *t = calloc((size_t)reps, sizeof(double)), med = -1.0;

    if (a == NULL || b == NULL || c == NULL || t == NULL)
        goto out;
    for (size_t i = 0; i < n * n; i++)
        a[i] = b[i] = (float)(i % 13) * 0.01f;
    for (int r = -1; r < reps; r++) {
        double t0 = mlp_clock_now();
        dnnl_dim_t N = (dnnl_dim_t)n;
        if (dnnl_sgemm('N', 'N', N, N, N, 1.0f, a, N, b, N, 0.0f, c, N) !=
            dnnl_success)
            goto out;
        if (r >= 0)
            t[r] = mlp_clock_now() - t0;
    }
    med = bu_median(t, (size_t)reps, NULL, NULL);
out:
    free(a);
    free(b);
    free(c);
    free(t);
    return med;
}

/* --ceiling f32|bf16 HIDDEN BATCH [THREADS]: samples/s, one number. */
static int ceiling_only(int argc, char **argv)
{
    size_t model[3] = {784, 0, 10}, b;
    int bf16 = strcmp(argv[2], "bf16") == 0, threads = mlp_config_ncores();
    double s;

    if ((!bf16 && strcmp(argv[2], "f32") != 0) || argc < 5 ||
        (model[1] = (size_t)atol(argv[3])) == 0 ||
        (b = (size_t)atol(argv[4])) == 0) {
        fprintf(stderr, "usage: bench_gemm --ceiling f32|bf16 HIDDEN BATCH "
                        "[THREADS]\n");
        return 2;
    }
    if (argc > 5 && atoi(argv[5]) > 0)
        threads = atoi(argv[5]);
    omp_set_num_threads(threads);
    if (bu_ip_step_seconds(model, 2, b, bf16, 30, &s) <= 0) {
        fprintf(stderr, "bench_gemm: %s inner products failed (no bf16 "
                        "here?)\n", argv[2]);
        return 1;
    }
    printf("%.0f\n", (double)b / s);
    return 0;
}

int main(int argc, char **argv)
{
    int reps = bu_repeats(5), cores = mlp_config_ncores();
    int threads[2] = {1, cores};
    const size_t sq = 2048;
    size_t model[3] = {784, 256, 10}, wide[3] = {784, 1024, 10};
    FILE *csv;

    if (argc >= 2 && strcmp(argv[1], "--ceiling") == 0)
        return argc >= 5 ? ceiling_only(argc, argv)
                         : (fprintf(stderr, "usage: bench_gemm --ceiling "
                                            "f32|bf16 HIDDEN BATCH "
                                            "[THREADS]\n"), 2);
    csv = bu_open_csv("gemm.csv", "shape,threads,gflops,ratio_to_square,"
                                  "samples_per_s");
    if (csv == NULL)
        return 1;
    printf("compute ceiling: dnnl_sgemm and inner products, median of %d "
           "runs\n", reps);
    printf("%-36s %7s %9s %8s %10s\n", "shape", "threads", "GFLOP/s", "ratio",
           "samples/s");
    for (int i = 0; i < (cores > 1 ? 2 : 1); i++) {
        static const struct {
            const char *name, *key;
            int wide, bf16;
        } ip[] = {
            {"784-256-10 f32 products, b256", "ip_f32_784-256-10_b256", 0, 0},
            {"784-256-10 bf16 products, b256", "ip_bf16_784-256-10_b256", 0,
             1},
            {"784-1024-10 f32 products, b256", "ip_f32_784-1024-10_b256", 1,
             0},
            {"784-1024-10 bf16 products, b256", "ip_bf16_784-1024-10_b256", 1,
             1},
        };
        double sq_s, sq_gf, st_s, st_gf;

        omp_set_num_threads(threads[i]);
        sq_s = square_seconds(sq, reps);
        st_s = bu_sgemm_step_seconds(model, 2, 256, reps * 20);
        if (sq_s <= 0 || st_s <= 0) {
            fprintf(stderr, "bench_gemm: dnnl_sgemm failed\n");
            return 1;
        }
        sq_gf = 2.0 * (double)sq * sq * sq / sq_s * 1e-9;
        st_gf = bu_step_flops(model, 2, 256) / st_s * 1e-9;
        printf("%-36s %7d %9.1f %8.2f\n", "square 2048", threads[i], sq_gf,
               1.0);
        printf("%-36s %7d %9.1f %8.2f %10.0f\n", "784-256-10 step, batch 256",
               threads[i], st_gf, st_gf / sq_gf, 256.0 / st_s);
        fprintf(csv, "square2048,%d,%.2f,1.0,\n", threads[i], sq_gf);
        fprintf(csv, "step784-256-10_b256,%d,%.2f,%.3f,%.0f\n", threads[i],
                st_gf, st_gf / sq_gf, 256.0 / st_s);
        for (size_t k = 0; k < sizeof(ip) / sizeof(ip[0]); k++) {
            const size_t *w = ip[k].wide ? wide : model;
            double s = bu_ip_step_seconds(w, 2, 256, ip[k].bf16, reps * 4,
                                          NULL);
            double gf = bu_step_flops(w, 2, 256) / s * 1e-9;

            if (s <= 0) {
                printf("%-36s %7d  (no bf16 inner products here)\n",
                       ip[k].name, threads[i]);
                continue;
            }
            printf("%-36s %7d %9.1f %8.2f %10.0f\n", ip[k].name, threads[i],
                   gf, gf / sq_gf, 256.0 / s);
            fprintf(csv, "%s,%d,%.2f,%.3f,%.0f\n", ip[k].key, threads[i], gf,
                    gf / sq_gf, 256.0 / s);
        }
    }
    printf("(ratio: to the square f32 product at the same threads; bf16 "
           "products: bf16 operands, f32 weight gradients)\n");
    return fclose(csv) == 0 ? 0 : 1;
}
