/*
 * checkpoint: everything needed to continue a run exactly, or to evaluate
 * its model, in one self-checking file.
 *
 * A checkpoint holds the model's shape (input width, hidden widths,
 * activation, class count, and the image shape it was trained on), its
 * parameters and the optimizer state in LOGICAL layouts (per layer: weights
 * (out, in) row-major, then bias (out)), so that a file does not depend on
 * the blocked layout oneDNN picked on the machine that wrote it; the epochs
 * completed; the seed (the random state: weight init and every epoch's order
 * are functions of the seed and the epoch); and every option a resumed run
 * keeps (options.h MLP_OPT_CKPT: the model, the optimizer and its schedule,
 * the batch and micro-batch, the data's limit and scaling, --clip-grad,
 * ...) as the options text, one "name=value" line each, written with the
 * option table's formatter and read back with its parser (trainer_ckpt.c).
 * The header's fixed option fields (batch, lr, momentum, weight decay,
 * init std, training-set limit) are version 1's record of them, still
 * written and checked against the text.
 *
 * File format (all integers little-endian, floats IEEE-754 binary32 LE):
 * see doc/checkpoint-format.md, which this module
 * implements: magic "MLPTCKPT", format version, header, payload, and a
 * trailing zlib crc32 of everything before it.
 *
 * Writes are atomic, through the output door (outfile.h): a temporary file
 * PATH.tmp.XXXXXX beside the target (mkostemp), fsync, rename over the
 * target, fsync of the directory.  A crash at any moment leaves the old file
 * or the new one, never a torn one.  Loading validates everything (magic,
 * version, sizes against the file length, the checksum, sane shapes)
 * before anything is used; mlp_checkpoint_parse works on a memory buffer
 * (for the fuzz driver).
 *
 * The format (encode, parse) is checkpoint.c's, its input section
 * (transform, class names) checkpoint_input.c's, both needing only zlib;
 * the files (save, load, check_writable) are checkpoint_file.c's, through
 * outfile.h and infile.h; capture and restore, which talk to the net,
 * checkpoint_net.c's, so the fuzz driver links without oneDNN.
 *
 * Errors: MLP_EIO (open/read/write/fsync/rename), MLP_EFORMAT (bad content;
 * the message names the file and the problem), MLP_EINVAL (a checkpoint
 * that does not fit the net, data or options given), MLP_ENOMEM.
 * Thread-safe on distinct checkpoints and paths (each save makes its own
 * temporary file; saving one path from two threads at once races on the
 * rename: the last one wins).
 */
#ifndef MLPTRAIN_CHECKPOINT_H
#define MLPTRAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/net.h"
#include "mlptrain/optim.h"

#define MLP_CHECKPOINT_VERSION 3   /* written; 1, 2 and 3 are read */
#define MLP_CHECKPOINT_MAGIC "MLPTCKPT"
#define MLP_CHECKPOINT_HEADER 264  /* bytes before the options text */
#define MLP_CHECKPOINT_HEADER_V1 224 /* version 1: before the payload */
/* The most bytes of options text a checkpoint holds. */
#define MLP_CHECKPOINT_MAX_OPTIONS 65536
/* Bytes of one class name in version 3, with its NUL (dataset.h's
 * MLP_CLASS_NAME_MAX). */
#define MLP_CHECKPOINT_NAME_BYTES 64
/* The largest checkpoint mlp_checkpoint_load reads (16 GiB: 2^31
 * parameters with momentum, 2^30 with Adam's two moments); a larger
 * header is refused before reading. */
#define MLP_CHECKPOINT_MAX_BYTES ((uint64_t)16 << 30)

