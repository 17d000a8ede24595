/*
 * sweep_run: what the files of the sweep share: the state of a sweep and
 * of each of its runs.  Private to sweep.c (processes: the runner, the
 * MPI scheduler and workers), sweep_sched.c (the plan, each run's state
 * from its files, promotions), sweep_journal.c (the journal) and
 * sweep_results.c (figures, ranking, results.csv, table, charts).
 *
 * A run is one point of the search: its id, options and files
 * (DIR/run-ID.jsonl, .ckpt, .out).  It sits in a rung of its bracket
 * (search.h) and has a job: train to that rung's epochs (`target`), as
 * one child process that pauses there (--until) or ends at the plan's
 * last epoch.  States:
 *   R_PENDING  its job is to run (from scratch, or resumed from its
 *              checkpoint);
 *   R_RUNNING  its job runs (a child here, or on an MPI worker);
 *   R_WAITING  it reached its rung's epochs, paused, and waits for the
 *              rung's ranking (or, asynchronously, for enough others);
 *   R_DONE     nothing more: status ok (the plan's last epoch, or an early
 *              stop), stopped (not promoted), diverged, error, or
 *              interrupted (this sweep was stopped; the next continues it).
 */
#ifndef MLPTRAIN_SWEEP_RUN_H
#define MLPTRAIN_SWEEP_RUN_H

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "mlptrain/options.h"
#include "mlptrain/runlog.h"
#include "mlptrain/search.h"
#include "mlptrain/sweep.h"

enum { R_PENDING, R_RUNNING, R_WAITING, R_DONE };

typedef struct {
    size_t point;                     /* in the search's points */
    char id[32];
    char label[512];                  /* "hidden=1024 lr=0.5 act=relu" */
    char *vals[MLP_SWEEP_MAX_KEYS];   /* effective values of the keys */
    size_t bracket;                   /* its bracket (hyperband), else 0 */
    unsigned rung;                    /* the rung it is in, from 0 */
    unsigned target;                  /* that rung's epochs: its job's end */
    unsigned epochs;                  /* --epochs of the run: the plan */
    int state;                        /* R_* above */
    int earlier;                      /* ended by an earlier sweep */
    int started;                      /* this sweep started a job of it */
    int journal_running;              /* --report: the journal shows a job
                                         started and not done */
    int resume;                       /* its job continues DIR/run-ID.ckpt */
    unsigned ck_epoch;                /* its epochs done */
    size_t ck_batches;                /* and batches of the next one */
    off_t log_size;                   /* of the log it appends to, at start */
    pid_t pid;                        /* its child, here */
    int threads;                      /* its child's compute threads */
    int rank;                         /* the MPI worker running it; 0 */
    double t0;                        /* start, monotonic seconds */
    double wall;                      /* seconds it ran, if no end record */
    char status[32];
    char message[512];
    mlp_runlog_t log;
} run_t;

/* A promotion the journal holds: run id to rung. */
typedef struct {
    char id[32];
    unsigned rung;
} jpromo_t;

typedef struct {
    const mlp_sweep_opts_t *o;
    const mlp_grid_t *grid_in;        /* the caller's points, or */
    const mlp_space_t *space_in;      /* the caller's space */
    const mlp_grid_t *g;              /* the points, in search order */
    mlp_grid_t pts;                   /* g when the sweep made them */
    run_t *runs;
    size_t nruns;
    size_t nslots;                    /* runs planned (runs' capacity) */
    mlp_bracket_t br[MLP_SEARCH_MAX_BRACKETS];
    size_t nbr;
    /* synchronous: rung i of bracket b has been ranked */
    unsigned char decided[MLP_SEARCH_MAX_BRACKETS][MLP_SEARCH_MAX_RUNGS];
    mlp_search_kind_t search;         /* o->search, or the journal's */
    int async;
    unsigned eta;
    unsigned epochs;                  /* the runs' --epochs (the last rung) */
    int report;                       /* --report: read, never write or run */
    int running_elsewhere;            /* --report: a sweep holds the lock */
    size_t njobs;                     /* jobs this sweep started */
    size_t nended;                    /* of those, ended */
    int per_run;                      /* compute threads per run */
    int threads;                      /* the cores the runs share */
    sigset_t oldmask;
    int devnull;
    int lockfd;                       /* DIR/.lock, flocked */
    int shardfd;                      /* DIR/.lock-K-of-N, flocked */
    int jfd;                          /* the journal, appended; -1: none */
    char suffix[48];                  /* "" or "-K-of-N": this shard's files */
    jpromo_t *jp;                     /* the journal's promotions of this */
    size_t njp;                       /* plan, from an earlier sweep */
    char **envp;                      /* the children's environment */
    int nranks;                       /* MPI: ranks (1 without) */
} sweep_t;

