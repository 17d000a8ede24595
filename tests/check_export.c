/*
 * Tests of export: the .npy header bytes against numpy's own (numpy
 * 1.24's np.lib.format writer, pasted here), the input transform against
 * the loader's p / 255, the layer views, the ONNX model read back with
 * protobuf-c (structure, attributes, weights), the .npz read back with
 * libzip (entries, headers, data, UTF-32 names); errors: a model whose
 * parameters do not fit its shape, names that are not UTF-8, outputs that
 * are a directory, a FIFO or the model itself, a bad model file.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zip.h>

#include "check_main.h"
#include "gen/onnx.pb-c.h"
#include "mlptrain/commands.h"
#include "mlptrain/error.h"
#include "mlptrain/export.h"
#include "mlptrain/rng.h"
#include "testutil.h"
#include "checkpoint_fixture.h"

/* A 2x3-pixel model: 6 -> 4 -> 3 (tanh) -> 2 classes. */
enum { IN = 6, H0 = 4, H1 = 3, C = 2 };
#define NPARAMS ((IN + 1) * H0 + (H0 + 1) * H1 + (H1 + 1) * C)

/* The model of every test: checkpoint_fixture's, seed 42, no momentum,
 * version 2; the caller frees its params. */
static float *model_ck(mlp_checkpoint_t *ck)
{
    static const size_t h[2] = {H0, H1};

    make_ck(ck, 2, 3, h, 2, C, 0.0f, 42);
    ck_assert_uint_eq(ck->nparams, NPARAMS);
    ck->version = 2;
    return ck->params;
}

static void names(mlp_class_names_t *cn, const char *list)
{
    ck_assert_int_eq(mlp_eval_class_names(list, NULL, C, cn), 0);
}

/* ---- .npy headers ------------------------------------------------------ */

