/*
 * grid: the points of a sweep, pure (no processes, no files).
 *
 * A grid is one or more specs such as 'lr=0.1,0.5 hidden=256,1024:512
 * act=relu,tanh': each spec is the cartesian product of its keys' values
 * (the first key varies slowest), and a sweep runs the union of its specs'
 * points, each once.  The keys are the run options flagged MLP_OPT_SWEEP
 * in the option table (options.h), by their long names ('_' reads as '-');
 * a key a point does not set takes the fixed options' value or the
 * default.  A point's values are strings, parsed by the training command
 * line (mlp_sweep_opts_t.parse_run, sweep.h) when the sweep plans its
 * runs.
 *
 * The run id is a hash of the values of the options that change a run's
 * figures (MLP_OPT_FIGS) or are sweep keys (MLP_OPT_SWEEP: `workers`, so
 * that two grid points never share an id): not the thread count or the
 * ring slots, so runs of the same recipe at another speed share an id.
 * An option added after ids were fixed (MLP_OPT_ID_SET: --clip-grad)
 * enters the hash only when it is not its default, so a sweep directory
 * resumes its runs under the ids they had.  (Before the option table, the
 * id also hashed the ring slots: a sweep directory from that version
 * re-runs its runs under new ids.)
 *
 * Errors: MLP_EUSAGE (bad spec: unknown key, empty value, too many
 * points; the message names it), MLP_ENOMEM.  Thread-safe on distinct
 * grids.
 */
#ifndef MLPTRAIN_GRID_H
#define MLPTRAIN_GRID_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/options.h"

#define MLP_SWEEP_MAX_KEYS 64
#define MLP_SWEEP_MAX_POINTS 10000

typedef struct {
    size_t nkeys;                       /* keys of every spec, first seen first */
    const char *keys[MLP_SWEEP_MAX_KEYS];   /* canonical names, static */
    size_t npoints;
    /* (npoints, MLP_SWEEP_MAX_KEYS): the value of key k at point p, or NULL
     * when p's spec does not set k; strings owned by the grid */
    const char **values;
    size_t nbufs;
    char **bufs;                        /* the specs' text, owned */
} mlp_grid_t;

/* The training option a grid key sets ("lr" -> "--lr"); NULL if unknown.
 * "weight_decay" is read as "weight-decay". */
const char *mlp_sweep_key_flag(const char *key);
/* Every key, comma-separated, for messages ("hidden, act, ..."). */
const char *mlp_sweep_keys(void);

/* Add the points of one spec (zeroed grid to start).  MLP_EUSAGE names the
 * bad key or value; the grid is unchanged on failure. */
int mlp_grid_add(mlp_grid_t *g, const char *spec);
/* Add one point: values[j] of key keys[j] (a sweep key, '_' reading as
 * '-'), j < n, copied; the other keys unset.  MLP_EUSAGE for an unknown
 * key or a full grid; the grid is unchanged on failure. */
int mlp_grid_add_point(mlp_grid_t *g, size_t n, const char *const *keys,
                       const char *const *values);
/* Keep n distinct points drawn with the project rng from seed (all when
 * n >= npoints), in grid order. */
int mlp_grid_sample(mlp_grid_t *g, size_t n, uint64_t seed);
void mlp_grid_free(mlp_grid_t *g);

/* Append point p's options ("--lr", "0.5", ...) to argv; returns how many
 * (at most 2 * MLP_SWEEP_MAX_KEYS).  Strings borrowed from the grid. */
size_t mlp_grid_argv(const mlp_grid_t *g, size_t p, char **argv);

/* The value of a grid key in a config, as the table shows it ("1024:512",
 * "all"): the option table's formatter.  "" for an unknown key. */
void mlp_sweep_key_value(const mlp_config_t *cfg, const char *key, char *buf,
                         size_t len);
/* "run-" and 12 hex digits of a hash of every MLP_OPT_FIGS option's exact
 * value (see above). */
void mlp_sweep_run_id(const mlp_config_t *cfg, char *id, size_t len);

#endif
