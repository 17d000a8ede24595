/*
 * net_dropout: dropout in the net (see net.h and net_internal.h): its
 * buffers in a plan, the keyed masks, and the forward and backward passes
 * that run between the layers' primitives.
 *
 * Dropout (spec.dropout, spec.input_dropout; training forward only): oneDNN
 * 2.6 has no dropout primitive, so after the inner product with its fused
 * activation one pass per row computes the keyed mask (rng.h) and writes
 * hd_l = h_l * mask / (1 - p), the next layer's input; h_l is kept, as the
 * eltwise backward reads the activation before dropout, and so is the mask
 * (the factor per unit): the backward multiplies dL/dhd_l by it and by the scale
 * in one pass before the eltwise backward.  The input is dropped into a
 * copy (the caller's x is read-only and nobody needs dL/dx).  Without
 * dropout nothing of this exists: the plan is the one of a plain net.
 * A bf16 net's activations are bf16: the passes compute in float and
 * round each result once (the mask stays a float factor).
 *
 * Non-goals: the plan's primitives and the plain forward and backward
 * (net.c), parameters (net_params.c), dropout at evaluation (none: an
 * evaluating forward reads h_l itself).
 */
#include <stdint.h>

#include <oneapi/dnnl/dnnl.h>

#include "clones.h"
#include "dnnl_check.h"
#include "mlptrain/bf16.h"
#include "mlptrain/error.h"
#include "mlptrain/net.h"
#include "mlptrain/rng.h"
#include "net_internal.h"

/*
 * Dropout of site `site` (mlp_drop_key_t) on n rows of c: dst = src * f,
 * f = 1 / (1 - p) for a kept unit, else 0, kept in `mask` when not NULL.
 * Each element is a function of the keys and its own value only, so any
 * split over threads gives the same bits; the inner loop is integer and
 * float arithmetic without branches (a select), vectorized.
 */
/*
 * One row of drop_fwd.  Cloned for AVX2 and AVX-512 (chosen once at load
 * time): the hash is 32-bit multiplies, which baseline x86-64 (SSE2) lacks
 * as vector instructions.  Every clone computes the same bits: integer
 * arithmetic and one float multiply per element.
 */
MLP_CLONES
static void drop_row(const float *s, float *d, float *m, size_t c,
                     uint64_t rk, int32_t thr, float scale)
{
#pragma omp simd
    for (size_t j = 0; j < c; j++) {
        int32_t bits = (int32_t)(mlp_rng_bits32(rk, (uint32_t)j) ^ 0x80000000U);
        float f = bits >= thr ? scale : 0.0f;

        m[j] = f;
        d[j] = s[j] * f;
    }
}

/* The same on bf16 values; m NULL: no mask kept. */
MLP_CLONES
static void drop_row_bf16(const mlp_bf16_t *s, mlp_bf16_t *d, float *m,
                          size_t c, uint64_t rk, int32_t thr, float scale)
{
    if (m != NULL) {
#pragma omp simd
        for (size_t j = 0; j < c; j++) {
            int32_t bits =
                (int32_t)(mlp_rng_bits32(rk, (uint32_t)j) ^ 0x80000000U);
            float f = bits >= thr ? scale : 0.0f;

            m[j] = f;
            d[j] = mlp_bf16_round(mlp_bf16_float(s[j]) * f);
        }
        return;
    }
#pragma omp simd
    for (size_t j = 0; j < c; j++) {
        int32_t bits = (int32_t)(mlp_rng_bits32(rk, (uint32_t)j) ^ 0x80000000U);
        float f = bits >= thr ? scale : 0.0f;

        d[j] = mlp_bf16_round(mlp_bf16_float(s[j]) * f);
    }
}

