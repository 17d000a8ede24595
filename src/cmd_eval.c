/*
 * cmd_eval: the `eval` and `predict` commands, which share their options
 * and their start: load a saved model and the data (mlp_eval_open), run
 * the model (eval.h), render (eval_render.h).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mlptrain/options.h"
#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/datacfg.h"
#include "mlptrain/error.h"
#include "mlptrain/eval.h"
#include "mlptrain/eval_render.h"
#include "mlptrain/loader.h"
#include "mlptrain/outfile.h"
#include "mlptrain/plot.h"
#include "mlptrain/predict.h"
#include "mlptrain/trainer.h"

/* ---- shared option handling ------------------------------------------ */

enum {
    OPT_MODEL = 256,
    OPT_DATA,
    OPT_CLASS_NAMES,
    OPT_JSON,
    OPT_SHOW_TRAIN,
    OPT_EPOCH,
    OPT_SEED,
    OPT_AUGMENT,
    OPT_TEST,
    OPT_TEST_LABELS,
    OPT_LABEL,
    OPT_HEADER,
    OPT_INPUT,
    OPT_CSV,
    OPT_LOGITS,
    OPT_PRECISION,
};

typedef struct {
    const char *model;        /* --model, required */
    char data_dir[MLP_PATH_MAX];
    size_t limit_test;        /* 0: all */
    size_t batch;
    size_t n;                 /* predict: images shown */
    int threads;
    int precision;            /* eval.h: MLP_EVAL_PRECISION_MODEL or an
                                 mlp_precision_t */
    const char *class_names;  /* NULL: by the rule */
    int json;
    const char *png;          /* NULL: no picture */
    int help, version;
    /* predict --show-train */
    int show_train;
    unsigned epoch;           /* 1-based */
    uint64_t seed;
    int seed_given;
    mlp_augment_t augment;
    int augment_given;
    /* data files (dataset.h) and predict --input (predict.h) */
    const char *test, *test_labels, *label, *input;
    int header;               /* mlp_header_t */
    int csv, logits;
} cmd_opts_t;

#define PREDICT_MAX 100

/* What eval and predict open: the model, the data, the net, the names. */
typedef struct {
    mlp_checkpoint_t ck;
    mlp_dataset_t *ds;
    mlp_net_t *net;
    mlp_class_names_t cn;
} opened_t;

static void opened_close(opened_t *m)
{
    mlp_class_names_free(&m->cn);
    mlp_net_destroy(m->net);
    mlp_dataset_destroy(m->ds);
    mlp_checkpoint_free(&m->ck);
}

/* The precision the opened model's net runs in. */
static mlp_precision_t net_precision(const opened_t *m)
{
    return mlp_net_spec(m->net)->precision;
}

