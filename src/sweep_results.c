/*
 * sweep_results: what a sweep's runs came to (sweep_run.h): each run's
 * status from its JSON-lines log (runlog.h) or its exit, the ranking, the
 * ranked table, DIR/results.csv and the charts (curves.h).
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mlptrain/curves.h"
#include "mlptrain/error.h"
#include "mlptrain/outfile.h"
#include "sweep_run.h"

void mlp_sweep_path(const sweep_t *s, const run_t *r, const char *ext,
                    char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s.%s", s->o->dir, r->id, ext);
}

int mlp_sweep_final_status(const char *status)
{
    return strcmp(status, "ok") == 0 || strcmp(status, "diverged") == 0 ||
           strcmp(status, "error") == 0;
}

void mlp_sweep_say(const sweep_t *s, const char *fmt, ...)
{
    va_list ap;

    if (s->o->err == NULL)
        return;
    va_start(ap, fmt);
    vfprintf(s->o->err, fmt, ap);
    va_end(ap);
}

/* ---- a run's end ---------------------------------------------------- */

void mlp_sweep_check_earlier(sweep_t *s, run_t *r)
{
    char path[MLP_PATH_MAX + 64];

    mlp_sweep_path(s, r, "jsonl", path, sizeof(path));
    if (access(path, F_OK) != 0)
        return;
    if (mlp_runlog_read(path, &r->log) < 0) {
        mlp_runlog_free(&r->log);
        return;
    }
    if (r->log.has_end && mlp_sweep_final_status(r->log.status)) {
        r->state = R_DONE;
        r->earlier = 1;
        snprintf(r->status, sizeof(r->status), "%s", r->log.status);
        snprintf(r->message, sizeof(r->message), "%s", r->log.message);
    } else {
        mlp_runlog_free(&r->log);
    }
}

/* The last line of a run's output, for a run that left no end record. */
static void last_output_line(const sweep_t *s, const run_t *r, char *buf,
                             size_t len)
{
    char path[MLP_PATH_MAX + 64], line[512];
    FILE *f;

    buf[0] = '\0';
    mlp_sweep_path(s, r, "out", path, sizeof(path));
    if ((f = fopen(path, "r")) == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL)
        if (line[0] != '\n') {
            line[strcspn(line, "\n")] = '\0';
            snprintf(buf, len, "%s", line);
        }
    fclose(f);
}

/* Final figures of a run: from its end record, else from its epochs. */
static double final_acc(const run_t *r)
{
    if (r->log.has_end)
        return r->log.final_test_acc;
    return r->log.nepochs ? r->log.epochs[r->log.nepochs - 1].test_acc : 0.0;
}

static double best_acc(const run_t *r, unsigned *epoch)
{
    double best = 0.0;

    *epoch = 0;
    if (r->log.has_end) {
        *epoch = r->log.best_epoch;
        return r->log.best_test_acc;
    }
    for (size_t i = 0; i < r->log.nepochs; i++)
        if (*epoch == 0 || r->log.epochs[i].test_acc > best) {
            best = r->log.epochs[i].test_acc;
            *epoch = r->log.epochs[i].epoch;
        }
    return best;
}

/*
 * A run's validation accuracy at its best epoch (the highest; a run with
 * --val chooses its best epoch by it): from its end record, else from its
 * epochs.  Returns 0 when the run has no validation figure (no --val).
 */
static int best_val(const run_t *r, double *acc)
{
    int have = 0;

    *acc = 0.0;
    if (r->log.has_end && r->log.has_best_val) {
        *acc = r->log.best_val_acc;
        return 1;
    }
    for (size_t i = 0; i < r->log.nepochs; i++)
        if (r->log.epochs[i].has_val &&
            (!have || r->log.epochs[i].val_acc > *acc)) {
            *acc = r->log.epochs[i].val_acc;
            have = 1;
        }
    return have;
}

/* Some ended run of the sweep has a validation figure. */
static int any_val(const sweep_t *s, const size_t *order, size_t n)
{
    double v;

    for (size_t i = 0; i < n; i++)
        if (best_val(&s->runs[order[i]], &v))
            return 1;
    return 0;
}

static double run_seconds(const run_t *r)
{
    return r->log.has_end ? r->log.seconds : r->wall;
}

