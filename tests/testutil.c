/*
 * testutil: see testutil.h.
 */
#define _GNU_SOURCE
#include <check.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "mlptrain/error.h"
#include "mlptrain/idx.h"
#include "mlptrain/loader.h"
#include "mlptrain/net.h"
#include "mlptrain/rng.h"
#include "mlptrain/table.h"
#include "testutil.h"

TCase *tu_tcase(Suite *s, const char *name, double seconds)
{
    TCase *tc = tcase_create(name);

    if (seconds > 0)
        tcase_set_timeout(tc, seconds);
    suite_add_tcase(s, tc);
    return tc;
}

char *tu_mkdtemp(void)
{
    const char *base = getenv("TMPDIR");
    char *dir;

    if (base == NULL || base[0] == '\0')
        base = "/tmp";
    if (asprintf(&dir, "%s/mlptrain-test-XXXXXX", base) < 0)
        abort();
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    return dir;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmtree(char *dir)
{
    if (dir == NULL)
        return;
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

char *tu_path(const char *dir, const char *name)
{
    char *p;

    if (asprintf(&p, "%s/%s", dir, name) < 0)
        abort();
    return p;
}

void tu_need_file(const char *path, const char *package)
{
    ck_assert_msg(access(path, R_OK) == 0,
                  "%s not found: ./bootstrap installs it (Debian package %s)",
                  path, package);
}

int tu_write_bytes(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    int ok;

    if (f == NULL)
        return -1;
    ok = fwrite(buf, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

uint8_t *tu_read_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long size;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)size + 1);
        if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
            free(buf);
            buf = NULL;
        }
        *len = (size_t)size;
    }
    fclose(f);
    return buf;
}

uint8_t *tu_pattern(size_t n, uint8_t seed)
{
    uint8_t *p = malloc(n + 1);

    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 37 + seed);
    return p;
}

char *tu_read_text(const char *path)
{
    size_t len;
    char *t = (char *)tu_read_bytes(path, &len);

    ck_assert_msg(t != NULL, "cannot read '%s'", path);
    t[len] = '\0'; /* tu_read_bytes leaves a byte for it */
    return t;
}

char *tu_stream_text(FILE *f)
{
    long n;
    char *t;

    ck_assert_int_eq(fflush(f), 0);
    n = ftell(f);
    ck_assert_int_ge(n, 0);
    t = calloc(1, (size_t)n + 1);
    ck_assert_ptr_nonnull(t);
    rewind(f);
    ck_assert_uint_eq(fread(t, 1, (size_t)n, f), (size_t)n);
    return t;
}

