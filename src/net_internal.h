/*
 * net_internal: the net's state, shared by the four files that make up
 * the net module: net.c (plan, build, forward, backward), net_params.c
 * (parameters in and out), net_dropout.c (dropout's buffers, masks and
 * passes) and net_bf16.c (the bf16 copy of the weights, the layouts it
 * pairs with, the calibration).  Private to those files: not in include/,
 * not installed; everyone else sees the opaque mlp_net_t of net.h.
 */
#ifndef MLPTRAIN_NET_INTERNAL_H
#define MLPTRAIN_NET_INTERNAL_H

#include <stddef.h>

#include <oneapi/dnnl/dnnl.h>

#include "mlptrain/bf16.h"
#include "mlptrain/net.h"

#define MLP_MAX_LAYERS (MLP_MAX_HIDDEN + 1)
#define MLP_MAX_ARGS 5
#define MLP_ALIGN 64                     /* bytes, for every tensor */
#define MLP_ALIGN_F (MLP_ALIGN / sizeof(float))

/* One primitive and the arguments it runs with. */
typedef struct {
    dnnl_primitive_t prim;
    dnnl_memory_desc_t smd;  /* its scratchpad (size 0: none) */
    dnnl_memory_t scratch;   /* smd over net->scratch */
    int nargs;
    dnnl_exec_arg_t args[MLP_MAX_ARGS];
} mlp_step_t;

/* Everything that runs for one batch size n.  Activations and their
 * gradients are of the net's type (dt: f32, or bf16); logits f32. */
typedef struct {
    size_t n;
    dnnl_memory_t x;                  /* (n, in), the caller's buffer */
    dnnl_memory_t dlogits;            /* (n, out), the caller's buffer;
                                         bf16: dlbf */
    mlp_bf16_t *dlbf;                 /* (n, out): bf16 nets' dL/dlogits,
                                         rounded from the caller's */
    float *logits;                    /* (n, out): h of the last layer */
    dnnl_memory_t h[MLP_MAX_LAYERS];  /* (n, out_l): act(W_l h_{l-1} + b_l) */
    dnnl_memory_t dh[MLP_MAX_LAYERS]; /* (n, out_l): dL/dh_l, then dL/dz_l;
                                         hidden layers only */
    /* Dropout (spec.dropout > 0, hidden layers): hd_l is what layer l + 1
     * reads, forward and backward-weights; a training forward points it at
     * hdbuf[l] = h_l * mask_l / (1 - p), an evaluating one at h_l itself.
     * h_l stays the activation before dropout: the eltwise backward needs
     * it (act' from dst), and the mask is kept for the backward (as the
     * factor itself, a float: both passes are then plain vector loops). */
    dnnl_memory_t hd[MLP_MAX_LAYERS];  /* (n, out_l); NULL: no dropout */
    void *hbuf[MLP_MAX_LAYERS];        /* (n, out_l): h_l's data */
    void *hdbuf[MLP_MAX_LAYERS];       /* (n, out_l): dropped h_l */
    float *mask[MLP_MAX_LAYERS];      /* (n, out_l): 1/(1-p) kept, 0 not */
    void *xd;                         /* (n, in): dropped input; NULL: none */
    int nfwd, nbwd;
    mlp_step_t fwd[MLP_MAX_LAYERS];
    mlp_step_t bwd[3 * MLP_MAX_LAYERS];
    /* Before bwd[k] runs, a training backward multiplies dh_l by layer l's
     * mask and scale, l = bwd_mask[k] - 1 (0: nothing). */
    int bwd_mask[3 * MLP_MAX_LAYERS];
} mlp_plan_t;

struct mlp_net {
    mlp_net_spec_t spec;            /* as given */
    size_t nlayers;                 /* nhidden + 1 */
    size_t lin[MLP_MAX_LAYERS];     /* layer l maps lin[l] ... */
    size_t lout[MLP_MAX_LAYERS];    /* ... to lout[l] values */
    dnnl_data_type_t dt;            /* the products' operands: f32, bf16 */
    size_t esz;                     /* bytes of one: 4, 2 */
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    dnnl_memory_desc_t wmd[MLP_MAX_LAYERS]; /* (out, in), chosen layout of
                                               the f32 weights, gradients */
    size_t woff[MLP_MAX_LAYERS];    /* floats into params/grads */
    size_t boff[MLP_MAX_LAYERS];
    size_t nflat;                   /* floats in params, grads; padding in */
    float *params;                  /* (nflat): W_0 b_0 W_1 b_1 ... */
    int params_shared;              /* params and wcopy are a base net's
                                       (replica) */
    float *grads;                   /* (nflat): same offsets as params */
    /* bf16 nets: the weights the products read, a copy of params in the
     * bf16 layout wbmd[l] (net_bf16.c).  Element k of layer l's weights
     * in params (wmd) is element map(k) of its copy: the same index
     * (wpair 0: the layouts agree), or, for oneDNN's VNNI layouts, which
     * interleave pairs of input rows, the pair map with wpair = the
     * values of a block row (see net_bf16.c). */
    dnnl_memory_desc_t wbmd[MLP_MAX_LAYERS];
    size_t wboff[MLP_MAX_LAYERS];   /* values into wcopy */
    size_t wlen[MLP_MAX_LAYERS];    /* floats of layer l's weights (padded) */
    size_t wpair[MLP_MAX_LAYERS];   /* 0, or values per block row */
    size_t wblock[MLP_MAX_LAYERS];  /* pair map: values per block */
    mlp_bf16_t *wcopy;              /* (nwcopy); NULL for f32 nets */
    size_t nwcopy;
    dnnl_memory_t wb[MLP_MAX_LAYERS]; /* views into wcopy */
    char *act;                      /* h_l and dh_l blocks, largest batch */
    dnnl_memory_t w[MLP_MAX_LAYERS];  /* views into params and grads */
    dnnl_memory_t b[MLP_MAX_LAYERS];
    dnnl_memory_t dw[MLP_MAX_LAYERS];
    dnnl_memory_t db[MLP_MAX_LAYERS];
    void *scratch;                  /* (scratch_bytes): every primitive's */
    size_t scratch_bytes;           /* largest scratchpad */
    size_t workspace_bytes;         /* all workspaces (none are used) */
    size_t act_bytes;               /* bytes in act (dropout's in) */
    int estimating;                 /* mlp_net_estimate: descriptors only */
    size_t nplans;
    mlp_plan_t plans[MLP_MAX_BATCH_SIZES]; /* plans[0]: the largest batch */
    size_t last_n;                  /* batch of the last forward, 0: none */
    int last_train;                 /* the last forward dropped units */
};

