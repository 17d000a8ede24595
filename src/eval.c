/*
 * eval: test-split figures, predictions and the `eval` / `predict`
 * commands (see eval.h).
 *
 * The core decodes a split in order into one batch buffer and runs the
 * net's forward pass; the commands load a checkpoint, the data, check that
 * they fit, build a net of the checkpoint's shape and print.  The picture
 * of `predict --png` is a gnuplot multiplot drawn by plot.c.
 *
 * Non-goals: training, checkpoint formats (checkpoint.c), the loader's
 * threads (a single in-order pass needs none).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "config.h"
#include "mlptrain/config.h"
#include "mlptrain/cli.h"
#include "mlptrain/error.h"
#include "mlptrain/eval.h"
#include "mlptrain/loss.h"
#include "mlptrain/outfile.h"
#include "mlptrain/plot.h"
#include "mlptrain/report.h"

const char *const mlp_fashion_mnist_names[10] = {
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal",  "shirt",   "sneaker",  "bag",   "ankle boot",
};

/* CRC-32 of the 10,000 decoded labels of Fashion-MNIST's t10k-labels. */
#define FASHION_TEST_LABELS_CRC 0x242bc73fUL

/* ---- core ---------------------------------------------------------- */

/*
 * Run the first n rows of the split through the net in batches; for each
 * batch, add the loss and counts to res (when not NULL) and store the
 * predictions in pred (when not NULL).
 */
static int run_rows(mlp_net_t *net, const mlp_split_t *split, size_t n,
                    size_t batch, mlp_eval_result_t *res, int32_t *pred)
{
    const mlp_net_spec_t *spec = mlp_net_spec(net);
    size_t c = spec->out, b = n < batch ? n : batch;
    float *x = NULL;
    int32_t *y = NULL;
    int rc = 0;

    if (batch == 0)
        return mlp_error_set(MLP_EINVAL, "evaluation batch size is 0");
    if (split->dim != spec->in)
        return mlp_error_set(MLP_EINVAL,
                             "samples of %zu values do not fit a net of "
                             "input width %zu",
                             split->dim, spec->in);
    if (n > split->n)
        return mlp_error_set(MLP_EINVAL, "%zu samples asked of a split of %zu",
                             n, split->n);
    for (size_t i = 0; i < n; i++)
        if (split->labels[i] >= c)
            return mlp_error_set(MLP_EINVAL,
                                 "label %u of sample %zu is not below the "
                                 "model's class count %zu",
                                 split->labels[i], i, c);
    if (n == 0)
        return 0;
    x = aligned_alloc(64, (b * split->dim * sizeof(float) + 63) / 64 * 64);
    y = malloc(b * sizeof(*y));
    if (x == NULL || y == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for a batch of %zu "
                           "samples", b);
        goto out;
    }
    for (size_t first = 0; first < n; first += batch) {
        size_t m = n - first < batch ? n - first : batch;
        const uint8_t *src = split->images + first * split->dim;
        const float *logits;

        for (size_t j = 0; j < m * split->dim; j++)
            x[j] = (float)src[j] / 255.0f;
        for (size_t i = 0; i < m; i++)
            y[i] = split->labels[first + i];
        if ((rc = mlp_net_forward(net, x, m, &logits)) < 0)
            goto out;
        for (size_t i = 0; i < m; i++) {
            size_t p = mlp_loss_argmax(logits + i * c, c);

            if (pred != NULL)
                pred[first + i] = (int32_t)p;
            if (res != NULL)
                res->confusion[(size_t)y[i] * c + p]++;
        }
        if (res != NULL)
            mlp_loss_softmax_xent(logits, y, m, c, NULL, &res->loss,
                                  &res->correct);
    }
out:
    free(x);
    free(y);
    return rc;
}

int mlp_eval_split(mlp_net_t *net, const mlp_split_t *split, size_t batch,
                   mlp_eval_result_t *res)
{
    size_t c = mlp_net_spec(net)->out;
    int rc;

    memset(res, 0, sizeof(*res));
    res->confusion = calloc(c * c, sizeof(*res->confusion));
    if (res->confusion == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory for a %zux%zu "
                             "confusion matrix", c, c);
    res->nclasses = c;
    if ((rc = run_rows(net, split, split->n, batch, res, NULL)) < 0) {
        mlp_eval_result_free(res);
        return rc;
    }
    res->n = split->n;
    if (res->n > 0) {
        res->loss /= (double)res->n;
        res->acc = (double)res->correct / (double)res->n;
    }
    return 0;
}

size_t mlp_eval_class_total(const mlp_eval_result_t *res, size_t k)
{
    size_t t = 0;

    for (size_t j = 0; j < res->nclasses; j++)
        t += res->confusion[k * res->nclasses + j];
    return t;
}

