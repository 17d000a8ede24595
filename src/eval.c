/*
 * eval: test-split figures and predictions of a saved model (see eval.h).
 *
 * The core decodes a split in order into one batch buffer and runs the
 * net's forward pass; mlp_eval_open loads a checkpoint and the data, checks
 * that they fit and builds a net of the checkpoint's shape.  Rendering is
 * eval_render.c; the `eval` and `predict` commands are cmd_eval.c.
 *
 * Non-goals: training, checkpoint formats (checkpoint.c), the loader's
 * threads (a single in-order pass needs none).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mlptrain/options.h"
#include "mlptrain/error.h"
#include "mlptrain/eval.h"
#include "mlptrain/bf16.h"
#include "mlptrain/loss.h"
#include "mlptrain/text.h"
#include "mlptrain/trainer.h"
#include "mlptrain/transform.h"

const char *const mlp_fashion_mnist_names[10] = {
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot",
};

/* CRC-32 of the 10,000 decoded labels of Fashion-MNIST's t10k-labels. */
#define FASHION_TEST_LABELS_CRC 0x242bc73fUL

/* ---- core ---------------------------------------------------------- */

int mlp_eval_logits_finite(const float *logits, size_t c)
{
    for (size_t j = 0; j < c; j++)
        if (!isfinite(logits[j]))
            return 0;
    return 1;
}

/*
 * Run the first n rows of the split through the net in batches; for each
 * batch, add the loss and counts to res (when not NULL) and store the
 * predictions in pred (when not NULL).
 */
static int run_rows(mlp_net_t *net, const mlp_split_t *split, size_t n,
                    size_t batch, mlp_eval_result_t *res, int32_t *pred)
{
    const mlp_net_spec_t *spec = mlp_net_spec(net);
    size_t c = spec->out, b = n < batch ? n : batch;
    float *x = NULL;
    mlp_bf16_t *xh = NULL;
    int32_t *y = NULL;
    int rc = 0;

    if (batch == 0)
        return mlp_error_set(MLP_EINVAL, "evaluation batch size is 0");
    if (split->dim != spec->in)
        return mlp_error_set(MLP_EINVAL,
                             "samples of %zu values do not fit a net of "
                             "input width %zu",
                             split->dim, spec->in);
    if (n > split->n)
        return mlp_error_set(MLP_EINVAL, "%zu samples asked of a split of %zu",
                             n, split->n);
    for (size_t i = 0; i < n; i++)
        if (split->labels[i] >= c)
            return mlp_error_set(MLP_EINVAL,
                                 "label %u of sample %zu is not below the "
                                 "model's class count %zu",
                                 split->labels[i], i, c);
    if (n == 0)
        return 0;
    x = aligned_alloc(64, (b * split->dim * sizeof(float) + 63) / 64 * 64);
    y = malloc(b * sizeof(*y));
    if (spec->precision == MLP_PREC_BF16)
        xh = aligned_alloc(64, (b * split->dim * sizeof(*xh) + 63) / 64 * 64);
    if (x == NULL || y == NULL ||
        (spec->precision == MLP_PREC_BF16 && xh == NULL)) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for a batch of %zu "
                           "samples", b);
        goto out;
    }
    for (size_t first = 0; first < n; first += batch) {
        size_t m = n - first < batch ? n - first : batch;
        const float *logits;

        if (split->features != NULL) { /* the model's affine transform */
            for (size_t i = 0; i < m; i++)
                mlp_transform_affine(split->features +
                                         (first + i) * split->dim,
                                     split->shift, split->scale, split->dim,
                                     x + i * split->dim);
        } else {
            const uint8_t *src = split->images + first * split->dim;

            for (size_t j = 0; j < m * split->dim; j++)
                x[j] = (float)src[j] / 255.0f;
        }
        for (size_t i = 0; i < m; i++)
            y[i] = split->labels[first + i];
        if (xh != NULL) /* the loader's bf16: each float rounded */
            mlp_bf16_from_f32(xh, x, m * split->dim);
        if ((rc = mlp_net_forward(net, xh != NULL ? (const void *)xh
                                                  : (const void *)x,
                                  m, &logits)) < 0)
            goto out;
        for (size_t i = 0; i < m; i++)
            if (!mlp_eval_logits_finite(logits + i * c, c)) {
                rc = mlp_error_set(MLP_ERANGE, "sample %zu: the model's "
                                   "logits are not finite (its inputs "
                                   "overflow the model): no loss or "
                                   "prediction", first + i);
                goto out;
            }
        for (size_t i = 0; i < m; i++) {
            size_t p = mlp_loss_argmax(logits + i * c, c);

            if (pred != NULL)
                pred[first + i] = (int32_t)p;
            if (res != NULL)
                res->confusion[(size_t)y[i] * c + p]++;
        }
        if (res != NULL)
            mlp_loss_softmax_xent(logits, y, m, c, NULL, &res->loss,
                                  &res->correct);
    }
