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

#include <jansson.h>

#include "mlptrain/csv.h"
#include "mlptrain/error.h"
#include "mlptrain/loss.h"
#include "mlptrain/model.h"
#include "mlptrain/predict.h"
#include "mlptrain/text.h"

/* Floats as %.9g, as the CSV output (a float round-trips). */
#define PREDICT_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | \
                            JSON_REAL_PRECISION(9))

_Static_assert(MLP_TABLE_MAX_FEATURES <= MLP_MAX_WIDTH,
               "every sample a table reads fits a net's input layer");

/* A JSON array of n floats (jansson: finite reals only). */
static json_t *json_floats(const float *v, const double *d, size_t n)
{
    json_t *a = json_array();

    for (size_t j = 0; a != NULL && j < n; j++)
        if (json_array_append_new(a, json_real(d != NULL ? (double)(float)d[j]
                                                          : (double)v[j]))
            != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* One row as a JSON object, written through jansson like every JSON
 * mlptrain writes: {"row":R,"class":K,"name":"N","probs":[...]}. */
static int print_json(FILE *out, const mlp_predict_opts_t *o, size_t row,
                      size_t k, const char *name, const float *lg,
                      const double *p, size_t c)
{
    json_t *obj;
    int rc = 0;

    /* Names are checked where they enter (text.h); jansson checks too. */
    if (!mlp_text_is_utf8(name))
        return mlp_error_set(MLP_EINVAL, "the name of class %zu is not "
                             "UTF-8 text", k);
    obj = json_pack("{s:I,s:I,s:s,s:o}", "row", (json_int_t)row, "class",
                    (json_int_t)k, "name", name, "probs",
                    json_floats(NULL, p, c));

    if (obj != NULL && o->logits &&
        json_object_set_new(obj, "logits", json_floats(lg, NULL, c)) != 0) {
        json_decref(obj);
        obj = NULL;
    }
    if (obj == NULL)
        return mlp_error_set(MLP_ENOMEM, "row %zu: cannot build its JSON "
                             "(out of memory)", row);
    if (json_dumpf(obj, out, PREDICT_JSON_FLAGS) != 0 ||
        fputc('\n', out) == EOF)
        rc = mlp_error_set(MLP_EIO, "cannot write the predictions: %s",
                           strerror(errno));
    json_decref(obj);
    return rc;
}

static int print_row(FILE *out, const mlp_predict_opts_t *o, size_t row,
                     const float *lg, size_t c,
                     const mlp_class_names_t *names, double *p)
{
    size_t k = mlp_loss_argmax(lg, c);

    mlp_model_softmax(lg, c, k, p);
    if (o->json)
        return print_json(out, o, row, k, names->names[k], lg, p, c);
    fprintf(out, "%zu,%zu,", row, k);
    mlp_csv_write_field(out, names->names[k]);
    for (size_t j = 0; j < c; j++)
        fprintf(out, ",%.9g", (double)(float)p[j]);
    if (o->logits)
        for (size_t j = 0; j < c; j++)
            fprintf(out, ",%.9g", (double)lg[j]);
    fputc('\n', out);
    return 0;
}

int mlp_predict_file(const mlp_checkpoint_t *ck, const char *model,
                     const mlp_table_opts_t *in,
                     const mlp_class_names_t *names,
                     const mlp_predict_opts_t *o, FILE *out, size_t *rows)
{
    mlp_table_opts_t to = *in;
    mlp_table_t *t = NULL;
    mlp_model_t *m = NULL;
    size_t c = ck->out, dim, b = o->batch, got;
    uint8_t *x8 = NULL;
    float *xf = NULL;
    double *p = NULL;
    int rc, u8;

    *rows = 0;
    to.want_labels = 0;
    to.labels_path = NULL;
    if (b == 0)
        return mlp_error_set(MLP_EINVAL, "predict: batch 0");
    if ((rc = mlp_table_open(&to, &t)) != 0)
        goto out;
    dim = mlp_table_dim(t);
    u8 = mlp_table_is_u8(t);
    if (dim != ck->in) {
        rc = mlp_error_set(MLP_EINVAL, "%s has %zu features per row but "
                           "model '%s' takes %zu%s", in->path, dim, model,
                           ck->in, mlp_table_format(t) == MLP_FORMAT_CSV &&
                           dim == ck->in + 1 ? " (hint: --label COL skips "
                           "a label column)" : "");
        goto out;
    }
    if ((rc = mlp_model_create(ck, model, o->threads, o->precision, b,
                               &m)) < 0)
        goto out;
    /* Rows as the file holds them: bytes, or real features (model.h
     * scales each as the model was trained, or refuses it). */
    if (u8)
        x8 = malloc(b * dim);
    else
        xf = malloc(b * dim * sizeof(float));
    p = malloc(c * sizeof(double));
    if ((x8 == NULL && xf == NULL) || p == NULL) {
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

        if ((rc = mlp_table_next(t, b, x8, xf, NULL, NULL, &got)) != 0)
            goto out;
        if (got == 0)
            break;
        /* The batch is checked (its logits finite) before any of it is
         * printed. */
        if ((rc = mlp_model_logits(m, x8, xf, got, *rows, in->path, &lg)) <
            0)
            goto out;
        for (size_t i = 0; i < got; i++)
            if ((rc = print_row(out, o, *rows + i, lg + i * c, c, names,
                                p)) < 0)
                goto out;
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
    mlp_model_destroy(m);
    free(x8);
    free(xf);
    free(p);
    return rc;
}
