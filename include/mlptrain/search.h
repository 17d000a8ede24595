/*
 * search: the arithmetic of a sweep's search, pure (no processes, no
 * files): how many runs start, at which epochs they are ranked (the
 * rungs) and how many go on.
 *
 * - grid and random: one bracket, one rung at the runs' --epochs: every
 *   point trains to the end.
 * - halving (successive halving, Jamieson and Talwalkar 2016): one bracket
 *   of every point; its rungs are the epochs N / eta^k, k = s, s-1, ..., 0,
 *   rounded to the nearest epoch, where N is the runs' --epochs and s the
 *   largest k with min_epochs x eta^k <= N (N 27, min 1, eta 3: 1, 3, 9,
 *   27; N 40: 1, 4, 13, 40).  A rung of n runs promotes max(1, n / eta)
 *   of them (rounded down) to the next.
 * - hyperband (Li et al., JMLR 2018): brackets s = s_max, ..., 0 of the
 *   same rungs from the k = s one on (bracket s starts at N / eta^s), with
 *   ceil((s_max + 1) eta^s / (s + 1)) runs each: the most runs at the
 *   fewest epochs first, the last bracket a few runs to N.
 *
 * Asynchronous promotion (ASHA, Li et al., MLSys 2020) uses the same
 * rungs: a run that finished a rung goes on as soon as it is among the
 * best f / eta (rounded down) of the f runs that finished that rung so far
 * (mlp_search_quota with sync 0).
 *
 * Errors: MLP_EUSAGE naming the option (an eta below 2, a min_epochs
 * above N).  Thread-safe.
 */
#ifndef MLPTRAIN_SEARCH_H
#define MLPTRAIN_SEARCH_H

#include <stddef.h>

#define MLP_SEARCH_MAX_RUNGS 32
#define MLP_SEARCH_MAX_BRACKETS MLP_SEARCH_MAX_RUNGS

typedef enum {
    MLP_SEARCH_GRID,
    MLP_SEARCH_RANDOM,
    MLP_SEARCH_HALVING,
    MLP_SEARCH_HYPERBAND,
} mlp_search_kind_t;

/* "grid", "random", "halving", "hyperband"; NULL-terminated. */
extern const char *const mlp_search_names[];

typedef struct {
    unsigned nrungs;
    unsigned epochs[MLP_SEARCH_MAX_RUNGS]; /* increasing; the last is N */
    size_t npoints;                        /* runs that start at rung 0 */
} mlp_bracket_t;

/*
 * The brackets of a search of `npoints` points (grid, random, halving;
 * hyperband sets its own: npoints is ignored) over runs of `epochs`
 * epochs, into br[0..*nbr) (at most MLP_SEARCH_MAX_BRACKETS).
 */
int mlp_search_brackets(mlp_search_kind_t kind, unsigned epochs,
                        unsigned min_epochs, unsigned eta, size_t npoints,
                        mlp_bracket_t *br, size_t *nbr);

/* The points every bracket needs together (hyperband's sum). */
size_t mlp_search_points(const mlp_bracket_t *br, size_t nbr);

/* Runs of a rung of n that go on: n / eta rounded down, at least 1 when
 * `sync` (a full rung, successive halving), none below eta runs for the
 * asynchronous rule (f runs finished so far). */
size_t mlp_search_quota(size_t n, unsigned eta, int sync);

/* The epochs every point of the brackets would train in a full grid (each
 * to N), and the most epochs the synchronous search trains: its rungs'
 * runs times the epochs each adds. */
unsigned long long mlp_search_grid_epochs(const mlp_bracket_t *br,
                                          size_t nbr);
unsigned long long mlp_search_planned_epochs(const mlp_bracket_t *br,
                                             size_t nbr, unsigned eta);

#endif
