/*
 * export_npz: a checkpoint's model as a NumPy .npz (see export.h): a zip
 * archive of .npy files, as numpy.savez writes it (entries stored, not
 * deflated; every array readable with allow_pickle=False).
 *
 * Why libzip: an .npz is a zip archive (local headers, a central
 * directory, CRC-32s, zip64 past 4 GiB); zlib has the CRC and deflate but
 * writes no zip container.  The archive is built in memory (libzip's
 * buffer source) and written through outfile, the one door for outputs,
 * which needs the bytes, not a path libzip would open itself.  The
 * entries' times are fixed (2000-01-01, local time) so that one model
 * always gives the same bytes.
 *
 * Non-goals: reading .npz, pickled objects, compression.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zip.h>

#include "mlptrain/error.h"
#include "mlptrain/export.h"
#include "mlptrain/outfile.h"
#include "export_internal.h"

/* Arrays are written from memory as '<f4' and '<i8'. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "export_npz.c writes host floats as little-endian '<f4'"
#endif

#define NPY_HEADER_MAX 1024
#define ZIP_MTIME ((time_t)946684800) /* 2000-01-01 */

/* The archive being built: its entries' bytes live until zip_close. */
typedef struct {
    zip_t *za;
    uint8_t **keep;
    size_t nkeep;
    const char *what; /* for messages */
} npz_t;

static int zip_fail(npz_t *z, const char *entry, zip_error_t *ze)
{
    return mlp_error_set(MLP_EIO, "cannot build %s (entry '%s'): %s",
                         z->what, entry,
                         ze != NULL ? zip_error_strerror(ze)
                                    : zip_error_strerror(zip_get_error(z->za)));
}

