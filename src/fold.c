/*
 * fold: the fixed order of the parallel step's sums (see fold.h): the
 * partition, the tree's bookkeeping and its one addition.
 */
#include <math.h>
#include <string.h>

#include "clones.h"
#include "mlptrain/error.h"
#include "mlptrain/fold.h"

size_t mlp_fold_nmicro(size_t n, size_t m)
{
    return m == 0 ? 0 : (n + m - 1) / m;
}

void mlp_fold_micro(size_t n, size_t m, size_t i, size_t *lo, size_t *rows)
{
    size_t a = i * m;

    *lo = a < n ? a : n;
    *rows = a < n ? (n - a < m ? n - a : m) : 0;
}

void mlp_fold_rank(size_t nmicro, int rank, int nranks, size_t *first,
                   size_t *count)
{
    size_t r = (size_t)rank, R = nranks > 0 ? (size_t)nranks : 1;
    size_t base = nmicro / R, extra = nmicro % R;

    *first = r * base + (r < extra ? r : extra);
    *count = r < R ? base + (r < extra) : 0;
}

void mlp_fold_rank_rows(size_t n, size_t micro, int rank, int nranks,
                        size_t *lo, size_t *rows)
{
    size_t nm = mlp_fold_nmicro(n, micro), first, count, hi;

    if (nranks <= 1) {
        *lo = 0;
        *rows = n;
        return;
    }
    mlp_fold_rank(nm, rank, nranks, &first, &count);
    *lo = first * micro < n ? first * micro : n;
    hi = (first + count) * micro < n ? (first + count) * micro : n;
    *rows = count > 0 ? hi - *lo : 0;
}

void mlp_fold_rows(double *out, const double *rows, size_t nrows,
                   size_t width)
{
    for (size_t w = 0; w < width; w++) {
        double acc = nrows > 0 ? rows[w] : 0.0;

        for (size_t r = 1; r < nrows; r++)
            acc += rows[r * width + w];
        out[w] = acc;
    }
}

/* dst[k] = a[k] + b[k]: the tree's one addition.  dst may be a or b:
 * each element is read before it is written.  Cloned for AVX-512 and
 * AVX2: one addition per element, so every clone gives the same bits
 * (measured on the bf16 work: the baseline x86-64 build of the fold ran
 * 5x slower than AVX-512's). */
MLP_CLONES
static void add_two(float *dst, const float *a, const float *b, size_t n)
{
#pragma omp simd
    for (size_t k = 0; k < n; k++)
        dst[k] = a[k] + b[k];
}

void mlp_fold_tree_init(mlp_fold_tree_t *t, size_t first)
{
    t->end = first;
    t->n = 0;
}

int mlp_fold_push(mlp_fold_tree_t *t, size_t size, int id,
                  mlp_fold_op_t *ops, size_t *nops, int *freed,
                  size_t *nfreed)
{
    mlp_fold_node_t node = {t->end, size, id};

    if (size == 0 || (size & (size - 1)) != 0 || t->end % size != 0)
        return mlp_error_set(MLP_EINVAL, "fold: node [%zu, +%zu) is not "
                             "aligned", t->end, size);
    /* A full stack holds 64 nodes of distinct sizes: it cannot grow. */
    if (t->n == MLP_FOLD_DEPTH)
        return mlp_error_set(MLP_EINVAL, "fold: the stack is full");
    /* The left neighbour is the sibling: the same size, at an even
     * multiple of it (then node.lo is the odd one). */
    while (t->n > 0) {
        const mlp_fold_node_t *top = &t->node[t->n - 1];

        if (top->size != node.size || (top->lo / top->size) % 2 != 0)
            break;
        ops[(*nops)++] = (mlp_fold_op_t){top->id, top->id, node.id};
        freed[(*nfreed)++] = node.id;
        node.lo = top->lo;
        node.size *= 2;
        node.id = top->id;
        t->n--;
    }
    t->node[t->n++] = node;
    t->end += size;
    return 0;
}

int mlp_fold_finish(mlp_fold_tree_t *t, int out, mlp_fold_op_t *ops,
                    size_t *nops, int *freed, size_t *nfreed, int *id)
{
    size_t n = t->n;

    if (n == 0)
        return mlp_error_set(MLP_EINVAL, "fold: nothing to sum");
    /* From the right, each sum into its left node: S_{n-2} + S_{n-1},
     * then S_{n-3} + that, ...; the last one into out when given. */
    for (size_t i = n - 1; i-- > 0;) {
        int dst = i == 0 && out >= 0 ? out : t->node[i].id;

        ops[(*nops)++] = (mlp_fold_op_t){dst, t->node[i].id,
                                         t->node[i + 1].id};
        freed[(*nfreed)++] = t->node[i + 1].id;
    }
    if (n == 1 && out >= 0 && out != t->node[0].id)
        ops[(*nops)++] = (mlp_fold_op_t){out, t->node[0].id, -1};
    if (out >= 0 && out != t->node[0].id)
        freed[(*nfreed)++] = t->node[0].id;
    *id = out >= 0 ? out : t->node[0].id;
    t->n = 0;
    return 0;
}

