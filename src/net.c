/*
 * net: the multilayer perceptron on oneDNN 2.x primitives (see net.h).
 *
 * Layer l is an inner product h_l = act(W_l h_{l-1} + b_l) with h_{-1} = x;
 * the activation is fused as an eltwise post-op on hidden layers, and the
 * last layer is linear (logits).  For each prepared batch size a plan holds
 * the forward and the backward primitives with their argument lists, run in
 * a loop as in oneDNN's cpu_cnn_training_f32.c.  Backward per layer, from
 * the last: eltwise backward in place on dL/dh_l (hidden layers only; the
 * *_use_dst_for_bwd algorithms read h_l, which the forward kept), then
 * backward-weights (dW, db) and backward-data (dL/dh_{l-1}; not for layer 0,
 * nobody needs dL/dx).
 *
 * Weights use the layout the forward inner product picks for the largest
 * batch (or plain oi); every other primitive is created with that exact
 * layout, so parameters and gradients share one layout and no reorder runs
 * per step.  Activations are plain (n, c) row-major; x and dL/dlogits are
 * the caller's buffers, wrapped without a copy.
 *
 * A bf16 net (spec.precision) runs the same plan on bf16 operands: x,
 * the hidden activations and their gradients are bf16, the logits f32;
 * the forward and backward-data read the bf16 copy of the weights, the
 * backward-weights write f32 gradients in the master weights' layout.
 * The two weight layouts, the copy and its refresh are net_bf16.c's;
 * dL/dlogits is rounded into the plan's dlbf before the backward.
 *
 * Parameters in and out (counts, get/set of a layer, block export and
 * import, initialisation) are net_params.c's; the struct they share is in
 * net_internal.h.
 *
 * Dropout (its buffers in a plan, the masks, the forward and backward
 * passes between the layers' primitives) is net_dropout.c's; without
 * dropout the plan is the one of a plain net and runs in one loop here.
 *
 * Non-goals: other layer kinds, inference-only primitives, GPUs.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>

#include "dnnl_check.h"
#include "mlptrain/error.h"
#include "mlptrain/net.h"
#include "mlptrain/options.h"
#include "net_internal.h"

static const struct {
    const char *name;
    dnnl_alg_kind_t fwd; /* the post-op */
    dnnl_alg_kind_t bwd; /* backward from the activations (dst) */
} acts[] = {
#define MLP_ACT_ROW(id, name, fwd, bwd) \
    [MLP_ACT_##id] = {name, dnnl_eltwise_##fwd, dnnl_eltwise_##bwd},
    MLP_ACT_MAP(MLP_ACT_ROW)
#undef MLP_ACT_ROW
};
#define MLP_NACTS ((size_t)MLP_NACT)

const char *mlp_act_name(mlp_act_t act)
{
    if ((unsigned)act >= MLP_NACTS)
        return "unknown";
    return acts[act].name;
}

int mlp_act_parse(const char *name)
{
    for (size_t i = 0; name && i < MLP_NACTS; i++)
        if (strcmp(name, acts[i].name) == 0)
            return (int)i;
    return -1;
}

int mlp_act_algs(mlp_act_t act, int *fwd, int *bwd)
{
    if ((unsigned)act >= MLP_NACTS)
        return mlp_error_set(MLP_EINVAL, "unknown activation %d", (int)act);
    *fwd = (int)acts[act].fwd;
    *bwd = (int)acts[act].bwd;
    return 0;
}

/* Add n to the set of batch sizes when it is new and nonzero. */
static void add_batch_size(mlp_net_spec_t *spec, size_t n)
{
    if (n == 0 || spec->nbatch_sizes >= MLP_MAX_BATCH_SIZES)
        return;
    for (size_t i = 0; i < spec->nbatch_sizes; i++)
        if (spec->batch_sizes[i] == n)
            return;
    spec->batch_sizes[spec->nbatch_sizes++] = n;
}

void mlp_net_spec_add_split(mlp_net_spec_t *spec, size_t n, size_t batch)
{
    if (batch == 0)
        return;
    add_batch_size(spec, n < batch ? n : batch);
    add_batch_size(spec, n > batch ? n % batch : 0);
}

char *mlp_net_shape_str(char *buf, size_t len, size_t in,
                        const size_t *hidden, size_t nhidden, size_t out)
{
    size_t off = (size_t)snprintf(buf, len, "%zu", in);

    for (size_t i = 0; i < nhidden && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "-%zu", hidden[i]);
    if (off < len)
        snprintf(buf + off, len - off, "-%zu", out);
    return buf;
}

const char *mlp_net_act_label(mlp_act_t act, size_t nhidden)
{
    return nhidden > 0 ? mlp_act_name(act) : "linear";
}

static float *alloc_floats(size_t n)
{
    void *p = NULL;

    if (n == 0)
        n = MLP_ALIGN_F;
    if (n > SIZE_MAX / sizeof(float) ||
        posix_memalign(&p, MLP_ALIGN, n * sizeof(float)) != 0)
        return NULL;
    memset(p, 0, n * sizeof(float));
    return p;
}

/* The weights layer l's forward and backward-data read: the master
 * weights (f32), or their bf16 copy. */
static const dnnl_memory_desc_t *fwd_wmd(const mlp_net_t *net, size_t l)
{
    return net->dt == dnnl_bf16 ? &net->wbmd[l] : &net->wmd[l];
}

static dnnl_memory_t fwd_w(const mlp_net_t *net, size_t l)
{
    return net->dt == dnnl_bf16 ? net->wb[l] : net->w[l];
}

/* The type of layer l's output: the operands' (hidden), f32 (logits). */
static dnnl_data_type_t out_dt(const mlp_net_t *net, size_t l)
{
    return l + 1 < net->nlayers ? net->dt : dnnl_f32;
}

static dnnl_status_t md_1d(dnnl_memory_desc_t *md, size_t a)
{
    dnnl_dims_t dims = {(dnnl_dim_t)a};

    return dnnl_memory_desc_init_by_tag(md, 1, dims, dnnl_f32, dnnl_x);
}

static void step_arg(mlp_step_t *st, int arg, dnnl_memory_t m)
{
    st->args[st->nargs].arg = arg;
    st->args[st->nargs].memory = m;
    st->nargs++;
}

/*
 * The forward inner product of layer l for batch n, its activation as a
 * post-op on hidden layers; wmd NULL lets oneDNN pick the weights layout.
 */
static int ip_fwd_pd(mlp_net_t *net, size_t l, size_t n,
                     const dnnl_memory_desc_t *wmd,
                     dnnl_primitive_desc_t *pdp)
{
    int rc = 0;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_memory_desc_t src, w, b, dst;
    dnnl_inner_product_desc_t d;

    *pdp = NULL;
    CHECK(md_2d_dt(&src, n, net->lin[l], net->dt, dnnl_nc));
    CHECK(md_2d_dt(&dst, n, net->lout[l], out_dt(net, l), dnnl_nc));
    CHECK(md_1d(&b, net->lout[l]));
    if (wmd)
        w = *wmd;
    else
        CHECK(md_2d_dt(&w, net->lout[l], net->lin[l], net->dt,
                       net->spec.plain_weights ? dnnl_oi
                                               : dnnl_format_tag_any));
    CHECK(dnnl_inner_product_forward_desc_init(&d, dnnl_forward_training,
                                               &src, &w, &b, &dst));
    CHECK(dnnl_primitive_attr_create(&attr));
    CHECK(dnnl_primitive_attr_set_scratchpad_mode(attr,
                                                  dnnl_scratchpad_mode_user));
    if (l + 1 < net->nlayers) {
        CHECK(dnnl_post_ops_create(&po));
        CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, acts[net->spec.act].fwd,
                                           0.0f, 0.0f));
        CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
    }
    CHECK(dnnl_primitive_desc_create(pdp, &d, attr, net->engine, NULL));
