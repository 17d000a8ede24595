/*
 * transform: the input scaling a model applies to raw features, the same
 * in training, eval, predict and export.
 *
 *   MLP_XFORM_U8      bytes (IDX, .npy uint8): x' = (float)x / 255.0f,
 *                     exactly as mlptrain always decoded images.
 *   MLP_XFORM_AFFINE  real features (CSV, .npy float32/float64):
 *                     x'[j] = (x[j] - shift[j]) * scale[j], in float.
 *
 * The affine parameters come from the training rows actually trained on
 * (after --limit-train and the --val hold-out), by --normalize:
 *   none      shift 0, scale 1 (x' = x exactly)
 *   minmax    shift = min_j, scale = 1 / (max_j - min_j)   (x' in [0, 1])
 *   standard  shift = mean_j, scale = 1 / std_j (population std) (default)
 * computed in double and rounded to float.  A constant column -- one
 * whose spread (max - min for minmax, the standard deviation for
 * standard) is below MLP_TRANSFORM_MIN_SPREAD, FLT_MIN (about 1.18e-38,
 * the smallest normal float), so that 1 / spread is always a finite
 * float -- gets scale 1, alike for both: a column of 0 and 1e-39 is
 * constant, not scaled by infinity.  A column whose values less the
 * shift overflow a float (minmax over -3e38 to 3e38) is refused
 * (MLP_ERANGE naming the feature): its training rows could not be
 * scaled.  Standard is the default for real features: it
 * gives every feature the same scale whatever its units, as an MLP with
 * one learning rate needs, and one outlier does not squash a column the
 * way it does with minmax.
 *
 * Thread-safe (pure functions over the caller's arrays; an error sets
 * the thread's message).
 */
#ifndef MLPTRAIN_TRANSFORM_H
#define MLPTRAIN_TRANSFORM_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#include "mlptrain/bf16.h"

typedef enum { MLP_XFORM_U8 = 0, MLP_XFORM_AFFINE = 1 } mlp_xform_kind_t;

typedef enum {
    MLP_NORM_AUTO = 0,   /* standard for real features; bytes: x / 255 */
    MLP_NORM_NONE, MLP_NORM_MINMAX, MLP_NORM_STANDARD
} mlp_norm_t;

/* The --normalize names, indexed by mlp_norm_t ("auto" first). */
extern const char *const mlp_norm_names[];

/* The smallest spread a feature is scaled by (see above). */
#define MLP_TRANSFORM_MIN_SPREAD FLT_MIN

/* The bytes' transform: dst[j] = (float)src[j] / 255.0f for j < n (a
 * correctly rounded division: the same bits wherever it runs). */
void mlp_transform_u8(const uint8_t *src, size_t n, float *dst);
/* The same rounded to bf16: mlp_bf16_round of each value above. */
void mlp_transform_u8_bf16(const uint8_t *src, size_t n, mlp_bf16_t *dst);

/* Real features in memory, n rows of dim: 0 when every value is finite,
 * else MLP_EINVAL "what: row R, column C is NaN (infinite): features must
 * be finite", R counted from row0 (the file readers check theirs as they
 * parse them). */
int mlp_transform_check_finite(const float *x, size_t n, size_t dim,
                               size_t row0, const char *what);

/* Fit shift and scale (each (dim)) on n rows of x (n, dim).  MLP_ERANGE
 * (naming the feature) when a column's values less its shift overflow a
 * float. */
int mlp_transform_fit(mlp_norm_t norm, const float *x, size_t n,
                      size_t dim, float *shift, float *scale);

/* out[j] = (x[j] - shift[j]) * scale[j] for j < dim. */
void mlp_transform_affine(const float *x, const float *shift,
                          const float *scale, size_t dim, float *out);
/* The same rounded to bf16: mlp_bf16_round of each value above. */
void mlp_transform_affine_bf16(const float *x, const float *shift,
                               const float *scale, size_t dim,
                               mlp_bf16_t *out);

#endif