size_t mlp_eval_class_correct(const mlp_eval_result_t *res, size_t k)
{
    return res->confusion[k * res->nclasses + k];
}

void mlp_eval_result_free(mlp_eval_result_t *res)
{
    if (res == NULL)
        return;
    free(res->confusion);
    memset(res, 0, sizeof(*res));
}

int mlp_eval_predict(mlp_net_t *net, const mlp_split_t *split, size_t n,
                     size_t batch, int32_t *pred)
{
    return run_rows(net, split, n, batch, NULL, pred);
}

/* ---- class names and fit ------------------------------------------- */

int mlp_eval_is_fashion_mnist(const mlp_dataset_t *ds)
{
    const mlp_idx_t *tel;

    if (ds == NULL || ds->nclasses != 10 || ds->rows != 28 || ds->cols != 28)
        return 0;
    tel = &ds->idx[MLP_FILE_TEST_LABELS];
    if (tel->data == NULL || tel->count != 10000)
        return 0;
    return crc32(0L, tel->data, (uInt)tel->count) == FASHION_TEST_LABELS_CRC;
}

void mlp_class_names_free(mlp_class_names_t *cn)
{
    if (cn == NULL)
        return;
    free(cn->names);
    free(cn->buf);
    memset(cn, 0, sizeof(*cn));
}

int mlp_eval_class_names(const char *list, const mlp_dataset_t *ds,
                         size_t nclasses, mlp_class_names_t *out)
{
    int fashion = list == NULL && nclasses == 10 &&
                  mlp_eval_is_fashion_mnist(ds);
    size_t given = 1, bufsize;
    char *p;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (list != NULL)
        for (const char *s = list; *s; s++)
            given += *s == ',';
    if (list != NULL && given != nclasses)
        return mlp_error_set(MLP_EUSAGE,
                             "option '--class-names': %zu name%s for %zu "
                             "classes",
                             given, given == 1 ? "" : "s", nclasses);
    /* Room for the list, or for every name as digits or Fashion-MNIST's. */
    bufsize = list != NULL ? strlen(list) + 1 : nclasses * 24;
    out->names = calloc(nclasses ? nclasses : 1, sizeof(*out->names));
    out->buf = malloc(bufsize ? bufsize : 1);
    if (out->names == NULL || out->buf == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory for class names");
        goto out;
    }
    out->n = nclasses;
    p = out->buf;
    if (list != NULL) {
        memcpy(p, list, bufsize);
        for (size_t k = 0; k < nclasses; k++) {
            char *comma = strchr(p, ',');

            if (comma != NULL)
                *comma = '\0';
            if (*p == '\0') {
                rc = mlp_error_set(MLP_EUSAGE,
                                   "option '--class-names': name %zu is "
                                   "empty in '%s'",
                                   k + 1, list);
                goto out;
            }
            out->names[k] = p;
            p += strlen(p) + 1;
        }
    } else {
        for (size_t k = 0; k < nclasses; k++) {
            int len = fashion ? snprintf(p, 24, "%s", mlp_fashion_mnist_names[k])
                              : snprintf(p, 24, "%zu", k);

            out->names[k] = p;
            p += len + 1;
        }
    }
out:
    if (rc < 0)
        mlp_class_names_free(out);
    return rc;
}

int mlp_eval_check_fit(const mlp_checkpoint_t *ck, const char *model_path,
                       const mlp_dataset_t *ds)
{
    const char *imgs = ds->files[MLP_FILE_TEST_IMAGES].path;

    if (ck->in != ds->rows * ds->cols)
        return mlp_error_set(MLP_EINVAL,
                             "model '%s' takes %zu inputs (%zux%zu images) "
                             "but %s has %zux%zu images (%zu values)",
                             model_path, ck->in, ck->rows, ck->cols, imgs,
                             ds->rows, ds->cols, ds->rows * ds->cols);
    if (ck->rows != 0 && ck->cols != 0 &&
        (ck->rows != ds->rows || ck->cols != ds->cols))
        return mlp_error_set(MLP_EINVAL,
                             "model '%s' was trained on %zux%zu images but "
                             "%s has %zux%zu images",
                             model_path, ck->rows, ck->cols, imgs, ds->rows,
                             ds->cols);
    if (ck->out != ds->nclasses)
        return mlp_error_set(MLP_EINVAL,
                             "model '%s' has %zu classes but the data in "
                             "'%s' has %zu",
                             model_path, ck->out,
                             ds->files[MLP_FILE_TRAIN_LABELS].path,
                             ds->nclasses);
    return 0;
}

/* ---- the commands: shared option handling and model loading ------- */