out:
    dnnl_post_ops_destroy(po);
    dnnl_primitive_attr_destroy(attr);
    return rc;
}

/* Fail unless the primitive's md for `what` is the layer's weights layout
 * `want`. */
static int check_wmd(size_t l, dnnl_primitive_desc_t pd, dnnl_query_t what,
                     const dnnl_memory_desc_t *want, const char *name)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, 0);

    if (!md || !dnnl_memory_desc_equal(md, want))
        return mlp_error_set(MLP_EDNNL,
                             "layer %zu: oneDNN's %s wants another weights "
                             "layout than the forward",
                             l, name);
    return 0;
}

/*
 * Make the primitive of pd into st, noting its scratchpad (the net keeps
 * one buffer of the largest, shared by all: only one primitive runs at a
 * time) and its workspace.  Estimating: only the note.
 */
static int step_create(mlp_net_t *net, mlp_step_t *st,
                       dnnl_primitive_desc_t pd)
{
    int rc = 0;
    const dnnl_memory_desc_t *md;
    size_t sz;

    if ((md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md,
                                           0)) != NULL) {
        st->smd = *md;
        sz = dnnl_memory_desc_get_size(md);
        if (sz > net->scratch_bytes)
            net->scratch_bytes = sz;
    }
    if ((md = dnnl_primitive_desc_query_md(pd, dnnl_query_workspace_md,
                                           0)) != NULL)
        net->workspace_bytes += dnnl_memory_desc_get_size(md);
    if (!net->estimating)
        CHECK(dnnl_primitive_create(&st->prim, pd));
