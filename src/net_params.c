/*
 * net_params: the net's parameters in and out (see net.h): their count and
 * flat blocks, one layer's weights and bias to and from the caller's
 * row-major (out, in) arrays, whole blocks between the parameter layout and
 * the logical order (for checkpoints), and the seeded initialisation.
 * Weights live in the layout the forward picked (net.c): a reorder
 * converts unless that layout is plain oi, and padding stays zero.  A
 * bf16 net's copy of the weights is refreshed (net_bf16.c) whenever this
 * file writes the parameters.
 *
 * Non-goals: building or running primitives (net.c), the optimizer's
 * update (optim.c), file formats (checkpoint.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "dnnl_check.h"
#include "mlptrain/error.h"
#include "mlptrain/net.h"
#include "mlptrain/rng.h"
#include "net_internal.h"

const char *const mlp_init_names[] = {"normal", "xavier", "he", NULL};

size_t mlp_net_nparams(const mlp_net_t *net)
{
    size_t n = 0;

    for (size_t l = 0; l < net->nlayers; l++)
        n += (net->lin[l] + 1) * net->lout[l];
    return n;
}

/*
 * Copy layer l's weights between user (out, in) row-major and `internal`,
 * the layer's weights in the parameter layout (in params, grads or any block
 * of that layout): to_net 1 writes internal.  A reorder unless the layouts
 * agree.  The one path behind get/set_layer and block export/import.
 */
static int copy_weights(mlp_net_t *net, size_t l, float *internal,
                        float *user, int to_net)
{
    int rc = 0;
    dnnl_memory_desc_t umd;
    dnnl_memory_t um = NULL, im = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t r = NULL;
    dnnl_exec_arg_t args[2];

    CHECK(md_2d(&umd, net->lout[l], net->lin[l], dnnl_oi));
    if (dnnl_memory_desc_equal(&umd, &net->wmd[l])) {
        size_t bytes = net->lout[l] * net->lin[l] * sizeof(float);

        memcpy(to_net ? internal : user, to_net ? user : internal, bytes);
        goto out;
    }
    CHECK(dnnl_memory_create(&um, &umd, net->engine, user));
    CHECK(dnnl_memory_create(&im, &net->wmd[l], net->engine, internal));
    if (to_net)
        CHECK(dnnl_reorder_primitive_desc_create(&pd, &umd, net->engine,
                                                 &net->wmd[l], net->engine,
                                                 NULL));
    else
        CHECK(dnnl_reorder_primitive_desc_create(&pd, &net->wmd[l],
                                                 net->engine, &umd,
                                                 net->engine, NULL));
    CHECK(dnnl_primitive_create(&r, pd));
    args[0].arg = DNNL_ARG_FROM;
    args[0].memory = to_net ? um : im;
    args[1].arg = DNNL_ARG_TO;
    args[1].memory = to_net ? im : um;
    CHECK(dnnl_primitive_execute(r, net->stream, 2, args));
    CHECK(dnnl_stream_wait(net->stream));
out:
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(pd);
    dnnl_memory_destroy(im);
    dnnl_memory_destroy(um);
    return rc;
}

/*
 * Layer l between `block` (parameter layout) and w (out, in), b (out).
 * Before writing a block the layer's region is zeroed: whatever the reorder
 * does with padding, padding ends up zero.
 */
static int copy_layer(mlp_net_t *net, size_t l, float *block, float *w,
                      float *b, int to_net)
{
    int rc;

    if (to_net) /* weights, bias and their padding */
        memset(block + net->woff[l], 0,
               (net->boff[l] + round_up(net->lout[l]) - net->woff[l]) *
                   sizeof(float));
    if ((rc = copy_weights(net, l, block + net->woff[l], w, to_net)) < 0)
        return rc;
    memcpy(to_net ? block + net->boff[l] : b,
           to_net ? b : block + net->boff[l], net->lout[l] * sizeof(float));
    if (to_net && block == net->params)
        mlp_net_bf16_sync(net, net->woff[l], net->woff[l] + net->wlen[l]);
    return 0;
}

int mlp_net_get_layer(mlp_net_t *net, size_t l, float *w, float *b)
{
    if (l >= net->nlayers || !w || !b)
        return mlp_error_set(MLP_EINVAL, "net: no layer %zu (of %zu) or NULL "
                             "buffer", l, net->nlayers);
    return copy_layer(net, l, net->params, w, b, 0);
}

int mlp_net_set_layer(mlp_net_t *net, size_t l, const float *w,
                      const float *b)
{
    if (l >= net->nlayers || !w || !b)
        return mlp_error_set(MLP_EINVAL, "net: no layer %zu (of %zu) or NULL "
                             "buffer", l, net->nlayers);
    /* The reorder and the copy only read from w and b. */
    return copy_layer(net, l, net->params, (float *)w, (float *)b, 1);
}

/* Export or import every layer, in the logical order of net.h. */
static int copy_block(mlp_net_t *net, float *block, float *logical,
                      int to_net)
{
    int rc;

    if (!block || !logical)
        return mlp_error_set(MLP_EINVAL, "net: NULL block");
    for (size_t l = 0; l < net->nlayers; l++) {
        float *w = logical, *b = w + net->lin[l] * net->lout[l];

        if ((rc = copy_layer(net, l, block, w, b, to_net)) < 0)
            return rc;
        logical = b + net->lout[l];
    }
    return 0;
}

