/*
 * net: a multilayer perceptron of any depth on oneDNN 2.x primitives.
 *
 * Layers: in -> hidden[0] -> ... -> hidden[nhidden-1] -> out, each an inner
 * product; every hidden layer is followed by the activation (ReLU, sigmoid
 * or tanh), fused into the inner product as a post-op; the output layer is
 * linear (logits).  Backward runs the eltwise backward (the *_use_dst_for_bwd
 * algorithms, so it needs only the stored activations), inner-product
 * backward-data and backward-weights (with bias).
 *
 * Dropout (spec.dropout on every hidden layer's output, after the
 * activation; spec.input_dropout on the input) runs only in the training
 * forward, mlp_net_forward_train, with masks keyed by (seed, epoch, batch,
 * site, row, unit): inverted dropout, as PyTorch's.  Zero rates build the
 * plain net.
 *
 * Parameters live in one aligned block, gradients in another of the same
 * size and layout, so an optimizer is one flat loop and a checkpoint one
 * write.  Weights are stored in the layout oneDNN picks for them (a blocked
 * layout, possibly with zero padding) unless spec.plain_weights is set; the
 * logical (out, in) row-major view is reached with mlp_net_get_layer and
 * mlp_net_set_layer.  Padding stays zero: gradients are zero there.
 *
 * All primitives, for every batch size listed in the spec, and all memory are
 * created by mlp_net_create; forward and backward allocate nothing.
 *
 * Precision (spec.precision) is how the products compute, not what the
 * model is: the parameters, gradients and logits are f32 in both.
 * MLP_PREC_BF16 is mixed precision as oneDNN's bf16 training and PyTorch's
 * CPU autocast do it: every inner product takes bf16 operands (the input,
 * the activations, the gradients flowing back, and a bf16 copy of the
 * weights) and accumulates in f32; its weight and bias gradients, the
 * biases and the logits stay f32.  The input x comes as bf16 (the loader
 * decodes straight into it: mlp_net_input_bytes), dL/dlogits as f32 (the
 * net rounds it).  The bf16 copy of the weights follows the f32 master
 * weights: a writer of the parameters through mlp_net_params tells the
 * net which ones it wrote (mlp_net_params_changed: the optimizer's pass
 * does, range by range, so the copy costs no pass of its own); set_layer,
 * block import and init refresh it themselves.
 *
 * Threads: oneDNN uses omp_get_max_threads() at primitive creation; create
 * sets it to spec.threads (when > 0).  A net is not thread-safe: create, use
 * and destroy it on one thread.  Replicas (mlp_net_create_replica) let
 * several threads each run a net of the same weights.
 *
 * Errors: MLP_EINVAL (bad spec, batch size not prepared), MLP_ENOMEM,
 * MLP_EDNNL (the message names the oneDNN call and its status).
 */
#ifndef MLPTRAIN_NET_H
#define MLPTRAIN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/rng.h"

#define MLP_MAX_HIDDEN 16
/* The widest layer (input, hidden, classes) and the largest batch the net
 * takes: keeps every size product in range.  The one width limit. */
#define MLP_MAX_WIDTH ((size_t)1 << 24)
#define MLP_MAX_BATCH_SIZES 8

/*
 * The activations, declared once: enum name, user-facing name, and the
 * oneDNN eltwise algorithms (dnnl_eltwise_*) of the forward post-op and of
 * the backward from the activations (dst).  The enum, mlp_act_name,
 * mlp_act_parse, the net's primitives and activations.c's values and
 * derivatives all come from this list.  Adding an activation: one line.
 */
#define MLP_ACT_MAP(X)                                                      \
    X(RELU, "relu", relu, relu_use_dst_for_bwd)                             \
    X(SIGMOID, "sigmoid", logistic, logistic_use_dst_for_bwd)               \
    X(TANH, "tanh", tanh, tanh_use_dst_for_bwd)

typedef enum {
#define MLP_ACT_ENUM(id, name, fwd, bwd) MLP_ACT_##id,
    MLP_ACT_MAP(MLP_ACT_ENUM)
#undef MLP_ACT_ENUM
    MLP_NACT /* how many */
} mlp_act_t;

/* How the products compute (see above); auto is for options: a net is
 * made f32 or bf16 (mlp_net_choose_precision picks). */
typedef enum { MLP_PREC_F32, MLP_PREC_BF16, MLP_PREC_AUTO } mlp_precision_t;
/* "f32", "bf16", "auto", NULL */
extern const char *const mlp_precision_names[];

/* Weight initialisation: N(0, std^2), Xavier (Glorot) normal, He (Kaiming)
 * normal; biases 0. */