out:
    return rc;
}

/* The input of layer l: x, h_{l-1}, or h_{l-1} after dropout. */
static dnnl_memory_t layer_src(const mlp_plan_t *p, size_t l)
{
    if (l == 0)
        return p->x;
    return p->hd[l - 1] ? p->hd[l - 1] : p->h[l - 1];
}

/* Build the primitives and activation memories of batch size n into p. */
static int plan_create(mlp_net_t *net, mlp_plan_t *p, size_t n)
{
    int rc = 0;
    size_t L = net->nlayers, off = 0;
    dnnl_primitive_desc_t fwd[MLP_MAX_LAYERS] = {NULL};
    dnnl_primitive_desc_t pd = NULL, hint = NULL;
    dnnl_primitive_attr_t sattr = NULL;
    dnnl_memory_desc_t md, dmd, bmd;
    dnnl_inner_product_desc_t ipd;
    dnnl_eltwise_desc_t ed;
    mlp_step_t *st;

    p->n = n;
    /* The scratchpads are the net's (one buffer, counted by estimate). */
    CHECK(dnnl_primitive_attr_create(&sattr));
    CHECK(dnnl_primitive_attr_set_scratchpad_mode(sattr,
                                                  dnnl_scratchpad_mode_user));
    if (net->estimating)
        goto pds;
    CHECK(md_2d_dt(&md, n, net->lin[0], net->dt, dnnl_nc));
    CHECK(dnnl_memory_create(&p->x, &md, net->engine, DNNL_MEMORY_NONE));
    /* h_l then dh_l per layer, at the offsets of the largest batch (in
     * bytes: bf16 hidden layers take half), then bf16's dL/dlogits. */
    for (size_t l = 0; l < L; l++) {
        size_t sz = round_bytes(net->plans[0].n * net->lout[l] *
                                (l + 1 < L ? net->esz : sizeof(float)));

        CHECK(md_2d_dt(&md, n, net->lout[l], out_dt(net, l), dnnl_nc));
        CHECK(dnnl_memory_create(&p->h[l], &md, net->engine, net->act + off));
        if (l + 1 == L)
            p->logits = (float *)(void *)(net->act + off);
        off += sz;
        if (l + 1 < L) {
            CHECK(dnnl_memory_create(&p->dh[l], &md, net->engine,
                                     net->act + off));
            off += sz;
        }
    }
    CHECK(md_2d_dt(&md, n, net->lout[L - 1], net->dt, dnnl_nc));
    if (net->dt == dnnl_bf16) {
        p->dlbf = (mlp_bf16_t *)(void *)(net->act + off);
        off += round_bytes(net->plans[0].n * net->lout[L - 1] *
                           sizeof(mlp_bf16_t));
    }
    CHECK(dnnl_memory_create(&p->dlogits, &md, net->engine,
                             p->dlbf ? (void *)p->dlbf : DNNL_MEMORY_NONE));
    /* Dropout's buffers after the plain net's, as net_build counts them. */
    if ((rc = mlp_net_plan_dropout(net, p, n, off)) < 0)
        goto out;

pds:
    for (size_t l = 0; l < L; l++) {
        dnnl_memory_t src = layer_src(p, l);

        rc = ip_fwd_pd(net, l, n, fwd_wmd(net, l), &fwd[l]);
        if (rc < 0)
            goto out;
        if ((rc = check_wmd(l, fwd[l], dnnl_query_weights_md,
                            fwd_wmd(net, l), "forward")) < 0)
            goto out;
        st = &p->fwd[p->nfwd++];
        if ((rc = step_create(net, st, fwd[l])) < 0)
            goto out;
        step_arg(st, DNNL_ARG_SRC, src);
        step_arg(st, DNNL_ARG_WEIGHTS, fwd_w(net, l));
        step_arg(st, DNNL_ARG_BIAS, net->b[l]);
        step_arg(st, DNNL_ARG_DST, p->h[l]);
    }

    for (size_t l = L; l-- > 0;) {
        dnnl_memory_t src = layer_src(p, l);
        dnnl_memory_t dz = l + 1 == L ? p->dlogits : p->dh[l];

        CHECK(md_2d_dt(&dmd, n, net->lout[l], net->dt, dnnl_nc));
        if (l + 1 < L) {
            /* dL/dz = dL/dh * act'(from h), in place. */
            CHECK(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_training,
                                                 acts[net->spec.act].bwd,
                                                 &dmd, 0.0f, 0.0f));
            CHECK(dnnl_primitive_desc_create(&hint, &ed, NULL, net->engine,
                                             NULL));
            CHECK(dnnl_eltwise_backward_desc_init(
                &ed, acts[net->spec.act].bwd, &dmd, &dmd, 0.0f, 0.0f));
            CHECK(dnnl_primitive_desc_create(&pd, &ed, sattr, net->engine,
                                             hint));
            if (net->spec.dropout > 0)
                p->bwd_mask[p->nbwd] = (int)l + 1;
            st = &p->bwd[p->nbwd++];
            if ((rc = step_create(net, st, pd)) < 0)
                goto out;
            step_arg(st, DNNL_ARG_DST, p->h[l]);
            step_arg(st, DNNL_ARG_DIFF_DST, p->dh[l]);
            step_arg(st, DNNL_ARG_DIFF_SRC, p->dh[l]);
            dnnl_primitive_desc_destroy(pd);
            dnnl_primitive_desc_destroy(hint);
            pd = hint = NULL;
        }

        CHECK(md_2d_dt(&md, n, net->lin[l], net->dt, dnnl_nc));
        CHECK(md_1d(&bmd, net->lout[l]));
        CHECK(dnnl_inner_product_backward_weights_desc_init(
            &ipd, &md, &net->wmd[l], &bmd, &dmd));
        CHECK(dnnl_primitive_desc_create(&pd, &ipd, sattr, net->engine,
                                         fwd[l]));
        if ((rc = check_wmd(l, pd, dnnl_query_diff_weights_md,
                            &net->wmd[l], "backward-weights")) < 0)
            goto out;
        st = &p->bwd[p->nbwd++];
        if ((rc = step_create(net, st, pd)) < 0)
            goto out;
        step_arg(st, DNNL_ARG_SRC, src);
        step_arg(st, DNNL_ARG_DIFF_DST, dz);
        step_arg(st, DNNL_ARG_DIFF_WEIGHTS, net->dw[l]);
        step_arg(st, DNNL_ARG_DIFF_BIAS, net->db[l]);
        dnnl_primitive_desc_destroy(pd);
        pd = NULL;

        if (l > 0) {
            CHECK(dnnl_inner_product_backward_data_desc_init(
                &ipd, &md, fwd_wmd(net, l), &dmd));
            CHECK(dnnl_primitive_desc_create(&pd, &ipd, sattr, net->engine,
                                             fwd[l]));
            if ((rc = check_wmd(l, pd, dnnl_query_weights_md,
                                fwd_wmd(net, l), "backward-data")) < 0)
                goto out;
            st = &p->bwd[p->nbwd++];
            if ((rc = step_create(net, st, pd)) < 0)
                goto out;
            step_arg(st, DNNL_ARG_DIFF_DST, dz);
            step_arg(st, DNNL_ARG_WEIGHTS, fwd_w(net, l));
            step_arg(st, DNNL_ARG_DIFF_SRC, p->dh[l - 1]);
            dnnl_primitive_desc_destroy(pd);
            pd = NULL;
        }
    }