void mlp_sweep_settle(sweep_t *s, run_t *r, int wstatus, int stopping)
{
    char path[MLP_PATH_MAX + 64];
    struct stat st;
    unsigned be;

    mlp_sweep_path(s, r, "jsonl", path, sizeof(path));
    if (mlp_runlog_read(path, &r->log) < 0)
        mlp_runlog_free(&r->log);
    /* A resumed run that wrote nothing (exec failed, killed at once) left
     * the first part's end record last: it is not this run's. */
    if (r->resume && (stat(path, &st) != 0 || st.st_size == r->log_size))
        r->log.has_end = 0;
    r->message[0] = '\0';
    if (r->log.has_end) {
        snprintf(r->status, sizeof(r->status), "%s", r->log.status);
        snprintf(r->message, sizeof(r->message), "%s", r->log.message);
    } else if (WIFSIGNALED(wstatus)) {
        int sig = WTERMSIG(wstatus);

        if (stopping && (sig == SIGINT || sig == SIGKILL || sig == SIGTERM))
            snprintf(r->status, sizeof(r->status), "interrupted");
        else {
            snprintf(r->status, sizeof(r->status), "error");
            snprintf(r->message, sizeof(r->message), "killed by signal %d",
                     sig);
        }
    } else {
        int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;

        snprintf(r->status, sizeof(r->status), "%s",
                 code == 3     ? "diverged"
                 : code == 130 ? "interrupted"
                               : "error");
        last_output_line(s, r, r->message, sizeof(r->message));
        if (r->message[0] == '\0')
            snprintf(r->message, sizeof(r->message), "exit status %d", code);
    }
    mlp_sweep_say(s, "[%zu/%zu] %s %s: %s", s->nended, s->ntodo, r->id,
            r->label, r->status);
    if (r->log.nepochs > 0)
        mlp_sweep_say(s, ", test acc %.4f (best %.4f), %u epochs",
                final_acc(r), best_acc(r, &be), r->log.epochs[r->log.nepochs -
                                                              1].epoch);
    mlp_sweep_say(s, ", %.1f s%s%s\n", r->wall, r->message[0] ? ": " : "",
            r->message);
}


/* ---- ranking, results.csv, table, charts ----------------------------- */

/*
 * Ranked: ok runs first; then runs with a validation split, by their best
 * epoch's validation accuracy (choosing on the test set would leak it),
 * before runs without, by final test accuracy; then grid order.
 */
static int cmp_rank(const void *a, const void *b, void *arg)
{
    const sweep_t *s = arg;
    const run_t *x = &s->runs[*(const size_t *)a];
    const run_t *y = &s->runs[*(const size_t *)b];
    int okx = strcmp(x->status, "ok") == 0, oky = strcmp(y->status, "ok") == 0;
    double fx = final_acc(x), fy = final_acc(y), vx, vy;
    int hx = best_val(x, &vx), hy = best_val(y, &vy);

    if (okx != oky)
        return oky - okx;
    if (hx != hy)
        return hy - hx;
    if (hx && vx != vy)
        return vx < vy ? 1 : -1;
    if (fx != fy)
        return fx < fy ? 1 : -1;
    return x->point < y->point ? -1 : x->point > y->point;
}