/* Results that never reached `out` are an error. */
static int flush_results(FILE *out)
{
    if (fflush(out) != 0 || ferror(out))
        return mlp_error_set(MLP_EIO, "cannot write the results: %s",
                             strerror(errno));
    return 0;
}


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
    o->precision = MLP_EVAL_PRECISION_MODEL;
    o->batch = 256;
    o->n = 10;
    o->epoch = 1;
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
        case OPT_SHOW_TRAIN:
            o->show_train = 1;
            break;
        case OPT_EPOCH:
            if ((rc = mlp_cli_parse_uint(opt, optarg, 1, UINT_MAX, &v)) < 0)
                return rc;
            o->epoch = (unsigned)v;
            break;
        case OPT_SEED:
            if ((rc = mlp_cli_parse_uint(opt, optarg, 0, UINT64_MAX,
                                         &v)) < 0)
                return rc;
            o->seed = (uint64_t)v;
            o->seed_given = 1;
            break;
        case OPT_AUGMENT:
            if ((rc = mlp_cli_parse_augment(opt, optarg, &o->augment)) < 0)
                return rc;
            o->augment_given = 1;
            break;
        case OPT_TEST:
        case OPT_TEST_LABELS:
        case OPT_INPUT:
            if (optarg[0] == '\0')
                return mlp_error_set(MLP_EUSAGE, "option '%s': empty file "
                                     "name", opt);
            if (c == OPT_TEST)
                o->test = optarg;
            else if (c == OPT_TEST_LABELS)
                o->test_labels = optarg;
            else
                o->input = optarg;
            break;
        case OPT_LABEL:
            o->label = optarg;
            break;
        case OPT_HEADER: {
            const mlp_option_t *h = mlp_options_find("header");
            int hv = mlp_options_enum_parse(h, optarg);

            if (hv < 0)
                return mlp_error_set(MLP_EUSAGE, "option '--header': '%s' "
                                     "is not yes, no or auto", optarg);
            o->header = hv;
            break;
        }
        case OPT_PRECISION: {
            const mlp_option_t *p = mlp_options_find("precision");

            if ((o->precision = mlp_options_enum_parse(p, optarg)) < 0)
                return mlp_error_set(MLP_EUSAGE, "option '--precision': "
                                     "'%s' is not f32, bf16 or auto",
                                     optarg);
            break;
        }
        case OPT_CSV:
            o->csv = 1;
            break;
        case OPT_LOGITS:
            o->logits = 1;
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
    if (o->test_labels != NULL && o->test == NULL)
        return mlp_error_set(MLP_EUSAGE, "%s: option '--test-labels' goes "
                             "with --test FILE", command);
    if (o->input != NULL && (o->test != NULL || o->show_train ||
                             o->png != NULL))
        return mlp_error_set(MLP_EUSAGE, "%s: option '--input' predicts "
                             "every row of a file: it does not go with "
                             "--test, --show-train or --png", command);
    if (o->input == NULL && (o->csv || o->logits))
        return mlp_error_set(MLP_EUSAGE, "%s: options '--csv' and "
                             "'--logits' go with --input FILE", command);
    if (o->csv && o->json)
        return mlp_error_set(MLP_EUSAGE, "%s: options '--csv' and '--json' "
                             "exclude each other", command);
    if (!o->show_train && (o->epoch != 1 || o->seed_given ||
                           o->augment_given))
        return mlp_error_set(MLP_EUSAGE, "%s: options '--epoch', '--seed' "
                             "and '--augment' need '--show-train'", command);
    return 0;
}

/*
 * Parse argv for `command` (see parse_opts) and answer --help and
 * --version: 1 when that is all there was to do.
 */
static int start(const char *command, int argc, char **argv,
                 const struct option *longopts, const char *shortopts,
                 void (*usage)(FILE *), FILE *out, cmd_opts_t *o)
{
    int rc = parse_opts(command, argc, argv, longopts, shortopts, o);

    if (rc < 0)
        return rc;
    if (o->help)
        usage(out);
    else if (o->version)
        mlp_cli_version(out);
    return o->help || o->version;
}

/* The data eval and predict read: --test FILE, else --data DIR. */
static const char *data_label(const cmd_opts_t *o)
{
    return o->test != NULL ? o->test : o->data_dir;
}

static int open_model(const cmd_opts_t *o, size_t limit_test, size_t batch,
                      opened_t *m)
{
    mlp_dataset_files_t f;

    if (o->test == NULL)
        return mlp_eval_open(o->model, o->data_dir, limit_test, o->threads,
                             o->precision, batch, &m->ck, &m->ds, &m->net);
    memset(&f, 0, sizeof(f));
    f.test = o->test;
    f.test_labels = o->test_labels;
    f.csv.label = o->label;
    f.csv.header = (mlp_header_t)o->header;
    f.limit_test = limit_test;
    return mlp_eval_open_files(o->model, &f, o->threads, o->precision,
                               batch, &m->ck, &m->ds, &m->net);
}

/* predict --input: stream the file through the model. */
static int predict_input(const cmd_opts_t *o, FILE *out)
{
    mlp_checkpoint_t ck;
    mlp_class_names_t cn;
    mlp_table_opts_t in;
    mlp_predict_opts_t po;
    size_t rows;
    int rc;

    memset(&cn, 0, sizeof(cn));
    if ((rc = mlp_checkpoint_load(o->model, &ck)) < 0)
        return rc;
    if ((rc = mlp_eval_model_class_names(&ck, o->class_names, &cn)) < 0)
        goto out;
    memset(&in, 0, sizeof(in));
    in.path = o->input;
    in.csv.label = o->label;
    in.csv.header = (mlp_header_t)o->header;
    memset(&po, 0, sizeof(po));
    po.json = o->json;
    po.logits = o->logits;
    po.batch = o->batch;
    po.threads = o->threads;
    po.precision = o->precision;
    if ((rc = mlp_predict_file(&ck, o->model, &in, &cn, &po, out,
                               &rows)) < 0)
        goto out;
    rc = flush_results(out);
out:
    mlp_class_names_free(&cn);
    mlp_checkpoint_free(&ck);
    return rc;
}

