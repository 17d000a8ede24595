/*
 * idx: read and validate IDX files, plain or gzip (see idx.h).
 *
 * The parser trusts nothing: every header field is checked before the next
 * is read, sizes are multiplied with overflow checks, and the data length
 * must match the header exactly.  A file is read through infile.c (regular
 * files only) and bounded by its header: the header is read and checked
 * first, a declared size above MLP_IDX_MAX_DATA is refused, and then only
 * the bytes the caller keeps are read into one buffer of exactly that size.
 * A .gz file is inflated on demand, so with a limit only the first samples
 * are ever inflated (a small bomb declaring gigabytes costs nothing).
 *
 * Non-goals: IDX types other than unsigned bytes (0x08), and writing IDX
 * files (tests/testutil.c does that for the tests).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "mlptrain/error.h"
#include "mlptrain/idx.h"
#include "mlptrain/infile.h"

/*
 * Inflated output above this is refused: the largest IDX file we expect
 * (Fashion-MNIST training images) is 47 MB, and deflate can expand ~1000:1,
 * so a 4 MB file could otherwise ask for 4 GB.
 */
#define MLP_IDX_GUNZIP_MAX ((uint64_t)4 << 30)

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static const char *idx_type_name(uint8_t type)
{
    switch (type) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0b: return "short";
    case 0x0c: return "int";
    case 0x0d: return "float";
    case 0x0e: return "double";
    default: return "unknown type";
    }
}

