/*
 * report: human lines and JSON-lines records (see report.h).
 *
 * Also the progress line within an epoch and the warnings, on the stream
 * the caller gives for them, and the --plot picture (drawn by curves.c).
 * Non-goals: reading logs back (runlog.c).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "git-version.h"
#include "mlptrain/clock.h"
#include "mlptrain/curves.h"
#include "mlptrain/error.h"
#include "mlptrain/fold.h"
#include "mlptrain/optim.h"
#include "mlptrain/outfile.h"
#include "mlptrain/report.h"
#include "mlptrain/schedule.h"
#include "mlptrain/step.h"
#include "mlptrain/text.h"
#include "mlptrain/tfevents.h"
#include "mlptrain/transform.h"

struct mlp_report {
    FILE *out;          /* human lines; NULL: none */
    int quiet;          /* only the summary line */
    FILE *log;          /* JSON lines; NULL: none */
    char log_path[MLP_PATH_MAX];
    mlp_tfevents_t *tb; /* --tensorboard; NULL: none */
    FILE *warn;         /* warnings; NULL: none */
    /* progress within an epoch (see mlp_report_progress) */
    FILE *err;          /* NULL: no progress */
    int tty;            /* redraw one line in place */
    int drawn;          /* a redrawn line is on the terminal */
    double interval;    /* seconds between lines */
    unsigned calls;     /* the clock is read every few calls */
    unsigned pepoch;    /* the epoch the progress is about */
    double t0, last;    /* its first call; the last line */
    size_t done0;       /* batches done at t0 */
    size_t batch, ntrain;
    unsigned epochs;    /* the plan (--epochs) */
    unsigned until;     /* --until: the last epoch this part trains; 0 */
    int show_lr;        /* the rate changes: on the epoch line */
    /* --plot: the curves so far, redrawn after every epoch */
    char plot_path[MLP_PATH_MAX];
    char plot_title[640];
    mlp_runlog_epoch_t *hist;   /* (cap), nhist used */
    size_t nhist, cap;
};

int mlp_report_create(FILE *out, FILE *err, int quiet, const char *log_path,
                      int append, mlp_report_t **rep)
{
    mlp_report_t *r = calloc(1, sizeof(*r));

    *rep = NULL;
    if (r == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    r->out = out;
    r->warn = err;
    r->quiet = quiet;
    if (out != NULL && err != NULL && !quiet) {
        const char *env = getenv("MLPTRAIN_PROGRESS");

        r->err = err;
        r->tty = isatty(fileno(err));
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
    int rc;

    if (rep == NULL)
        return 0;
    /* Both are closed; a failure of the log's is the one told. */
    rc = mlp_tfevents_close(rep->tb);
    if (rep->log != NULL && fclose(rep->log) != 0)
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s", rep->log_path,
                           strerror(errno));
    free(rep->hist);
    free(rep);
    return rc;
}

int mlp_report_tensorboard(mlp_report_t *rep, const char *dir)
{
    if (rep->tb != NULL)
        return mlp_error_set(MLP_EUSAGE, "a TensorBoard file is already "
                                         "open: '%s'",
                             mlp_tfevents_path(rep->tb));
    return mlp_tfevents_open(dir, &rep->tb);
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
    if (rep->warn != NULL)
        fprintf(rep->warn, "mlptrain: warning: --plot: %s; no more pictures "
                           "in this run\n",
                mlp_error_message());
    rep->plot_path[0] = '\0';
}

/*
 * JSON through jansson: the library escapes strings and we never hand it a
 * non-finite number (JSON has no inf/nan: they are written as null).
 * Reals are printed with 9 significant digits (%.9g, enough for a float),
 * float option values as the shortest decimal that reads back as the same
 * float (0.1, not 0.100000001).
 */
#define LOG_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(9))

/* A number, or null when it does not exist (not finite). */
static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* A float option value as the user most likely wrote it. */
static json_t *jfloat(float v)
{
    char buf[32];

    if (!isfinite(v))
        return json_null();
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    return json_real(strtod(buf, NULL));
}

static json_t *juint(unsigned long long v)
{
    if (v <= (unsigned long long)LLONG_MAX)
        return json_integer((json_int_t)v);
    /* JSON numbers past 2^63 do not survive most readers: a string */
    char buf[32];
    snprintf(buf, sizeof(buf), "%llu", v);
    return json_string(buf);
}

char *mlp_report_utf8(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *t = malloc(3 * n + 1); /* each bad byte: 3 bytes of U+FFFD */

    if (t == NULL)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
        size_t k = mlp_text_utf8_seq((const char *)p);

        if (k == 0) {
            memcpy(t + o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
        } else {
            memcpy(t + o, p, k);
            o += k;
            p += k;
        }
    }
    t[o] = '\0';
    return t;
}

/* A JSON string: s itself when it is UTF-8, else with each byte that is
 * not replaced by U+FFFD (the text is then informational). */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s);
    char *t;

    if (j != NULL || (t = mlp_report_utf8(s)) == NULL)
        return j;
    j = json_string(t);
    free(t);
    return j;
}

