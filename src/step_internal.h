/*
 * step_internal: the stepper's state, shared by step.c (the passes, the
 * threads, one process's tree) and step_ranks.c (the sum across ranks:
 * buckets, the communication thread, the losses' exchange).  Private to
 * those two files.
 */
#ifndef MLPTRAIN_STEP_INTERNAL_H
#define MLPTRAIN_STEP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "mlptrain/error.h"
#include "mlptrain/fold.h"
#include "mlptrain/step.h"

/* Floats per item of the sum and update passes: a multiple of 16 (64-byte
 * lines). */
#define STEP_CHUNK 16384

typedef enum { PASS_TRAIN, PASS_FOLD, PASS_EVAL, PASS_APPLY } pass_t;

typedef struct step_ranks step_ranks_t;

typedef struct {
    struct mlp_stepper *st;
    int id;
    pthread_t tid;
    mlp_net_t *net;     /* id 0: the base net; else its replica */
    float *dlogits;     /* (micro, classes) */
    int started;
} worker_t;

struct mlp_stepper {
    mlp_step_opts_t o;
    mlp_net_t *net;
    mlp_optim_t *opt;
    size_t dim, nclasses, nflat;
    size_t row_bytes;           /* of x: dim values of the net's input */
    float *params;              /* (nflat): the base net's */
    /* Gradient buffers, by id: one process, a pool the tree's nodes and a
     * wave's micro-batches take from; ranks, one per micro-batch of the
     * block (ids 0 ..). */
    float **buf;                /* [nbuf] (nflat) */
    size_t nbuf;
    int *free_ids;              /* [nbuf] */
    size_t nfree;
    int *part;                  /* [nslots]: ids of the pending
                                   micro-batches' gradients */
    size_t nslots;
    size_t nmax;                /* micro-batches of the largest batch */
    double *loss;               /* [nmax] */
    size_t *correct;            /* [nmax] */
    double *gather;             /* [4 nmax] ranks: evaluation's losses */
    int nthreads;
    worker_t *w;                /* [nthreads] */
    /* The step being built */
    size_t rows, row0;          /* global batch rows; rows added so far */
    int has_key;
    mlp_drop_key_t key;
    size_t nparts;              /* micro-batches of the last add, not yet
                                   pushed on the tree */
    mlp_fold_tree_t tree;       /* one process: the step's stack */
    mlp_fold_op_t *ops;         /* the next sum pass's ops */
    size_t nops;
    int *freed;                 /* ids free once that pass ran */
    size_t nfreed;
    float *grad;                /* the step's sum, for the optimizer */
    step_ranks_t *rk;           /* ranks: NULL in one process */
    /* The pass being run */
    pass_t pass;
    const char *x;              /* rows of row_bytes */
    const int32_t *y;
    size_t n, nitems;
    size_t wave0;               /* micro-batch of item 0 (train) */
    int apply;
    int norm;                   /* take each chunk's sum of squares */
    float scale;                /* the clip's factor of the gradient */
    mlp_fold_sq_t *sq;          /* [chunks] clipping: the chunks' sums */
    atomic_size_t next;
    /* Synchronisation */
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    atomic_uint_fast64_t gen;   /* written under mu; spun on without */
    atomic_int ndone;           /* likewise */
    int quit, nready;
    int err;                    /* first failure of a pass, 0: none */
    char errmsg[MLP_ERROR_MAX];
};

/* step.c: run a pass of nitems items on every thread; its first failure.
 * Record a thread's failure (the first wins).  The sum pass: the pending
 * ops of the tree (st->ops), then when applying the update from st->grad
 * (with --clip-grad a pass more before, for the norm); the ids the ops
 * consumed back to the pool. */
int mlp_step_run_pass(mlp_stepper_t *st, pass_t pass, size_t nitems);
int mlp_step_sum_pass(mlp_stepper_t *st, int apply);
void mlp_step_fail(mlp_stepper_t *st, int rc);

/*
 * step_ranks.c.  create: the ranks' state (buckets from the net's layers,
 * the reducer, the communication thread when dist allows), with the
 * layer-done hook set on net (the replicas set it on theirs:
 * mlp_step_ranks_hook).  add: a loader batch's train pass with its
 * reductions (losses global when it returns).  fold: wait for the batch's
 * buckets.  apply: the update, bucket by bucket as each is summed.
 * apply_item: a PASS_APPLY item (a worker's).  forward_done: a
 * micro-batch's loss is in (its exchange can start).  stats, destroy.
 * buffers: the reducer's memory in gradients (mlp_step_grad_buffers).
 */
int mlp_step_ranks_create(mlp_stepper_t *st);
void mlp_step_ranks_destroy(mlp_stepper_t *st);
void mlp_step_ranks_hook(mlp_stepper_t *st, mlp_net_t *net);
int mlp_step_ranks_add(mlp_stepper_t *st, size_t nm);
int mlp_step_ranks_fold(mlp_stepper_t *st);
int mlp_step_ranks_apply(mlp_stepper_t *st);
void mlp_step_ranks_apply_item(mlp_stepper_t *st, size_t item);
void mlp_step_ranks_forward_done(mlp_stepper_t *st);
void mlp_step_ranks_stats(const mlp_stepper_t *st, mlp_step_stats_t *s);
double mlp_step_ranks_buffers(const mlp_step_opts_t *o);

#endif
