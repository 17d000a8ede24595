/*
 * npy: a strict reader of NumPy's .npy header and a row-wise converter of
 * its data (see npy.h).
 *
 * The header dict is parsed by a small tokenizer that accepts exactly the
 * literal NumPy writes (and equivalent spacing, either quote, a trailing
 * comma): anything else is refused rather than guessed at.  Values are
 * converted in chunks of a fixed stack buffer, so memory does not grow with
 * the file.
 *
 * Non-goals: writing .npy, memory mapping, dtypes mlptrain has no use for.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mlptrain/error.h"
#include "mlptrain/npy.h"

static const struct {
    const char *descr;
    mlp_npy_dtype_t t;
    size_t size;
} dtypes[] = {
    {"|u1", MLP_NPY_U1, 1}, {"<u1", MLP_NPY_U1, 1}, {"|i1", MLP_NPY_I1, 1},
    {"<i1", MLP_NPY_I1, 1}, {"<i2", MLP_NPY_I2, 2}, {"<u2", MLP_NPY_U2, 2},
    {"<i4", MLP_NPY_I4, 4}, {"<u4", MLP_NPY_U4, 4}, {"<i8", MLP_NPY_I8, 8},
    {"<u8", MLP_NPY_U8, 8}, {"<f4", MLP_NPY_F4, 4}, {"<f8", MLP_NPY_F8, 8},
};

int mlp_npy_is_float(mlp_npy_dtype_t t)
{
    return t == MLP_NPY_F4 || t == MLP_NPY_F8;
}

typedef struct {
    const char *s, *end, *name, *start;
} tok_t;

static void skip(tok_t *t)
{
    while (t->s < t->end && (*t->s == ' ' || *t->s == '\t'))
        t->s++;
}

static int expect(tok_t *t, char c)
{
    skip(t);
    if (t->s < t->end && *t->s == c) {
        t->s++;
        return 0;
    }
    return mlp_error_set(MLP_EFORMAT, "%s: bad .npy header: expected '%c' "
                         "at byte %zu of the dict", t->name, c,
                         (size_t)(t->s - t->start));
}

/* A quoted string (no escapes) into out. */
static int string(tok_t *t, char *out, size_t cap)
{
    char q;
    size_t n = 0;

    skip(t);
    if (t->s >= t->end || (*t->s != '\'' && *t->s != '"'))
        return mlp_error_set(MLP_EFORMAT, "%s: bad .npy header: expected a "
                             "quoted string", t->name);
    q = *t->s++;
    while (t->s < t->end && *t->s != q) {
        if (*t->s == '\\' || n + 1 >= cap || !isprint((unsigned char)*t->s))
            return mlp_error_set(MLP_EFORMAT, "%s: bad .npy header: "
                                 "unexpected string", t->name);
        out[n++] = *t->s++;
    }
    if (t->s >= t->end)
        return mlp_error_set(MLP_EFORMAT, "%s: bad .npy header: "
                             "unterminated string", t->name);
    t->s++;
    out[n] = '\0';
    return 0;
}

static int word(tok_t *t, const char *w)
{
    size_t n = strlen(w);

    skip(t);
    if ((size_t)(t->end - t->s) >= n && memcmp(t->s, w, n) == 0) {
        t->s += n;
        return 1;
    }
    return 0;
}

