/*
 * export: what both export formats share (see export.h): the layers of a
 * checkpoint, THE input transform, the class names, the .npy header, the
 * output checks and the write through outfile.  The ONNX writer is
 * export_onnx.c, the .npz writer export_npz.c.
 *
 * Non-goals: reading exported files back (the tests do, in Python), other
 * formats, building a net (the checkpoint's parameters are already in
 * logical layouts).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlptrain/error.h"
#include "mlptrain/export.h"
#include "mlptrain/transform.h"
#include "mlptrain/outfile.h"
#include "export_internal.h"

int mlp_export_layers(const mlp_checkpoint_t *ck, mlp_export_layers_t *L)
{
    size_t off = 0;

    memset(L, 0, sizeof(*L));
    if (ck->nhidden > MLP_MAX_HIDDEN || ck->in == 0 || ck->out == 0)
        return mlp_error_set(MLP_EINVAL, "a model of %zu inputs, %zu hidden "
                                         "layers and %zu classes",
                             ck->in, ck->nhidden, ck->out);
    L->nlayers = ck->nhidden + 1;
    for (size_t l = 0; l < L->nlayers; l++) {
        L->in[l] = l == 0 ? ck->in : ck->hidden[l - 1];
        L->out[l] = l == ck->nhidden ? ck->out : ck->hidden[l];
        if (L->in[l] == 0 || L->out[l] == 0 ||
            L->out[l] > (ck->nparams - off) / (L->in[l] + 1)) {
            size_t li = L->in[l], lo = L->out[l];

            memset(L, 0, sizeof(*L));
            return mlp_error_set(MLP_EINVAL, "the model's %zu parameters do "
                                             "not fill layer %zu (%zu -> %zu)",
                                 ck->nparams, l + 1, li, lo);
        }
        L->w[l] = ck->params + off;
        off += L->out[l] * L->in[l];
        L->b[l] = ck->params + off;
        off += L->out[l];
    }
    if (off != ck->nparams) {
        memset(L, 0, sizeof(*L));
        return mlp_error_set(MLP_EINVAL, "the model holds %zu parameters, its "
                                         "shape needs %zu",
                             ck->nparams, off);
    }
    return 0;
}

/*
 * The one place that says what a model takes.  Checkpoint versions 1 and
 * 2 are trained on uint8 pixels that the loader decodes as p / 255.0f
 * (transform.h: mlp_transform_u8): shift 0, scale 1 / 255 rounded to float32.
 * (Version 3 stores a per-feature affine transform: its shift and scale
 * come here.)
 */
int mlp_export_transform(const mlp_checkpoint_t *ck, float *shift,
                         float *scale)
{
    /* The loader's decode (transform.h): bytes x / 255.0f, whose float
     * result x * (1.0f / 255) matches within one ulp (check_export); real
     * features (x - shift[j]) * scale[j] with the model's own statistics. */
    int affine = ck->input_kind == MLP_XFORM_AFFINE;

    if (affine && (ck->shift == NULL || ck->scale == NULL))
        return mlp_error_set(MLP_EINVAL, "the model's input transform has "
                                         "no statistics");
    for (size_t j = 0; j < ck->in; j++) {
        shift[j] = affine ? ck->shift[j] : 0.0f;
        scale[j] = affine ? ck->scale[j] : 1.0f / 255.0f;
    }
    return 0;
}

int mlp_export_class_names(const mlp_checkpoint_t *ck, const char *list,
                           mlp_class_names_t *cn)
{
    return mlp_eval_model_class_names(ck, list, cn);
}

const char *mlp_export_act(const mlp_checkpoint_t *ck)
{
    return mlp_net_act_label(ck->act, ck->nhidden);
}

/* ---- .npy headers ------------------------------------------------------ */