int mlp_net_block_export(mlp_net_t *net, const float *block, float *logical)
{
    /* Reading: the block is not written. */
    return copy_block(net, (float *)block, logical, 0);
}

int mlp_net_block_import(mlp_net_t *net, const float *logical, float *block)
{
    return copy_block(net, block, (float *)logical, 1);
}

/* Layer l's weights' standard deviation under kind (see net.h). */
static double init_std(const mlp_net_t *net, size_t l, mlp_init_t kind,
                       float std)
{
    double in = (double)net->lin[l], out = (double)net->lout[l];

    switch (kind) {
    case MLP_INIT_XAVIER:
        return sqrt(2.0 / (in + out));
    case MLP_INIT_HE:
        return sqrt(2.0 / in);
    default:
        return std;
    }
}

int mlp_net_init(mlp_net_t *net, uint64_t seed, float std)
{
    return mlp_net_init_as(net, seed, MLP_INIT_NORMAL, std);
}

int mlp_net_init_as(mlp_net_t *net, uint64_t seed, mlp_init_t kind,
                    float std)
{
    int rc = 0;
    size_t maxw = 0, maxb = 0;
    float *w = NULL, *b = NULL;

    if ((unsigned)kind > MLP_INIT_HE)
        return mlp_error_set(MLP_EINVAL, "net: unknown init %d", (int)kind);
    if (kind == MLP_INIT_NORMAL && !(std >= 0))
        return mlp_error_set(MLP_EINVAL, "net: init std %g", (double)std);
    for (size_t l = 0; l < net->nlayers; l++)
        if (net->lin[l] * net->lout[l] > maxw)
            maxw = net->lin[l] * net->lout[l];
    for (size_t l = 0; l < net->nlayers; l++)
        if (net->lout[l] > maxb)
            maxb = net->lout[l];
    w = malloc(maxw * sizeof(float));
    b = calloc(maxb, sizeof(float)); /* biases start at zero */
    if (!w || !b) {
        rc = mlp_error_set(MLP_ENOMEM, "net: out of memory for init");
        goto out;
    }
    for (size_t l = 0; l < net->nlayers; l++) {
        mlp_rng_t r;
        size_t nw = net->lin[l] * net->lout[l];
        /* normal: the float std, promoted, as it always was */
        double sd = init_std(net, l, kind, std);

        mlp_rng_seed(&r, seed, l);
        for (size_t i = 0; i < nw; i++)
            w[i] = (float)(mlp_rng_normal(&r) * sd);
        if ((rc = mlp_net_set_layer(net, l, w, b)) < 0)
            goto out;
    }
out:
    free(w);
    free(b);
    return rc;
}

void mlp_net_params(mlp_net_t *net, float **params, float **grads, size_t *n)
{
    *params = net->params;
    *grads = net->grads;
    *n = net->nflat;
}

void mlp_net_params_changed(mlp_net_t *net, size_t lo, size_t hi)
{
    mlp_net_bf16_sync(net, lo, hi);
}

int mlp_net_create_replica(const mlp_net_t *base, mlp_net_t **out)
{
    mlp_net_spec_t spec = base->spec;
    mlp_net_t *net = NULL;
    int rc;

    *out = NULL;
    spec.threads = 1;
    if ((rc = mlp_net_create(&spec, &net)) < 0)
        return rc;
    for (size_t l = 0; l < net->nlayers; l++)
        if (!dnnl_memory_desc_equal(&net->wmd[l], &base->wmd[l]) ||
            (net->wcopy != NULL &&
             !dnnl_memory_desc_equal(&net->wbmd[l], &base->wbmd[l]))) {
            rc = mlp_error_set(MLP_EINVAL,
                               "net: a one-thread replica picks another "
                               "weights layout for layer %zu than its base "
                               "net (make the base with threads 1)",
                               l);
            goto out;
        }
    free(net->params);
    free(net->wcopy);
    net->params = base->params;
    net->wcopy = base->wcopy;
    net->params_shared = 1;
    for (size_t l = 0; l < net->nlayers; l++) {
        CHECK(dnnl_memory_set_data_handle(net->w[l],
                                          net->params + net->woff[l]));
        CHECK(dnnl_memory_set_data_handle(net->b[l],
                                          net->params + net->boff[l]));
        if (net->wcopy != NULL)
            CHECK(dnnl_memory_set_data_handle(
                net->wb[l], net->wcopy + net->wboff[l]));
    }
    *out = net;
    net = NULL;
out:
    mlp_net_destroy(net);
    return rc;
}

int mlp_net_set_grads(mlp_net_t *net, float *grads)
{
    float *g = grads != NULL ? grads : net->grads;
    int rc = 0;

    for (size_t l = 0; l < net->nlayers; l++) {
        CHECK(dnnl_memory_set_data_handle(net->dw[l], g + net->woff[l]));
        CHECK(dnnl_memory_set_data_handle(net->db[l], g + net->boff[l]));
    }
out:
    return rc;
}
