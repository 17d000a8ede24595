/*
 * net_bf16: what a bf16 net (net.h, MLP_PREC_BF16) has beside an f32 one:
 * the layouts of its two weight blocks, the bf16 copy of the weights and
 * its refresh, whether oneDNN has bf16 here at all, and the calibration
 * that lets `--precision auto` choose.
 *
 * Two layouts.  The forward and backward-data read bf16 weights, in the
 * layout the bf16 forward picks (wbmd); the backward-weights write f32
 * gradients, in the layout it picks for them (wmd), which is also the
 * master weights' (the optimizer's update is then one flat loop over
 * parameters and gradients of the same layout).  On AVX-512 oneDNN 2.6
 * picks, for a layer of 784 -> 256, AB16b64a for the f32 gradients and
 * AB8b64a2b for bf16 weights: the same blocks of 64 outputs x 16 inputs
 * in the same place, the bf16 one interleaving each pair of input rows
 * (VNNI pairs).  So element k of the master weights has a fixed place in
 * the copy, and rounding a range of the master block into the copy is
 * one streaming pass (pairs of rows in, one interleaved row out) that
 * the optimizer's pass runs right after updating that range, while it is
 * in cache (step.c).  Layouts that pair otherwise, or not at all, fall
 * back to plain oi for both (correct everywhere, slower products).
 *
 * Choosing.  mlp_net_bf16_available makes the descriptors of a small bf16
 * inner product (no primitive): unimplemented means no bf16 on this CPU
 * (oneDNN 2.6 has none below AVX-512; with ONEDNN_MAX_CPU_ISA=AVX2 too).
 * The calibration times this model's own forward and backward in both
 * precisions, interleaved (a neighbour's load hits both alike), the
 * fastest pass of each, within MLP_CALIBRATE_SECONDS: bf16 runs at 2x f32
 * on CPUs with AVX512_BF16 (Zen 4, Cooper Lake), at 0.3-0.5x where oneDNN
 * emulates it or the instruction is half rate (AVX512_CORE, some Xeons).
 *
 * Non-goals: the plan's primitives (net.c), parameters in and out
 * (net_params.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "clones.h"
#include "dnnl_check.h"
#include "mlptrain/bf16.h"
#include "mlptrain/clock.h"
#include "mlptrain/error.h"
#include "mlptrain/net.h"
#include "net_internal.h"

const char *const mlp_precision_names[] = {"f32", "bf16", "auto", NULL};

/* ---- layouts ------------------------------------------------------- */

/*
 * 1 when b (bf16) lays out the elements of a (f32) in VNNI pairs: the
 * same dims, padding and outer strides; a's inner blocks (S on dim 1,
 * then R...) and b's (S/2 on dim 1, R..., 2 on dim 1).  Then *row is the
 * product of R and *block = S * *row: element bb * row + r of a block of
 * a is element (bb / 2) * 2 row + 2 r + bb % 2 of the same block of b.
 */
static int pair_map(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b,
                    size_t *row, size_t *block)
{
    const dnnl_blocking_desc_t *x = &a->format_desc.blocking;
    const dnnl_blocking_desc_t *y = &b->format_desc.blocking;
    int k = x->inner_nblks;
    size_t r = 1;

    if (a->ndims != 2 || b->ndims != 2 ||
        a->format_kind != dnnl_blocked || b->format_kind != dnnl_blocked ||
        a->offset0 != 0 || b->offset0 != 0 || a->extra.flags != 0 ||
        b->extra.flags != 0 || k < 1 || y->inner_nblks != k + 1)
        return 0;
    for (int d = 0; d < 2; d++)
        if (a->dims[d] != b->dims[d] || a->padded_dims[d] != b->padded_dims[d] ||
            a->padded_offsets[d] != 0 || b->padded_offsets[d] != 0 ||
            x->strides[d] != y->strides[d])
            return 0;
    if (x->inner_idxs[0] != 1 || y->inner_idxs[0] != 1 ||
        x->inner_blks[0] % 2 != 0 || y->inner_blks[0] * 2 != x->inner_blks[0] ||
        y->inner_idxs[k] != 1 || y->inner_blks[k] != 2)
        return 0;
    for (int i = 1; i < k; i++) {
        if (x->inner_idxs[i] != y->inner_idxs[i] ||
            x->inner_blks[i] != y->inner_blks[i])
            return 0;
        r *= (size_t)x->inner_blks[i];
    }
    *row = r;
    *block = (size_t)x->inner_blks[0] * r;
    return 1;
}

