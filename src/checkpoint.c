/*
 * checkpoint: the file format, its validation, encoding and parsing (see
 * checkpoint.h and doc/checkpoint-format.md).
 *
 * One writer serves both the memory encoder and the file writer: fields go
 * through a 64 KiB staging buffer that is checksummed and then copied to
 * memory or written to a file descriptor, so a save never holds a second
 * copy of the parameters.  Every integer and float is put byte by byte in
 * little-endian order, whatever the host.
 *
 * Parsing trusts nothing it has not checked: the fixed header first (magic,
 * version, header size, file size against the buffer length), then the
 * checksum, then every field, and only then allocates (the payload size is
 * bounded by the buffer length).  Encoding refuses what parsing would
 * refuse, so a file we write always loads.
 *
 * Version 1 files (before the options text) are read as they are and
 * written only on request (mlp_checkpoint_encode_version, for tests).
 *
 * Files (the writable check, the atomic save through this writer, the
 * bounded load) are checkpoint_file.c's; what both share (the header's
 * offsets, the writer, the checks) is in checkpoint_internal.h.  This file
 * opens no file (the writer writes to a descriptor it is given), so the
 * fuzz driver links it with error.c alone.
 *
 * Non-goals: opening, reading or replacing files (checkpoint_file.c),
 * talking to the net (checkpoint_net.c), the meaning of the options text
 * (the trainer reads it with the options table), portability to non-IEEE
 * floats.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "mlptrain/checkpoint.h"
#include "mlptrain/error.h"
#include "checkpoint_internal.h"

#define CK_MAX_BATCH ((uint64_t)1 << 24)
#define CK_NACTS 3                       /* relu, sigmoid, tanh */

_Static_assert(OFF_PAYLOAD == MLP_CHECKPOINT_HEADER_V1, "header size");
_Static_assert(OFF_OPTIONS == MLP_CHECKPOINT_HEADER, "header size");
_Static_assert(MLP_MAX_HIDDEN == 16, "the format holds 16 hidden widths");

/*
 * The header's plain fields, written and read alike: X(offset name, type,
 * member of mlp_checkpoint_t).  The envelope (magic, version, sizes), the
 * hidden widths, the counts and the options text have their own code.
 */
#define V1_FIELDS(X) \
    X(IN, u32, in) X(OUT, u32, out) X(ROWS, u32, rows) X(COLS, u32, cols) \
    X(NHIDDEN, u32, nhidden) X(ACT, u32, act) X(NTRAIN, u64, ntrain) \
    X(LIMIT_TRAIN, u64, limit_train) X(BATCH, u64, batch) \
    X(SEED, u64, seed) X(LR, f32, lr) X(MOMENTUM, f32, momentum) \
    X(WD, f32, weight_decay) X(INIT_STD, f32, init_std) \
    X(EPOCH, u32, epoch) X(BEST_EPOCH, u32, best_epoch) \
    X(BEST_ACC, f64, best_test_acc) X(FINAL_ACC, f64, final_test_acc) \
    X(BATCHES_DONE, u64, batches_done) \
    X(PARTIAL_LOSS, f64, partial_loss_sum) \
    X(PARTIAL_CORRECT, u64, partial_correct)
#define V2_FIELDS(X) \
    X(OPT_STEPS, u64, opt_steps) X(BEST_VAL_ACC, f64, best_val_acc) \
    X(BEST_VAL_LOSS, f64, best_val_loss) \
    X(BEST_VAL_EPOCH, u32, best_val_epoch) \
    X(BEST_VAL_LOSS_EPOCH, u32, best_val_loss_epoch)
#define PUT_FIELD(off, type, member) put_##type(h + OFF_##off, ck->member);
#define GET_FIELD(off, type, member) ck->member = get_##type(buf + OFF_##off);

