/*
 * checkpoint_input: version 3's input section -- the input transform and
 * the class names (layout in checkpoint.h) -- sized, checked, written and
 * parsed, for checkpoint.c.  Needs nothing but error.c and text.c (the
 * fuzz driver links them).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/error.h"
#include "mlptrain/text.h"
#include "checkpoint_internal.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

size_t mlp_ck_input_bytes(const mlp_checkpoint_t *ck)
{
    return 8 + (ck->input_kind == 1 ? 8 * ck->in : 0) +
           MLP_CHECKPOINT_NAME_BYTES * ck->nnames;
}

/* A class name: text.h's rule (1 to NAME_BYTES - 1 bytes of UTF-8 text
 * without control characters), then NULs; why gets the reason. */
static int name_ok(const char *s, char *why, size_t cap)
{
    size_t n = strnlen(s, MLP_CHECKPOINT_NAME_BYTES);

    if (n == MLP_CHECKPOINT_NAME_BYTES) {
        snprintf(why, cap, "not NUL-terminated");
        return 0;
    }
    if (mlp_text_class_name(s, why, cap) != 0)
        return 0;
    for (size_t i = n; i < MLP_CHECKPOINT_NAME_BYTES; i++)
        if (s[i] != '\0') {
            snprintf(why, cap, "not NUL-padded");
            return 0;
        }
    return 1;
}

int mlp_ck_input_check(const mlp_checkpoint_t *ck, const char *name,
                       int status)
{
    if (ck->input_kind > 1)
        return mlp_error_set(status, "%s: input transform kind %u (0: "
                             "bytes / 255, 1: affine)", name,
                             ck->input_kind);
    if (ck->input_kind == 1) {
        if (ck->shift == NULL || ck->scale == NULL)
            return mlp_error_set(status, "%s: an affine input transform "
                                 "without its shift and scale", name);
        for (size_t j = 0; j < ck->in; j++)
            if (!isfinite(ck->shift[j]) || !isfinite(ck->scale[j]))
                return mlp_error_set(status, "%s: input transform of "
                                     "feature %zu is not finite", name, j);
    }
    if (ck->nnames != 0 && ck->nnames != ck->out)
        return mlp_error_set(status, "%s: %zu class names for %zu classes",
                             name, ck->nnames, ck->out);
    for (size_t k = 0; k < ck->nnames; k++) {
        char why[80];

        if (!name_ok(ck->class_names[k], why, sizeof(why)))
            return mlp_error_set(status, "%s: the name of class %zu is "
                                 "not a usable class name: %s", name, k,
                                 why);
    }
    return 0;
}

int mlp_ck_input_write(writer_t *w, const mlp_checkpoint_t *ck)
{
    int rc;

    if ((rc = mlp_ck_reserve(w, 8)) < 0)
        return rc;
    put32(w->stage + w->n, ck->input_kind);
    put32(w->stage + w->n + 4, (uint32_t)ck->nnames);
    w->n += 8;
    if (ck->input_kind == 1 &&
        ((rc = mlp_ck_write_floats(w, ck->shift, ck->in)) < 0 ||
         (rc = mlp_ck_write_floats(w, ck->scale, ck->in)) < 0))
        return rc;
    for (size_t k = 0; k < ck->nnames; k++) {
        if ((rc = mlp_ck_reserve(w, MLP_CHECKPOINT_NAME_BYTES)) < 0)
            return rc;
        memset(w->stage + w->n, 0, MLP_CHECKPOINT_NAME_BYTES);
        memcpy(w->stage + w->n, ck->class_names[k],
               strnlen(ck->class_names[k], MLP_CHECKPOINT_NAME_BYTES - 1));
        w->n += MLP_CHECKPOINT_NAME_BYTES;
    }
    return 0;
}

static float get_f(const uint8_t *p)
{
    uint32_t u = get_u32(p);
    float f;

    memcpy(&f, &u, 4);
    return f;
}

int mlp_ck_input_parse(const uint8_t *p, size_t avail, const char *name,
                       mlp_checkpoint_t *ck, size_t *used)
{
    size_t need;

    *used = 0;
    if (avail < 8)
        return mlp_error_set(MLP_EFORMAT, "%s: the sizes in the header do "
                             "not fill the file: %zu bytes left for the "
                             "input section (at least 8)", name, avail);
    ck->input_kind = get_u32(p);
    ck->nnames = get_u32(p + 4);
    if (ck->input_kind > 1 || (ck->nnames != 0 && ck->nnames != ck->out))
        return mlp_ck_input_check(ck, name, MLP_EFORMAT);
    need = mlp_ck_input_bytes(ck);
    if (need > avail)
        return mlp_error_set(MLP_EFORMAT, "%s: the sizes in the header do "
                             "not fill the file: the input section needs "
                             "%zu bytes, %zu are left", name, need, avail);
    p += 8;
    if (ck->input_kind == 1) {
        if ((ck->shift = malloc(ck->in * sizeof(float) + 1)) == NULL ||
            (ck->scale = malloc(ck->in * sizeof(float) + 1)) == NULL)
            return mlp_error_set(MLP_ENOMEM, "out of memory");
        for (size_t j = 0; j < ck->in; j++) {
            ck->shift[j] = get_f(p + 4 * j);
            ck->scale[j] = get_f(p + 4 * (ck->in + j));
        }
        p += 8 * ck->in;
    }
    if (ck->nnames > 0) {
        if ((ck->class_names = malloc(ck->nnames *
                                      sizeof(*ck->class_names))) == NULL)
            return mlp_error_set(MLP_ENOMEM, "out of memory");
        memcpy(ck->class_names, p, ck->nnames * sizeof(*ck->class_names));
    }
    *used = need;
    return mlp_ck_input_check(ck, name, MLP_EFORMAT);
}