enum {
    OPT_MODEL = 256,
    OPT_DATA,
    OPT_CLASS_NAMES,
    OPT_JSON,
};

typedef struct {
    const char *model;        /* --model, required */
    char data_dir[MLP_PATH_MAX];
    size_t limit_test;        /* 0: all */
    size_t batch;
    size_t n;                 /* predict: images shown */
    int threads;
    const char *class_names;  /* NULL: by the rule */
    int json;
    const char *png;          /* NULL: no picture */
    int help, version;
} cmd_opts_t;

#define PREDICT_MAX 100

/*
 * Parse argv (argv[0] is the command) for `command`, which takes the
 * options of `longopts`/`shortopts`.  MLP_EUSAGE naming the option.
 */
static int parse_opts(const char *command, int argc, char **argv,
                      const struct option *longopts, const char *shortopts,
                      cmd_opts_t *o)
{
    mlp_config_t defaults;
    unsigned long long v;
    int c, rc;

    mlp_config_defaults(&defaults);
    memset(o, 0, sizeof(*o));
    memcpy(o->data_dir, defaults.data_dir, sizeof(o->data_dir));
    o->threads = defaults.threads;
    o->batch = 256;
    o->n = 10;
    optind = 0; /* glibc: full re-initialisation, then argv[1] on */
    opterr = 0;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        const char *name = NULL;
        char opt[64];

        for (const struct option *lo = longopts; lo->name != NULL; lo++)
            if (lo->val == c && name == NULL)
                name = lo->name;
        snprintf(opt, sizeof(opt), "--%s", name != NULL ? name : "?");
        switch (c) {
        case OPT_MODEL:
            if (optarg[0] == '\0')
                return mlp_error_set(MLP_EUSAGE,
                                     "option '--model': empty file name");
            o->model = optarg;
            break;
        case OPT_DATA:
            if (optarg[0] == '\0' || strlen(optarg) >= sizeof(o->data_dir))
                return mlp_error_set(MLP_EUSAGE,
                                     "option '--data': '%s' is not a usable "
                                     "directory name",
                                     optarg);
            memcpy(o->data_dir, optarg, strlen(optarg) + 1);
            break;
        case 'n':
            /* predict: the images shown; eval: the samples evaluated */
            if (strcmp(command, "predict") == 0) {
                if ((rc = mlp_cli_parse_uint(opt, optarg, 1, PREDICT_MAX,
                                             &v)) < 0)
                    return rc;
                o->n = (size_t)v;
                break;
            }
            if ((rc = mlp_cli_parse_uint(opt, optarg, 0, SIZE_MAX, &v)) < 0)
                return rc;
            o->limit_test = (size_t)v;
            break;
        case 'b':
            if ((rc = mlp_cli_parse_uint(opt, optarg, 1, 1u << 20, &v)) < 0)
                return rc;
            o->batch = (size_t)v;
            break;
        case 't':
            if ((rc = mlp_cli_parse_uint(opt, optarg,
                                          1, MLP_MAX_THREADS, &v)) < 0)
                return rc;
            o->threads = (int)v;
            break;
        case OPT_CLASS_NAMES:
            o->class_names = optarg;
            break;
        case OPT_JSON:
            o->json = 1;
            break;
        case 'o':
            if (optarg[0] == '\0')
                return mlp_error_set(MLP_EUSAGE,
                                     "option '--png': empty file name");
            o->png = optarg;
            break;
        case 'h':
            o->help = 1;
            return 0;
        case 'V':
            o->version = 1;
            return 0;
        default:
            return mlp_cli_bad_option(c, argv, longopts, NULL);
        }
    }
    if (optind < argc)
        return mlp_error_set(MLP_EUSAGE, "%s: unexpected argument '%s'",
                             command, argv[optind]);
    if (o->model == NULL)
        return mlp_error_set(MLP_EUSAGE, "%s: option '--model FILE' is "
                             "required", command);
    return 0;
}

/* "model    m.ckpt: 144-24-7 relu, 3 epochs" (+ batches of a save made
 * mid-epoch, on interrupt). */
static void print_model(FILE *out, const char *path, const mlp_checkpoint_t *ck)
{
    char shape[MLP_MAX_HIDDEN * 24 + 48];

    fprintf(out, "model    %s: %s %s, %u epoch%s", path,
            mlp_net_shape_str(shape, sizeof(shape), ck->in, ck->hidden,
                              ck->nhidden, ck->out),
            mlp_net_act_label(ck->act, ck->nhidden), ck->epoch,
            ck->epoch == 1 ? "" : "s");
    if (ck->batches_done > 0)
        fprintf(out, " and %zu batch%s", ck->batches_done,
                ck->batches_done == 1 ? "" : "es");
    fputc('\n', out);
}

