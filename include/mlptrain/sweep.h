/*
 * sweep: train every point of a grid of options (or a random sample of
 * it), several at once, and rank the results.
 *
 * The grid (its specs, keys, points and run ids) is grid.h's.
 *
 * Each point runs as a child process of the mlptrain binary (`mlptrain
 * train FIXED... GRID... --threads T --log DIR/run-ID.jsonl -q --save
 * DIR/run-ID.ckpt`, its output in DIR/run-ID.out), at most `parallel` at
 * once, each with T = threads /
 * parallel compute threads so that the runs share the cores instead of
 * oversubscribing them.  The run id is a hash of the run's options that
 * change its figures or are sweep keys (grid.h), so running the same sweep again skips
 * every run whose log ends with an "end" record of status ok, diverged or
 * error, and runs the rest: a run whose checkpoint loads and has epochs
 * left continues from it (`--resume DIR/run-ID.ckpt`, appending to its log;
 * the figures are those of an uninterrupted run at the same T), any other
 * starts from scratch, and a checkpoint that cannot serve (fails to load,
 * or already has every epoch) is removed first, with a warning.  A finished
 * run keeps its checkpoint.  A run that fails is recorded with its status
 * and the sweep goes on.
 *
 * SIGINT, SIGTERM or SIGHUP (Ctrl-C, a closed terminal) stops the sweep:
 * nothing new starts, running runs get SIGINT (a second signal kills
 * them), and what finished is written.  Runs are started in their own
 * process group, so a terminal's Ctrl-C reaches them only through the
 * sweep, once.  Runs never outlive the sweep: killed in any way (kill -9
 * too), its runs get SIGTERM from the kernel, save their checkpoints and
 * stop (see mlp_sweep_child_start).
 *
 * One sweep per directory: the sweep holds an flock on DIR/.lock while it
 * runs; a second sweep on DIR fails at once with MLP_EIO, "sweep directory
 * 'DIR' is in use by another sweep (pid N)".
 *
 * The sweep writes DIR/results.csv (atomically, after every finished run
 * and at the end), and, with gnuplot, DIR/curves.png (every run's curves
 * overlaid) and DIR/accuracy.png (final test accuracy per configuration);
 * it prints a table ranked by final test accuracy and names the best run.
 *
 * Errors: MLP_EUSAGE (bad grid: unknown key, bad value, too many points;
 * the message names it), MLP_EIO (the directory, a file, fork/exec; or no
 * run finished ok), MLP_EINTERRUPTED (stopped by a signal; results so far
 * are written), MLP_ENOMEM.  Not thread-safe: it blocks signals of the
 * process and waits for its children.
 */
#ifndef MLPTRAIN_SWEEP_H
#define MLPTRAIN_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlptrain/grid.h"
#include "mlptrain/options.h"
#include "mlptrain/search.h"
#include "mlptrain/space.h"

typedef struct {
    const char *dir;        /* the sweep directory, made if missing */
    const char *exe;        /* the mlptrain binary; NULL: /proc/self/exe */
    unsigned parallel;      /* runs at once (under MPI: per worker), >= 1 */
    int threads;            /* cores the runs share; 0: the machine's
                               (under MPI, shared by its ranks) */
    char **fixed;           /* training options of every run */
    size_t nfixed;
    int plots;              /* draw curves.png and accuracy.png */
    FILE *err;              /* progress lines and warnings; NULL: none */
    /* the search (search.h) */
    mlp_search_kind_t search;
    unsigned eta;           /* halving, hyperband: 1 of eta goes on */
    unsigned min_epochs;    /* the least epochs of a first rung */
    int async;              /* ASHA's rule instead of whole rungs */
    size_t samples;         /* points drawn from a space (0: the search's
                               default); a grid is sampled by the caller */
    uint64_t seed;          /* of the draws and of hyperband's deal */
    unsigned shard, nshards; /* run shard K of N (1-based); 0, 0: all */
} mlp_sweep_opts_t;

/*
 * Run the sweep of the points of grid g (already sampled) or of space sp
 * (exactly one non-NULL); the ranked table to out, progress lines to
 * o->err.  Under mpirun with several ranks, rank 0 schedules and the
 * others run what it hands them (see the top of this file).
 */
int mlp_sweep_run(const mlp_sweep_opts_t *o, const mlp_grid_t *g,
                  const mlp_space_t *sp, FILE *out);

/*
 * `sweep --dir D --report`: the leaderboard of the sweep in o->dir,
 * running or finished, from its journals (every shard's) and its runs'
 * logs; when no sweep holds the directory, results.csv and the charts of
 * the whole (the shards merged) are written too.  Trains nothing.
 */
int mlp_sweep_report(const mlp_sweep_opts_t *o, FILE *out);

/*
 * For the mlptrain program, first thing in main: when started by a sweep
 * (MLPTRAIN_PARENT_PID in the environment, the sweep's pid), have the
 * kernel send this process SIGTERM when its parent dies, and fail with
 * MLP_EINTERRUPTED if the parent is already gone (this process was
 * adopted).  Then the variable is removed, so the run's own children do
 * not see it.  0 when not started by a sweep; MLP_EUSAGE for a value that
 * is not a pid, MLP_EIO if prctl fails.
 */
int mlp_sweep_child_start(void);

#endif