static int shape(tok_t *t, mlp_npy_header_t *h)
{
    unsigned nd = 0;
    size_t dims[3];
    int rc;

    if ((rc = expect(t, '(')) != 0)
        return rc;
    for (;;) {
        size_t v = 0;
        int digits = 0;

        skip(t);
        if (t->s < t->end && *t->s == ')')
            break;
        while (t->s < t->end && isdigit((unsigned char)*t->s)) {
            if (v > ((size_t)1 << 48))
                return mlp_error_set(MLP_EFORMAT, "%s: .npy shape too "
                                     "large", t->name);
            v = v * 10 + (size_t)(*t->s++ - '0');
            digits++;
        }
        if (digits == 0 || nd == 3)
            return mlp_error_set(MLP_EFORMAT, "%s: bad .npy shape",
                                 t->name);
        dims[nd++] = v;
        skip(t);
        if (t->s < t->end && *t->s == ',') {
            t->s++;
            continue;
        }
        if (t->s < t->end && *t->s == ')')
            break;
        return mlp_error_set(MLP_EFORMAT, "%s: bad .npy shape", t->name);
    }
    t->s++;
    if (nd < 1 || nd > 2)
        return mlp_error_set(MLP_EFORMAT, "%s: .npy array has %u "
                             "dimensions; expected (n, d) or (n,)", t->name,
                             nd);
    h->ndim = nd;
    h->n = dims[0];
    h->d = nd == 2 ? dims[1] : 1;
    if (nd == 2 && h->d == 0)
        return mlp_error_set(MLP_EFORMAT, "%s: .npy shape (%zu, 0): no "
                             "features", t->name, h->n);
    return 0;
}

int mlp_npy_parse_dict(const char *text, size_t len, const char *name,
                       mlp_npy_header_t *h)
{
    tok_t t = {text, text + len, name ? name : "<buffer>", text};
    int have_descr = 0, have_fo = 0, have_shape = 0, rc;
    char key[32], descr[32];

    memset(h, 0, sizeof(*h));
    if ((rc = expect(&t, '{')) != 0)
        return rc;
    for (;;) {
        skip(&t);
        if (t.s < t.end && *t.s == '}')
            break;
        if ((rc = string(&t, key, sizeof(key))) != 0 ||
            (rc = expect(&t, ':')) != 0)
            return rc;
        if (strcmp(key, "descr") == 0 && !have_descr) {
            size_t i;

            if ((rc = string(&t, descr, sizeof(descr))) != 0)
                return rc;
            if (descr[0] == '>')
                return mlp_error_set(MLP_EFORMAT, "%s: .npy dtype '%s' is "
                                     "big-endian; save it little-endian "
                                     "(arr.astype('<%s'))", t.name, descr,
                                     descr + 1);
            for (i = 0; i < sizeof(dtypes) / sizeof(dtypes[0]); i++)
                if (strcmp(descr, dtypes[i].descr) == 0)
                    break;
            if (i == sizeof(dtypes) / sizeof(dtypes[0]))
                return mlp_error_set(MLP_EFORMAT, "%s: .npy dtype '%s' is "
                                     "not supported (uint8, float32, "
                                     "float64 features; integer labels)",
                                     t.name, descr);
            h->dtype = dtypes[i].t;
            h->elsize = dtypes[i].size;
            snprintf(h->descr, sizeof(h->descr), "%s", descr);
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && !have_fo) {
            if (word(&t, "True"))
                return mlp_error_set(MLP_EFORMAT, "%s: .npy array is in "
                                     "Fortran order; save a C-order array "
                                     "(numpy.ascontiguousarray)", t.name);
            if (!word(&t, "False"))
                return mlp_error_set(MLP_EFORMAT, "%s: bad .npy header: "
                                     "fortran_order is not False", t.name);
            have_fo = 1;
        } else if (strcmp(key, "shape") == 0 && !have_shape) {
            if ((rc = shape(&t, h)) != 0)
                return rc;
            have_shape = 1;
        } else {
            return mlp_error_set(MLP_EFORMAT, "%s: bad .npy header: "
                                 "unexpected key '%s'", t.name, key);
        }
        skip(&t);
        if (t.s < t.end && *t.s == ',')
            t.s++;
        else if (t.s >= t.end || *t.s != '}')
            return mlp_error_set(MLP_EFORMAT, "%s: bad .npy header: "
                                 "expected ',' or '}'", t.name);
    }
    t.s++;
    while (t.s < t.end && (*t.s == ' ' || *t.s == '\n'))
        t.s++;
    if (t.s != t.end || !have_descr || !have_fo || !have_shape)
        return mlp_error_set(MLP_EFORMAT, "%s: bad .npy header: %s", t.name,
                             t.s != t.end ? "bytes after the dict"
                                          : "descr, fortran_order or shape "
                                            "missing");
    return 0;
}

/*
 * The data the shape declares must fit in what the input can hold
 * (input.h): a header is never trusted to size an allocation.
 */