/* Write a record as one line, flush it, check it reached the file; takes
 * rec (NULL: building it ran out of memory). */
static int log_record(mlp_report_t *rep, json_t *rec)
{
    int rc = 0;

    if (rec == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory writing '%s'",
                             rep->log_path);
    if (json_dumpf(rec, rep->log, LOG_FLAGS) != 0 ||
        fputc('\n', rep->log) == EOF || fflush(rep->log) != 0 ||
        ferror(rep->log))
        rc = mlp_error_set(MLP_EIO, "cannot write '%s': %s", rep->log_path,
                           strerror(errno));
    json_decref(rec);
    return rc;
}

json_t *mlp_report_json_text(const char *s)
{
    return jstr(s);
}

void mlp_report_json_string(FILE *f, const char *s)
{
    json_t *j = jstr(s);

    if (j == NULL) {
        fputs("null", f);
        return;
    }
    json_dumpf(j, f, JSON_ENCODE_ANY);
    json_decref(j);
}

/* An option's key in the run record: its long name with '_' for '-'. */
static void option_key(const mlp_option_t *o, char *key, size_t len)
{
    snprintf(key, len, "%s", o->name);
    for (char *c = key; *c != '\0'; c++)
        if (*c == '-')
            *c = '_';
}

/*
 * An option's value in the run record: numbers as numbers (floats
 * shortest, -1 for max_loss off, 0 for automatic or all), hidden as an
 * array of widths, enums by name, flags as booleans, paths as strings
 * (null when not given).  NULL on a memory failure.
 */
static json_t *option_json(const mlp_option_t *o, const mlp_config_t *cfg)
{
    const void *p = (const char *)cfg + o->offset;
    json_t *v = NULL;

    switch (o->type) {
    case MLP_OPT_UINT: v = juint(*(const unsigned *)p); break;
    case MLP_OPT_INT: v = json_integer(*(const int *)p); break;
    case MLP_OPT_SIZE: v = juint(*(const size_t *)p); break;
    case MLP_OPT_U64: v = juint(*(const uint64_t *)p); break;
    case MLP_OPT_FLOAT: v = jfloat(*(const float *)p); break;
    case MLP_OPT_FLAG: v = json_boolean(*(const int *)p); break;
    case MLP_OPT_ENUM:
    case MLP_OPT_AUGMENT: {
        char text[64];

        mlp_options_format(o, cfg, 1, text, sizeof(text));
        v = json_string(text);
        break;
    }
    case MLP_OPT_PATH:
    case MLP_OPT_STRING:
        v = *(const char *)p != '\0' ? jstr(p) : json_null();
        break;
    case MLP_OPT_HIDDEN:
        v = json_array();
        for (size_t k = 0; v != NULL && k < cfg->nhidden; k++)
            json_array_append_new(v, juint(cfg->hidden[k]));
        break;
    case MLP_OPT_TEXT:     /* commands' own types: no run option's */
    case MLP_OPT_CALLBACK:
        v = json_null();
        break;
    }
    return v;
}

/* The run record's "options": every option of the table (options.h), by
 * option_key and option_json.  NULL on a memory failure (json_pack fails
 * then). */
