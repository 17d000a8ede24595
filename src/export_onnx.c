/*
 * export_onnx: a checkpoint's model as an ONNX ModelProto (see export.h),
 * built with the C that protoc-c generates from Debian's onnx.proto
 * (gen/onnx.pb-c.h, made at build time) and serialised by libprotobuf-c.
 *
 * The input transform stays two nodes, Sub(input, shift) and Mul(., scale),
 * rather than being folded into the first Gemm: the weights in the file are
 * then bit for bit the checkpoint's (and the .npz's), every runtime does
 * the arithmetic mlptrain does (a fold would round W * scale once per
 * weight, and fold a standardising shift into the bias as b - W (shift *
 * scale), a difference of large sums for features far from 0), and a
 * reader sees the preprocessing by name.  Two elementwise ops per input
 * cost nothing beside the Gemm.
 *
 * Every message is built in one arena, freed at once: nothing is unpacked,
 * so no protobuf-c free function applies.  Weights are not copied: the
 * tensors point into the checkpoint (packing only reads them).
 *
 * Non-goals: reading ONNX, operators beyond the MLP's, external data
 * (a model over 2 GiB, protobuf's limit, is refused).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "gen/onnx.pb-c.h"
#include "mlptrain/error.h"
#include "mlptrain/export.h"
#include "mlptrain/outfile.h"
#include "export_internal.h"

/* ---- an arena of allocations ------------------------------------------- */

typedef struct {
    void **p;
    size_t n, cap;
    int failed;
} arena_t;

/* Zeroed memory that lives until arena_free; NULL (and a->failed) when out
 * of memory: callers check a->failed once at the end of a step. */
static void *arena_alloc(arena_t *a, size_t size)
{
    void *m;

    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 64;
        void **p = realloc(a->p, cap * sizeof(*p));

        if (p == NULL) {
            a->failed = 1;
            return NULL;
        }
        a->p = p;
        a->cap = cap;
    }
    if ((m = calloc(1, size ? size : 1)) == NULL) {
        a->failed = 1;
        return NULL;
    }
    a->p[a->n++] = m;
    return m;
}