int mlp_export_npy_header(const char *descr, const size_t *shape,
                          size_t ndim, uint8_t *buf, size_t len,
                          size_t *hlen)
{
    char dict[512];
    size_t n, total, pad;
    int k;

    *hlen = 0;
    if (ndim > 8 || strlen(descr) > 32)
        return mlp_error_set(MLP_EINVAL, "an array of %zu dimensions, type "
                                         "'%s'",
                             ndim, descr);
    k = snprintf(dict, sizeof(dict), "{'descr': '%s', 'fortran_order': "
                                     "False, 'shape': (", descr);
    n = (size_t)k;
    for (size_t i = 0; i < ndim; i++)
        n += (size_t)snprintf(dict + n, sizeof(dict) - n, "%s%zu",
                              i ? ", " : "", shape[i]);
    /* A 1-tuple is "(n,)", as Python writes it. */
    n += (size_t)snprintf(dict + n, sizeof(dict) - n, "%s), }",
                          ndim == 1 ? "," : "");
    /* magic (6) + version (2) + length (2) + dict + padding + '\n',
     * padded to 64 bytes as numpy's writer does. */
    total = (10 + n + 1 + 63) / 64 * 64;
    pad = total - 10 - n - 1;
    if (total > len || total - 10 > 65535)
        return mlp_error_set(MLP_EINVAL, "a .npy header of %zu bytes does "
                                         "not fit %zu",
                             total, len);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)((total - 10) & 0xff);
    buf[9] = (uint8_t)((total - 10) >> 8);
    memcpy(buf + 10, dict, n);
    memset(buf + 10 + n, ' ', pad);
    buf[total - 1] = '\n';
    *hlen = total;
    return 0;
}

/* ---- outputs ----------------------------------------------------------- */

int mlp_export_check_output(const char *path, const char *opt,
                            const char *model_path, const char *other,
                            const char *other_opt)
{
    mlp_out_file_t files[3] = {
        {model_path, "--model", 0, NULL},
        {path, opt, 1, NULL},
        {other, other_opt, 1, NULL},
    };
    int rc;

    if (path == NULL || path[0] == '\0')
        return mlp_error_set(MLP_EUSAGE, "option '%s': empty file name", opt);
    if ((rc = mlp_out_check(path)) < 0)
        return mlp_error_prefix(rc, "option '%s'", opt);
    return mlp_out_no_alias(files, other != NULL ? 3 : 2);
}

/* A buffer to write through outfile (its fill callback's argument). */
typedef struct {
    const uint8_t *buf;
    size_t len;
} bytes_t;

/* outfile's fill: write the whole buffer to fd. */
static int fill_bytes(int fd, const char *tmp, void *arg)
{
    const bytes_t *b = arg;
    size_t done = 0;

    while (done < b->len) {
        ssize_t w = write(fd, b->buf + done, b->len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return mlp_error_set(MLP_EIO, "cannot write '%s': %s", tmp,
                                 w < 0 ? strerror(errno) : "no progress");
        done += (size_t)w;
    }
    return 0;
}

int mlp_export_write(const char *path, mlp_export_encode_fn encode,
                     const mlp_checkpoint_t *ck, const mlp_class_names_t *cn,
                     mlp_out_valid_fn valid)
{
    uint8_t *buf = NULL;
    bytes_t b = {NULL, 0};
    int rc;

    if ((rc = encode(ck, cn, &buf, &b.len)) < 0)
        return rc;
    b.buf = buf;
    rc = mlp_out_write(path, fill_bytes, &b, valid);
    free(buf);
    return rc;
}

int mlp_export_read_back(int fd, const char *path, uint8_t **buf,
                         size_t *len)
{
    struct stat st;
    size_t done = 0, n;

    *buf = NULL;
    *len = 0;
    if (fstat(fd, &st) != 0)
        return mlp_error_set(MLP_EIO, "cannot check '%s': %s", path,
                             strerror(errno));
    n = (size_t)st.st_size;
    if ((*buf = malloc(n ? n : 1)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory to check '%s'", path);
    while (done < n) {
        ssize_t r = pread(fd, *buf + done, n - done, (off_t)done);

        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(*buf);
            *buf = NULL;
            return mlp_error_set(MLP_EIO, "cannot check '%s': %s", path,
                                 r < 0 ? strerror(errno) : "short read");
        }
        done += (size_t)r;
    }
    *len = n;
    return 0;
}