/* 1 when b (bf16) is a (f32) but for the type: the same index. */
static int same_map(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    dnnl_memory_desc_t t = *b;

    t.data_type = a->data_type;
    return dnnl_memory_desc_equal(a, &t);
}

int mlp_net_bf16_layouts(mlp_net_t *net, size_t l, size_t n,
                         mlp_net_fwd_pd_fn fwd_pd)
{
    int rc = 0;
    dnnl_primitive_desc_t fpd = NULL, wpd = NULL;
    dnnl_memory_desc_t src, dw, bias, ddst;
    dnnl_inner_product_desc_t d;

    net->wpair[l] = net->wblock[l] = 0;
    if (!net->spec.plain_weights) {
        if ((rc = fwd_pd(net, l, n, NULL, &fpd)) < 0)
            goto out;
        net->wbmd[l] = *dnnl_primitive_desc_query_md(
            fpd, dnnl_query_weights_md, 0);
        CHECK(md_2d_dt(&src, n, net->lin[l], dnnl_bf16, dnnl_nc));
        CHECK(md_2d(&dw, net->lout[l], net->lin[l], dnnl_format_tag_any));
        CHECK(md_2d_dt(&ddst, n, net->lout[l], dnnl_bf16, dnnl_nc));
        {
            dnnl_dims_t bd = {(dnnl_dim_t)net->lout[l]};

            CHECK(dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32,
                                               dnnl_x));
        }
        CHECK(dnnl_inner_product_backward_weights_desc_init(&d, &src, &dw,
                                                            &bias, &ddst));
        CHECK(dnnl_primitive_desc_create(&wpd, &d, NULL, net->engine, fpd));
        net->wmd[l] = *dnnl_primitive_desc_query_md(
            wpd, dnnl_query_diff_weights_md, 0);
        if (same_map(&net->wmd[l], &net->wbmd[l]) ||
            pair_map(&net->wmd[l], &net->wbmd[l], &net->wpair[l],
                     &net->wblock[l]))
            goto out;
    }
    /* Plain oi for both: the same index. */
    net->wpair[l] = net->wblock[l] = 0;
    CHECK(md_2d_dt(&net->wbmd[l], net->lout[l], net->lin[l], dnnl_bf16,
                   dnnl_oi));
    CHECK(md_2d(&net->wmd[l], net->lout[l], net->lin[l], dnnl_oi));
out:
    dnnl_primitive_desc_destroy(wpd);
    dnnl_primitive_desc_destroy(fpd);
    return rc;
}

/* ---- the copy ------------------------------------------------------ */

/* A 32-bit view of two bf16 values (little-endian: the first is low). */
typedef uint32_t __attribute__((may_alias)) pair32_t;

/* dst[i] = round(r0[i]) | round(r1[i]) << 16: two rows interleaved. */
MLP_CLONES
static void pair_rows(pair32_t *dst, const float *r0, const float *r1,
                      size_t n)
{
#pragma omp simd
    for (size_t i = 0; i < n; i++)
        dst[i] = (uint32_t)mlp_bf16_round(r0[i]) |
                 (uint32_t)mlp_bf16_round(r1[i]) << 16;
}

/* Elements [r0, r1) of one layer's weights, w (master) into c (copy). */
static void sync_pairs(mlp_bf16_t *c, const float *w, size_t r0, size_t r1,
                       size_t row, size_t block)
{
    size_t k = r0;

    while (k < r1) {
        size_t base = k - k % block;

        if (k == base && k + block <= r1) { /* a whole block */
            for (size_t bb = 0; bb < block / row; bb += 2)
                pair_rows((pair32_t *)(void *)(c + base + bb * row),
                          w + base + bb * row, w + base + (bb + 1) * row,
                          row);
            k += block;
            continue;
        }
        {
            size_t bb = (k - base) / row, r = (k - base) % row;

            c[base + bb / 2 * 2 * row + 2 * r + bb % 2] =
                mlp_bf16_round(w[k]);
            k++;
        }
    }
}