static json_t *options_json(const mlp_config_t *cfg)
{
    json_t *obj = json_object();

    for (size_t i = 0; obj != NULL && i < MLP_NOPTIONS; i++) {
        const mlp_option_t *o = &mlp_options[i];
        json_t *v = option_json(o, cfg);
        char key[64];

        option_key(o, key, sizeof(key));
        if (v == NULL || json_object_set_new(obj, key, v) != 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

/* Is option o an override of a resumed run: free on resume, given, and
 * unlike the checkpoint's? */
static int is_override(const mlp_option_t *o, const mlp_config_t *cfg,
                       const mlp_run_info_t *info)
{
    return info->resume_path != NULL && info->resume_cfg != NULL &&
           (o->flags & MLP_OPT_RESUME_FREE) &&
           (cfg->given & mlp_options_bit(o)) &&
           !mlp_options_equal(o, cfg, info->resume_cfg);
}

/* The record's "overrides": {"lr": {"checkpoint": X, "used": Y}, ...};
 * NULL when there are none (or on a memory failure). */
static json_t *overrides_json(const mlp_config_t *cfg,
                              const mlp_run_info_t *info)
{
    json_t *obj = NULL;

    for (size_t i = 0; i < MLP_NOPTIONS; i++) {
        const mlp_option_t *o = &mlp_options[i];
        char key[64];

        if (!is_override(o, cfg, info))
            continue;
        if (obj == NULL && (obj = json_object()) == NULL)
            return NULL;
        option_key(o, key, sizeof(key));
        json_object_set_new(obj, key,
                            json_pack("{s:o,s:o}", "checkpoint",
                                      option_json(o, info->resume_cfg),
                                      "used", option_json(o, cfg)));
    }
    return obj;
}

/* The step line's precision: "f32", "bf16", or with auto its reason. */
static void precision_text(const mlp_config_t *cfg,
                           const mlp_run_info_t *info, char *buf, size_t len)
{
    const char *used = mlp_precision_names[cfg->precision == MLP_PREC_BF16];
    const mlp_precision_choice_t *c = info->precision;

    if (c != NULL && c->asked == MLP_PREC_AUTO)
        snprintf(buf, len, "%s (auto: %s)", used, c->why);
    else
        snprintf(buf, len, "%s", used);
}

/* The record's "precision": {"asked", "used"} and, with auto, the
 * calibration's "speedup" (null: none ran), "calibration_s" and "why". */
static json_t *precision_json(const mlp_config_t *cfg,
                              const mlp_run_info_t *info)
{
    const mlp_precision_choice_t *c = info->precision;
    const char *used = mlp_precision_names[cfg->precision == MLP_PREC_BF16];
    json_t *obj;

    if (c == NULL)
        return json_pack("{s:s,s:s}", "asked", used, "used", used);
    obj = json_pack("{s:s,s:s}", "asked", mlp_precision_names[c->asked],
                    "used", used);
    if (obj != NULL && c->asked == MLP_PREC_AUTO)
        json_object_update_new(
            obj, json_pack("{s:o,s:o,s:o}", "speedup",
                           c->speedup > 0 ? jnum(c->speedup) : json_null(),
                           "calibration_s",
                           c->seconds > 0 ? jnum(c->seconds) : json_null(),
                           "why", jstr(c->why)));
    return obj;
}

/* By mlp_optim_kind_t and mlp_sched_kind_t. */
static const char *const optim_labels[] = {"SGD", "Adam", "AdamW"};
static const char *const sched_labels[] = {"", " step schedule",
                                           " cosine schedule",
                                           " onecycle schedule"};

int mlp_report_run(mlp_report_t *rep, const mlp_config_t *cfg,
                   const mlp_dataset_t *ds, const mlp_run_info_t *info)
{
    char shape[512];
    FILE *f = rep->log;

    mlp_net_shape_str(shape, sizeof(shape), ds->train.dim, cfg->hidden,
                      cfg->nhidden, ds->nclasses);
    rep->batch = cfg->batch;
    rep->ntrain = ds->train.n;
    rep->epochs = cfg->epochs;
    rep->until = cfg->until;
    rep->show_lr = cfg->schedule != MLP_SCHED_CONSTANT || cfg->warmup > 0;
    if (cfg->plot_path[0] != '\0') {
        snprintf(rep->plot_path, sizeof(rep->plot_path), "%s", cfg->plot_path);
        snprintf(rep->plot_title, sizeof(rep->plot_title),
                 "training curves: %s %s, lr %g, batch %zu", shape,
                 mlp_net_act_label(cfg->act, cfg->nhidden),
                 (double)cfg->lr, cfg->batch);
    }
    /* In gemm mode OpenMP threads spin on a taken core: a loaded machine
     * makes every thread past the free cores cost more than it brings.
     * Batch mode's threads take fewer micro-batches there instead. */
    if (rep->warn != NULL && info->free_cores >= 0 &&
        info->free_cores < cfg->threads && cfg->parallel == MLP_PAR_GEMM)
        fprintf(rep->warn,
                "mlptrain: warning: the machine's load leaves %d of %d cores "
                "free, fewer than the %d compute threads: training may run "
                "several times slower\n"
                "hint: --parallel batch, or -t N with N at most the free "
                "cores, avoids waiting on busy cores\n",
                info->free_cores, mlp_config_ncores(), cfg->threads);
    if (rep->out != NULL && !rep->quiet) {
        /* The extras of the model, data and training lines: only what
         * differs from the reference recipe, so its lines stay as they
         * were. */
        char init[64], reg[160], held[64], aug[64], dims[64], step[400];
        char prec[240], until[64] = "";
        size_t nmicro = mlp_fold_nmicro(cfg->batch,
                                        cfg->micro ? cfg->micro : 1);
        int off = 0;

        if (cfg->init == MLP_INIT_NORMAL)
            snprintf(init, sizeof(init), "N(0, %g^2)",
                     (double)cfg->init_std);
        else
            snprintf(init, sizeof(init), "%s", mlp_init_names[cfg->init]);
        reg[0] = '\0';
        if (cfg->dropout > 0.0f)
            off += snprintf(reg + off, sizeof(reg) - (size_t)off,
                            ", dropout %g", (double)cfg->dropout);
        if (cfg->input_dropout > 0.0f)
            off += snprintf(reg + off, sizeof(reg) - (size_t)off,
                            ", input dropout %g",
                            (double)cfg->input_dropout);
        if (cfg->label_smoothing > 0.0f)
            off += snprintf(reg + off, sizeof(reg) - (size_t)off,
                            ", label smoothing %g",
                            (double)cfg->label_smoothing);
        held[0] = aug[0] = '\0';
        if (cfg->until > 0 && cfg->until < cfg->epochs)
            snprintf(until, sizeof(until), ", pausing after epoch %u",
                     cfg->until);
        if (ds->val.n > 0)
            snprintf(held, sizeof(held), " (%zu held out: val)", ds->val.n);
        if (cfg->augment.shift > 0 || cfg->augment.flip) {
            char a[48];

            mlp_options_format(MLP_O(AUGMENT), cfg, 0, a,
                               sizeof(a));
            snprintf(aug, sizeof(aug), ", augment %s", a);
        }
        /* Images keep their shape; rows of real features say how they
         * are scaled. */
        if (ds->real)
            snprintf(dims, sizeof(dims), "%zu features (%s scaling)",
                     ds->rows * ds->cols,
                     cfg->normalize == MLP_NORM_AUTO
                         ? "standard"
                         : mlp_norm_names[cfg->normalize]);
        else if (!ds->image)
            snprintf(dims, sizeof(dims), "%zu features (bytes / 255)",
                     ds->rows * ds->cols);
        else
            snprintf(dims, sizeof(dims), "%zux%zu", ds->rows, ds->cols);
        precision_text(cfg, info, prec, sizeof(prec));
        snprintf(step, sizeof(step),
                 "step     %s, %s: micro-batches of %zu rows, %zu a batch, "
                 "summed in order%s",
                 cfg->parallel == MLP_PAR_GEMM    ? "gemm (threads in each "
                                                    "product)"
                 : cfg->parallel == MLP_PAR_BATCH ? "batch (a replica a "
                                                    "thread)"
                                                  : "auto",
                 prec, cfg->micro, nmicro, cfg->accum > 1 ? "" : "\n");
        fprintf(rep->out,
                "mlptrain %s (git %s), oneDNN %s (%s)\n"
                "model    %s %s, %zu parameters, init %s, seed %llu%s\n"
                "data     %s: %zu train%s, %zu test, %s, %zu classes%s\n"
                "training %s lr %g%s%s%s, batch %zu, %u epochs%s\n"
                "threads  %d compute, %u loader, %zu ring slots (%.1f MiB)\n",
                PACKAGE_VERSION, MLP_GIT_HASH, info->dnnl_version, info->isa,
                shape, mlp_net_act_label(cfg->act, cfg->nhidden),
                info->nparams, init, (unsigned long long)cfg->seed, reg,
                cfg->train_path[0] ? cfg->train_path : cfg->data_dir,
                ds->train.n, held, ds->test.n, dims, ds->nclasses, aug,
                optim_labels[cfg->optimizer], (double)cfg->lr,
                cfg->nesterov ? " Nesterov" : "",
                cfg->momentum > 0 ? " momentum" : "",
                sched_labels[cfg->schedule],
                cfg->batch, cfg->epochs, until, cfg->threads, cfg->workers,
                info->slots, (double)info->ring_bytes / (1024.0 * 1024.0));
        fputs(step, rep->out);
        if (cfg->accum > 1)
            fprintf(rep->out, ", %u batches a step (a global batch of "
                              "%zu)\n",
                    (unsigned)cfg->accum, cfg->batch * (size_t)cfg->accum);
        if (info->ranks > 1)
            fprintf(rep->out, "ranks    %d MPI processes (rank 0 "
                              "reports and saves)\n         %s\n",
                    info->ranks,
                    info->overlap > 0
                        ? "their sums overlap the backward (a "
                          "communication thread)"
                    : info->overlap == 0
                        ? "their sums follow the backward (no core free "
                          "for a communication thread)"
                        : "their sums follow the backward (MPI allows no "
                          "communication thread: FUNNELED)");
        if (info->resume_path != NULL)
            fprintf(rep->out, "resumed  %s after epoch %u, batch %zu\n",
                    info->resume_path, info->resume_epoch,
                    info->resume_batches);
        for (size_t i = 0; i < MLP_NOPTIONS; i++) {
            const mlp_option_t *o = &mlp_options[i];
            char used[64], theirs[64];

            if (!is_override(o, cfg, info))
                continue;
            mlp_options_format(o, cfg, 0, used, sizeof(used));
            mlp_options_format(o, info->resume_cfg, 0, theirs,
                               sizeof(theirs));
            fprintf(rep->out, "override --%s %s (the checkpoint's: %s)\n",
                    o->name, used, theirs);
        }
        fflush(rep->out);
    }
    if (f == NULL)
        return 0;
    {
        json_t *files = json_array(), *rec;

        for (int i = 0; files != NULL && i < MLP_NFILES; i++) {
            char crc[16];

            snprintf(crc, sizeof(crc), "%08x", (unsigned)ds->files[i].crc);
            json_array_append_new(
                files, json_pack("{s:o,s:o,s:s}", "path",
                                 jstr(ds->files[i].path), "size",
                                 juint(ds->files[i].size), "crc32", crc));
        }
        rec = json_pack(
            "{s:s,s:s,s:s,s:o,s:o,s:s,s:i,s:I,s:o,s:o,s:o,s:o,s:o,s:o,"
            "s:{s:o,s:o,s:o,s:o,s:o,s:o}}",
            "type", "run", "version", PACKAGE_VERSION, "git", MLP_GIT_HASH,
            "onednn", jstr(info->dnnl_version), "isa", jstr(info->isa),
            "compiler", MLP_CC_VERSION, "threads", cfg->threads,
            "workers", (json_int_t)cfg->workers, "slots", juint(info->slots),
            "seed", juint(cfg->seed),
            "free_cores",
            info->free_cores >= 0 ? json_integer(info->free_cores)
                                  : json_null(),
            "model", jstr(shape), "parameters", juint(info->nparams),
            "options", options_json(cfg),
            "dataset", "train", juint(ds->train.n), "test", juint(ds->test.n),
            "rows", juint(ds->rows), "cols", juint(ds->cols), "classes",
            juint(ds->nclasses), "files", files);
        if (rec != NULL && ds->val.n > 0)
            json_object_set_new(json_object_get(rec, "dataset"), "val",
                                juint(ds->val.n));
        if (rec != NULL && info->ranks > 1) {
            json_object_set_new(rec, "ranks", json_integer(info->ranks));
            json_object_set_new(rec, "overlap",
                                json_boolean(info->overlap > 0));
        }
        if (rec != NULL)
            json_object_set_new(rec, "precision", precision_json(cfg, info));
        if (rec != NULL && info->resume_path != NULL) {
            json_t *res = json_pack(
                "{s:o,s:I,s:o}", "path", jstr(info->resume_path), "epoch",
                (json_int_t)info->resume_epoch, "batch",
                juint(info->resume_batches));

            json_t *ov = overrides_json(cfg, info);

            if (res != NULL && ov != NULL)
                json_object_set_new(res, "overrides", ov);
            else
                json_decref(ov);
            json_object_set_new(rec, "resume", res);
        }
        return log_record(rep, rec);
    }
}

/*
 * The epoch's figures to the TensorBoard file (report.h lists the tags),
 * the same as the log's epoch record; lr as the float the log shows.
 */
static int tb_epoch(mlp_report_t *rep, const mlp_epoch_stats_t *st)
{
    mlp_tfevents_scalar_t v[8];
    size_t n = 0;

    if (rep->tb == NULL)
        return 0;
    v[n++] = (mlp_tfevents_scalar_t){"loss/train", st->train_loss};
    v[n++] = (mlp_tfevents_scalar_t){"accuracy/train", st->train_acc};
    if (st->has_val) {
        v[n++] = (mlp_tfevents_scalar_t){"loss/val", st->val_loss};
        v[n++] = (mlp_tfevents_scalar_t){"accuracy/val", st->val_acc};
    }
    v[n++] = (mlp_tfevents_scalar_t){"loss/test", st->test_loss};
    v[n++] = (mlp_tfevents_scalar_t){"accuracy/test", st->test_acc};
    v[n++] = (mlp_tfevents_scalar_t){"lr", (float)st->lr};
    v[n++] = (mlp_tfevents_scalar_t){"samples_per_s", st->samples_per_s};
    return mlp_tfevents_scalars(rep->tb, st->epoch, v, n);
}

int mlp_report_epoch(mlp_report_t *rep, const mlp_epoch_stats_t *st)
{
    json_t *rec;
    int rc;

    clear_progress(rep);
    if (rep->plot_path[0] != '\0')
        plot_epoch(rep, st);
    if (rep->out != NULL && !rep->quiet) {
        fprintf(rep->out, "epoch %2u  loss %.4f  train acc %.4f  ", st->epoch,
                st->train_loss, st->train_acc);
        if (st->has_val)
            fprintf(rep->out, "val loss %.4f  val acc %.4f  ", st->val_loss,
                    st->val_acc);
        fprintf(rep->out, "test acc %.4f  %.1f s  %.0f samples/s  "
                "wait %.1f%%",
                st->test_acc, st->seconds, st->samples_per_s,
                100.0 * st->wait_share);
        if (rep->show_lr)
            fprintf(rep->out, "  lr %.4g", st->lr);
        fputc('\n', rep->out);
        fflush(rep->out);
    }
    if (rep->log == NULL)
        return tb_epoch(rep, st);
    rec = json_pack("{s:s,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "type",
                    "epoch", "epoch", (json_int_t)st->epoch, "train_loss",
                    jnum(st->train_loss), "train_acc", jnum(st->train_acc),
                    "test_loss", jnum(st->test_loss), "test_acc",
                    jnum(st->test_acc), "seconds", jnum(st->seconds),
                    "train_seconds", jnum(st->train_seconds),
                    "samples_per_s", jnum(st->samples_per_s),
                    "wait_share", jnum(st->wait_share), "lr",
                    jfloat((float)st->lr));
    /* Validation figures only when there is a split: a log without them
     * reads as before. */
    if (rec != NULL && st->has_val &&
        (json_object_set_new(rec, "val_loss", jnum(st->val_loss)) != 0 ||
         json_object_set_new(rec, "val_acc", jnum(st->val_acc)) != 0)) {
        json_decref(rec);
        rec = NULL;
    }
    /* The reduction across ranks (rank 0's view) only with ranks. */
    if (rec != NULL && st->ranks > 1 &&
        (json_object_set_new(rec, "ranks", json_integer(st->ranks)) != 0 ||
         json_object_set_new(rec, "reduce_seconds",
                             jnum(st->dist_seconds)) != 0 ||
         json_object_set_new(rec, "reduce_exposed_seconds",
                             jnum(st->dist_exposed)) != 0 ||
         json_object_set_new(rec, "reduce_bytes_per_step",
                             jnum(st->dist_bytes_per_step)) != 0)) {
        json_decref(rec);
        rec = NULL;
    }
    /* The log first: it is the record of the run. */
    if ((rc = log_record(rep, rec)) < 0)
        return rc;
    return tb_epoch(rep, st);
}

int mlp_report_end(mlp_report_t *rep, const mlp_run_summary_t *sum)
{
    json_t *rec;

    clear_progress(rep);
    /* The status line, even with -q: the first word says how it ended. */
    if (rep->out != NULL) {
        if (sum->epochs > 0 && isfinite(sum->final_test_acc)) {
            /* a resumed run that ended before its first epoch: the
             * epochs are the checkpoint's, none took time here */
            if (!isfinite(sum->seconds))
                fprintf(rep->out, "%s: %u epochs (none in this run), ",
                        sum->status, sum->epochs);
            else if (strcmp(sum->status, "paused") == 0)
                fprintf(rep->out, "paused: %u of %u epochs in %.1f s, ",
                        sum->epochs, rep->epochs, sum->seconds);
            else
                fprintf(rep->out, "%s: %u epochs in %.1f s, ", sum->status,
                        sum->epochs, sum->seconds);
            if (isfinite(sum->samples_per_s))
                fprintf(rep->out, "%.0f samples/s, ", sum->samples_per_s);
            if (sum->has_val)
                fprintf(rep->out, "test acc %.4f (best val acc %.4f at "
                        "epoch %u, test acc there %.4f)",
                        sum->final_test_acc, sum->best_val_acc,
                        sum->best_epoch, sum->best_test_acc);
            else
                fprintf(rep->out, "test acc %.4f (best %.4f at epoch %u)",
                        sum->final_test_acc, sum->best_test_acc,
                        sum->best_epoch);
            if (sum->stopped_early > 0)
                fprintf(rep->out, "; %s early at epoch %u (no better "
                        "val loss for %u epoch%s)%s",
                        sum->already_done ? "had stopped" : "stopped",
                        sum->stopped_early, sum->early_stop,
                        sum->early_stop == 1 ? "" : "s",
                        sum->already_done ? ": already done (a larger "
                                            "--early-stop goes on)"
                                          : "");
            fputc('\n', rep->out);
        } else if (strcmp(sum->status, "diverged") == 0 ||
                   strcmp(sum->status, "interrupted") == 0) {
            fprintf(rep->out, "%s: 0 epochs in %.1f s, no test figure: %s\n",
                    sum->status, isfinite(sum->seconds) ? sum->seconds : 0.0,
                    sum->message != NULL ? sum->message : "");
        }
        fflush(rep->out);
    }
    if (rep->log == NULL)
        return 0;
    /* Figures that do not exist (no epoch finished) are null. */
    rec = json_pack("{s:s,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:I}", "type", "end",
                    "status", jstr(sum->status), "epochs",
                    (json_int_t)sum->epochs, "seconds", jnum(sum->seconds),
                    "samples_per_s", jnum(sum->samples_per_s),
                    "final_test_acc", jnum(sum->final_test_acc),
                    "best_test_acc", jnum(sum->best_test_acc), "best_epoch",
                    sum->best_epoch > 0 ? json_integer(sum->best_epoch)
                                        : json_null(),
                    "peak_rss_kb", (json_int_t)sum->peak_rss_kb);
    if (rec != NULL && sum->has_val &&
        (json_object_set_new(rec, "best_val_acc",
                             jnum(sum->best_val_acc)) != 0 ||
         json_object_set_new(rec, "best_val_loss",
                             jnum(sum->best_val_loss)) != 0 ||
         json_object_set_new(rec, "stopped_early",
                             sum->stopped_early > 0
                                 ? json_integer(sum->stopped_early)
                                 : json_null()) != 0)) {
        json_decref(rec);
        rec = NULL;
    }
    if (rec != NULL && sum->already_done &&
        json_object_set_new(rec, "already_done", json_true()) != 0) {
        json_decref(rec);
        rec = NULL;
    }
    if (rec != NULL && sum->message != NULL &&
        json_object_set_new(rec, "message", jstr(sum->message)) != 0) {
        json_decref(rec);
        rec = NULL;
    }
    return log_record(rep, rec);
}

/* "1m05s", or "12 s" under a minute, "2h05m" over an hour; "?" when not
 * known (no rate yet), ">99h" beyond. */
static void fmt_eta(char *buf, size_t len, double s)
{
    if (!(s >= 0.0))
        snprintf(buf, len, "?");
    else if (s >= 100.0 * 3600.0)
        snprintf(buf, len, ">99h");
    else if (s >= 3600.0)
        snprintf(buf, len, "%uh%02um", (unsigned)(s / 3600.0),
                 (unsigned)(s / 60.0) % 60u);
    else if (s >= 60.0)
        snprintf(buf, len, "%um%02us", (unsigned)(s / 60.0),
                 (unsigned)s % 60u);
    else
        snprintf(buf, len, "%.0f s", s);
}

size_t mlp_report_format_progress(char *buf, size_t len, unsigned width,
                                  unsigned epoch, unsigned epochs,
                                  size_t done, size_t total,
                                  double samples_per_s, double eta_epoch_s,
                                  double eta_run_s)
{
    char eta[32], run[32];
    size_t max = len - 1, n;
    int k;

    if (len == 0)
        return 0;
    if (width > 0 && width - 1 < max)
        max = width - 1;
    fmt_eta(eta, sizeof(eta), eta_epoch_s);
    fmt_eta(run, sizeof(run), eta_run_s);
    k = snprintf(buf, len, "[epoch %u/%u] batch %zu/%zu (%.0f%%)  %.0f "
                           "samples/s  ETA %s, run %s",
                 epoch, epochs, done, total,
                 total ? 100.0 * (double)done / (double)total : 0.0,
                 samples_per_s, eta, run);
    if (k >= 0 && (size_t)k > max)
        k = snprintf(buf, len, "%u/%u %.0f%% %.0f/s ETA %s run %s", epoch,
                     epochs,
                     total ? 100.0 * (double)done / (double)total : 0.0,
                     samples_per_s, eta, run);
    n = k < 0 ? 0 : (size_t)k;
    if (n > max)
        n = max;
    buf[n] = '\0';
    return n;
}

/* Columns of the terminal on fd; else $COLUMNS; else 80. */
static unsigned term_width(int fd)
{
    struct winsize ws;
    const char *env = getenv("COLUMNS");

    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    if (env != NULL && atoi(env) > 0)
        return (unsigned)atoi(env);
    return 80;
}

void mlp_report_progress(mlp_report_t *rep, unsigned epoch, size_t done,
                         size_t total)
{
    double t, rate, left;
    unsigned last;
    char line[256];

    if (rep->err == NULL)
        return;
    if (epoch != rep->pepoch) {
        rep->pepoch = epoch;
        rep->t0 = rep->last = mlp_clock_now();
        rep->done0 = done;
        rep->calls = 0;
        return;
    }
    /* The clock every few batches; nothing more on most calls. */
    if (++rep->calls % 4 != 0 || done >= total)
        return;
    t = mlp_clock_now();
    if (t - rep->last < rep->interval || t <= rep->t0)
        return;
    rep->last = t;
    rate = (double)(done - rep->done0) / (t - rep->t0); /* batches/s */
    /* The run: this epoch's batches left and every later epoch's it
     * trains (to --until's when it pauses). */
    last = rep->until > 0 ? rep->until : rep->epochs;
    left = (double)(total - done) +
           (double)(last > epoch ? last - epoch : 0) * (double)total;
    mlp_report_format_progress(line, sizeof(line),
                               rep->tty ? term_width(fileno(rep->err)) : 0,
                               epoch, rep->epochs, done, total,
                               rate * (double)rep->batch,
                               (double)(total - done) / rate, left / rate);
    fprintf(rep->err, "%s%s%s", rep->tty ? "\r\033[K" : "", line,
            rep->tty ? "" : "\n");
    fflush(rep->err);
    rep->drawn = rep->tty;
}