typedef enum { MLP_INIT_NORMAL, MLP_INIT_XAVIER, MLP_INIT_HE } mlp_init_t;
/* "normal", "xavier", "he", NULL */
extern const char *const mlp_init_names[];

typedef struct {
    size_t in;                      /* input width (pixels) */
    size_t out;                     /* classes */
    size_t nhidden;                 /* 0: softmax regression */
    size_t hidden[MLP_MAX_HIDDEN];  /* widths */
    mlp_act_t act;
    size_t batch_sizes[MLP_MAX_BATCH_SIZES]; /* sizes forward/backward take */
    size_t nbatch_sizes;            /* >= 1 */
    int threads;                    /* OpenMP threads; 0: leave as is */
    int plain_weights;              /* 1: weights in plain (out, in) */
    float dropout;                  /* hidden layers' outputs, [0, 1) */
    float input_dropout;            /* the input, [0, 1) */
    mlp_precision_t precision;      /* MLP_PREC_F32 (0) or MLP_PREC_BF16 */
} mlp_net_spec_t;

/*
 * What a training forward's dropout masks are drawn from: the run's seed,
 * the epoch, the (global) batch's index k within it and the offset row0 of
 * the forward's rows in that batch (a micro-batch's first row; 0 for a
 * whole batch).  The mask of unit j of row i (of the batch: row0 + the
 * row's index in the forward) at site s (0: the input; l + 1: the output of hidden layer l) keeps the
 * unit iff
 *     mlp_rng_bits32(K, j) >= (uint32_t)(p * 2^32),
 *     K = key(key(key(key(key(MLP_NET_DROP_DOMAIN, seed), epoch), batch),
 *             s), i)     with key = mlp_rng_key (rng.h),
 * and a kept unit is multiplied by 1 / (1 - p) (inverted dropout, as
 * PyTorch): a pure function of the keys, the same for any thread count and
 * after a resume.
 */
typedef struct {
    uint64_t seed;
    uint64_t epoch;
    uint64_t batch;
    uint64_t row0;   /* the forward's row 0 is row row0 of the batch */
} mlp_drop_key_t;
#define MLP_NET_DROP_DOMAIN 0x64726f706f7574ULL /* "dropout" */

typedef struct mlp_net mlp_net_t;

/* "relu", "sigmoid", "tanh"; mlp_act_parse returns -1 for unknown names. */
const char *mlp_act_name(mlp_act_t act);
int mlp_act_parse(const char *name);

/*
 * The oneDNN eltwise algorithms (dnnl_alg_kind_t values) of act: the
 * forward post-op and the backward from the activations.  MLP_EINVAL for an
 * unknown act.
 */
int mlp_act_algs(mlp_act_t act, int *fwd, int *bwd);

struct mlp_config;

/*
 * The spec of a run's net (the one place it is built from the run options,
 * options.h): in and out from the data, the hidden widths, activation,
 * weight layout and dropouts from cfg; no batch sizes and threads 0 (the
 * step adds them: mlp_step_spec_sizes, mlp_step_net_threads).
 */
void mlp_net_spec_of(const struct mlp_config *cfg, size_t in, size_t out,
                     mlp_net_spec_t *spec);

/*
 * Add to spec->batch_sizes the sizes a split of n samples is cut into by
 * batches of `batch`: full batches and the rest, each once, none zero.
 * Nothing for batch 0 or when the list is full (MLP_MAX_BATCH_SIZES:
 * mlp_net_create then refuses a size it was not given).
 */
void mlp_net_spec_add_split(mlp_net_spec_t *spec, size_t n, size_t batch);

/*
 * "784-256-10": the widths in to out, cut to fit len (len > 0); returns buf.
 * The activation beside it is mlp_net_act_label(): a net without hidden
 * layers has none ("linear").
 */
char *mlp_net_shape_str(char *buf, size_t len, size_t in,
                        const size_t *hidden, size_t nhidden, size_t out);
const char *mlp_net_act_label(mlp_act_t act, size_t nhidden);

int mlp_net_create(const mlp_net_spec_t *spec, mlp_net_t **out);

/*
 * The bytes a net of this spec allocates, from oneDNN's primitive
 * descriptors (made, queried and destroyed: nothing big is allocated, no
 * primitive is made), so a caller can refuse a net that cannot fit before
 * making it.  The net's memory is exactly: params for the parameters and
 * as much again for the gradients (blocked layouts' padding in), act for
 * every layer's activations and their gradients at the largest batch (with
 * dropout also the dropped copies and their masks; bf16: half the bytes,
 * and the rounded dL/dlogits),
 * scratch for the one scratchpad all primitives share (the largest any
 * needs; the primitives run with a user scratchpad, so oneDNN allocates
 * none of its own), workspace (0: no primitive used needs one), and
 * wcopy, the bf16 copy of the weights (0 for f32; replicas share it).  Not
 * counted: oneDNN's JIT code, and the small reorders of get/set_layer and
 * block export/import.  Errors as mlp_net_create.
 */