out:
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_desc_destroy(hint);
    dnnl_primitive_attr_destroy(sattr);
    for (size_t l = 0; l < L; l++)
        dnnl_primitive_desc_destroy(fwd[l]);
    return rc;
}

/* Point every step with a scratchpad at the net's one buffer. */
static int attach_scratch(mlp_net_t *net, mlp_step_t *st)
{
    int rc = 0;

    if (dnnl_memory_desc_get_size(&st->smd) == 0)
        return 0;
    CHECK(dnnl_memory_create(&st->scratch, &st->smd, net->engine,
                             net->scratch));
    step_arg(st, DNNL_ARG_SCRATCHPAD, st->scratch);
out:
    return rc;
}

static int spec_check(const mlp_net_spec_t *s)
{
    if (s->in == 0 || s->in > MLP_MAX_WIDTH)
        return mlp_error_set(MLP_EINVAL,
                             "net: input width %zu not in [1, %zu]", s->in,
                             MLP_MAX_WIDTH);
    if (s->out == 0 || s->out > MLP_MAX_WIDTH)
        return mlp_error_set(MLP_EINVAL,
                             "net: output width %zu not in [1, %zu]", s->out,
                             MLP_MAX_WIDTH);
    if (s->nhidden > MLP_MAX_HIDDEN)
        return mlp_error_set(MLP_EINVAL, "net: %zu hidden layers, at most %d",
                             s->nhidden, MLP_MAX_HIDDEN);
    for (size_t i = 0; i < s->nhidden; i++)
        if (s->hidden[i] == 0 || s->hidden[i] > MLP_MAX_WIDTH)
            return mlp_error_set(MLP_EINVAL,
                                 "net: hidden layer %zu width %zu not in "
                                 "[1, %zu]",
                                 i, s->hidden[i], MLP_MAX_WIDTH);
    if ((unsigned)s->act >= MLP_NACTS)
        return mlp_error_set(MLP_EINVAL, "net: unknown activation %d",
                             (int)s->act);
    if (s->nbatch_sizes == 0 || s->nbatch_sizes > MLP_MAX_BATCH_SIZES)
        return mlp_error_set(MLP_EINVAL,
                             "net: %zu batch sizes, need 1 to %d",
                             s->nbatch_sizes, MLP_MAX_BATCH_SIZES);
    for (size_t i = 0; i < s->nbatch_sizes; i++)
        if (s->batch_sizes[i] == 0 || s->batch_sizes[i] > MLP_MAX_WIDTH)
            return mlp_error_set(MLP_EINVAL,
                                 "net: batch size %zu not in [1, %zu]",
                                 s->batch_sizes[i], MLP_MAX_WIDTH);
    if (s->threads < 0)
        return mlp_error_set(MLP_EINVAL, "net: %d threads", s->threads);
    if (!(s->dropout >= 0 && s->dropout < 1) ||
        !(s->input_dropout >= 0 && s->input_dropout < 1))
        return mlp_error_set(MLP_EINVAL,
                             "net: dropout %g, input dropout %g not in "
                             "[0, 1)",
                             (double)s->dropout, (double)s->input_dropout);
    if (s->precision != MLP_PREC_F32 && s->precision != MLP_PREC_BF16)
        return mlp_error_set(MLP_EINVAL, "net: precision %d is not f32 or "
                             "bf16", (int)s->precision);
    return 0;
}