static int check_size(mlp_input_t *in, const mlp_npy_header_t *h)
{
    uint64_t bound = mlp_input_max_bytes(in), at = mlp_input_offset(in);
    uint64_t values, bytes, left = bound > at ? bound - at : 0;

    if (!__builtin_mul_overflow((uint64_t)h->n, (uint64_t)h->d, &values) &&
        !__builtin_mul_overflow(values, (uint64_t)h->elsize, &bytes) &&
        bytes <= left)
        return 0;
    if (mlp_input_size_exact(in))
        return mlp_error_set(MLP_EFORMAT, "%s: truncated: the .npy shape "
                             "(%zu, %zu) of '%s' needs more data than the "
                             "%llu bytes after the header",
                             mlp_input_name(in), h->n, h->d, h->descr,
                             (unsigned long long)left);
    return mlp_error_set(MLP_EFORMAT, "%s: the .npy shape (%zu, %zu) of "
                         "'%s' needs more data than the compressed file "
                         "can hold (at most %llu bytes)", mlp_input_name(in),
                         h->n, h->d, h->descr, (unsigned long long)left);
}

int mlp_npy_read_header(mlp_input_t *in, mlp_npy_header_t *h)
{
    const char *name = mlp_input_name(in);
    uint8_t pre[12];
    char text[MLP_NPY_MAX_HEADER];
    size_t got, hl, fixed;
    int rc;

    memset(h, 0, sizeof(*h));
    if ((rc = mlp_input_read(in, pre, 10, &got)) != 0)
        return rc;
    if (got < 10 || memcmp(pre, MLP_NPY_MAGIC, 6) != 0)
        return mlp_error_set(MLP_EFORMAT, "%s: not a .npy file (no "
                             "\\x93NUMPY magic)", name);
    if (pre[6] < 1 || pre[6] > 3)
        return mlp_error_set(MLP_EFORMAT, "%s: .npy format version %u.%u "
                             "is not supported", name, pre[6], pre[7]);
    if (pre[6] == 1) {
        hl = pre[8] | (size_t)pre[9] << 8;
        fixed = 10;
    } else {
        if ((rc = mlp_input_read(in, pre + 10, 2, &got)) != 0)
            return rc;
        if (got < 2)
            return mlp_error_set(MLP_EFORMAT, "%s: truncated .npy header",
                                 name);
        hl = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
             (size_t)pre[11] << 24;
        fixed = 12;
    }
    if (hl > sizeof(text))
        return mlp_error_set(MLP_EFORMAT, "%s: .npy header of %zu bytes; "
                             "at most %d", name, hl, MLP_NPY_MAX_HEADER);
    if ((rc = mlp_input_read(in, text, hl, &got)) != 0)
        return rc;
    if (got < hl)
        return mlp_error_set(MLP_EFORMAT, "%s: truncated .npy header", name);
    if (hl == 0 || text[hl - 1] != '\n')
        return mlp_error_set(MLP_EFORMAT, "%s: bad .npy header: it does not "
                             "end with a newline", name);
    (void)fixed;
    if ((rc = mlp_npy_parse_dict(text, hl, name, h)) != 0)
        return rc;
    return check_size(in, h);
}

#define CHUNK 4096

/* Read `count` values into raw; truncation names the row. */
static int read_values(mlp_input_t *in, const mlp_npy_header_t *h,
                       size_t row0, size_t first, size_t count, uint8_t *raw)
{
    size_t got;
    int rc;

    if ((rc = mlp_input_read(in, raw, count * h->elsize, &got)) != 0)
        return rc;
    if (got < count * h->elsize)
        return mlp_error_set(MLP_EFORMAT, "%s: truncated .npy data: row %zu "
                             "is incomplete (the header says %zu rows)",
                             mlp_input_name(in),
                             row0 + (first + got / h->elsize) / h->d, h->n);
    return 0;
}

