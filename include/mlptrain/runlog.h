/*
 * runlog: read back the JSON-lines log a run writes with --log (see
 * report.h), for charts and sweeps.
 *
 * Each line is one record, parsed with jansson; the reader takes the
 * "type" and the fields it knows by name (model, options.act, options.lr,
 * options.batch, options.epochs; the epoch and end figures, with the
 * validation ones of a run with --val), checks each
 * one's type and range (a whole number out of range reads as absent), and
 * skips lines it cannot use (not JSON, a record type it does not know, a
 * line cut short by a killed run).  A null figure (one that did not exist,
 * see report.h) reads as 0.  A log that holds several runs (a resumed run
 * appending to it) reads as its last run: a "run" record forgets an earlier
 * "end", and an epoch number at or below the last one read drops the
 * epochs from there on.
 *
 * Bounds: only a regular file is read (a device or FIFO is refused), and a
 * line may hold at most MLP_RUNLOG_LINE_MAX bytes (a longer one is an
 * error naming the file and line: our records are a few hundred bytes).
 *
 * Errors: MLP_EIO when the file cannot be read or is not a regular file
 * (the message names it), MLP_EFORMAT for a line over the limit,
 * MLP_ENOMEM.  A readable file without records is not an error: check
 * nepochs and has_end.  Thread-safe on distinct logs.
 */
#ifndef MLPTRAIN_RUNLOG_H
#define MLPTRAIN_RUNLOG_H

#include <stddef.h>

/* The longest line a log may hold, newline excluded: 1 MiB. */
#define MLP_RUNLOG_LINE_MAX (1 << 20)

/* The figures of one "epoch" record that charts draw. */
typedef struct {
    unsigned epoch;       /* 1-based */
    double train_loss;
    double train_acc;
    double test_acc;
    int has_val;          /* the record holds val_loss and val_acc (--val) */
    double val_loss;      /* 0 without */
    double val_acc;
    double seconds;       /* the epoch's wall time; 0 when not logged */
} mlp_runlog_epoch_t;

typedef struct {
    /* the "run" record */
    int has_run;
    char model[128];      /* "784-256-10" */
    char act[16];         /* "relu" */
    double lr;
    size_t batch;
    unsigned planned_epochs;  /* the --epochs it was started with */
    /* the "epoch" records, in order */
    size_t nepochs;
    mlp_runlog_epoch_t *epochs;  /* (nepochs), owned */
    size_t cap;                  /* epochs allocated */
    /* the "end" record */
    int has_end;
    char status[32];      /* "ok", "error", "diverged", ... */
    unsigned end_epochs;  /* epochs completed */
    double seconds;
    double samples_per_s;
    double final_test_acc;
    double best_test_acc;
    unsigned best_epoch;  /* by val acc when has_best_val, else by test acc */
    int has_best_val;     /* the end record has a best_val_acc (--val) */
    double best_val_acc;  /* the best epoch's; 0 without */
    double best_val_loss; /* the lowest; 0 without */
    unsigned stopped_early; /* --early-stop ended the run here; 0: no */
    char message[512];    /* "" when the record has none */
} mlp_runlog_t;

/* Read path into *log (zeroed first); free with mlp_runlog_free. */
int mlp_runlog_read(const char *path, mlp_runlog_t *log);

/* Parse one record (a line without its newline) into *log, as read does. */
int mlp_runlog_parse_line(mlp_runlog_t *log, const char *line);

/* Free what *log owns and zero it; safe on a zeroed struct. */
void mlp_runlog_free(mlp_runlog_t *log);

/* "784-256-10 relu, lr 0.1" from the run record, or "" without one. */
void mlp_runlog_label(const mlp_runlog_t *log, char *buf, size_t len);

#endif
