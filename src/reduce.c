/*
 * reduce: the step's gradient summed across ranks in fold.h's tree, bucket
 * by bucket (see reduce.h).
 *
 * Ids.  Two spaces of buffer ids, each with its own ops: the local sums of
 * step 1 run on the caller's part buffers (id i: parts[i]) over a whole
 * bucket; the owner's pushes and the final sum run on this rank's segment
 * of a bucket, in slots (id k < nslots: a compact buffer holding this
 * rank's segment of every bucket, bucket b's at coff[b]) and the result
 * (id nslots: a full gradient).  The plan of a batch is made once, in ids;
 * each bucket runs it on its own ranges.
 *
 * A node of another rank lands in a slot (received); one of this rank's is
 * copied into a slot (its own segment), while the messages travel, so the
 * part buffers are free once the batch's exchanges are done and the stack
 * of a step that goes on (--accum) holds only slots.  Slots freed by a
 * batch's sums return to the free list when the batch's last bucket is
 * done: until then a later bucket still runs the ops that read them.
 *
 * Non-goals: threads (the caller's), the collectives of the losses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/fold.h"
#include "mlptrain/reduce.h"

enum { TAG_NODES = 1, TAG_GATHER = 2 };

/* A receive or a copy into a slot: node of rank `rank` (this one: a copy
 * from part `part`). */
typedef struct {
    int rank;
    int slot;
    int part;
} landing_t;

struct mlp_reduce {
    mlp_reduce_opts_t o;
    size_t *lo, *hi;            /* [nbuckets]: the buckets */
    size_t *coff;               /* [nbuckets]: own segment's place in a slot */
    size_t slot_len;            /* floats of a slot */
    int nslots;
    float **slot;               /* [nslots + 1]: slots, then the result */
    int *free_ids;              /* [nslots] */
    int nfree;
    float **tab;                /* [nslots + 1]: one bucket's pointers */
    mlp_fold_tree_t tree;       /* the step's stack, in slots */
    /* The current batch's plan. */
    size_t m, first, count;     /* its micro-batches; this rank's block */
    int last;                   /* the step's last batch */
    size_t next;                /* its next bucket; nbuckets: done */
    float *const *parts;
    mlp_fold_op_t *lops;        /* step 1: ids are parts */
    size_t nlops;
    mlp_fold_node_t *mine;      /* this rank's nodes (ids: parts) */
    size_t nmine;
    landing_t *land;            /* every node of the batch, in order */
    size_t nland;
    mlp_fold_op_t *oops;        /* steps 3, 4: ids are slots, result */
    size_t noops;
    int *freed;                 /* slots the batch's sums free */
    size_t nfreed;
    mlp_dist_msg_t *send, *recv;
};

/* Rank s's segment of bucket b: [*a, *z), cut at multiples of 16 floats
 * from the bucket's start (the last segment takes the rest). */
static void seg(const mlp_reduce_t *r, size_t b, int s, size_t *a, size_t *z)
{
    size_t len = r->hi[b] - r->lo[b], R = (size_t)r->o.nranks;
    size_t ca = len * (size_t)s / R, cz = len * (size_t)(s + 1) / R;

    ca &= ~(size_t)15;
    cz = (size_t)s + 1 == R ? len : cz & ~(size_t)15;
    *a = r->lo[b] + ca;
    *z = r->lo[b] + cz;
}

/* The slots the options need: the stack between batches, and every node
 * of a batch (at least a micro-batch each). */
static size_t slots_of(const mlp_reduce_opts_t *o)
{
    size_t depth = 1;

    for (size_t m = o->max_step_micro; m > 1; m >>= 1)
        depth++;
    return depth + o->max_micro;
}

double mlp_reduce_floats(const mlp_reduce_opts_t *o)
{
    double R = o->nranks > 0 ? o->nranks : 1;

    /* a slot is this rank's segments: about nflat / R, plus the 16-float
     * cuts of each bucket */
    return (double)slots_of(o) *
               ((double)o->nflat / R + 16.0 * (double)o->nbuckets) +
           (double)o->nflat;
}

void mlp_reduce_destroy(mlp_reduce_t *r)
{
    if (r == NULL)
        return;
    for (int k = 0; r->slot != NULL && k <= r->nslots; k++)
        free(r->slot[k]);
    free(r->slot);
    free(r->lo);
    free(r->hi);
    free(r->coff);
    free(r->free_ids);
    free(r->tab);
    free(r->lops);
    free(r->mine);
    free(r->land);
    free(r->oops);
    free(r->freed);
    free(r->send);
    free(r->recv);
    free(r);
}

static float *floats(size_t n)
{
    size_t bytes = ((n > 0 ? n : 1) * sizeof(float) + 63) / 64 * 64;
    float *p = aligned_alloc(64, bytes);

    if (p != NULL)
        memset(p, 0, bytes);
    return p;
}

void mlp_reduce_reset(mlp_reduce_t *r)
{
    r->nfree = 0;
    for (int k = r->nslots; k-- > 0;)
        r->free_ids[r->nfree++] = k;
    mlp_fold_tree_init(&r->tree, 0);
    r->next = r->o.nbuckets; /* no batch in progress */
}