/*
 * The net of spec into *out; estimating, only what mlp_net_estimate needs:
 * the descriptors are made and queried, nothing big is allocated and no
 * primitive is made.
 */
static int net_build(const mlp_net_spec_t *spec, int estimating,
                     mlp_net_t **out)
{
    int rc = 0;
    mlp_net_t *net = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t bmd;
    size_t L, nact = 0, sizes[MLP_MAX_BATCH_SIZES];

    if (out)
        *out = NULL;
    if (!spec || !out)
        return mlp_error_set(MLP_EINVAL, "net: NULL spec or result");
    if ((rc = spec_check(spec)) < 0)
        return rc;
    if (!(net = calloc(1, sizeof(*net))))
        return mlp_error_set(MLP_ENOMEM, "net: out of memory");
    net->spec = *spec;
    net->estimating = estimating;
    net->dt = spec->precision == MLP_PREC_BF16 ? dnnl_bf16 : dnnl_f32;
    net->esz = net->dt == dnnl_bf16 ? sizeof(mlp_bf16_t) : sizeof(float);
    L = net->nlayers = spec->nhidden + 1;
    for (size_t l = 0; l < L; l++) {
        net->lin[l] = l == 0 ? spec->in : spec->hidden[l - 1];
        net->lout[l] = l + 1 == L ? spec->out : spec->hidden[l];
    }
    /* Distinct batch sizes, largest first. */
    for (size_t i = 0; i < spec->nbatch_sizes; i++) {
        size_t n = spec->batch_sizes[i], j = net->nplans;
        int dup = 0;

        for (size_t k = 0; k < net->nplans; k++)
            dup |= sizes[k] == n;
        if (dup)
            continue;
        for (; j > 0 && sizes[j - 1] < n; j--) /* insertion sort */
            sizes[j] = sizes[j - 1];
        sizes[j] = n;
        net->nplans++;
    }
    for (size_t i = 0; i < net->nplans; i++)
        net->plans[i].n = sizes[i];

    /* oneDNN sizes its thread pool when primitives are created. */
    if (spec->threads > 0)
        omp_set_num_threads(spec->threads);
    CHECK(dnnl_engine_create(&net->engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&net->stream, net->engine,
                             dnnl_stream_default_flags));

    /* The weights layout: what the largest batch's forward picks (bf16:
     * net_bf16.c picks the copy's and the master weights'). */
    for (size_t l = 0; l < L; l++) {
        size_t unit = MLP_ALIGN_F;

        if (net->dt == dnnl_bf16) {
            if ((rc = mlp_net_bf16_layouts(net, l, sizes[0], ip_fwd_pd)) < 0)
                goto out;
            /* Whole blocks of the pair map start on a block. */
            if (net->wpair[l] && net->wblock[l] % MLP_ALIGN_F == 0)
                unit = net->wblock[l];
        } else {
            rc = ip_fwd_pd(net, l, sizes[0], NULL, &pd);
            if (rc < 0)
                goto out;
            net->wmd[l] = *dnnl_primitive_desc_query_md(
                pd, dnnl_query_weights_md, 0);
            dnnl_primitive_desc_destroy(pd);
            pd = NULL;
        }
        net->wlen[l] = dnnl_memory_desc_get_size(&net->wmd[l]) /
                       sizeof(float);
        net->woff[l] = (net->nflat + unit - 1) / unit * unit;
        net->nflat = net->woff[l] + round_up(net->wlen[l]);
        net->boff[l] = net->nflat;
        net->nflat += round_up(net->lout[l]);
        if (net->dt == dnnl_bf16) {
            net->wboff[l] = net->nwcopy;
            net->nwcopy += round_bytes(dnnl_memory_desc_get_size(
                               &net->wbmd[l])) /
                           sizeof(mlp_bf16_t);
        }
        /* h_l, and dh_l for hidden layers: as plan_create lays them out */
        nact += (l + 1 < L ? 2 : 1) *
                round_bytes(sizes[0] * net->lout[l] *
                            (l + 1 < L ? net->esz : sizeof(float)));
    }
    if (net->dt == dnnl_bf16) /* dL/dlogits, rounded */
        nact += round_bytes(sizes[0] * spec->out * sizeof(mlp_bf16_t));
    /* Dropout: hd_l and its mask per hidden layer, the dropped input
     * (mlp_net_plan_dropout's order). */
    for (size_t l = 0; l + 1 < L && spec->dropout > 0; l++)
        nact += round_bytes(sizes[0] * net->lout[l] * net->esz) +
                round_bytes(sizes[0] * net->lout[l] * sizeof(float));
    if (spec->input_dropout > 0)
        nact += round_bytes(sizes[0] * spec->in * net->esz);
    net->act_bytes = nact;
    if (estimating) {
        for (size_t i = 0; i < net->nplans; i++)
            if ((rc = plan_create(net, &net->plans[i], net->plans[i].n)) < 0)
                goto out;
        *out = net;
        net = NULL;
        goto out;
    }
    net->params = alloc_floats(net->nflat);
    net->grads = alloc_floats(net->nflat);
    net->act = (char *)alloc_floats(nact / sizeof(float));
    if (net->nwcopy > 0)
        net->wcopy = (mlp_bf16_t *)alloc_floats(net->nwcopy / 2);
    if (!net->params || !net->grads || !net->act ||
        (net->nwcopy > 0 && !net->wcopy)) {
        rc = mlp_error_set(MLP_ENOMEM,
                           "net: out of memory for %zu floats and %zu "
                           "bytes",
                           2 * net->nflat, nact + 2 * net->nwcopy);
        goto out;
    }
    for (size_t l = 0; l < L; l++) {
        if (net->wcopy != NULL)
            CHECK(dnnl_memory_create(&net->wb[l], &net->wbmd[l],
                                     net->engine,
                                     net->wcopy + net->wboff[l]));
        CHECK(md_1d(&bmd, net->lout[l]));
        CHECK(dnnl_memory_create(&net->w[l], &net->wmd[l], net->engine,
                                 net->params + net->woff[l]));
        CHECK(dnnl_memory_create(&net->dw[l], &net->wmd[l], net->engine,
                                 net->grads + net->woff[l]));
        CHECK(dnnl_memory_create(&net->b[l], &bmd, net->engine,
                                 net->params + net->boff[l]));
        CHECK(dnnl_memory_create(&net->db[l], &bmd, net->engine,
                                 net->grads + net->boff[l]));
    }
    for (size_t i = 0; i < net->nplans; i++)
        if ((rc = plan_create(net, &net->plans[i], net->plans[i].n)) < 0)
            goto out;
    if (net->scratch_bytes > 0) {
        if (posix_memalign(&net->scratch, MLP_ALIGN, net->scratch_bytes)) {
            net->scratch = NULL;
            rc = mlp_error_set(MLP_ENOMEM,
                               "net: out of memory for a scratchpad of %zu "
                               "bytes",
                               net->scratch_bytes);
            goto out;
        }
        for (size_t i = 0; i < net->nplans; i++) {
            mlp_plan_t *p = &net->plans[i];

            for (int k = 0; k < p->nfwd; k++)
                if ((rc = attach_scratch(net, &p->fwd[k])) < 0)
                    goto out;
            for (int k = 0; k < p->nbwd; k++)
                if ((rc = attach_scratch(net, &p->bwd[k])) < 0)
                    goto out;
        }
    }
    *out = net;
    net = NULL;
out:
    dnnl_primitive_desc_destroy(pd);
    mlp_net_destroy(net);
    return rc;
}