typedef struct {
    double params;
    double act;
    double scratch;
    double workspace;
    double wcopy;
} mlp_net_mem_t;

int mlp_net_estimate(const mlp_net_spec_t *spec, mlp_net_mem_t *mem);
/* The same figures of a net that was made. */
void mlp_net_mem(const mlp_net_t *net, mlp_net_mem_t *mem);
/* NULL is a no-op. */
void mlp_net_destroy(mlp_net_t *net);

const mlp_net_spec_t *mlp_net_spec(const mlp_net_t *net);
/* Layers with parameters: nhidden + 1. */
size_t mlp_net_nlayers(const mlp_net_t *net);
/* Layer l maps *in values to *out values. */
void mlp_net_layer_shape(const mlp_net_t *net, size_t l, size_t *in,
                         size_t *out);
/* Parameters (logical, not counting padding) of all layers. */
size_t mlp_net_nparams(const mlp_net_t *net);
/* Multiply-adds of one sample's forward pass (sum of in * out). */
double mlp_net_macs_per_sample(const mlp_net_t *net);

/*
 * Weights drawn from N(0, std^2) in logical (out, in) order, layer l from
 * rng stream l of `seed`; biases zero.  mlp_net_init_as(net, seed,
 * MLP_INIT_NORMAL, std).
 */
int mlp_net_init(mlp_net_t *net, uint64_t seed, float std);

/*
 * As mlp_net_init with the standard deviation of layer l (in -> out) by
 * kind: MLP_INIT_NORMAL std; MLP_INIT_XAVIER sqrt(2 / (in + out)) (Glorot
 * normal, PyTorch's xavier_normal_); MLP_INIT_HE sqrt(2 / in) (Kaiming
 * normal, fan_in, ReLU gain; PyTorch's kaiming_normal_).  The same draws
 * as normal, scaled.  MLP_EINVAL for a bad kind or std (std is only read by
 * normal).
 */
int mlp_net_init_as(mlp_net_t *net, uint64_t seed, mlp_init_t kind,
                    float std);

/*
 * Copy layer l out to / in from w (out, in) row-major and b (out): a reorder
 * unless the weights are plain; it allocates, so keep it off the hot path.
 * The gradients of layer l read the same way after copying the gradient
 * block over the parameter block (same offsets).  MLP_EINVAL for l out of
 * range.
 */
int mlp_net_get_layer(mlp_net_t *net, size_t l, float *w, float *b);
int mlp_net_set_layer(mlp_net_t *net, size_t l, const float *w,
                      const float *b);

/*
 * The flat parameter and gradient blocks (internal layout, same for both),
 * *n floats each, padding included.  For optimizers; the pointers stay valid
 * for the net's life.  Whoever writes parameters through the pointer calls
 * mlp_net_params_changed for them before the next forward.
 */
void mlp_net_params(mlp_net_t *net, float **params, float **grads, size_t *n);

/*
 * Parameters [lo, hi) of the flat block (hi clipped to its size) were
 * written: a bf16 net rounds those weights into its bf16 copy (an f32 net
 * has nothing to do).  Disjoint ranges may be refreshed on different
 * threads at once, while no forward or backward of the net or its
 * replicas runs.  Cannot fail.
 */
void mlp_net_params_changed(mlp_net_t *net, size_t lo, size_t hi);

/* Bytes of one input value forward takes: 4 (float) or 2 (mlp_bf16_t). */
size_t mlp_net_input_bytes(const mlp_net_t *net);

/*
 * A replica of base for another compute thread: a net of base's spec made
 * with one oneDNN thread (call it on the thread that will run it), whose
 * forward and backward read base's parameter block (mlp_net_params of the
 * replica returns that block too), with its own activations, gradients and
 * scratchpad.  base must be made with threads 1 (else its weights layout
 * may differ: MLP_EINVAL) and outlive the replica.  Writing base's
 * parameters while a replica runs is a race: the caller orders them.
 * Errors as mlp_net_create.
 */
int mlp_net_create_replica(const mlp_net_t *base, mlp_net_t **out);

/*
 * Where the following backwards write the gradients: grads, a block of
 * mlp_net_params' layout and size (padding zeroed by the caller), or NULL
 * for the net's own block.  Cheap (no allocation): a parallel step points
 * each micro-batch's backward at that micro-batch's buffer.  Fails with
 * MLP_EDNNL.
 */
int mlp_net_set_grads(mlp_net_t *net, float *grads);