/* ---- eval ----------------------------------------------------------- */

/* The options eval and predict share. */
#define MODEL_OPTIONS                                                        \
    {"model", required_argument, NULL, OPT_MODEL},                          \
    {"data", required_argument, NULL, OPT_DATA},                            \
    {"limit-test", required_argument, NULL, 'n'},                           \
    {"threads", required_argument, NULL, 't'},                              \
    {"precision", required_argument, NULL, OPT_PRECISION},                  \
    {"class-names", required_argument, NULL, OPT_CLASS_NAMES},              \
    {"json", no_argument, NULL, OPT_JSON},                                  \
    {"test", required_argument, NULL, OPT_TEST},                            \
    {"test-labels", required_argument, NULL, OPT_TEST_LABELS},              \
    {"label", required_argument, NULL, OPT_LABEL},                          \
    {"header", required_argument, NULL, OPT_HEADER}

/* The --precision line of both usages. */
#define PRECISION_USAGE                                                      \
    "      --precision NAME   the products' operands: f32, bf16 or auto\n"  \
    "                         [the model's: what it was trained in]\n"

static const struct option eval_options[] = {
    MODEL_OPTIONS,
    {"batch", required_argument, NULL, 'b'},
    MLP_CLI_STD_OPTIONS,
};

static void eval_usage(FILE *f)
{
    fprintf(f,
"usage: mlptrain eval --model FILE [OPTIONS]\n"
"Evaluate a saved model on the test split: loss, accuracy, confusion\n"
"matrix (rows: true class, columns: predicted), per-class accuracy and\n"
"per-class precision, recall and F1 with their macro averages (0 for 0/0).\n"
"\n"
"      --model FILE       checkpoint written by 'mlptrain --save' [required]\n"
"      --data DIR         directory of the IDX files [$MLPTRAIN_DATA, else\n"
"                         %s]\n"
"  -n, --limit-test N     use the first N test samples [all]\n"
"      --test FILE        test samples of any format (IDX, CSV, .npy,\n"
"                         .npz; gzip or not) instead of --data [none]\n"
"      --test-labels FILE labels of an IDX or .npy --test file [none]\n"
"      --label COL        CSV label column, a name or 0-based index\n"
"                         [the last column]\n"
"      --header WHEN      CSV header line: yes, no or auto [auto]\n"
"  -b, --batch N          evaluation batch size [256]\n"
"  -t, --threads N        compute (OpenMP) threads [cores: %d]\n"
PRECISION_USAGE
"      --class-names LIST comma-separated names, one per class\n"
"                         [the model's (text labels), Fashion-MNIST's for\n"
"                         Fashion-MNIST, else 0..C-1]\n"
"      --json             print one JSON object instead of text [off]\n"
"  -h, --help             show this help\n"
"  -V, --version          show versions\n",
            MLP_DEFAULT_DATA_DIR, mlp_config_ncores());
    mlp_cli_exit_status(f, NULL, "error (model, data, memory, standard "
                        "output)", 0);
}

int mlp_cmd_eval(int argc, char **argv, FILE *out)
{
    cmd_opts_t o;
    opened_t m;
    mlp_eval_result_t res;
    int rc;

    memset(&m, 0, sizeof(m));
    memset(&res, 0, sizeof(res));
    if ((rc = start("eval", argc, argv, eval_options, ":n:b:t:hV",
                    eval_usage, out, &o)) != 0)
        return rc < 0 ? rc : 0;
    if ((rc = open_model(&o, o.limit_test, o.batch, &m)) < 0 ||
        (rc = mlp_eval_class_names(o.class_names, m.ds, m.ds->nclasses,
                                   &m.cn)) < 0)
        goto out;
    if ((rc = mlp_eval_split(m.net, &m.ds->test, o.batch, &res)) < 0) {
        rc = mlp_error_prefix(rc, "%s",
                              m.ds->files[MLP_FILE_TEST_IMAGES].path);
        goto out;
    }
    if (o.json &&
        (rc = mlp_eval_print_json(out, o.model, data_label(&o), &m.ck,
                                  net_precision(&m), &res, &m.cn)) < 0)
        goto out;
    if (!o.json)
        mlp_eval_print_text(out, o.model, data_label(&o), &m.ck,
                            net_precision(&m), m.ds, &res, &m.cn);
    rc = flush_results(out);
out:
    mlp_eval_result_free(&res);
    opened_close(&m);
    return rc;
}