int mlp_net_create(const mlp_net_spec_t *spec, mlp_net_t **out)
{
    return net_build(spec, 0, out);
}

static void net_mem(const mlp_net_t *net, mlp_net_mem_t *mem)
{
    mem->params = (double)net->nflat * sizeof(float);
    mem->act = (double)net->act_bytes;
    mem->scratch = (double)net->scratch_bytes;
    mem->workspace = (double)net->workspace_bytes;
    mem->wcopy = (double)net->nwcopy * sizeof(mlp_bf16_t);
}

int mlp_net_estimate(const mlp_net_spec_t *spec, mlp_net_mem_t *mem)
{
    mlp_net_t *net = NULL;
    int rc;

    memset(mem, 0, sizeof(*mem));
    if ((rc = net_build(spec, 1, &net)) < 0)
        return rc;
    net_mem(net, mem);
    mlp_net_destroy(net);
    return 0;
}

void mlp_net_mem(const mlp_net_t *net, mlp_net_mem_t *mem)
{
    net_mem(net, mem);
}

void mlp_net_destroy(mlp_net_t *net)
{
    if (!net)
        return;
    for (size_t i = 0; i < net->nplans; i++) {
        mlp_plan_t *p = &net->plans[i];

        for (int k = 0; k < p->nfwd; k++) {
            dnnl_primitive_destroy(p->fwd[k].prim);
            dnnl_memory_destroy(p->fwd[k].scratch);
        }
        for (int k = 0; k < p->nbwd; k++) {
            dnnl_primitive_destroy(p->bwd[k].prim);
            dnnl_memory_destroy(p->bwd[k].scratch);
        }
        for (size_t l = 0; l < net->nlayers; l++) {
            dnnl_memory_destroy(p->h[l]);
            dnnl_memory_destroy(p->dh[l]);
            dnnl_memory_destroy(p->hd[l]);
        }
        dnnl_memory_destroy(p->x);
        dnnl_memory_destroy(p->dlogits);
    }
    for (size_t l = 0; l < net->nlayers; l++) {
        dnnl_memory_destroy(net->w[l]);
        dnnl_memory_destroy(net->wb[l]);
        dnnl_memory_destroy(net->b[l]);
        dnnl_memory_destroy(net->dw[l]);
        dnnl_memory_destroy(net->db[l]);
    }
    dnnl_stream_destroy(net->stream);
    dnnl_engine_destroy(net->engine);
    if (!net->params_shared) {
        free(net->params);
        free(net->wcopy);
    }
    free(net->grads);
    free(net->act);
    free(net->scratch);
    free(net);
}

