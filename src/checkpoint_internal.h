/*
 * checkpoint_internal: what the two files of the checkpoint module share:
 * checkpoint.c (the format: fields, validation, encode, parse) and
 * checkpoint_file.c (check_writable, save, load).  The header's byte
 * offsets, the little-endian readers, the staging writer, and the checks
 * both sides run.  Private to those two files: not in include/, not
 * installed.
 */
#ifndef MLPTRAIN_CHECKPOINT_INTERNAL_H
#define MLPTRAIN_CHECKPOINT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/net.h"

#define CK_MAX_WIDTH ((uint64_t)MLP_MAX_WIDTH) /* net.h */
#define CK_STAGE (64 * 1024)

/* Byte offsets of the header fields; doc/checkpoint-format.md lists the same. */
enum {
    OFF_MAGIC = 0,
    OFF_VERSION = 8,
    OFF_HEADER = 12,
    OFF_FILE_BYTES = 16,
    OFF_IN = 24,
    OFF_OUT = 28,
    OFF_ROWS = 32,
    OFF_COLS = 36,
    OFF_NHIDDEN = 40,
    OFF_ACT = 44,
    OFF_HIDDEN = 48, /* 16 x u32 */
    OFF_NTRAIN = 112,
    OFF_LIMIT_TRAIN = 120,
    OFF_BATCH = 128,
    OFF_SEED = 136,
    OFF_LR = 144,
    OFF_MOMENTUM = 148,
    OFF_WD = 152,
    OFF_INIT_STD = 156,
    OFF_EPOCH = 160,
    OFF_BEST_EPOCH = 164,
    OFF_BEST_ACC = 168,
    OFF_FINAL_ACC = 176,
    OFF_BATCHES_DONE = 184,
    OFF_PARTIAL_LOSS = 192,
    OFF_PARTIAL_CORRECT = 200,
    OFF_NPARAMS = 208,
    OFF_NSTATE = 216,
    OFF_PAYLOAD = 224, /* version 1: the payload; version 2: more fields */
    OFF_OPT_STEPS = 224,
    OFF_BEST_VAL_ACC = 232,
    OFF_BEST_VAL_LOSS = 240,
    OFF_BEST_VAL_EPOCH = 248,
    OFF_BEST_VAL_LOSS_EPOCH = 252,
    OFF_OPTIONS_BYTES = 256,
    OFF_OPTIONS = 264, /* version 2: the options text, then the payload */
};

static inline uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

typedef struct {
    uint8_t *stage;   /* CK_STAGE bytes */
    size_t n;         /* staged */
    uint32_t crc;     /* of everything flushed */
    int fd;           /* destination file, or -1 */
    const char *path; /* its name, for messages */
    uint8_t *mem;     /* else destination memory, large enough */
    size_t off;       /* bytes written so far */
} writer_t;

/* The header's size in a version. */
static inline size_t header_size(unsigned version)
{
    return version == 1 ? OFF_PAYLOAD : OFF_OPTIONS; /* 3: as 2 */
}

/* Room for `need` (<= CK_STAGE) more bytes in the stage; floats. */
int mlp_ck_reserve(writer_t *w, size_t need);
int mlp_ck_write_floats(writer_t *w, const float *a, size_t n);

/* Version 3's input section (checkpoint_input.c): its bytes, a check of
 * the fields (failing with `status`), its writing, and its parsing from p
 * (avail bytes before the payload; ck->in and ck->out set), with the
 * bytes it took in *used. */
size_t mlp_ck_input_bytes(const mlp_checkpoint_t *ck);
int mlp_ck_input_check(const mlp_checkpoint_t *ck, const char *name,
                       int status);
int mlp_ck_input_write(writer_t *w, const mlp_checkpoint_t *ck);
int mlp_ck_input_parse(const uint8_t *p, size_t avail, const char *name,
                       mlp_checkpoint_t *ck, size_t *used);

/* (in + 1) * out summed over the layers; 0 on a bad shape. */
uint64_t mlp_ck_shape_nparams(const mlp_checkpoint_t *ck);

/*
 * The version and header size of a file's first `len` bytes (the magic
 * checked): 0, or MLP_EFORMAT naming what is wrong.
 */
int mlp_ck_check_version(const uint8_t *buf, size_t len, const char *name,
                         uint32_t *version);

/* What encode and save accept in `version`: valid fields and finite
 * payload; MLP_EINVAL naming `name` otherwise. */
int mlp_ck_check_encodable(const mlp_checkpoint_t *ck, unsigned version,
                           const char *name);

/*
 * Header, options, payload and checksum through w (its stage, crc and
 * destination set), in format `version`.  Writing to memory cannot fail;
 * to a descriptor, MLP_EIO naming w->path.
 */
int mlp_ck_write_all(writer_t *w, const mlp_checkpoint_t *ck,
                     unsigned version);

#endif