static char *arena_printf(arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static char *arena_printf(arena_t *a, const char *fmt, ...)
{
    va_list ap;
    int n;
    char *s;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || (s = arena_alloc(a, (size_t)n + 1)) == NULL) {
        a->failed = 1;
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

static void arena_free(arena_t *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->p[i]);
    free(a->p);
    memset(a, 0, sizeof(*a));
}

#define NEW(a, type, init)                                                   \
    ({                                                                       \
        type *p_ = arena_alloc((a), sizeof(type));                           \
        if (p_ != NULL)                                                      \
            *p_ = (type)init;                                                \
        p_;                                                                  \
    })

/* ---- graph pieces ------------------------------------------------------ */

/* A float32 initializer of shape dims[0..ndims) over data (not copied). */
static Onnx__TensorProto *tensor(arena_t *a, const char *name,
                                 const float *data, size_t d0, size_t d1)
{
    Onnx__TensorProto *t = NEW(a, Onnx__TensorProto, ONNX__TENSOR_PROTO__INIT);
    int64_t *dims = arena_alloc(a, 2 * sizeof(*dims));

    if (t == NULL || dims == NULL)
        return NULL;
    dims[0] = (int64_t)d0;
    dims[1] = (int64_t)d1;
    t->n_dims = d1 ? 2 : 1;
    t->dims = dims;
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->name = (char *)name;
    t->n_float_data = d1 ? d0 * d1 : d0;
    t->float_data = (float *)data; /* packed, never written */
    return t;
}

/* A node op_type(in...) -> out, with at most one int attribute. */
static Onnx__NodeProto *node(arena_t *a, const char *op, const char *name,
                             const char *in0, const char *in1,
                             const char *in2, const char *out,
                             const char *attr, int64_t value)
{
    Onnx__NodeProto *n = NEW(a, Onnx__NodeProto, ONNX__NODE_PROTO__INIT);
    char **ins = arena_alloc(a, 3 * sizeof(*ins));
    char **outs = arena_alloc(a, sizeof(*outs));

    if (n == NULL || ins == NULL || outs == NULL)
        return NULL;
    n->op_type = (char *)op;
    n->name = (char *)name;
    ins[0] = (char *)in0;
    ins[1] = (char *)in1;
    ins[2] = (char *)in2;
    n->n_input = in2 ? 3 : in1 ? 2 : 1;
    n->input = ins;
    outs[0] = (char *)out;
    n->n_output = 1;
    n->output = outs;
    if (attr != NULL) {
        Onnx__AttributeProto *at =
            NEW(a, Onnx__AttributeProto, ONNX__ATTRIBUTE_PROTO__INIT);
        Onnx__AttributeProto **ats = arena_alloc(a, sizeof(*ats));

        if (at == NULL || ats == NULL)
            return NULL;
        at->name = (char *)attr;
        at->has_type = 1;
        at->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        at->has_i = 1;
        at->i = value;
        ats[0] = at;
        n->n_attribute = 1;
        n->attribute = ats;
    }
    return n;
}

/* A graph input or output: float32 [batch, width]. */
static Onnx__ValueInfoProto *value_info(arena_t *a, const char *name,
                                        size_t width, const char *doc)
{
    Onnx__ValueInfoProto *v =
        NEW(a, Onnx__ValueInfoProto, ONNX__VALUE_INFO_PROTO__INIT);
    Onnx__TypeProto *t = NEW(a, Onnx__TypeProto, ONNX__TYPE_PROTO__INIT);
    Onnx__TypeProto__Tensor *tt =
        NEW(a, Onnx__TypeProto__Tensor, ONNX__TYPE_PROTO__TENSOR__INIT);
    Onnx__TensorShapeProto *sh =
        NEW(a, Onnx__TensorShapeProto, ONNX__TENSOR_SHAPE_PROTO__INIT);
    Onnx__TensorShapeProto__Dimension *d0 = NEW(
        a, Onnx__TensorShapeProto__Dimension,
        ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT);
    Onnx__TensorShapeProto__Dimension *d1 = NEW(
        a, Onnx__TensorShapeProto__Dimension,
        ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT);
    Onnx__TensorShapeProto__Dimension **dims =
        arena_alloc(a, 2 * sizeof(*dims));

    if (v == NULL || t == NULL || tt == NULL || sh == NULL || d0 == NULL ||
        d1 == NULL || dims == NULL)
        return NULL;
    d0->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    d0->dim_param = "batch";
    d1->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d1->dim_value = (int64_t)width;
    dims[0] = d0;
    dims[1] = d1;
    sh->n_dim = 2;
    sh->dim = dims;
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt->shape = sh;
    t->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tensor_type = tt;
    v->name = (char *)name;
    v->type = t;
    v->doc_string = (char *)doc;
    return v;
}

static Onnx__StringStringEntryProto *prop(arena_t *a, const char *key,
                                          char *value)
{
    Onnx__StringStringEntryProto *p = NEW(a, Onnx__StringStringEntryProto,
                                          ONNX__STRING_STRING_ENTRY_PROTO__INIT);

    if (p == NULL || value == NULL)
        return NULL;
    p->key = (char *)key;
    p->value = value;
    return p;
}

/* The class names as a JSON array (jansson checks they are UTF-8). */
static int names_json(arena_t *a, const mlp_class_names_t *cn, char **out)
{
    json_t *arr = json_array();
    char *s = NULL;
    int rc = 0;

    *out = NULL;
    if (arr == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    for (size_t k = 0; k < cn->n; k++) {
        json_t *v = json_string(cn->names[k]);

        if (v == NULL || json_array_append_new(arr, v) != 0) {
            rc = mlp_error_set(MLP_EINVAL, "class name %zu is not UTF-8 text",
                               k);
            goto out;
        }
    }
    if ((s = json_dumps(arr, JSON_COMPACT)) == NULL ||
        (*out = arena_printf(a, "%s", s)) == NULL)
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
out:
    free(s);
    json_decref(arr);
    return rc;
}

/* "shift 0 and scale 0.00392156886 for every feature", or "per feature". */
static char *transform_text(arena_t *a, const float *shift,
                            const float *scale, size_t in)
{
    int uniform = 1;

    for (size_t j = 1; j < in; j++)
        uniform &= shift[j] == shift[0] && scale[j] == scale[0];
    if (uniform)
        return arena_printf(a, "x' = (x - shift) * scale with shift %.9g and "
                               "scale %.9g for every input feature "
                               "(initializers 'shift' and 'scale')",
                            (double)shift[0], (double)scale[0]);
    return arena_printf(a, "x' = (x - shift) * scale per input feature "
                           "(initializers 'shift' and 'scale')");
}

/* ---- the model --------------------------------------------------------- */

int mlp_export_onnx_encode(const mlp_checkpoint_t *ck,
                           const mlp_class_names_t *cn, uint8_t **buf,
                           size_t *len)
{
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *opsets[1] = {&opset};
    mlp_export_layers_t L;
    arena_t a = {0};
    float *shift = NULL, *scale = NULL;
    const char *act = mlp_export_act(ck), *op = NULL, *prev = "x";
    char shape[256], *names = NULL;
    size_t nl, nnode = 0, ninit = 0, nin = 0, nout = 0, nprop = 0;
    Onnx__NodeProto **nodes;
    Onnx__TensorProto **inits;
    Onnx__ValueInfoProto **ins, **outs;
    Onnx__StringStringEntryProto **props;
    int rc;

    *buf = NULL;
    *len = 0;
    if ((rc = mlp_export_layers(ck, &L)) < 0)
        return rc;
    if (cn->n != ck->out)
        return mlp_error_set(MLP_EINVAL, "%zu class names for %zu classes",
                             cn->n, ck->out);
    nl = L.nlayers;
    if (ck->nhidden > 0)
        op = ck->act == MLP_ACT_RELU      ? "Relu"
             : ck->act == MLP_ACT_SIGMOID ? "Sigmoid"
             : ck->act == MLP_ACT_TANH    ? "Tanh"
                                          : NULL;
    if (ck->nhidden > 0 && op == NULL)
        return mlp_error_set(MLP_EINVAL, "activation %d has no ONNX operator",
                             (int)ck->act);
    /* Nodes: Sub, Mul, a Gemm per layer, an activation between layers,
     * Softmax; initializers: shift, scale, W and b per layer; 6 props. */
    nodes = arena_alloc(&a, (2 * nl + 2) * sizeof(*nodes));
    inits = arena_alloc(&a, (2 * nl + 2) * sizeof(*inits));
    ins = arena_alloc(&a, sizeof(*ins));
    outs = arena_alloc(&a, 2 * sizeof(*outs));
    props = arena_alloc(&a, 8 * sizeof(*props));
    shift = arena_alloc(&a, ck->in * sizeof(*shift));
    scale = arena_alloc(&a, ck->in * sizeof(*scale));
    if (a.failed) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for the ONNX model");
        goto out;
    }
    if ((rc = mlp_export_transform(ck, shift, scale)) < 0 ||
        (rc = names_json(&a, cn, &names)) < 0)
        goto out;
    mlp_net_shape_str(shape, sizeof(shape), ck->in, ck->hidden, ck->nhidden,
                      ck->out);

    inits[ninit++] = tensor(&a, "shift", shift, ck->in, 0);
    inits[ninit++] = tensor(&a, "scale", scale, ck->in, 0);
    nodes[nnode++] = node(&a, "Sub", "transform_shift", "input", "shift",
                          NULL, "centered", NULL, 0);
    nodes[nnode++] = node(&a, "Mul", "transform_scale", "centered", "scale",
                          NULL, "x", NULL, 0);
    for (size_t l = 0; l < nl; l++) {
        char *w = arena_printf(&a, "W%zu", l), *b = arena_printf(&a, "b%zu", l);
        int last = l + 1 == nl;
        char *z = last ? "logits" : arena_printf(&a, "z%zu", l);

        inits[ninit++] = tensor(&a, w, L.w[l], L.out[l], L.in[l]);
        inits[ninit++] = tensor(&a, b, L.b[l], L.out[l], 0);
        nodes[nnode++] = node(&a, "Gemm", arena_printf(&a, "layer%zu", l),
                              prev, w, b, z, "transB", 1);
        prev = z;
        if (!last) {
            char *h = arena_printf(&a, "h%zu", l);

            nodes[nnode++] = node(&a, op, arena_printf(&a, "%s%zu", act, l),
                                  z, NULL, NULL, h, NULL, 0);
            prev = h;
        }
    }
    nodes[nnode++] = node(&a, "Softmax", "softmax", "logits", NULL, NULL,
                          "probabilities", "axis", 1);
    ins[nin++] = value_info(&a, "input", ck->in,
                            "raw input features as mlptrain takes them "
                            "(uint8-range pixels for image data), float32");
    outs[nout++] = value_info(&a, "logits", ck->out, "class scores");
    outs[nout++] = value_info(&a, "probabilities", ck->out,
                              "softmax of the logits over the classes");
    props[nprop++] = prop(&a, "class_names", names);
    props[nprop++] = prop(&a, "shape", arena_printf(&a, "%s", shape));
    props[nprop++] = prop(&a, "activation", (char *)act);
    props[nprop++] = prop(&a, "input_transform",
                          transform_text(&a, shift, scale, ck->in));
    props[nprop++] = prop(&a, "epochs", arena_printf(&a, "%u", ck->epoch));
    props[nprop++] = prop(&a, "checkpoint_version",
                          arena_printf(&a, "%u", ck->version));
    if (a.failed) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for the ONNX model");
        goto out;
    }

    graph.name = "mlptrain";
    graph.n_node = nnode;
    graph.node = nodes;
    graph.n_initializer = ninit;
    graph.initializer = inits;
    graph.n_input = nin;
    graph.input = ins;
    graph.n_output = nout;
    graph.output = outs;
    opset.domain = "";
    opset.has_version = 1;
    opset.version = MLP_EXPORT_ONNX_OPSET;
    model.has_ir_version = 1;
    model.ir_version = MLP_EXPORT_ONNX_IR;
    model.n_opset_import = 1;
    model.opset_import = opsets;
    model.producer_name = "mlptrain";
    model.producer_version = PACKAGE_VERSION;
    model.doc_string = arena_printf(
        &a,
        "mlptrain MLP %s (%s), %zu classes: input float32 [batch, %zu] of raw "
        "features as mlptrain takes them; %s; outputs logits [batch, %zu] "
        "and probabilities = Softmax(logits, axis=1); class names: %s",
        shape, act, ck->out, ck->in, transform_text(&a, shift, scale, ck->in),
        ck->out, names);
    model.graph = &graph;
    model.n_metadata_props = nprop;
    model.metadata_props = props;
    if (a.failed) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for the ONNX model");
        goto out;
    }
    *len = onnx__model_proto__get_packed_size(&model);
    /* protobuf's 2 GiB limit on a message: an ONNX file past it needs
     * external data, which this writer does not do. */
    if (*len > ((size_t)2 << 30) - 1) {
        rc = mlp_error_set(MLP_EINVAL, "a model of %zu parameters is over "
                                       "ONNX's 2 GiB limit",
                           ck->nparams);
        *len = 0;
        goto out;
    }
    if ((*buf = malloc(*len)) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for an ONNX model of "
                                       "%zu bytes",
                           *len);
        *len = 0;
        goto out;
    }
    onnx__model_proto__pack(&model, *buf);
out:
    arena_free(&a);
    return rc;
}

/* The written file parses as a ModelProto. */
static int valid_onnx(int fd, const char *path, void *arg)
{
    uint8_t *buf = NULL;
    size_t len;
    Onnx__ModelProto *m;
    int rc;

    (void)arg;
    if ((rc = mlp_export_read_back(fd, path, &buf, &len)) < 0)
        return rc;
    m = onnx__model_proto__unpack(NULL, len, buf);
    free(buf);
    if (m == NULL)
        return mlp_out_invalid(path, "an ONNX model");
    onnx__model_proto__free_unpacked(m, NULL);
    return 0;
}

int mlp_export_onnx(const mlp_checkpoint_t *ck, const mlp_class_names_t *cn,
                    const char *path)
{
    return mlp_export_write(path, mlp_export_onnx_encode, ck, cn, valid_onnx);
}
