/*
 * bench_gemm: the compute ceiling.  dnnl_sgemm GFLOP/s on a large square
 * product and on the training GEMMs of the default model (784-256-10) at
 * batch 256, for 1 thread and all cores.  The ratio column compares each
 * row with the square product at the same thread count, measured in the
 * same run.
 *
 * Output: a table on stdout and bench/results/gemm.csv.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

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

int main(void)
{
    int reps = bu_repeats(5), cores = mlp_config_ncores();
    int threads[2] = {1, cores};
    const size_t sq = 2048;
    size_t model[3] = {784, 256, 10};
    FILE *csv = bu_open_csv("gemm.csv", "shape,threads,gflops,ratio_to_square");

    if (csv == NULL)
        return 1;
    printf("compute ceiling: dnnl_sgemm, median of %d runs\n", reps);
    printf("%-28s %7s %9s %8s\n", "shape", "threads", "GFLOP/s", "ratio");
    for (int i = 0; i < (cores > 1 ? 2 : 1); i++) {
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
        printf("%-28s %7d %9.1f %8.2f\n", "square 2048", threads[i], sq_gf,
               1.0);
        printf("%-28s %7d %9.1f %8.2f\n", "784-256-10 step, batch 256",
               threads[i], st_gf, st_gf / sq_gf);
        printf("%-28s %7d %9.0f\n", "  = samples/s ceiling", threads[i],
               256.0 / st_s);
        fprintf(csv, "square2048,%d,%.2f,1.0\n", threads[i], sq_gf);
        fprintf(csv, "step784-256-10_b256,%d,%.2f,%.3f\n", threads[i], st_gf,
                st_gf / sq_gf);
    }
    return fclose(csv) == 0 ? 0 : 1;
}