typedef struct {
    /* model */
    size_t in;                     /* input width = rows * cols */
    size_t out;                    /* classes */
    size_t nhidden;
    size_t hidden[MLP_MAX_HIDDEN];
    mlp_act_t act;
    size_t rows, cols;             /* image shape trained on */
    size_t ntrain;                 /* training samples per epoch */
    /* run state */
    unsigned epoch;                /* epochs completed */
    uint64_t seed;
    /* A save on interrupt, mid-epoch: training batches of epoch `epoch + 1`
     * already applied to params/state, and their loss sum and correct
     * count; all 0 at an epoch's end. */
    size_t batches_done;
    double partial_loss_sum;
    uint64_t partial_correct;
    /* version 1's record of some options (the options text holds them all
     * since version 2) */
    size_t batch;
    float lr, momentum, weight_decay, init_std;
    size_t limit_train;            /* 0: all */
    /* figures so far, for the resumed run's summary */
    double best_test_acc;
    unsigned best_epoch;           /* 0: no epoch completed */
    double final_test_acc;         /* of epoch `epoch` */
    /* version 2 */
    unsigned version;              /* of the file read (1, 2 or 3); a write
                                      is always MLP_CHECKPOINT_VERSION */
    uint64_t opt_steps;            /* optimizer steps taken (Adam's t) */
    double best_val_acc;           /* best validation accuracy so far */
    unsigned best_val_epoch;       /* its epoch; 0: none */
    double best_val_loss;          /* lowest validation loss so far */
    unsigned best_val_loss_epoch;  /* its epoch; 0: none (early stop) */
    char *options;                 /* "name=value\n" per option stored
                                      (options.h MLP_OPT_CKPT), the table's
                                      exact format; NUL after options_len;
                                      NULL in version 1 */
    size_t options_len;
    /*
     * version 3: how raw inputs become the net's inputs, and the class
     * names.  Versions 1 and 2 read as input_kind 0, no names.
     *   input_kind 0 (MLP_XFORM_U8, transform.h): bytes, x' = x / 255.0f
     *     (IDX, uint8 .npy); shift and scale are NULL.
     *   input_kind 1 (MLP_XFORM_AFFINE): real features (CSV, float
     *     .npy), x'[j] = (x[j] - shift[j]) * scale[j] in float, j < in;
     *     shift and scale are (in) finite floats (--normalize none:
     *     0 and 1).
     * class_names: nnames = 0 (classes are numbers: class k is "k"), or
     * nnames = out names, class k's at class_names[k]: NUL-terminated,
     * 1 to MLP_CHECKPOINT_NAME_BYTES - 1 bytes of UTF-8 text without
     * control characters (text.h's class-name rule), in class order (which is byte-wise sorted for names
     * from CSV labels).
     * File layout, after the options text and before the payload: u32
     * input_kind, u32 nnames, then (kind 1) in f32 shift, in f32 scale,
     * then nnames names of MLP_CHECKPOINT_NAME_BYTES bytes, NUL-padded.
     */
    unsigned input_kind;
    float *shift;                  /* (in) kind 1, else NULL */
    float *scale;                  /* (in) kind 1, else NULL */
    size_t nnames;                 /* 0 or out */
    char (*class_names)[MLP_CHECKPOINT_NAME_BYTES]; /* (nnames) */
    /* payload, logical layouts */
    size_t nparams;                /* floats in params */
    float *params;                 /* per layer: w (out, in), then b (out) */
    size_t nstate;                 /* floats in state: 0, nparams (SGD's
                                      momentum) or 2 nparams (Adam's first
                                      then second moments) */
    float *state;                  /* optimizer state, same order */
} mlp_checkpoint_t;

/*
 * Fill ck->params (and ck->state when the optimizer keeps state) from the
 * net and optimizer, and the model fields from the net's spec.  Buffers
 * from an earlier capture of the same net are reused (no allocation per
 * epoch); ck must start zeroed.  The caller fills the run fields (epoch,
 * seed, options, data shape).
 */
int mlp_checkpoint_capture(mlp_checkpoint_t *ck, mlp_net_t *net,
                           mlp_optim_t *opt);

/*
 * Load ck's parameters (and state, when opt is not NULL) into a net of the
 * same shape.  MLP_EINVAL naming the difference when shapes disagree.
 */
int mlp_checkpoint_restore(const mlp_checkpoint_t *ck, mlp_net_t *net,
                           mlp_optim_t *opt);

/* Serialise to a new malloc'd buffer.  MLP_EINVAL for a checkpoint that
 * mlp_checkpoint_parse would refuse (bad shape, non-finite values). */
int mlp_checkpoint_encode(const mlp_checkpoint_t *ck, uint8_t **buf,
                          size_t *len);
/* The same in format `version` (1, 2 or 3): version 1 (no options text,
 * no version 2 fields) and 2 (no input transform or class names) for
 * tests of old files. */
int mlp_checkpoint_encode_version(const mlp_checkpoint_t *ck,
                                  unsigned version, uint8_t **buf,
                                  size_t *len);
/* Parse and validate a buffer; `name` is used in messages.  On success *ck
 * owns new allocations (mlp_checkpoint_free); on failure it is zeroed. */
int mlp_checkpoint_parse(const uint8_t *buf, size_t len, const char *name,
                         mlp_checkpoint_t *ck);

/*
 * Encode and write atomically to `path` through a temporary file
 * "PATH.tmp.XXXXXX" (outfile.h; streamed through a staging buffer, not a
 * second copy of the parameters).  A failed write (ENOSPC, EFBIG, ...)
 * removes the temporary file and leaves `path` as it was.  A kill may
 * leave the temporary file behind; it is never read.  `path` must be
 * absent or a regular file.
 */
int mlp_checkpoint_save(const char *path, const mlp_checkpoint_t *ck);
/*
 * Check, before any work, that `path` can be saved to (mlp_out_check):
 * absent with a writable directory, or a regular file (not a symbolic
 * link, a directory or a device).  MLP_EIO naming the path and the
 * reason; an empty path MLP_EINVAL.
 */
int mlp_checkpoint_check_writable(const char *path);
/* Read and parse `path`: a regular file only (a FIFO or device is MLP_EIO
 * at once), bounded by its header (see MLP_CHECKPOINT_MAX_BYTES); MLP_EIO
 * naming the file when it cannot be read. */
int mlp_checkpoint_load(const char *path, mlp_checkpoint_t *ck);

/* Free what ck owns and zero it; safe on a zeroed struct. */
void mlp_checkpoint_free(mlp_checkpoint_t *ck);

#endif
