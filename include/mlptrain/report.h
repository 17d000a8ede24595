/*
 * report: what a run tells people (lines on a stream) and scripts (JSON
 * lines in a log file).
 *
 * A run reports, in order: mlp_report_run (the configuration: printed as a
 * few lines, logged as a {"type":"run"} record with versions, options and
 * each data file's size and CRC-32; "options" holds every option of the
 * table in options.h, keyed by its long name with '_' for '-'; the `step`
 * line and the record's "precision" say which precision the step runs in
 * and, for auto, why), one mlp_report_epoch per epoch, and
 * mlp_report_end (a summary line and a {"type":"end"} record with the
 * status).  Every log record is one line, flushed when written, so a log
 * read during or after a run (even a killed one) holds whole records.
 *
 * Records are written with jansson: strings escaped by the library (a
 * string that is not UTF-8, such as a path, is logged with each invalid
 * byte replaced by U+FFFD: informational, not the exact bytes), reals with
 * 9 significant digits, option values as the shortest decimal that is the
 * same float, and a figure that does not exist or is not finite as null:
 * no line ever holds inf or nan.  mlp_report_end prints the status line
 * (`ok: ...`, `diverged: ...`, `interrupted: ...`) even when quiet and
 * even when no epoch finished.
 *
 * Errors: MLP_EIO when the log or the TensorBoard file cannot be created
 * or written (the message names the file).  Not thread-safe: the trainer
 * thread reports.
 */
#ifndef MLPTRAIN_REPORT_H
#define MLPTRAIN_REPORT_H

#include <stdio.h>

#include <jansson.h>

#include "mlptrain/options.h"
#include "mlptrain/dataset.h"

typedef struct {
    unsigned epoch;        /* 1-based */
    double train_loss;     /* mean loss per training sample */
    double train_acc;      /* over the epoch's training batches */
    double test_loss;      /* mean loss per test sample, after the epoch */
    double test_acc;
    int has_val;           /* a validation split (--val): the epoch line
                              and record show the next two */
    double val_loss;       /* mean loss per validation sample */
    double val_acc;
    double seconds;        /* wall time of the epoch (train + test) */
    double train_seconds;  /* wall time of the training phase */
    double samples_per_s;  /* training samples / train_seconds */
    double wait_share;     /* share of the epoch blocked on the loader */
    double lr;             /* the rate of the epoch's last training batch
                              (logged; on the epoch line when a schedule
                              or a warm-up changes it) */
    int ranks;             /* MPI ranks; > 1: the next three are logged */
    double dist_seconds;   /* this rank's wall time of the reductions
                              across ranks at work this epoch (the
                              losses' and the gradient's exchanges and
                              sums: mlp_stepper_stats) */
    double dist_exposed;   /* the part of it the compute threads waited
                              for: the rest was hidden by the backward */
    double dist_bytes_per_step; /* bytes this rank sent and received per
                              step */
} mlp_epoch_stats_t;

/* Facts of a run known only once it is set up. */
typedef struct {
    const char *dnnl_version;
    const char *isa;
    size_t nparams;
    size_t slots;          /* ring slots */
    size_t ring_bytes;
    const char *resume_path;  /* the checkpoint resumed from, or NULL */
    unsigned resume_epoch;    /* its epochs completed */
    size_t resume_batches;    /* and training batches of the next epoch */
    const mlp_config_t *resume_cfg; /* the checkpoint's options (with
                                 resume_path): a RESUME_FREE option given
                                 (cfg->given) with another value than
                                 its is an override, said on `out` and
                                 logged in the record's "resume" */
    int free_cores;           /* cores the machine's load leaves free at
                                 the start, -1 unknown (logged; report_run
                                 warns on stderr when below cfg->threads) */
    int ranks;                /* MPI ranks (mpirun -np), 1 without */
    int overlap;              /* ranks: mlp_step_stats_t.overlap (1, 0
                                 or -1: step.h) */
    const mlp_precision_choice_t *precision; /* how cfg->precision (f32
                                 or bf16) was chosen; NULL: as given */
} mlp_run_info_t;