/* ---- predict -------------------------------------------------------- */

static const struct option predict_options[] = {
    MODEL_OPTIONS,
    {"count", required_argument, NULL, 'n'},
    {"png", required_argument, NULL, 'o'},
    {"show-train", no_argument, NULL, OPT_SHOW_TRAIN},
    {"epoch", required_argument, NULL, OPT_EPOCH},
    {"seed", required_argument, NULL, OPT_SEED},
    {"augment", required_argument, NULL, OPT_AUGMENT},
    {"input", required_argument, NULL, OPT_INPUT},
    {"csv", no_argument, NULL, OPT_CSV},
    {"logits", no_argument, NULL, OPT_LOGITS},
    MLP_CLI_STD_OPTIONS,
};

static void predict_usage(FILE *f)
{
    fprintf(f,
"usage: mlptrain predict --model FILE [OPTIONS]\n"
"       mlptrain predict --model FILE --input FILE [--csv|--json] [--logits]\n"
"Show the first test images with their true and predicted labels: as text\n"
"in the terminal and, with --png, as one picture.  With --show-train, the\n"
"first training images of an epoch instead, as the loader hands them to\n"
"the trainer: in that epoch's order, shifted and flipped by --augment.\n"
"\n"
"      --model FILE       checkpoint written by 'mlptrain --save' [required]\n"
"  -n, --limit-test N     use (show) the first N test images, 1..%d [10];\n"
"                         --count N is the same\n"
"      --data DIR         directory of the IDX files [$MLPTRAIN_DATA, else\n"
"                         %s]\n"
"  -o, --png FILE         also draw them into FILE with gnuplot [none]\n"
"  -t, --threads N        compute (OpenMP) threads [cores: %d]\n"
PRECISION_USAGE
"      --class-names LIST comma-separated names, one per class\n"
"                         [the model's (text labels), Fashion-MNIST's for\n"
"                         Fashion-MNIST, else 0..C-1]\n"
"      --json             print one JSON object instead of text [off]\n"
"      --test FILE        test samples of any format (IDX, CSV, .npy,\n"
"                         .npz; gzip or not) instead of --data [none]\n"
"      --test-labels FILE labels of an IDX or .npy --test file [none]\n"
"      --label COL        CSV label column, a name or 0-based index\n"
"                         [the last column]\n"
"      --header WHEN      CSV header line: yes, no or auto [auto]\n"
"      --input FILE       predict every row of FILE (CSV, .npy, .npz, IDX;\n"
"                         gzip or not; no labels: --label COL skips a CSV\n"
"                         column), streamed, one line per row [none]\n"
"      --csv              --input: CSV lines row,class,name,p_0.. [default]\n"
"      --json             --input: one JSON object per row\n"
"      --logits           --input: the logits too [off]\n"
"      --show-train       show training images as trained on [off]:\n"
"      --epoch E          ... of epoch E [1]\n"
"      --seed N           ... in the order and draws of seed N [the model's]\n"
"      --augment LIST     ... augmented by LIST: shift=K, flip, both, or\n"
"                         none [the model's]\n"
"  -h, --help             show this help\n"
"  -V, --version          show versions\n",
            PREDICT_MAX, MLP_DEFAULT_DATA_DIR, mlp_config_ncores());
    mlp_cli_exit_status(f, NULL, "error (model, data, gnuplot, the picture, "
                        "standard output)", 0);
}

