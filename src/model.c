/*
 * model: a trained model in memory and its predictions on rows (see
 * model.h).
 *
 * Non-goals: reading files (checkpoint_file.c, table.c), printing
 * (predict.c), labels and figures (eval.c).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/bf16.h"
#include "mlptrain/error.h"
#include "mlptrain/eval.h"
#include "mlptrain/loss.h"
#include "mlptrain/model.h"
#include "mlptrain/net.h"
#include "mlptrain/transform.h"

struct mlp_model {
    mlp_checkpoint_t own;        /* mlp_model_open's */
    const mlp_checkpoint_t *ck;  /* &own, or the caller's */
    const char *name;            /* borrowed, for messages */
    char *name_own;
    mlp_net_t *net;
    size_t batch;
    float *x;                    /* (batch, in) scaled, zero-padded */
    mlp_bf16_t *xh;              /* (batch, in) x rounded, a bf16 net's
                                    input; NULL for f32 */
};

void mlp_model_softmax(const float *lg, size_t c, size_t k, double *p)
{
    double mx = lg[k], sum = 0.0;

    for (size_t j = 0; j < c; j++)
        sum += p[j] = exp((double)lg[j] - mx);
    for (size_t j = 0; j < c; j++)
        p[j] /= sum;
}

static int make(mlp_model_t *m, int threads, int precision, size_t batch)
{
    size_t in = m->ck->in;
    int rc;

    if (batch == 0)
        return mlp_error_set(MLP_EINVAL, "model '%s': batch 0", m->name);
    m->batch = batch;
    if ((rc = mlp_eval_net(m->ck, m->name, threads, precision, batch, batch,
                           &m->net)) < 0)
        return rc;
    m->x = aligned_alloc(64, (batch * in * sizeof(float) + 63) / 64 * 64);
    if (mlp_net_spec(m->net)->precision == MLP_PREC_BF16)
        m->xh = malloc(batch * in * sizeof(*m->xh));
    if (m->x == NULL ||
        (mlp_net_spec(m->net)->precision == MLP_PREC_BF16 && m->xh == NULL))
        return mlp_error_set(MLP_ENOMEM, "model '%s': out of memory for a "
                             "batch of %zu rows", m->name, batch);
    return 0;
}

int mlp_model_create(const mlp_checkpoint_t *ck, const char *name,
                     int threads, int precision, size_t batch,
                     mlp_model_t **out)
{
    mlp_model_t *m;
    int rc;

    *out = NULL;
    if ((m = calloc(1, sizeof(*m))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    m->ck = ck;
    m->name = name;
    if ((rc = make(m, threads, precision, batch)) < 0) {
        mlp_model_destroy(m);
        return rc;
    }
    *out = m;
    return 0;
}

int mlp_model_open(const uint8_t *buf, size_t len, const char *name,
                   int threads, int precision, mlp_model_t **out)
{
    mlp_model_t *m;
    int rc;

    *out = NULL;
    if ((m = calloc(1, sizeof(*m))) == NULL ||
        (m->name_own = strdup(name)) == NULL) {
        free(m);
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    }
    m->name = m->name_own;
    m->ck = &m->own;
    if ((rc = mlp_checkpoint_parse(buf, len, name, &m->own)) < 0 ||
        (rc = make(m, threads, precision, MLP_MODEL_BATCH)) < 0) {
        mlp_model_destroy(m);
        return rc;
    }
    /* The net holds the parameters now; keep only the small fields. */
    free(m->own.params);
    free(m->own.state);
    m->own.params = m->own.state = NULL;
    *out = m;
    return 0;
}

const mlp_checkpoint_t *mlp_model_checkpoint(const mlp_model_t *m)
{
    return m->ck;
}

int mlp_model_logits(mlp_model_t *m, const uint8_t *x8, const float *xf,
                     size_t n, size_t row0, const char *what,
                     const float **logits)
{
    const mlp_checkpoint_t *ck = m->ck;
    size_t in = ck->in, c = ck->out;
    int affine = ck->input_kind == MLP_XFORM_AFFINE;
    int rc;

    if ((x8 == NULL) == (xf == NULL) || n > m->batch)
        return mlp_error_set(MLP_EINVAL, "model '%s': %zu rows of %s for a "
                             "batch of %zu", m->name, n,
                             x8 == NULL && xf == NULL ? "nothing" : "data",
                             m->batch);
    if (xf != NULL && !affine)
        return mlp_error_set(MLP_EINVAL, "%s has real-valued features but "
                             "model '%s' was trained on bytes (images scaled "
                             "x/255)", what, m->name);
    if (xf != NULL &&
        (rc = mlp_transform_check_finite(xf, n, in, row0, what)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        float *r = m->x + i * in;

        if (xf != NULL) {
            mlp_transform_affine(xf + i * in, ck->shift, ck->scale, in, r);
        } else if (affine) { /* bytes as the features' values */
            for (size_t j = 0; j < in; j++)
                r[j] = (float)x8[i * in + j];
            mlp_transform_affine(r, ck->shift, ck->scale, in, r);
        } else {
            mlp_transform_u8(x8 + i * in, in, r);
        }
    }
    memset(m->x + n * in, 0, (m->batch - n) * in * sizeof(float));
    if (m->xh != NULL) /* a bf16 net: each value rounded, as trained */
        mlp_bf16_from_f32(m->xh, m->x, m->batch * in);
    if ((rc = mlp_net_forward(m->net, m->xh != NULL ? (const void *)m->xh
                                                    : (const void *)m->x,
                              m->batch, logits)) < 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (!mlp_eval_logits_finite(*logits + i * c, c))
            return mlp_error_set(MLP_ERANGE, "%s: row %zu: the model's "
                                 "logits are not finite (the inputs overflow "
                                 "model '%s'): no prediction", what, row0 + i,
                                 m->name);
    return 0;
}

int mlp_model_predict(mlp_model_t *m, const uint8_t *x8, const float *xf,
                      size_t n, const char *what, double *proba,
                      int32_t *cls)
{
    size_t in = m->ck->in, c = m->ck->out;

    for (size_t r = 0; r < n; r += m->batch) {
        size_t got = n - r < m->batch ? n - r : m->batch;
        const float *lg;
        int rc = mlp_model_logits(m, x8 != NULL ? x8 + r * in : NULL,
                                  xf != NULL ? xf + r * in : NULL, got, r,
                                  what, &lg);

        if (rc < 0)
            return rc;
        for (size_t i = 0; i < got; i++) {
            size_t k = mlp_loss_argmax(lg + i * c, c);

            if (cls != NULL)
                cls[r + i] = (int32_t)k;
            if (proba != NULL)
                mlp_model_softmax(lg + i * c, c, k, proba + (r + i) * c);
        }
    }
    return 0;
}

void mlp_model_destroy(mlp_model_t *m)
{
    if (m == NULL)
        return;
    mlp_net_destroy(m->net);
    free(m->x);
    free(m->xh);
    mlp_checkpoint_free(&m->own);
    free(m->name_own);
    free(m);
}
