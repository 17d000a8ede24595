/*
 * export_internal.h: what export.c, export_onnx.c and export_npz.c share
 * (not installed).
 */
#ifndef MLPTRAIN_EXPORT_INTERNAL_H
#define MLPTRAIN_EXPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/eval.h"
#include "mlptrain/outfile.h"

/* A format's encoder (mlp_export_onnx_encode, mlp_export_npz_encode). */
typedef int (*mlp_export_encode_fn)(const mlp_checkpoint_t *ck,
                                    const mlp_class_names_t *cn,
                                    uint8_t **buf, size_t *len);

/* Encode, then write atomically through outfile, checked by valid. */
int mlp_export_write(const char *path, mlp_export_encode_fn encode,
                     const mlp_checkpoint_t *ck, const mlp_class_names_t *cn,
                     mlp_out_valid_fn valid);

/*
 * Read the whole written file back (for a validator): a new malloc'd
 * buffer of *len bytes.  MLP_EIO naming path.
 */
int mlp_export_read_back(int fd, const char *path, uint8_t **buf,
                         size_t *len);

/* The activation's name as exported: "relu", "sigmoid", "tanh", or
 * "linear" without hidden layers. */
const char *mlp_export_act(const mlp_checkpoint_t *ck);

#endif