/* ---- little-endian fields ------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_f32(uint8_t *p, float f)
{
    uint32_t v;

    memcpy(&v, &f, 4);
    put_u32(p, v);
}

static void put_f64(uint8_t *p, double d)
{
    uint64_t v;

    memcpy(&v, &d, 8);
    put_u64(p, v);
}

static float get_f32(const uint8_t *p)
{
    uint32_t v = get_u32(p);
    float f;

    memcpy(&f, &v, 4);
    return f;
}

static double get_f64(const uint8_t *p)
{
    uint64_t v = get_u64(p);
    double d;

    memcpy(&d, &v, 8);
    return d;
}


/* ---- validation ----------------------------------------------------- */

/* (in + 1) * out summed over the layers; 0 on a bad shape. */
uint64_t mlp_ck_shape_nparams(const mlp_checkpoint_t *ck)
{
    uint64_t n = 0, in = ck->in;

    for (size_t l = 0; l <= ck->nhidden; l++) {
        uint64_t out = l < ck->nhidden ? ck->hidden[l] : ck->out;

        n += (in + 1) * out; /* <= 2^48 per layer, 17 layers: no overflow */
        in = out;
    }
    return n;
}

static int finite_array(const float *a, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a[i])) {
            *bad = i;
            return 0;
        }
    return 1;
}

/*
 * The options text of version 2: at most MLP_CHECKPOINT_MAX_OPTIONS bytes
 * of lines "name=value\n", names of [a-z0-9-], values of printable ASCII.
 */
static int check_options_text(const char *t, size_t n, const char *name,
                              int status)
{
    size_t line = 1;

    if (n > MLP_CHECKPOINT_MAX_OPTIONS)
        return mlp_error_set(status, "%s: %zu bytes of options text; a "
                             "checkpoint holds at most %d",
                             name, n, MLP_CHECKPOINT_MAX_OPTIONS);
    if (n > 0 && t == NULL)
        return mlp_error_set(status, "%s: no options text", name);
    for (size_t i = 0; i < n; line++) {
        size_t k = i;

        while (k < n && ((t[k] >= 'a' && t[k] <= 'z') ||
                         (t[k] >= '0' && t[k] <= '9') || t[k] == '-'))
            k++;
        if (k == i || k == n || t[k] != '=')
            return mlp_error_set(status, "%s: options line %zu: expected "
                                 "name=value", name, line);
        while (++k < n && t[k] != '\n')
            if (t[k] < 0x20 || t[k] > 0x7e)
                return mlp_error_set(status, "%s: options line %zu: a "
                                     "byte that is not printable ASCII",
                                     name, line);
        if (k == n)
            return mlp_error_set(status, "%s: options line %zu is not "
                                 "ended by a newline", name, line);
        i = k + 1;
    }
    return 0;
}

/*
 * Every field of ck but the payload arrays against the rules of the
 * format; `status` is what a violation returns (MLP_EFORMAT when parsing,
 * MLP_EINVAL when encoding), the message starts with `name`.
 */