size_t *mlp_sweep_ranking(const sweep_t *s, size_t *n)
{
    size_t *idx = malloc((s->nruns > 0 ? s->nruns : 1) * sizeof(*idx));

    *n = 0;
    if (idx == NULL)
        return NULL;
    for (size_t i = 0; i < s->nruns; i++)
        if (s->runs[i].state == R_DONE)
            idx[(*n)++] = i;
    qsort_r(idx, *n, sizeof(*idx), cmp_rank, (void *)s);
    return idx;
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(FILE *f, const char *v, int last)
{
    if (strpbrk(v, ",\"\r\n") != NULL) {
        fputc('"', f);
        for (; *v; v++) {
            if (*v == '"')
                fputc('"', f);
            fputc(*v, f);
        }
        fputc('"', f);
    } else {
        fputs(v, f);
    }
    fputc(last ? '\n' : ',', f);
}

/* DIR/results.csv through the output door (outfile.h): whole or absent. */
static int csv_fill(int fd, const char *tmp, void *arg)
{
    const sweep_t *s = arg;
    char v[64];
    size_t n, *order = mlp_sweep_ranking(s, &n), *rank = NULL;
    FILE *f = NULL;
    int rc = 0, fd2 = -1;

    rank = calloc(s->nruns > 0 ? s->nruns : 1, sizeof(*rank));
    if (order == NULL || rank == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        rank[order[i]] = i + 1;
    if ((fd2 = dup(fd)) < 0 || (f = fdopen(fd2, "w")) == NULL) {
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s", tmp,
                           strerror(errno));
        goto out;
    }
    fd2 = -1;
    fputs("rank,run", f);
    for (size_t k = 0; k < s->g->nkeys; k++)
        fprintf(f, ",%s", s->g->keys[k]);
    fputs(",status,epochs,final_test_acc,best_test_acc,best_epoch,"
          "best_val_acc,best_val_loss,stopped_early,"
          "final_train_loss,seconds,samples_per_s,log,message\n",
          f);
    for (size_t i = 0; i < s->nruns; i++) {
        const run_t *r = &s->runs[i];
        const mlp_runlog_t *l = &r->log;
        unsigned be;
        double ba = best_acc(r, &be);
        char logp[MLP_PATH_MAX + 64];

        if (r->state != R_DONE)
            continue;
        fprintf(f, "%zu,%s,", rank[i], r->id);
        for (size_t k = 0; k < s->g->nkeys; k++)
            csv_field(f, r->vals[k], 0);
        csv_field(f, r->status, 0);
        fprintf(f, "%u,", l->nepochs ? l->epochs[l->nepochs - 1].epoch : 0);
        if (l->nepochs > 0) {
            double bv;

            fprintf(f, "%.6f,%.6f,%u,", final_acc(r), ba, be);
            /* validation: empty without --val */
            if (best_val(r, &bv))
                fprintf(f, "%.6f,", bv);
            else
                fputs(",", f);
            if (l->has_end && l->has_best_val)
                fprintf(f, "%.6g,", l->best_val_loss);
            else
                fputs(",", f);
            if (l->stopped_early > 0)
                fprintf(f, "%u,", l->stopped_early);
            else
                fputs(",", f);
            fprintf(f, "%.6g,", l->epochs[l->nepochs - 1].train_loss);
        } else {
            fputs(",,,,,,,", f);
        }
        fprintf(f, "%.2f,", run_seconds(r));
        snprintf(v, sizeof(v), "%.0f", l->samples_per_s);
        fprintf(f, "%s,", l->has_end && l->samples_per_s > 0 ? v : "");
        mlp_sweep_path(s, r, "jsonl", logp, sizeof(logp));
        csv_field(f, logp, 0);
        csv_field(f, r->message, 1);
    }
    if (fflush(f) != 0 || ferror(f)) {
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s", tmp,
                           strerror(errno));
        goto out;
    }
out:
    if (f != NULL && fclose(f) != 0 && rc == 0)
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s", tmp,
                           strerror(errno));
    if (fd2 >= 0)
        close(fd2);
    free(rank);
    free(order);
    return rc;
}

int mlp_sweep_write_csv(const sweep_t *s)
{
    char path[MLP_PATH_MAX + 32];

    snprintf(path, sizeof(path), "%s/results.csv", s->o->dir);
    return mlp_out_write(path, csv_fill, (void *)s, NULL);
}

/* The ranked table, and the best run named. */
void mlp_sweep_print_table(const sweep_t *s, const size_t *order, size_t n,
                           FILE *out)
{
    enum { NFIX = 7 };
    static const char *const head[NFIX] = {"status", "test acc", "best acc",
                                           "loss",   "seconds",  "samples/s",
                                           "run"};
    size_t wk[MLP_SWEEP_MAX_KEYS], ws = strlen(head[0]), nk = s->g->nkeys;
    const run_t *best = NULL;
    int val = any_val(s, order, n); /* a "val acc" column, the ranking's */

    for (size_t k = 0; k < nk; k++) {
        wk[k] = strlen(s->g->keys[k]);
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(s->runs[order[i]].vals[k]);
            wk[k] = l > wk[k] ? l : wk[k];
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(s->runs[order[i]].status);
        ws = l > ws ? l : ws;
    }
    fprintf(out, "%4s", "rank");
    for (size_t k = 0; k < nk; k++)
        fprintf(out, "  %-*s", (int)wk[k], s->g->keys[k]);
    fprintf(out, "  %-*s", (int)ws, head[0]);
    if (val)
        fprintf(out, "  %8s", "val acc");
    fprintf(out, "  %8s  %8s  %6s  %7s  %9s  %s\n", head[1], head[2],
            head[3], head[4], head[5], head[6]);
    for (size_t i = 0; i < n; i++) {
        const run_t *r = &s->runs[order[i]];
        const mlp_runlog_t *l = &r->log;
        unsigned be;

        fprintf(out, "%4zu", i + 1);
        for (size_t k = 0; k < nk; k++)
            fprintf(out, "  %-*s", (int)wk[k], r->vals[k]);
        fprintf(out, "  %-*s", (int)ws, r->status);
        if (val) {
            double v;

            if (best_val(r, &v))
                fprintf(out, "  %8.4f", v);
            else
                fprintf(out, "  %8s", "-");
        }
        if (l->nepochs > 0) {
            double loss = l->epochs[l->nepochs - 1].train_loss;

            fprintf(out, "  %8.4f  %8.4f", final_acc(r), best_acc(r, &be));
            /* a run that blew up has a loss too long for the column */
            fprintf(out, loss < 1e4 ? "  %6.4f" : "  %6.1e", loss);
        } else
            fprintf(out, "  %8s  %8s  %6s", "-", "-", "-");
        fprintf(out, "  %7.1f", run_seconds(r));
        if (l->has_end && l->samples_per_s > 0)
            fprintf(out, "  %9.0f", l->samples_per_s);
        else
            fprintf(out, "  %9s", "-");
        fprintf(out, "  %s\n", r->id);
        if (best == NULL && strcmp(r->status, "ok") == 0)
            best = r;
    }
    /* Without validation figures the table ranks by test acc, as it
     * always did (its first figure column). */
    if (val)
        fputs("ranked by val acc (best epoch)\n", out);
    if (best != NULL) {
        unsigned be;
        double ba = best_acc(best, &be), bv;

        if (best_val(best, &bv))
            fprintf(out, "best: %s (%s): val acc %.4f at epoch %u (test acc "
                    "there %.4f), final test acc %.4f\n",
                    best->label, best->id, bv, be, ba, final_acc(best));
        else
            fprintf(out, "best: %s (%s): test acc %.4f, best %.4f at epoch "
                    "%u\n", best->label, best->id, final_acc(best), ba, be);
    } else {
        fputs("best: none (no run finished ok)\n", out);
    }
    fflush(out);
}

