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

/* One inner product's three primitives (forward, backward-data when
 * bwd_data, backward-weights) for batch b, in -> out, operands of type
 * dt, weight gradients f32. */
typedef struct {
    dnnl_primitive_t p[3];
    int nargs[3];
    dnnl_exec_arg_t args[3][4];
    dnnl_memory_t mem[7];
} ip_t;

static void ip_free(ip_t *ip)
{
    for (int i = 0; i < 3; i++)
        dnnl_primitive_destroy(ip->p[i]);
    for (int i = 0; i < 7; i++)
        dnnl_memory_destroy(ip->mem[i]);
}

static int ip_make(ip_t *ip, dnnl_engine_t e, size_t b, size_t in,
                   size_t out, dnnl_data_type_t dt, int bwd_data)
{
    dnnl_memory_desc_t src, w, dst, dw;
    dnnl_dims_t sd = {(dnnl_dim_t)b, (dnnl_dim_t)in},
                wd = {(dnnl_dim_t)out, (dnnl_dim_t)in},
                dd = {(dnnl_dim_t)b, (dnnl_dim_t)out};
    dnnl_inner_product_desc_t d;
    dnnl_primitive_desc_t pd[3] = {NULL, NULL, NULL};
    int ok = 0;

    memset(ip, 0, sizeof(*ip));
    if (dnnl_memory_desc_init_by_tag(&src, 2, sd, dt, dnnl_nc) ||
        dnnl_memory_desc_init_by_tag(&w, 2, wd, dt, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&dst, 2, dd, dt, dnnl_nc) ||
        dnnl_memory_desc_init_by_tag(&dw, 2, wd, dnnl_f32,
                                     dnnl_format_tag_any) ||
        dnnl_inner_product_forward_desc_init(&d, dnnl_forward_training, &src,
                                             &w, NULL, &dst) ||
        dnnl_primitive_desc_create(&pd[0], &d, NULL, e, NULL))
        goto out;
    w = *dnnl_primitive_desc_query_md(pd[0], dnnl_query_weights_md, 0);
    if (dnnl_inner_product_backward_weights_desc_init(&d, &src, &dw, NULL,
                                                      &dst) ||
        dnnl_primitive_desc_create(&pd[1], &d, NULL, e, pd[0]))
        goto out;
    dw = *dnnl_primitive_desc_query_md(pd[1], dnnl_query_diff_weights_md, 0);
    if (bwd_data &&
        (dnnl_inner_product_backward_data_desc_init(&d, &src, &w, &dst) ||
         dnnl_primitive_desc_create(&pd[2], &d, NULL, e, pd[0])))
        goto out;
    /* src, w, dst, dw, dsrc */
    if (dnnl_memory_create(&ip->mem[0], &src, e, DNNL_MEMORY_ALLOCATE) ||
        dnnl_memory_create(&ip->mem[1], &w, e, DNNL_MEMORY_ALLOCATE) ||
        dnnl_memory_create(&ip->mem[2], &dst, e, DNNL_MEMORY_ALLOCATE) ||
        dnnl_memory_create(&ip->mem[3], &dw, e, DNNL_MEMORY_ALLOCATE) ||
        dnnl_memory_create(&ip->mem[4], &src, e, DNNL_MEMORY_ALLOCATE))
        goto out;
    for (int i = 0; i < 5; i++) {
        void *h;

        dnnl_memory_get_data_handle(ip->mem[i], &h);
        memset(h, 0, dnnl_memory_desc_get_size(i == 1 ? &w : i == 2 ? &dst
                                               : i == 3 ? &dw : &src));
    }
    for (int i = 0; i < 3; i++)
        if (pd[i] != NULL && dnnl_primitive_create(&ip->p[i], pd[i]))
            goto out;
    ip->args[0][0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, ip->mem[0]};
    ip->args[0][1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, ip->mem[1]};
    ip->args[0][2] = (dnnl_exec_arg_t){DNNL_ARG_DST, ip->mem[2]};
    ip->nargs[0] = 3;
    ip->args[1][0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, ip->mem[0]};
    ip->args[1][1] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, ip->mem[2]};
    ip->args[1][2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_WEIGHTS, ip->mem[3]};
    ip->nargs[1] = 3;
    ip->args[2][0] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_DST, ip->mem[2]};
    ip->args[2][1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, ip->mem[1]};
    ip->args[2][2] = (dnnl_exec_arg_t){DNNL_ARG_DIFF_SRC, ip->mem[4]};
    ip->nargs[2] = 3;
    ok = 1;
out:
    for (int i = 0; i < 3; i++)
        dnnl_primitive_desc_destroy(pd[i]);
    if (!ok)
        ip_free(ip);
    return ok ? 0 : -1;
}

double bu_ip_step_seconds(const size_t *widths, size_t nlayers, size_t b,
                          int bf16, int reps, double *fastest)
{
    dnnl_engine_t e = NULL;
    dnnl_stream_t s = NULL;
    ip_t ips[8];
    size_t made = 0;
    double *t = calloc((size_t)reps, sizeof(double)), med = -1.0;

    if (t == NULL || nlayers > 8 ||
        dnnl_engine_create(&e, dnnl_cpu, 0) != dnnl_success ||
        dnnl_stream_create(&s, e, dnnl_stream_default_flags) != dnnl_success)
        goto out;
    for (; made < nlayers; made++)
        if (ip_make(&ips[made], e, b, widths[made], widths[made + 1],
                    bf16 ? dnnl_bf16 : dnnl_f32, made > 0) < 0)
            goto out;
    for (int r = -2; r < reps; r++) { /* two warm-up passes */
        double t0 = mlp_clock_now();

        for (size_t l = 0; l < nlayers; l++)
            for (int k = 0; k < 3; k++)
                if (ips[l].p[k] != NULL &&
                    dnnl_primitive_execute(ips[l].p[k], s, ips[l].nargs[k],
                                           ips[l].args[k]) != dnnl_success)
                    goto out;
        if (dnnl_stream_wait(s) != dnnl_success)
            goto out;
        if (r >= 0)
            t[r] = mlp_clock_now() - t0;
    }
    med = bu_median(t, (size_t)reps, fastest, NULL);
out:
    for (size_t l = 0; l < made; l++)
        ip_free(&ips[l]);
    dnnl_stream_destroy(s);
    dnnl_engine_destroy(e);
    free(t);
    return med;
}