static int check_fields(const mlp_checkpoint_t *ck, const char *name,
                        int status)
{
    uint64_t nb;

    if (ck->nhidden > MLP_MAX_HIDDEN)
        return mlp_error_set(status, "%s: %zu hidden layers, at most %d",
                             name, ck->nhidden, MLP_MAX_HIDDEN);
    for (size_t i = 0; i < ck->nhidden; i++)
        if (ck->hidden[i] == 0 || ck->hidden[i] > CK_MAX_WIDTH)
            return mlp_error_set(status,
                                 "%s: hidden layer %zu has width %zu, not in "
                                 "[1, %llu]",
                                 name, i + 1, ck->hidden[i],
                                 (unsigned long long)CK_MAX_WIDTH);
    if ((unsigned)ck->act >= CK_NACTS)
        return mlp_error_set(status, "%s: unknown activation %u", name,
                             (unsigned)ck->act);
    if (ck->rows == 0 || ck->cols == 0 || ck->rows > CK_MAX_WIDTH ||
        ck->cols > CK_MAX_WIDTH || ck->in != ck->rows * ck->cols ||
        ck->in > CK_MAX_WIDTH)
        return mlp_error_set(status,
                             "%s: input width %zu does not match %zu x %zu "
                             "images (or is above %llu)",
                             name, ck->in, ck->rows, ck->cols,
                             (unsigned long long)CK_MAX_WIDTH);
    if (ck->out < 2 || ck->out > CK_MAX_WIDTH)
        return mlp_error_set(status, "%s: %zu classes, not in [2, %llu]",
                             name, ck->out, (unsigned long long)CK_MAX_WIDTH);
    if (ck->batch == 0 || ck->batch > CK_MAX_BATCH)
        return mlp_error_set(status, "%s: batch size %zu not in [1, %llu]",
                             name, ck->batch,
                             (unsigned long long)CK_MAX_BATCH);
    if (ck->ntrain == 0 || (ck->limit_train > 0 &&
                            ck->ntrain > ck->limit_train))
        return mlp_error_set(status,
                             "%s: %zu training samples with a limit of %zu",
                             name, ck->ntrain, ck->limit_train);
    if (!(ck->lr > 0.0f) || !isfinite(ck->lr))
        return mlp_error_set(status, "%s: learning rate %g", name,
                             (double)ck->lr);
    if (!(ck->momentum >= 0.0f && ck->momentum < 1.0f))
        return mlp_error_set(status, "%s: momentum %g not in [0, 1)", name,
                             (double)ck->momentum);
    if (!(ck->weight_decay >= 0.0f) || !isfinite(ck->weight_decay))
        return mlp_error_set(status, "%s: weight decay %g", name,
                             (double)ck->weight_decay);
    if (!(ck->init_std >= 0.0f) || !isfinite(ck->init_std))
        return mlp_error_set(status, "%s: init std %g", name,
                             (double)ck->init_std);
    if (ck->best_epoch > ck->epoch || (ck->epoch == 0) != (ck->best_epoch == 0))
        return mlp_error_set(status, "%s: best epoch %u of %u epochs", name,
                             ck->best_epoch, ck->epoch);
    if (!(ck->best_test_acc >= 0.0 && ck->best_test_acc <= 1.0) ||
        !(ck->final_test_acc >= 0.0 && ck->final_test_acc <= 1.0))
        return mlp_error_set(status, "%s: test accuracy %g or %g not in "
                             "[0, 1]", name, ck->best_test_acc,
                             ck->final_test_acc);
    nb = ck->ntrain / ck->batch + (ck->ntrain % ck->batch != 0);
    if (ck->batches_done > nb ||
        ck->partial_correct > (uint64_t)ck->ntrain ||
        !(ck->partial_loss_sum >= 0.0) || !isfinite(ck->partial_loss_sum) ||
        (ck->batches_done == 0 &&
         (ck->partial_correct != 0 || ck->partial_loss_sum != 0.0)))
        return mlp_error_set(status,
                             "%s: partial epoch of %zu batches (of %llu), "
                             "loss sum %g, %llu correct is inconsistent",
                             name, ck->batches_done, (unsigned long long)nb,
                             ck->partial_loss_sum,
                             (unsigned long long)ck->partial_correct);
    if (ck->nparams != mlp_ck_shape_nparams(ck))
        return mlp_error_set(status,
                             "%s: %zu parameters, the shape has %llu", name,
                             ck->nparams,
                             (unsigned long long)mlp_ck_shape_nparams(ck));
    if (ck->version == 1 && ck->nstate != (ck->momentum > 0.0f ? ck->nparams
                                                               : 0))
        return mlp_error_set(status,
                             "%s: %zu optimizer state values, momentum %g "
                             "needs %zu",
                             name, ck->nstate, (double)ck->momentum,
                             ck->momentum > 0.0f ? ck->nparams : 0);
    if (ck->nstate != 0 && ck->nstate != ck->nparams &&
        ck->nstate / 2 != ck->nparams)
        return mlp_error_set(status,
                             "%s: %zu optimizer state values for %zu "
                             "parameters (0, 1 or 2 per parameter)",
                             name, ck->nstate, ck->nparams);
    if (ck->best_val_epoch > ck->epoch || ck->best_val_loss_epoch > ck->epoch ||
        !(ck->best_val_acc >= 0.0 && ck->best_val_acc <= 1.0) ||
        !(ck->best_val_loss >= 0.0) || !isfinite(ck->best_val_loss))
        return mlp_error_set(status,
                             "%s: validation figures (best accuracy %g at "
                             "epoch %u, best loss %g at epoch %u) do not fit "
                             "%u epochs",
                             name, ck->best_val_acc, ck->best_val_epoch,
                             ck->best_val_loss, ck->best_val_loss_epoch,
                             ck->epoch);
    return check_options_text(ck->options, ck->options_len, name, status);
}

