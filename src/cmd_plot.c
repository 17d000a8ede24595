/*
 * cmd_plot: `mlptrain plot LOG.jsonl... --png FILE`: read the logs
 * (runlog.h), label the runs by the options in which they differ, and draw
 * (curves.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/curves.h"
#include "mlptrain/error.h"
#include "mlptrain/outfile.h"
#include "mlptrain/plot.h"
#include "mlptrain/runlog.h"

typedef struct {
    char png[MLP_PATH_MAX];
    const char *title;     /* NULL: made from the runs */
} plot_opts_t;

static const mlp_option_t opt_png = MLP_CLI_PNG(plot_opts_t, png,
                                                "the PNG to write");
static const mlp_option_t opt_title = {
    .name = "title", .letter = 'T', .section = "Output", .type = MLP_OPT_TEXT,
    MLP_CLI_FIELD(plot_opts_t, title),
    .metavar = "TEXT", .help = "the chart's title",
    .shown = "the run's model, or the number of runs", .sample = "runs"};

static const mlp_cli_opt_t plot_options[] = {
    MLP_CLI_USE(&opt_png), MLP_CLI_USE(&opt_title), MLP_CLI_USE(NULL),
};

static const mlp_rule_t plot_rules[] = {
    {.x = &opt_png, .kind = MLP_RULE_REQUIRED},
};

const mlp_command_t mlp_command_plot = {
    .name = "plot",
    .summary = "draw training curves of --log files (PNG)",
    .run = mlp_cmd_plot,
    .usage = "plot LOG.jsonl... --png FILE [--title TEXT]",
    .about = "Draw training curves from the JSON-lines logs of runs (--log).  "
             "One log: train loss, train accuracy and test accuracy against "
             "epoch.  Several logs: test accuracy and train loss overlaid, "
             "one color per run.",
    .options = plot_options,
    MLP_CLI_RULES(plot_rules),
    .own_size = sizeof(plot_opts_t),
    .operands = "LOG.jsonl...",
    .exit_error = "error (a log, gnuplot, the picture)",
};

/*
 * Run i's legend from the options (model, activation, lr, batch) in which
 * the runs differ; "" when the logs have no run record or do not differ.
 * keys (if not NULL) gets the names of those options, "lr, batch".
 */
static void option_label(const mlp_runlog_t *const *lp, size_t m, size_t i,
                         char *buf, size_t len, char *keys, size_t klen)
{
    int dmodel = 0, dact = 0, dlr = 0, dbatch = 0;
    size_t off = 0;

    buf[0] = '\0';
    for (size_t j = 0; j < m; j++) {
        if (!lp[j]->has_run)
            return;
        dmodel |= strcmp(lp[j]->model, lp[0]->model) != 0;
        dact |= strcmp(lp[j]->act, lp[0]->act) != 0;
        dlr |= lp[j]->lr != lp[0]->lr;
        dbatch |= lp[j]->batch != lp[0]->batch;
    }
    if (m == 1) { /* one run: its whole description */
        mlp_runlog_label(lp[0], buf, len);
        return;
    }
#define ADD(...)                                                             \
    do {                                                                     \
        if (off < len)                                                       \
            off += (size_t)snprintf(buf + off, len - off, __VA_ARGS__);      \
    } while (0)
    if (dmodel)
        ADD("%s%s", off ? ", " : "", lp[i]->model);
    if (dact)
        ADD("%s%s", off ? ", " : "", lp[i]->act);
    if (dlr)
        ADD("%slr %g", off ? ", " : "", lp[i]->lr);
    if (dbatch)
        ADD("%sbatch %zu", off ? ", " : "", lp[i]->batch);
#undef ADD
    if (keys != NULL)
        snprintf(keys, klen, "%s%s%s%s%s%s%s", dmodel ? "model" : "",
                 dmodel && (dact || dlr || dbatch) ? ", " : "",
                 dact ? "activation" : "", dact && (dlr || dbatch) ? ", " : "",
                 dlr ? "lr" : "", dlr && dbatch ? ", " : "",
                 dbatch ? "batch" : "");
}