/*
 * DIR/curves.png and DIR/accuracy.png.  Every run with epochs is drawn, a
 * run that did not end ok marked with its status ("(diverged)").  A chart
 * that cannot be drawn is reported; the status is its error (the sweep
 * then exits non-zero).
 */
int mlp_sweep_draw_charts(const sweep_t *s, const size_t *order, size_t n)
{
    const mlp_runlog_t **logs = calloc(n + 1, sizeof(*logs));
    const char **labels = calloc(n + 1, sizeof(*labels));
    char **bar = calloc(n + 1, sizeof(*bar));
    char **lab = calloc(n + 1, sizeof(*lab));
    double *acc = calloc(n + 1, sizeof(*acc));
    char png[MLP_PATH_MAX + 32], title[MLP_PATH_MAX + 64];
    mlp_error_saved_t first;
    size_t nb = 0;
    int rc = 0, rc2;

    if (logs == NULL || labels == NULL || bar == NULL || lab == NULL ||
        acc == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for the charts");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const run_t *r = &s->runs[order[i]];
        size_t len = sizeof(r->label) + sizeof(r->status) + 4;

        logs[i] = &r->log;
        if ((lab[i] = malloc(len)) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "out of memory for the charts");
            goto out;
        }
        if (strcmp(r->status, "ok") == 0)
            snprintf(lab[i], len, "%s", r->label);
        else
            snprintf(lab[i], len, "%s (%s)", r->label, r->status);
        labels[i] = lab[i];
        if (r->log.nepochs == 0)
            continue;
        acc[nb] = final_acc(r);
        bar[nb++] = lab[i];
    }
    if (nb == 0)
        goto out;
    snprintf(png, sizeof(png), "%s/curves.png", s->o->dir);
    snprintf(title, sizeof(title), "sweep %s: %zu runs by %s", s->o->dir,
             nb, s->g->nkeys > 0 ? "their options" : "run");
    if ((rc2 = mlp_curves_overlay_png(png, logs, labels, n, title)) < 0) {
        mlp_sweep_say(s, "mlptrain: chart not drawn: %s\n",
                      mlp_error_message());
        mlp_error_save(&first);
        rc = rc2;
    } else {
        mlp_sweep_say(s, "chart: %s\n", png);
    }
    snprintf(png, sizeof(png), "%s/accuracy.png", s->o->dir);
    snprintf(title, sizeof(title), "sweep %s: final test accuracy per "
                                   "configuration", s->o->dir);
    if ((rc2 = mlp_curves_accuracy_png(png, (const char *const *)bar, acc, nb,
                                       title)) < 0) {
        mlp_sweep_say(s, "mlptrain: chart not drawn: %s\n",
                      mlp_error_message());
        if (rc == 0)
            rc = rc2;
        else
            mlp_error_restore(&first, rc);
    } else {
        mlp_sweep_say(s, "chart: %s\n", png);
    }
out:
    for (size_t i = 0; lab != NULL && i < n; i++)
        free(lab[i]);
    free(acc);
    free(lab);
    free(bar);
    free(labels);
    free(logs);
    return rc;
}
