/*
 * Unit tests of the data readers: npy (header dict, dtypes, conversion),
 * csv (layout, header detection, values), input (gzip), table (format
 * sniffing, labels files), the dataset of files (class names, limits,
 * hold-out of real rows) and transform (fit against statistics computed
 * here).  Every hostile input must fail with the file, the row or line
 * and the column in the message.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check_main.h"
#include "mlptrain/csv.h"
#include "mlptrain/dataset.h"
#include "mlptrain/error.h"
#include "mlptrain/npy.h"
#include "mlptrain/table.h"
#include "mlptrain/transform.h"
#include "testutil.h"

/* A .npy file in memory: version 1, the dict (of dtype descr and shape
 * text, e.g. "<f4" and "(3, 2)") padded as numpy pads it. */
static size_t make_npy(uint8_t *buf, const char *descr, const char *shape,
                       const void *data, size_t n)
{
    char dict[256];
    size_t dl = (size_t)snprintf(dict, sizeof(dict), "{'descr': '%s', "
                                 "'fortran_order': False, 'shape': %s, }",
                                 descr, shape);
    size_t hl = (10 + dl + 1 + 63) / 64 * 64 - 10;

    ck_assert_uint_lt(dl, sizeof(dict));
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (uint8_t)(hl & 0xff);
    buf[9] = (uint8_t)(hl >> 8);
    memcpy(buf + 10, dict, dl);
    memset(buf + 10 + dl, ' ', hl - dl - 1);
    buf[10 + hl - 1] = '\n';
    memcpy(buf + 10 + hl, data, n);
    return 10 + hl + n;
}

/* Opens the .npy image buf[0..len) as name and reads its header, which
 * must give want (0 or an error code). */
static mlp_input_t *npy_open(const uint8_t *buf, size_t len, const char *name,
                             mlp_npy_header_t *h, int want)
{
    mlp_input_t *in;

    ck_assert_int_eq(mlp_input_open_mem(buf, len, name, &in), 0);
    ck_assert_int_eq(mlp_npy_read_header(in, h), want);
    return in;
}

/* make_npy into buf, opened as name with its header read. */
static mlp_input_t *npy_mem(uint8_t *buf, const char *descr,
                            const char *shape, const void *data, size_t n,
                            const char *name, mlp_npy_header_t *h)
{
    return npy_open(buf, make_npy(buf, descr, shape, data, n), name, h, 0);
}

static char *write_tmp(char **dir, const char *name, const void *b,
                       size_t n)
{
    char *p;

    if (*dir == NULL)
        *dir = tu_mkdtemp();
    p = tu_path(*dir, name);
    ck_assert_int_eq(tu_write_bytes(p, b, n), 0);
    return p;
}

/* ---- npy ------------------------------------------------------------ */

START_TEST(test_npy_dict)
{
    mlp_npy_header_t h;
    const char *ok = "{'descr': '<f4', 'fortran_order': False, "
                     "'shape': (3, 2), }";

    ck_assert_int_eq(mlp_npy_parse_dict(ok, strlen(ok), "a.npy", &h), 0);
    ck_assert_int_eq(h.dtype, MLP_NPY_F4);
    ck_assert_uint_eq(h.n, 3);
    ck_assert_uint_eq(h.d, 2);
    ck_assert_uint_eq(h.ndim, 2);
    ok = "{\"shape\": (5,), \"fortran_order\": False, \"descr\": \"|u1\"}";
    ck_assert_int_eq(mlp_npy_parse_dict(ok, strlen(ok), "a.npy", &h), 0);
    ck_assert_uint_eq(h.ndim, 1);
    ck_assert_uint_eq(h.n, 5);
    ck_assert_int_eq(h.dtype, MLP_NPY_U1);
}
END_TEST

START_TEST(test_npy_dict_hostile)
{
    static const struct {
        const char *dict, *want;
    } bad[] = {
        {"{'descr': '>f4', 'fortran_order': False, 'shape': (3, 2)}",
         "big-endian"},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (3, 2)}",
         "'|O' is not supported"},
        {"{'descr': '<U3', 'fortran_order': False, 'shape': (3, 2)}",
         "not supported"},
        {"{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2)}",
         "Fortran order"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2, 2)}",
         "3 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': ()}",
         "0 dimensions"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 0)}",
         "no features"},
        {"{'descr': '<f4', 'fortran_order': False}", "missing"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), "
         "'x': 1}", "unexpected key 'x'"},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
         "'shape': (3,)}", "unexpected key 'descr'"},
        {"{'descr': '<f4' 'fortran_order': False, 'shape': (3,)}",
         "expected ',' or '}'"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} x",
         "bytes after the dict"},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}",
         "expected a quoted string"},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': "
         "(99999999999999999999,)}", "too large"},
    };
    mlp_npy_header_t h;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mlp_error_clear();
        ck_assert_int_eq(mlp_npy_parse_dict(bad[i].dict, strlen(bad[i].dict),
                                            "bad.npy", &h), MLP_EFORMAT);
        ck_assert_msg_has("bad.npy: ");
        ck_assert_msg_has(bad[i].want);
    }
}
END_TEST

