/*
 * runlog: read our own JSON-lines records back (see runlog.h).
 *
 * Fields are found by their quoted name followed by a colon.  Inside a
 * JSON string every quote is escaped, so `"name":` cannot match within a
 * string value (a path, a message).  Non-goals: general JSON, nested
 * lookups, writing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/error.h"
#include "mlptrain/runlog.h"

/* The text just after `"name":` in line, or NULL. */
static const char *field(const char *line, const char *name)
{
    size_t n = strlen(name);

    for (const char *p = line; (p = strchr(p, '"')) != NULL; p++)
        if (strncmp(p + 1, name, n) == 0 && p[n + 1] == '"' &&
            p[n + 2] == ':')
            return p + n + 3;
    return NULL;
}

static int num(const char *line, const char *name, double *v)
{
    const char *p = field(line, name);
    char *end;
    double d;

    if (p == NULL)
        return -1;
    errno = 0;
    d = strtod(p, &end);
    if (end == p || errno == ERANGE)
        return -1;
    *v = d;
    return 0;
}

/* A JSON string value into buf (truncated to fit), unescaped. */
static int str(const char *line, const char *name, char *buf, size_t len)
{
    const char *p = field(line, name);
    size_t o = 0;

    if (p == NULL || *p != '"' || len == 0)
        return -1;
    for (p++; *p != '\0' && *p != '"'; p++) {
        char c = *p;

        if (c == '\\') {
            p++;
            if (*p == '\0')
                break;
            c = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
            if (*p == 'u') { /* only \u00XX is written: control bytes */
                unsigned u = 0;
                if (sscanf(p + 1, "%4x", &u) == 1 && strlen(p + 1) >= 4) {
                    c = (char)u;
                    p += 4;
                }
            }
        }
        if (o + 1 < len)
            buf[o++] = c;
    }
    buf[o] = '\0';
    return *p == '"' ? 0 : -1;
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
    static const char tag[] = "{\"type\":\"";
    const char *type;
    double v;

    if (strncmp(line, tag, sizeof(tag) - 1) != 0)
        return 0;
    type = line + sizeof(tag) - 1;
    if (strncmp(type, "run\"", 4) == 0) {
        log->has_run = 1;
        log->has_end = 0;
        if (str(line, "model", log->model, sizeof(log->model)) < 0)
            log->model[0] = '\0';
        if (str(line, "act", log->act, sizeof(log->act)) < 0)
            log->act[0] = '\0';
        log->lr = num(line, "lr", &v) == 0 ? v : 0.0;
        log->batch = num(line, "batch", &v) == 0 && v >= 0 ? (size_t)v : 0;
        log->planned_epochs =
            num(line, "epochs", &v) == 0 && v >= 0 ? (unsigned)v : 0;
    } else if (strncmp(type, "epoch\"", 6) == 0) {
        mlp_runlog_epoch_t e;
        double ep;

        /* A line cut short lacks a field: skip it. */
        if (num(line, "epoch", &ep) < 0 || ep < 1 ||
            num(line, "train_loss", &e.train_loss) < 0 ||
            num(line, "train_acc", &e.train_acc) < 0 ||
            num(line, "test_acc", &e.test_acc) < 0)
            return 0;
        e.epoch = (unsigned)ep;
        return add_epoch(log, &e);
    } else if (strncmp(type, "end\"", 4) == 0) {
        if (str(line, "status", log->status, sizeof(log->status)) < 0 ||
            strchr(line, '}') == NULL)
            return 0;
        log->has_end = 1;
        log->end_epochs = num(line, "epochs", &v) == 0 ? (unsigned)v : 0;
        log->seconds = num(line, "seconds", &v) == 0 ? v : 0.0;
        log->samples_per_s = num(line, "samples_per_s", &v) == 0 ? v : 0.0;
        log->final_test_acc = num(line, "final_test_acc", &v) == 0 ? v : 0.0;
        log->best_test_acc = num(line, "best_test_acc", &v) == 0 ? v : 0.0;
        log->best_epoch = num(line, "best_epoch", &v) == 0 ? (unsigned)v : 0;
        if (str(line, "message", log->message, sizeof(log->message)) < 0)
            log->message[0] = '\0';
    }
    return 0;
}

int mlp_runlog_read(const char *path, mlp_runlog_t *log)
{
    FILE *f = NULL;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;

    memset(log, 0, sizeof(*log));
    f = fopen(path, "r");
    if (f == NULL)
        return mlp_error_set(MLP_EIO, "cannot open '%s': %s", path,
                             strerror(errno));
    while ((n = getline(&line, &cap, f)) > 0) {
        if (line[n - 1] != '\n')
            break; /* the last line of a killed run, cut short */
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
