/*
 * report: human lines and JSON-lines records (see report.h).
 *
 * Also the progress line within an epoch (stderr) and the --plot picture
 * (drawn by curves.c).  Non-goals: reading logs back (runlog.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "git-version.h"
#include "mlptrain/curves.h"
#include "mlptrain/error.h"
#include "mlptrain/outfile.h"
#include "mlptrain/report.h"

struct mlp_report {
    FILE *out;          /* human lines; NULL: none */
    int quiet;          /* only the summary line */
    FILE *log;          /* JSON lines; NULL: none */
    char log_path[MLP_PATH_MAX];
    /* progress within an epoch, on stderr (see mlp_report_progress) */
    FILE *err;          /* NULL: no progress */
    int tty;            /* redraw one line in place */
    int drawn;          /* a redrawn line is on the terminal */
    double interval;    /* seconds between lines */
    unsigned calls;     /* the clock is read every few calls */
    unsigned pepoch;    /* the epoch the progress is about */
    double t0, last;    /* its first call; the last line */
    size_t done0;       /* batches done at t0 */
    size_t batch, ntrain;
    unsigned epochs;
    /* --plot: the curves so far, redrawn after every epoch */
    char plot_path[MLP_PATH_MAX];
    char plot_title[640];
    mlp_runlog_epoch_t *hist;   /* (cap), nhist used */
    size_t nhist, cap;
};