/*
 * The data and the checkpoint's model on it: load the checkpoint first (a
 * missing model fails before the data is read), then the data (the first
 * o->limit_test test samples), check that they fit, build a net prepared
 * for the test split in batches of `batch` and load the parameters.
 */
static int load_model(const cmd_opts_t *o, size_t batch, mlp_checkpoint_t *ck,
                      mlp_dataset_t **ds, mlp_net_t **net)
{
    mlp_net_spec_t spec;
    int rc;

    if ((rc = mlp_checkpoint_load(o->model, ck)) < 0)
        return rc;
    if ((rc = mlp_dataset_load(o->data_dir, 0, o->limit_test, ds)) < 0)
        return rc;
    if ((rc = mlp_eval_check_fit(ck, o->model, *ds)) < 0)
        return rc;
    if ((*ds)->test.n == 0)
        return mlp_error_set(MLP_EINVAL, "%s: no test samples",
                             (*ds)->files[MLP_FILE_TEST_IMAGES].path);
    memset(&spec, 0, sizeof(spec));
    spec.in = ck->in;
    spec.out = ck->out;
    spec.nhidden = ck->nhidden;
    memcpy(spec.hidden, ck->hidden, sizeof(spec.hidden));
    spec.act = ck->act;
    spec.threads = o->threads;
    mlp_net_spec_add_split(&spec, (*ds)->test.n, batch);
    if ((rc = mlp_net_create(&spec, net)) < 0)
        return rc;
    if ((rc = mlp_checkpoint_restore(ck, *net, NULL)) < 0)
        return mlp_error_prefix(rc, "model '%s'", o->model);
    return 0;
}

/* ---- eval ----------------------------------------------------------- */

static const struct option eval_options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"data", required_argument, NULL, OPT_DATA},
    {"limit-test", required_argument, NULL, 'n'},
    {"batch", required_argument, NULL, 'b'},
    {"threads", required_argument, NULL, 't'},
    {"class-names", required_argument, NULL, OPT_CLASS_NAMES},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void eval_usage(FILE *f)
{
    fprintf(f,
"usage: mlptrain eval --model FILE [OPTIONS]\n"
"Evaluate a saved model on the test split: loss, accuracy, confusion\n"
"matrix (rows: true class, columns: predicted) and per-class accuracy.\n"
"\n"
"      --model FILE       checkpoint written by 'mlptrain --save' [required]\n"
"      --data DIR         directory of the IDX files [$MLPTRAIN_DATA, else\n"
"                         %s]\n"
"  -n, --limit-test N     use the first N test samples [all]\n"
"  -b, --batch N          evaluation batch size [256]\n"
"  -t, --threads N        compute (OpenMP) threads [cores: %d]\n"
"      --class-names LIST comma-separated names, one per class\n"
"                         [Fashion-MNIST's for Fashion-MNIST, else 0..C-1]\n"
"      --json             print one JSON object instead of text [off]\n"
"  -h, --help             show this help\n"
"  -V, --version          show versions\n"
"\n"
"Exit status:\n"
"  0    success\n"
"  1    error (model, data, memory, standard output)\n"
"  2    bad usage\n",
            MLP_DEFAULT_DATA_DIR, mlp_config_ncores());
}

static void print_eval_json(FILE *out, const cmd_opts_t *o,
                            const mlp_checkpoint_t *ck,
                            const mlp_eval_result_t *r,
                            const mlp_class_names_t *cn)
{
    size_t c = r->nclasses;

    fputs("{\"model\":", out);
    mlp_report_json_string(out, o->model);
    fprintf(out, ",\"epochs\":%u,\"data\":", ck->epoch);
    mlp_report_json_string(out, o->data_dir);
    fprintf(out, ",\"samples\":%zu,\"correct\":%zu,\"accuracy\":%.6f", r->n,
            r->correct, r->acc);
    if (isfinite(r->loss))
        fprintf(out, ",\"loss\":%.6f", r->loss);
    else
        fputs(",\"loss\":null", out);
    fputs(",\"classes\":[", out);
    for (size_t k = 0; k < c; k++) {
        fputs(k ? "," : "", out);
        mlp_report_json_string(out, cn->names[k]);
    }
    fputs("],\"confusion\":[", out);
    for (size_t i = 0; i < c; i++) {
        fputs(i ? ",[" : "[", out);
        for (size_t j = 0; j < c; j++)
            fprintf(out, "%s%zu", j ? "," : "", r->confusion[i * c + j]);
        fputc(']', out);
    }
    fputs("],\"per_class\":[", out);
    for (size_t k = 0; k < c; k++) {
        size_t t = mlp_eval_class_total(r, k);
        size_t ok = mlp_eval_class_correct(r, k);

        fputs(k ? ",{\"class\":" : "{\"class\":", out);
        mlp_report_json_string(out, cn->names[k]);
        fprintf(out, ",\"samples\":%zu,\"correct\":%zu,\"accuracy\":", t, ok);
        if (t > 0)
            fprintf(out, "%.6f}", (double)ok / (double)t);
        else
            fputs("null}", out);
    }
    fputs("]}\n", out);
}

