/*
 * sweep_run: what the sweep's scheduler (sweep.c) and its results
 * (sweep_results.c) share: the state of a sweep and of each of its runs.
 * Private to those two files.
 */
#ifndef MLPTRAIN_SWEEP_RUN_H
#define MLPTRAIN_SWEEP_RUN_H

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "mlptrain/options.h"
#include "mlptrain/runlog.h"
#include "mlptrain/sweep.h"

enum { R_TODO, R_RUNNING, R_DONE };

typedef struct {
    size_t point;                     /* in the grid */
    char id[32];
    char label[512];                  /* "hidden=1024 lr=0.5 act=relu" */
    char *vals[MLP_SWEEP_MAX_KEYS];   /* effective values of the grid keys */
    int state;
    int earlier;                      /* finished by an earlier sweep */
    unsigned epochs;                  /* --epochs of the run */
    int resume;                       /* continue from DIR/run-ID.ckpt */
    unsigned ck_epoch;                /* its epochs done */
    size_t ck_batches;                /* and batches of the next one */
    off_t log_size;                   /* of the log it appends to, at start */
    pid_t pid;
    double t0;                        /* start, monotonic seconds */
    double wall;                      /* seconds it ran, if no end record */
    char status[32];
    char message[512];
    mlp_runlog_t log;
} run_t;

typedef struct {
    const mlp_sweep_opts_t *o;
    const mlp_grid_t *g;
    run_t *runs;
    size_t nruns;
    size_t ntodo;                     /* runs this sweep starts */
    size_t nended;                    /* of those, ended */
    int per_run;                      /* compute threads per run */
    sigset_t oldmask;
    int devnull;
    int lockfd;                       /* DIR/.lock, flocked */
    char **envp;                      /* the children's environment */
} sweep_t;

/* DIR/ID.ext of run r. */
void mlp_sweep_path(const sweep_t *s, const run_t *r, const char *ext,
                    char *buf, size_t len);

/* A status that a later sweep keeps: the run came to an end of its own
 * (ok, diverged, error). */
int mlp_sweep_final_status(const char *status);

/* A progress line or warning to s->o->err (none when NULL). */
void mlp_sweep_say(const sweep_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- results (sweep_results.c) ---- */

/* Read run r's log; an earlier sweep's finished run is kept as it is
 * (R_DONE, earlier). */
void mlp_sweep_check_earlier(sweep_t *s, run_t *r);

/* Run r's child ended with wstatus (stopping: the sweep asked it to):
 * read its log, settle its status and message, say so. */
void mlp_sweep_settle(sweep_t *s, run_t *r, int wstatus, int stopping);

/* DIR/results.csv, whole or absent (outfile.h). */
int mlp_sweep_write_csv(const sweep_t *s);

/* Indices of the ended runs, best first (ok runs; then runs with a
 * validation split by their best epoch's val acc, before runs without by
 * final test accuracy; then grid order); *n of them; NULL when out of
 * memory. */
size_t *mlp_sweep_ranking(const sweep_t *s, size_t *n);

/* The ranked table to out, and the best run named. */
void mlp_sweep_print_table(const sweep_t *s, const size_t *order, size_t n,
                           FILE *out);

/* DIR/curves.png and DIR/accuracy.png; the error of a chart not drawn. */
int mlp_sweep_draw_charts(const sweep_t *s, const size_t *order, size_t n);

#endif