const mlp_net_spec_t *mlp_net_spec(const mlp_net_t *net)
{
    return &net->spec;
}

size_t mlp_net_nlayers(const mlp_net_t *net)
{
    return net->nlayers;
}

void mlp_net_layer_shape(const mlp_net_t *net, size_t l, size_t *in,
                         size_t *out)
{
    if (l >= net->nlayers) {
        *in = *out = 0;
        return;
    }
    *in = net->lin[l];
    *out = net->lout[l];
}

double mlp_net_macs_per_sample(const mlp_net_t *net)
{
    double m = 0;

    for (size_t l = 0; l < net->nlayers; l++)
        m += (double)net->lin[l] * (double)net->lout[l];
    return m;
}

static mlp_plan_t *plan_find(mlp_net_t *net, size_t n)
{
    for (size_t i = 0; i < net->nplans; i++)
        if (net->plans[i].n == n)
            return &net->plans[i];
    return NULL;
}

int mlp_net_run(mlp_net_t *net, const mlp_step_t *steps, int nsteps)
{
    int rc = 0;

    for (int i = 0; i < nsteps; i++)
        CHECK(dnnl_primitive_execute(steps[i].prim, net->stream,
                                     steps[i].nargs, steps[i].args));
    CHECK(dnnl_stream_wait(net->stream));
out:
    return rc;
}

