/*
 * input: a data file's bytes, plain, gunzipped or out of a zip member,
 * streamed through two fixed buffers (see input.h).
 *
 * Layers: raw bytes (the fd opened by infile, a memory buffer, or a libzip
 * member) land in `raw`; when the raw bytes start with the gzip magic they
 * are inflated, else copied: into `buf` for a peek, straight into the
 * reader's buffer for a read (what `buf` holds first); a large read of a
 * plain file skips `raw` too.  The bytes read from a file's fd are summed
 * (crc32) as they pass, for mlp_input_file_sum.  libzip reads the
 * archive's fd itself (zip_fdopen); the fd comes from mlp_infile_open, so
 * only regular files are ever opened.
 *
 * Non-goals: seeking, writing, zip archives other than NumPy's .npz layout
 * (one file per member; encrypted members are refused by libzip).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include "mlptrain/error.h"
#include "mlptrain/infile.h"
#include "mlptrain/input.h"

#define RAW_SIZE 65536
#define BUF_SIZE (2 * MLP_INPUT_PEEK_MAX)

struct mlp_input {
    char name[4200];
    char path[4096];           /* the file on disk (a member's archive) */
    int fd;                    /* -1: not a file */
    const uint8_t *mem;        /* memory input */
    size_t mem_len, mem_pos;
    zip_t *zip;                /* zip member input */
    zip_file_t *zf;
    int is_zip;                /* raw bytes start with PK\3\4 */
    uint64_t raw_size;         /* the raw bytes in all */
    uint64_t fd_read;          /* bytes read from fd so far */
    uint32_t fd_crc;           /* their crc32 */
    int summed;                /* mlp_input_file_sum ran: no more reads */
    int gz;                    /* inflating */
    int z_live;                /* z initialised */
    int z_done;                /* the last member ended */
    z_stream z;
    uint8_t raw[RAW_SIZE];
    size_t rpos, rlen;
    int raw_eof;
    uint8_t buf[BUF_SIZE];
    size_t pos, len;           /* unread bytes: buf[pos, len) */
    int eof;                   /* no more bytes after buf */
    uint64_t produced, consumed;
};

/* Read up to n bytes of the file, summing them (mlp_input_file_sum). */
static int fd_read(mlp_input_t *in, uint8_t *dst, size_t n, size_t *got)
{
    int rc;

    if ((rc = mlp_infile_read(in->fd, in->path, dst, n, got)) != 0)
        return rc;
    in->fd_crc = (uint32_t)crc32_z(in->fd_crc, dst, *got);
    in->fd_read += *got;
    return 0;
}

/* Refill `raw` (keeping what is unread). */
static int raw_fill(mlp_input_t *in)
{
    size_t got = 0;
    int rc;

    if (in->raw_eof)
        return 0;
    if (in->rpos > 0) {
        memmove(in->raw, in->raw + in->rpos, in->rlen - in->rpos);
        in->rlen -= in->rpos;
        in->rpos = 0;
    }
    if (in->rlen == RAW_SIZE)
        return 0;
    if (in->fd >= 0) {
        if ((rc = fd_read(in, in->raw + in->rlen, RAW_SIZE - in->rlen,
                          &got)) != 0)
            return rc;
    } else if (in->zf != NULL) {
        zip_int64_t n = zip_fread(in->zf, in->raw + in->rlen,
                                  RAW_SIZE - in->rlen);

        if (n < 0)
            return mlp_error_set(MLP_EFORMAT, "%s: %s", in->name,
                                 zip_error_strerror(zip_file_get_error(
                                     in->zf)));
        got = (size_t)n;
    } else {
        got = in->mem_len - in->mem_pos;
        if (got > RAW_SIZE - in->rlen)
            got = RAW_SIZE - in->rlen;
        memcpy(in->raw + in->rlen, in->mem + in->mem_pos, got);
        in->mem_pos += got;
    }
    if (got == 0)
        in->raw_eof = 1;
    in->rlen += got;
    return 0;
}

