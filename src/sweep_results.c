/*
 * sweep_results: what a sweep's runs came to (sweep_run.h): each job's end
 * from its JSON-lines log (runlog.h) or its exit, each run's figures, the
 * ranking, the ranked table, DIR/results.csv and the charts (curves.h).
 *
 * Figures.  A grid's run is read as it ended (its end record, else its
 * epochs).  A searching sweep's run is read from its epoch records up to
 * its rung's epochs: a run stopped at epoch 3 shows epoch 3's figures
 * even if an earlier plan trained it further, and its seconds are its
 * epochs' (a run trained in parts has one end record per part).
 */
#define _GNU_SOURCE /* qsort_r */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "mlptrain/csv.h"
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

/* A searching sweep: rungs, figures up to them. */
static int searching(const sweep_t *s)
{
    return s->search == MLP_SEARCH_HALVING ||
           s->search == MLP_SEARCH_HYPERBAND;
}

/* ---- a run's figures ---------------------------------------------------- */

/* The last epoch a run's figures may use: its rung's in a search. */
static unsigned cap(const sweep_t *s, const run_t *r)
{
    return searching(s) ? r->target : UINT_MAX;
}

/* The index of the run's last epoch record within cap, or -1. */
static long last_epoch(const sweep_t *s, const run_t *r)
{
    long k = -1;

    for (size_t i = 0; i < r->log.nepochs; i++)
        if (r->log.epochs[i].epoch <= cap(s, r))
            k = (long)i;
    return k;
}

/* The index of the best epoch within cap: the first highest validation
 * accuracy, or (no split) test accuracy; -1 without epochs. */
static long best_epoch(const sweep_t *s, const run_t *r)
{
    long k = -1;

    for (size_t i = 0; i < r->log.nepochs; i++) {
        const mlp_runlog_epoch_t *e = &r->log.epochs[i];

        if (e->epoch > cap(s, r))
            continue;
        if (k < 0 ||
            (e->has_val ? e->val_acc > r->log.epochs[k].val_acc
                        : e->test_acc > r->log.epochs[k].test_acc))
            k = (long)i;
    }
    return k;
}

int mlp_sweep_val_at(const run_t *r, unsigned e, double *v)
{
    int have = 0;

    *v = 0.0;
    for (size_t i = 0; i < r->log.nepochs; i++)
        if (r->log.epochs[i].epoch <= e && r->log.epochs[i].has_val &&
            (!have || r->log.epochs[i].val_acc > *v)) {
            *v = r->log.epochs[i].val_acc;
            have = 1;
        }
    return have;
}

/* Final figures of a run: from its end record, else from its epochs. */
static double final_acc(const sweep_t *s, const run_t *r)
{
    long k = last_epoch(s, r);

    if (!searching(s) && r->log.has_end)
        return r->log.final_test_acc;
    return k >= 0 ? r->log.epochs[k].test_acc : 0.0;
}

static double best_acc(const sweep_t *s, const run_t *r, unsigned *epoch)
{
    long k;

    if (!searching(s) && r->log.has_end) {
        *epoch = r->log.best_epoch;
        return r->log.best_test_acc;
    }
    k = best_epoch(s, r);
    *epoch = k >= 0 ? r->log.epochs[k].epoch : 0;
    return k >= 0 ? r->log.epochs[k].test_acc : 0.0;
}

/*
 * A run's validation accuracy at its best epoch (the highest; a run with
 * --val chooses its best epoch by it).  Returns 0 when the run has no
 * validation figure (no --val).
 */
static int best_val(const sweep_t *s, const run_t *r, double *acc)
{
    if (!searching(s) && r->log.has_end && r->log.has_best_val) {
        *acc = r->log.best_val_acc;
        return 1;
    }
    return mlp_sweep_val_at(r, cap(s, r), acc);
}

/* The lowest validation loss within cap; 0 without. */
static int best_val_loss(const sweep_t *s, const run_t *r, double *loss)
{
    int have = 0;

    if (!searching(s)) {
        *loss = r->log.best_val_loss;
        return r->log.has_end && r->log.has_best_val;
    }
    *loss = 0.0;
    for (size_t i = 0; i < r->log.nepochs; i++)
        if (r->log.epochs[i].epoch <= cap(s, r) &&
            r->log.epochs[i].has_val &&
            (!have || r->log.epochs[i].val_loss < *loss)) {
            *loss = r->log.epochs[i].val_loss;
            have = 1;
        }
    return have;
}

