/*
 * optim: SGD (momentum, Nesterov, weight decay), Adam and AdamW over one
 * flat block (see optim.h for the rules and the state layout).
 *
 * Each rule is one fused loop over a range of the block, vectorized (omp
 * simd); mlp_optim_step splits large blocks into chunks the OpenMP threads
 * take dynamically, the parallel step (step.c) into ranges its own threads
 * take:
 * the update is memory-bound (SGD reads 2 and writes 1 value per
 * parameter, Adam reads 4 and writes 3).  Adam's loop vectorizes only
 * because the build passes -fno-math-errno (Makefile.am): otherwise GCC
 * keeps a scalar sqrtf call beside the instruction, for errno.  At
 * 784-256-10, batch 256, on the 2-core reference machine (bench_step
 * --optim): SGD 31 us a step (3% of it), Adam 70 us on one thread and
 * 90-110 us on two (8-10%; its 5.7 MB of traffic a step is near the
 * cache's bandwidth, and the gradients arrive in the other core's cache).
 * The block
 * is the net's parameters with padding, where parameters and gradients
 * are zero and stay zero under every rule.  Plain SGD keeps no state.
 *
 * Non-goals: other adaptive rules (RMSprop, AMSGrad), dampening, gradient
 * clipping, learning-rate schedules (schedule.h gives the rate; the
 * caller sets it).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "clones.h"
#include "mlptrain/error.h"
#include "mlptrain/optim.h"
#include "mlptrain/options.h"

/* Below this many values a parallel region costs more than it saves. */
#define MLP_OPTIM_PAR_MIN 32768

struct mlp_optim {
    mlp_optim_opts_t opts; /* opts.lr: the current rate */
    size_t n;              /* parameters */
    float *state;          /* SGD momentum: (n) velocity; Adam: (2n) m then
                              v; NULL for plain SGD */
    size_t nstate;
    uint64_t t;            /* steps taken */
};

static int check_opts(const mlp_optim_opts_t *o)
{
    if (!(o->lr > 0) || !isfinite(o->lr))
        return mlp_error_set(MLP_EINVAL,
                             "optim: learning rate %g is not a finite "
                             "positive number",
                             (double)o->lr);
    if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay))
        return mlp_error_set(MLP_EINVAL,
                             "optim: weight decay %g is not a finite "
                             "number >= 0",
                             (double)o->weight_decay);
    if (!(o->momentum >= 0 && o->momentum < 1))
        return mlp_error_set(MLP_EINVAL, "optim: momentum %g not in [0, 1)",
                             (double)o->momentum);
    switch (o->kind) {
    case MLP_OPTIM_SGD:
        if (o->nesterov && o->momentum == 0)
            return mlp_error_set(MLP_EINVAL,
                                 "optim: Nesterov needs a momentum > 0");
        return 0;
    case MLP_OPTIM_ADAM:
    case MLP_OPTIM_ADAMW:
        if (o->momentum != 0 || o->nesterov)
            return mlp_error_set(MLP_EINVAL,
                                 "optim: momentum and Nesterov are SGD's "
                                 "(%s has beta1)",
                                 mlp_optim_names[o->kind]);
        if (!(o->beta1 >= 0 && o->beta1 < 1) ||
            !(o->beta2 >= 0 && o->beta2 < 1))
            return mlp_error_set(MLP_EINVAL,
                                 "optim: betas %g, %g not in [0, 1)",
                                 (double)o->beta1, (double)o->beta2);
        if (!(o->eps > 0) || !isfinite(o->eps))
            return mlp_error_set(MLP_EINVAL,
                                 "optim: eps %g is not a finite positive "
                                 "number",
                                 (double)o->eps);
        return 0;
    }
    return mlp_error_set(MLP_EINVAL, "optim: unknown kind %d", (int)o->kind);
}