static int digits(size_t v)
{
    int d = 1;

    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* Column j of the matrix: as wide as its name and its largest count. */
static int column_width(const mlp_eval_result_t *r,
                        const mlp_class_names_t *cn, size_t j)
{
    size_t c = r->nclasses, mx = 0;
    int w = (int)strlen(cn->names[j]);

    for (size_t i = 0; i < c; i++)
        if (r->confusion[i * c + j] > mx)
            mx = r->confusion[i * c + j];
    w = w > digits(mx) ? w : digits(mx);
    return w < 3 ? 3 : w;
}

static void print_eval_text(FILE *out, const cmd_opts_t *o,
                            const mlp_checkpoint_t *ck,
                            const mlp_dataset_t *ds,
                            const mlp_eval_result_t *r,
                            const mlp_class_names_t *cn)
{
    size_t c = r->nclasses;
    int lw = 0;

    print_model(out, o->model, ck);
    fprintf(out, "data     %s: %zu test samples%s, %zux%zu, %zu classes\n",
            o->data_dir, ds->test.n,
            ds->test.n < ds->test_total ? " (limited)" : "", ds->rows,
            ds->cols, ds->nclasses);
    fprintf(out, "test     loss %.4f  acc %.4f  (%zu of %zu right)\n",
            r->loss, r->acc, r->correct, r->n);

    for (size_t k = 0; k < c; k++)
        if ((int)strlen(cn->names[k]) > lw)
            lw = (int)strlen(cn->names[k]);
    fputs("\nconfusion matrix (rows: true class, columns: predicted class)\n",
          out);
    fprintf(out, "%*s", lw, "");
    for (size_t j = 0; j < c; j++)
        fprintf(out, " %*s", column_width(r, cn, j), cn->names[j]);
    fputc('\n', out);
    for (size_t i = 0; i < c; i++) {
        fprintf(out, "%*s", lw, cn->names[i]);
        for (size_t j = 0; j < c; j++)
            fprintf(out, " %*zu", column_width(r, cn, j),
                    r->confusion[i * c + j]);
        fputc('\n', out);
    }

    fputs("\nper-class accuracy\n", out);
    for (size_t k = 0; k < c; k++) {
        size_t t = mlp_eval_class_total(r, k);
        size_t ok = mlp_eval_class_correct(r, k);

        if (t > 0)
            fprintf(out, "  %-*s  %.4f  (%zu of %zu)\n", lw, cn->names[k],
                    (double)ok / (double)t, ok, t);
        else
            fprintf(out, "  %-*s  -       (no samples)\n", lw, cn->names[k]);
    }
}

int mlp_cmd_eval(int argc, char **argv, FILE *out)
{
    cmd_opts_t o;
    mlp_checkpoint_t ck;
    mlp_dataset_t *ds = NULL;
    mlp_net_t *net = NULL;
    mlp_eval_result_t res;
    mlp_class_names_t cn;
    int rc;

    memset(&ck, 0, sizeof(ck));
    memset(&res, 0, sizeof(res));
    memset(&cn, 0, sizeof(cn));
    if ((rc = parse_opts("eval", argc, argv, eval_options, ":n:b:t:hV",
                         &o)) < 0)
        goto out;
    if (o.help || o.version) {
        if (o.help)
            eval_usage(out);
        else
            mlp_cli_version(out);
        goto out;
    }
    if ((rc = load_model(&o, o.batch, &ck, &ds, &net)) < 0)
        goto out;
    if ((rc = mlp_eval_class_names(o.class_names, ds, ds->nclasses, &cn)) < 0)
        goto out;
    if ((rc = mlp_eval_split(net, &ds->test, o.batch, &res)) < 0)
        goto out;
    if (o.json)
        print_eval_json(out, &o, &ck, &res, &cn);
    else
        print_eval_text(out, &o, &ck, ds, &res, &cn);
    if (fflush(out) != 0 || ferror(out))
        rc = mlp_error_set(MLP_EIO, "cannot write the results: %s",
                           strerror(errno));
out:
    mlp_class_names_free(&cn);
    mlp_eval_result_free(&res);
    mlp_net_destroy(net);
    mlp_dataset_destroy(ds);
    mlp_checkpoint_free(&ck);
    return rc;
}

/* ---- predict -------------------------------------------------------- */

static const struct option predict_options[] = {
    {"model", required_argument, NULL, OPT_MODEL},
    {"limit-test", required_argument, NULL, 'n'},
    {"count", required_argument, NULL, 'n'},
    {"data", required_argument, NULL, OPT_DATA},
    {"png", required_argument, NULL, 'o'},
    {"threads", required_argument, NULL, 't'},
    {"class-names", required_argument, NULL, OPT_CLASS_NAMES},
    {"json", no_argument, NULL, OPT_JSON},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void predict_usage(FILE *f)
{
    fprintf(f,
"usage: mlptrain predict --model FILE [OPTIONS]\n"
"Show the first test images with their true and predicted labels: as text\n"
"in the terminal and, with --png, as one picture.\n"
"\n"
"      --model FILE       checkpoint written by 'mlptrain --save' [required]\n"
"  -n, --limit-test N     use (show) the first N test images, 1..%d [10];\n"
"                         --count N is the same\n"
"      --data DIR         directory of the IDX files [$MLPTRAIN_DATA, else\n"
"                         %s]\n"
"  -o, --png FILE         also draw them into FILE with gnuplot [none]\n"
"  -t, --threads N        compute (OpenMP) threads [cores: %d]\n"
"      --class-names LIST comma-separated names, one per class\n"
"                         [Fashion-MNIST's for Fashion-MNIST, else 0..C-1]\n"
"      --json             print one JSON object instead of text [off]\n"
"  -h, --help             show this help\n"
"  -V, --version          show versions\n"
"\n"
"Exit status:\n"
"  0    success\n"
"  1    error (model, data, gnuplot, the picture, standard output)\n"
"  2    bad usage\n",
            PREDICT_MAX, MLP_DEFAULT_DATA_DIR, mlp_config_ncores());
}

/* Terminal rendering: two pixel rows per character, 10 levels. */
static const char ramp[] = " .:-=+*#%@";

static char shade(const uint8_t *img, size_t rows, size_t cols, size_t line,
                  size_t x)
{
    unsigned v = img[2 * line * cols + x], k = 1;

    if (2 * line + 1 < rows) {
        v += img[(2 * line + 1) * cols + x];
        k = 2;
    }
    return ramp[(v / k) * 10 / 256];
}

/*
 * Line output without trailing blanks: blanks are held back and written
 * only when something follows them on the line.
 */
typedef struct {
    FILE *out;
    size_t blanks;
} line_t;

static void line_putc(line_t *l, char ch)
{
    if (ch == ' ') {
        l->blanks++;
        return;
    }
    for (; l->blanks > 0; l->blanks--)
        fputc(' ', l->out);
    fputc(ch, l->out);
}

/* s in exactly w columns: cut or padded. */
static void line_cell(line_t *l, const char *s, size_t w)
{
    size_t i = 0;

    for (; s[i] != '\0' && i < w; i++)
        line_putc(l, s[i]);
    for (; i < w; i++)
        line_putc(l, ' ');
}

static void line_end(line_t *l)
{
    l->blanks = 0;
    fputc('\n', l->out);
}

/*
 * The images side by side, as many as fit in 80 columns (at least one per
 * row), each under two caption lines: true label, predicted label (with
 * '*' when wrong).
 */
static void print_predictions(FILE *out, const mlp_dataset_t *ds, size_t n,
                              const int32_t *pred,
                              const mlp_class_names_t *cn)
{
    size_t rows = ds->rows, cols = ds->cols, lines = (rows + 1) / 2;
    size_t w = cols, capw = 0, per_row, right = 0;
    line_t l = {out, 0};
    char cap[128];

    for (size_t i = 0; i < n; i++) {
        size_t a = strlen(cn->names[ds->test.labels[i]]) + 6;
        size_t b = strlen(cn->names[pred[i]]) + 9;

        capw = a > capw ? a : capw;
        capw = b > capw ? b : capw;
    }
    if (capw > 30)
        capw = 30;
    w = w > capw ? w : capw;
    per_row = (80 + 2) / (w + 2);
    if (per_row == 0)
        per_row = 1;
    for (size_t first = 0; first < n; first += per_row) {
        size_t end = n - first < per_row ? n : first + per_row;

        line_end(&l);
        for (int k = 0; k < 2; k++) {
            for (size_t i = first; i < end; i++) {
                if (k == 0)
                    snprintf(cap, sizeof(cap), "true  %s",
                             cn->names[ds->test.labels[i]]);
                else
                    snprintf(cap, sizeof(cap), "pred  %s%s",
                             cn->names[pred[i]],
                             pred[i] != ds->test.labels[i] ? "  *" : "");
                line_cell(&l, cap, w);
                line_cell(&l, "", 2);
            }
            line_end(&l);
        }
        for (size_t y = 0; y < lines; y++) {
            for (size_t i = first; i < end; i++) {
                const uint8_t *img = ds->test.images + i * ds->test.dim;
                size_t x = 0;

                for (; x < cols; x++)
                    line_putc(&l, shade(img, rows, cols, y, x));
                for (; x < w + 2; x++)
                    line_putc(&l, ' ');
            }
            line_end(&l);
        }
    }
    for (size_t i = 0; i < n; i++)
        right += pred[i] == ds->test.labels[i];
    fprintf(out, "\n%zu of %zu right\n", right, n);
}

/*
 * One picture: up to 10 images per row, each captioned with the true label
 * over the predicted one (red when wrong), gray palette, no axes.  Row 0 of
 * an image is drawn at the top (reversed y range), column 0 at the left.
 */
static int draw_png(const char *path, const mlp_dataset_t *ds, size_t n,
                    const int32_t *pred, const mlp_class_names_t *cn)
{
    enum { SIDE = 112, CELL_W = 140, CAP_H = 44, GAP = 12, PAD = 10 };
    size_t rows = ds->rows, cols = ds->cols, big = rows > cols ? rows : cols;
    size_t ncol = n < 10 ? n : 10, nrow = (n + 9) / 10;
    double iw = (double)SIDE * (double)cols / (double)big;
    double ih = (double)SIDE * (double)rows / (double)big;
    int width = (int)(ncol * CELL_W) + 2 * PAD;
    double row_h = CAP_H + ih + GAP; /* wide images take flatter rows */
    int height = (int)((double)nrow * row_h) + PAD + 22; /* + title */
    char *script = NULL;
    size_t len = 0;
    FILE *f;
    int rc;

    if ((f = open_memstream(&script, &len)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory for the plot of '%s'",
                             path);
    /* Class names are user text: in a datablock, never in the program
     * (plot.h); long ones are cut to what a cell holds. */
    mlp_plot_texts(f, "C", (const char *const *)cn->names, cn->n);
    fputs("cut(s) = strlen(s) > 17 ? s[1:16].'~' : s\n"
          "set multiplot title 'each image: true label (top) over the "
          "predicted one; red when wrong' font ',9'\n"
          "unset key\nunset tics\nunset border\n"
          "unset colorbox\nset palette gray\nset cbrange [0:255]\n", f);
    fprintf(f, "set xrange [-0.5:%zu.5]\nset yrange [%zu.5:-0.5]\n",
            cols - 1, rows - 1);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *img = ds->test.images + i * ds->test.dim;
        size_t r = i / 10, c = i % 10;
        double x0 = PAD + (double)c * CELL_W + (CELL_W - iw) / 2;
        double y0 = PAD + 22 + (double)r * row_h + CAP_H;
        int wrong = pred[i] != ds->test.labels[i];

        fprintf(f, "$img%zu << EOD\n", i);
        for (size_t y = 0; y < rows; y++)
            for (size_t x = 0; x < cols; x++)
                fprintf(f, "%u%c", img[y * cols + x],
                        x + 1 < cols ? ' ' : '\n');
        fputs("EOD\n", f);
        fprintf(f,
                "set lmargin at screen %.5f\nset rmargin at screen %.5f\n"
                "set tmargin at screen %.5f\nset bmargin at screen %.5f\n",
                x0 / width, (x0 + iw) / width, 1.0 - y0 / height,
                1.0 - (y0 + ih) / height);
        fprintf(f, "set title sprintf(\"true: %%s\\npredicted: %%s\", "
                   "cut($C[%d][2:]), cut($C[%d][2:])) offset 0,-0.5 "
                   "noenhanced textcolor rgb \"%s\"\n",
                (int)ds->test.labels[i] + 1, (int)pred[i] + 1,
                wrong ? "#c00000" : "black");
        fprintf(f, "plot $img%zu matrix with image\n", i);
    }
    fputs("unset multiplot\n", f);
    if (fclose(f) != 0 || script == NULL) {
        free(script);
        return mlp_error_set(MLP_ENOMEM, "out of memory for the plot of '%s'",
                             path);
    }
    rc = mlp_plot_png(path, width, height, script);
    free(script);
    return rc;
}

/* --json: {"model":...,"epochs":E,"data":...,"classes":[names],
 * "predictions":[{"index":i,"true":k,"predicted":k},...],"correct":N} */
static void print_predict_json(FILE *out, const cmd_opts_t *o,
                               const mlp_checkpoint_t *ck,
                               const mlp_dataset_t *ds, size_t n,
                               const int32_t *pred,
                               const mlp_class_names_t *cn)
{
    size_t correct = 0;

    fputs("{\"model\":", out);
    mlp_report_json_string(out, o->model);
    fprintf(out, ",\"epochs\":%u,\"data\":", ck->epoch);
    mlp_report_json_string(out, o->data_dir);
    fputs(",\"classes\":[", out);
    for (size_t k = 0; k < ds->nclasses; k++) {
        fputs(k ? "," : "", out);
        mlp_report_json_string(out, cn->names[k]);
    }
    fputs("],\"predictions\":[", out);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "%s{\"index\":%zu,\"true\":%u,\"predicted\":%d}",
                i ? "," : "", i, (unsigned)ds->test.labels[i], (int)pred[i]);
        correct += pred[i] == (int32_t)ds->test.labels[i];
    }
    fprintf(out, "],\"correct\":%zu}\n", correct);
}