out:
    free(x);
    free(xh);
    free(y);
    return rc;
}

int mlp_eval_split(mlp_net_t *net, const mlp_split_t *split, size_t batch,
                   mlp_eval_result_t *res)
{
    size_t c = mlp_net_spec(net)->out;
    int rc;

    memset(res, 0, sizeof(*res));
    res->confusion = calloc(c * c, sizeof(*res->confusion));
    res->prf = calloc(c ? c : 1, sizeof(*res->prf));
    if (res->confusion == NULL || res->prf == NULL) {
        mlp_eval_result_free(res);
        return mlp_error_set(MLP_ENOMEM, "out of memory for a %zux%zu "
                             "confusion matrix", c, c);
    }
    res->nclasses = c;
    if ((rc = run_rows(net, split, split->n, batch, res, NULL)) < 0) {
        mlp_eval_result_free(res);
        return rc;
    }
    res->n = split->n;
    if (res->n > 0) {
        res->loss /= (double)res->n;
        res->acc = (double)res->correct / (double)res->n;
    }
    mlp_eval_prf(res->confusion, c, res->prf, &res->macro);
    return 0;
}

size_t mlp_eval_class_total(const mlp_eval_result_t *res, size_t k)
{
    size_t t = 0;

    for (size_t j = 0; j < res->nclasses; j++)
        t += res->confusion[k * res->nclasses + j];
    return t;
}

size_t mlp_eval_class_correct(const mlp_eval_result_t *res, size_t k)
{
    return res->confusion[k * res->nclasses + k];
}

/* a / b, 0 when b is 0 (then a is 0 too: counts). */
static double ratio0(size_t a, size_t b)
{
    return b > 0 ? (double)a / (double)b : 0.0;
}

void mlp_eval_prf(const size_t *confusion, size_t nclasses,
                  mlp_prf_t *per_class, mlp_prf_t *macro)
{
    size_t c = nclasses, present = 0;
    mlp_prf_t sum = {0.0, 0.0, 0.0};

    for (size_t k = 0; k < c; k++) {
        size_t tp = confusion[k * c + k], labelled = 0, predicted = 0;

        for (size_t j = 0; j < c; j++) {
            labelled += confusion[k * c + j];
            predicted += confusion[j * c + k];
        }
        per_class[k].precision = ratio0(tp, predicted);
        per_class[k].recall = ratio0(tp, labelled);
        /* 2tp + fp + fn = predicted + labelled. */
        per_class[k].f1 = ratio0(2 * tp, predicted + labelled);
        if (labelled + predicted > 0) {
            present++;
            sum.precision += per_class[k].precision;
            sum.recall += per_class[k].recall;
            sum.f1 += per_class[k].f1;
        }
    }
    if (macro == NULL)
        return;
    macro->precision = present ? sum.precision / (double)present : 0.0;
    macro->recall = present ? sum.recall / (double)present : 0.0;
    macro->f1 = present ? sum.f1 / (double)present : 0.0;
}

