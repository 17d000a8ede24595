/*
 * cmd_plot: `mlptrain plot LOG.jsonl... --png FILE`: read the logs
 * (runlog.h), label the runs by the options in which they differ, and draw
 * (curves.h).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/curves.h"
#include "mlptrain/error.h"
#include "mlptrain/outfile.h"
#include "mlptrain/plot.h"
#include "mlptrain/runlog.h"

static const struct option plot_options[] = {
    {"png", required_argument, NULL, 'o'},
    {"title", required_argument, NULL, 'T'},
    MLP_CLI_STD_OPTIONS,
};

static void plot_usage(FILE *f)
{
    fputs("usage: mlptrain plot LOG.jsonl... --png FILE [--title TEXT]\n"
          "Draw training curves from the JSON-lines logs of runs (--log).\n"
          "One log: train loss, train accuracy and test accuracy against\n"
          "epoch.  Several logs: test accuracy and train loss overlaid, one\n"
          "color per run.\n"
          "\n"
          "  -o, --png FILE     the PNG to write (required)\n"
          "  -T, --title TEXT   the chart's title\n"
          "                     [the run's model, or the number of runs]\n"
          "  -h, --help         show this help\n"
          "  -V, --version      show versions\n",
          f);
    mlp_cli_exit_status(f, NULL, "error (a log, gnuplot, the picture)", 0);
}

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
    const char *png = NULL, *title = NULL, **paths = NULL;
    mlp_runlog_t *logs = NULL;
    const mlp_runlog_t **lp = NULL;
    char **labels = NULL, tbuf[512], compared[128];
    size_t n = 0, m = 0;
    int c, rc = 0, distinct = 1;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:T:hV", plot_options, NULL)) != -1)
        switch (c) {
        case 'o':
            png = optarg;
            break;
        case 'T':
            title = optarg;
            break;
        case 'h':
            plot_usage(out);
            return 0;
        case 'V':
            mlp_cli_version(out);
            return 0;
        default:
            return mlp_cli_bad_option(c, argv, plot_options, NULL);
        }
    if (png == NULL || png[0] == '\0')
        return mlp_error_set(MLP_EUSAGE, "option '--png' is required");
    if (optind >= argc)
        return mlp_error_set(MLP_EUSAGE, "no log given: mlptrain plot "
                                         "LOG.jsonl... --png FILE");
    n = (size_t)(argc - optind);
    /* The picture is checked before any work, and may not be a log. */
    if ((rc = mlp_plot_check(png)) < 0)
        return rc;
    {
        mlp_out_file_t *fs = calloc(n + 1, sizeof(*fs));

        if (fs == NULL)
            return mlp_error_set(MLP_ENOMEM, "out of memory");
        fs[0] = (mlp_out_file_t){png, "--png", 1, NULL};
        for (size_t i = 0; i < n; i++)
            fs[i + 1] = (mlp_out_file_t){argv[optind + (int)i], "LOG", 0,
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
        const char *path = argv[optind + (int)i];

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
