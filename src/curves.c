/*
 * curves: gnuplot scripts for training curves, sweep overlays and accuracy
 * bars (see curves.h); the `mlptrain plot` command is cmd_plot.c.
 *
 * Data goes inline in the script (`$d << EOD` blocks); every text that comes
 * from the user (titles, labels) is drawn `noenhanced`, so an underscore is
 * an underscore.  Non-goals: interactive output, other formats than PNG.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/curves.h"
#include "mlptrain/error.h"
#include "mlptrain/outfile.h"
#include "mlptrain/plot.h"

/* Ten colors that stay apart (matplotlib's tab10), then dashes change. */

/*
 * Tick marks of a log-scale axis over [lo, hi], as "(t1, t2, ...)", each a
 * plain number (gnuplot would print only the powers of ten, as 10^-1): more
 * marks per decade the fewer decades the axis spans.
 */
static void log_tics(double lo, double hi, char *buf, size_t len)
{
    static const double fine[] = {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8};
    static const double mid[] = {1, 2, 3, 5};
    static const double coarse[] = {1};
    const double *m = coarse;
    size_t nm = 1, off = 0;
    double decades = log10(hi / lo);

    if (decades <= 1.2) {
        m = fine;
        nm = sizeof(fine) / sizeof(fine[0]);
    } else if (decades <= 3.0) {
        m = mid;
        nm = sizeof(mid) / sizeof(mid[0]);
    }
    off += (size_t)snprintf(buf, len, "(");
    for (int e = (int)floor(log10(lo)); e <= (int)ceil(log10(hi)); e++)
        for (size_t i = 0; i < nm && off + 32 < len; i++) {
            double t = m[i] * pow(10.0, e);

            if (t >= lo && t <= hi)
                off += (size_t)snprintf(buf + off, len - off, "%s%g",
                                        off > 1 ? ", " : "", t);
        }
    snprintf(buf + off, len - off, ")");
    if (off == 1) /* no mark inside: let gnuplot choose */
        snprintf(buf, len, "auto");
}

static const char *const palette[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
};
#define NCOLORS (sizeof(palette) / sizeof(palette[0]))

/* The title as $T[1]: user text never enters the program (plot.h). */
static void title_block(FILE *f, const char *title)
{
    const char *t[1] = {title != NULL ? title : ""};

    mlp_plot_texts(f, "T", t, 1);
}

/* s as a double-quoted data field: " becomes ', controls dropped. */
static void data_quote(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++)
        if ((unsigned char)*s >= 0x20)
            fputc(*s == '"' ? '\'' : *s, f);
    fputc('"', f);
}

/* Open a script buffer; finish() draws it and frees it. */
static FILE *script_open(char **buf, size_t *len, const char *png)
{
    FILE *f = open_memstream(buf, len);

    if (f == NULL)
        mlp_error_set(MLP_ENOMEM, "out of memory for the chart '%s'", png);
    return f;
}

static int finish(FILE *f, char **buf, const char *png, int w, int h)
{
    int rc;

    if (fclose(f) != 0 || *buf == NULL) {
        free(*buf);
        *buf = NULL;
        return mlp_error_set(MLP_ENOMEM, "out of memory for the chart '%s'",
                             png);
    }
    rc = mlp_plot_png(png, w, h, *buf);
    free(*buf);
    *buf = NULL;
    return rc;
}

static void epochs_block(FILE *f, const char *name,
                         const mlp_runlog_epoch_t *ep, size_t n)
{
    fprintf(f, "$%s << EOD\n", name);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%u %.6f %.6f %.6f %.6f\n", ep[i].epoch, ep[i].train_loss,
                ep[i].train_acc, ep[i].test_acc, ep[i].val_acc);
    fputs("EOD\n", f);
}

/* The epoch axis: [1, last], whole epochs as tics when there are few. */
static void epoch_axis(FILE *f, unsigned last)
{
    if (last < 2)
        last = 2;
    fprintf(f, "set xrange [1:%u]\nset xlabel 'epoch'\n", last);
    if (last <= 20)
        fputs("set xtics 1\n", f);
    else
        fputs("set xtics\n", f);
}