void mlp_eval_result_free(mlp_eval_result_t *res)
{
    if (res == NULL)
        return;
    free(res->confusion);
    free(res->prf);
    memset(res, 0, sizeof(*res));
}

int mlp_eval_predict(mlp_net_t *net, const mlp_split_t *split, size_t n,
                     size_t batch, int32_t *pred)
{
    return run_rows(net, split, n, batch, NULL, pred);
}

/* ---- class names and fit ------------------------------------------- */

int mlp_eval_is_fashion_mnist(const mlp_dataset_t *ds)
{
    if (ds == NULL || ds->nclasses != 10 || ds->rows != 28 || ds->cols != 28)
        return 0;
    return ds->test_total == 10000 &&
           ds->test_labels_crc == FASHION_TEST_LABELS_CRC;
}

void mlp_class_names_free(mlp_class_names_t *cn)
{
    if (cn == NULL)
        return;
    free(cn->names);
    free(cn->buf);
    memset(cn, 0, sizeof(*cn));
}

int mlp_eval_class_names_from(const char (*names)[MLP_CLASS_NAME_MAX],
                              size_t nclasses, mlp_class_names_t *out)
{
    memset(out, 0, sizeof(*out));
    out->names = calloc(nclasses ? nclasses : 1, sizeof(*out->names));
    out->buf = malloc(nclasses * MLP_CLASS_NAME_MAX + 1);
    if (out->names == NULL || out->buf == NULL) {
        mlp_class_names_free(out);
        return mlp_error_set(MLP_ENOMEM, "out of memory for class names");
    }
    out->n = nclasses;
    for (size_t k = 0; k < nclasses; k++) {
        out->names[k] = out->buf + k * MLP_CLASS_NAME_MAX;
        snprintf(out->names[k], MLP_CLASS_NAME_MAX, "%s", names[k]);
    }
    return 0;
}

int mlp_eval_model_class_names(const mlp_checkpoint_t *ck, const char *list,
                               mlp_class_names_t *out)
{
    if (list == NULL && ck->nnames > 0 && ck->nnames == ck->out)
        return mlp_eval_class_names_from(
            (const char(*)[MLP_CLASS_NAME_MAX])ck->class_names, ck->out, out);
    return mlp_eval_class_names(list, NULL, ck->out, out);
}

int mlp_eval_class_names(const char *list, const mlp_dataset_t *ds,
                         size_t nclasses, mlp_class_names_t *out)
{
    int fashion = list == NULL && nclasses == 10 &&
                  mlp_eval_is_fashion_mnist(ds);
    size_t given = 1, bufsize;
    char *p, why[80], esc[96];
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (list != NULL)
        for (const char *s = list; *s; s++)
            given += *s == ',';
    if (list != NULL && given != nclasses)
        return mlp_error_set(MLP_EUSAGE,
                             "option '--class-names': %zu name%s for %zu "
                             "classes",
                             given, given == 1 ? "" : "s", nclasses);
    if (list == NULL && ds != NULL && ds->class_names != NULL)
        return mlp_eval_class_names_from(
            (const char(*)[MLP_CLASS_NAME_MAX])ds->class_names, nclasses,
            out);
    /* Room for the list, or for every name as digits or Fashion-MNIST's. */
    bufsize = list != NULL ? strlen(list) + 1 : nclasses * 24;
    out->names = calloc(nclasses ? nclasses : 1, sizeof(*out->names));
    out->buf = malloc(bufsize ? bufsize : 1);
    if (out->names == NULL || out->buf == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for class names");
        goto out;
    }
    out->n = nclasses;
    p = out->buf;
    if (list != NULL) {
        memcpy(p, list, bufsize);
        for (size_t k = 0; k < nclasses; k++) {
            char *comma = strchr(p, ',');

            if (comma != NULL)
                *comma = '\0';
            if (*p == '\0') {
                rc = mlp_error_set(MLP_EUSAGE,
                                   "option '--class-names': name %zu is "
                                   "empty in '%s'",
                                   k + 1, list);
                goto out;
            }
            /* The one rule for class names (text.h), here where the
             * user's names enter. */
            if (mlp_text_class_name(p, why, sizeof(why)) != 0) {
                rc = mlp_error_set(MLP_EUSAGE,
                                   "option '--class-names': name %zu "
                                   "'%s' cannot be a class name: %s",
                                   k + 1, mlp_text_escape(p, (size_t)-1,
                                                          esc, sizeof(esc)),
                                   why);
                goto out;
            }
            out->names[k] = p;
            p += strlen(p) + 1;
        }
    } else {
        for (size_t k = 0; k < nclasses; k++) {
            int len = fashion ? snprintf(p, 24, "%s", mlp_fashion_mnist_names[k])
                              : snprintf(p, 24, "%zu", k);

            out->names[k] = p;
            p += len + 1;
        }
    }
out:
    if (rc < 0)
        mlp_class_names_free(out);
    return rc;
}

