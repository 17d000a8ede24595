/*
 * trainer_ranks: the ranks' agreement of a training run under MPI (see
 * dist.h, mlp_dist_agree): the record of everything that must be the same
 * on every rank, taken once the run is set up and before the loader or
 * the first step, so that a rank given other options, other data or
 * another checkpoint ends the job at once with a message naming the rank
 * and what differs, instead of hanging in a sum (another --epochs or
 * --limit-train) or mixing two runs into one model (another --lr).
 *
 * The record (lines "KEY=VALUE"): the build; every option that changes
 * the figures or is kept in a checkpoint (FIGS, CKPT), as resolved, but
 * not paths (a host may keep the data elsewhere: the data's own digest
 * stands for them); the resumed checkpoint's place and a checksum of its
 * parameters; the batch and step counts; and the data as decoded: rows,
 * features, shape, classes and their names, the files' sizes, and crc32
 * of every split's features and labels and of the input scaling.  The
 * checksums cost one pass over the data (27-46 ms for Fashion-MNIST's 55 MB),
 * only with more than one rank.
 *
 * Non-goals: the transport and comparison (dist.c); checking a single
 * process (nothing to agree with).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "config.h"
#include "git-version.h"
#include "mlptrain/dist.h"
#include "mlptrain/error.h"
#include "mlptrain/options.h"
#include "trainer_internal.h"

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} text_t;

static void add(text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(text_t *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        {
            size_t cap = 2 * (t->cap + (size_t)n + 1);
            char *b = realloc(t->buf, cap);

            if (b == NULL) {
                t->failed = 1;
                return;
            }
            t->buf = b;
            t->cap = cap;
        }
    }
}

/* A float as the shortest decimal that reads back as it ("0.2", not
 * "0.200000003"), for the message; the words of "off" and "auto" stay. */
static void shortest(float f, char *buf, size_t len)
{
    if (strcmp(buf, "off") == 0 || strcmp(buf, "auto") == 0)
        return;
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, len, "%.*g", p, (double)f);
        if (strtof(buf, NULL) == f)
            return;
    }
}

/* crc32 of n bytes (none: 0). */
static uint32_t crc_of(const void *p, size_t n)
{
    uLong c = crc32_z(0L, Z_NULL, 0);

    return p != NULL && n > 0 ? (uint32_t)crc32_z(c, p, n) : (uint32_t)c;
}

/* A split's rows, features and labels as lines "NAME ...". */
static void add_split(text_t *t, const char *name, const mlp_split_t *sp)
{
    size_t x = sp->features != NULL ? sizeof(float) : 1;
    const void *xs = sp->features != NULL ? (const void *)sp->features
                                          : (const void *)sp->images;

    add(t, "%s rows=%zu\n", name, sp->n);
    add(t, "%s features crc32=%08x\n", name, crc_of(xs, sp->n * sp->dim * x));
    add(t, "%s labels crc32=%08x\n", name, crc_of(sp->labels, sp->n));
}

/* The record of this rank's run (see the top of this file). */
static int make_record(const session_t *s, text_t *t)
{
    const mlp_config_t *cfg = s->cfg;
    const mlp_dataset_t *ds = s->ds;

    add(t, "build=mlptrain %s (git %s)\n", PACKAGE_VERSION, MLP_GIT_HASH);
    for (size_t i = 0; i < MLP_NOPTIONS; i++) {
        const mlp_option_t *o = &mlp_options[i];
        char v[256];

        if (!(o->flags & (MLP_OPT_FIGS | MLP_OPT_CKPT)) ||
            o->type == MLP_OPT_PATH)
            continue;
        mlp_options_format(o, cfg, 1, v, sizeof(v));
        if (o->type == MLP_OPT_FLOAT)
            shortest(*(const float *)mlp_options_field(o, (mlp_config_t *)cfg),
                     v, sizeof(v));
        add(t, "option '--%s'=%s\n", o->name, v);
    }
    if (s->resume)
        add(t, "resumed checkpoint=epoch %u, batch %zu, parameters crc32 "
            "%08x\n", s->rck.epoch, s->rck.batches_done, s->resume_crc);
    if (s->done) {
        add(t, "resumed run=already done (stopped early at epoch %u)\n",
            s->done);
        return t->failed ? MLP_ENOMEM : 0;
    }
    add(t, "batches per epoch=%zu train, %zu validation, %zu test\n",
        s->nb_train, s->nb_val, s->nb_test);
    add(t, "steps per epoch=%zu\n", s->steps_per_epoch);
    add(t, "first epoch=%u\n", s->first);
    add(t, "features per row=%zu (%zux%zu, %s)\n", ds->train.dim, ds->rows,
        ds->cols, ds->real ? "real" : "bytes");
    add(t, "classes=%zu\n", ds->nclasses);
    if (ds->class_names != NULL) {
        uLong c = crc32_z(0L, Z_NULL, 0);

        /* each name to its NUL: the bytes after it are not the name's */
        for (size_t k = 0; k < ds->nclasses; k++)
            c = crc32_z(c, (const Bytef *)ds->class_names[k],
                        strnlen(ds->class_names[k], MLP_CLASS_NAME_MAX) + 1);
        add(t, "class names crc32=%08x\n", (uint32_t)c);
    }
    add(t, "rows in the files=%zu training, %zu test\n", ds->train_total,
        ds->test_total);
    for (int i = 0; i < MLP_NFILES; i++)
        add(t, "data file %d=%llu bytes, crc32 %08x\n", i,
            (unsigned long long)ds->files[i].size, ds->files[i].crc);
    add_split(t, "training", &ds->train);
    add_split(t, "validation", &ds->val);
    add_split(t, "test", &ds->test);
    if (ds->shift != NULL)
        add(t, "input scaling crc32=%08x %08x\n",
            crc_of(ds->shift, ds->train.dim * sizeof(float)),
            crc_of(ds->scale, ds->train.dim * sizeof(float)));
    return t->failed ? mlp_error_set(MLP_ENOMEM, "out of memory") : 0;
}

int mlp_train_agree_ranks(session_t *s, int rc)
{
    text_t t = {NULL, 0, 0, 0};

    if (s->nranks <= 1)
        return rc;
    if (rc == 0)
        rc = make_record(s, &t);
    rc = mlp_dist_agree(rc, t.buf, t.len);
    free(t.buf);
    return rc;
}