/* Decompressed bytes into dst: *got < n only at the end. */
static int produce(mlp_input_t *in, uint8_t *dst, size_t n, size_t *got)
{
    int rc;

    *got = 0;
    if (in->summed)
        return mlp_error_set(MLP_EINVAL, "%s: read after its checksum",
                             in->name);
    while (*got < n) {
        /* Plain bytes of a file, a large read, nothing buffered: straight
         * into the caller's buffer, without the copy through `raw`. */
        if (!in->gz && in->fd >= 0 && in->rpos == in->rlen &&
            !in->raw_eof && n - *got >= RAW_SIZE) {
            size_t k;

            if ((rc = fd_read(in, dst + *got, n - *got, &k)) != 0)
                return rc;
            if (k < n - *got)
                in->raw_eof = 1;
            *got += k;
            continue;
        }
        if (in->rpos == in->rlen && (rc = raw_fill(in)) != 0)
            return rc;
        if (!in->gz) {
            size_t k = in->rlen - in->rpos;

            if (k == 0)
                break;
            if (k > n - *got)
                k = n - *got;
            memcpy(dst + *got, in->raw + in->rpos, k);
            in->rpos += k;
            *got += k;
            continue;
        }
        if (in->z_done) {
            if (in->rpos == in->rlen)
                break;
            /* Another member, as gunzip reads them, or garbage. */
            if (in->rlen - in->rpos < 2 && (rc = raw_fill(in)) != 0)
                return rc;
            if (in->rlen - in->rpos < 2 || in->raw[in->rpos] != 0x1f ||
                in->raw[in->rpos + 1] != 0x8b)
                return mlp_error_set(MLP_EFORMAT, "%s: trailing bytes "
                                     "after the gzip stream", in->name);
            inflateReset(&in->z);
            in->z_done = 0;
        }
        if (in->rpos == in->rlen)
            return mlp_error_set(MLP_EFORMAT, "%s: truncated gzip stream",
                                 in->name);
        in->z.next_in = in->raw + in->rpos;
        in->z.avail_in = (uInt)(in->rlen - in->rpos);
        in->z.next_out = dst + *got;
        in->z.avail_out = (uInt)(n - *got);
        rc = inflate(&in->z, Z_NO_FLUSH);
        *got = n - in->z.avail_out;
        in->rpos = in->rlen - in->z.avail_in;
        if (rc == Z_STREAM_END)
            in->z_done = 1;
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            return mlp_error_set(MLP_EFORMAT, "%s: corrupt gzip stream: %s",
                                 in->name, in->z.msg ? in->z.msg : "error");
    }
    in->produced += *got;
    if (in->produced > MLP_INPUT_MAX_BYTES)
        return mlp_error_set(MLP_EFORMAT, "%s: more than %llu bytes of "
                             "data", in->name,
                             (unsigned long long)MLP_INPUT_MAX_BYTES);
    return 0;
}

static int start(mlp_input_t *in)
{
    int rc;

    if ((rc = raw_fill(in)) != 0)
        return rc;
    in->is_zip = in->rlen >= 4 && memcmp(in->raw, "PK\3\4", 4) == 0;
    if (in->rlen >= 2 && in->raw[0] == 0x1f && in->raw[1] == 0x8b) {
        if (inflateInit2(&in->z, 15 + 16) != Z_OK)
            return mlp_error_set(MLP_ENOMEM, "%s: cannot start inflating",
                                 in->name);
        in->z_live = 1;
        in->gz = 1;
    }
    return 0;
}

/* Every opener's end: start(in), then in is the caller's, or closed. */
static int finish(mlp_input_t *in, mlp_input_t **out)
{
    int rc = start(in);

    if (rc != 0) {
        mlp_input_close(in);
        return rc;
    }
    *out = in;
    return 0;
}

static int alloc(const char *name, mlp_input_t **out)
{
    mlp_input_t *in = calloc(1, sizeof(*in));

    *out = NULL;
    if (in == NULL)
        return mlp_error_set(MLP_ENOMEM, "cannot allocate a reader for '%s'",
                             name);
    in->fd = -1;
    in->fd_crc = (uint32_t)crc32(0L, Z_NULL, 0);
    snprintf(in->name, sizeof(in->name), "%s", name);
    snprintf(in->path, sizeof(in->path), "%s", name);
    *out = in;
    return 0;
}

int mlp_input_open(const char *path, mlp_input_t **out)
{
    mlp_input_t *in;
    uint64_t size;
    int rc;

    if ((rc = alloc(path, &in)) != 0)
        return rc;
    if ((rc = mlp_infile_open(path, &in->fd, &size)) != 0) {
        mlp_input_close(in);
        return rc;
    }
    in->raw_size = size;
    return finish(in, out);
}