/*
 * The forward of n rows; key NULL: no dropout.  Dropout's memories are
 * pointed at the dropped buffers (training) or at the activations
 * themselves (evaluation), so both run the same primitives.
 */
static int forward(mlp_net_t *net, const void *x, size_t n,
                   const mlp_drop_key_t *key, const float **logits)
{
    int rc = 0;
    mlp_plan_t *p = plan_find(net, n);
    const mlp_net_spec_t *sp = &net->spec;
    int drop;

    net->last_n = 0;
    if (!p)
        return mlp_error_set(MLP_EINVAL,
                             "net: batch size %zu was not prepared", n);
    if (!x)
        return mlp_error_set(MLP_EINVAL, "net: NULL input");
    drop = key && sp->dropout > 0;
    x = mlp_net_drop_input(net, p, x, n, key);
    /* oneDNN only reads src. */
    CHECK(dnnl_memory_set_data_handle(p->x, (void *)x));
    if (sp->dropout <= 0) {
        if ((rc = mlp_net_run(net, p->fwd, p->nfwd)) < 0)
            goto out;
    } else if ((rc = mlp_net_forward_dropout(net, p, n, key)) < 0) {
        goto out;
    }
    net->last_n = n;
    net->last_train = drop;
    if (logits)
        *logits = p->logits;
out:
    return rc;
}

int mlp_net_forward(mlp_net_t *net, const void *x, size_t n,
                    const float **logits)
{
    return forward(net, x, n, NULL, logits);
}

int mlp_net_forward_train(mlp_net_t *net, const void *x, size_t n,
                          const mlp_drop_key_t *key, const float **logits)
{
    return forward(net, x, n, key, logits);
}

int mlp_net_backward(mlp_net_t *net, const float *dlogits, size_t n)
{
    int rc = 0;
    mlp_plan_t *p = plan_find(net, n);

    if (!p)
        return mlp_error_set(MLP_EINVAL,
                             "net: batch size %zu was not prepared", n);
    if (net->last_n != n)
        return mlp_error_set(MLP_EINVAL,
                             "net: backward of batch %zu without its forward",
                             n);
    if (!dlogits)
        return mlp_error_set(MLP_EINVAL, "net: NULL logits gradient");
    if (p->dlbf != NULL) /* bf16: the operand rounded, in the plan */
        mlp_bf16_from_f32(p->dlbf, dlogits, n * net->lout[net->nlayers - 1]);
    else
        CHECK(dnnl_memory_set_data_handle(p->dlogits, (void *)dlogits));
    rc = net->last_train ? mlp_net_backward_dropout(net, p, n)
                         : mlp_net_run(net, p->bwd, p->nbwd);
out:
    return rc;
}

size_t mlp_net_input_bytes(const mlp_net_t *net)
{
    return net->esz;
}

const char *mlp_net_dnnl_version(void)
{
    static _Thread_local char buf[32];
    const dnnl_version_t *v = dnnl_version();

    snprintf(buf, sizeof(buf), "%d.%d.%d", v->major, v->minor, v->patch);
    return buf;
}

const char *mlp_net_isa(void)
{
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41:
        return "sse41";
    case dnnl_cpu_isa_avx:
        return "avx";
    case dnnl_cpu_isa_avx2:
        return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
        return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic:
        return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops:
        return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core:
        return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
        return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
        return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
        return "avx512_core_amx";
    case dnnl_cpu_isa_all:
        return "all";
    default:
        return "unknown";
    }
}

void mlp_net_spec_of(const struct mlp_config *cfg, size_t in, size_t out,
                     mlp_net_spec_t *spec)
{
    *spec = (mlp_net_spec_t){
        .in = in, .out = out, .nhidden = cfg->nhidden, .act = cfg->act,
        .plain_weights = cfg->plain_weights, .dropout = cfg->dropout,
        .input_dropout = cfg->input_dropout};
    memcpy(spec->hidden, cfg->hidden, sizeof(spec->hidden));
}