typedef struct {
    const char *status;    /* "ok", "paused" (--until), "error", ... */
    unsigned epochs;       /* completed */
    double seconds;        /* all epochs; NAN: never started (null) */
    double samples_per_s;  /* training samples / training time, all epochs;
                              NAN: nothing trained in this process (null) */
    double final_test_acc; /* NAN: no epoch finished (logged as null) */
    double best_test_acc;  /* the best epoch's test accuracy; NAN likewise */
    unsigned best_epoch;   /* 0: none (null); with --val the epoch of the
                              highest validation accuracy, else of the
                              highest test accuracy (a report only) */
    int has_val;           /* a validation split: the next figures exist */
    double best_val_acc;   /* the best epoch's; NAN: none (null) */
    double best_val_loss;  /* the lowest; NAN: none (null) */
    unsigned stopped_early; /* --early-stop ended the run after this epoch;
                               0: it did not */
    unsigned early_stop;   /* its K */
    int already_done;      /* a resumed run whose checkpoint had stopped
                              early: nothing trained, nothing saved */
    long peak_rss_kb;      /* from getrusage */
    const char *message;   /* error text, or NULL */
} mlp_run_summary_t;

typedef struct mlp_report mlp_report_t;

/* out: human stream (NULL: say nothing); err: warnings and, with out and
 * not quiet, the progress line (NULL: none); log_path: NULL or "" for
 * none; append: add to an existing log (a resumed run) instead of
 * replacing it. */
int mlp_report_create(FILE *out, FILE *err, int quiet, const char *log_path,
                      int append, mlp_report_t **rep);
/* Close the log and the TensorBoard file; NULL is a no-op.  Returns
 * MLP_EIO if closing (or syncing the TensorBoard file) failed. */
int mlp_report_destroy(mlp_report_t *rep);

/*
 * --tensorboard DIR: open a new event file in DIR (tfevents.h: made if
 * missing, locked, whole records only), beside the log and in the same
 * stage.  From then on mlp_report_epoch writes each epoch to it as well,
 * after the log's record: an Event whose step is the epoch number and
 * whose scalars are the log's figures of the epoch, tagged
 *     loss/train, accuracy/train       (train_loss, train_acc)
 *     loss/val, accuracy/val           (val_loss, val_acc; with --val)
 *     loss/test, accuracy/test         (test_loss, test_acc)
 *     lr, samples_per_s                (lr, samples_per_s)
 * as floats (a figure that is not finite, null in the log, is left out).
 * mlp_report_destroy closes it.  Errors: tfevents.h's, and MLP_EUSAGE when
 * one is already open.
 */
int mlp_report_tensorboard(mlp_report_t *rep, const char *dir);

int mlp_report_run(mlp_report_t *rep, const mlp_config_t *cfg,
                   const mlp_dataset_t *ds, const mlp_run_info_t *info);
int mlp_report_epoch(mlp_report_t *rep, const mlp_epoch_stats_t *st);
int mlp_report_end(mlp_report_t *rep, const mlp_run_summary_t *sum);

/*
 * Progress within an epoch: `done` of `total` training batches of `epoch`
 * are done.  Call it after every training batch; it reads the clock only
 * every few calls and prints at most every 0.2 s on a terminal (one line on
 * stderr, redrawn in place and cut to the terminal's width, taken off
 * before the epoch line) or every 5 s
 * otherwise (plain lines, no carriage returns); $MLPTRAIN_PROGRESS sets the
 * seconds between lines, or "off".  Silent when quiet or out is NULL.  With
 * cfg->plot_path set, mlp_report_epoch also redraws that PNG of the curves
 * so far (a failure there is a warning on stderr, not an error).
 */
void mlp_report_progress(mlp_report_t *rep, unsigned epoch, size_t done,
                         size_t total);

/*
 * The progress line, formatted into buf (NUL-terminated, at most len - 1
 * bytes): "[epoch 3/10] batch 120/235 (51%)  25034 samples/s  ETA 4 s,
 * run 1m05s", where the second ETA is of the whole run (the epochs left at
 * the same rate).  With width > 0 the line fits in width - 1 columns (the
 * last column would wrap on some terminals): a shorter form "3/10 51%
 * 25034/s ETA 4 s run 1m05s" first, then cut.  Pure: for the unit tests.
 * Returns the length.
 */
size_t mlp_report_format_progress(char *buf, size_t len, unsigned width,
                                  unsigned epoch, unsigned epochs,
                                  size_t done, size_t total,
                                  double samples_per_s, double eta_epoch_s,
                                  double eta_run_s);

/* Write s as a JSON string (quoted, escaped; invalid UTF-8 bytes become
 * U+FFFD) to f. */
void mlp_report_json_string(FILE *f, const char *s);

/* The same as a new jansson value, for documents built whole; NULL when
 * out of memory. */
json_t *mlp_report_json_text(const char *s);

/* A malloc'd copy of s with every byte that is not part of a valid UTF-8
 * sequence replaced by U+FFFD; NULL when out of memory. */
char *mlp_report_utf8(const char *s);

#endif