int mlp_reduce_create(const mlp_reduce_opts_t *o, mlp_reduce_t **out)
{
    mlp_reduce_t *r;
    size_t nb = o->nbuckets, R = o->nranks > 0 ? (size_t)o->nranks : 1;
    size_t nmsg, nops;

    *out = NULL;
    if (nb == 0 || o->nranks < 1 || o->rank < 0 || o->rank >= o->nranks ||
        o->max_micro == 0 || o->max_step_micro < o->max_micro)
        return mlp_error_set(MLP_EINVAL, "reduce: bad options");
    for (size_t b = 0; b < nb; b++)
        if (o->lo[b] > o->hi[b] || o->hi[b] > o->nflat)
            return mlp_error_set(MLP_EINVAL, "reduce: bucket %zu [%zu, %zu) "
                                 "of %zu", b, o->lo[b], o->hi[b], o->nflat);
    if ((r = calloc(1, sizeof(*r))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "reduce: out of memory");
    r->o = *o;
    r->nslots = (int)slots_of(o);
    nmsg = (o->max_micro + 1) * R;
    nops = 2 * (o->max_micro + MLP_FOLD_DEPTH);
    if ((r->lo = malloc(nb * sizeof(size_t))) == NULL ||
        (r->hi = malloc(nb * sizeof(size_t))) == NULL ||
        (r->coff = malloc(nb * sizeof(size_t))) == NULL ||
        (r->slot = calloc((size_t)r->nslots + 1, sizeof(float *))) == NULL ||
        (r->free_ids = malloc((size_t)r->nslots * sizeof(int))) == NULL ||
        (r->tab = calloc((size_t)r->nslots + 1, sizeof(float *))) == NULL ||
        (r->lops = malloc(nops * sizeof(mlp_fold_op_t))) == NULL ||
        (r->mine = malloc(MLP_FOLD_DEPTH * sizeof(mlp_fold_node_t))) ==
            NULL ||
        (r->land = malloc(o->max_micro * sizeof(landing_t))) == NULL ||
        (r->oops = malloc(nops * sizeof(mlp_fold_op_t))) == NULL ||
        (r->freed = malloc(nops * sizeof(int))) == NULL ||
        (r->send = malloc(nmsg * sizeof(mlp_dist_msg_t))) == NULL ||
        (r->recv = malloc(nmsg * sizeof(mlp_dist_msg_t))) == NULL)
        goto nomem;
    memcpy(r->lo, o->lo, nb * sizeof(size_t));
    memcpy(r->hi, o->hi, nb * sizeof(size_t));
    r->o.lo = r->lo;
    r->o.hi = r->hi;
    for (size_t b = 0; b < nb; b++) {
        size_t a, z;

        seg(r, b, o->rank, &a, &z);
        r->coff[b] = r->slot_len;
        r->slot_len += (z - a + 15) / 16 * 16;
    }
    for (int k = 0; k < r->nslots; k++)
        if ((r->slot[k] = floats(r->slot_len)) == NULL)
            goto nomem;
    if ((r->slot[r->nslots] = floats(o->nflat)) == NULL)
        goto nomem;
    mlp_reduce_reset(r);
    *out = r;
    return 0;
nomem:
    mlp_reduce_destroy(r);
    return mlp_error_set(MLP_ENOMEM, "reduce: out of memory for %d buffers "
                         "of %zu floats", r != NULL ? r->nslots : 0,
                         o->nflat);
}

float *mlp_reduce_result(mlp_reduce_t *r)
{
    return r->slot[r->nslots];
}

int mlp_reduce_batch(mlp_reduce_t *r, size_t m, float *const *parts,
                     int last)
{
    size_t m0 = r->tree.end, sizes[MLP_FOLD_DEPTH];
    mlp_fold_tree_t local;
    int rc, dummy[MLP_FOLD_DEPTH], id;
    size_t ndummy = 0;

    if (r->next < r->o.nbuckets)
        return mlp_error_set(MLP_EINVAL, "reduce: a batch before the last "
                             "one's buckets are done");
    if (m == 0 || m > r->o.max_micro || m0 + m > r->o.max_step_micro)
        return mlp_error_set(MLP_EINVAL, "reduce: a batch of %zu "
                             "micro-batches after %zu (at most %zu, %zu a "
                             "step)", m, m0, r->o.max_micro,
                             r->o.max_step_micro);
    r->m = m;
    r->last = last;
    r->parts = parts;
    r->nlops = r->nmine = r->nland = r->noops = r->nfreed = 0;
    mlp_fold_rank(m, r->o.rank, r->o.nranks, &r->first, &r->count);
    /* Step 1: this rank's block, summed into its aligned nodes. */
    mlp_fold_tree_init(&local, m0 + r->first);
    for (size_t i = 0; i < r->count; i++) {
        ndummy = 0; /* the parts a sum consumed: the caller's, kept */
        if ((rc = mlp_fold_push(&local, 1, (int)i, r->lops, &r->nlops, dummy,
                                &ndummy)) < 0)
            return rc;
    }
    r->nmine = local.n;
    memcpy(r->mine, local.node, local.n * sizeof(mlp_fold_node_t));
    /* Steps 2, 3: every rank's nodes land in slots, in order, and go on
     * the step's stack. */
    for (int q = 0; q < r->o.nranks; q++) {
        size_t first, count, n, j;

        mlp_fold_rank(m, q, r->o.nranks, &first, &count);
        n = mlp_fold_block_nodes(m0 + first, m0 + first + count, sizes);
        if (q == r->o.rank && n != r->nmine)
            return mlp_error_set(MLP_EINVAL, "reduce: %zu nodes, %zu "
                                 "expected", r->nmine, n);
        for (j = 0; j < n; j++) {
            landing_t *l = &r->land[r->nland];

            if (r->nfree == 0)
                return mlp_error_set(MLP_EINVAL, "reduce: no slot left");
            l->rank = q;
            l->slot = r->free_ids[--r->nfree];
            l->part = q == r->o.rank ? r->mine[j].id : -1;
            r->nland++;
            if ((rc = mlp_fold_push(&r->tree, sizes[j], l->slot, r->oops,
                                    &r->noops, r->freed, &r->nfreed)) < 0)
                return rc;
        }
    }
    /* Step 4: the step's sum into the result. */
    if (last && (rc = mlp_fold_finish(&r->tree, r->nslots, r->oops,
                                      &r->noops, r->freed, &r->nfreed,
                                      &id)) < 0)
        return rc;
    r->next = 0;
    return 0;
}

/* Point tab at bucket b's ranges: slots at this rank's segment (their
 * coff), the result at the segment's place. */
static void point(mlp_reduce_t *r, size_t b, size_t a)
{
    for (int k = 0; k < r->nslots; k++)
        r->tab[k] = r->slot[k] + r->coff[b];
    r->tab[r->nslots] = r->slot[r->nslots] + a;
}

int mlp_reduce_bucket(mlp_reduce_t *r, size_t b, const atomic_int *busy,
                      const atomic_int *cancel)
{
    size_t a, z, ns = 0, nr = 0;
    int me = r->o.rank, rc;

    if (b != r->next)
        return mlp_error_set(MLP_EINVAL, "reduce: bucket %zu, %zu expected",
                             b, r->next);
    /* 1: the local sums, over the whole bucket (every owner needs its
     * segment of them). */
    mlp_fold_run(r->parts, r->lops, r->nlops, r->lo[b], r->hi[b]);
    /* 2: the nodes to their owners; this rank's own segments copied while
     * they travel. */
    seg(r, b, me, &a, &z);
    for (size_t j = 0; j < r->nmine; j++)
        for (int s = 0; s < r->o.nranks; s++) {
            size_t sa, sz;

            if (s == me)
                continue;
            seg(r, b, s, &sa, &sz);
            r->send[ns++] = (mlp_dist_msg_t){r->parts[r->mine[j].id] + sa,
                                             (sz - sa) * sizeof(float), s};
        }
    for (size_t j = 0; j < r->nland; j++)
        if (r->land[j].rank != me)
            r->recv[nr++] = (mlp_dist_msg_t){
                r->slot[r->land[j].slot] + r->coff[b],
                (z - a) * sizeof(float), r->land[j].rank};
    if ((rc = mlp_dist_exchange_start(r->send, ns, r->recv, nr,
                                      TAG_NODES)) < 0)
        return rc;
    for (size_t j = 0; j < r->nland; j++)
        if (r->land[j].rank == me && z > a)
            memcpy(r->slot[r->land[j].slot] + r->coff[b],
                   r->parts[r->land[j].part] + a, (z - a) * sizeof(float));
    if ((rc = mlp_dist_exchange_wait(busy, cancel)) < 0)
        return rc;
    /* 3, 4: the tree on this rank's segment. */
    point(r, b, a);
    mlp_fold_run(r->tab, r->oops, r->noops, 0, z - a);
    if (r->last) {
        float *res = r->slot[r->nslots];

        ns = nr = 0;
        for (int s = 0; s < r->o.nranks; s++) {
            size_t sa, sz;

            if (s == me)
                continue;
            seg(r, b, s, &sa, &sz);
            r->send[ns++] = (mlp_dist_msg_t){res + a,
                                             (z - a) * sizeof(float), s};
            r->recv[nr++] = (mlp_dist_msg_t){res + sa,
                                             (sz - sa) * sizeof(float), s};
        }
        if ((rc = mlp_dist_exchange_start(r->send, ns, r->recv, nr,
                                          TAG_GATHER)) < 0 ||
            (rc = mlp_dist_exchange_wait(busy, cancel)) < 0)
            return rc;
    }
    if (++r->next == r->o.nbuckets) {
        /* the batch is done: its freed slots can be taken again */
        for (size_t i = 0; i < r->nfreed; i++)
            if (r->freed[i] < r->nslots)
                r->free_ids[r->nfree++] = r->freed[i];
        r->nfreed = 0;
        if (r->last)
            mlp_reduce_reset(r);
    }
    return 0;
}