/* numpy 1.24: np.lib.format._wrap_header(repr of the dict, (1, 0)). */
static const char NPY_F4_3_4[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, "
    "'shape': (3, 4), }                                                  "
    "        \n";
static const char NPY_F4_5[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, "
    "'shape': (5,), }                                                    "
    "        \n";
static const char NPY_U4_SCALAR[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<U4', 'fortran_order': False, "
    "'shape': (), }                                                      "
    "        \n";

static void expect_header(const char *descr, const size_t *shape,
                          size_t ndim, const char *want, size_t wlen)
{
    uint8_t buf[256];
    size_t hlen = 0;

    ck_assert_int_eq(mlp_export_npy_header(descr, shape, ndim, buf,
                                           sizeof(buf), &hlen), 0);
    ck_assert_uint_eq(hlen, wlen);
    ck_assert_uint_eq(hlen % 64, 0);
    ck_assert(memcmp(buf, want, wlen) == 0);
}

START_TEST(test_npy_header)
{
    size_t s34[] = {3, 4}, s5[] = {5};
    size_t big[] = {1000000000, 1000000000, 1000000000, 1000000000,
                    1000000000, 1000000000, 1000000000, 1000000000};
    uint8_t buf[256];
    size_t hlen;

    expect_header("<f4", s34, 2, NPY_F4_3_4, sizeof(NPY_F4_3_4) - 1);
    expect_header("<f4", s5, 1, NPY_F4_5, sizeof(NPY_F4_5) - 1);
    expect_header("<U4", NULL, 0, NPY_U4_SCALAR, sizeof(NPY_U4_SCALAR) - 1);
    /* 8 dimensions of 10 digits: 192 bytes, a multiple of 64 again. */
    ck_assert_int_eq(mlp_export_npy_header("<f4", big, 8, buf, sizeof(buf),
                                           &hlen), 0);
    ck_assert_uint_eq(hlen, 192);
    ck_assert_uint_eq(buf[8] | buf[9] << 8, 182);
    ck_assert_int_eq(buf[191], '\n');
    /* Limits: a buffer too small, too many dimensions. */
    ck_assert_int_eq(mlp_export_npy_header("<f4", s34, 2, buf, 127, &hlen),
                     MLP_EINVAL);
    ck_assert_uint_eq(hlen, 0);
    ck_assert_int_eq(mlp_export_npy_header("<f4", big, 9, buf, sizeof(buf),
                                           &hlen), MLP_EINVAL);
}
END_TEST

/* ---- transform and layers ---------------------------------------------- */

START_TEST(test_transform)
{
    mlp_checkpoint_t ck;
    float *params, shift[IN], scale[IN];

    params = model_ck(&ck);
    ck_assert_int_eq(mlp_export_transform(&ck, shift, scale), 0);
    for (size_t j = 0; j < IN; j++) {
        ck_assert(shift[j] == 0.0f);
        /* Every pixel value lands within 1 ulp of the loader's p / 255. */
        for (int p = 0; p < 256; p++) {
            float got = ((float)p - shift[j]) * scale[j];
            float want = (float)p / 255.0f;

            ck_assert_msg(fabsf(got - want) <= nextafterf(want, 2.0f) - want,
                          "p %d: %.9g, loader %.9g", p, (double)got,
                          (double)want);
        }
    }
    free(params);
}
END_TEST

START_TEST(test_layers)
{
    mlp_checkpoint_t ck;
    mlp_export_layers_t L;
    float *params;

    params = model_ck(&ck);
    ck_assert_int_eq(mlp_export_layers(&ck, &L), 0);
    ck_assert_uint_eq(L.nlayers, 3);
    ck_assert_uint_eq(L.in[0], IN);
    ck_assert_uint_eq(L.out[0], H0);
    ck_assert_uint_eq(L.in[2], H1);
    ck_assert_uint_eq(L.out[2], C);
    ck_assert_ptr_eq(L.w[0], params);
    ck_assert_ptr_eq(L.b[0], params + IN * H0);
    ck_assert_ptr_eq(L.w[1], params + (IN + 1) * H0);
    ck_assert_ptr_eq(L.b[1], params + (IN + 1) * H0 + H0 * H1);
    ck_assert_ptr_eq(L.w[2], params + (IN + 1) * H0 + (H0 + 1) * H1);
    ck_assert_ptr_eq(L.b[2], params + NPARAMS - C);
    free(params);
}
END_TEST

/* ---- ONNX --------------------------------------------------------------- */

static const Onnx__TensorProto *init_named(const Onnx__GraphProto *g,
                                           const char *name)
{
    for (size_t i = 0; i < g->n_initializer; i++)
        if (strcmp(g->initializer[i]->name, name) == 0)
            return g->initializer[i];
    ck_abort_msg("no initializer %s", name);
    return NULL;
}

START_TEST(test_onnx_model)
{
    static const char *const ops[] = {"Sub", "Mul",  "Gemm", "Tanh",
                                      "Gemm", "Tanh", "Gemm", "Softmax"};
    mlp_checkpoint_t ck;
    mlp_class_names_t cn;
    float *params;
    uint8_t *buf = NULL;
    size_t len = 0;
    Onnx__ModelProto *m;
    const Onnx__GraphProto *g;
    const Onnx__TensorProto *t;

    params = model_ck(&ck);
    names(&cn, "cat,dog");
    ck_assert_int_eq(mlp_export_onnx_encode(&ck, &cn, &buf, &len), 0);
    m = onnx__model_proto__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->ir_version, 7);
    ck_assert_uint_eq(m->n_opset_import, 1);
    ck_assert_str_eq(m->opset_import[0]->domain, "");
    ck_assert_int_eq(m->opset_import[0]->version, 13);
    ck_assert_str_eq(m->producer_name, "mlptrain");
    g = m->graph;
    ck_assert_uint_eq(g->n_node, 8);
    for (size_t i = 0; i < 8; i++)
        ck_assert_str_eq(g->node[i]->op_type, ops[i]);
    /* The chain: input -> Sub -> Mul -> Gemm ... -> logits -> Softmax. */
    ck_assert_str_eq(g->node[0]->input[0], "input");
    ck_assert_str_eq(g->node[2]->input[0], g->node[1]->output[0]);
    ck_assert_str_eq(g->node[6]->output[0], "logits");
    ck_assert_str_eq(g->node[7]->output[0], "probabilities");
    for (size_t i = 2; i < 8; i += 2) {
        const Onnx__AttributeProto *a = g->node[i]->attribute[0];

        ck_assert_uint_eq(g->node[i]->n_attribute, 1);
        ck_assert_str_eq(a->name, i < 7 ? "transB" : "axis");
        ck_assert_int_eq(a->i, 1);
    }
    ck_assert_str_eq(g->input[0]->name, "input");
    ck_assert_str_eq(g->input[0]->type->tensor_type->shape->dim[0]->dim_param,
                     "batch");
    ck_assert_int_eq(g->input[0]->type->tensor_type->shape->dim[1]->dim_value,
                     IN);
    ck_assert_uint_eq(g->n_output, 2);
    ck_assert_int_eq(g->output[1]->type->tensor_type->shape->dim[1]->dim_value,
                     C);
    /* Weights as the checkpoint's, W (out, in). */
    t = init_named(g, "W1");
    ck_assert_uint_eq(t->n_dims, 2);
    ck_assert_int_eq(t->dims[0], H1);
    ck_assert_int_eq(t->dims[1], H0);
    ck_assert(memcmp(t->float_data, params + (IN + 1) * H0,
                     H0 * H1 * sizeof(float)) == 0);
    t = init_named(g, "b2");
    ck_assert_uint_eq(t->n_float_data, C);
    ck_assert(memcmp(t->float_data, params + NPARAMS - C, C * 4) == 0);
    t = init_named(g, "scale");
    ck_assert(t->float_data[IN - 1] == 1.0f / 255.0f);
    for (size_t i = 0; i < m->n_metadata_props; i++)
        if (strcmp(m->metadata_props[i]->key, "class_names") == 0)
            ck_assert_str_eq(m->metadata_props[i]->value, "[\"cat\",\"dog\"]");
    onnx__model_proto__free_unpacked(m, NULL);
    free(buf);
    mlp_class_names_free(&cn);
    free(params);
}
END_TEST

/* ---- NPZ ---------------------------------------------------------------- */

/* 1 when the n bytes at b hold the string s. */
static int contains(const uint8_t *b, size_t n, const char *s)
{
    size_t k = strlen(s);

    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(b + i, s, k) == 0)
            return 1;
    return 0;
}

/* Entry name of the archive, whole. */
static uint8_t *zip_entry(zip_t *za, const char *name, size_t *len)
{
    zip_stat_t st;
    zip_file_t *f;
    uint8_t *b;

    ck_assert_int_eq(zip_stat(za, name, 0, &st), 0);
    ck_assert_int_eq(st.comp_method, ZIP_CM_STORE); /* as numpy.savez */
    b = malloc(st.size);
    f = zip_fopen(za, name, 0);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(zip_fread(f, b, st.size), (zip_int64_t)st.size);
    zip_fclose(f);
    *len = st.size;
    return b;
}

START_TEST(test_npz_archive)
{
    static const char *const want[] = {
        "W0.npy", "b0.npy", "W1.npy", "b1.npy", "W2.npy", "b2.npy",
        "shift.npy", "scale.npy", "sizes.npy", "activation.npy",
        "class_names.npy"};
    /* "été" and "b" as '<U3': UTF-32LE, "b" padded with zeros. */
    static const uint8_t utf32[24] = {0xe9, 0, 0, 0, 't', 0, 0, 0, 0xe9, 0,
                                      0,    0, 'b', 0, 0, 0, 0,   0, 0,   0,
                                      0,    0, 0,   0};
    mlp_checkpoint_t ck;
    mlp_class_names_t cn;
    float *params;
    uint8_t *buf = NULL, *e;
    size_t len = 0, elen;
    zip_source_t *src;
    zip_t *za;
    zip_error_t ze;
    int64_t sizes[4];

    params = model_ck(&ck);
    names(&cn, "\xc3\xa9t\xc3\xa9,b");
    ck_assert_int_eq(mlp_export_npz_encode(&ck, &cn, &buf, &len), 0);
    ck_assert(memcmp(buf, "PK\x03\x04", 4) == 0);
    zip_error_init(&ze);
    src = zip_source_buffer_create(buf, len, 0, &ze);
    ck_assert_ptr_nonnull(src);
    za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    ck_assert_ptr_nonnull(za);
    ck_assert_int_eq(zip_get_num_entries(za, 0), 11);
    for (size_t i = 0; i < 11; i++)
        ck_assert_str_eq(zip_get_name(za, i, 0), want[i]);
    /* W1: numpy's header of a (3, 4) float32 array, then the weights. */
    e = zip_entry(za, "W1.npy", &elen);
    ck_assert_uint_eq(elen, 128 + H0 * H1 * 4);
    ck_assert(memcmp(e, NPY_F4_3_4, 128) == 0);
    ck_assert(memcmp(e + 128, params + (IN + 1) * H0, H0 * H1 * 4) == 0);
    free(e);
    e = zip_entry(za, "sizes.npy", &elen);
    ck_assert_uint_eq(elen, 128 + 32);
    memcpy(sizes, e + 128, 32);
    ck_assert(sizes[0] == IN && sizes[1] == H0 && sizes[2] == H1 &&
              sizes[3] == C);
    free(e);
    e = zip_entry(za, "activation.npy", &elen);
    ck_assert(memcmp(e, NPY_U4_SCALAR, 128) == 0);
    ck_assert(memcmp(e + 128, "t\0\0\0a\0\0\0n\0\0\0h\0\0\0", 16) == 0);
    free(e);
    e = zip_entry(za, "class_names.npy", &elen);
    ck_assert(contains(e, 128, "'descr': '<U3'"));
    ck_assert(contains(e, 128, "'shape': (2,)"));
    ck_assert_uint_eq(elen, 128 + 24);
    ck_assert(memcmp(e + 128, utf32, 24) == 0);
    free(e);
    zip_close(za);
    zip_error_fini(&ze);
    free(buf);
    mlp_class_names_free(&cn);
    free(params);
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(test_bad_model)
{
    mlp_checkpoint_t ck;
    mlp_class_names_t cn;
    mlp_export_layers_t L;
    float *params;
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 1;
    char bad[] = "a,\xc3(";

    params = model_ck(&ck);
    names(&cn, "a,b");
    ck.nparams = NPARAMS - 1;
    ck_assert_int_eq(mlp_export_layers(&ck, &L), MLP_EINVAL);
    ck_assert_ptr_null(L.w[0]);
    ck_assert_int_eq(mlp_export_onnx_encode(&ck, &cn, &buf, &len),
                     MLP_EINVAL);
    ck_assert_ptr_null(buf);
    ck_assert_uint_eq(len, 0);
    ck.nparams = NPARAMS + 1;
    ck_assert_int_eq(mlp_export_npz_encode(&ck, &cn, &buf, &len),
                     MLP_EINVAL);
    ck_assert_msg_has("shape needs");
    ck.nparams = NPARAMS;
    ck.out = 3; /* two names for three classes */
    ck_assert_int_eq(mlp_export_npz_encode(&ck, &cn, &buf, &len),
                     MLP_EINVAL);
    ck.out = C;
    mlp_class_names_free(&cn);
    /* Names that are not UTF-8 (a cut two-byte character): refused where
     * they enter, and by the exporters should one get this far. */
    ck_assert_int_eq(mlp_eval_class_names(bad, NULL, C, &cn), MLP_EUSAGE);
    {
        const char raw[2][MLP_CLASS_NAME_MAX] = {"a", "\xc3("};

        ck_assert_int_eq(mlp_eval_class_names_from(raw, C, &cn), 0);
    }
    ck_assert_int_eq(mlp_export_npz_encode(&ck, &cn, &buf, &len),
                     MLP_EINVAL);
    ck_assert_msg_has("class name 1");
    ck_assert_int_eq(mlp_export_onnx_encode(&ck, &cn, &buf, &len),
                     MLP_EINVAL);
    ck_assert_ptr_null(buf);
    mlp_class_names_free(&cn);
    free(params);
}
END_TEST

static int cmd(const char *a0, const char *a1, const char *a2,
               const char *a3, const char *a4)
{
    char *argv[] = {"export", (char *)a0, (char *)a1, (char *)a2,
                    (char *)a3,  (char *)a4, NULL};
    int argc = 1;
    FILE *out = fopen("/dev/null", "w");
    int rc;

    while (argv[argc] != NULL)
        argc++;
    rc = mlp_cmd_export(argc, argv, out);
    fclose(out);
    return rc;
}

START_TEST(test_outputs)
{
    char *dir = tu_mkdtemp(), *model = tu_path(dir, "m.ckpt"),
         *sub = tu_path(dir, "sub"), *fifo = tu_path(dir, "fifo"),
         *onnx = tu_path(dir, "m.onnx"), *junk = tu_path(dir, "junk.ckpt");
    mlp_checkpoint_t ck;
    mlp_class_names_t cn;
    float *params;
    struct stat st;

    params = model_ck(&ck);
    names(&cn, NULL);
    ck_assert_msg(mlp_checkpoint_save(model, &ck) == 0, "%s", mlp_error_message());
    ck_assert_int_eq(mkdir(sub, 0777), 0);
    ck_assert_int_eq(mkfifo(fifo, 0666), 0);
    /* A directory, a FIFO, the model itself, an empty name. */
    ck_assert_int_eq(mlp_export_check_output(sub, "--onnx", model, NULL,
                                             NULL), MLP_EIO);
    ck_assert_msg_has("it is a directory");
    ck_assert_int_eq(mlp_export_check_output(fifo, "--npz", model, NULL,
                                             NULL), MLP_EIO);
    ck_assert_msg_has("FIFO");
    ck_assert_msg_has("--npz");
    ck_assert_int_eq(mlp_export_check_output(model, "--onnx", model, NULL,
                                             NULL), MLP_EUSAGE);
    ck_assert_msg_has("--model");
    ck_assert_int_eq(mlp_export_check_output("", "--onnx", model, NULL,
                                             NULL), MLP_EUSAGE);
    ck_assert_int_eq(mlp_export_check_output(onnx, "--onnx", model, onnx,
                                             "--npz"), MLP_EUSAGE);
    /* The library's writers refuse them too, without a trace. */
    ck_assert_int_eq(mlp_export_onnx(&ck, &cn, sub), MLP_EIO);
    ck_assert_int_eq(mlp_export_npz(&ck, &cn, fifo), MLP_EIO);
    ck_assert_int_eq(stat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    /* The command: outputs checked before the model is read. */
    ck_assert_int_eq(cmd("--model", model, "--onnx", sub, NULL), MLP_EIO);
    ck_assert_int_eq(cmd("--model", model, "--npz", model, NULL),
                     MLP_EUSAGE);
    ck_assert_int_eq(cmd("--model", model, NULL, NULL, NULL), MLP_EUSAGE);
    ck_assert_int_eq(cmd("--model", model, "--onnx", onnx, NULL), 0);
    ck_assert_int_eq(stat(onnx, &st), 0);
    ck_assert_int_gt(st.st_size, (off_t)(NPARAMS * 4));
    /* A bad model file: named, and the old output kept. */
    ck_assert_int_eq(tu_write_bytes(junk, "MLPTCKPT junk", 13), 0);
    ck_assert_int_lt(cmd("--model", junk, "--onnx", onnx, NULL), 0);
    ck_assert_msg_has(junk);
    ck_assert_int_eq(cmd("--model", sub, "--onnx", onnx, NULL), MLP_EIO);
    {
        struct stat st2;

        ck_assert_int_eq(stat(onnx, &st2), 0);
        ck_assert_int_eq(st2.st_size, st.st_size);
    }
    mlp_class_names_free(&cn);
    free(model);
    free(sub);
    free(fifo);
    free(onnx);
    free(junk);
    tu_rmtree(dir);
    free(params);
}
END_TEST

static Suite *export_suite(void)
{
    Suite *s = suite_create("export");
    TCase *core = tu_tcase(s, "core", 0);
    TCase *errors = tu_tcase(s, "errors", 0);

    tcase_add_test(core, test_npy_header);
    tcase_add_test(core, test_transform);
    tcase_add_test(core, test_layers);
    tcase_add_test(core, test_onnx_model);
    tcase_add_test(core, test_npz_archive);
    tcase_add_test(errors, test_bad_model);
    tcase_add_test(errors, test_outputs);
    return s;
}

MLP_CHECK_MAIN(export_suite)
