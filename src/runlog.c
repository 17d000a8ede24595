/*
 * runlog: read our own JSON-lines records back (see runlog.h).
 *
 * Each line is parsed by jansson; fields are looked up by name where the
 * writer (report.c) puts them, and each is type- and range-checked before
 * it is used (a hostile 1e300 never reaches an integer cast).  Non-goals:
 * writing (report.c), records of other programs.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "mlptrain/error.h"
#include "mlptrain/runlog.h"

/* A number field of obj, or -1 when absent, null or not a number. */
static int num(json_t *obj, const char *name, double *v)
{
    json_t *j = json_object_get(obj, name);

    if (!json_is_number(j))
        return -1;
    *v = json_number_value(j);
    return isfinite(*v) ? 0 : -1;
}

/* A whole-number field in [lo, hi], cast only once it is known to fit. */
static int whole(json_t *obj, const char *name, double lo, double hi,
                 double *v)
{
    if (num(obj, name, v) < 0 || !(*v >= lo && *v <= hi) || *v != floor(*v))
        return -1;
    return 0;
}

/* A string field into buf (truncated to fit), or -1. */
static int str(json_t *obj, const char *name, char *buf, size_t len)
{
    json_t *j = json_object_get(obj, name);

    if (!json_is_string(j) || len == 0)
        return -1;
    snprintf(buf, len, "%s", json_string_value(j));
    return 0;
}

static int add_epoch(mlp_runlog_t *log, const mlp_runlog_epoch_t *e)
{
    mlp_runlog_epoch_t *p;

    /* A resumed run appends from some epoch on: it replaces what follows. */
    while (log->nepochs > 0 && log->epochs[log->nepochs - 1].epoch >= e->epoch)
        log->nepochs--;
    if (log->nepochs == log->cap) {
        size_t cap = log->cap > 0 ? 2 * log->cap : 16;

        p = realloc(log->epochs, cap * sizeof(*p));
        if (p == NULL)
            return mlp_error_set(MLP_ENOMEM, "out of memory reading a log");
        log->epochs = p;
        log->cap = cap;
    }
    log->epochs[log->nepochs++] = *e;
    return 0;
}

int mlp_runlog_parse_line(mlp_runlog_t *log, const char *line)
{
    json_t *rec = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
    const char *type;
    double v;
    int rc = 0;

    /* Not one of our records (a line cut short, another program's): skip. */
    if (!json_is_object(rec) ||
        (type = json_string_value(json_object_get(rec, "type"))) == NULL)
        goto out;
    if (strcmp(type, "run") == 0) {
        json_t *o = json_object_get(rec, "options");

        log->has_run = 1;
        log->has_end = 0;
        if (str(rec, "model", log->model, sizeof(log->model)) < 0)
            log->model[0] = '\0';
        if (str(o, "act", log->act, sizeof(log->act)) < 0)
            log->act[0] = '\0';
        log->lr = num(o, "lr", &v) == 0 ? v : 0.0;
        log->batch = whole(o, "batch", 0, 1 << 30, &v) == 0 ? (size_t)v : 0;
        log->planned_epochs =
            whole(o, "epochs", 0, 1e9, &v) == 0 ? (unsigned)v : 0;
    } else if (strcmp(type, "epoch") == 0) {
        mlp_runlog_epoch_t e;
        double ep;

        /* A record without the figures charts draw: skip it. */
        if (whole(rec, "epoch", 1, 1e9, &ep) < 0 ||
            num(rec, "train_loss", &e.train_loss) < 0 ||
            num(rec, "train_acc", &e.train_acc) < 0 ||
            num(rec, "test_acc", &e.test_acc) < 0)
            goto out;
        e.epoch = (unsigned)ep;
        e.has_val = num(rec, "val_loss", &e.val_loss) == 0 &&
                    num(rec, "val_acc", &e.val_acc) == 0;
        if (!e.has_val)
            e.val_loss = e.val_acc = 0.0;
        if (num(rec, "seconds", &e.seconds) < 0 || e.seconds < 0.0)
            e.seconds = 0.0;
        rc = add_epoch(log, &e);
    } else if (strcmp(type, "end") == 0) {
        if (str(rec, "status", log->status, sizeof(log->status)) < 0)
            goto out;
        /* Figures that do not exist are null: read as 0 */
        log->has_end = 1;
        log->end_epochs = whole(rec, "epochs", 0, 1e9, &v) == 0 ? (unsigned)v
                                                                 : 0;
        log->seconds = num(rec, "seconds", &v) == 0 ? v : 0.0;
        log->samples_per_s = num(rec, "samples_per_s", &v) == 0 ? v : 0.0;
        log->final_test_acc = num(rec, "final_test_acc", &v) == 0 ? v : 0.0;
        log->best_test_acc = num(rec, "best_test_acc", &v) == 0 ? v : 0.0;
        log->best_epoch =
            whole(rec, "best_epoch", 0, 1e9, &v) == 0 ? (unsigned)v : 0;
        log->has_best_val = num(rec, "best_val_acc", &v) == 0;
        log->best_val_acc = log->has_best_val ? v : 0.0;
        log->best_val_loss = num(rec, "best_val_loss", &v) == 0 ? v : 0.0;
        log->stopped_early =
            whole(rec, "stopped_early", 0, 1e9, &v) == 0 ? (unsigned)v : 0;
        if (str(rec, "message", log->message, sizeof(log->message)) < 0)
            log->message[0] = '\0';
    }
out:
    json_decref(rec);
    return rc;
}

