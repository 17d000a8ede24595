/*
 * benchutil: see benchutil.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <oneapi/dnnl/dnnl.h>

#include "benchutil.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

double bu_median(double *v, size_t n, double *lo, double *hi)
{
    qsort(v, n, sizeof(*v), cmp_double);
    if (lo != NULL)
        *lo = v[0];
    if (hi != NULL)
        *hi = v[n - 1];
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int bu_repeats(int dflt)
{
    const char *s = getenv("BENCH_REPEATS");
    int n = s != NULL ? atoi(s) : 0;

    return n > 0 ? n : dflt;
}

FILE *bu_open_csv(const char *name, const char *header)
{
    const char *dir = getenv("BENCH_RESULTS");
    char path[4096];
    FILE *f;

    if (dir == NULL || dir[0] == '\0')
        dir = "bench/results";
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "bench: cannot create '%s': %s\n", dir,
                strerror(errno));
        return NULL;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "bench: cannot open '%s': %s\n", path,
                strerror(errno));
        return NULL;
    }
    fprintf(f, "%s\n", header);
    return f;
}

double bu_step_flops(const size_t *widths, size_t nlayers, size_t b)
{
    double f = 0.0;

    for (size_t l = 0; l < nlayers; l++) {
        double mn = (double)widths[l] * (double)widths[l + 1];
        f += 2.0 * (double)b * mn * (l > 0 ? 3.0 : 2.0);
    }
    return f;
}

double bu_sgemm_step_seconds(const size_t *widths, size_t nlayers, size_t b,
                             int reps)
{
    size_t maxw = 0, nb = 0;
    float *act = NULL, *w = NULL, *d = NULL, *dx = NULL;
    double *t = NULL, best = -1.0;

    for (size_t l = 0; l <= nlayers; l++)
        maxw = widths[l] > maxw ? widths[l] : maxw;
    nb = b * maxw;
    act = calloc(nb, sizeof(float));
    d = calloc(nb, sizeof(float));
    dx = calloc(nb > maxw * maxw ? nb : maxw * maxw, sizeof(float));
    w = calloc(maxw * maxw, sizeof(float));
    t = calloc((size_t)reps, sizeof(double));
    if (act == NULL || d == NULL || dx == NULL || w == NULL || t == NULL)
        goto out;
    for (size_t i = 0; i < nb; i++)
        act[i] = d[i] = (float)(i % 17) * 0.01f;
    for (int r = -2; r < reps; r++) { /* two warm-up passes */
        double t0 = mlp_clock_now();
        for (size_t l = 0; l < nlayers; l++) {
            dnnl_dim_t in = (dnnl_dim_t)widths[l], o = (dnnl_dim_t)widths[l + 1];
            dnnl_dim_t B = (dnnl_dim_t)b;
            /* forward: Y (b, o) = X (b, in) * W^T, W (o, in) */
            if (dnnl_sgemm('N', 'T', B, o, in, 1.0f, act, in, w, in, 0.0f, d,
                           o) != dnnl_success)
                goto out;
            /* backward-weights: dW (o, in) = dY^T (o, b) * X (b, in) */
            if (dnnl_sgemm('T', 'N', o, in, B, 1.0f, d, o, act, in, 0.0f, dx,
                           in) != dnnl_success)
                goto out;
            /* backward-data: dX (b, in) = dY (b, o) * W (o, in) */
            if (l > 0 && dnnl_sgemm('N', 'N', B, in, o, 1.0f, d, o, w, in,
                                    0.0f, dx, in) != dnnl_success)
                goto out;
        }
        if (r >= 0)
            t[r] = mlp_clock_now() - t0;
    }
    best = bu_median(t, (size_t)reps, NULL, NULL);
out:
    free(act);
    free(d);
    free(dx);
    free(w);
    free(t);
    return best;
}
