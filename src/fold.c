/*
 * fold: the fixed order of the parallel step's sums (see fold.h).
 */
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