int mlp_report_create(FILE *out, int quiet, const char *log_path, int append,
                      mlp_report_t **rep)
{
    mlp_report_t *r = calloc(1, sizeof(*r));

    *rep = NULL;
    if (r == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    r->out = out;
    r->quiet = quiet;
    if (out != NULL && !quiet) {
        const char *env = getenv("MLPTRAIN_PROGRESS");

        r->err = stderr;
        r->tty = isatty(fileno(stderr));
        r->interval = r->tty ? 0.2 : 5.0;
        if (env != NULL && strcmp(env, "off") == 0)
            r->err = NULL;
        else if (env != NULL && env[0] != '\0')
            r->interval = atof(env);
    }
    if (log_path != NULL && log_path[0] != '\0') {
        snprintf(r->log_path, sizeof(r->log_path), "%s", log_path);
        int fd, rc;

        /* Checked (a regular file), locked against a second trainer, and
         * truncated only once locked (outfile.h). */
        if ((rc = mlp_out_open_log(log_path, append, &fd)) < 0) {
            free(r);
            return rc;
        }
        if ((r->log = fdopen(fd, "a")) == NULL) {
            int e = errno;
            close(fd);
            free(r);
            return mlp_error_set(MLP_EIO, "cannot open '%s' for writing: %s",
                                 log_path, strerror(e));
        }
    }
    *rep = r;
    return 0;
}

int mlp_report_destroy(mlp_report_t *rep)
{
    int rc = 0;

    if (rep == NULL)
        return 0;
    if (rep->log != NULL && fclose(rep->log) != 0)
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s", rep->log_path,
                           strerror(errno));
    free(rep->hist);
    free(rep);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Take a redrawn progress line off the terminal before other output. */
static void clear_progress(mlp_report_t *rep)
{
    if (rep->drawn) {
        fputs("\r\033[K", rep->err);
        fflush(rep->err);
        rep->drawn = 0;
    }
}

/*
 * --plot: add the epoch to the curves and redraw them.  A picture is an aid,
 * not a result: a failure (no gnuplot) is a warning, once, and the run goes
 * on without pictures.
 */
static void plot_epoch(mlp_report_t *rep, const mlp_epoch_stats_t *st)
{
    mlp_runlog_epoch_t *e;

    /* A resumed run may repeat epochs: the later ones replace them. */
    while (rep->nhist > 0 && rep->hist[rep->nhist - 1].epoch >= st->epoch)
        rep->nhist--;
    if (rep->nhist == rep->cap) {
        size_t cap = rep->cap > 0 ? 2 * rep->cap
                                  : rep->epochs > 0 ? rep->epochs : 16;

        e = realloc(rep->hist, cap * sizeof(*e));
        if (e == NULL) {
            mlp_error_set(MLP_ENOMEM, "out of memory");
            goto fail;
        }
        rep->hist = e;
        rep->cap = cap;
    }
    e = &rep->hist[rep->nhist++];
    e->epoch = st->epoch;
    e->train_loss = st->train_loss;
    e->train_acc = st->train_acc;
    e->test_acc = st->test_acc;
    if (mlp_curves_run_png(rep->plot_path, rep->hist, rep->nhist,
                           rep->plot_title, rep->epochs) == 0)
        return;
fail:
    fprintf(stderr, "mlptrain: warning: --plot: %s; no more pictures in "
                    "this run\n",
            mlp_error_message());
    rep->plot_path[0] = '\0';
}

/* End a log record: newline, flush, and check that it reached the file. */
static int log_end(mlp_report_t *rep)
{
    fputs("}\n", rep->log);
    if (fflush(rep->log) != 0 || ferror(rep->log))
        return mlp_error_set(MLP_EIO, "cannot write '%s': %s", rep->log_path,
                             strerror(errno));
    return 0;
}

void mlp_report_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/* "784-256-10" */
static void model_shape(char *buf, size_t len, const mlp_config_t *cfg,
                        const mlp_dataset_t *ds)
{
    size_t off = (size_t)snprintf(buf, len, "%zu", ds->train.dim);

    for (size_t i = 0; i < cfg->nhidden && off < len; i++)
        off += (size_t)snprintf(buf + off, len - off, "-%zu", cfg->hidden[i]);
    if (off < len)
        snprintf(buf + off, len - off, "-%zu", ds->nclasses);
}

int mlp_report_run(mlp_report_t *rep, const mlp_config_t *cfg,
                   const mlp_dataset_t *ds, const mlp_run_info_t *info)
{
    char shape[512];
    FILE *f = rep->log;

    model_shape(shape, sizeof(shape), cfg, ds);
    rep->batch = cfg->batch;
    rep->ntrain = ds->train.n;
    rep->epochs = cfg->epochs;
    if (cfg->plot_path[0] != '\0') {
        snprintf(rep->plot_path, sizeof(rep->plot_path), "%s", cfg->plot_path);
        snprintf(rep->plot_title, sizeof(rep->plot_title),
                 "training curves: %s %s, lr %g, batch %zu", shape,
                 cfg->nhidden > 0 ? mlp_act_name(cfg->act) : "linear",
                 (double)cfg->lr, cfg->batch);
    }
    if (rep->out != NULL && !rep->quiet) {
        fprintf(rep->out,
                "mlptrain %s (git %s), oneDNN %s (%s)\n"
                "model    %s %s, %zu parameters, init N(0, %g^2), seed %llu\n"
                "data     %s: %zu train, %zu test, %zux%zu, %zu classes\n"
                "training SGD lr %g%s, batch %zu, %u epochs\n"
                "threads  %d compute, %u loader, %zu ring slots (%.1f MiB)\n",
                PACKAGE_VERSION, MLP_GIT_HASH, info->dnnl_version, info->isa,
                shape, cfg->nhidden > 0 ? mlp_act_name(cfg->act) : "linear",
                info->nparams, (double)cfg->init_std,
                (unsigned long long)cfg->seed, cfg->data_dir, ds->train.n,
                ds->test.n, ds->rows, ds->cols, ds->nclasses,
                (double)cfg->lr, cfg->momentum > 0 ? " momentum" : "",
                cfg->batch, cfg->epochs, cfg->threads, cfg->workers,
                info->slots, (double)info->ring_bytes / (1024.0 * 1024.0));
        if (info->resume_path != NULL)
            fprintf(rep->out, "resumed  %s after epoch %u, batch %zu\n",
                    info->resume_path, info->resume_epoch,
                    info->resume_batches);
        fflush(rep->out);
    }
    if (f == NULL)
        return 0;
    fputs("{\"type\":\"run\",\"version\":", f);
    mlp_report_json_string(f, PACKAGE_VERSION);
    fputs(",\"git\":", f);
    mlp_report_json_string(f, MLP_GIT_HASH);
    fputs(",\"onednn\":", f);
    mlp_report_json_string(f, info->dnnl_version);
    fputs(",\"isa\":", f);
    mlp_report_json_string(f, info->isa);
    fputs(",\"compiler\":", f);
    mlp_report_json_string(f, MLP_CC_VERSION);
    fprintf(f, ",\"threads\":%d,\"workers\":%u,\"slots\":%zu,\"seed\":%llu",
            cfg->threads, cfg->workers, info->slots,
            (unsigned long long)cfg->seed);
    fputs(",\"model\":", f);
    mlp_report_json_string(f, shape);
    fprintf(f, ",\"parameters\":%zu,\"options\":{\"hidden\":[", info->nparams);
    for (size_t i = 0; i < cfg->nhidden; i++)
        fprintf(f, "%s%zu", i ? "," : "", cfg->hidden[i]);
    fprintf(f, "],\"act\":\"%s\",\"lr\":%.9g,\"momentum\":%.9g,"
               "\"weight_decay\":%.9g,\"batch\":%zu,\"epochs\":%u,"
               "\"init_std\":%.9g,\"plain_weights\":%s,\"limit_train\":%zu,"
               "\"limit_test\":%zu,\"max_loss\":%.9g,\"data\":",
            mlp_act_name(cfg->act), (double)cfg->lr, (double)cfg->momentum,
            (double)cfg->weight_decay, cfg->batch, cfg->epochs,
            (double)cfg->init_std, cfg->plain_weights ? "true" : "false",
            cfg->limit_train, cfg->limit_test, (double)cfg->max_loss);
    mlp_report_json_string(f, cfg->data_dir);
    fprintf(f, "},\"dataset\":{\"train\":%zu,\"test\":%zu,\"rows\":%zu,"
               "\"cols\":%zu,\"classes\":%zu,\"files\":[",
            ds->train.n, ds->test.n, ds->rows, ds->cols, ds->nclasses);
    for (int i = 0; i < MLP_NFILES; i++) {
        fputs(i ? ",{\"path\":" : "{\"path\":", f);
        mlp_report_json_string(f, ds->files[i].path);
        fprintf(f, ",\"size\":%llu,\"crc32\":\"%08x\"}",
                (unsigned long long)ds->files[i].size,
                (unsigned)ds->files[i].crc);
    }
    fputs("]}", f);
    if (info->resume_path != NULL) {
        fputs(",\"resume\":{\"path\":", f);
        mlp_report_json_string(f, info->resume_path);
        fprintf(f, ",\"epoch\":%u,\"batch\":%zu}", info->resume_epoch,
                info->resume_batches);
    }
    return log_end(rep);
}

int mlp_report_epoch(mlp_report_t *rep, const mlp_epoch_stats_t *st)
{
    clear_progress(rep);
    if (rep->plot_path[0] != '\0')
        plot_epoch(rep, st);
    if (rep->out != NULL && !rep->quiet) {
        fprintf(rep->out,
                "epoch %2u  loss %.4f  train acc %.4f  test acc %.4f  "
                "%.1f s  %.0f samples/s  wait %.1f%%\n",
                st->epoch, st->train_loss, st->train_acc, st->test_acc,
                st->seconds, st->samples_per_s, 100.0 * st->wait_share);
        fflush(rep->out);
    }
    if (rep->log == NULL)
        return 0;
    fprintf(rep->log,
            "{\"type\":\"epoch\",\"epoch\":%u,\"train_loss\":%.6f,"
            "\"train_acc\":%.6f,\"test_loss\":%.6f,\"test_acc\":%.6f,"
            "\"seconds\":%.4f,\"train_seconds\":%.4f,"
            "\"samples_per_s\":%.1f,\"wait_share\":%.5f",
            st->epoch, st->train_loss, st->train_acc, st->test_loss,
            st->test_acc, st->seconds, st->train_seconds, st->samples_per_s,
            st->wait_share);
    return log_end(rep);
}

int mlp_report_end(mlp_report_t *rep, const mlp_run_summary_t *sum)
{
    clear_progress(rep);
    if (rep->out != NULL) {
        if (sum->epochs > 0)
            fprintf(rep->out,
                    "%s: %u epochs in %.1f s, %.0f samples/s, test acc %.4f "
                    "(best %.4f at epoch %u)\n",
                    sum->status, sum->epochs, sum->seconds,
                    sum->samples_per_s, sum->final_test_acc,
                    sum->best_test_acc, sum->best_epoch);
        fflush(rep->out);
    }
    if (rep->log == NULL)
        return 0;
    fputs("{\"type\":\"end\",\"status\":", rep->log);
    mlp_report_json_string(rep->log, sum->status);
    fprintf(rep->log,
            ",\"epochs\":%u,\"seconds\":%.4f,\"samples_per_s\":%.1f,"
            "\"final_test_acc\":%.6f,\"best_test_acc\":%.6f,"
            "\"best_epoch\":%u,\"peak_rss_kb\":%ld",
            sum->epochs, sum->seconds, sum->samples_per_s,
            sum->final_test_acc, sum->best_test_acc, sum->best_epoch,
            sum->peak_rss_kb);
    if (sum->message != NULL) {
        fputs(",\"message\":", rep->log);
        mlp_report_json_string(rep->log, sum->message);
    }
    return log_end(rep);
}

/* "1m05s", or "12 s" under a minute. */
static void fmt_eta(char *buf, size_t len, double s)
{
    if (s >= 60.0)
        snprintf(buf, len, "%um%02us", (unsigned)(s / 60.0),
                 (unsigned)s % 60u);
    else
        snprintf(buf, len, "%.0f s", s);
}

void mlp_report_progress(mlp_report_t *rep, unsigned epoch, size_t done,
                         size_t total)
{
    double t, rate;
    char eta[32];

    if (rep->err == NULL)
        return;
    if (epoch != rep->pepoch) {
        rep->pepoch = epoch;
        rep->t0 = rep->last = now_s();
        rep->done0 = done;
        rep->calls = 0;
        return;
    }
    /* The clock every few batches; nothing more on most calls. */
    if (++rep->calls % 4 != 0 || done >= total)
        return;
    t = now_s();
    if (t - rep->last < rep->interval || t <= rep->t0)
        return;
    rep->last = t;
    rate = (double)(done - rep->done0) / (t - rep->t0); /* batches/s */
    fmt_eta(eta, sizeof(eta), (double)(total - done) / rate);
    fprintf(rep->err,
            "%s[epoch %u/%u] batch %zu/%zu (%.0f%%)  %.0f samples/s  "
            "ETA %s%s",
            rep->tty ? "\r\033[K" : "", epoch, rep->epochs, done, total,
            100.0 * (double)done / (double)total, rate * (double)rep->batch,
            eta, rep->tty ? "" : "\n");
    fflush(rep->err);
    rep->drawn = rep->tty;
}
