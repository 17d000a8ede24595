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
    size_t p = 0;

    if (!acc_in) {
        if (nparts == 0)
            return;
        if (acc != parts[0])
            for (size_t i = lo; i < hi; i++)
                acc[i] = parts[0][i];
        p = 1;
    }
    /* One part at a time over the range: each element's additions stay in
     * part order (the compiler vectorizes across elements, never across
     * parts; no -ffast-math). */
    for (; p < nparts; p++) {
        const float *g = parts[p];

        for (size_t i = lo; i < hi; i++)
            acc[i] += g[i];
    }
}