int mlp_optim_create(const mlp_optim_opts_t *opts, size_t nparams,
                     mlp_optim_t **out)
{
    mlp_optim_t *opt = NULL;
    void *st = NULL;
    size_t ns = 0;
    int rc;

    if (out)
        *out = NULL;
    if (!opts || !out)
        return mlp_error_set(MLP_EINVAL, "optim: NULL options or result");
    if ((rc = check_opts(opts)) < 0)
        return rc;
    if (nparams == 0)
        return mlp_error_set(MLP_EINVAL, "optim: no parameters");
    if (opts->kind != MLP_OPTIM_SGD)
        ns = 2;
    else if (opts->momentum > 0)
        ns = 1;
    if (ns > 0) {
        if (nparams > SIZE_MAX / sizeof(float) / ns ||
            posix_memalign(&st, 64, ns * nparams * sizeof(float)) != 0)
            return mlp_error_set(MLP_ENOMEM,
                                 "optim: out of memory for %zu state values",
                                 ns * nparams);
        memset(st, 0, ns * nparams * sizeof(float));
    }
    if (!(opt = malloc(sizeof(*opt)))) {
        free(st);
        return mlp_error_set(MLP_ENOMEM, "optim: out of memory");
    }
    opt->opts = *opts;
    opt->n = nparams;
    opt->state = st;
    opt->nstate = ns * nparams;
    opt->t = 0;
    *out = opt;
    return 0;
}

void mlp_optim_destroy(mlp_optim_t *opt)
{
    if (!opt)
        return;
    free(opt->state);
    free(opt);
}

int mlp_optim_set_lr(mlp_optim_t *opt, float lr)
{
    if (!(lr >= 0) || !isfinite(lr))
        return mlp_error_set(MLP_EINVAL,
                             "optim: learning rate %g is not a finite "
                             "number >= 0",
                             (double)lr);
    opt->opts.lr = lr;
    return 0;
}

/* The SGD loops keep the arithmetic (and its order) of the first
 * version: the default run's figures depend on it.  Each kernel runs
 * [lo, hi) of the block on the calling thread; every element's arithmetic
 * is its own, so any split of the block gives the same bits. */
static void sgd(float *restrict p, const float *restrict g, size_t lo,
                size_t hi, float lr, float wd)
{
#pragma omp simd
    for (size_t i = lo; i < hi; i++)
        p[i] -= lr * (g[i] + wd * p[i]);
}

static void sgd_momentum(float *restrict p, const float *restrict g,
                         float *restrict v, size_t lo, size_t hi, float lr,
                         float m, float wd)
{
#pragma omp simd
    for (size_t i = lo; i < hi; i++) {
        v[i] = m * v[i] + (g[i] + wd * p[i]);
        p[i] -= lr * v[i];
    }
}

static void sgd_nesterov(float *restrict p, const float *restrict g,
                         float *restrict v, size_t lo, size_t hi, float lr,
                         float m, float wd)
{
#pragma omp simd
    for (size_t i = lo; i < hi; i++) {
        float gi = g[i] + wd * p[i];

        v[i] = m * v[i] + gi;
        p[i] -= lr * (gi + m * v[i]);
    }
}

/*
 * Adam's loop is bound by its square root and division, which run twice
 * as fast 8 wide and again 16 wide: on x86-64 GCC builds AVX-512 and AVX2
 * copies of the kernel beside the default (SSE2) one and picks one at load
 * time.  AVX-512 brings FMA, which GCC would contract a * b + c into (one
 * rounding instead of two): contraction is off for the kernel, so every
 * copy does the same IEEE operations in the same order and the figures are
 * the same on any of them.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define MLP_OPTIM_CLONES MLP_CLONES __attribute__((optimize("fp-contract=off")))
#else
#define MLP_OPTIM_CLONES MLP_CLONES
#endif

/* Values per chunk of the parallel pass: a multiple of 16, so every chunk
 * starts on a 64-byte line. */
#define MLP_OPTIM_CHUNK 8192

/*
 * Adam and AdamW over one chunk: decay = 1 - lr wd and l2 = 0 for AdamW,
 * decay = 1 and l2 = wd for Adam (x * 1 and g + 0 * p are exact, so each
 * is PyTorch's rule).  step = lr / (1 - b1^t), ibc2 = 1 / sqrt(1 - b2^t):
 * PyTorch divides by the root, this multiplies by its reciprocal (an ulp
 * apart at most) and saves one of the loop's two divisions.
 */