/* Some listed run has a validation figure. */
static int any_val(const sweep_t *s, const size_t *order, size_t n)
{
    double v;

    for (size_t i = 0; i < n; i++)
        if (best_val(s, &s->runs[order[i]], &v))
            return 1;
    return 0;
}

static double run_seconds(const sweep_t *s, const run_t *r)
{
    double t = 0.0;

    if (!searching(s))
        return r->log.has_end ? r->log.seconds : r->wall;
    for (size_t i = 0; i < r->log.nepochs; i++)
        if (r->log.epochs[i].epoch <= cap(s, r))
            t += r->log.epochs[i].seconds;
    return t;
}

/* Epochs of the run's figures (its last within cap). */
static unsigned run_epochs(const sweep_t *s, const run_t *r)
{
    long k = last_epoch(s, r);

    return k >= 0 ? r->log.epochs[k].epoch : 0;
}

/* ---- a job's end ------------------------------------------------------ */

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

void mlp_sweep_settle(sweep_t *s, run_t *r, int wstatus, int stopping)
{
    char path[MLP_PATH_MAX + 64];
    struct stat st;
    const mlp_runlog_t *l = &r->log;
    double v;

    mlp_runlog_free(&r->log);
    mlp_sweep_path(s, r, "jsonl", path, sizeof(path));
    if (mlp_runlog_read(path, &r->log) < 0)
        mlp_runlog_free(&r->log);
    /* A resumed run that wrote nothing (exec failed, killed at once) left
     * the first part's end record last: it is not this run's. */
    if (r->resume && (stat(path, &st) != 0 || st.st_size == r->log_size))
        r->log.has_end = 0;
    r->message[0] = '\0';
    r->state = R_DONE;
    if (l->has_end && strcmp(l->status, "paused") == 0 &&
        l->end_epochs >= r->target) {
        r->state = R_WAITING;
        snprintf(r->status, sizeof(r->status), "waiting");
    } else if (l->has_end && strcmp(l->status, "paused") != 0) {
        snprintf(r->status, sizeof(r->status), "%s", l->status);
        snprintf(r->message, sizeof(r->message), "%s", l->message);
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
    mlp_sweep_journal(s, "{s:s,s:s,s:s,s:I}", "type", "done", "run", r->id,
                      "status", r->state == R_WAITING ? "paused" : r->status,
                      "epochs", (json_int_t)run_epochs(s, r));
    mlp_sweep_say(s, "[%zu/%zu] %s %s: %s", s->nended, s->njobs, r->id,
                  r->label, r->state == R_WAITING ? "paused" : r->status);
    if (searching(s) && l->nepochs > 0)
        mlp_sweep_say(s, " at epoch %u (rung %u of %u)%s", run_epochs(s, r),
                      r->rung + 1, s->br[r->bracket].nrungs,
                      mlp_sweep_val_at(r, r->target, &v) ? "," : "");
    if (searching(s) && mlp_sweep_val_at(r, r->target, &v))
        mlp_sweep_say(s, " val acc %.4f", v);
    else if (l->nepochs > 0) {
        unsigned be;

        mlp_sweep_say(s, ", test acc %.4f (best %.4f), %u epochs",
                      final_acc(s, r), best_acc(s, r, &be),
                      l->epochs[l->nepochs - 1].epoch);
    }
    mlp_sweep_say(s, ", %.1f s%s%s\n", r->wall, r->message[0] ? ": " : "",
                  r->message);
}

/* ---- ranking, results.csv, table, charts ------------------------------ */

/* A run has something to show: it ended, or trained some epochs. */
static int listed(const run_t *r)
{
    return r->state == R_DONE || r->state == R_WAITING || r->log.nepochs > 0;
}

/* Its status as shown: a pending job that the journal shows running in
 * another process is running. */
static const char *shown_status(const sweep_t *s, const run_t *r)
{
    if (r->state == R_PENDING && s->running_elsewhere && r->journal_running)
        return "running";
    return r->status;
}

/* The class of a searching run: ok, in good standing, interrupted,
 * failed. */
static int klass(const run_t *r)
{
    if (r->state == R_DONE && strcmp(r->status, "ok") == 0)
        return 0;
    if (r->state == R_DONE && strcmp(r->status, "interrupted") == 0)
        return 2;
    if (r->state == R_DONE && strcmp(r->status, "stopped") != 0)
        return 3;
    return 1;
}

static int cmp_rank(const void *a, const void *b, void *arg)
{
    const sweep_t *s = arg;
    const run_t *x = &s->runs[*(const size_t *)a];
    const run_t *y = &s->runs[*(const size_t *)b];
    double vx, vy, fx, fy;
    int hx = best_val(s, x, &vx), hy = best_val(s, y, &vy);

    if (searching(s)) {
        unsigned ex = run_epochs(s, x), ey = run_epochs(s, y);

        if (klass(x) != klass(y))
            return klass(x) - klass(y);
        if (ex != ey)
            return ex < ey ? 1 : -1;
        if (hx != hy)
            return hy - hx;
        if (hx && vx != vy)
            return vx < vy ? 1 : -1;
        return strcmp(x->id, y->id);
    }
    /* Grid, random: ok runs first; then runs with a validation split, by
     * their best epoch's validation accuracy (choosing on the test set
     * would leak it), before runs without, by final test accuracy; then
     * the plan's order. */
    {
        int okx = strcmp(x->status, "ok") == 0;
        int oky = strcmp(y->status, "ok") == 0;

        fx = final_acc(s, x);
        fy = final_acc(s, y);
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
}

size_t *mlp_sweep_ranking(const sweep_t *s, size_t *n)
{
    size_t *idx = malloc((s->nruns > 0 ? s->nruns : 1) * sizeof(*idx));

    *n = 0;
    if (idx == NULL)
        return NULL;
    for (size_t i = 0; i < s->nruns; i++)
        if (listed(&s->runs[i]))
            idx[(*n)++] = i;
    qsort_r(idx, *n, sizeof(*idx), cmp_rank, (void *)s);
    return idx;
}

/* A CSV field (csv.h's quoting), then the separator or the line's end. */
static void csv_field(FILE *f, const char *v, int last)
{
    mlp_csv_write_field(f, v);
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
    fputs(",status", f);
    if (s->search == MLP_SEARCH_HYPERBAND)
        fputs(",bracket", f);
    if (searching(s))
        fputs(",rung", f);
    fputs(",epochs,final_test_acc,best_test_acc,best_epoch,"
          "best_val_acc,best_val_loss,stopped_early,"
          "final_train_loss,seconds,samples_per_s,log,message\n",
          f);
    for (size_t i = 0; i < s->nruns; i++) {
        const run_t *r = &s->runs[i];
        const mlp_runlog_t *l = &r->log;
        long k = last_epoch(s, r);
        unsigned be;
        double ba = best_acc(s, r, &be);
        char logp[MLP_PATH_MAX + 64];

        if (!listed(r))
            continue;
        fprintf(f, "%zu,%s,", rank[i], r->id);
        for (size_t c = 0; c < s->g->nkeys; c++)
            csv_field(f, r->vals[c], 0);
        csv_field(f, shown_status(s, r), 0);
        if (s->search == MLP_SEARCH_HYPERBAND)
            fprintf(f, "%zu,", r->bracket + 1);
        if (searching(s))
            fprintf(f, "%u,", r->rung + 1);
        fprintf(f, "%u,", run_epochs(s, r));
        if (k >= 0) {
            double bv;

            fprintf(f, "%.6f,%.6f,%u,", final_acc(s, r), ba, be);
            /* validation: empty without --val */
            if (best_val(s, r, &bv))
                fprintf(f, "%.6f,", bv);
            else
                fputs(",", f);
            if (best_val_loss(s, r, &bv))
                fprintf(f, "%.6g,", bv);
            else
                fputs(",", f);
            if (l->stopped_early > 0)
                fprintf(f, "%u,", l->stopped_early);
            else
                fputs(",", f);
            fprintf(f, "%.6g,", l->epochs[k].train_loss);
        } else {
            fputs(",,,,,,,", f);
        }
        fprintf(f, "%.2f,", run_seconds(s, r));
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
    char path[MLP_PATH_MAX + 64];

    snprintf(path, sizeof(path), "%s/results%s.csv", s->o->dir, s->suffix);
    return mlp_out_write(path, csv_fill, (void *)s, NULL);
}

/* "2/4", a run's rung of its bracket's. */
static void rung_text(const sweep_t *s, const run_t *r, char *buf,
                      size_t len)
{
    snprintf(buf, len, "%u/%u", r->rung + 1, s->br[r->bracket].nrungs);
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
    int search = searching(s);

    for (size_t k = 0; k < nk; k++) {
        wk[k] = strlen(s->g->keys[k]);
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(s->runs[order[i]].vals[k]);
            wk[k] = l > wk[k] ? l : wk[k];
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(shown_status(s, &s->runs[order[i]]));
        ws = l > ws ? l : ws;
    }
    fprintf(out, "%4s", "rank");
    for (size_t k = 0; k < nk; k++)
        fprintf(out, "  %-*s", (int)wk[k], s->g->keys[k]);
    fprintf(out, "  %-*s", (int)ws, head[0]);
    if (search)
        fprintf(out, "  %5s  %6s", "rung", "epochs");
    if (val)
        fprintf(out, "  %8s", "val acc");
    fprintf(out, "  %8s  %8s  %6s  %7s  %9s  %s\n", head[1], head[2],
            head[3], head[4], head[5], head[6]);
    for (size_t i = 0; i < n; i++) {
        const run_t *r = &s->runs[order[i]];
        const mlp_runlog_t *l = &r->log;
        long k = last_epoch(s, r);
        unsigned be;

        fprintf(out, "%4zu", i + 1);
        for (size_t c = 0; c < nk; c++)
            fprintf(out, "  %-*s", (int)wk[c], r->vals[c]);
        fprintf(out, "  %-*s", (int)ws, shown_status(s, r));
        if (search) {
            char rt[32];

            rung_text(s, r, rt, sizeof(rt));
            fprintf(out, "  %5s  %6u", rt, run_epochs(s, r));
        }
        if (val) {
            double v;

            if (best_val(s, r, &v))
                fprintf(out, "  %8.4f", v);
            else
                fprintf(out, "  %8s", "-");
        }
        if (k >= 0) {
            double loss = l->epochs[k].train_loss;

            fprintf(out, "  %8.4f  %8.4f", final_acc(s, r),
                    best_acc(s, r, &be));
            /* a run that blew up has a loss too long for the column */
            fprintf(out, loss < 1e4 ? "  %6.4f" : "  %6.1e", loss);
        } else
            fprintf(out, "  %8s  %8s  %6s", "-", "-", "-");
        fprintf(out, "  %7.1f", run_seconds(s, r));
        if (l->has_end && l->samples_per_s > 0)
            fprintf(out, "  %9.0f", l->samples_per_s);
        else
            fprintf(out, "  %9s", "-");
        fprintf(out, "  %s\n", r->id);
        if (best == NULL && r->state == R_DONE &&
            strcmp(r->status, "ok") == 0)
            best = r;
    }
    /* Without validation figures the table ranks by test acc, as it
     * always did (its first figure column). */
    if (search)
        fputs("ranked by the epochs reached, then val acc (best epoch "
              "within them), then run id\n", out);
    else if (val)
        fputs("ranked by val acc (best epoch)\n", out);
    if (best != NULL) {
        unsigned be;
        double ba = best_acc(s, best, &be), bv;

        if (best_val(s, best, &bv))
            fprintf(out, "best: %s (%s): val acc %.4f at epoch %u (test acc "
                    "there %.4f), final test acc %.4f\n",
                    best->label, best->id, bv, be, ba, final_acc(s, best));
        else
            fprintf(out, "best: %s (%s): test acc %.4f, best %.4f at epoch "
                    "%u\n", best->label, best->id, final_acc(s, best), ba,
                    be);
    } else {
        fputs("best: none (no run finished ok)\n", out);
    }
    fflush(out);
}

/*
 * DIR/curves.png and DIR/accuracy.png.  Every run with epochs is drawn, a
 * run that did not end ok marked with its status ("(diverged)", "(stopped
 * at rung 1 of 4)").  With validation figures the charts show what ranks
 * the runs: validation accuracy against epoch, the best validation
 * accuracy per run in the ranking's order; a search's rungs are marked.
 * A chart that cannot be drawn is reported; the status is its error (the
 * sweep then exits non-zero).
 */
int mlp_sweep_draw_charts(const sweep_t *s, const size_t *order, size_t n)
{
    const mlp_runlog_t **logs = calloc(n + 1, sizeof(*logs));
    mlp_runlog_t *capped = calloc(n + 1, sizeof(*capped));
    const char **labels = calloc(n + 1, sizeof(*labels));
    char **bar = calloc(n + 1, sizeof(*bar));
    char **lab = calloc(n + 1, sizeof(*lab));
    double *acc = calloc(n + 1, sizeof(*acc));
    int *stopped = calloc(n + 1, sizeof(*stopped));
    char png[MLP_PATH_MAX + 32], title[MLP_PATH_MAX + 64];
    int val = any_val(s, order, n), search = searching(s);
    mlp_overlay_opts_t op;
    mlp_error_saved_t first;
    size_t nb = 0;
    int rc = 0, rc2;

    if (logs == NULL || capped == NULL || labels == NULL || bar == NULL ||
        lab == NULL || acc == NULL || stopped == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for the charts");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const run_t *r = &s->runs[order[i]];
        size_t len = sizeof(r->label) + sizeof(r->status) + 64;
        long k = last_epoch(s, r);
        double v;

        /* the epochs within its rung, a view of its log */
        capped[i] = r->log;
        capped[i].nepochs = (size_t)(k + 1);
        logs[i] = &capped[i];
        if ((lab[i] = malloc(len)) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "out of memory for the charts");
            goto out;
        }
        if (strcmp(r->status, "ok") == 0)
            snprintf(lab[i], len, "%s", r->label);
        else if (search && strcmp(r->status, "stopped") == 0)
            snprintf(lab[i], len, "%s (stopped at rung %u/%u)", r->label,
                     r->rung + 1, s->br[r->bracket].nrungs);
        else
            snprintf(lab[i], len, "%s (%s)", r->label, shown_status(s, r));
        labels[i] = lab[i];
        stopped[i] = search && strcmp(r->status, "stopped") == 0;
        if (k < 0)
            continue;
        acc[nb] = val ? (best_val(s, r, &v) ? v : 0.0) : final_acc(s, r);
        bar[nb++] = lab[i];
    }
    if (nb == 0)
        goto out;
    memset(&op, 0, sizeof(op));
    op.val = val;
    op.rungs = search && s->nbr > 0 ? s->br[0].epochs : NULL;
    op.nrungs = search && s->nbr > 0 ? s->br[0].nrungs : 0;
    op.stopped = stopped;
    snprintf(png, sizeof(png), "%s/curves.png", s->o->dir);
    snprintf(title, sizeof(title), "sweep %s: %zu runs by %s%s", s->o->dir,
             nb, s->g->nkeys > 0 ? "their options" : "run",
             search ? ", ranked at the dotted rungs (x: stopped)" : "");
    if ((rc2 = mlp_curves_overlay_png(png, logs, labels, n, title, &op)) <
        0) {
        mlp_sweep_say(s, "mlptrain: chart not drawn: %s\n",
                      mlp_error_message());
        mlp_error_save(&first);
        rc = rc2;
    } else {
        mlp_sweep_say(s, "chart: %s\n", png);
    }
    snprintf(png, sizeof(png), "%s/accuracy.png", s->o->dir);
    snprintf(title, sizeof(title), "sweep %s: %s per configuration%s",
             s->o->dir, val ? "best validation accuracy" :
             "final test accuracy", val ? ", in the ranking's order" : "");
    if ((rc2 = mlp_curves_accuracy_png(
             png, (const char *const *)bar, acc, nb, title,
             val ? "best validation accuracy (what ranks the runs)" : NULL,
             val)) < 0) {
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
    free(stopped);
    free(acc);
    free(lab);
    free(bar);
    free(labels);
    free(capped);
    free(logs);
    return rc;
}