/* ---- the writer ----------------------------------------------------- */

/* Write n bytes to the destination; no checksum. */
static int write_out(writer_t *w, const uint8_t *p, size_t n)
{
    if (w->fd < 0) {
        memcpy(w->mem + w->off, p, n);
        w->off += n;
        return 0;
    }
    while (n > 0) {
        ssize_t k = write(w->fd, p, n);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return mlp_error_set(MLP_EIO, "cannot write '%s': %s", w->path,
                                 k < 0 ? strerror(errno) : "no progress");
        p += k;
        n -= (size_t)k;
        w->off += (size_t)k;
    }
    return 0;
}

/* Checksum the staged bytes and write them out. */
static int flush_stage(writer_t *w)
{
    int rc;

    w->crc = (uint32_t)crc32_z(w->crc, w->stage, w->n);
    rc = write_out(w, w->stage, w->n);
    w->n = 0;
    return rc;
}

/* Room for `need` (<= CK_STAGE) more bytes in the stage. */
int mlp_ck_reserve(writer_t *w, size_t need)
{
    return w->n + need > CK_STAGE ? flush_stage(w) : 0;
}

int mlp_ck_write_floats(writer_t *w, const float *a, size_t n)
{
    int rc;

    for (size_t i = 0; i < n; i++) {
        if ((rc = mlp_ck_reserve(w, 4)) < 0)
            return rc;
        put_f32(w->stage + w->n, a[i]);
        w->n += 4;
    }
    return 0;
}

static size_t encoded_size(const mlp_checkpoint_t *ck, unsigned version)
{
    return header_size(version) + (version == 1 ? 0 : ck->options_len) +
           (version >= 3 ? mlp_ck_input_bytes(ck) : 0) +
           4 * (ck->nparams + ck->nstate) + 4;
}

/* Header, options, payload and checksum through w, in format `version`. */
int mlp_ck_write_all(writer_t *w, const mlp_checkpoint_t *ck,
                     unsigned version)
{
    uint8_t *h = w->stage, crc[4];
    int rc;

    memset(h, 0, OFF_OPTIONS);
    memcpy(h + OFF_MAGIC, MLP_CHECKPOINT_MAGIC, 8);
    put_u32(h + OFF_VERSION, version);
    put_u32(h + OFF_HEADER, (uint32_t)header_size(version));
    put_u64(h + OFF_FILE_BYTES, encoded_size(ck, version));
    V1_FIELDS(PUT_FIELD)
    for (size_t i = 0; i < ck->nhidden; i++)
        put_u32(h + OFF_HIDDEN + 4 * i, (uint32_t)ck->hidden[i]);
    put_u64(h + OFF_NPARAMS, ck->nparams);
    put_u64(h + OFF_NSTATE, ck->nstate);
    w->n = header_size(version);
    if (version >= 2) {
        V2_FIELDS(PUT_FIELD)
        put_u64(h + OFF_OPTIONS_BYTES, ck->options_len);
        for (size_t i = 0; i < ck->options_len; i++) {
            if ((rc = mlp_ck_reserve(w, 1)) < 0)
                return rc;
            w->stage[w->n++] = (uint8_t)ck->options[i];
        }
    }
    if (version >= 3 && (rc = mlp_ck_input_write(w, ck)) < 0)
        return rc;
    if ((rc = mlp_ck_write_floats(w, ck->params, ck->nparams)) < 0 ||
        (rc = mlp_ck_write_floats(w, ck->state, ck->nstate)) < 0 ||
        (rc = flush_stage(w)) < 0)
        return rc;
    put_u32(crc, w->crc);
    return write_out(w, crc, 4);
}

