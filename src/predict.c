/*
 * predict: stream a file of samples through a saved model and print a
 * line per row (see predict.h).
 *
 * Non-goals: labels and accuracy (eval.c), pictures (eval_render.c).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/bf16.h"
#include "mlptrain/error.h"
#include "mlptrain/loss.h"
#include "mlptrain/net.h"
#include "mlptrain/predict.h"
#include "mlptrain/transform.h"

static void csv_name(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void json_name(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

static void print_row(FILE *out, const mlp_predict_opts_t *o, size_t row,
                      const float *lg, size_t c,
                      const mlp_class_names_t *names, double *p)
{
    size_t k = mlp_loss_argmax(lg, c);
    double mx = lg[k], sum = 0.0;

    for (size_t j = 0; j < c; j++)
        sum += p[j] = exp((double)lg[j] - mx);
    for (size_t j = 0; j < c; j++)
        p[j] /= sum;
    if (o->json) {
        fprintf(out, "{\"row\":%zu,\"class\":%zu,\"name\":", row, k);
        json_name(out, names->names[k]);
        fputs(",\"probs\":[", out);
        for (size_t j = 0; j < c; j++)
            fprintf(out, "%s%.9g", j ? "," : "", (double)(float)p[j]);
        fputc(']', out);
        if (o->logits) {
            fputs(",\"logits\":[", out);
            for (size_t j = 0; j < c; j++)
                fprintf(out, "%s%.9g", j ? "," : "", (double)lg[j]);
            fputc(']', out);
        }
        fputs("}\n", out);
        return;
    }
    fprintf(out, "%zu,%zu,", row, k);
    csv_name(out, names->names[k]);
    for (size_t j = 0; j < c; j++)
        fprintf(out, ",%.9g", (double)(float)p[j]);
    if (o->logits)
        for (size_t j = 0; j < c; j++)
            fprintf(out, ",%.9g", (double)lg[j]);
    fputc('\n', out);
}

int mlp_predict_file(const mlp_checkpoint_t *ck, const char *model,
                     const mlp_table_opts_t *in,
                     const mlp_class_names_t *names,
                     const mlp_predict_opts_t *o, FILE *out, size_t *rows)
{
    mlp_table_opts_t to = *in;
    mlp_table_t *t = NULL;
    mlp_net_t *net = NULL;
    size_t c = ck->out, dim, b = o->batch, got;
    float *x = NULL, *raw = NULL;
    mlp_bf16_t *xh = NULL;
    double *p = NULL;
    int rc;

    *rows = 0;
    to.want_labels = 0;
    to.labels_path = NULL;
    if (b == 0)
        return mlp_error_set(MLP_EINVAL, "predict: batch 0");
    if ((rc = mlp_table_open(&to, &t)) != 0)
        goto out;
    dim = mlp_table_dim(t);
    if (dim != ck->in) {
        rc = mlp_error_set(MLP_EINVAL, "%s has %zu features per row but "
                           "model '%s' takes %zu%s", in->path, dim, model,
                           ck->in, mlp_table_format(t) == MLP_FORMAT_CSV &&
                           dim == ck->in + 1 ? " (hint: --label COL skips "
                           "a label column)" : "");
        goto out;
    }
    if (!mlp_table_is_u8(t) && ck->input_kind == MLP_XFORM_U8) {
        rc = mlp_error_set(MLP_EINVAL, "%s has real-valued features but "
                           "model '%s' was trained on bytes (images scaled "
                           "x/255)", in->path, model);
        goto out;
    }
    if ((rc = mlp_eval_net(ck, model, o->threads, o->precision, b, b,
                           &net)) < 0)
        goto out;
    x = aligned_alloc(64, (b * dim * sizeof(float) + 63) / 64 * 64);
    raw = malloc(b * dim * sizeof(float));
    p = malloc(c * sizeof(double));
    if (mlp_net_spec(net)->precision == MLP_PREC_BF16)
        xh = malloc(b * dim * sizeof(*xh));
    if (x == NULL || raw == NULL || p == NULL ||
        (mlp_net_spec(net)->precision == MLP_PREC_BF16 && xh == NULL)) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for a batch of %zu "
                           "rows", b);
        goto out;
    }
    if (o->json == 0) {
        fputs("row,class,name", out);
        for (size_t j = 0; j < c; j++)
            fprintf(out, ",p_%zu", j);
        for (size_t j = 0; o->logits && j < c; j++)
            fprintf(out, ",logit_%zu", j);
        fputc('\n', out);
    }
    do {
        const float *lg;

        if ((rc = mlp_table_next(t, b, NULL, raw, NULL, NULL, &got)) != 0)
            goto out;
        if (got == 0)
            break;
        for (size_t i = 0; i < got; i++) {
            if (ck->input_kind == MLP_XFORM_AFFINE)
                mlp_transform_affine(raw + i * dim, ck->shift, ck->scale,
                                     dim, x + i * dim);
            else
                for (size_t j = 0; j < dim; j++)
                    x[i * dim + j] = raw[i * dim + j] / 255.0f;
        }
        memset(x + got * dim, 0, (b - got) * dim * sizeof(float));
        if (xh != NULL) /* a bf16 net: each value rounded, as trained */
            mlp_bf16_from_f32(xh, x, b * dim);
        if ((rc = mlp_net_forward(net, xh != NULL ? (const void *)xh
                                                  : (const void *)x,
                                  b, &lg)) < 0)
            goto out;
        for (size_t i = 0; i < got; i++)
            print_row(out, o, *rows + i, lg + i * c, c, names, p);
        *rows += got;
        if (ferror(out)) {
            rc = mlp_error_set(MLP_EIO, "cannot write the predictions: %s",
                               strerror(errno));
            goto out;
        }
    } while (got == b);
    rc = 0;
out:
    mlp_table_close(t);
    mlp_net_destroy(net);
    free(x);
    free(xh);
    free(raw);
    free(p);
    return rc;
}
