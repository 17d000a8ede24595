/*
 * export: a saved model in the formats other tools read -- ONNX (for
 * onnxruntime and every runtime that takes ONNX) and NumPy's .npz (for
 * NumPy and PyTorch users).
 *
 * Both files hold the same model, read from a checkpoint (checkpoint.h)
 * without building a net: the checkpoint's parameters are already in
 * logical layouts, per layer W (out, in) row-major and b (out), which is
 * PyTorch's nn.Linear layout and ONNX Gemm's B with transB = 1.  The
 * input transform x' = (x - shift[j]) * scale[j] (mlp_export_transform)
 * goes with them, so that raw inputs -- uint8-range pixels today -- go in
 * exactly as mlptrain takes them.
 *
 * ONNX (mlp_export_onnx_encode): IR version 7, opset 13 of the default
 * domain; producer "mlptrain" and its version; input "input" float32
 * [batch, in] (batch symbolic); nodes Sub(input, shift), Mul(., scale),
 * then per layer Gemm(., W, b, transB = 1) and the activation (Relu,
 * Sigmoid or Tanh) between layers; outputs "logits" [batch, C] and
 * "probabilities" = Softmax(logits, axis = 1) [batch, C].  The model's
 * doc_string and metadata_props carry the shape, the activation, the
 * transform and the class names (metadata key "class_names": a JSON
 * array).  The file is generated C from Debian's onnx.proto (protobuf-c).
 *
 * NPZ (mlp_export_npz_encode): a zip of .npy files (format 1.0, headers
 * padded to 64 bytes) that numpy.load reads with allow_pickle=False:
 * W0, b0, W1, b1, ... ('<f4'; W as (out, in)), shift and scale ('<f4',
 * (in,)), sizes ('<i8': in, hidden..., C), activation ('<U', a 0-d
 * string: "relu", "sigmoid", "tanh"; "linear" without hidden layers) and
 * class_names ('<U', (C,)).
 *
 * Writes go through outfile (outfile.h): atomic, regular files only.
 *
 * Errors: MLP_EINVAL (a checkpoint whose parameters do not match its shape,
 * class names that are not UTF-8, an output that is the model itself),
 * MLP_EIO (a target that is not a regular file; cannot write), MLP_ENOMEM;
 * MLP_EUSAGE for an empty output name.  Thread-safe on distinct
 * checkpoints and paths.
 */
#ifndef MLPTRAIN_EXPORT_H
#define MLPTRAIN_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/eval.h"

/* ONNX versions written: the opset, and the IR version it came with. */
#define MLP_EXPORT_ONNX_OPSET 13
#define MLP_EXPORT_ONNX_IR 7

/* A checkpoint's layers as views into ck->params (not owned). */
typedef struct {
    size_t nlayers;                     /* nhidden + 1 */
    size_t in[MLP_MAX_HIDDEN + 1];      /* layer l maps in[l] ... */
    size_t out[MLP_MAX_HIDDEN + 1];     /* ... to out[l] values */
    const float *w[MLP_MAX_HIDDEN + 1]; /* (out[l], in[l]) row-major */
    const float *b[MLP_MAX_HIDDEN + 1]; /* (out[l]) */
} mlp_export_layers_t;

/*
 * The layers of ck.  MLP_EINVAL when ck->nparams is not what its shape
 * needs (a checkpoint built by hand: a parsed one always fits).
 */
int mlp_export_layers(const mlp_checkpoint_t *ck, mlp_export_layers_t *L);

/*
 * THE input transform of a checkpoint's model: the model takes
 * x'[j] = (x[j] - shift[j]) * scale[j] of a raw sample x; shift and scale
 * have ck->in entries each (the caller's).  Every exported file and every
 * test takes it from here.  Today (checkpoint versions 1 and 2: uint8
 * pixels, decoded p / 255 by the loader) shift 0 and scale 1 / 255 in
 * float32 (p * scale is within 1 ulp of p / 255).  Cannot fail today;
 * returns a status for the formats to come.
 */
int mlp_export_transform(const mlp_checkpoint_t *ck, float *shift,
                         float *scale);

/*
 * The class names of ck's model: `list` (comma-separated, as eval's
 * --class-names) when not NULL, else the names the checkpoint holds, else
 * "0".."C-1".  MLP_EUSAGE as mlp_eval_class_names.  *cn is the caller's
 * (mlp_class_names_free).
 */
int mlp_export_class_names(const mlp_checkpoint_t *ck, const char *list,
                           mlp_class_names_t *cn);

/*
 * The .npy (format 1.0) header of an array: magic, version, header length
 * and the dict, padded with spaces and a newline to a multiple of 64 bytes.
 * descr: "<f4", "<i8", "<U7", ...; ndim <= 8 (0: a scalar).  Into buf
 * (len bytes), *hlen set.  MLP_EINVAL when it does not fit buf or 65535
 * bytes.
 */
int mlp_export_npy_header(const char *descr, const size_t *shape,
                          size_t ndim, uint8_t *buf, size_t len,
                          size_t *hlen);

/*
 * The ONNX model (a serialised ModelProto) and the .npz archive of ck with
 * class names cn (cn->n == ck->out), in new malloc'd buffers.  Errors: see
 * above.
 */
int mlp_export_onnx_encode(const mlp_checkpoint_t *ck,
                           const mlp_class_names_t *cn, uint8_t **buf,
                           size_t *len);
int mlp_export_npz_encode(const mlp_checkpoint_t *ck,
                          const mlp_class_names_t *cn, uint8_t **buf,
                          size_t *len);

/*
 * Check that `path` may be written and is not the model `model_path` (nor
 * `other`, the other output, when not NULL): before any work.  MLP_EIO /
 * MLP_EUSAGE naming the option (opt: "--onnx").
 */
int mlp_export_check_output(const char *path, const char *opt,
                            const char *model_path, const char *other,
                            const char *other_opt);

/*
 * Encode and write atomically (outfile) to path.  The written file is
 * read back and checked (ONNX: it parses as a ModelProto; npz: a zip
 * archive's signature).
 */
int mlp_export_onnx(const mlp_checkpoint_t *ck, const mlp_class_names_t *cn,
                    const char *path);
int mlp_export_npz(const mlp_checkpoint_t *ck, const mlp_class_names_t *cn,
                   const char *path);

#endif