START_TEST(test_npy_values)
{
    uint8_t buf[512];
    float f[6] = {1.5f, -2.0f, 0.0f, 3.25f, 1e-3f, 7.0f}, out[6];
    double d[4] = {0.1, 1e300, 2.0, 3.0};
    mlp_input_t *in;
    mlp_npy_header_t h;
    size_t len;

    len = make_npy(buf, "<f4", "(3, 2)", f, sizeof(f));
    in = npy_open(buf, len, "f.npy", &h, 0);
    ck_assert_int_eq(mlp_npy_read_f32(in, &h, 0, 3, out), 0);
    ck_assert(memcmp(out, f, sizeof(f)) == 0);
    ck_assert_int_eq(mlp_npy_check_end(in), 0);
    mlp_input_close(in);
    /* Truncated: a plain file's size is checked against its shape at
     * the header, before any row; a gzip stream's at the row. */
    in = npy_open(buf, len - 5, "f.npy", &h, MLP_EFORMAT);
    ck_assert_msg_has("f.npy: truncated: the .npy shape (3, 2) of '<f4' needs more "
            "data than the 19 bytes after the header");
    mlp_input_close(in);
    {
        size_t zl;
        uint8_t *z = tu_gzip(buf, len - 5, &zl);

        in = npy_open(z, zl, "f.npy.gz", &h, 0);
        ck_assert_int_eq(mlp_npy_read_f32(in, &h, 0, 3, out), MLP_EFORMAT);
        ck_assert_msg_has("f.npy.gz: truncated .npy data: row 2 is incomplete");
        mlp_input_close(in);
        free(z);
    }
    /* A shape no file of this size can hold: refused at the header,
     * before a reader sizes anything by it. */
    len = make_npy(buf, "<f4", "(281474976710656, 281474976710656)", f,
                   sizeof(f));
    in = npy_open(buf, len, "big.npy", &h, MLP_EFORMAT);
    ck_assert_msg_has("big.npy: truncated: the .npy shape (281474976710656, "
            "281474976710656)");
    mlp_input_close(in);
    {
        size_t zl;
        uint8_t *z;

        len = make_npy(buf, "<f4", "(1000000, 2)", f, sizeof(f));
        z = tu_gzip(buf, len, &zl);
        in = npy_open(z, zl, "big.npy.gz", &h, MLP_EFORMAT);
        ck_assert_msg_has("big.npy.gz: the .npy shape (1000000, 2) of '<f4' needs "
                "more data than the compressed file can hold");
        mlp_input_close(in);
        free(z);
    }
    /* float64 beyond float's range: row 0, column 1. */
    in = npy_mem(buf, "<f8", "(2, 2)", d, sizeof(d), "d.npy", &h);
    ck_assert_int_eq(mlp_npy_read_f32(in, &h, 0, 2, out), MLP_EFORMAT);
    ck_assert_msg_has("d.npy: row 0, column 1: infinite");
    mlp_input_close(in);
    /* NaN at row 1, column 0. */
    f[2] = NAN;
    in = npy_mem(buf, "<f4", "(3, 2)", f, sizeof(f), "n.npy", &h);
    ck_assert_int_eq(mlp_npy_read_f32(in, &h, 0, 3, out), MLP_EFORMAT);
    ck_assert_msg_has("n.npy: row 1, column 0: NaN");
    mlp_input_close(in);
    /* Trailing bytes after the array. */
    f[2] = 0.0f;
    in = npy_mem(buf, "<f4", "(2, 2)", f, sizeof(f), "t.npy", &h);
    ck_assert_int_eq(mlp_npy_read_f32(in, &h, 0, 2, out), 0);
    ck_assert_int_eq(mlp_npy_check_end(in), MLP_EFORMAT);
    ck_assert_msg_has("t.npy: bytes after the .npy array");
    mlp_input_close(in);
}
END_TEST