size_t mlp_fold_block_nodes(size_t lo, size_t hi, size_t *sizes)
{
    size_t k = 0;

    while (lo < hi) {
        /* the largest aligned power of two that fits */
        size_t s = lo == 0 ? (size_t)1 << 62 : lo & -lo;

        while (s > hi - lo)
            s >>= 1;
        sizes[k++] = s;
        lo += s;
    }
    return k;
}

void mlp_fold_run(float *const *buf, const mlp_fold_op_t *ops, size_t nops,
                  size_t lo, size_t hi)
{
    if (lo >= hi)
        return;
    for (size_t i = 0; i < nops; i++) {
        const mlp_fold_op_t *o = &ops[i];

        if (o->b < 0) {
            if (buf[o->dst] != buf[o->a])
                memcpy(buf[o->dst] + lo, buf[o->a] + lo,
                       (hi - lo) * sizeof(float));
        } else {
            add_two(buf[o->dst] + lo, buf[o->a] + lo, buf[o->b] + lo,
                    hi - lo);
        }
    }
}

/*
 * Squares, exactly.  A finite float is M 2^(e - 150) with e = max(E, 1)
 * for its exponent field E and M its significand (the implicit bit set
 * when E > 0), so x^2 = M^2 2^(2e - 300), M^2 < 2^48.  The squares of one
 * call are summed by e in 64-bit buckets (n < 2^16 at a time: < 2^64),
 * then each bucket goes into the 640-bit sum at bit 2e - 2 (the unit:
 * 2^-298).  Integer additions: the order never matters.
 */

/* s += v << shift (v < 2^64, shift < 576). */
static void add_shifted(mlp_fold_sq_t *s, uint64_t v, unsigned shift)
{
    unsigned w = shift / 64, b = shift % 64;
    uint64_t lo = v << b, hi = b > 0 ? v >> (64 - b) : 0, carry;

    s->w[w] += lo;
    carry = s->w[w] < lo;
    for (unsigned k = w + 1; k < MLP_FOLD_SQ_WORDS && (hi | carry); k++) {
        uint64_t add = hi + carry, before = s->w[k];

        carry = add < hi; /* hi + 1 overflowed */
        s->w[k] += add;
        carry += s->w[k] < before;
        hi = 0;
    }
}

void mlp_fold_sq_add(mlp_fold_sq_t *s, const float *x, size_t n)
{
    enum { STRIDE = 1 << 16 };
    uint64_t bucket[256];

    for (size_t i0 = 0; i0 < n; i0 += STRIDE) {
        size_t i1 = n - i0 < STRIDE ? n : i0 + STRIDE;

        memset(bucket, 0, sizeof(bucket));
        for (size_t i = i0; i < i1; i++) {
            uint32_t b;
            uint64_t m;
            unsigned e;

            memcpy(&b, &x[i], sizeof(b));
            e = (b >> 23) & 0xff;
            m = b & 0x7fffff;
            if (e == 0xff) {
                s->nan |= m != 0;
                s->inf |= m == 0;
                continue;
            }
            m |= e > 0 ? (uint64_t)1 << 23 : 0;
            bucket[e > 0 ? e : 1] += m * m;
        }
        for (unsigned e = 1; e < 255; e++)
            if (bucket[e] != 0)
                add_shifted(s, bucket[e], 2 * e - 2);
    }
}

void mlp_fold_sq_merge(mlp_fold_sq_t *s, const mlp_fold_sq_t *t)
{
    uint64_t carry = 0;

    for (int k = 0; k < MLP_FOLD_SQ_WORDS; k++) {
        uint64_t a = s->w[k] + carry;

        carry = a < carry;
        s->w[k] = a + t->w[k];
        carry += s->w[k] < a;
    }
    s->inf |= t->inf;
    s->nan |= t->nan;
}

double mlp_fold_sq_value(const mlp_fold_sq_t *s)
{
    double v = 0.0;

    if (s->nan)
        return NAN;
    if (s->inf)
        return INFINITY;
    /* the words from the top: a fixed rounding of the exact sum */
    for (int k = MLP_FOLD_SQ_WORDS - 1; k >= 0; k--)
        v += ldexp((double)s->w[k], 64 * k - 298);
    return v;
}