int mlp_cmd_plot(int argc, char **argv, FILE *out)
{
    plot_opts_t o;
    const char *png = o.png, *title, **paths = NULL;
    mlp_runlog_t *logs = NULL;
    const mlp_runlog_t **lp = NULL;
    char **labels = NULL, tbuf[512], compared[128];
    size_t n = 0, m = 0;
    mlp_cli_t cl;
    int rc = 0, distinct = 1;

    if ((rc = mlp_cli_parse(&mlp_command_plot, argc, argv, out, NULL, &o,
                            &cl)) != 0)
        return rc < 0 ? rc : 0;
    title = o.title;
    if (cl.nargs == 0)
        return mlp_error_set(MLP_EUSAGE, "no log given: mlptrain plot "
                                         "LOG.jsonl... --png FILE");
    n = (size_t)cl.nargs;
    /* The picture is checked before any work, and may not be a log. */
    if ((rc = mlp_plot_check(png)) < 0)
        return mlp_error_prefix(rc, "option '--png'");
    {
        mlp_out_file_t *fs = calloc(n + 1, sizeof(*fs));

        if (fs == NULL)
            return mlp_error_set(MLP_ENOMEM, "out of memory");
        fs[0] = (mlp_out_file_t){png, "--png", 1, NULL};
        for (size_t i = 0; i < n; i++)
            fs[i + 1] = (mlp_out_file_t){cl.args[i], "LOG", 0,
                                         NULL};
        rc = mlp_out_no_alias(fs, n + 1);
        free(fs);
        if (rc < 0)
            return rc;
    }
    logs = calloc(n, sizeof(*logs));
    lp = calloc(n, sizeof(*lp));
    labels = calloc(n, sizeof(*labels));
    paths = calloc(n, sizeof(*paths));
    if (logs == NULL || lp == NULL || labels == NULL || paths == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    /* logs[0..m): the logs with epochs, in the order given. */
    for (size_t i = 0; i < n; i++) {
        const char *path = cl.args[i];

        if ((rc = mlp_runlog_read(path, &logs[m])) < 0)
            goto out;
        if (logs[m].nepochs == 0) {
            mlp_runlog_free(&logs[m]);
            if (n == 1) {
                rc = mlp_error_set(MLP_EFORMAT,
                                   "'%s': no epoch records (is it a log "
                                   "written with --log?)",
                                   path);
                goto out;
            }
            /* A sweep's run that failed at once: the others still draw. */
            fprintf(stderr, "mlptrain: warning: '%s': no epoch records; "
                            "left out\n",
                    path);
            continue;
        }
        lp[m] = &logs[m];
        paths[m] = path;
        m++;
    }
    if (m == 0) {
        rc = mlp_error_set(MLP_EFORMAT, "no log has epoch records");
        goto out;
    }
    /* Legends from the options that differ between the runs; the file
     * names only when the logs do not tell the runs apart. */
    compared[0] = '\0';
    for (size_t i = 0; i < m; i++) {
        char label[256];

        option_label(lp, m, i, label, sizeof(label), i == 0 ? compared : NULL,
                     sizeof(compared));
        if (label[0] == '\0')
            snprintf(label, sizeof(label), "%s", paths[i]);
        if ((labels[i] = malloc(strlen(label) + 16)) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "out of memory");
            goto out;
        }
        sprintf(labels[i], "%s%s", label,
                lp[i]->has_end && strcmp(lp[i]->status, "ok") != 0
                    ? (strcmp(lp[i]->status, "diverged") == 0 ? " (diverged)"
                                                              : " (stopped)")
                    : "");
    }
    for (size_t i = 0; i < m && distinct; i++)
        for (size_t j = 0; j < i; j++)
            distinct &= strcmp(labels[j], labels[i]) != 0;
    /* Runs the logs cannot tell apart tell apart by their file names. */
    if (!distinct)
        for (size_t i = 0; i < m; i++) {
            free(labels[i]);
            if ((labels[i] = strdup(paths[i])) == NULL) {
                rc = mlp_error_set(MLP_ENOMEM, "out of memory");
                goto out;
            }
        }
    if (n == 1) {
        if (title == NULL) {
            snprintf(tbuf, sizeof(tbuf), "training curves: %s", labels[0]);
            title = tbuf;
        }
        rc = mlp_curves_run_png(png, logs[0].epochs, logs[0].nepochs, title,
                                logs[0].planned_epochs);
    } else {
        if (title == NULL) {
            if (compared[0] != '\0' && distinct)
                snprintf(tbuf, sizeof(tbuf), "%zu runs compared by %s", m,
                         compared);
            else
                snprintf(tbuf, sizeof(tbuf), "%zu runs", m);
            title = tbuf;
        }
        rc = mlp_curves_overlay_png(png, lp, (const char *const *)labels, m,
                                    title, NULL);
    }
    if (rc == 0)
        fprintf(out, "wrote %s (%zu run%s)\n", png, m, m == 1 ? "" : "s");
out:
    for (size_t i = 0; i < m; i++) {
        mlp_runlog_free(&logs[i]);
        free(labels[i]);
    }
    free(paths);
    free(labels);
    free(lp);
    free(logs);
    return rc;
}