/* n floats rounded up to a whole number of MLP_ALIGN blocks. */
static inline size_t round_up(size_t n)
{
    return (n + MLP_ALIGN_F - 1) / MLP_ALIGN_F * MLP_ALIGN_F;
}

/* n bytes rounded up likewise. */
static inline size_t round_bytes(size_t n)
{
    return (n + MLP_ALIGN - 1) / MLP_ALIGN * MLP_ALIGN;
}

/* A plain (a, b) memory descriptor of type dt in layout tag. */
static inline dnnl_status_t md_2d_dt(dnnl_memory_desc_t *md, size_t a,
                                     size_t b, dnnl_data_type_t dt,
                                     dnnl_format_tag_t tag)
{
    dnnl_dims_t dims = {(dnnl_dim_t)a, (dnnl_dim_t)b};

    return dnnl_memory_desc_init_by_tag(md, 2, dims, dt, tag);
}

/* The same in f32. */
static inline dnnl_status_t md_2d(dnnl_memory_desc_t *md, size_t a, size_t b,
                                  dnnl_format_tag_t tag)
{
    return md_2d_dt(md, a, b, dnnl_f32, tag);
}

/* Run nsteps steps in order and wait for them (net.c).  Fails with
 * MLP_EDNNL naming the call. */
int mlp_net_run(mlp_net_t *net, const mlp_step_t *steps, int nsteps);

/*
 * Dropout (net_dropout.c).  mlp_net_plan_dropout makes plan p's dropout
 * memories and buffers (batch n) in net->act from float `off` on, after
 * the plain net's, in the order net_build counts them; nothing without
 * dropout.  Fails with MLP_EDNNL.
 */
int mlp_net_plan_dropout(mlp_net_t *net, mlp_plan_t *p, size_t n, size_t off);

/* The input the first layer reads: x itself, or (key given and input
 * dropout on) x dropped into p->xd.  Cannot fail. */
const void *mlp_net_drop_input(mlp_net_t *net, mlp_plan_t *p, const void *x,
                               size_t n, const mlp_drop_key_t *key);

/*
 * The forward of a net with dropout (spec.dropout > 0), its input set:
 * layer by layer, each hidden layer's hd_l pointed at its dropped copy
 * (key given: training, masks keyed by key) or at h_l itself (key NULL:
 * evaluation).  Fails with MLP_EDNNL.
 */
int mlp_net_forward_dropout(mlp_net_t *net, mlp_plan_t *p, size_t n,
                            const mlp_drop_key_t *key);

/* The backward after a training forward with dropout: each dL/dhd_l
 * multiplied by its mask before layer l's steps.  Fails with MLP_EDNNL. */
int mlp_net_backward_dropout(mlp_net_t *net, mlp_plan_t *p, size_t n);

/*
 * bf16 weights (net_bf16.c).  mlp_net_bf16_layouts picks layer l's two
 * layouts, for the largest batch: wbmd[l] (the forward's bf16 choice) and
 * wmd[l] (the backward-weights' choice for f32 gradients) when they pair
 * element for element (wpair, wblock set), else plain oi for both; with
 * spec.plain_weights plain oi.  fwd_pd makes the forward of layer l on
 * a weights md (NULL: any).  Fails with MLP_EDNNL.
 */
typedef int (*mlp_net_fwd_pd_fn)(mlp_net_t *net, size_t l, size_t n,
                                 const dnnl_memory_desc_t *wmd,
                                 dnnl_primitive_desc_t *pdp);
int mlp_net_bf16_layouts(mlp_net_t *net, size_t l, size_t n,
                         mlp_net_fwd_pd_fn fwd_pd);
/* Round params' weights [lo, hi) (flat floats) into wcopy. */
void mlp_net_bf16_sync(mlp_net_t *net, size_t lo, size_t hi);

#endif