/* src, dst of esz-byte values (float or bf16). */
static void drop_fwd(const void *src, void *dst, float *mask, size_t esz,
                     size_t n, size_t c, const mlp_drop_key_t *key,
                     uint64_t site, float p)
{
    uint64_t k = mlp_rng_key(
        mlp_rng_key(mlp_rng_key(mlp_rng_key(MLP_NET_DROP_DOMAIN, key->seed),
                                key->epoch),
                    key->batch),
        site);
    /* bits >= thr as unsigned, compared signed (SSE2 has no unsigned
     * compare): flipping the top bit of both keeps the order */
    int32_t thr = (int32_t)((uint32_t)((double)p * 4294967296.0) ^
                            0x80000000U);
    float scale = 1.0f / (1.0f - p);

#pragma omp parallel for schedule(static) if (n * c >= 262144)
    for (size_t i = 0; i < n; i++) {
        uint64_t rk = mlp_rng_key(k, key->row0 + i);

        if (esz == sizeof(mlp_bf16_t)) {
            drop_row_bf16((const mlp_bf16_t *)src + i * c,
                          (mlp_bf16_t *)dst + i * c,
                          mask ? mask + i * c : NULL, c, rk, thr, scale);
        } else {
            float *d = (float *)dst + i * c;

            /* no mask: write the factors to dst, then overwrite them */
            drop_row((const float *)src + i * c, d,
                     mask ? mask + i * c : d, c, rk, thr, scale);
        }
    }
}

/* The backward of drop_fwd: d *= mask, in place (d of esz-byte values). */
static void drop_bwd(void *d, const float *mask, size_t esz, size_t nc)
{
    if (esz == sizeof(mlp_bf16_t)) {
        mlp_bf16_t *h = d;

#pragma omp parallel for simd schedule(static) if (nc >= 262144)
        for (size_t i = 0; i < nc; i++)
            h[i] = mlp_bf16_round(mlp_bf16_float(h[i]) * mask[i]);
        return;
    }
    {
        float *f = d;

#pragma omp parallel for simd schedule(static) if (nc >= 262144)
        for (size_t i = 0; i < nc; i++)
            f[i] *= mask[i];
    }
}

int mlp_net_plan_dropout(mlp_net_t *net, mlp_plan_t *p, size_t n, size_t off)
{
    int rc = 0;
    dnnl_memory_desc_t md;

    for (size_t l = 0; l + 1 < net->nlayers && net->spec.dropout > 0; l++) {
        size_t m = net->plans[0].n * net->lout[l];

        CHECK(md_2d_dt(&md, n, net->lout[l], net->dt, dnnl_nc));
        CHECK(dnnl_memory_create(&p->hd[l], &md, net->engine,
                                 net->act + off));
        CHECK(dnnl_memory_get_data_handle(p->h[l], &p->hbuf[l]));
        p->hdbuf[l] = net->act + off;
        off += round_bytes(m * net->esz);
        p->mask[l] = (float *)(void *)(net->act + off);
        off += round_bytes(m * sizeof(float));
    }
    if (net->spec.input_dropout > 0)
        p->xd = net->act + off;
out:
    return rc;
}

const void *mlp_net_drop_input(mlp_net_t *net, mlp_plan_t *p, const void *x,
                               size_t n, const mlp_drop_key_t *key)
{
    const mlp_net_spec_t *sp = &net->spec;

    if (!key || !(sp->input_dropout > 0))
        return x;
    drop_fwd(x, p->xd, NULL, net->esz, n, net->lin[0], key, 0,
             sp->input_dropout);
    return p->xd;
}

int mlp_net_forward_dropout(mlp_net_t *net, mlp_plan_t *p, size_t n,
                            const mlp_drop_key_t *key)
{
    int rc = 0;
    const mlp_net_spec_t *sp = &net->spec;
    int drop = key != NULL;

    for (int l = 0; l < p->nfwd; l++) {
        if ((rc = mlp_net_run(net, &p->fwd[l], 1)) < 0)
            goto out;
        if (l + 1 == p->nfwd)
            break;
        CHECK(dnnl_memory_set_data_handle(
            p->hd[l], drop ? p->hdbuf[l] : p->hbuf[l]));
        if (drop)
            drop_fwd(p->hbuf[l], p->hdbuf[l], p->mask[l], net->esz, n,
                     net->lout[l], key, (uint64_t)l + 1, sp->dropout);
    }
out:
    return rc;
}

int mlp_net_backward_dropout(mlp_net_t *net, mlp_plan_t *p, size_t n)
{
    int rc = 0;

    for (int k = 0; k < p->nbwd; k++) {
        int l = p->bwd_mask[k] - 1;

        /* dL/dhd_l, written by the step before (layer l + 1's
         * backward-data), becomes dL/dh_l. */
        if (l >= 0) {
            void *dh;

            CHECK(dnnl_memory_get_data_handle(p->dh[l], &dh));
            drop_bwd(dh, p->mask[l], net->esz, n * net->lout[l]);
        }
        if ((rc = mlp_net_run(net, &p->bwd[k], 1)) < 0)
            goto out;
    }
out:
    return rc;
}