int mlp_npy_read_f32(mlp_input_t *in, const mlp_npy_header_t *h,
                     size_t row0, size_t rows, float *dst)
{
    uint8_t raw[CHUNK * 8];
    size_t total = rows * h->d;
    int rc;

    for (size_t done = 0; done < total;) {
        size_t k = total - done < CHUNK ? total - done : CHUNK;

        if ((rc = read_values(in, h, row0, done, k, raw)) != 0)
            return rc;
        for (size_t i = 0; i < k; i++) {
            float v;

            if (h->dtype == MLP_NPY_F4) {
                memcpy(&v, raw + 4 * i, 4);
            } else if (h->dtype == MLP_NPY_F8) {
                double x;

                memcpy(&x, raw + 8 * i, 8);
                v = (float)x;
            } else if (h->dtype == MLP_NPY_U1) {
                v = raw[i];
            } else {
                return mlp_error_set(MLP_EFORMAT, "%s: .npy dtype '%s' is "
                                     "not a features dtype (uint8, float32, "
                                     "float64)", mlp_input_name(in),
                                     h->descr);
            }
            if (!isfinite(v))
                return mlp_error_set(MLP_EFORMAT, "%s: row %zu, column %zu: "
                                     "%s value", mlp_input_name(in),
                                     row0 + (done + i) / h->d,
                                     (done + i) % h->d,
                                     isnan(v) ? "NaN" : "infinite (or "
                                     "beyond float range)");
            dst[done + i] = v;
        }
        done += k;
    }
    return 0;
}

int mlp_npy_read_u8(mlp_input_t *in, const mlp_npy_header_t *h,
                    size_t row0, size_t rows, uint8_t *dst)
{
    if (h->dtype != MLP_NPY_U1)
        return mlp_error_set(MLP_EFORMAT, "%s: expected uint8 data, the "
                             "file has '%s'", mlp_input_name(in), h->descr);
    return read_values(in, h, row0, 0, rows * h->d, dst);
}

int mlp_npy_read_labels(mlp_input_t *in, const mlp_npy_header_t *h,
                        size_t row0, size_t rows, int32_t *dst)
{
    uint8_t raw[CHUNK * 8];
    int rc;

    if (mlp_npy_is_float(h->dtype))
        return mlp_error_set(MLP_EFORMAT, "%s: labels must be integers; the "
                             "file has dtype '%s'", mlp_input_name(in),
                             h->descr);
    if (h->ndim != 1)
        return mlp_error_set(MLP_EFORMAT, "%s: labels must have shape (n,); "
                             "the file has (%zu, %zu)", mlp_input_name(in),
                             h->n, h->d);
    for (size_t done = 0; done < rows;) {
        size_t k = rows - done < CHUNK ? rows - done : CHUNK;

        if ((rc = read_values(in, h, row0, done, k, raw)) != 0)
            return rc;
        for (size_t i = 0; i < k; i++) {
            const uint8_t *p = raw + i * h->elsize;
            int64_t v = 0;
            uint64_t u = 0;

            for (size_t b = 0; b < h->elsize; b++)
                u |= (uint64_t)p[b] << (8 * b);
            switch (h->dtype) {
            case MLP_NPY_I1: v = (int8_t)u; break;
            case MLP_NPY_I2: v = (int16_t)u; break;
            case MLP_NPY_I4: v = (int32_t)u; break;
            case MLP_NPY_I8: v = (int64_t)u; break;
            default: v = u > MLP_NPY_MAX_LABEL ? -1 : (int64_t)u; break;
            }
            if (v < 0 || v > MLP_NPY_MAX_LABEL)
                return mlp_error_set(MLP_EFORMAT, "%s: row %zu, column 0: "
                                     "label not in 0..%d",
                                     mlp_input_name(in), row0 + done + i,
                                     MLP_NPY_MAX_LABEL);
            dst[done + i] = (int32_t)v;
        }
        done += k;
    }
    return 0;
}

int mlp_npy_check_end(mlp_input_t *in)
{
    const uint8_t *p;
    size_t got;
    int rc;

    if ((rc = mlp_input_peek(in, 1, &p, &got)) != 0)
        return rc;
    if (got > 0)
        return mlp_error_set(MLP_EFORMAT, "%s: bytes after the .npy array "
                             "(its shape does not cover the file)",
                             mlp_input_name(in));
    return 0;
}
