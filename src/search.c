/*
 * search: brackets, rungs and quotas of a sweep's search (see search.h).
 * Whole numbers only: the same rungs on every machine.
 */
#include <stdint.h>

#include "mlptrain/error.h"
#include "mlptrain/search.h"

const char *const mlp_search_names[] = {"grid", "random", "halving",
                                        "hyperband", NULL};

/* eta^k, or 0 when it would pass UINT64_MAX / eta. */
static uint64_t power(unsigned eta, unsigned k)
{
    uint64_t p = 1;

    while (k-- > 0) {
        if (p > UINT64_MAX / eta)
            return 0;
        p *= eta;
    }
    return p;
}

/* The rungs of bracket s of s_max: N / eta^(s - i), i = 0..s, rounded to
 * the nearest epoch (halves up); equal neighbours kept once. */
static void rungs(mlp_bracket_t *b, unsigned epochs, unsigned eta,
                  unsigned s)
{
    b->nrungs = 0;
    for (unsigned i = 0; i <= s; i++) {
        uint64_t d = power(eta, s - i);
        unsigned e = (unsigned)((2 * (uint64_t)epochs + d) / (2 * d));

        if (b->nrungs == 0 || e > b->epochs[b->nrungs - 1])
            b->epochs[b->nrungs++] = e;
    }
}

int mlp_search_brackets(mlp_search_kind_t kind, unsigned epochs,
                        unsigned min_epochs, unsigned eta, size_t npoints,
                        mlp_bracket_t *br, size_t *nbr)
{
    unsigned smax = 0;

    *nbr = 0;
    if (epochs < 1)
        return mlp_error_set(MLP_EUSAGE, "search: no epochs to train");
    if (kind == MLP_SEARCH_GRID || kind == MLP_SEARCH_RANDOM) {
        br[0].nrungs = 1;
        br[0].epochs[0] = epochs;
        br[0].npoints = npoints;
        *nbr = 1;
        return 0;
    }
    if (eta < 2)
        return mlp_error_set(MLP_EUSAGE, "option '--eta': %u: a rung keeps "
                             "1 of eta runs, so eta must be at least 2", eta);
    if (min_epochs < 1 || min_epochs > epochs)
        return mlp_error_set(MLP_EUSAGE, "option '--min-epochs': %u is not "
                             "within the runs' %u epochs (--epochs)",
                             min_epochs, epochs);
    /* s_max: the largest k with min_epochs x eta^k <= N. */
    while (smax + 1 < MLP_SEARCH_MAX_RUNGS) {
        uint64_t p = power(eta, smax + 1);

        if (p == 0 || (uint64_t)min_epochs * p > epochs)
            break;
        smax++;
    }
    if (kind == MLP_SEARCH_HALVING) {
        rungs(&br[0], epochs, eta, smax);
        br[0].npoints = npoints;
        *nbr = 1;
        return 0;
    }
    for (unsigned k = 0; k <= smax; k++) {
        unsigned s = smax - k;
        uint64_t p = power(eta, s);

        rungs(&br[k], epochs, eta, s);
        /* ceil((s_max + 1) eta^s / (s + 1)) */
        br[k].npoints = (size_t)(((uint64_t)(smax + 1) * p + s) / (s + 1));
    }
    *nbr = smax + 1;
    return 0;
}

size_t mlp_search_points(const mlp_bracket_t *br, size_t nbr)
{
    size_t n = 0;

    for (size_t b = 0; b < nbr; b++)
        n += br[b].npoints;
    return n;
}

size_t mlp_search_quota(size_t n, unsigned eta, int sync)
{
    size_t q = n / (eta > 0 ? eta : 1);

    return sync && q == 0 && n > 0 ? 1 : q;
}

unsigned long long mlp_search_grid_epochs(const mlp_bracket_t *br,
                                          size_t nbr)
{
    unsigned long long e = 0;

    for (size_t b = 0; b < nbr; b++)
        e += (unsigned long long)br[b].npoints *
             br[b].epochs[br[b].nrungs - 1];
    return e;
}

unsigned long long mlp_search_planned_epochs(const mlp_bracket_t *br,
                                             size_t nbr, unsigned eta)
{
    unsigned long long e = 0;

    for (size_t b = 0; b < nbr; b++) {
        size_t n = br[b].npoints;
        unsigned prev = 0;

        for (unsigned i = 0; i < br[b].nrungs && n > 0; i++) {
            e += (unsigned long long)n * (br[b].epochs[i] - prev);
            prev = br[b].epochs[i];
            n = mlp_search_quota(n, eta, 1);
        }
    }
    return e;
}
