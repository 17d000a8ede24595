/*
 * bench_loader: the loader alone.  Decoded samples/s of a 60000 x 784
 * random dataset, batch 256, shuffled, with a consumer that only touches
 * each batch, for -j 0, 1, 2, 4 and 20; the ratio column is to -j 0 (the
 * trainer thread decoding itself) measured in the same run.  Also the CPU
 * seconds per sample, which is what decoding costs the compute threads.
 * Then the cost of --augment: nanoseconds per sample of decoding on one
 * thread (-j 0) without and with shift=2,flip, and their ratio, in the
 * same run; and the same decoding into bf16 (--precision bf16).
 *
 * Output: tables on stdout, bench/results/loader.csv and
 * bench/results/loader_augment.csv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "benchutil.h"
#include "mlptrain/error.h"
#include "mlptrain/loader.h"
#include "mlptrain/rng.h"

static double cpu_seconds(void)
{
    struct rusage u;

    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

/* Median ns per sample of decoding the whole split on the consumer's
 * thread (-j 0), over reps epochs, with augmentation a. */
static double decode_ns(const mlp_split_t *split, const mlp_augment_t *a,
                        int bf16, int reps, double *lo, double *hi,
                        double *sink)
{
    mlp_loader_opts_t o = {0};
    mlp_loader_t *ld;
    mlp_batch_t b;
    double *t = calloc((size_t)reps, sizeof(double)), med;

    o.train = split;
    o.batch = 256;
    o.first_epoch = 1;
    o.epochs = (unsigned)reps;
    o.seed = 1;
    o.shuffle = 1;
    o.augment = *a;
    o.bf16 = bf16;
    o.rows = 28;
    o.cols = 28;
    if (t == NULL || mlp_loader_create(&o, &ld) < 0)
        return -1.0;
    for (int e = 0; e < reps; e++) {
        double t0 = mlp_clock_now();
        size_t rows = 0;

        while (rows < split->n && mlp_loader_next(ld, &b) == 0) {
            for (size_t i = 0; i < b.n; i++)
                *sink += bf16 ? (double)b.xh[i * split->dim + (i % split->dim)]
                              : b.x[i * split->dim + (i % split->dim)];
            rows += b.n;
            mlp_loader_release(ld, &b);
        }
        t[e] = (mlp_clock_now() - t0) * 1e9 / (double)split->n;
    }
    med = bu_median(t, (size_t)reps, lo, hi);
    mlp_loader_destroy(ld);
    free(t);
    return med;
}

/* Decoding with and without --augment shift=2,flip, in the same run. */
static int bench_augment(const mlp_split_t *split, int reps, double *sink)
{
    static const struct {
        const char *name;
        mlp_augment_t a;
        int bf16;
    } cases[] = {{"none", {0, 0}, 0},         {"shift=2,flip", {2, 1}, 0},
                 {"shift=2", {2, 0}, 0},      {"flip", {0, 1}, 0},
                 {"none, bf16", {0, 0}, 1},   {"shift=2,flip, bf16", {2, 1}, 1}};
    FILE *csv = bu_open_csv("loader_augment.csv",
                            "augment,ns_per_sample,lo,hi,ratio_to_none");
    double base = 0.0;

    if (csv == NULL)
        return 1;
    printf("\naugmentation: decoding on one thread (-j 0), median of %d "
           "epochs\n", reps);
    printf("%-19s %10s %19s %6s\n", "augment", "ns/sample", "range",
           "ratio");
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        double lo, hi, ns = decode_ns(split, &cases[c].a, cases[c].bf16,
                                      reps, &lo, &hi, sink);

        if (ns < 0.0) {
            fprintf(stderr, "bench_loader: %s\n", mlp_error_message());
            fclose(csv);
            return 1;
        }
        if (c == 0)
            base = ns;
        printf("%-19s %10.1f %9.1f..%-9.1f %6.2f\n", cases[c].name, ns, lo,
               hi, ns / base);
        fprintf(csv, "%s,%.1f,%.1f,%.1f,%.3f\n", cases[c].name, ns, lo, hi,
                ns / base);
    }
    return fclose(csv) != 0;
}

int main(void)
{
    static const unsigned workers[] = {0, 1, 2, 4, 20};
    const size_t n = 60000, dim = 784;
    int reps = bu_repeats(5);
    uint8_t *img = malloc(n * dim), *lab = malloc(n);
    double base = 0.0, sink = 0.0;
    mlp_split_t split = {.n = n, .dim = dim, .images = img, .labels = lab};
    mlp_rng_t r;
    FILE *csv = bu_open_csv("loader.csv", "workers,slots,samples_per_s,lo,hi,"
                                          "cpu_us_per_sample,ratio_to_j0");

    if (img == NULL || lab == NULL || csv == NULL)
        return 1;
    mlp_rng_seed(&r, 1, 2);
    for (size_t i = 0; i < n * dim; i++)
        img[i] = (uint8_t)mlp_rng_u64(&r);
    for (size_t i = 0; i < n; i++)
        lab[i] = (uint8_t)(mlp_rng_u64(&r) % 10);
    printf("loader alone: 60000 x 784, batch 256, median of %d epochs\n", reps);
    printf("%7s %5s %12s %23s %12s %6s\n", "workers", "slots", "samples/s",
           "range", "cpu us/sample", "ratio");
    for (size_t w = 0; w < sizeof(workers) / sizeof(workers[0]); w++) {
        mlp_loader_opts_t o = {0};
        mlp_loader_t *ld;
        mlp_batch_t b;
        double *t = calloc((size_t)reps, sizeof(double)), med, lo, hi;
        double c0, cpu;
        int rc;

        o.train = &split;
        o.batch = 256;
        o.first_epoch = 1;
        o.epochs = (unsigned)reps;
        o.seed = 1;
        o.shuffle = 1;
        o.workers = workers[w];
        if (t == NULL || mlp_loader_create(&o, &ld) < 0) {
            fprintf(stderr, "bench_loader: %s\n", mlp_error_message());
            return 1;
        }
        c0 = cpu_seconds();
        for (int e = 0; e < reps; e++) {
            double t0 = mlp_clock_now();
            size_t rows = 0;
            while (rows < n && (rc = mlp_loader_next(ld, &b)) == 0) {
                for (size_t i = 0; i < b.n; i++)
                    sink += b.x[i * dim + (i % dim)] + b.y[i];
                rows += b.n;
                mlp_loader_release(ld, &b);
            }
            t[e] = (double)n / (mlp_clock_now() - t0);
        }
        cpu = (cpu_seconds() - c0) / ((double)n * reps) * 1e6;
        med = bu_median(t, (size_t)reps, &lo, &hi);
        if (w == 0)
            base = med;
        printf("%7u %5zu %12.0f %11.0f..%-11.0f %12.2f %6.2f\n", workers[w],
               mlp_loader_slots(ld), med, lo, hi, cpu, med / base);
        fprintf(csv, "%u,%zu,%.0f,%.0f,%.0f,%.3f,%.3f\n", workers[w],
                mlp_loader_slots(ld), med, lo, hi, cpu, med / base);
        mlp_loader_destroy(ld);
        free(t);
    }
    if (fclose(csv) != 0 || bench_augment(&split, reps, &sink) != 0)
        return 1;
    free(img);
    free(lab);
    return sink == -1.0;
}