void mlp_net_bf16_sync(mlp_net_t *net, size_t lo, size_t hi)
{
    if (net->wcopy == NULL)
        return;
    for (size_t l = 0; l < net->nlayers; l++) {
        size_t w0 = net->woff[l], w1 = w0 + net->wlen[l];
        size_t a = lo > w0 ? lo : w0, b = hi < w1 ? hi : w1;
        const float *w = net->params + w0;
        mlp_bf16_t *c = net->wcopy + net->wboff[l];

        if (a >= b)
            continue;
        if (net->wpair[l] == 0)
            mlp_bf16_from_f32(c + (a - w0), w + (a - w0), b - a);
        else
            sync_pairs(c, w, a - w0, b - w0, net->wpair[l],
                       net->wblock[l]);
    }
}

/* ---- is there bf16, and is it faster ------------------------------- */

int mlp_net_bf16_available(char *why, size_t len)
{
    int rc = 0, ok = 0;
    dnnl_engine_t e = NULL;
    dnnl_primitive_desc_t fpd = NULL, dpd = NULL, wpd = NULL;
    dnnl_memory_desc_t src, w, dw, bias, dst;
    dnnl_inner_product_desc_t d;
    dnnl_dims_t sd = {32, 32}, bd = {32};

    if (why != NULL && len > 0)
        why[0] = '\0';
    CHECK(dnnl_engine_create(&e, dnnl_cpu, 0));
    CHECK(dnnl_memory_desc_init_by_tag(&src, 2, sd, dnnl_bf16, dnnl_nc));
    CHECK(dnnl_memory_desc_init_by_tag(&w, 2, sd, dnnl_bf16,
                                       dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&dw, 2, sd, dnnl_f32,
                                       dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&bias, 1, bd, dnnl_f32, dnnl_x));
    CHECK(dnnl_memory_desc_init_by_tag(&dst, 2, sd, dnnl_bf16, dnnl_nc));
    CHECK(dnnl_inner_product_forward_desc_init(&d, dnnl_forward_training,
                                               &src, &w, &bias, &dst));
    if (dnnl_primitive_desc_create(&fpd, &d, NULL, e, NULL) != dnnl_success)
        goto out;
    CHECK(dnnl_inner_product_backward_data_desc_init(&d, &src, &w, &dst));
    if (dnnl_primitive_desc_create(&dpd, &d, NULL, e, fpd) != dnnl_success)
        goto out;
    CHECK(dnnl_inner_product_backward_weights_desc_init(&d, &src, &dw,
                                                        &bias, &dst));
    if (dnnl_primitive_desc_create(&wpd, &d, NULL, e, fpd) != dnnl_success)
        goto out;
    ok = 1;
out:
    dnnl_primitive_desc_destroy(wpd);
    dnnl_primitive_desc_destroy(dpd);
    dnnl_primitive_desc_destroy(fpd);
    dnnl_engine_destroy(e);
    if (!ok && why != NULL && len > 0)
        snprintf(why, len, "oneDNN %s has no bf16 inner products on this "
                 "CPU (ISA %s)", mlp_net_dnnl_version(), mlp_net_isa());
    return rc < 0 ? 0 : ok;
}

/* One forward and backward of net on x, seconds. */
static int pass(mlp_net_t *net, const void *x, const float *dl, size_t rows,
                double *s)
{
    double t0 = mlp_clock_now();
    const float *logits;
    int rc;

    if ((rc = mlp_net_forward(net, x, rows, &logits)) < 0 ||
        (rc = mlp_net_backward(net, dl, rows)) < 0)
        return rc;
    *s = mlp_clock_now() - t0;
    return 0;
}