/* ---- files and messages (sweep_results.c) ---- */

/* DIR/ID.ext of run r. */
void mlp_sweep_path(const sweep_t *s, const run_t *r, const char *ext,
                    char *buf, size_t len);

/* A status that a later sweep keeps: the run came to an end of its own
 * (ok, diverged, error). */
int mlp_sweep_final_status(const char *status);

/* A progress line or warning to s->o->err (none when NULL). */
void mlp_sweep_say(const sweep_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- the plan and the runs' states (sweep_sched.c) ---- */

/*
 * ["mlptrain", "train", fixed..., point p's options], NULL-terminated,
 * with room for `extra` more; strings borrowed.  p (size_t)-1: no point.
 */
char **mlp_sweep_argv(const sweep_t *s, size_t p, size_t extra, int *argc);

/*
 * The runs of s->g's points (every option parsed: a bad value stops here),
 * their brackets, rungs and targets, this shard's slice.  Points of the
 * same effective options run once.
 */
int mlp_sweep_plan(sweep_t *s);

/*
 * Run r's state against its rung's epochs, from its files: its log's end
 * (final: R_DONE, earlier; paused at or past the target: R_WAITING), else
 * its checkpoint (R_PENDING resumed from it, or from scratch; a
 * checkpoint that cannot serve is removed with a warning, unless
 * s->report).
 */
void mlp_sweep_classify(sweep_t *s, run_t *r);

/*
 * Promotions: every rung whose ranking is due (all its runs settled, or
 * asynchronously ASHA's rule), in rung order until nothing changes; the
 * runs not promoted from a ranked rung are stopped.  Decisions go to the
 * journal (not with s->report).  Returns how many runs changed rung or
 * state.
 */
size_t mlp_sweep_advance(sweep_t *s);

/* The next run whose job should start (the highest rung first, then the
 * plan's order), or NULL. */
run_t *mlp_sweep_next(sweep_t *s);

/* Runs that are R_PENDING or R_RUNNING. */
size_t mlp_sweep_active(const sweep_t *s);

/* Epochs the runs have trained (each to its last epoch within its
 * target), and those of a full grid of the same runs. */
void mlp_sweep_epochs(const sweep_t *s, unsigned long long *trained,
                      unsigned long long *grid);

/* ---- the journal (sweep_journal.c) ---- */

/*
 * Open DIR/journal[SUFFIX].jsonl for appending (a torn last line cut off),
 * read what an earlier sweep of the same plan decided (asynchronous
 * promotions are taken, synchronous ones checked), and append this
 * sweep's "sweep" record (and its "point" records when the plan is new).
 */
int mlp_sweep_journal_open(sweep_t *s);
void mlp_sweep_journal_close(sweep_t *s);

/* Append one record: a JSON object from a jansson format (json_pack),
 * one line, written and fdatasync'ed.  A failure is a warning (the logs
 * and checkpoints still hold the sweep's state). */
void mlp_sweep_journal(sweep_t *s, const char *fmt, ...);

/*
 * --report: every journal of DIR (journal.jsonl, journal-K-of-N.jsonl),
 * merged into s: the points (s->pts, s->g), the runs, the brackets and
 * the asynchronous promotions.  MLP_EIO without a journal, MLP_EFORMAT
 * for a bad one (naming the file and line), MLP_EUSAGE for journals of
 * different searches.
 */
int mlp_sweep_journal_load(sweep_t *s);

/* ---- results (sweep_results.c) ---- */

/* Run r's child ended with wstatus (stopping: the sweep asked it to):
 * read its log, settle its status, message and state, say so. */
void mlp_sweep_settle(sweep_t *s, run_t *r, int wstatus, int stopping);

/*
 * Run r's best validation accuracy over its epochs 1..e (the first
 * highest), into *v; 0 when it has no validation figure there.
 */
int mlp_sweep_val_at(const run_t *r, unsigned e, double *v);

/* DIR/results[SUFFIX].csv, whole or absent (outfile.h). */
int mlp_sweep_write_csv(const sweep_t *s);

/* Indices of the runs that have something to show, best first; *n of
 * them; NULL when out of memory.  Grid and random: ok runs first, then by
 * validation accuracy (runs with a split first), final test accuracy,
 * the plan's order.  Halving and hyperband: ok runs, then the others in
 * good standing, then interrupted, then failed; each by the epochs
 * reached, the validation accuracy, the run id. */
size_t *mlp_sweep_ranking(const sweep_t *s, size_t *n);

/* The ranked table to out, and the best run named. */
void mlp_sweep_print_table(const sweep_t *s, const size_t *order, size_t n,
                           FILE *out);

/* DIR/curves.png and DIR/accuracy.png; the error of a chart not drawn. */
int mlp_sweep_draw_charts(const sweep_t *s, const size_t *order, size_t n);

#endif