int mlp_curves_run_png(const char *png, const mlp_runlog_epoch_t *ep,
                       size_t n, const char *title, unsigned max_epoch)
{
    char *buf = NULL;
    size_t len = 0;
    unsigned last = max_epoch;
    double lo = 1e300, hi = 0.0;
    char tics[1024];
    FILE *f;

    if (n == 0)
        return mlp_error_set(MLP_EINVAL, "'%s': no epochs to draw", png);
    if (ep[n - 1].epoch > last)
        last = ep[n - 1].epoch;
    /* The loss on a log scale (right axis), so a run whose loss falls from
     * 2 to 0.2 or one that blows up stays readable beside the accuracies
     * (left axis, 0..1); its range is that of the finite losses. */
    for (size_t i = 0; i < n; i++) {
        double v = ep[i].train_loss;

        if (v > 0.0 && v < 1e6) {
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    if (hi == 0.0) {
        lo = 0.1;
        hi = 1.0;
    }
    if ((f = script_open(&buf, &len, png)) == NULL)
        return MLP_ENOMEM;
    epochs_block(f, "d", ep, n);
    if (title != NULL) {
        title_block(f, title);
        fputs("set title $T[1][2:] noenhanced font ',12'\n", f);
    }
    epoch_axis(f, last);
    fputs("set yrange [0:1]\nset ytics 0.1 nomirror\nset ylabel 'accuracy'\n",
          f);
    lo /= 1.25;
    hi *= 1.25;
    log_tics(lo, hi, tics, sizeof(tics));
    fprintf(f, "set logscale y2\nset y2range [%.6g:%.6g]\nset y2tics %s "
               "nomirror\nset format y2 '%%g'\n"
               "set y2label 'train loss per sample (log scale)'\n",
            lo, hi, tics);
    fputs("set grid\n"
          "set key outside right top vertical spacing 1.5\n"
          "plot $d using 1:2 axes x1y2 with linespoints lw 2 pt 7 ps 0.8 "
          "lc rgb '#1f77b4' title 'train loss', \\\n"
          "     $d using 1:3 with linespoints lw 2 dt 2 pt 5 ps 0.8 "
          "lc rgb '#9467bd' title 'train acc', \\\n"
          "     $d using 1:4 with linespoints lw 2 dt 4 pt 9 ps 1 "
          "lc rgb '#2ca02c' title 'test acc'\n",
          f);
    return finish(f, &buf, png, 900, 520);
}

/* Line style of run i: a color, and a dash pattern per round of colors. */
static void run_style(FILE *f, size_t i)
{
    fprintf(f, "lw 2 dt %zu lc rgb '%s'", 1 + (i / NCOLORS) % 5,
            palette[i % NCOLORS]);
}

/*
 * The y range of column col (2: train loss, drawn on a log scale; 4: test
 * accuracy; 5: validation accuracy) over every run, padded; never empty,
 * which gnuplot warns about.
 */
static void value_range(const mlp_runlog_t *const *logs, size_t n, int col,
                        double *lo, double *hi)
{
    double a = 1e300, b = -1e300;

    for (size_t i = 0; i < n; i++)
        for (size_t e = 0; e < logs[i]->nepochs; e++) {
            double v = col == 2   ? logs[i]->epochs[e].train_loss
                       : col == 5 ? logs[i]->epochs[e].val_acc
                                  : logs[i]->epochs[e].test_acc;

            if (!(v > -1e300 && v < 1e300) || (col == 2 && !(v > 0.0)))
                continue;
            a = v < a ? v : a;
            b = v > b ? v : b;
        }
    if (a > b) {
        a = col == 2 ? 0.01 : 0.0;
        b = 1.0;
    }
    if (col == 2) { /* a factor on a log scale */
        *lo = a / 1.3;
        *hi = b * 1.3;
    } else {
        double pad = (b - a) * 0.05 > 0.005 ? (b - a) * 0.05 : 0.005;

        *lo = a - pad;
        *hi = b + pad;
    }
}

int mlp_curves_overlay_png(const char *png, const mlp_runlog_t *const *logs,
                           const char *const *labels, size_t n,
                           const char *title,
                           const mlp_overlay_opts_t *opts)
{
    struct { int col; const char *title, *scale; } panels[] = {
        {4, "test accuracy", "unset logscale y\nset ytics auto"},
        /* log: a run that blows up must not flatten the others */
        {2, "train loss per sample (log scale)",
         "set logscale y\nset format y '%g'"},
    };
    mlp_overlay_opts_t none = {0, NULL, 0, NULL};
    char *buf = NULL;
    size_t len = 0, drawn = 0, height;
    unsigned last = 0;
    FILE *f;

    for (size_t i = 0; i < n; i++)
        if (logs[i]->nepochs > 0) {
            drawn++;
            if (logs[i]->epochs[logs[i]->nepochs - 1].epoch > last)
                last = logs[i]->epochs[logs[i]->nepochs - 1].epoch;
        }
    if (drawn == 0)
        return mlp_error_set(MLP_EINVAL, "'%s': no run has epochs to draw",
                             png);
    if (opts == NULL)
        opts = &none;
    if (opts->val) {
        panels[0].col = 5;
        panels[0].title = "validation accuracy (what ranks the runs)";
    }
    if ((f = script_open(&buf, &len, png)) == NULL)
        return MLP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char name[32];

        snprintf(name, sizeof(name), "r%zu", i);
        if (logs[i]->nepochs > 0)
            epochs_block(f, name, logs[i]->epochs, logs[i]->nepochs);
    }
    title_block(f, title);
    mlp_plot_texts(f, "L", labels, n); /* run i's legend: $L[i+1][2:] */
    /* Two panels side by side, the legend in a third column of its own. */
    fputs("set multiplot", f);
    if (title != NULL)
        fputs(" title $T[1][2:] noenhanced font ',12'", f);
    fputs("\nset grid\nunset key\n", f);
    epoch_axis(f, last);
    /* A search's rungs: where runs were ranked, and some stopped. */
    for (size_t k = 0; k < opts->nrungs; k++)
        if (opts->rungs[k] > 1 && opts->rungs[k] < last)
            fprintf(f, "set arrow from %u, graph 0 to %u, graph 1 nohead "
                       "dt 3 lw 1 lc rgb '#555555'\n",
                    opts->rungs[k], opts->rungs[k]);
    for (size_t p = 0; p < 2; p++) {
        double lo, hi;
        int first = 1;

        value_range(logs, n, panels[p].col, &lo, &hi);
        if (panels[p].col == 2) {
            char tics[1024];

            log_tics(lo, hi, tics, sizeof(tics));
            fprintf(f, "set ytics %s\n", tics);
        }
        fprintf(f, "set origin %.2f,0\nset size 0.37,0.94\n"
                   "set title '%s'\nset ylabel '%s'\n%s\n"
                   "set yrange [%.6g:%.6g]\nplot ",
                0.37 * (double)p, panels[p].title, panels[p].title,
                panels[p].scale, lo, hi);
        for (size_t i = 0; i < n; i++) {
            if (logs[i]->nepochs == 0)
                continue;
            fprintf(f, "%s$r%zu using 1:%d with linespoints pt 7 ps 0.5 ",
                    first ? "" : ", \\\n     ", i, panels[p].col);
            run_style(f, i);
            fputs(" notitle", f);
            first = 0;
            /* a stopped run: a cross on its last point */
            if (opts->stopped != NULL && opts->stopped[i])
                fprintf(f, ", \\\n     $r%zu every ::%zu::%zu using 1:%d "
                           "with points pt 2 ps 1.6 lw 2 lc rgb '%s' notitle",
                        i, logs[i]->nepochs - 1, logs[i]->nepochs - 1,
                        panels[p].col, palette[i % NCOLORS]);
        }
        fputs("\n", f);
    }
    /* The legend: invisible curves, visible keys. */
    fputs("unset arrow\nset origin 0.74,0\nset size 0.26,0.94\nunset title\n"
          "unset logscale y\nunset border\nunset tics\nunset xlabel\n"
          "unset ylabel\nunset grid\nset xrange [0:1]\nset yrange [0:1]\n"
          "set key at graph 0, graph 0.5 left center Left reverse vertical "
          "noenhanced spacing 1.2 samplen 3\n"
          "plot ",
          f);
    drawn = 0;
    for (size_t i = 0; i < n; i++) {
        if (logs[i]->nepochs == 0)
            continue;
        fprintf(f, "%sNaN with linespoints pt 7 ps 0.5 ",
                drawn++ ? ", \\\n     " : "");
        run_style(f, i);
        fprintf(f, " title $L[%zu][2:]", i + 1);
    }
    fputs("\nunset multiplot\n", f);
    height = 520;
    if (drawn > 20)
        height = 120 + 20 * drawn;
    return finish(f, &buf, png, 1400, (int)height);
}

int mlp_curves_accuracy_png(const char *png, const char *const *labels,
                            const double *acc, size_t n, const char *title,
                            const char *metric, int ranked)
{
    char *buf = NULL;
    size_t len = 0, *order = NULL;
    double lo = 1.0, hi = 0.0;
    FILE *f = NULL;
    int rc = 0;

    if (n == 0)
        return mlp_error_set(MLP_EINVAL, "'%s': no runs to draw", png);
    order = malloc(n * sizeof(*order));
    if (order == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory for the chart '%s'",
                             png);
    /* Insertion sort, worst first: gnuplot draws row 0 at the bottom. */
    for (size_t i = 0; i < n; i++) {
        size_t j = i;

        /* ties: the earlier (better ranked) one above; ranked: the
         * given order, the first on top */
        for (; j > 0 && !ranked && acc[order[j - 1]] >= acc[i]; j--)
            order[j] = order[j - 1];
        if (ranked) {
            memmove(order + 1, order, i * sizeof(*order));
            j = 0;
        }
        order[j] = i;
        if (acc[i] < lo)
            lo = acc[i];
        if (acc[i] > hi)
            hi = acc[i];
    }
    /* Zoom on the spread, in steps of 0.05, leaving room for the values. */
    lo = (double)(long)((lo - 0.02) * 20.0) / 20.0;
    if (lo < 0.0)
        lo = 0.0;
    hi = hi + (hi - lo) * 0.18 + 0.01;
    if ((f = script_open(&buf, &len, png)) == NULL) {
        rc = MLP_ENOMEM;
        goto out;
    }
    fputs("$d << EOD\n", f);
    for (size_t k = 0; k < n; k++) {
        data_quote(f, labels[order[k]]);
        fprintf(f, " %.6f %zu\n", acc[order[k]], k);
    }
    fputs("EOD\n", f);
    if (title != NULL) {
        title_block(f, title);
        fputs("set title $T[1][2:] noenhanced font ',12'\n", f);
    }
    fprintf(f, "set xrange [%.3f:%.3f]\nset yrange [-0.7:%zu.7]\n"
               "set xlabel '%s (the axis starts at %.2f)'\n"
               "set ytics noenhanced nomirror\nset xtics nomirror\n"
               "set grid xtics\nunset key\n"
               "set style fill solid 0.75 border rgb '#1f4e79'\n"
               "plot $d using (($2+%.3f)/2):3:(($2-%.3f)/2):(0.35):"
               "yticlabels(1) with boxxyerror lc rgb '#1f77b4', \\\n"
               "     $d using 2:3:(sprintf('%%.4f', $2)) with labels left "
               "offset 0.6,0\n",
            lo, hi, n - 1, metric != NULL ? metric : "final test accuracy",
            lo, lo, lo);
    rc = finish(f, &buf, png, 1000, (int)(130 + 34 * n));
    f = NULL;
out:
    free(order);
    return rc;
}