int mlp_input_open_mem(const uint8_t *buf, size_t len, const char *name,
                       mlp_input_t **out)
{
    mlp_input_t *in;
    int rc;

    if ((rc = alloc(name ? name : "<buffer>", &in)) != 0)
        return rc;
    in->mem = buf;
    in->mem_len = len;
    in->raw_size = len;
    return finish(in, out);
}

/*
 * The index of the one member named `member`.  NumPy's np.load reads a
 * key K from the member named K if there is one, else from K.npy, and of
 * members with the same name it reads the last, while libzip finds the
 * first: a second member answering to the same key would let an archive
 * show NumPy one array and mlptrain another.  So every member answering
 * to the key (`x.npy` and `x`) is counted, and more than one is refused.
 */
static int find_member(zip_t *za, const char *path, const char *member,
                       zip_int64_t *idx)
{
    zip_int64_t n = zip_get_num_entries(za, 0);
    size_t key = strlen(member);
    int count = 0;

    *idx = -1;
    if (key > 4 && strcmp(member + key - 4, ".npy") == 0)
        key -= 4;
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, ZIP_FL_ENC_RAW);

        if (name == NULL || strncmp(name, member, key) != 0 ||
            (name[key] != '\0' && strcmp(name + key, ".npy") != 0))
            continue;
        if (++count > 1)
            return mlp_error_set(MLP_EFORMAT, "%s: the archive has more "
                                 "than one member for '%.*s' ('%s' and "
                                 "'%s'): numpy.load would show another "
                                 "array than mlptrain reads", path,
                                 (int)key, member,
                                 zip_get_name(za, (zip_uint64_t)*idx,
                                              ZIP_FL_ENC_RAW), name);
        *idx = i;
    }
    if (*idx < 0)
        return mlp_error_set(MLP_EFORMAT, "%s: the archive has no member "
                             "'%s'", path, member);
    if (strcmp(zip_get_name(za, (zip_uint64_t)*idx, ZIP_FL_ENC_RAW),
               member) != 0)
        return mlp_error_set(MLP_EFORMAT, "%s: the archive has no member "
                             "'%s' (only '%.*s')", path, member, (int)key,
                             member);
    return 0;
}