/* "60000x28x28" for error messages. */
static void format_dims(char *s, size_t n, const uint32_t *dims,
                        unsigned ndims)
{
    size_t used = 0;

    s[0] = '\0';
    for (unsigned i = 0; i < ndims && used < n; i++) {
        int w = snprintf(s + used, n - used, "%s%lu", i ? "x" : "",
                         (unsigned long)dims[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

/*
 * Check an IDX header at the start of buf (len bytes available, perhaps
 * fewer than the file's): everything mlp_idx_parse checks but the data
 * length.  On success *r has ndims, dims, count and item_size, *hdr the
 * header's bytes and *total the data bytes the header declares.
 */
int mlp_idx_parse_header(const uint8_t *buf, size_t len, const char *name,
                         mlp_idx_t *r, size_t *hdr, size_t *total)
{
    char dimstr[64];
    size_t item = 1;
    uint32_t magic;

    memset(r, 0, sizeof(*r));
    if (len == 0)
        return mlp_error_set(MLP_EFORMAT, "%s: empty file, expected an IDX "
                             "file", name);
    if (len < 4)
        return mlp_error_set(MLP_EFORMAT, "%s: file too short for an IDX "
                             "header (%zu bytes, need at least 4)", name, len);
    magic = be32(buf);
    if (buf[0] != 0 || buf[1] != 0)
        return mlp_error_set(MLP_EFORMAT, "%s: bad magic 0x%08lx, expected "
                             "an IDX file of unsigned bytes (0x0000080N)",
                             name, (unsigned long)magic);
    if (buf[2] != 0x08)
        return mlp_error_set(MLP_EFORMAT, "%s: bad magic 0x%08lx: data type "
                             "0x%02x (%s) is not supported, expected an IDX "
                             "file of unsigned bytes (0x0000080N)", name,
                             (unsigned long)magic, buf[2],
                             idx_type_name(buf[2]));
    if (buf[3] < 1 || buf[3] > MLP_IDX_MAX_DIMS)
        return mlp_error_set(MLP_EFORMAT, "%s: bad magic 0x%08lx: %u "
                             "dimensions, expected 1 to %d", name,
                             (unsigned long)magic, buf[3], MLP_IDX_MAX_DIMS);

    r->ndims = buf[3];
    *hdr = 4 + 4 * (size_t)r->ndims;
    if (len < *hdr)
        return mlp_error_set(MLP_EFORMAT, "%s: truncated header: %u "
                             "dimensions need %zu header bytes, file has %zu",
                             name, r->ndims, *hdr, len);
    for (unsigned i = 0; i < r->ndims; i++)
        r->dims[i] = be32(buf + 4 + 4 * i);
    format_dims(dimstr, sizeof(dimstr), r->dims, r->ndims);

    for (unsigned i = 1; i < r->ndims; i++) {
        if (r->dims[i] == 0)
            return mlp_error_set(MLP_EFORMAT, "%s: dimension %u of %s is "
                                 "zero", name, i + 1, dimstr);
        if (item > SIZE_MAX / r->dims[i])
            goto overflow;
        item *= r->dims[i];
    }
    if (r->dims[0] != 0 && item > SIZE_MAX / r->dims[0])
        goto overflow;
    *total = item * r->dims[0];
    r->count = r->dims[0];
    r->item_size = item;
    r->loaded = r->count;
    return 0;

overflow:
    return mlp_error_set(MLP_EFORMAT, "%s: dimensions %s describe more data "
                         "than can be addressed", name, dimstr);
}

/* The data-length errors, shared by buffers, files and gzip streams. */
static int length_error(const mlp_idx_t *r, const char *name, size_t total,
                        size_t have, int more)
{
    char dimstr[64];

    format_dims(dimstr, sizeof(dimstr), r->dims, r->ndims);
    if (have < total)
        return mlp_error_set(MLP_EFORMAT, "%s: truncated: header says %zu "
                             "bytes of data (%s), file has %zu", name, total,
                             dimstr, have);
    return mlp_error_set(MLP_EFORMAT, "%s: trailing garbage: header says "
                         "%zu bytes of data (%s), file has %s%zu", name,
                         total, dimstr, more ? "more than " : "", have);
}

/*
 * Fails with MLP_EFORMAT, naming the first problem found: a header too short,
 * bad magic (non-zero first bytes, a type other than 0x08, a dimension count
 * outside 1..4), a zero inner dimension, sizes that overflow, or a data length
 * that differs from the header's.
 */
int mlp_idx_parse(const uint8_t *buf, size_t len, const char *name,
                  mlp_idx_t *out)
{
    mlp_idx_t r;
    size_t hdr, total;
    int rc;

    memset(out, 0, sizeof(*out));
    if (name == NULL)
        name = "<buffer>";
    if ((rc = mlp_idx_parse_header(buf, len, name, &r, &hdr, &total)) < 0)
        return rc;
    if (len - hdr != total)
        return length_error(&r, name, total, len - hdr, 0);
    r.data = buf + hdr;
    *out = r;
    return 0;
}

/* ---- gzip, inflated as far as asked -------------------------------- */

/*
 * A gzip stream over a buffer, inflated on demand: gz_read() produces at
 * most the bytes asked for, so a reader that needs only a prefix (a header,
 * the first N samples) never inflates the rest.  Concatenated members
 * (`cat a.gz b.gz`, pigz -i, bgzip) follow one another, as with gunzip(1);
 * anything after the last member that is not another member -- including
 * zero padding, which gunzip only warns about -- is an error.
 */
typedef struct {
    z_stream zs;
    const uint8_t *buf;
    size_t len, pos; /* the input, and how much of it was fed to zlib */
    const char *name;
    int init, done;  /* inflateInit2 ran; the last member ended */
} gz_t;

static int gz_open(gz_t *g, const uint8_t *buf, size_t len, const char *name)
{
    int zr;

    memset(g, 0, sizeof(*g));
    g->buf = buf;
    g->len = len;
    g->name = name;
    if (len < 2 || buf[0] != 0x1f || buf[1] != 0x8b)
        return mlp_error_set(MLP_EFORMAT, "%s: not gzip data (no 1f 8b "
                             "magic)", name);
    if ((zr = inflateInit2(&g->zs, 16 + MAX_WBITS)) != Z_OK)
        return mlp_error_set(zr == Z_MEM_ERROR ? MLP_ENOMEM : MLP_EFORMAT,
                             "%s: cannot start inflating: %s", name,
                             g->zs.msg ? g->zs.msg : zError(zr));
    g->init = 1;
    g->zs.next_in = (Bytef *)buf; /* zlib does not write through next_in */
    g->zs.avail_in = 0;
    return 0;
}

static void gz_close(gz_t *g)
{
    if (g->init)
        inflateEnd(&g->zs);
    g->init = 0;
}

/* Inflate up to n bytes into dst; *got < n only at the end of the data. */
static int gz_read(gz_t *g, uint8_t *dst, size_t n, size_t *got)
{
    z_stream *zs = &g->zs;
    size_t used = 0;
    int zr;

    *got = 0;
    while (used < n && !g->done) {
        /* avail_in and avail_out are 32-bit: feed large buffers in chunks */
        if (zs->avail_in == 0 && g->pos < g->len) {
            size_t k = g->len - g->pos < UINT_MAX ? g->len - g->pos
                                                  : UINT_MAX;
            zs->next_in = (Bytef *)g->buf + g->pos;
            zs->avail_in = (uInt)k;
            g->pos += k;
        }
        zs->next_out = dst + used;
        zs->avail_out = n - used < UINT_MAX ? (uInt)(n - used) : UINT_MAX;
        {
            uInt before = zs->avail_out;
            zr = inflate(zs, Z_NO_FLUSH);
            used += before - zs->avail_out;
        }
        if (zr == Z_STREAM_END) {
            /* Where the member ended, and what follows it. */
            size_t end = (size_t)(zs->next_in - g->buf);
            if (end == g->len) {
                g->done = 1;
                break;
            }
            if (g->len - end < 2 || g->buf[end] != 0x1f ||
                g->buf[end + 1] != 0x8b)
                return mlp_error_set(MLP_EFORMAT, "%s: %zu bytes of "
                                     "trailing garbage after the gzip data",
                                     g->name, g->len - end);
            if (inflateReset(zs) != Z_OK)
                return mlp_error_set(MLP_EFORMAT, "%s: cannot restart "
                                     "inflate", g->name);
            continue;
        }
        switch (zr) {
        case Z_OK:
            continue;
        case Z_BUF_ERROR:
            /* No progress: out of this chunk (feed the next) or of input
             * (truncated). */
            if (zs->avail_in == 0 && g->pos < g->len)
                continue;
            return mlp_error_set(MLP_EFORMAT, "%s: truncated gzip stream",
                                 g->name);
        case Z_MEM_ERROR:
            return mlp_error_set(MLP_ENOMEM, "%s: out of memory while "
                                 "inflating", g->name);
        case Z_NEED_DICT:
            return mlp_error_set(MLP_EFORMAT, "%s: corrupt gzip data: needs "
                                 "a preset dictionary", g->name);
        default: /* Z_DATA_ERROR; Z_STREAM_ERROR would be our bug */
            return mlp_error_set(MLP_EFORMAT, "%s: corrupt gzip data: %s",
                                 g->name, zs->msg ? zs->msg : zError(zr));
        }
    }
    *got = used;
    return 0;
}

/* Output above MLP_IDX_GUNZIP_MAX is refused: a decompression bomb. */
int mlp_idx_gunzip(const uint8_t *buf, size_t len, const char *name,
                   uint8_t **out, size_t *out_len)
{
    gz_t g;
    uint8_t *dst = NULL;
    size_t cap, used = 0, got;
    uint64_t limit = MLP_IDX_GUNZIP_MAX + 1; /* one byte to see overflow */
    int rc;

    *out = NULL;
    *out_len = 0;
    if (name == NULL)
        name = "<buffer>";
    if ((rc = gz_open(&g, buf, len, name)) < 0)
        goto out;
    if (limit > SIZE_MAX)
        limit = SIZE_MAX;

    /*
     * First guess: the size the last member's trailer claims (ISIZE), when
     * it is plausible for the input's length; plus one so that an exact
     * guess does not trigger a needless grow before the end is seen.
     */
    cap = len < SIZE_MAX / 4 ? len * 4 : len;
    if (len >= 18) {
        const uint8_t *t = buf + len - 4;
        uint32_t isize = (uint32_t)t[0] | (uint32_t)t[1] << 8 |
                         (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
        if ((uint64_t)isize < (uint64_t)len * 1100)
            cap = (size_t)isize + 1;
    }
    if (cap < 4096)
        cap = 4096;
    if (cap > limit)
        cap = (size_t)limit;
    if ((dst = malloc(cap)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "%s: cannot allocate %zu bytes to "
                           "inflate into", name, cap);
        goto out;
    }
    for (;;) {
        size_t ncap;
        uint8_t *p;

        if ((rc = gz_read(&g, dst + used, cap - used, &got)) < 0)
            goto out;
        used += got;
        /* The buffer holds one byte more than allowed, to see this. */
        if ((uint64_t)used > MLP_IDX_GUNZIP_MAX) {
            rc = mlp_error_set(MLP_EFORMAT, "%s: gzip data inflates to more "
                               "than %llu bytes, refusing it (a "
                               "decompression bomb?)", name,
                               (unsigned long long)MLP_IDX_GUNZIP_MAX);
            goto out;
        }
        if (used < cap)
            break; /* the end */
        ncap = cap <= SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
        if ((uint64_t)ncap > limit)
            ncap = (size_t)limit;
        /* ncap == cap only where size_t cannot reach the limit. */
        if (ncap == cap || (p = realloc(dst, ncap)) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "%s: cannot allocate more than "
                               "%zu bytes to inflate into", name, cap);
            goto out;
        }
        dst = p;
        cap = ncap;
    }
    *out = dst;
    *out_len = used;
    dst = NULL;
    rc = 0;
out:
    gz_close(&g);
    free(dst);
    return rc;
}

/* ---- files ---------------------------------------------------------- */

/* Where read_file takes its bytes from: the file itself, or its inflation. */
typedef struct {
    int fd;
    const char *path;
    gz_t *gz; /* NULL: plain */
} src_t;

static int src_read(src_t *s, uint8_t *dst, size_t n, size_t *got)
{
    return s->gz ? gz_read(s->gz, dst, n, got)
                 : mlp_infile_read(s->fd, s->path, dst, n, got);
}

/* Read and check the header: 4 bytes, then the dimensions they announce. */
static int read_header(src_t *s, uint8_t *head, mlp_idx_t *r, size_t *hdr,
                       size_t *total, size_t have)
{
    size_t got;
    int rc;

    if (have < 4) {
        if ((rc = src_read(s, head + have, 4 - have, &got)) < 0)
            return rc;
        have += got;
    }
    if (have == 4 && head[3] >= 1 && head[3] <= MLP_IDX_MAX_DIMS) {
        if ((rc = src_read(s, head + 4, 4 * (size_t)head[3], &got)) < 0)
            return rc;
        have += got;
    }
    return mlp_idx_parse_header(head, have, s->path, r, hdr, total);
}

/*
 * A header that makes no sense may come from a corrupt stream: then the
 * stream's error is the one to report.  Inflate a bounded stretch further
 * (16 MiB) and, if zlib objects, leave its message as the error.
 */
static void stream_error(gz_t *g, uint8_t *scratch, size_t n)
{
    mlp_error_saved_t first;
    size_t got, seen = 0;

    mlp_error_save(&first);
    do {
        if (gz_read(g, scratch, n, &got) < 0)
            return; /* zlib's error stands */
        seen += got;
    } while (got == n && seen < ((size_t)16 << 20));
    mlp_error_restore(&first, MLP_EFORMAT);
}

/*
 * Fails with MLP_EIO when the file cannot be opened or read or is not a
 * regular file (infile.h), MLP_EFORMAT for bad gzip or IDX content or a
 * size above the caps, MLP_ENOMEM.
 */
int mlp_idx_read_file_limit(const char *path, size_t limit, mlp_idx_t *out)
{
    uint8_t head[4 + 4 * MLP_IDX_MAX_DIMS], *raw = NULL, *data = NULL;
    uint8_t chunk[65536];
    size_t got, hdr = 0, total = 0, keep, want, raw_len = 0;
    uint64_t size;
    uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
    src_t s;
    gz_t g;
    mlp_idx_t r;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&g, 0, sizeof(g));
    s.fd = -1;
    s.path = path;
    s.gz = NULL;
    if ((rc = mlp_infile_open(path, &s.fd, &size)) < 0)
        goto out;
    if ((rc = mlp_infile_read(s.fd, path, head, 2, &got)) < 0)
        goto out;

    if (got == 2 && head[0] == 0x1f && head[1] == 0x8b) {
        /* gzip: the compressed bytes whole (for the crc), inflated only
         * as far as needed */
        if (size > MLP_IDX_MAX_DATA + MLP_IDX_MAX_DATA / 64) {
            rc = mlp_error_set(MLP_EFORMAT, "%s: %llu bytes of gzip data, "
                               "more than an IDX file of at most %llu bytes "
                               "needs", path, (unsigned long long)size,
                               (unsigned long long)MLP_IDX_MAX_DATA);
            goto out;
        }
        if (size < 2) {
            rc = mlp_error_set(MLP_EIO, "cannot read '%s': it grew while "
                               "it was read", path);
            goto out;
        }
        if ((raw = malloc((size_t)size + 1)) == NULL) {
            rc = mlp_error_set(MLP_ENOMEM, "cannot allocate %llu bytes to "
                               "read '%s'", (unsigned long long)size, path);
            goto out;
        }
        memcpy(raw, head, 2);
        /* one byte more than the size: a file that grew is seen */
        if ((rc = mlp_infile_read(s.fd, path, raw + 2, (size_t)size - 1,
                                  &got)) < 0)
            goto out;
        raw_len = 2 + got;
        if (raw_len > size) {
            rc = mlp_error_set(MLP_EIO, "cannot read '%s': it grew while "
                               "it was read", path);
            goto out;
        }
        crc = (uint32_t)crc32_z(crc, raw, raw_len);
        if ((rc = gz_open(&g, raw, raw_len, path)) < 0)
            goto out;
        s.gz = &g;
        if ((rc = read_header(&s, head, &r, &hdr, &total, 0)) < 0) {
            stream_error(&g, chunk, sizeof(chunk));
            goto out;
        }
    } else {
        if ((rc = read_header(&s, head, &r, &hdr, &total, got)) < 0)
            goto out;
        /* The size on disk says whether the data is all there. */
        if (size < hdr || size - hdr != total) {
            rc = length_error(&r, path, total,
                              size < hdr ? 0
                              : size - hdr > SIZE_MAX ? SIZE_MAX
                                                      : (size_t)(size - hdr),
                              0);
            goto out;
        }
        crc = (uint32_t)crc32_z(crc, head, hdr);
    }
    if ((uint64_t)total > MLP_IDX_MAX_DATA) {
        char dimstr[64];

        format_dims(dimstr, sizeof(dimstr), r.dims, r.ndims);
        rc = mlp_error_set(MLP_EFORMAT, "%s: the header declares %zu bytes "
                           "of data (%s), more than the limit of %llu bytes",
                           path, total, dimstr,
                           (unsigned long long)MLP_IDX_MAX_DATA);
        if (s.gz)
            stream_error(&g, chunk, sizeof(chunk));
        goto out;
    }

    keep = limit > 0 && limit < r.count ? limit : r.count;
    want = keep * r.item_size;
    if ((data = malloc(want ? want : 1)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "cannot allocate %zu bytes to read "
                           "'%s'", want, path);
        goto out;
    }
    if ((rc = src_read(&s, data, want, &got)) < 0)
        goto out;
    if (got < want) {
        rc = s.gz ? length_error(&r, path, total, got, 0)
                  : mlp_error_set(MLP_EIO, "cannot read '%s': it shrank "
                                  "while it was read", path);
        goto out;
    }
    if (s.gz && keep == r.count) {
        /* The whole data was asked for: nothing may follow it. */
        if ((rc = gz_read(&g, chunk, 1, &got)) < 0)
            goto out;
        if (got > 0) {
            rc = length_error(&r, path, total, total, 1);
            stream_error(&g, chunk, sizeof(chunk));
            goto out;
        }
    } else if (!s.gz) {
        /* The crc covers the bytes on disk, also past the limit. */
        crc = (uint32_t)crc32_z(crc, data, want);
        do {
            if ((rc = mlp_infile_read(s.fd, path, chunk, sizeof(chunk),
                                      &got)) < 0)
                goto out;
            crc = (uint32_t)crc32_z(crc, chunk, got);
        } while (got == sizeof(chunk));
    }
    r.loaded = keep;
    r.data = data;
    r.owned = data;
    r.file_size = size;
    r.file_crc = crc;
    *out = r;
    data = NULL;
    rc = 0;
out:
    gz_close(&g);
    if (s.fd >= 0)
        close(s.fd);
    free(raw);
    free(data);
    return rc;
}

int mlp_idx_read_file(const char *path, mlp_idx_t *out)
{
    return mlp_idx_read_file_limit(path, 0, out);
}

void mlp_idx_free(mlp_idx_t *idx)
{
    if (idx == NULL)
        return;
    free(idx->owned);
    memset(idx, 0, sizeof(*idx));
}
