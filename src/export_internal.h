/*
 * export_internal.h: what export.c, export_onnx.c and export_npz.c share
 * (not installed).
 */
#ifndef MLPTRAIN_EXPORT_INTERNAL_H
#define MLPTRAIN_EXPORT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/checkpoint.h"

/* A buffer to write through outfile (its fill callback's argument). */
typedef struct {
    const uint8_t *buf;
    size_t len;
} mlp_export_bytes_t;

/* outfile's fill: write the whole buffer to fd. */
int mlp_export_fill(int fd, const char *tmp, void *arg);

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
