/*
 * curves: the charts people look at when they study MLPs, as PNG files
 * drawn by gnuplot (see plot.h: written atomically, never half a file).
 *
 * - one run's training curves: train loss, train accuracy and test accuracy
 *   against epoch on one chart, as the reference draws them;
 * - several runs overlaid (a sweep): a test-accuracy (or validation-
 *   accuracy) panel and a train-loss panel, one color per run, one legend,
 *   optionally a search's rungs and its stopped runs marked;
 * - final test accuracy (or any accuracy) per configuration: a horizontal
 *   bar chart, best on top, each bar labelled with its value.
 *
 * The `mlptrain plot` command (LOG.jsonl... --png FILE) is
 * src/cmd_plot.c.
 *
 * Errors: MLP_EINVAL (nothing to draw), MLP_ENOMEM, and mlp_plot_png's
 * MLP_EIO (gnuplot missing or failing, PNG not writable).  Thread-safe as
 * plot.h is: but for SIGPIPE, ignored process-wide while a script is
 * written.
 */
#ifndef MLPTRAIN_CURVES_H
#define MLPTRAIN_CURVES_H

#include <stdio.h>

#include "mlptrain/runlog.h"

/*
 * Train loss, train accuracy and test accuracy of n epochs against epoch.
 * title: the chart's title (NULL: none).  max_epoch > 0 fixes the x range
 * to [1, max_epoch], so that a chart redrawn after every epoch keeps its
 * axis; 0 fits the data.
 */
int mlp_curves_run_png(const char *png, const mlp_runlog_epoch_t *ep,
                       size_t n, const char *title, unsigned max_epoch);

/* What an overlay draws besides the train loss; NULL: test accuracy. */
typedef struct {
    int val;                /* validation accuracy instead of test accuracy
                               (what a sweep with --val ranks by) */
    const unsigned *rungs;  /* epochs marked with a dashed vertical line
                               (a search's rungs); NULL */
    size_t nrungs;
    const int *stopped;     /* (n) run i stopped short of the plan: its last
                               point is marked with a cross; NULL */
} mlp_overlay_opts_t;

/*
 * Runs overlaid: logs[i] labelled labels[i]; runs without epochs are left
 * out (MLP_EINVAL when none has any).  opts may be NULL.
 */
int mlp_curves_overlay_png(const char *png, const mlp_runlog_t *const *logs,
                           const char *const *labels, size_t n,
                           const char *title,
                           const mlp_overlay_opts_t *opts);

/*
 * Bars of acc[i] labelled labels[i]: sorted best on top, or, when
 * `ranked`, in the given order (best first: a ranking that is not by the
 * bar's value alone).  metric names the figure on the axis (NULL: "final
 * test accuracy").
 */
int mlp_curves_accuracy_png(const char *png, const char *const *labels,
                            const double *acc, size_t n, const char *title,
                            const char *metric, int ranked);

#endif