START_TEST(test_npy_labels)
{
    uint8_t buf[512];
    int64_t y[4] = {0, 3, 2, -1};
    int32_t out[4];
    mlp_input_t *in;
    mlp_npy_header_t h;

    in = npy_mem(buf, "<i8", "(4,)", y, sizeof(y), "y.npy", &h);
    ck_assert_int_eq(mlp_npy_read_labels(in, &h, 0, 3, out), 0);
    ck_assert_int_eq(out[1], 3);
    ck_assert_int_eq(mlp_npy_read_labels(in, &h, 3, 1, out), MLP_EFORMAT);
    ck_assert_msg_has("y.npy: row 3, column 0: label not in 0..");
    mlp_input_close(in);
    /* Float labels are refused. */
    in = npy_mem(buf, "<f4", "(4,)", y, 16, "yf.npy", &h);
    ck_assert_int_eq(mlp_npy_read_labels(in, &h, 0, 4, out), MLP_EFORMAT);
    ck_assert_msg_has("labels must be integers");
    mlp_input_close(in);
    /* Not a .npy at all. */
    ck_assert_int_eq(mlp_input_open_mem((const uint8_t *)"hello world!", 12,
                                        "x.npy", &in), 0);
    ck_assert_int_eq(mlp_npy_read_header(in, &h), MLP_EFORMAT);
    ck_assert_msg_has("x.npy: not a .npy file");
    mlp_input_close(in);
}
END_TEST

/* ---- csv ------------------------------------------------------------ */

/* The files load: n training rows kept of total, nclasses classes. */
static void assert_loads(const mlp_dataset_files_t *f, size_t n,
                         size_t total, size_t nclasses)
{
    mlp_dataset_t *ds;

    ck_assert_int_eq(mlp_dataset_load_files(f, &ds), 0);
    ck_assert_uint_eq(ds->train.n, n);
    ck_assert_uint_eq(ds->train_total, total);
    ck_assert_uint_eq(ds->nclasses, nclasses);
    mlp_dataset_destroy(ds);
}

/* The files are refused with rc, the message naming `what`. */
static void assert_refused(const mlp_dataset_files_t *f, int rc,
                           const char *what)
{
    mlp_dataset_t *ds;

    ck_assert_int_eq(mlp_dataset_load_files(f, &ds), rc);
    ck_assert_msg_has(what);
}

/* Open len bytes of text as a CSV; 0 or the status. */
static int csv_open_n(const char *text, size_t len, const char *label,
                      mlp_header_t hd, mlp_csv_t **c)
{
    mlp_input_t *in;
    mlp_csv_opts_t o = {hd, label, 0};
    int rc = mlp_input_open_mem((const uint8_t *)text, len, "t.csv", &in);

    return rc != 0 ? rc : mlp_csv_open(in, &o, c);
}

static int csv_open(const char *text, const char *label, mlp_header_t hd,
                    mlp_csv_t **c)
{
    return csv_open_n(text, strlen(text), label, hd, c);
}

/* Read every row; 0 or the status. */
static int csv_all(mlp_csv_t *c, float *x, char (*lab)[MLP_CSV_MAX_LABEL],
                   size_t *n)
{
    size_t got;
    int rc;

    *n = 0;
    do {
        rc = mlp_csv_next(c, 2, x + *n * mlp_csv_features(c),
                          lab ? lab + *n : NULL, &got);
        *n += got;
    } while (rc == 0 && got == 2);
    return rc;
}