uint8_t *tu_idx_bytes(const uint32_t *dims, unsigned ndims,
                      const uint8_t *data, size_t *len)
{
    size_t n = 1, hlen = 4 + 4 * (size_t)ndims;
    uint8_t *buf;

    for (unsigned i = 0; i < ndims; i++)
        n *= dims[i];
    if ((buf = calloc(1, hlen + n + 1)) == NULL)
        abort();
    buf[2] = 0x08;
    buf[3] = (uint8_t)ndims;
    for (unsigned i = 0; i < ndims; i++) {
        buf[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        buf[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        buf[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        buf[7 + 4 * i] = (uint8_t)dims[i];
    }
    if (data != NULL && n > 0)
        memcpy(buf + hlen, data, n);
    *len = hlen + n;
    return buf;
}

uint8_t *tu_gzip(const void *buf, size_t len, size_t *out_len)
{
    z_stream zs;
    uint8_t *out;
    uLong cap;

    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    cap = deflateBound(&zs, (uLong)len) + 32;
    if ((out = malloc(cap)) == NULL)
        abort();
    zs.next_in = (Bytef *)buf;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    *out_len = (size_t)zs.total_out;
    deflateEnd(&zs);
    return out;
}

int tu_write_idx(const char *path, const uint32_t *dims, unsigned ndims,
                 const uint8_t *data, int gzip)
{
    uint8_t hdr[4 + 4 * 8];
    size_t n = 1, hlen = 4 + 4 * (size_t)ndims;
    int rc = -1;

    hdr[0] = 0;
    hdr[1] = 0;
    hdr[2] = 0x08;
    hdr[3] = (uint8_t)ndims;
    for (unsigned i = 0; i < ndims; i++) {
        hdr[4 + 4 * i] = (uint8_t)(dims[i] >> 24);
        hdr[5 + 4 * i] = (uint8_t)(dims[i] >> 16);
        hdr[6 + 4 * i] = (uint8_t)(dims[i] >> 8);
        hdr[7 + 4 * i] = (uint8_t)dims[i];
        n *= dims[i];
    }
    if (gzip) {
        gzFile g = gzopen(path, "wb6");
        if (g == NULL)
            return -1;
        if (gzwrite(g, hdr, (unsigned)hlen) == (int)hlen &&
            (n == 0 || gzwrite(g, data, (unsigned)n) == (int)n))
            rc = 0;
        if (gzclose(g) != Z_OK)
            rc = -1;
    } else {
        FILE *f = fopen(path, "wb");
        if (f == NULL)
            return -1;
        if (fwrite(hdr, 1, hlen, f) == hlen && fwrite(data, 1, n, f) == n)
            rc = 0;
        if (fclose(f) != 0)
            rc = -1;
    }
    return rc;
}

size_t tu_mutate(mlp_rng_t *r, uint8_t *buf, size_t len, int op, uint64_t v,
                 size_t pos)
{
    switch (op) {
    case TU_FLIP_BIT:
        if (len)
            buf[pos] ^= (uint8_t)(1u << (v >> 8 & 7));
        return len;
    case TU_RANDOM_BYTE:
        if (len)
            buf[pos] = (uint8_t)(v >> 8);
        return len;
    case TU_TRUNCATE:
        return len ? (size_t)(mlp_rng_u64(r) % len) : 0;
    case TU_APPEND: { /* 1..16 random bytes */
        size_t n = 1 + (size_t)(v >> 8 & 15);

        for (size_t i = 0; i < n; i++)
            buf[len + i] = (uint8_t)mlp_rng_u64(r);
        return len + n;
    }
    default: /* TU_DROP_BYTE */
        if (len) {
            memmove(buf + pos, buf + pos + 1, len - pos - 1);
            len--;
        }
        return len;
    }
}

/* One random change (see tu_fuzz_t); the new length. */
static size_t fuzz_change(const tu_fuzz_t *f, mlp_rng_t *r, uint8_t *buf,
                          size_t len)
{
    uint64_t v = mlp_rng_u64(r);
    size_t pos = len ? (size_t)(mlp_rng_u64(r) % len) : 0;
    unsigned w = f->header_weight, k = (unsigned)(v % (5 + w));

    if (k == 0)
        return tu_mutate(r, buf, len, TU_FLIP_BIT, v, pos);
    if (k == 1)
        return tu_mutate(r, buf, len, TU_RANDOM_BYTE, v, pos);
    if (k < 2 + w)
        return f->header(buf, len, v, f->arg);
    if (k == 2 + w)
        return tu_mutate(r, buf, len, TU_TRUNCATE, v, pos);
    if (k == 3 + w)
        return tu_mutate(r, buf, len, TU_APPEND, v, pos);
    return tu_mutate(r, buf, len, TU_DROP_BYTE, v, pos);
}

/* f->consistent of an exact-size heap copy of buf (fixed first). */
static int fuzz_one(const tu_fuzz_t *f, const uint8_t *buf, size_t len,
                    int *accepted)
{
    uint8_t *copy = malloc(len ? len : 1);
    int bad;

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, buf, len);
    if (f->fix != NULL)
        f->fix(copy, len);
    bad = f->consistent(copy, len, f->arg, accepted);
    free(copy);
    return bad;
}

int tu_fuzz_mutants(const tu_fuzz_t *f, const uint8_t *base, size_t len,
                    int n, uint64_t stream)
{
    mlp_rng_t r;
    uint8_t *work = malloc(len + 16 * 4);
    int naccepted = 0;

    ck_assert_ptr_nonnull(work);
    mlp_rng_seed(&r, f->seed, stream);
    for (int i = 0; i < n; i++) {
        size_t wlen = len;
        int rounds = 1 + (int)(mlp_rng_u64(&r) % 3), accepted;

        memcpy(work, base, len);
        for (int k = 0; k < rounds; k++)
            wlen = fuzz_change(f, &r, work, wlen);
        if (fuzz_one(f, work, wlen, &accepted))
            ck_abort_msg("mutant %d (%s, %zu bytes) handled inconsistently: "
                         "'%s'", i, f->what, wlen, mlp_error_message());
        naccepted += accepted;
    }
    free(work);
    return naccepted;
}

void tu_fuzz_prefixes(const tu_fuzz_t *f, const uint8_t *base, size_t len)
{
    for (size_t n = 0; n <= len; n++) {
        int accepted;

        ck_assert_msg(!fuzz_one(f, base, n, &accepted), "%s, prefix %zu: '%s'",
                      f->what, n, mlp_error_message());
        ck_assert_int_eq(accepted, n == len);
    }
}

void tu_fill_samples(uint8_t *images, uint8_t *labels, size_t n, size_t dim,
                     size_t nclasses, uint64_t seed, uint64_t stream)
{
    mlp_rng_t r;

    for (size_t i = 0; i < n; i++) {
        size_t k;
        mlp_rng_t proto;

        mlp_rng_seed(&r, seed ^ 0x5a5a, stream * 1000003 + i);
        k = (size_t)(mlp_rng_u64(&r) % nclasses);
        labels[i] = (uint8_t)k;
        /* Prototype of class k: the same for every sample of the class. */
        mlp_rng_seed(&proto, seed, 1000 + k);
        for (size_t j = 0; j < dim; j++) {
            int v = (mlp_rng_u64(&proto) & 1) ? 180 : 40;
            v += (int)(mlp_rng_normal(&r) * 40.0);
            images[i * dim + j] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

int tu_make_dataset(const char *dir, size_t ntrain, size_t ntest,
                    size_t rows, size_t cols, size_t nclasses,
                    uint64_t seed, int gzip)
{
    static const char *names[4] = {
        "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
        "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    size_t dim = rows * cols;
    int rc = -1;

    for (int split = 0; split < 2; split++) {
        size_t n = split == 0 ? ntrain : ntest;
        uint8_t *img = malloc(n * dim + 1), *lab = malloc(n + 1);
        uint32_t idims[3] = {(uint32_t)n, (uint32_t)rows, (uint32_t)cols};
        uint32_t ldims[1] = {(uint32_t)n};
        char *pi, *pl, *gi, *gl;

        if (img == NULL || lab == NULL)
            abort();
        tu_fill_samples(img, lab, n, dim, nclasses, seed, (uint64_t)split);
        if (split == 0 && n > 0) /* the class count is max label + 1 */
            lab[0] = (uint8_t)(nclasses - 1);
        if (asprintf(&gi, "%s%s", names[2 * split], gzip ? ".gz" : "") < 0 ||
            asprintf(&gl, "%s%s", names[2 * split + 1], gzip ? ".gz" : "") < 0)
            abort();
        pi = tu_path(dir, gi);
        pl = tu_path(dir, gl);
        rc = tu_write_idx(pi, idims, 3, img, gzip) == 0 &&
                     tu_write_idx(pl, ldims, 1, lab, gzip) == 0
                 ? 0
                 : -1;
        free(pi);
        free(pl);
        free(gi);
        free(gl);
        free(img);
        free(lab);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- IDX through the road ------------------------------------------- */

/* Every row of an open IDX table: its features, or its labels. */
static int read_table(mlp_table_t *t, const char *name, int as_labels,
                      tu_got_t *g)
{
    size_t n = mlp_table_rows(t), dim = mlp_table_dim(t), got;
    uint8_t *x;
    int32_t *y = NULL;
    int rc;

    if (mlp_table_format(t) != MLP_FORMAT_IDX)
        return mlp_error_set(MLP_EFORMAT, "%s: not IDX (read as %s)", name,
                             mlp_table_format_name(mlp_table_format(t)));
    if ((x = malloc(n * dim + 1)) == NULL ||
        (as_labels && (y = malloc(n * sizeof(*y) + 1)) == NULL))
        abort();
    rc = mlp_table_next(t, n, x, NULL, y, NULL, &got);
    if (rc == 0 && got != n)
        rc = TU_ROAD_BROKEN;
    g->count = n;
    g->item = as_labels ? 1 : dim;
    for (size_t i = 0; rc == 0 && as_labels && i < n; i++) {
        if (y[i] < 0 || y[i] > 255)
            rc = TU_ROAD_BROKEN;
        x[i] = (uint8_t)y[i];
    }
    free(y);
    if (rc != 0) {
        free(x);
        x = NULL;
    }
    g->data = x;
    return rc;
}

int tu_idx_road(const uint8_t *buf, size_t len, const char *name,
                int as_labels, tu_got_t *g)
{
    mlp_table_opts_t o;
    mlp_table_t *t = NULL;
    uint8_t *feat = NULL;
    size_t flen = 0;
    int rc;

    memset(&o, 0, sizeof(o));
    memset(g, 0, sizeof(*g));
    o.path = as_labels ? "features.idx" : name;
    o.labels_path = as_labels ? name : NULL;
    o.want_labels = as_labels;
    if (as_labels) {
        uint32_t d[2] = {tu_idx_declared(buf, len), 1};

        feat = tu_idx_bytes(d, 2, NULL, &flen);
    }
    mlp_error_clear();
    rc = mlp_table_open_mem(&o, as_labels ? feat : buf,
                            as_labels ? flen : len, as_labels ? buf : NULL,
                            len, &t);
    if (rc == 0)
        rc = read_table(t, name, as_labels, g);
    mlp_table_close(t);
    free(feat);
    return rc;
}

int tu_idx_road_file(const char *path, int as_labels, tu_got_t *g,
                     uint64_t *size, uint32_t *crc)
{
    mlp_table_opts_t o;
    mlp_table_t *t = NULL;
    char *fpath = NULL;
    uint64_t sz[2];
    uint32_t cr[2];
    int rc;

    memset(&o, 0, sizeof(o));
    memset(g, 0, sizeof(*g));
    o.path = path;
    if (as_labels) {
        size_t len = 0, flen;
        uint8_t *disk = tu_read_bytes(path, &len), *feat;
        uint32_t d[2] = {disk != NULL ? tu_idx_declared(disk, len) : 0, 1};

        feat = tu_idx_bytes(d, 2, NULL, &flen);
        if (asprintf(&fpath, "%s.features", path) < 0 ||
            tu_write_bytes(fpath, feat, flen) != 0)
            abort();
        free(disk);
        free(feat);
        o.path = fpath;
        o.labels_path = path;
        o.want_labels = 1;
    }
    mlp_error_clear();
    rc = mlp_table_open(&o, &t);
    if (rc == 0)
        rc = read_table(t, path, as_labels, g);
    if (rc == 0 && size != NULL) {
        if ((rc = mlp_table_file_sums(t, sz, cr)) == 0) {
            *size = sz[as_labels];
            *crc = cr[as_labels];
        } else {
            free(g->data);
            g->data = NULL;
        }
    }
    mlp_table_close(t);
    if (fpath != NULL)
        unlink(fpath);
    free(fpath);
    return rc;
}

/* ---- loader splits -------------------------------------------------- */

void tu_split_make(tu_split_t *t, size_t n, size_t dim, uint64_t stream)
{
    t->images = malloc(n * dim + 1);
    t->labels = malloc(n + 1);
    if (t->images == NULL || t->labels == NULL)
        abort();
    tu_fill_samples(t->images, t->labels, n, dim, 10, 42, stream);
    for (size_t i = 0; i < n && dim >= 2; i++) {
        t->images[i * dim] = (uint8_t)(i & 255);
        t->images[i * dim + 1] = (uint8_t)(i >> 8);
    }
    t->split = (mlp_split_t){.n = n, .dim = dim, .images = t->images,
                             .labels = t->labels};
}

void tu_split_free(tu_split_t *t)
{
    free(t->images);
    free(t->labels);
}

mlp_loader_opts_t tu_loader_opts(const tu_split_t *train,
                                 const tu_split_t *test, unsigned epochs,
                                 unsigned workers)
{
    mlp_loader_opts_t o;

    memset(&o, 0, sizeof(o));
    o.train = &train->split;
    o.test = test != NULL ? &test->split : NULL;
    o.batch = TU_LOADER_BATCH;
    o.first_epoch = 1;
    o.epochs = epochs;
    o.seed = 7;
    o.shuffle = 1;
    o.workers = workers;
    return o;
}

uint8_t *tu_loader_run_all(const mlp_loader_opts_t *o, size_t *len)
{
    mlp_loader_t *ld;
    mlp_batch_t b;
    size_t dim = o->train->dim, cap = 1 << 16, used = 0;
    size_t vb = o->bf16 ? sizeof(mlp_bf16_t) : sizeof(float);
    uint8_t *buf = malloc(cap);
    int rc;

    if (buf == NULL || mlp_loader_create(o, &ld) != 0)
        abort();
    while ((rc = mlp_loader_next(ld, &b)) == 0) {
        size_t meta[5] = {b.epoch, (size_t)b.phase, b.index, (size_t)b.last,
                          b.n};
        size_t need = sizeof(meta) + b.n * dim * vb + b.n * sizeof(int32_t);

        while (used + need > cap) {
            cap *= 2;
            if ((buf = realloc(buf, cap)) == NULL)
                abort();
        }
        memcpy(buf + used, meta, sizeof(meta));
        used += sizeof(meta);
        memcpy(buf + used, b.x, b.n * dim * vb);
        used += b.n * dim * vb;
        memcpy(buf + used, b.y, b.n * sizeof(int32_t));
        used += b.n * sizeof(int32_t);
        mlp_loader_release(ld, &b);
    }
    if (rc != MLP_ERANGE)
        abort();
    mlp_loader_destroy(ld);
    *len = used;
    return buf;
}

int tu_bf16_here(const char *test)
{
    char why[192];

    if (mlp_net_bf16_available(why, sizeof(why)))
        return 1;
    fprintf(stderr, "%s: skipped: %s\n", test, why);
    return 0;
}