int mlp_input_open_member(const char *path, const char *member,
                          mlp_input_t **out)
{
    mlp_input_t *in;
    uint64_t size;
    zip_int64_t idx;
    zip_stat_t zs;
    char full[4200];
    int fd = -1, zerr = 0, rc;

    *out = NULL;
    snprintf(full, sizeof(full), "%s (%s)", path, member);
    if ((rc = alloc(full, &in)) != 0)
        return rc;
    snprintf(in->path, sizeof(in->path), "%s", path);
    if ((rc = mlp_infile_open(path, &fd, &size)) != 0)
        goto fail;
    if ((in->zip = zip_fdopen(fd, ZIP_RDONLY, &zerr)) == NULL) {
        zip_error_t ze;

        close(fd);
        zip_error_init_with_code(&ze, zerr);
        rc = mlp_error_set(MLP_EFORMAT, "%s: not a readable zip archive: "
                           "%s", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        goto fail;
    }
    if ((rc = find_member(in->zip, path, member, &idx)) != 0)
        goto fail;
    zip_stat_init(&zs);
    if (zip_stat_index(in->zip, (zip_uint64_t)idx, 0, &zs) != 0 ||
        !(zs.valid & ZIP_STAT_SIZE)) {
        rc = mlp_error_set(MLP_EFORMAT, "%s: member '%s' has no size",
                           path, member);
        goto fail;
    }
    in->raw_size = zs.size;
    if ((in->zf = zip_fopen_index(in->zip, (zip_uint64_t)idx, 0)) == NULL) {
        rc = mlp_error_set(MLP_EFORMAT, "%s: cannot read member '%s': %s",
                           path, member,
                           zip_error_strerror(zip_get_error(in->zip)));
        goto fail;
    }
    return finish(in, out);
fail:
    mlp_input_close(in);
    return rc;
}

int mlp_input_is_zip(const mlp_input_t *in)
{
    return in->is_zip;
}

const char *mlp_input_name(const mlp_input_t *in)
{
    return in->name;
}

int mlp_input_peek(mlp_input_t *in, size_t n, const uint8_t **p,
                   size_t *got)
{
    int rc;

    if (n > MLP_INPUT_PEEK_MAX)
        n = MLP_INPUT_PEEK_MAX;
    if (in->len - in->pos < n && !in->eof) {
        size_t k;

        memmove(in->buf, in->buf + in->pos, in->len - in->pos);
        in->len -= in->pos;
        in->pos = 0;
        if ((rc = produce(in, in->buf + in->len, BUF_SIZE - in->len,
                          &k)) != 0)
            return rc;
        if (k < BUF_SIZE - in->len)
            in->eof = 1;
        in->len += k;
    }
    *p = in->buf + in->pos;
    *got = in->len - in->pos < n ? in->len - in->pos : n;
    return 0;
}

int mlp_input_read(mlp_input_t *in, void *buf, size_t n, size_t *got)
{
    uint8_t *dst = buf;
    size_t k = in->len - in->pos, more = 0;
    int rc;

    if (k > n)
        k = n;
    memcpy(dst, in->buf + in->pos, k);
    in->pos += k;
    if (k < n && !in->eof) {
        if ((rc = produce(in, dst + k, n - k, &more)) != 0) {
            *got = k;
            return rc;
        }
        if (more < n - k)
            in->eof = 1;
    }
    *got = k + more;
    in->consumed += *got;
    return 0;
}

uint64_t mlp_input_offset(const mlp_input_t *in)
{
    return in->consumed;
}

/* Deflate's largest ratio: 258-byte matches at 2 bits each, 1032:1. */
#define DEFLATE_MAX_RATIO 1032

uint64_t mlp_input_max_bytes(const mlp_input_t *in)
{
    uint64_t n = in->raw_size;

    if (in->gz)
        n = n > MLP_INPUT_MAX_BYTES / DEFLATE_MAX_RATIO
                ? MLP_INPUT_MAX_BYTES : n * DEFLATE_MAX_RATIO;
    return n < MLP_INPUT_MAX_BYTES ? n : MLP_INPUT_MAX_BYTES;
}

int mlp_input_size_exact(const mlp_input_t *in)
{
    return !in->gz;
}

/*
 * The rest of the file is read into `raw`, which the input no longer
 * needs: it cannot be read after this.  A member's archive is read whole
 * through a descriptor of its own (libzip reads it by random access).
 */
int mlp_input_file_sum(mlp_input_t *in, uint64_t *size, uint32_t *crc)
{
    uint64_t want = in->raw_size;
    size_t got;
    int rc;

    *size = 0;
    *crc = (uint32_t)crc32(0L, Z_NULL, 0);
    in->summed = 1;
    in->rpos = in->rlen = 0;
    in->raw_eof = 1;
    if (in->mem != NULL || (in->fd < 0 && in->zip == NULL)) {
        *size = in->mem_len;
        *crc = (uint32_t)crc32_z(*crc, in->mem, in->mem_len);
        return 0;
    }
    if (in->fd < 0) {
        in->fd_read = 0;
        in->fd_crc = *crc;
        if ((rc = mlp_infile_open(in->path, &in->fd, &want)) != 0)
            return rc;
    }
    do {
        if ((rc = fd_read(in, in->raw, RAW_SIZE, &got)) != 0)
            return rc;
    } while (got == RAW_SIZE);
    if (in->zip != NULL) {
        close(in->fd);
        in->fd = -1;
    }
    if (in->fd_read != want)
        return mlp_error_set(MLP_EIO, "cannot read '%s': it changed size "
                             "while it was read (%llu bytes, then %llu)",
                             in->path, (unsigned long long)want,
                             (unsigned long long)in->fd_read);
    *size = in->fd_read;
    *crc = in->fd_crc;
    return 0;
}

void mlp_input_close(mlp_input_t *in)
{
    if (in == NULL)
        return;
    if (in->z_live)
        inflateEnd(&in->z);
    if (in->zf != NULL)
        zip_fclose(in->zf);
    if (in->zip != NULL)
        zip_discard(in->zip);
    if (in->fd >= 0)
        close(in->fd);
    free(in);
}
