/*
 * fold: the fixed order of the parallel step's sums (see fold.h).
 */
#include <math.h>
#include <string.h>

#include "clones.h"
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

/* acc[k] = a[k] + b[k]: the common fold of two (one micro-batch a
 * thread on two threads; acc_in and one part).  acc may be a: each
 * element is read before it is written. */
MLP_CLONES
static void fold_two(float *acc, const float *a, const float *b,
                     size_t n)
{
#pragma omp simd
    for (size_t k = 0; k < n; k++)
        acc[k] = a[k] + b[k];
}

/*
 * Blocks of FOLD_BLOCK elements summed in a local array: each part is
 * read once and acc written once (not once a part), and each element's
 * additions stay in part order (the loops vectorize across elements,
 * never across parts; no -ffast-math).  Cloned for AVX-512 and AVX2:
 * additions only, so every clone gives the same bits (measured: the
 * baseline build of this loop ran 5x slower than AVX-512's on two parts
 * of 784-256-10's gradient).
 */
MLP_CLONES
static void fold_blocks(float *acc, int acc_in, const float *const *parts,
                        size_t nparts, size_t lo, size_t hi)
{
    enum { FOLD_BLOCK = 256 };
    float s[FOLD_BLOCK];

    for (size_t i = lo; i < hi; i += FOLD_BLOCK) {
        size_t n = hi - i < FOLD_BLOCK ? hi - i : FOLD_BLOCK, p = 0;
        const float *first = acc_in ? acc + i : parts[p++] + i;

#pragma omp simd
        for (size_t k = 0; k < n; k++)
            s[k] = first[k];
        for (; p < nparts; p++) {
            const float *g = parts[p] + i;

#pragma omp simd
            for (size_t k = 0; k < n; k++)
                s[k] += g[k];
        }
#pragma omp simd
        for (size_t k = 0; k < n; k++)
            acc[i + k] = s[k];
    }
}

void mlp_fold(float *acc, int acc_in, const float *const *parts,
              size_t nparts, size_t lo, size_t hi)
{
    if ((!acc_in && nparts == 0) || lo >= hi)
        return;
    if (acc_in + nparts == 2) /* the same sum, one pass */
        fold_two(acc + lo, acc_in ? acc + lo : parts[0] + lo,
                 parts[acc_in ? 0 : 1] + lo, hi - lo);
    else
        fold_blocks(acc, acc_in, parts, nparts, lo, hi);
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
