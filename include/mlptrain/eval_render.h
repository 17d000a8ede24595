/*
 * eval_render: how `eval` and `predict` show a saved model's figures and
 * predictions (eval.h computes them): aligned text tables, one JSON object
 * per command (--json), the images as text pictures in the terminal, and
 * the predict PNG.  Every function writes to the stream it is given; the
 * JSON ones build their document whole with jansson (as every JSON
 * mlptrain writes is) and fail with MLP_ENOMEM or MLP_EIO; mlp_predict_png
 * fails with mlp_plot_png's errors or MLP_ENOMEM.
 *
 * model and data_dir are the names the user gave, printed as they are.
 */
#ifndef MLPTRAIN_EVAL_RENDER_H
#define MLPTRAIN_EVAL_RENDER_H

#include <stdint.h>
#include <stdio.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/dataset.h"
#include "mlptrain/eval.h"

/* "model    m.ckpt: 144-24-7 relu, 3 epochs" (+ the batches of a save
 * made mid-epoch; + ", run in bf16" when the net computes in bf16). */
void mlp_eval_print_model(FILE *out, const char *path,
                          const mlp_checkpoint_t *ck,
                          mlp_precision_t precision);

/* eval: the model, the data, the figures, the confusion matrix (rows: true
 * class, columns: predicted), per-class accuracy, then a table of per-class
 * precision, recall, F1 and samples ending with their macro averages
 * ("macro avg", all samples). */
void mlp_eval_print_text(FILE *out, const char *model, const char *data_dir,
                         const mlp_checkpoint_t *ck,
                         mlp_precision_t precision, const mlp_dataset_t *ds,
                         const mlp_eval_result_t *r,
                         const mlp_class_names_t *cn);

/* eval --json: one object on one line (loss null when not finite);
 * "products" is the precision the net ran in ("f32", "bf16"); per_class
 * objects hold "precision", "recall" and "f1", and "macro" their macro
 * averages; figures with 9 significant digits. */
int mlp_eval_print_json(FILE *out, const char *model, const char *data_dir,
                        const mlp_checkpoint_t *ck,
                        mlp_precision_t precision,
                        const mlp_eval_result_t *r,
                        const mlp_class_names_t *cn);

/* predict: the first n images of `shown` (ds->test's bytes, or with
 * --show-train the training images as the loader decodes them: a split
 * of features in [0, 1] with their identity transform; ds gives the image
 * shape and the classes) side by side in 80 columns, each under its true
 * and predicted label ('*' when wrong), then "K of n right". */
void mlp_predict_print_text(FILE *out, const mlp_dataset_t *ds,
                            const mlp_split_t *shown, size_t n,
                            const int32_t *pred, const mlp_class_names_t *cn);

/* predict --json: {"model","epochs","products","data","classes",
 * "predictions","correct"} on one line. */
int mlp_predict_print_json(FILE *out, const char *model,
                           const char *data_dir, const mlp_checkpoint_t *ck,
                           mlp_precision_t precision,
                           const mlp_dataset_t *ds,
                           const mlp_split_t *shown, size_t n,
                           const int32_t *pred,
                           const mlp_class_names_t *cn);

/* predict --png: the images in one picture, up to 10 a row, captioned
 * true over predicted (red when wrong). */
int mlp_predict_png(const char *path, const mlp_dataset_t *ds,
                    const mlp_split_t *shown, size_t n,
                    const int32_t *pred, const mlp_class_names_t *cn);

#endif
