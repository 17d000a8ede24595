/*
 * sweep: train every point of a grid of options (or a random sample of
 * it), several at once, and rank the results.
 *
 * A grid is one or more specs such as 'lr=0.1,0.5 hidden=256,1024:512
 * act=relu,tanh': each spec is the cartesian product of its keys' values
 * (the first key varies slowest), and a sweep runs the union of its specs'
 * points, each once.  Keys are training options (mlp_sweep_key_flag); a key
 * a point does not set takes the fixed options' value or the default.
 *
 * Each point runs as a child process of the mlptrain binary (`mlptrain
 * train FIXED... GRID... --threads T --log DIR/run-ID.jsonl -q --save
 * DIR/run-ID.ckpt`, its output in DIR/run-ID.out), at most `parallel` at
 * once, each with T = threads /
 * parallel compute threads so that the runs share the cores instead of
 * oversubscribing them.  The run id is a hash of the run's effective
 * options (not of the thread count), so running the same sweep again skips
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

#include "mlptrain/config.h"

#define MLP_SWEEP_MAX_KEYS 16
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
/* Every key, comma-separated, for messages. */
const char *mlp_sweep_keys(void);

/* Add the points of one spec (zeroed grid to start).  MLP_EUSAGE names the
 * bad key or value; the grid is unchanged on failure. */
int mlp_grid_add(mlp_grid_t *g, const char *spec);
/* Keep n distinct points drawn with the project rng from seed (all when
 * n >= npoints), in grid order. */
int mlp_grid_sample(mlp_grid_t *g, size_t n, uint64_t seed);
void mlp_grid_free(mlp_grid_t *g);

/* Append point p's options ("--lr", "0.5", ...) to argv; returns how many. */
size_t mlp_grid_argv(const mlp_grid_t *g, size_t p, char **argv);

/* The value of a grid key in a config, as the table shows it ("1024:512"). */
void mlp_sweep_key_value(const mlp_config_t *cfg, const char *key, char *buf,
                         size_t len);
/* "run-" and 12 hex digits of a hash of every option that changes the
 * run's figures, except the compute thread count. */
void mlp_sweep_run_id(const mlp_config_t *cfg, char *id, size_t len);

typedef struct {
    const char *dir;        /* the sweep directory, made if missing */
    const char *exe;        /* the mlptrain binary; NULL: /proc/self/exe */
    unsigned parallel;      /* runs at once, >= 1 */
    int threads;            /* cores the runs share, >= 1 */
    char **fixed;           /* training options of every run */
    size_t nfixed;
    int plots;              /* draw curves.png and accuracy.png */
    FILE *err;              /* progress lines and warnings; NULL: none */
} mlp_sweep_opts_t;

/* Run the sweep; the ranked table to out, progress lines to o->err. */
int mlp_sweep_run(const mlp_sweep_opts_t *o, const mlp_grid_t *g, FILE *out);

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