/* Add NAME.npy: the header for descr and shape, then nbytes of data. */
static int add_array(npz_t *z, const char *name, const char *descr,
                     const size_t *shape, size_t ndim, const void *data,
                     size_t nbytes)
{
    uint8_t hdr[NPY_HEADER_MAX], *npy;
    size_t hlen;
    char entry[64];
    zip_source_t *src;
    zip_int64_t idx;
    int rc;

    snprintf(entry, sizeof(entry), "%s.npy", name);
    if ((rc = mlp_export_npy_header(descr, shape, ndim, hdr, sizeof(hdr),
                                    &hlen)) < 0)
        return rc;
    if ((npy = malloc(hlen + nbytes)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory for '%s'", entry);
    memcpy(npy, hdr, hlen);
    if (nbytes > 0)
        memcpy(npy + hlen, data, nbytes);
    z->keep[z->nkeep++] = npy;
    if ((src = zip_source_buffer(z->za, npy, hlen + nbytes, 0)) == NULL)
        return zip_fail(z, entry, NULL);
    if ((idx = zip_file_add(z->za, entry, src, ZIP_FL_ENC_UTF_8)) < 0) {
        zip_source_free(src);
        return zip_fail(z, entry, NULL);
    }
    if (zip_set_file_compression(z->za, (zip_uint64_t)idx, ZIP_CM_STORE,
                                 0) != 0 ||
        zip_file_set_mtime(z->za, (zip_uint64_t)idx, ZIP_MTIME, 0) != 0)
        return zip_fail(z, entry, NULL);
    return 0;
}

/*
 * Decode one UTF-8 character of s (NUL-terminated) into *cp; the bytes
 * used, or 0 when s does not start with a valid character (overlong
 * forms, surrogates and code points past U+10FFFF are not).
 */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
    size_t n;
    uint32_t c;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, c = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, c = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, c = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < min[n - 1] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

/*
 * n strings as NumPy's '<U' array: UTF-32LE code points, each padded with
 * zeros to the longest (at least 1).  A new malloc'd buffer of n * *width
 * code points (4 bytes each).  MLP_EINVAL naming the string that is not UTF-8.
 */
static int utf32_array(const char *const *s, size_t n, uint8_t **out,
                       size_t *width)
{
    size_t w = 1;
    uint8_t *a;

    *out = NULL;
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        uint32_t cp;

        for (const char *p = s[i]; *p; len++) {
            size_t k = utf8_decode((const unsigned char *)p, &cp);

            if (k == 0)
                return mlp_error_set(MLP_EINVAL, "class name %zu is not "
                                                 "UTF-8 text",
                                     i);
            p += k;
        }
        w = len > w ? len : w;
    }
    if ((a = calloc(n > 0 ? n * w : 1, 4)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory for class names");
    for (size_t i = 0; i < n; i++) {
        size_t j = 0;

        for (const char *p = s[i]; *p; j++) {
            uint32_t cp = 0;

            uint8_t *q = a + 4 * (i * w + j);

            p += utf8_decode((const unsigned char *)p, &cp);
            q[0] = (uint8_t)cp; /* little-endian on any host */
            q[1] = (uint8_t)(cp >> 8);
            q[2] = (uint8_t)(cp >> 16);
            q[3] = (uint8_t)(cp >> 24);
        }
    }
    *out = a;
    *width = w;
    return 0;
}

int mlp_export_npz_encode(const mlp_checkpoint_t *ck,
                          const mlp_class_names_t *cn, uint8_t **buf,
                          size_t *len)
{
    mlp_export_layers_t L;
    npz_t z = {NULL, NULL, 0, "the .npz archive"};
    zip_error_t ze;
    zip_source_t *mem = NULL;
    zip_stat_t st;
    float *shift = NULL, *scale = NULL;
    uint8_t *names = NULL, *actu = NULL;
    int64_t sizes[MLP_MAX_HIDDEN + 2];
    const char *act = mlp_export_act(ck);
    size_t width = 0, awidth = 0, shape[2];
    int rc;

    *buf = NULL;
    *len = 0;
    zip_error_init(&ze);
    if ((rc = mlp_export_layers(ck, &L)) < 0)
        return rc;
    if (cn->n != ck->out)
        return mlp_error_set(MLP_EINVAL, "%zu class names for %zu classes",
                             cn->n, ck->out);
    shift = malloc(ck->in * sizeof(*shift));
    scale = malloc(ck->in * sizeof(*scale));
    z.keep = calloc(2 * L.nlayers + 5, sizeof(*z.keep));
    if (shift == NULL || scale == NULL || z.keep == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for the .npz archive");
        goto out;
    }
    if ((rc = mlp_export_transform(ck, shift, scale)) < 0 ||
        (rc = utf32_array((const char *const *)cn->names, cn->n, &names,
                          &width)) < 0 ||
        (rc = utf32_array(&act, 1, &actu, &awidth)) < 0)
        goto out;
    if ((mem = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL ||
        (z.za = zip_open_from_source(mem, ZIP_TRUNCATE, &ze)) == NULL) {
        rc = mlp_error_set(MLP_EIO, "cannot build the .npz archive: %s",
                           zip_error_strerror(&ze));
        goto out;
    }
    zip_source_keep(mem); /* zip_close writes into it; we read it after */
    for (size_t l = 0; l < L.nlayers; l++) {
        char wn[24], bn[24]; /* "W" or "b", up to 20 digits, NUL */

        snprintf(wn, sizeof(wn), "W%zu", l);
        snprintf(bn, sizeof(bn), "b%zu", l);
        shape[0] = L.out[l];
        shape[1] = L.in[l];
        if ((rc = add_array(&z, wn, "<f4", shape, 2, L.w[l],
                            L.out[l] * L.in[l] * sizeof(float))) < 0 ||
            (rc = add_array(&z, bn, "<f4", shape, 1, L.b[l],
                            L.out[l] * sizeof(float))) < 0)
            goto out;
    }
    sizes[0] = (int64_t)ck->in;
    for (size_t l = 0; l < L.nlayers; l++)
        sizes[l + 1] = (int64_t)L.out[l];
    shape[0] = ck->in;
    {
        char ud[16], ua[16];
        size_t nsizes = L.nlayers + 1;

        snprintf(ud, sizeof(ud), "<U%zu", width);
        snprintf(ua, sizeof(ua), "<U%zu", awidth);
        if ((rc = add_array(&z, "shift", "<f4", shape, 1, shift,
                            ck->in * sizeof(float))) < 0 ||
            (rc = add_array(&z, "scale", "<f4", shape, 1, scale,
                            ck->in * sizeof(float))) < 0 ||
            (rc = add_array(&z, "sizes", "<i8", &nsizes, 1, sizes,
                            nsizes * sizeof(int64_t))) < 0 ||
            (rc = add_array(&z, "activation", ua, NULL, 0, actu,
                            awidth * 4)) < 0 ||
            (rc = add_array(&z, "class_names", ud, &cn->n, 1, names,
                            cn->n * width * 4)) < 0)
            goto out;
    }
    if (zip_close(z.za) != 0) {
        rc = zip_fail(&z, "(closing)", NULL);
        goto out;
    }
    z.za = NULL;
    if (zip_source_stat(mem, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
        zip_source_open(mem) != 0) {
        rc = mlp_error_set(MLP_EIO, "cannot read the .npz archive back: %s",
                           zip_error_strerror(zip_source_error(mem)));
        goto out;
    }
    if ((*buf = malloc(st.size ? st.size : 1)) == NULL) {
        zip_source_close(mem);
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for the .npz archive");
        goto out;
    }
    if (zip_source_read(mem, *buf, st.size) != (zip_int64_t)st.size) {
        zip_source_close(mem);
        rc = mlp_error_set(MLP_EIO, "cannot read the .npz archive back: %s",
                           zip_error_strerror(zip_source_error(mem)));
        goto out;
    }
    zip_source_close(mem);
    *len = st.size;
out:
    if (z.za != NULL)
        zip_discard(z.za);
    if (mem != NULL)
        zip_source_free(mem);
    for (size_t i = 0; i < z.nkeep; i++)
        free(z.keep[i]);
    free(z.keep);
    free(shift);
    free(scale);
    free(names);
    free(actu);
    zip_error_fini(&ze);
    if (rc < 0) {
        free(*buf);
        *buf = NULL;
        *len = 0;
    }
    return rc;
}

/* The written file starts as a zip archive does. */
static int valid_npz(int fd, const char *path, void *arg)
{
    uint8_t sig[4];

    (void)arg;
    if (pread(fd, sig, 4, 0) != 4 || memcmp(sig, "PK\x03\x04", 4) != 0)
        return mlp_out_invalid(path, "a zip archive");
    return 0;
}

int mlp_export_npz(const mlp_checkpoint_t *ck, const mlp_class_names_t *cn,
                   const char *path)
{
    return mlp_export_write(path, mlp_export_npz_encode, ck, cn, valid_npz);
}