MLP_OPTIM_CLONES
static void adam_chunk(float *restrict p, const float *restrict g,
                       float *restrict m, float *restrict v, size_t n,
                       float decay, float l2, float b1, float b2, float eps,
                       float step, float ibc2)
{
    float c1 = 1.0f - b1, c2 = 1.0f - b2;

#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float pi = p[i] * decay;
        float gi = g[i] + l2 * pi;
        float mi = b1 * m[i] + c1 * gi;
        float vi = b2 * v[i] + c2 * (gi * gi);

        m[i] = mi;
        v[i] = vi;
        p[i] = pi - step * (mi / (sqrtf(vi) * ibc2 + eps));
    }
}

void mlp_optim_begin(mlp_optim_t *opt)
{
    opt->t++;
}

void mlp_optim_step_range(mlp_optim_t *opt, float *params,
                          const float *grads, size_t lo, size_t hi)
{
    const mlp_optim_opts_t *o = &opt->opts;
    size_t n = opt->n;

    if (hi > n)
        hi = n;
    if (lo >= hi)
        return;
    if (o->kind == MLP_OPTIM_SGD) {
        if (!opt->state)
            sgd(params, grads, lo, hi, o->lr, o->weight_decay);
        else if (o->nesterov)
            sgd_nesterov(params, grads, opt->state, lo, hi, o->lr,
                         o->momentum, o->weight_decay);
        else
            sgd_momentum(params, grads, opt->state, lo, hi, o->lr,
                         o->momentum, o->weight_decay);
        return;
    }
    {
        double t = (double)opt->t;
        double bc1 = 1.0 - pow((double)o->beta1, t);
        double ibc2 = 1.0 / sqrt(1.0 - pow((double)o->beta2, t));
        int w = o->kind == MLP_OPTIM_ADAMW;
        float decay = w ? (float)(1.0 - (double)o->lr * o->weight_decay)
                        : 1.0f;

        adam_chunk(params + lo, grads + lo, opt->state + lo,
                   opt->state + n + lo, hi - lo, decay,
                   w ? 0.0f : o->weight_decay, o->beta1, o->beta2, o->eps,
                   (float)((double)o->lr / bc1), (float)ibc2);
    }
}

/* The chunks over the OpenMP threads, taken one by one (a core the host
 * slows takes fewer of them): any split gives the same result. */
void mlp_optim_step(mlp_optim_t *opt, float *params, const float *grads)
{
    size_t n = opt->n;
    size_t nchunks = (n + MLP_OPTIM_CHUNK - 1) / MLP_OPTIM_CHUNK;

    mlp_optim_begin(opt);
#pragma omp parallel for schedule(dynamic, 1) if (n >= MLP_OPTIM_PAR_MIN)
    for (size_t c = 0; c < nchunks; c++)
        mlp_optim_step_range(opt, params, grads, c * MLP_OPTIM_CHUNK,
                             (c + 1) * MLP_OPTIM_CHUNK);
}

float *mlp_optim_state(mlp_optim_t *opt, size_t *n)
{
    *n = opt->nstate;
    return opt->state;
}

uint64_t mlp_optim_steps(const mlp_optim_t *opt)
{
    return opt->t;
}

void mlp_optim_set_steps(mlp_optim_t *opt, uint64_t steps)
{
    opt->t = steps;
}

const char *const mlp_optim_names[] = {"sgd", "adam", "adamw", NULL};

void mlp_optim_opts_of(const struct mlp_config *cfg, mlp_optim_opts_t *o)
{
    *o = (mlp_optim_opts_t){
        .kind = (mlp_optim_kind_t)cfg->optimizer, .lr = cfg->lr,
        .momentum = cfg->momentum, .nesterov = cfg->nesterov,
        .weight_decay = cfg->weight_decay, .beta1 = cfg->beta1,
        .beta2 = cfg->beta2, .eps = cfg->eps};
}