/* What encode and save accept in `version`: valid fields and finite
 * payload. */
int mlp_ck_check_encodable(const mlp_checkpoint_t *ck, unsigned version,
                           const char *name)
{
    mlp_checkpoint_t as = *ck;
    size_t bad;
    int rc;

    if (version < 1 || version > MLP_CHECKPOINT_VERSION)
        return mlp_error_set(MLP_EINVAL, "%s: no format version %u", name,
                             version);
    if (version == 1 && (ck->options_len > 0 || ck->opt_steps > 0 ||
                         ck->best_val_epoch > 0 ||
                         ck->best_val_loss_epoch > 0))
        return mlp_error_set(MLP_EINVAL, "%s: format version 1 holds no "
                             "options text, optimizer steps or validation "
                             "figures", name);
    if (version < 3 && (ck->input_kind != 0 || ck->nnames != 0))
        return mlp_error_set(MLP_EINVAL, "%s: format version %u holds no "
                             "input transform or class names", name,
                             version);
    as.version = version;
    if ((rc = check_fields(&as, name, MLP_EINVAL)) < 0 ||
        (rc = mlp_ck_input_check(ck, name, MLP_EINVAL)) < 0)
        return rc;
    if (ck->params == NULL || (ck->nstate > 0 && ck->state == NULL))
        return mlp_error_set(MLP_EINVAL, "%s: no parameters to write", name);
    if (!finite_array(ck->params, ck->nparams, &bad))
        return mlp_error_set(MLP_EINVAL, "%s: parameter %zu is not finite",
                             name, bad);
    if (!finite_array(ck->state, ck->nstate, &bad))
        return mlp_error_set(MLP_EINVAL,
                             "%s: optimizer state value %zu is not finite",
                             name, bad);
    return 0;
}

int mlp_checkpoint_encode(const mlp_checkpoint_t *ck, uint8_t **buf,
                          size_t *len)
{
    return mlp_checkpoint_encode_version(ck, MLP_CHECKPOINT_VERSION, buf,
                                         len);
}

int mlp_checkpoint_encode_version(const mlp_checkpoint_t *ck,
                                  unsigned version, uint8_t **buf,
                                  size_t *len)
{
    writer_t w;
    int rc;

    *buf = NULL;
    *len = 0;
    if ((rc = mlp_ck_check_encodable(ck, version, "checkpoint")) < 0)
        return rc;
    memset(&w, 0, sizeof(w));
    w.fd = -1;
    w.crc = (uint32_t)crc32_z(0L, Z_NULL, 0);
    w.stage = malloc(CK_STAGE);
    w.mem = malloc(encoded_size(ck, version));
    if (w.stage == NULL || w.mem == NULL) {
        free(w.stage);
        free(w.mem);
        return mlp_error_set(MLP_ENOMEM,
                             "checkpoint: out of memory for %zu bytes",
                             encoded_size(ck, version));
    }
    rc = mlp_ck_write_all(&w, ck, version); /* memory: cannot fail */
    free(w.stage);
    *buf = w.mem;
    *len = w.off;
    return rc;
}