int mlp_runlog_read(const char *path, mlp_runlog_t *log)
{
    FILE *f = NULL;
    char *line = NULL;
    struct stat st;
    size_t lineno = 0;
    int fd, rc = 0;

    memset(log, 0, sizeof(*log));
    /* Only a regular file: /dev/zero or a FIFO would never end. */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
        return mlp_error_set(MLP_EIO, "cannot open '%s': %s", path,
                             strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno;

        rc = mlp_error_set(MLP_EIO, "cannot read '%s': %s", path,
                           fstat(fd, &st) != 0 ? strerror(e)
                           : S_ISDIR(st.st_mode) ? "it is a directory"
                                                 : "not a regular file");
        close(fd);
        return rc;
    }
    if ((f = fdopen(fd, "r")) == NULL) {
        rc = mlp_error_set(MLP_EIO, "cannot read '%s': %s", path,
                           strerror(errno));
        close(fd);
        return rc;
    }
    if ((line = malloc(MLP_RUNLOG_LINE_MAX + 2)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory reading '%s'", path);
        goto out;
    }
    while (fgets(line, MLP_RUNLOG_LINE_MAX + 2, f) != NULL) {
        size_t n = strlen(line);

        lineno++;
        if (n == 0 || line[n - 1] != '\n') {
            if (feof(f))
                break; /* the last line of a killed run, cut short */
            rc = mlp_error_set(MLP_EFORMAT,
                               "%s: line %zu is longer than %d bytes: not a "
                               "log of mlptrain",
                               path, lineno, MLP_RUNLOG_LINE_MAX);
            goto out;
        }
        line[n - 1] = '\0';
        if ((rc = mlp_runlog_parse_line(log, line)) < 0)
            goto out;
    }
    if (ferror(f))
        rc = mlp_error_set(MLP_EIO, "cannot read '%s': %s", path,
                           strerror(errno));
out:
    if (rc < 0)
        mlp_runlog_free(log);
    free(line);
    fclose(f);
    return rc;
}

void mlp_runlog_free(mlp_runlog_t *log)
{
    if (log == NULL)
        return;
    free(log->epochs);
    memset(log, 0, sizeof(*log));
}

void mlp_runlog_label(const mlp_runlog_t *log, char *buf, size_t len)
{
    if (len == 0)
        return;
    buf[0] = '\0';
    if (log->has_run)
        snprintf(buf, len, "%s %s, lr %g", log->model, log->act, log->lr);
}