START_TEST(test_csv_layouts)
{
    float x[64];
    char lab[16][MLP_CSV_MAX_LABEL];
    mlp_csv_t *c;
    size_t n;

    /* auto: a header (a feature cell is not a number), label last */
    ck_assert_int_eq(csv_open("a,b,y\n1,2.5,cat\n-3e2, 4 ,dog\n\n5,6,cat",
                              NULL, MLP_HEADER_AUTO, &c), 0);
    ck_assert_int_eq(mlp_csv_has_header(c), 1);
    ck_assert_int_eq(mlp_csv_label_col(c), 2);
    ck_assert_uint_eq(mlp_csv_features(c), 2);
    ck_assert_int_eq(csv_all(c, x, lab, &n), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert(x[0] == 1.0f && x[1] == 2.5f && x[2] == -300.0f &&
              x[3] == 4.0f && x[5] == 6.0f);
    ck_assert_str_eq(lab[1], "dog");
    mlp_csv_close(c);
    /* auto: no header (numbers only; the label column may be text) */
    ck_assert_int_eq(csv_open("1,2,cat\n3,4,dog\n", NULL, MLP_HEADER_AUTO,
                              &c), 0);
    ck_assert_int_eq(mlp_csv_has_header(c), 0);
    ck_assert_int_eq(csv_all(c, x, lab, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(lab[0], "cat");
    mlp_csv_close(c);
    /* label by index 0, quoted fields, CRLF */
    ck_assert_int_eq(csv_open("\"x,1\",1,2\r\n\"y\"\"\",3,4\r\n", "0",
                              MLP_HEADER_NO, &c), 0);
    ck_assert_int_eq(csv_all(c, x, lab, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(lab[0], "x,1");
    ck_assert_str_eq(lab[1], "y\"");
    ck_assert(x[0] == 1.0f && x[3] == 4.0f);
    mlp_csv_close(c);
    /* label by name */
    ck_assert_int_eq(csv_open("y,a\n0,1\n1,2\n", "y", MLP_HEADER_AUTO, &c),
                     0);
    ck_assert_int_eq(mlp_csv_label_col(c), 0);
    ck_assert_int_eq(csv_all(c, x, lab, &n), 0);
    ck_assert_uint_eq(n, 2);
    mlp_csv_close(c);
    /* %.9g round-trips a float exactly */
    ck_assert_int_eq(csv_open("0.0980392173,1\n", NULL, MLP_HEADER_NO, &c),
                     0);
    ck_assert_int_eq(csv_all(c, x, NULL, &n), 0);
    ck_assert(x[0] == 25.0f / 255.0f);
    mlp_csv_close(c);
}
END_TEST

START_TEST(test_csv_hostile)
{
    static const struct {
        const char *text, *label, *want;
    } bad[] = {
        {"a,b,y\n1,2,0\n3,4\n", NULL, "t.csv: line 3 has 2 fields; line 1 "
                                      "has 3"},
        {"a,b,y\n1,2,0\n3,4,0,9\n", NULL, "line 3 has 4 fields"},
        {"a,b,y\n1,x,0\n", NULL, "t.csv: line 2, column 1 ('b'): not a "
                                 "number: 'x'"},
        {"1,2,0\n1,,0\n", NULL, "t.csv: line 2, column 1: empty cell"},
        {"1,2,0\n1,nan,0\n", NULL, "line 2, column 1: NaN"},
        {"1,2,0\n1,inf,0\n", NULL, "line 2, column 1: infinite"},
        {"1,2,0\n1,1e39,0\n", NULL, "line 2, column 1: infinite"},
        {"1,2,0\n1,2,\n", NULL, "line 2, column 2: empty label"},
        {"", NULL, "t.csv: empty file"},
        {"\n\n", NULL, "t.csv: empty file"},
        {"a,b\n1,2\n", "z", "--label 'z': no column of that name"},
        {"a,b\n1,2\n", "5", "--label 5: the file has 2 columns"},
        {"y\n1\n", NULL, "no feature columns"},
        {"1,2,0\n1,\"2,0\n", NULL, "line 2: "},
        /* labels that cannot be class names, named where they enter */
        {"a,b,y\n1,2,\"a\tb\"\n", NULL, "t.csv: line 2, column 2 ('y'): "
         "label 'a\\tb' cannot be a class name: a control character "
         "(U+0009) at byte 1"},
        {"1,2,0\n1,2,\"a\nb\"\n", NULL, "line 2, column 2: label "
         "'a\\nb' cannot be a class name: a control character (U+000A)"},
        {"1,2,0\n1,2,a\x7f\n", NULL, "label 'a\\x7f' cannot be a class "
         "name: a control character (U+007F) at byte 1"},
        {"1,2,0\n1,2,caf\xe9\n", NULL, "label 'caf\\xe9' cannot be a "
         "class name: not UTF-8 (byte 0xe9 at byte 3)"},
        {"1,2,0\n1,2,a\xc2\x85\n", NULL, "a control character (U+0085)"},
        {"1,2,0\n1,2,\xed\xa0\x80\n", NULL, "not UTF-8 (byte 0xed"},
        /* a header cell is shown escaped */
        {"a\x1b[31m,b,y\n1,x,0\n", NULL, "column 1 ('b'): not a number"},
        {"a\x1b[31m,b,y\nx,1,0\n", NULL, "column 0 ('a\\x1b[31m'): not a "
         "number: 'x'"},
    };
    float x[64];
    mlp_csv_t *c;
    size_t n;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;

        mlp_error_clear();
        rc = csv_open(bad[i].text, bad[i].label, MLP_HEADER_AUTO, &c);
        if (rc == 0) {
            rc = csv_all(c, x, NULL, &n);
            mlp_csv_close(c);
        }
        ck_assert_msg(rc == MLP_EFORMAT, "case %zu: status %d", i, rc);
        ck_assert_msg_has(bad[i].want);
    }
    /* A NUL byte inside a cell is an error, not the end of the cell
     * ("1\09" read as 1), in a feature and in a label. */
    {
        static const char nul[] = "1,2,0\n1\0" "99,2,0\n";
        static const char nul_lab[] = "1,2,0\n1,2,a\0b\n";

        int rc = csv_open_n(nul, sizeof(nul) - 1, NULL, MLP_HEADER_AUTO,
                            &c);

        if (rc == 0) {
            rc = csv_all(c, x, NULL, &n);
            mlp_csv_close(c);
        }
        ck_assert_int_eq(rc, MLP_EFORMAT);
        ck_assert_msg_has("t.csv: line 2, column 0: a NUL byte in the cell (at byte "
                "1)");
        rc = csv_open_n(nul_lab, sizeof(nul_lab) - 1, NULL, MLP_HEADER_AUTO,
                        &c);
        if (rc == 0) {
            rc = csv_all(c, x, NULL, &n);
            mlp_csv_close(c);
        }
        ck_assert_int_eq(rc, MLP_EFORMAT);
        ck_assert_msg_has("t.csv: line 2, column 2: a NUL byte in the cell");
    }
}
END_TEST

/* A UTF-8 byte-order mark (Excel's "CSV UTF-8") is not data; UTF-8 class
 * names are fine. */
START_TEST(test_csv_bom)
{
    float x[64];
    char lab[16][MLP_CSV_MAX_LABEL];
    mlp_csv_t *c;
    size_t n;

    /* no header: the first row is data, not a header */
    ck_assert_int_eq(csv_open("\xef\xbb\xbf" "1,2,0\n3,4,1\n", NULL,
                              MLP_HEADER_AUTO, &c), 0);
    ck_assert_int_eq(mlp_csv_has_header(c), 0);
    ck_assert_int_eq(csv_all(c, x, lab, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert(x[0] == 1.0f);
    mlp_csv_close(c);
    /* the first column named */
    ck_assert_int_eq(csv_open("\xef\xbb\xbfy,a\nb\xc3\xa9" "b\xc3\xa9,1\n"
                              "\xe6\x97\xa5,2\n", "y", MLP_HEADER_AUTO, &c),
                     0);
    ck_assert_int_eq(mlp_csv_label_col(c), 0);
    ck_assert_int_eq(csv_all(c, x, lab, &n), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(lab[0], "b\xc3\xa9" "b\xc3\xa9");
    ck_assert_str_eq(lab[1], "\xe6\x97\xa5");
    mlp_csv_close(c);
    /* after gzip too */
    {
        const char *t = "\xef\xbb\xbf" "5,6,0\n7,8,1\n";
        size_t zl;
        uint8_t *z = tu_gzip(t, strlen(t), &zl);
        mlp_input_t *in;
        mlp_csv_opts_t o = {MLP_HEADER_AUTO, NULL, 0};

        ck_assert_int_eq(mlp_input_open_mem(z, zl, "t.csv.gz", &in), 0);
        ck_assert_int_eq(mlp_csv_open(in, &o, &c), 0);
        ck_assert_int_eq(mlp_csv_has_header(c), 0);
        ck_assert_int_eq(csv_all(c, x, lab, &n), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert(x[0] == 5.0f);
        mlp_csv_close(c);
        free(z);
    }
}
END_TEST

/* A field with no end is not read without bound. */
START_TEST(test_csv_long_field)
{
    size_t n = MLP_CSV_MAX_FIELD + 10000;
    char *text = malloc(n + 1);
    mlp_csv_t *c;

    ck_assert_ptr_nonnull(text);
    memset(text, '7', n);
    text[n] = '\0';
    ck_assert_int_eq(csv_open(text, NULL, MLP_HEADER_NO, &c), MLP_EFORMAT);
    ck_assert_msg_has("a field longer than");
    free(text);
}
END_TEST

/* ---- gzip, table, dataset ------------------------------------------- */

static uint8_t *gzip_buf(const char *s, size_t *len)
{
    uLongf n = compressBound(strlen(s)) + 32;
    uint8_t *out = malloc(n);
    z_stream z;

    memset(&z, 0, sizeof(z));
    ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8,
                                  Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)s;
    z.avail_in = (uInt)strlen(s);
    z.next_out = out;
    z.avail_out = (uInt)n;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *len = n - z.avail_out;
    deflateEnd(&z);
    return out;
}

START_TEST(test_table_formats)
{
    const char *csv = "f0,f1,species\n1,2,setosa\n3,4,virginica\n"
                      "5,6,setosa\n7,8,versicolor\n";
    const char *csvt = "f0,f1,species\n1,2,versicolor\n3,4,setosa\n";
    char *dir = NULL, *tr, *te, *gz;
    uint8_t *z;
    size_t zl;
    mlp_dataset_t *ds;
    mlp_dataset_files_t f;

    tr = write_tmp(&dir, "train.csv", csv, strlen(csv));
    te = write_tmp(&dir, "test.dat", csvt, strlen(csvt));
    z = gzip_buf(csv, &zl);
    gz = write_tmp(&dir, "train.bin", z, zl); /* gzip, whatever the name */
    free(z);
    memset(&f, 0, sizeof(f));
    f.train = gz;
    f.test = te;
    ck_assert_int_eq(mlp_dataset_load_files(&f, &ds), 0);
    ck_assert_int_eq(ds->real, 1);
    ck_assert_int_eq(ds->image, 0);
    ck_assert_uint_eq(ds->nclasses, 3);
    /* names in byte-wise order: setosa 0, versicolor 1, virginica 2 */
    ck_assert_str_eq(ds->class_names[0], "setosa");
    ck_assert_str_eq(ds->class_names[1], "versicolor");
    ck_assert_str_eq(ds->class_names[2], "virginica");
    ck_assert_uint_eq(ds->train.n, 4);
    ck_assert_uint_eq(ds->train.labels[0], 0);
    ck_assert_uint_eq(ds->train.labels[1], 2);
    ck_assert_uint_eq(ds->train.labels[3], 1);
    ck_assert_uint_eq(ds->test.labels[0], 1);
    ck_assert_uint_eq(ds->test.labels[1], 0);
    ck_assert(ds->train.features[6] == 7.0f);
    /* --normalize minmax on the rows trained on: column 0 spans 1..7 */
    ck_assert_int_eq(mlp_dataset_set_transform(ds, MLP_NORM_MINMAX, NULL,
                                               NULL), 0);
    ck_assert(ds->shift[0] == 1.0f && ds->scale[0] == 1.0f / 6.0f);
    ck_assert(ds->test.shift == ds->shift);
    /* the hold-out moves real rows too */
    ck_assert_int_eq(mlp_dataset_hold_out(ds, 1, 5), 0);
    ck_assert_uint_eq(ds->val.n, 1);
    ck_assert_ptr_nonnull(ds->val.features);
    ck_assert_uint_eq(ds->train.n, 3);
    mlp_dataset_destroy(ds);
    /* --limit-train: a CSV is read to its limit, and its classes are
     * those of the rows read (the test's versicolor is not one of them) */
    f.train = tr;
    f.limit_train = 2;
    assert_refused(&f, MLP_EINVAL,
                   "test.dat: row 0: label 'versicolor' is not one of the 2 "
                   "training classes (the classes of the first 2 rows of ");
    f.limit_train = 4;
    assert_loads(&f, 4, 4, 3);
    f.limit_train = 0;
    /* a test label the training file lacks */
    {
        const char *bad = "f0,f1,species\n1,2,setosa\n3,4,iris\n";
        char *b = write_tmp(&dir, "bad.csv", bad, strlen(bad));

        f.test = b;
        assert_refused(&f, MLP_EINVAL,
                       "bad.csv: row 1: label 'iris' is not one of the 3");
        free(b);
    }
    free(tr);
    free(te);
    free(gz);
    tu_rmtree(dir);
}
END_TEST

/*
 * --limit-train stops reading at the limit in every format: damage after
 * the first N rows (a bad cell, a NaN, a corrupt gzip stream) is never
 * reached, while the whole file is refused for it.  Labels kept apart
 * from the features are still read to the end: they decide the class
 * count, and a bad one is refused whatever the limit.
 */
START_TEST(test_limit_stops_reading)
{
    enum { ROWS = 50000, LIMIT = 40 };
    size_t tl = ROWS * 6 + 16, len, zl, bl;
    char *text = malloc(tl), *dir = NULL, *csv, *gz, *xp, *yp, *yb, *te;
    float *fx = malloc(ROWS * 2 * sizeof(float));
    int64_t *y = malloc(ROWS * sizeof(int64_t));
    uint8_t *buf = malloc(ROWS * 2 * sizeof(float) + 256), *z, *zz;
    mlp_dataset_files_t f;
    mlp_dataset_t *ds;

    ck_assert(text && fx && y && buf);
    /* CSV: a bad cell on the last row */
    len = 0;
    for (size_t r = 0; r < ROWS - 1; r++)
        len += (size_t)snprintf(text + len, tl - len, "%zu,2,%zu\n", r % 10,
                                r % 3);
    len += (size_t)snprintf(text + len, tl - len, "1,x,0\n");
    csv = write_tmp(&dir, "big.csv", text, len);
    te = write_tmp(&dir, "te.csv", "1,2,0\n3,4,2\n", 12);
    memset(&f, 0, sizeof(f));
    f.train = csv;
    f.test = te;
    assert_refused(&f, MLP_EFORMAT,
                   "big.csv: line 50000, column 1: not a number: 'x'");
    f.limit_train = LIMIT;
    ck_assert_int_eq(mlp_dataset_load_files(&f, &ds), 0);
    ck_assert_uint_eq(ds->train.n, LIMIT);
    ck_assert_uint_eq(ds->nclasses, 3);
    ck_assert(ds->train.features[2 * (LIMIT - 1)] == (LIMIT - 1) % 10);
    mlp_dataset_destroy(ds);
    /* CSV.gz: a corrupt second gzip member after 300 KB of rows */
    z = tu_gzip(text, len - 6, &zl);
    zz = malloc(zl + 32);
    memcpy(zz, z, zl);
    memcpy(zz + zl, "\x1f\x8b\x08\x00garbage-garbage-garbage", 27);
    gz = write_tmp(&dir, "big.csv.gz", zz, zl + 27);
    f.train = gz;
    f.limit_train = 0;
    assert_refused(&f, MLP_EFORMAT, "big.csv.gz: corrupt gzip stream");
    f.limit_train = LIMIT;
    ck_assert_int_eq(mlp_dataset_load_files(&f, &ds), 0);
    ck_assert_uint_eq(ds->train.n, LIMIT);
    mlp_dataset_destroy(ds);
    free(z);
    free(zz);
    /* .npy features with a NaN on the last row; labels apart, the last
     * one 7: the class count is 8 with or without the limit */
    for (size_t r = 0; r < ROWS; r++) {
        fx[2 * r] = (float)(r % 10);
        fx[2 * r + 1] = 2.0f;
        y[r] = r + 1 == ROWS ? 7 : (int64_t)(r % 3);
    }
    fx[2 * (ROWS - 1)] = NAN;
    bl = make_npy(buf, "<f4", "(50000, 2)", fx, ROWS * 2 * sizeof(float));
    xp = write_tmp(&dir, "x.npy", buf, bl);
    bl = make_npy(buf, "<i8", "(50000,)", y, ROWS * sizeof(int64_t));
    yp = write_tmp(&dir, "y.npy", buf, bl);
    y[ROWS - 1] = 300;
    bl = make_npy(buf, "<i8", "(50000,)", y, ROWS * sizeof(int64_t));
    yb = write_tmp(&dir, "ybad.npy", buf, bl);
    f.train = xp;
    f.train_labels = yp;
    f.test = xp;
    f.test_labels = yp;
    f.limit_test = LIMIT;
    f.limit_train = 0;
    assert_refused(&f, MLP_EFORMAT, "x.npy: row 49999, column 0: NaN");
    f.limit_train = LIMIT;
    assert_loads(&f, LIMIT, ROWS, 8);
    f.train_labels = yb;
    assert_refused(&f, MLP_EINVAL,
                   "ybad.npy: row 49999: label 300; at most 256 classes");
    free(text);
    free(fx);
    free(y);
    free(buf);
    free(csv);
    free(gz);
    free(te);
    free(xp);
    free(yp);
    free(yb);
    tu_rmtree(dir);
}
END_TEST

/* ---- transform ------------------------------------------------------ */

START_TEST(test_transform_fit)
{
    float x[5 * 2] = {1, 10, 2, 10, 3, 10, 4, 10, 10, 10};
    float sh[2], sc[2], out[2];
    double mean = 4.0, var = 0.0;

    for (int i = 0; i < 5; i++)
        var += (x[2 * i] - mean) * (x[2 * i] - mean);
    var /= 5.0;
    ck_assert_int_eq(mlp_transform_fit(MLP_NORM_STANDARD, x, 5, 2, sh, sc),
                     0);
    ck_assert(sh[0] == 4.0f);
    ck_assert(sc[0] == (float)(1.0 / sqrt(var)));
    ck_assert(sh[1] == 10.0f && sc[1] == 1.0f); /* constant: scale 1 */
    ck_assert_int_eq(mlp_transform_fit(MLP_NORM_MINMAX, x, 5, 2, sh, sc), 0);
    ck_assert(sh[0] == 1.0f && sc[0] == 1.0f / 9.0f);
    mlp_transform_affine(x + 8, sh, sc, 2, out);
    ck_assert(fabsf(out[0] - 1.0f) < 1e-6f && out[1] == 0.0f);
    ck_assert_int_eq(mlp_transform_fit(MLP_NORM_NONE, x, 5, 2, sh, sc), 0);
    mlp_transform_affine(x + 2, sh, sc, 2, out);
    ck_assert(out[0] == x[2] && out[1] == x[3]); /* exactly */
}
END_TEST

/*
 * A spread below MLP_TRANSFORM_MIN_SPREAD (FLT_MIN) is a constant column
 * (scale 1), alike for standard and minmax: 0 and 1e-39 once gave an
 * infinite float scale (1 / sqrt(var) was checked in double).  Just above
 * the floor the scale is a finite float.  Values less the shift that
 * overflow a float are refused, naming the feature.
 */
START_TEST(test_transform_tiny_spread)
{
    float tiny[4 * 2] = {0.0f, 0.0f, 1e-39f, 3e-39f, 0.0f, 0.0f, 1e-39f,
                         3e-39f};
    float ok[2 * 1] = {0.0f, 2.4e-38f}; /* spread 2.4e-38 > FLT_MIN */
    float wide[2 * 1] = {-3e38f, 3e38f};
    float sh[2], sc[2], out[2];
    mlp_norm_t kinds[2] = {MLP_NORM_STANDARD, MLP_NORM_MINMAX};

    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(mlp_transform_fit(kinds[k], tiny, 4, 2, sh, sc), 0);
        for (int j = 0; j < 2; j++)
            ck_assert_msg(sc[j] == 1.0f && isfinite(sh[j]),
                          "kind %d feature %d: shift %g scale %g", k, j,
                          (double)sh[j], (double)sc[j]);
        mlp_transform_affine(tiny + 2, sh, sc, 2, out);
        ck_assert(isfinite(out[0]) && isfinite(out[1]));
        ck_assert_int_eq(mlp_transform_fit(kinds[k], ok, 2, 1, sh, sc), 0);
        ck_assert(isfinite(sc[0]) && sc[0] > 1e37f);
        mlp_transform_affine(ok + 1, sh, sc, 1, out);
        ck_assert(isfinite(out[0]));
    }
    ck_assert_int_eq(mlp_transform_fit(MLP_NORM_MINMAX, wide, 2, 1, sh, sc),
                     MLP_ERANGE);
    ck_assert_msg_has("feature 0 spans -3e+38 to 3e+38: its values less the minimum");
    ck_assert_int_eq(mlp_transform_fit(MLP_NORM_STANDARD, wide, 2, 1, sh,
                                       sc), 0); /* the mean is 0 */
    ck_assert_int_eq(mlp_transform_fit(MLP_NORM_NONE, wide, 2, 1, sh, sc), 0);
}
END_TEST

static Suite *readers_suite(void)
{
    Suite *s = suite_create("readers");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_npy_dict);
    tcase_add_test(core, test_npy_values);
    tcase_add_test(core, test_npy_labels);
    tcase_add_test(core, test_csv_layouts);
    tcase_add_test(core, test_table_formats);
    tcase_add_test(core, test_transform_fit);
    tcase_add_test(errors, test_transform_tiny_spread);
    tcase_add_test(core, test_limit_stops_reading);
    tcase_add_test(errors, test_npy_dict_hostile);
    tcase_add_test(errors, test_csv_hostile);
    tcase_add_test(core, test_csv_bom);
    tcase_add_test(errors, test_csv_long_field);
    return s;
}

MLP_CHECK_MAIN(readers_suite)