/* ---- parsing -------------------------------------------------------- */

static int read_floats(const uint8_t *p, size_t n, float **out)
{
    float *a;

    *out = NULL;
    if (n == 0)
        return 0;
    if (!(a = malloc(n * sizeof(float))))
        return MLP_ENOMEM;
    for (size_t i = 0; i < n; i++)
        a[i] = get_f32(p + 4 * i);
    *out = a;
    return 0;
}

/*
 * The version and header size of a file's first `len` bytes (the magic
 * checked): 0, or MLP_EFORMAT naming what is wrong.
 */
int mlp_ck_check_version(const uint8_t *buf, size_t len, const char *name,
                         uint32_t *version)
{
    uint32_t hdr;

    if (len < OFF_HEADER + 4)
        return mlp_error_set(MLP_EFORMAT,
                             "%s: truncated: %zu bytes, a checkpoint has at "
                             "least %d",
                             name, len, OFF_PAYLOAD + 4);
    *version = get_u32(buf + OFF_VERSION);
    if (*version < 1 || *version > MLP_CHECKPOINT_VERSION)
        return mlp_error_set(MLP_EFORMAT,
                             "%s: checkpoint format version %u; this "
                             "mlptrain reads versions 1 to %d",
                             name, *version, MLP_CHECKPOINT_VERSION);
    hdr = get_u32(buf + OFF_HEADER);
    if (hdr != header_size(*version))
        return mlp_error_set(MLP_EFORMAT,
                             "%s: header of %u bytes; version %u has %zu",
                             name, hdr, *version, header_size(*version));
    if (len < hdr + 4)
        return mlp_error_set(MLP_EFORMAT,
                             "%s: truncated: %zu bytes, a checkpoint has at "
                             "least %zu",
                             name, len, (size_t)hdr + 4);
    return 0;
}

