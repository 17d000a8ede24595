/*
 * idx: the IDX format, its header checked before anything is sized by it,
 * its items read from an input as far as asked (see idx.h).
 *
 * The parser trusts nothing: every header field is checked before the next
 * is read, and sizes are multiplied with overflow checks.  The bytes come
 * from input.c, which reads files through infile.c (regular files only)
 * and decompresses gzip on the fly (the project's one gzip reader): this
 * module reads no more of a stream than its caller asks for.
 *
 * Non-goals: IDX types other than unsigned bytes (0x08), and writing IDX
 * files (tests/testutil.c does that for the tests).
 */
#include <stdio.h>
#include <string.h>

#include "mlptrain/error.h"
#include "mlptrain/idx.h"

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
 * Fails with MLP_EFORMAT, naming the first problem found: a header too
 * short, bad magic (non-zero first bytes, a type other than 0x08, a
 * dimension count outside 1..4), a zero inner dimension, sizes that
 * overflow.
 */
int mlp_idx_parse_header(const uint8_t *buf, size_t len, const char *name,
                         mlp_idx_header_t *r, size_t *hdr, size_t *total)
{
    char dimstr[64];
    size_t item = 1;
    uint32_t magic;

    memset(r, 0, sizeof(*r));
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
    return 0;

overflow:
    memset(r, 0, sizeof(*r));
    return mlp_error_set(MLP_EFORMAT, "%s: dimensions %s describe more data "
                         "than can be addressed", name, dimstr);
}

/*
 * The data a header declares, against the cap and what the input holds:
 * a plain file exactly (its size is known), a gzip stream at most what
 * its compressed bytes can yield (the rest is checked as it arrives).
 */
static int check_data(mlp_input_t *in, const mlp_idx_header_t *h,
                      size_t total)
{
    const char *name = mlp_input_name(in);
    uint64_t max = mlp_input_max_bytes(in), at = mlp_input_offset(in);
    uint64_t left = max > at ? max - at : 0;
    char dimstr[64];

    format_dims(dimstr, sizeof(dimstr), h->dims, h->ndims);
    if ((uint64_t)total > MLP_IDX_MAX_DATA)
        return mlp_error_set(MLP_EFORMAT, "%s: the IDX header declares %zu "
                             "bytes of data (%s), more than the limit of "
                             "%llu bytes", name, total, dimstr,
                             (unsigned long long)MLP_IDX_MAX_DATA);
    if (!mlp_input_size_exact(in)) {
        if ((uint64_t)total > left)
            return mlp_error_set(MLP_EFORMAT, "%s: too short: the IDX header "
                                 "declares %zu bytes of data (%s), its gzip "
                                 "data can hold at most %llu", name, total,
                                 dimstr, (unsigned long long)left);
        return 0;
    }
    if ((uint64_t)total != left)
        return mlp_error_set(MLP_EFORMAT, "%s: %s: the IDX header declares "
                             "%zu bytes of data (%s), the file holds %llu",
                             name, (uint64_t)total > left ? "truncated"
                                                          : "trailing garbage",
                             total, dimstr, (unsigned long long)left);
    return 0;
}

int mlp_idx_read_header(mlp_input_t *in, mlp_idx_header_t *h)
{
    uint8_t b[4 + 4 * MLP_IDX_MAX_DIMS];
    size_t got, more = 0, hdr, total;
    int rc;

    memset(h, 0, sizeof(*h));
    if ((rc = mlp_input_read(in, b, 4, &got)) != 0)
        return rc;
    if (got == 4 && b[3] >= 1 && b[3] <= MLP_IDX_MAX_DIMS &&
        (rc = mlp_input_read(in, b + 4, 4 * (size_t)b[3], &more)) != 0)
        return rc;
    if ((rc = mlp_idx_parse_header(b, got + more, mlp_input_name(in), h,
                                   &hdr, &total)) != 0)
        return rc;
    if ((rc = check_data(in, h, total)) != 0)
        memset(h, 0, sizeof(*h));
    return rc;
}

/* Data that ends `have` bytes into it. */
static int cut_short(mlp_input_t *in, const mlp_idx_header_t *h,
                     uint64_t have)
{
    char dimstr[64];

    format_dims(dimstr, sizeof(dimstr), h->dims, h->ndims);
    return mlp_error_set(MLP_EFORMAT, "%s: truncated: the IDX header "
                         "declares %zu bytes of data (%s), the file holds "
                         "%llu", mlp_input_name(in), h->count * h->item_size,
                         dimstr, (unsigned long long)have);
}

int mlp_idx_read_rows(mlp_input_t *in, const mlp_idx_header_t *h,
                      size_t row0, size_t rows, uint8_t *dst)
{
    size_t got;
    int rc;

    if ((rc = mlp_input_read(in, dst, rows * h->item_size, &got)) != 0)
        return rc;
    if (got < rows * h->item_size)
        return cut_short(in, h, (uint64_t)row0 * h->item_size + got);
    return 0;
}

int mlp_idx_read_labels(mlp_input_t *in, const mlp_idx_header_t *h,
                        size_t row0, size_t rows, int32_t *dst)
{
    uint8_t b[4096];

    for (size_t done = 0; done < rows;) {
        size_t m = rows - done < sizeof(b) ? rows - done : sizeof(b), got;
        int rc;

        if ((rc = mlp_input_read(in, b, m, &got)) != 0)
            return rc;
        if (got < m)
            return cut_short(in, h, (uint64_t)(row0 + done + got) *
                                        h->item_size);
        for (size_t i = 0; i < m; i++)
            dst[done + i] = b[i];
        done += m;
    }
    return 0;
}

int mlp_idx_check_end(mlp_input_t *in, const mlp_idx_header_t *h)
{
    const uint8_t *p;
    size_t got;
    char dimstr[64];
    int rc;

    if ((rc = mlp_input_peek(in, 1, &p, &got)) != 0)
        return rc;
    if (got == 0)
        return 0;
    format_dims(dimstr, sizeof(dimstr), h->dims, h->ndims);
    return mlp_error_set(MLP_EFORMAT, "%s: trailing garbage: the IDX header "
                         "declares %zu bytes of data (%s), the file holds "
                         "more", mlp_input_name(in), h->count * h->item_size,
                         dimstr);
}
