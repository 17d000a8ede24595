/*
 * bench_load: loading a dataset directory (--data DIR: its four IDX
 * files through dataset.h), against the floor of reading the same files'
 * bytes with zlib alone (gzread of each file, whole, into one buffer, as
 * gunzip would), measured in the same run: the ratio is what parsing,
 * checking, checksums and the copies into the dataset add to the
 * inflating itself.
 *
 * Cases: the directory as it is (Fashion-MNIST ships .gz files), a plain
 * (gunzipped) copy of it in $TMPDIR, and the .gz files with
 * --limit-train 1000 (images inflated only as far as the limit; the
 * floor is still the whole files).
 *
 *   bench_load [DIR]           the table, and bench/results/load.csv
 *   bench_load --once DIR [N]  load DIR once (limit N) and exit, for
 *                              whole-process timers
 *
 * DIR defaults to $MLPTRAIN_DATA, else /usr/share/datasets/fashion-mnist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "benchutil.h"
#include "mlptrain/dataset.h"
#include "mlptrain/error.h"

static const char *const names[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* dir/name, or dir/name.gz when the plain name is absent. */
static void file_in(const char *dir, int i, char *path, size_t n)
{
    snprintf(path, n, "%s/%s", dir, names[i]);
    if (access(path, R_OK) != 0)
        snprintf(path, n, "%s/%s.gz", dir, names[i]);
}

/* The floor: every file's bytes (inflated when gzip) read by zlib into
 * one buffer.  Returns the bytes, or 0 on error. */
static size_t read_floor(const char *dir, uint8_t *buf, size_t cap)
{
    size_t total = 0;

    for (int i = 0; i < 4; i++) {
        char path[4200];
        gzFile f;
        int got;

        file_in(dir, i, path, sizeof(path));
        if ((f = gzopen(path, "rb")) == NULL)
            return 0;
        gzbuffer(f, 1 << 17);
        while (total < cap &&
               (got = gzread(f, buf + total,
                             (unsigned)(cap - total < (1u << 30)
                                            ? cap - total : 1u << 30))) > 0)
            total += (size_t)got;
        gzclose(f);
    }
    return total;
}

static double load_once(const char *dir, size_t limit, double *sink)
{
    mlp_dataset_t *ds;
    double t0 = mlp_clock_now(), t;

    if (mlp_dataset_load(dir, limit, 0, &ds) != 0) {
        fprintf(stderr, "bench_load: %s\n", mlp_error_message());
        return -1.0;
    }
    t = mlp_clock_now() - t0;
    *sink += ds->train.images[ds->train.n * ds->train.dim / 2] +
             ds->test.labels[ds->test.n - 1];
    mlp_dataset_destroy(ds);
    return t;
}

/* A plain copy of dir's files in a new temporary directory. */
static char *plain_copy(const char *src)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = malloc(4096);
    uint8_t *buf = malloc((size_t)64 << 20);

    if (dir == NULL || buf == NULL)
        return NULL;
    snprintf(dir, 4096, "%s/mlp-bench-load-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        return NULL;
    for (int i = 0; i < 4; i++) {
        char in[4200], out[4200];
        gzFile f;
        FILE *o;
        int got;

        file_in(src, i, in, sizeof(in));
        snprintf(out, sizeof(out), "%s/%s", dir, names[i]);
        if ((f = gzopen(in, "rb")) == NULL || (o = fopen(out, "wb")) == NULL)
            return NULL;
        while ((got = gzread(f, buf, (unsigned)64 << 20)) > 0)
            fwrite(buf, 1, (size_t)got, o);
        gzclose(f);
        if (fclose(o) != 0)
            return NULL;
    }
    free(buf);
    return dir;
}

static void remove_copy(const char *dir)
{
    for (int i = 0; i < 4; i++) {
        char p[4200];

        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    const char *env = getenv("MLPTRAIN_DATA");
    const char *dir = env && *env ? env : "/usr/share/datasets/fashion-mnist";
    int reps = bu_repeats(7);
    size_t cap = (size_t)256 << 20;
    uint8_t *buf;
    char *plain;
    double sink = 0.0;
    FILE *csv;
    struct {
        const char *name;
        const char *dir;
        size_t limit;
    } cases[3];

    if (argc >= 3 && strcmp(argv[1], "--once") == 0)
        return load_once(argv[2], argc > 3 ? strtoul(argv[3], NULL, 10) : 0,
                         &sink) < 0.0;
    if (argc > 1)
        dir = argv[1];
    if ((buf = malloc(cap)) == NULL || (plain = plain_copy(dir)) == NULL) {
        fprintf(stderr, "bench_load: cannot copy %s\n", dir);
        return 1;
    }
    cases[0].name = "as installed";
    cases[0].dir = dir;
    cases[0].limit = 0;
    cases[1].name = "plain copy";
    cases[1].dir = plain;
    cases[1].limit = 0;
    cases[2].name = "limit 1000";
    cases[2].dir = dir;
    cases[2].limit = 1000;
    if ((csv = bu_open_csv("load.csv", "case,load_s,lo,hi,floor_s,"
                                       "ratio_to_floor")) == NULL)
        return 1;
    printf("loading %s (--data), median of %d; floor: zlib reading the "
           "same files whole\n", dir, reps);
    printf("%-13s %9s %19s %9s %6s\n", "case", "load s", "range", "floor s",
           "ratio");
    for (int c = 0; c < 3; c++) {
        double *t = calloc((size_t)reps, sizeof(double));
        double *f = calloc((size_t)reps, sizeof(double));
        double lo, hi, flo, fhi, med, fmed;

        if (t == NULL || f == NULL)
            return 1;
        /* interleaved: the floor, then the load, rep by rep */
        for (int r = 0; r < reps; r++) {
            double t0 = mlp_clock_now();

            if (read_floor(cases[c].dir, buf, cap) == 0)
                return 1;
            f[r] = mlp_clock_now() - t0;
            if ((t[r] = load_once(cases[c].dir, cases[c].limit, &sink)) < 0)
                return 1;
        }
        med = bu_median(t, (size_t)reps, &lo, &hi);
        fmed = bu_median(f, (size_t)reps, &flo, &fhi);
        printf("%-13s %9.3f %9.3f..%-9.3f %9.3f %6.2f\n", cases[c].name, med,
               lo, hi, fmed, med / fmed);
        fprintf(csv, "%s,%.4f,%.4f,%.4f,%.4f,%.3f\n", cases[c].name, med, lo,
                hi, fmed, med / fmed);
        free(t);
        free(f);
    }
    remove_copy(plain);
    free(plain);
    free(buf);
    return fclose(csv) != 0 || sink == -1.0;
}