int mlp_checkpoint_parse(const uint8_t *buf, size_t len, const char *name,
                         mlp_checkpoint_t *ck)
{
    size_t min;
    uint64_t file_bytes, np, ns, no = 0;
    uint32_t version, stored, crc;
    size_t bad;
    int rc;

    memset(ck, 0, sizeof(*ck));
    if (name == NULL)
        name = "<buffer>";
    if (len == 0)
        return mlp_error_set(MLP_EFORMAT, "%s: empty file", name);
    if (memcmp(buf, MLP_CHECKPOINT_MAGIC, len < 8 ? len : 8) != 0)
        return mlp_error_set(MLP_EFORMAT,
                             "%s: not an mlptrain checkpoint (bad magic)",
                             name);
    if ((rc = mlp_ck_check_version(buf, len, name, &version)) < 0)
        return rc;
    min = header_size(version) + 4;
    file_bytes = get_u64(buf + OFF_FILE_BYTES);
    if (file_bytes > len)
        return mlp_error_set(MLP_EFORMAT,
                             "%s: truncated: %zu bytes, the header says %llu",
                             name, len, (unsigned long long)file_bytes);
    if (file_bytes < len)
        return mlp_error_set(MLP_EFORMAT,
                             "%s: %llu bytes of trailing data: the header "
                             "says %llu bytes",
                             name, (unsigned long long)(len - file_bytes),
                             (unsigned long long)file_bytes);
    stored = get_u32(buf + len - 4);
    crc = (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), buf, len - 4);
    if (stored != crc)
        return mlp_error_set(MLP_EFORMAT,
                             "%s: checksum mismatch (stored %08x, computed "
                             "%08x): the file is corrupt",
                             name, stored, crc);

    /* Sizes against the length before anything is allocated. */
    np = get_u64(buf + OFF_NPARAMS);
    ns = get_u64(buf + OFF_NSTATE);
    if (version >= 2 &&
        (no = get_u64(buf + OFF_OPTIONS_BYTES)) > MLP_CHECKPOINT_MAX_OPTIONS)
        return mlp_error_set(MLP_EFORMAT,
                             "%s: %llu bytes of options text; a checkpoint "
                             "holds at most %d", name,
                             (unsigned long long)no,
                             MLP_CHECKPOINT_MAX_OPTIONS);
    if (no > len - min || np > (len - min - no) / 4 ||
        ns > (len - min - no) / 4 - np ||
        (version < 3 && min + no + 4 * (np + ns) != len))
        return mlp_error_set(MLP_EFORMAT,
                             "%s: %llu parameters, %llu state values and "
                             "%llu bytes of options do not fill the %zu "
                             "bytes of the file",
                             name, (unsigned long long)np,
                             (unsigned long long)ns, (unsigned long long)no,
                             len);
    min += no; /* the payload starts at min - 4 */
    ck->version = version;
    if (version >= 3) {
        size_t used;

        ck->in = get_u32(buf + OFF_IN);
        ck->out = get_u32(buf + OFF_OUT);
        if ((rc = mlp_ck_input_parse(buf + min - 4,
                                     len - min - 4 * (np + ns), name, ck,
                                     &used)) < 0)
            goto fail;
        if (used != len - min - 4 * (np + ns)) {
            rc = mlp_error_set(MLP_EFORMAT, "%s: %llu parameters, %llu "
                               "state values, %llu bytes of options and %zu "
                               "of inputs do not fill the %zu bytes of the "
                               "file", name, (unsigned long long)np,
                               (unsigned long long)ns,
                               (unsigned long long)no, used, len);
            goto fail;
        }
        min += used;
    }

    V1_FIELDS(GET_FIELD)
    for (size_t i = 0; i < MLP_MAX_HIDDEN; i++) {
        uint32_t h = get_u32(buf + OFF_HIDDEN + 4 * i);

        if (i >= ck->nhidden && h != 0) {
            rc = mlp_error_set(MLP_EFORMAT,
                               "%s: width %u given for hidden layer %zu of "
                               "%zu",
                               name, h, i + 1, ck->nhidden);
            goto fail;
        }
        ck->hidden[i] = h;
    }
    ck->nparams = np;
    ck->nstate = ns;
    if (version >= 2) {
        V2_FIELDS(GET_FIELD)
        ck->options_len = no;
        if ((ck->options = malloc(no + 1)) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "out of memory");
            goto fail;
        }
        memcpy(ck->options, buf + OFF_OPTIONS, no);
        ck->options[no] = '\0';
    }
    if ((rc = check_fields(ck, name, MLP_EFORMAT)) < 0)
        goto fail;
    /* A model too large for the host's size_t cannot be held anyway. */
    if (read_floats(buf + min - 4, ck->nparams, &ck->params) < 0 ||
        read_floats(buf + min - 4 + 4 * np, ck->nstate, &ck->state) < 0) {
        rc = mlp_error_set(MLP_ENOMEM, "%s: out of memory for %llu values",
                           name, (unsigned long long)(np + ns));
        goto fail;
    }
    if (!finite_array(ck->params, ck->nparams, &bad)) {
        rc = mlp_error_set(MLP_EFORMAT, "%s: parameter %zu is not finite",
                           name, bad);
        goto fail;
    }
    if (!finite_array(ck->state, ck->nstate, &bad)) {
        rc = mlp_error_set(MLP_EFORMAT,
                           "%s: optimizer state value %zu is not finite",
                           name, bad);
        goto fail;
    }
    return 0;
fail:
    mlp_checkpoint_free(ck);
    return rc;
}

void mlp_checkpoint_free(mlp_checkpoint_t *ck)
{
    if (ck == NULL)
        return;
    free(ck->params);
    free(ck->state);
    free(ck->options);
    free(ck->shift);
    free(ck->scale);
    free(ck->class_names);
    memset(ck, 0, sizeof(*ck));
}