int mlp_eval_check_fit(const mlp_checkpoint_t *ck, const char *model_path,
                       const mlp_dataset_t *ds)
{
    const char *imgs = ds->files[MLP_FILE_TEST_IMAGES].path;

    if (ck->in != ds->rows * ds->cols)
        return mlp_error_set(MLP_EINVAL,
                             "model '%s' takes %zu inputs (%zux%zu images) "
                             "but %s has %zux%zu images (%zu values)",
                             model_path, ck->in, ck->rows, ck->cols, imgs,
                             ds->rows, ds->cols, ds->rows * ds->cols);
    if (ck->rows != 0 && ck->cols != 0 &&
        (ck->rows != ds->rows || ck->cols != ds->cols))
        return mlp_error_set(MLP_EINVAL,
                             "model '%s' was trained on %zux%zu images but "
                             "%s has %zux%zu images",
                             model_path, ck->rows, ck->cols, imgs, ds->rows,
                             ds->cols);
    if (ck->out != ds->nclasses)
        return mlp_error_set(MLP_EINVAL,
                             "model '%s' has %zu classes but the data in "
                             "'%s' has %zu",
                             model_path, ck->out,
                             ds->files[MLP_FILE_TRAIN_LABELS].path,
                             ds->nclasses);
    return 0;
}

/* ---- a saved model on its data ------------------------------------- */

/*
 * The data and the checkpoint's model on it: load the checkpoint first (a
 * missing model fails before the data is read), then the data (the first
 * limit_test test samples), check that they fit, build a net prepared
 * for the test split in batches of `batch` and load the parameters.
 */
static int open_net(const char *model, int threads, int precision,
                    size_t batch, mlp_checkpoint_t *ck, mlp_dataset_t **ds,
                    mlp_net_t **net);

int mlp_eval_open(const char *model, const char *data_dir, size_t limit_test,
                  int threads, int precision, size_t batch,
                  mlp_checkpoint_t *ck, mlp_dataset_t **ds, mlp_net_t **net)
{
    int rc;

    if ((rc = mlp_checkpoint_load(model, ck)) < 0)
        return rc;
    if ((rc = mlp_dataset_load(data_dir, 0, limit_test, ds)) < 0)
        return rc;
    if (ck->input_kind != MLP_XFORM_U8)
        return mlp_error_set(MLP_EINVAL, "model '%s' was trained on real "
                             "features (CSV or float .npy); '%s' holds "
                             "images: give the test file with --test",
                             model, data_dir);
    if ((rc = mlp_eval_check_fit(ck, model, *ds)) < 0)
        return rc;
    return open_net(model, threads, precision, batch, ck, ds, net);
}

