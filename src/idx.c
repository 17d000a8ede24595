/*
 * idx: read and validate IDX files, plain or gzip (see idx.h).
 *
 * The parser trusts nothing: every header field is checked before the next
 * is read, sizes are multiplied with overflow checks, and the data length
 * must match the header exactly.  gzip is inflated in memory with zlib into
 * one growing buffer, capped so that a small hostile file cannot make us
 * allocate without bound.
 *
 * Non-goals: IDX types other than unsigned bytes (0x08), streaming reads
 * (Fashion-MNIST is 47 MB inflated: one buffer is simpler and faster), and
 * writing IDX files (tests/testutil.c does that for the tests).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "mlptrain/error.h"
#include "mlptrain/idx.h"

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
 * Fails with MLP_EFORMAT, naming the first problem found: a header too short,
 * bad magic (non-zero first bytes, a type other than 0x08, a dimension count
 * outside 1..4), a zero inner dimension, sizes that overflow, or a data length
 * that differs from the header's.
 */
int mlp_idx_parse(const uint8_t *buf, size_t len, const char *name,
                  mlp_idx_t *out)
{
    mlp_idx_t r;
    char dimstr[64];
    size_t hdr, item = 1, total;
    uint32_t magic;

    memset(out, 0, sizeof(*out));
    if (name == NULL)
        name = "<buffer>";
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

    memset(&r, 0, sizeof(r));
    r.ndims = buf[3];
    hdr = 4 + 4 * (size_t)r.ndims;
    if (len < hdr)
        return mlp_error_set(MLP_EFORMAT, "%s: truncated header: %u "
                             "dimensions need %zu header bytes, file has %zu",
                             name, r.ndims, hdr, len);
    for (unsigned i = 0; i < r.ndims; i++)
        r.dims[i] = be32(buf + 4 + 4 * i);
    format_dims(dimstr, sizeof(dimstr), r.dims, r.ndims);

    for (unsigned i = 1; i < r.ndims; i++) {
        if (r.dims[i] == 0)
            return mlp_error_set(MLP_EFORMAT, "%s: dimension %u of %s is "
                                 "zero", name, i + 1, dimstr);
        if (item > SIZE_MAX / r.dims[i])
            goto overflow;
        item *= r.dims[i];
    }
    if (r.dims[0] != 0 && item > SIZE_MAX / r.dims[0])
        goto overflow;
    total = item * r.dims[0];

    if (len - hdr < total)
        return mlp_error_set(MLP_EFORMAT, "%s: truncated: header says %zu "
                             "bytes of data (%s), file has %zu", name, total,
                             dimstr, len - hdr);
    if (len - hdr > total)
        return mlp_error_set(MLP_EFORMAT, "%s: trailing garbage: header says "
                             "%zu bytes of data (%s), file has %zu", name,
                             total, dimstr, len - hdr);

    r.count = r.dims[0];
    r.item_size = item;
    r.data = buf + hdr;
    *out = r;
    return 0;

overflow:
    return mlp_error_set(MLP_EFORMAT, "%s: dimensions %s describe more data "
                         "than can be addressed", name, dimstr);
}

/*
 * Concatenated gzip members (`cat a.gz b.gz`, pigz -i, bgzip) are inflated
 * one after the other, as gunzip(1) does.  Anything after the last member
 * that is not another member -- including zero padding, which gunzip only
 * warns about -- is an error, as is output above MLP_IDX_GUNZIP_MAX.
 */