/*
 * Convert a block in the parameter layout (*n floats of mlp_net_params:
 * parameters, gradients, or an optimizer state of the same layout) to or
 * from the logical layout: per layer, weights (out, in) row-major then bias
 * (out), mlp_net_nparams() floats in all.  Import zeroes the block's
 * padding.  The same reorders as get/set_layer: they allocate, keep them
 * off the hot path.  For checkpoints.
 */
int mlp_net_block_export(mlp_net_t *net, const float *block, float *logical);
int mlp_net_block_import(mlp_net_t *net, const float *logical, float *block);

/*
 * Forward n rows of x (n, in), n one of the prepared batch sizes, x in
 * the net's input type (float, or mlp_bf16_t for a bf16 net:
 * mlp_net_input_bytes).  *logits gets (n, out) f32 row-major, owned by
 * the net, valid until the next forward.
 * x is used in place (no copy) and must stay unchanged until backward
 * returns.  MLP_EINVAL if n was not prepared; a failed forward leaves no
 * forward for backward to follow.
 */
int mlp_net_forward(mlp_net_t *net, const void *x, size_t n,
                    const float **logits);

/*
 * The training forward: as mlp_net_forward, with the spec's dropout on the
 * input and on every hidden layer's output (after the activation), masks
 * drawn from key (see mlp_drop_key_t); the following backward multiplies
 * the gradients by the same masks.  key NULL, or no dropout in the spec:
 * exactly mlp_net_forward.  mlp_net_forward never drops.  Costs one pass
 * over each dropped tensor (the mask computed and applied together),
 * parallel over rows.
 */
int mlp_net_forward_train(mlp_net_t *net, const void *x, size_t n,
                          const mlp_drop_key_t *key, const float **logits);

/*
 * Backward of the last forward (same n): dlogits (n, out) is the gradient of
 * the loss with respect to the logits, used in place (a bf16 net reads it
 * into its bf16 copy first).  Overwrites every
 * gradient (padding stays zero).  MLP_EINVAL if the last successful forward
 * was not of n rows.  May run again after the same forward.
 */
int mlp_net_backward(mlp_net_t *net, const float *dlogits, size_t n);

/*
 * bf16 on this machine (net_bf16.c).  mlp_net_bf16_available: 1 when
 * oneDNN has bf16 inner products here (forward and both backwards, tried
 * on a small shape), else 0 with why (the ISA named).  Cheap (about a
 * millisecond, primitive descriptors only).
 */
int mlp_net_bf16_available(char *why, size_t len);

/*
 * The choice of a run's precision, and what it was based on.
 * mlp_net_choose_precision: asked f32 gives f32; bf16 gives bf16, or
 * MLP_EUSAGE naming the option and the ISA when oneDNN has none here;
 * auto gives bf16 only where it is available and a calibration of this
 * model's own products shows it at least MLP_BF16_MIN_SPEEDUP times
 * faster, else f32 saying why.  The calibration makes an f32 and a bf16
 * net of spec (dropout off, batches of `rows`, spec.threads) and times
 * their forward and backward passes, interleaved, until 0.8 x
 * MLP_CALIBRATE_SECONDS have gone since it began (the nets, their JIT
 * and a first pass of each included; fewer rows when one f32 pass would
 * take over an eighth of that): under 0.1 s unless the process loses its
 * core meanwhile.  The ratio of the fastest passes is the speed-up.
 * Errors: MLP_EUSAGE above, the net's.
 */
#define MLP_BF16_MIN_SPEEDUP 1.3
#define MLP_CALIBRATE_SECONDS 0.1
typedef struct {
    mlp_precision_t asked;
    mlp_precision_t used;   /* MLP_PREC_F32 or MLP_PREC_BF16 */
    double speedup;         /* f32 seconds / bf16 seconds; 0: not timed */
    double seconds;         /* the calibration's wall time; 0: none ran */
    size_t rows;            /* the calibration's batch */
    char why[192];          /* a phrase: why `used` (auto), else "" */
} mlp_precision_choice_t;

int mlp_net_choose_precision(const mlp_net_spec_t *spec,
                             mlp_precision_t asked, size_t rows,
                             mlp_precision_choice_t *c);

/*
 * The calibration itself: seconds of the fastest forward and backward of
 * batches of `rows` in f32 and in bf16 (interleaved; within `budget`
 * seconds in all when one pass of each takes under a quarter of it; at
 * least one timed pass each).  bf16 must be available.
 */
int mlp_net_calibrate(const mlp_net_spec_t *spec, size_t rows, double budget,
                      double *f32_s, double *bf16_s);

/* oneDNN's version "2.6.3" and the ISA it dispatches to, e.g. "avx512_core". */
const char *mlp_net_dnnl_version(void);
const char *mlp_net_isa(void);

#endif