int mlp_net_calibrate(const mlp_net_spec_t *spec, size_t rows, double budget,
                      double *f32_s, double *bf16_s)
{
    double t0 = mlp_clock_now(), best[2] = {0, 0};
    mlp_net_t *nets[2] = {NULL, NULL};
    mlp_net_spec_t s = *spec;
    float *x = NULL, *dl = NULL;
    mlp_bf16_t *xb = NULL;
    int rc = 0;

    s.nbatch_sizes = 1;
    s.batch_sizes[0] = rows;
    s.dropout = s.input_dropout = 0.0f;
    x = malloc(rows * spec->in * sizeof(*x));
    xb = malloc(rows * spec->in * sizeof(*xb));
    dl = malloc(rows * spec->out * sizeof(*dl));
    if (x == NULL || xb == NULL || dl == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for the calibration");
        goto out;
    }
    for (size_t i = 0; i < rows * spec->in; i++)
        x[i] = (float)(i % 251) / 251.0f;
    mlp_bf16_from_f32(xb, x, rows * spec->in);
    for (size_t i = 0; i < rows * spec->out; i++)
        dl[i] = (float)((int)(i % 7) - 3) * 1e-3f;
    for (int k = 0; k < 2; k++) {
        s.precision = k ? MLP_PREC_BF16 : MLP_PREC_F32;
        if ((rc = mlp_net_create(&s, &nets[k])) < 0 ||
            (rc = mlp_net_init(nets[k], 1, 0.01f)) < 0)
            goto out;
    }
    /* A warm-up pass each (the kernels are made at the first run), then
     * timed passes in turn until the budget is spent (at least one each,
     * at most 20). */
    for (int i = -1; i < 20; i++) {
        for (int k = 0; k < 2; k++) {
            double t;

            if ((rc = pass(nets[k], k ? (const void *)xb : (const void *)x,
                           dl, rows, &t)) < 0)
                goto out;
            if (i >= 0 && (best[k] == 0 || t < best[k]))
                best[k] = t;
        }
        if (i >= 0 && mlp_clock_now() - t0 > budget)
            break;
    }
    *f32_s = best[0];
    *bf16_s = best[1];
out:
    mlp_net_destroy(nets[0]);
    mlp_net_destroy(nets[1]);
    free(x);
    free(xb);
    free(dl);
    return rc;
}

int mlp_net_choose_precision(const mlp_net_spec_t *spec,
                             mlp_precision_t asked, size_t rows,
                             mlp_precision_choice_t *c)
{
    double f, b, t0, macs = 0.0;
    char why[sizeof(c->why)];
    int rc;

    memset(c, 0, sizeof(*c));
    c->asked = asked;
    c->used = MLP_PREC_F32;
    if (asked == MLP_PREC_F32)
        return 0;
    if (asked != MLP_PREC_BF16 && asked != MLP_PREC_AUTO)
        return mlp_error_set(MLP_EINVAL, "unknown precision %d", (int)asked);
    if (!mlp_net_bf16_available(why, sizeof(why))) {
        if (asked == MLP_PREC_BF16)
            return mlp_error_set(MLP_EUSAGE, "option '--precision': bf16: "
                                 "%s; f32 (or auto) runs here", why);
        snprintf(c->why, sizeof(c->why), "%s", why);
        return 0;
    }
    if (asked == MLP_PREC_BF16) {
        c->used = MLP_PREC_BF16;
        return 0;
    }
    /* Rows: the run's, fewer when one f32 pass would take over an eighth
     * of the budget (at a pessimistic 20 GFLOP/s a thread). */
    for (size_t l = 0, in = spec->in; l <= spec->nhidden; l++) {
        size_t out = l < spec->nhidden ? spec->hidden[l] : spec->out;

        macs += (double)in * (double)out;
        in = out;
    }
    if (rows == 0)
        rows = 1;
    while (rows > 1 && 6.0 * macs * (double)rows / 20e9 >
                            MLP_CALIBRATE_SECONDS / 8)
        rows /= 2;
    t0 = mlp_clock_now();
    if ((rc = mlp_net_calibrate(spec, rows, MLP_CALIBRATE_SECONDS * 0.8, &f,
                                &b)) < 0)
        return rc;
    c->seconds = mlp_clock_now() - t0;
    c->rows = rows;
    c->speedup = b > 0 ? f / b : 0.0;
    c->used = c->speedup >= MLP_BF16_MIN_SPEEDUP ? MLP_PREC_BF16
                                                 : MLP_PREC_F32;
    snprintf(c->why, sizeof(c->why), "bf16 ran %.2fx f32 in a %.0f ms "
             "calibration%s%.1fx", c->speedup, c->seconds * 1e3,
             c->used == MLP_PREC_BF16 ? ", at least " : ", below ",
             MLP_BF16_MIN_SPEEDUP);
    return 0;
}