int mlp_idx_gunzip(const uint8_t *buf, size_t len, const char *name,
                   uint8_t **out, size_t *out_len)
{
    z_stream zs;
    int zinit = 0, zr, rc;
    uint8_t *dst = NULL;
    size_t cap, used = 0, pos;
    uint64_t limit = MLP_IDX_GUNZIP_MAX + 1; /* one byte to see overflow */

    *out = NULL;
    *out_len = 0;
    if (name == NULL)
        name = "<buffer>";
    if (len < 2 || buf[0] != 0x1f || buf[1] != 0x8b) {
        rc = mlp_error_set(MLP_EFORMAT, "%s: not gzip data (no 1f 8b magic)",
                           name);
        goto out;
    }
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

    memset(&zs, 0, sizeof(zs));
    if ((zr = inflateInit2(&zs, 16 + MAX_WBITS)) != Z_OK) {
        rc = mlp_error_set(zr == Z_MEM_ERROR ? MLP_ENOMEM : MLP_EFORMAT,
                           "%s: cannot start inflating: %s", name,
                           zs.msg ? zs.msg : zError(zr));
        goto out;
    }
    zinit = 1;
    zs.next_in = (Bytef *)buf; /* zlib does not write through next_in */
    zs.avail_in = 0;
    pos = 0;

    for (;;) {
        /* avail_in and avail_out are 32-bit: feed large buffers in chunks. */
        if (zs.avail_in == 0 && pos < len) {
            size_t n = len - pos < UINT_MAX ? len - pos : UINT_MAX;
            zs.next_in = (Bytef *)buf + pos;
            zs.avail_in = (uInt)n;
            pos += n;
        }
        if (used == cap) {
            size_t ncap;
            uint8_t *p;
            ncap = cap <= SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
            if ((uint64_t)ncap > limit)
                ncap = (size_t)limit;
            /* ncap == cap only where size_t cannot reach the limit. */
            if (ncap == cap || (p = realloc(dst, ncap)) == NULL) {
                rc = mlp_error_set(MLP_ENOMEM, "%s: cannot allocate more "
                                   "than %zu bytes to inflate into", name,
                                   cap);
                goto out;
            }
            dst = p;
            cap = ncap;
        }
        zs.next_out = dst + used;
        zs.avail_out = cap - used < UINT_MAX ? (uInt)(cap - used) : UINT_MAX;
        {
            uInt before = zs.avail_out;
            zr = inflate(&zs, Z_NO_FLUSH);
            used += before - zs.avail_out;
        }
        /* The buffer holds one byte more than allowed, to see this. */
        if ((uint64_t)used > MLP_IDX_GUNZIP_MAX) {
            rc = mlp_error_set(MLP_EFORMAT, "%s: gzip data inflates to more "
                               "than %llu bytes, refusing it (a "
                               "decompression bomb?)", name,
                               (unsigned long long)MLP_IDX_GUNZIP_MAX);
            goto out;
        }

        if (zr == Z_STREAM_END) {
            /* Where the member ended, and what follows it. */
            size_t end = (size_t)(zs.next_in - buf);
            if (end == len)
                break;
            if (len - end < 2 || buf[end] != 0x1f || buf[end + 1] != 0x8b) {
                rc = mlp_error_set(MLP_EFORMAT, "%s: %zu bytes of trailing "
                                   "garbage after the gzip data", name,
                                   len - end);
                goto out;
            }
            if (inflateReset(&zs) != Z_OK) {
                rc = mlp_error_set(MLP_EFORMAT, "%s: cannot restart inflate",
                                   name);
                goto out;
            }
            continue;
        }
        switch (zr) {
        case Z_OK:
            continue;
        case Z_BUF_ERROR:
            /* No progress: out of room (grow), of this chunk (feed the
             * next), or of input (truncated). */
            if (zs.avail_out == 0 || (zs.avail_in == 0 && pos < len))
                continue;
            rc = mlp_error_set(MLP_EFORMAT, "%s: truncated gzip stream",
                               name);
            goto out;
        case Z_MEM_ERROR:
            rc = mlp_error_set(MLP_ENOMEM, "%s: out of memory while "
                               "inflating", name);
            goto out;
        case Z_NEED_DICT:
            rc = mlp_error_set(MLP_EFORMAT, "%s: corrupt gzip data: needs a "
                               "preset dictionary", name);
            goto out;
        default: /* Z_DATA_ERROR; Z_STREAM_ERROR would be our bug */
            rc = mlp_error_set(MLP_EFORMAT, "%s: corrupt gzip data: %s",
                               name, zs.msg ? zs.msg : zError(zr));
            goto out;
        }
    }

    *out = dst;
    *out_len = used;
    dst = NULL;
    rc = 0;
out:
    if (zinit)
        inflateEnd(&zs);
    free(dst);
    return rc;
}

/* Read all of f into a malloc'd buffer; size_hint is a first guess. */
static int read_all(FILE *f, const char *path, size_t size_hint,
                    uint8_t **out, size_t *out_len)
{
    uint8_t *buf = NULL;
    size_t cap = size_hint + 1, used = 0;
    int rc;

    *out = NULL;
    *out_len = 0;
    if (cap < 4096)
        cap = 4096;
    if ((buf = malloc(cap)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "cannot allocate %zu bytes to read "
                           "'%s'", cap, path);
        goto out;
    }
    for (;;) {
        size_t n = fread(buf + used, 1, cap - used, f);
        used += n;
        if (used < cap) {
            if (ferror(f)) {
                rc = mlp_error_set(MLP_EIO, "cannot read '%s': %s", path,
                                   strerror(errno));
                goto out;
            }
            break; /* EOF */
        }
        {
            size_t ncap = cap <= SIZE_MAX / 2 ? cap * 2 : SIZE_MAX;
            uint8_t *p;
            if (ncap == cap || (p = realloc(buf, ncap)) == NULL) {
                rc = mlp_error_set(MLP_ENOMEM, "cannot allocate %zu bytes to "
                                   "read '%s'", ncap, path);
                goto out;
            }
            buf = p;
            cap = ncap;
        }
    }
    *out = buf;
    *out_len = used;
    buf = NULL;
    rc = 0;
out:
    free(buf);
    return rc;
}

/*
 * Fails with MLP_EIO when the file cannot be opened or read (the message
 * carries strerror), MLP_EFORMAT for bad gzip or IDX content, MLP_ENOMEM.
 */
int mlp_idx_read_file(const char *path, mlp_idx_t *out)
{
    FILE *f = NULL;
    uint8_t *raw = NULL, *inflated = NULL;
    size_t raw_len = 0, inflated_len = 0, hint = 0;
    uint32_t crc;
    struct stat st;
    int rc;

    memset(out, 0, sizeof(*out));
    if ((f = fopen(path, "rb")) == NULL) {
        rc = mlp_error_set(MLP_EIO, "cannot open '%s': %s", path,
                           strerror(errno));
        goto out;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size < SIZE_MAX)
        hint = (size_t)st.st_size;
    if ((rc = read_all(f, path, hint, &raw, &raw_len)) != 0)
        goto out;
    crc = (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), raw, raw_len);

    if (raw_len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
        if ((rc = mlp_idx_gunzip(raw, raw_len, path, &inflated,
                                 &inflated_len)) != 0)
            goto out;
        if ((rc = mlp_idx_parse(inflated, inflated_len, path, out)) != 0)
            goto out;
        out->owned = inflated;
        inflated = NULL;
    } else {
        if ((rc = mlp_idx_parse(raw, raw_len, path, out)) != 0)
            goto out;
        out->owned = raw;
        raw = NULL;
    }
    out->file_size = raw_len;
    out->file_crc = crc;
    rc = 0;
out:
    if (f != NULL)
        fclose(f);
    free(raw);
    free(inflated);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

void mlp_idx_free(mlp_idx_t *idx)
{
    if (idx == NULL)
        return;
    free(idx->owned);
    memset(idx, 0, sizeof(*idx));
}