/* --png: a .png/.svg name, absent or a regular file, not an input. */
static int check_png(const cmd_opts_t *o)
{
    enum { NAME = MLP_PATH_MAX + 40 };
    mlp_out_file_t fs[2 + 2 * MLP_NFILES];
    char *names, opts[2 * MLP_NFILES][64];
    size_t n = 0;
    int rc;

    if ((rc = mlp_plot_check(o->png)) < 0)
        return rc;
    if ((names = malloc(2 * MLP_NFILES * NAME)) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    fs[n++] = (mlp_out_file_t){o->png, "--png", 1, NULL};
    fs[n++] = (mlp_out_file_t){o->model, "--model", 0, NULL};
    for (size_t i = 0; i < 2 * MLP_NFILES; i++) {
        snprintf(names + i * NAME, NAME, "%s/%s%s", o->data_dir,
                 mlp_dataset_file_names[i / 2], i % 2 ? ".gz" : "");
        snprintf(opts[i], sizeof(opts[i]), "--data (%s)",
                 mlp_dataset_file_names[i / 2]);
        fs[n++] = (mlp_out_file_t){names + i * NAME, opts[i], 0, NULL};
    }
    rc = mlp_out_no_alias(fs, n);
    free(names);
    return rc;
}

int mlp_cmd_predict(int argc, char **argv, FILE *out)
{
    cmd_opts_t o;
    mlp_checkpoint_t ck;
    mlp_dataset_t *ds = NULL;
    mlp_net_t *net = NULL;
    mlp_class_names_t cn;
    int32_t *pred = NULL;
    size_t n;
    int rc;

    memset(&ck, 0, sizeof(ck));
    memset(&cn, 0, sizeof(cn));
    if ((rc = parse_opts("predict", argc, argv, predict_options,
                         ":n:o:t:hV", &o)) < 0)
        goto out;
    if (o.help || o.version) {
        if (o.help)
            predict_usage(out);
        else
            mlp_cli_version(out);
        goto out;
    }
    /* The picture: checked before any work, and not an input. */
    if (o.png != NULL && (rc = check_png(&o)) < 0)
        goto out;
    /* Only the first n test samples are needed. */
    o.limit_test = o.n;
    if ((rc = load_model(&o, o.n, &ck, &ds, &net)) < 0)
        goto out;
    n = ds->test.n;
    if ((rc = mlp_eval_class_names(o.class_names, ds, ds->nclasses, &cn)) < 0)
        goto out;
    if ((pred = malloc(n * sizeof(*pred))) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = mlp_eval_predict(net, &ds->test, n, n, pred)) < 0)
        goto out;
    if (o.json) {
        print_predict_json(out, &o, &ck, ds, n, pred, &cn);
    } else {
        print_model(out, o.model, &ck);
        fprintf(out, "data     %s: %zu test images, %zux%zu, %zu classes\n",
                o.data_dir, ds->test_total, ds->rows, ds->cols,
                ds->nclasses);
        fprintf(out, "showing  the first %zu: true label over predicted, * "
                     "when wrong\n",
                n);
        print_predictions(out, ds, n, pred, &cn);
    }
    if (o.png != NULL) {
        if ((rc = draw_png(o.png, ds, n, pred, &cn)) < 0)
            goto out;
        if (!o.json) /* stdout stays one JSON object */
            fprintf(out, "wrote %s\n", o.png);
    }
    if (fflush(out) != 0 || ferror(out))
        rc = mlp_error_set(MLP_EIO, "cannot write the results: %s",
                           strerror(errno));
out:
    free(pred);
    mlp_class_names_free(&cn);
    mlp_net_destroy(net);
    mlp_dataset_destroy(ds);
    mlp_checkpoint_free(&ck);
    return rc;
}