/* --png: a .png/.svg name, absent or a regular file, not an input. */
static int check_png(const cmd_opts_t *o)
{
    mlp_dataset_paths_t *data = NULL;
    mlp_out_file_t fs[2 + MLP_DATASET_NPATHS];
    size_t n = 0;
    int rc;

    if ((rc = mlp_plot_check(o->png)) < 0)
        return rc;
    if ((data = malloc(sizeof(*data))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    fs[n++] = (mlp_out_file_t){o->png, "--png", 1, NULL};
    fs[n++] = (mlp_out_file_t){o->model, "--model", 0, NULL};
    mlp_dataset_paths(o->data_dir, data);
    for (size_t i = 0; i < MLP_DATASET_NPATHS; i++)
        fs[n++] = (mlp_out_file_t){data->path[i], data->what[i], 0, NULL};
    rc = mlp_out_no_alias(fs, n);
    free(data);
    return rc;
}

/*
 * --show-train: the first n training samples of epoch o->epoch as the
 * trainer's loader delivers them: the model's training split (the
 * checkpoint's --limit-train, less its --val hold-out), shuffled by the
 * seed, augmented as the model was (or by --augment), through the loader
 * itself on this thread with the options a run of the model's gets
 * (datacfg.h).  Shown and predicted as decoded: *values holds the
 * loader's floats (n, dim), then the identity transform they are shown
 * with (shift 0, scale 1), *labels (n) the labels: the caller's to free;
 * *shown views them; *aug gets the augmentation used.
 */
static int show_train_split(const cmd_opts_t *o, const mlp_checkpoint_t *ck,
                            mlp_dataset_t *ds, size_t n, float **values,
                            uint8_t **labels, mlp_split_t *shown,
                            mlp_augment_t *aug)
{
    mlp_config_t *cfg = malloc(sizeof(*cfg));
    mlp_loader_opts_t lo;
    mlp_loader_t *ld = NULL;
    mlp_batch_t b;
    size_t dim = ds->train.dim;
    float *shift, *scale;
    int rc;

    if (cfg == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    if ((rc = mlp_train_checkpoint_config(ck, o->model, cfg)) < 0)
        goto out;
    /* The split the model was trained on, made as the trainer makes it. */
    if ((rc = mlp_dataset_train_split(ds, cfg->limit_train, cfg->val,
                                      cfg->seed)) < 0) {
        if (rc == MLP_EUSAGE) /* not the user's --val: the model's */
            rc = mlp_error_set(MLP_EINVAL, "model '%s' holds out %zu "
                               "validation samples; %s has only %zu "
                               "training samples",
                               o->model, cfg->val,
                               ds->files[MLP_FILE_TRAIN_IMAGES].path,
                               ds->train.n);
        goto out;
    }
    if (ds->train.n != ck->ntrain) {
        rc = mlp_error_set(MLP_EINVAL, "model '%s' was trained on %zu "
                           "samples per epoch; %s gives %zu",
                           o->model, ck->ntrain,
                           ds->files[MLP_FILE_TRAIN_IMAGES].path,
                           ds->train.n);
        goto out;
    }
    *aug = o->augment_given ? o->augment : cfg->augment;
    mlp_dataset_loader_opts(cfg, ds, &lo);
    lo.val = lo.test = NULL; /* the training batches only */
    lo.batch = n;
    lo.first_epoch = o->epoch;
    lo.epochs = 1;
    lo.workers = 0;
    lo.slots = 0;
    if (o->seed_given)
        lo.seed = o->seed;
    lo.augment = *aug;
    if ((rc = mlp_loader_create(&lo, &ld)) < 0 ||
        (rc = mlp_loader_next(ld, &b)) < 0)
        goto out;
    *values = malloc((b.n + 2) * dim * sizeof(float));
    *labels = malloc(b.n);
    if (*values == NULL || *labels == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(*values, b.x, b.n * dim * sizeof(float));
    shift = *values + b.n * dim;
    scale = shift + dim;
    for (size_t j = 0; j < dim; j++) {
        shift[j] = 0.0f;
        scale[j] = 1.0f;
    }
    for (size_t i = 0; i < b.n; i++)
        (*labels)[i] = (uint8_t)b.y[i];
    *shown = (mlp_split_t){.n = b.n, .dim = dim, .features = *values,
                           .shift = shift, .scale = scale,
                           .labels = *labels};
    mlp_loader_release(ld, &b);
out:
    mlp_loader_destroy(ld);
    free(cfg);
    return rc;
}

int mlp_cmd_predict(int argc, char **argv, FILE *out)
{
    cmd_opts_t o;
    opened_t m;
    mlp_split_t shown;
    float *train_values = NULL;
    uint8_t *train_labels = NULL;
    mlp_augment_t aug = {0, 0};
    int32_t *pred = NULL;
    size_t n;
    int rc;

    memset(&m, 0, sizeof(m));
    if ((rc = start("predict", argc, argv, predict_options, ":n:o:t:hV",
                    predict_usage, out, &o)) != 0)
        return rc < 0 ? rc : 0;
    if (o.input != NULL)
        return predict_input(&o, out);
    /* The picture: checked before any work, and not an input. */
    if (o.png != NULL && (rc = check_png(&o)) < 0)
        goto out;
    /* Only the first n test samples are needed. */
    o.limit_test = o.n;
    if ((rc = open_model(&o, o.limit_test, o.n, &m)) < 0)
        goto out;
    if (!m.ds->image) {
        rc = mlp_error_set(MLP_EUSAGE, "predict: %s holds no images to "
                           "show; for predictions on rows of features use "
                           "--input FILE", data_label(&o));
        goto out;
    }
    /* The net takes batches of ds->test.n rows: show as many. */
    n = m.ds->test.n;
    shown = m.ds->test;
    if (o.show_train) {
        if ((rc = show_train_split(&o, &m.ck, m.ds, n, &train_values,
                                   &train_labels, &shown, &aug)) < 0)
            goto out;
        if (shown.n < n) /* a training split smaller than n */
            n = shown.n;
    }
    if ((rc = mlp_eval_class_names(o.class_names, m.ds, m.ds->nclasses,
                                   &m.cn)) < 0)
        goto out;
    if ((pred = malloc(n * sizeof(*pred))) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = mlp_eval_predict(m.net, &shown, n, m.ds->test.n, pred)) < 0) {
        rc = mlp_error_prefix(rc, "%s", o.show_train
                              ? m.ds->files[MLP_FILE_TRAIN_IMAGES].path
                              : m.ds->files[MLP_FILE_TEST_IMAGES].path);
        goto out;
    }
    if (o.json) {
        if ((rc = mlp_predict_print_json(out, o.model, o.data_dir, &m.ck,
                                         net_precision(&m), m.ds, &shown, n,
                                         pred, &m.cn)) < 0)
            goto out;
    } else if (o.show_train) {
        mlp_config_t cfg;
        char aug_text[64];

        mlp_config_defaults(&cfg);
        cfg.augment = aug;
        mlp_options_format(mlp_options_find("augment"), &cfg, 0, aug_text,
                           sizeof(aug_text));
        mlp_eval_print_model(out, o.model, &m.ck, net_precision(&m));
        fprintf(out, "data     %s: %zu training images, %zux%zu, %zu "
                     "classes\n",
                o.data_dir, m.ck.ntrain > 0 ? m.ck.ntrain : m.ds->train.n,
                m.ds->rows, m.ds->cols, m.ds->nclasses);
        fprintf(out, "showing  the first %zu of epoch %u as trained on "
                     "(seed %llu, augment %s): true label over predicted, * "
                     "when wrong\n",
                n, o.epoch,
                (unsigned long long)(o.seed_given ? o.seed : m.ck.seed),
                aug_text);
        mlp_predict_print_text(out, m.ds, &shown, n, pred, &m.cn);
    } else {
        mlp_eval_print_model(out, o.model, &m.ck, net_precision(&m));
        fprintf(out, "data     %s: %zu test images, %zux%zu, %zu classes\n",
                o.data_dir, m.ds->test_total, m.ds->rows, m.ds->cols,
                m.ds->nclasses);
        fprintf(out, "showing  the first %zu: true label over predicted, * "
                     "when wrong\n",
                n);
        mlp_predict_print_text(out, m.ds, &shown, n, pred, &m.cn);
    }
    if (o.png != NULL) {
        if ((rc = mlp_predict_png(o.png, m.ds, &shown, n, pred, &m.cn)) <
            0)
            goto out;
        if (!o.json) /* stdout stays one JSON object */
            fprintf(out, "wrote %s\n", o.png);
    }
    rc = flush_results(out);
out:
    free(pred);
    free(train_values);
    free(train_labels);
    opened_close(&m);
    return rc;
}
