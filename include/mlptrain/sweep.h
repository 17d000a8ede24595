/*
 * sweep: train the points of a grid of options (grid.h) or of a search
 * space (space.h), several at once, and rank them; a search (search.h)
 * stops the poor points at rungs and trains on the good ones.
 *
 * Each job runs as a child process of the mlptrain binary (`mlptrain
 * train FIXED... POINT... --threads T --log DIR/run-ID.jsonl -q --save
 * DIR/run-ID.ckpt --epochs N [--until E] [--resume DIR/run-ID.ckpt]`, its
 * output in DIR/run-ID.out), at most `parallel` at once, each with T =
 * threads / parallel compute threads so that the runs share the cores
 * instead of oversubscribing them (a job starting with fewer runs to go
 * takes the cores the running ones leave).  The run id is a hash of the run's
 * options that change its figures or are sweep keys (grid.h).
 *
 * Searches.  grid and random train every point to its --epochs.  halving
 * and hyperband train each run to its rung's epochs and pause it there
 * (--until: its schedule is the full run's); a rung's runs are ranked by
 * validation accuracy (ties: run id) and the best 1/eta continue from
 * their checkpoints, so a promoted run's figures are those of the point
 * trained straight through.  Synchronously (the default) a rung is ranked
 * once all its runs reached it, a pure function of their logs;
 * asynchronously (o->async, ASHA) as soon as a run ranks in the top 1/eta
 * of those that reached it.
 *
 * State and resume.  A sweep's state is its runs' logs and checkpoints and
 * its journal, DIR/journal.jsonl (append-only, fdatasync'ed lines; see
 * sweep_journal.c): running the same command again, after a Ctrl-C or a
 * kill -9 at any moment, reads every run's state back from its files,
 * keeps what finished, continues the rest from their checkpoints and ends
 * with the results of an undisturbed sweep.  A checkpoint that cannot
 * serve is removed first, with a warning, and its run starts from
 * scratch.  A run that fails is recorded with its status and the sweep
 * goes on.
 *
 * Shards (o->shard of o->nshards) run a slice of the runs (hyperband:
 * of the brackets) into a shared directory, each with its own lock,
 * journal and results; mlp_sweep_report merges them.  Under mpirun with R
 * ranks, rank 0 schedules and ranks 1..R-1 run the jobs it sends them
 * (dist.h messages), on a shared directory.
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
 * runs (shards share it); a second sweep on DIR fails at once with
 * MLP_EIO, "sweep directory 'DIR' is in use by another sweep (pid N)".
 *
 * The sweep writes DIR/results.csv (atomically, after every job and at the
 * end), and, with gnuplot, DIR/curves.png and DIR/accuracy.png (what ranks
 * the runs: validation accuracy with --val); it prints a ranked table and
 * names the best run.
 *
 * Errors: MLP_EUSAGE (a bad grid, space or search: the message names it),
 * MLP_EIO (the directory, a file, fork/exec, MPI; or no run finished ok),
 * MLP_EFORMAT (a bad journal line), MLP_EINTERRUPTED (stopped by a signal;
 * results so far are written), MLP_ENOMEM.  Not thread-safe: it blocks
 * signals of the process and waits for its children.
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
    const char *tensorboard; /* each run writes TensorBoard event files in
                               tensorboard/ID (tfevents.h); NULL: none */
    /* The training command line's parser (the command layer's,
     * commands.h: mlp_cmd_train_parse_values): a run's options are parsed
     * as `mlptrain train` parses them, but for the rules between options,
     * which the sweep checks (mlp_config_check_rules) once it has refused
     * the options it sets itself.  0, 1 for --help or --version, or
     * MLP_EUSAGE. */
    int (*parse_run)(int argc, char **argv, mlp_config_t *cfg);
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
