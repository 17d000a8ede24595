/*
 * fold: the fixed order of the parallel step's sums (see fold.h).
 */
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

void mlp_fold(float *acc, int acc_in, const float *const *parts,
              size_t nparts, size_t lo, size_t hi)
{
    /* Blocks of FOLD_BLOCK elements summed in a local array: each part is
     * read once and acc written once (not once a part), and each
     * element's additions stay in part order (the compiler vectorizes
     * across elements, never across parts; no -ffast-math). */
    enum { FOLD_BLOCK = 64 };
    float s[FOLD_BLOCK];

    if (!acc_in && nparts == 0)
        return;
    for (size_t i = lo; i < hi; i += FOLD_BLOCK) {
        size_t n = hi - i < FOLD_BLOCK ? hi - i : FOLD_BLOCK, p = 0;
        const float *first = acc_in ? acc + i : parts[p++] + i;

        for (size_t k = 0; k < n; k++)
            s[k] = first[k];
        for (; p < nparts; p++) {
            const float *g = parts[p] + i;

            for (size_t k = 0; k < n; k++)
                s[k] += g[k];
        }
        for (size_t k = 0; k < n; k++)
            acc[i + k] = s[k];
    }
}