int mlp_eval_open_files(const char *model, const mlp_dataset_files_t *f,
                        int threads, int precision, size_t batch,
                        mlp_checkpoint_t *ck, mlp_dataset_t **ds,
                        mlp_net_t **net)
{
    mlp_dataset_files_t g = *f;
    int rc;

    if ((rc = mlp_checkpoint_load(model, ck)) < 0)
        return rc;
    g.train = g.train_labels = NULL;
    g.nclasses = ck->out;
    g.names = (const char(*)[MLP_CLASS_NAME_MAX])ck->class_names;
    if ((rc = mlp_dataset_load_files(&g, ds)) < 0)
        return rc;
    if ((*ds)->test.dim != ck->in)
        return mlp_error_set(MLP_EINVAL, "%s has %zu features per sample "
                             "but model '%s' takes %zu", f->test,
                             (*ds)->test.dim, model, ck->in);
    if ((*ds)->real != (ck->input_kind == MLP_XFORM_AFFINE))
        return mlp_error_set(MLP_EINVAL, "%s has %s but model '%s' was "
                             "trained on %s", f->test,
                             (*ds)->real ? "real features" : "bytes", model,
                             ck->input_kind ? "real features" : "bytes");
    if ((rc = mlp_dataset_set_transform(*ds, 0, ck->shift, ck->scale)) < 0)
        return rc;
    return open_net(model, threads, precision, batch, ck, ds, net);
}

/* The precision the model of ck was trained in, as this CPU can run it:
 * f32 for a file whose options do not name one (or that it cannot read:
 * eval needs none of them) or where bf16 is missing. */
static mlp_precision_t model_precision(const mlp_checkpoint_t *ck,
                                       const char *model)
{
    mlp_config_t *cfg = malloc(sizeof(*cfg));
    mlp_error_saved_t e;
    mlp_precision_t p = MLP_PREC_F32;

    mlp_error_save(&e);
    if (cfg != NULL && mlp_train_checkpoint_config(ck, model, cfg) == 0 &&
        cfg->precision == MLP_PREC_BF16 && mlp_net_bf16_available(NULL, 0))
        p = MLP_PREC_BF16;
    mlp_error_restore(&e, 0);
    free(cfg);
    return p;
}

int mlp_eval_net(const mlp_checkpoint_t *ck, const char *model, int threads,
                 int precision, size_t n, size_t batch, mlp_net_t **net)
{
    mlp_precision_choice_t c;
    mlp_net_spec_t spec;
    int rc;

    *net = NULL;
    memset(&spec, 0, sizeof(spec));
    spec.in = ck->in;
    spec.out = ck->out;
    spec.nhidden = ck->nhidden;
    memcpy(spec.hidden, ck->hidden, sizeof(spec.hidden));
    spec.act = ck->act;
    spec.threads = threads;
    mlp_net_spec_add_split(&spec, n, batch);
    if ((rc = mlp_net_choose_precision(
             &spec,
             precision == MLP_EVAL_PRECISION_MODEL
                 ? model_precision(ck, model)
                 : (mlp_precision_t)precision,
             batch < n ? batch : n, &c)) < 0)
        return rc;
    spec.precision = c.used;
    if ((rc = mlp_net_create(&spec, net)) < 0)
        return rc;
    if ((rc = mlp_checkpoint_restore(ck, *net, NULL)) < 0)
        return mlp_error_prefix(rc, "model '%s'", model);
    return 0;
}

static int open_net(const char *model, int threads, int precision,
                    size_t batch, mlp_checkpoint_t *ck, mlp_dataset_t **ds,
                    mlp_net_t **net)
{
    if ((*ds)->test.n == 0)
        return mlp_error_set(MLP_EINVAL, "%s: no test samples",
                             (*ds)->files[MLP_FILE_TEST_IMAGES].path);
    return mlp_eval_net(ck, model, threads, precision, (*ds)->test.n, batch,
                        net);
}
