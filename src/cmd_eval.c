/*
 * cmd_eval: the `eval` and `predict` commands, which share their options
 * and their start: load a saved model and the data (mlp_eval_open), run
 * the model (eval.h), render (eval_render.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/cli.h"
#include "mlptrain/commands.h"
#include "mlptrain/datacfg.h"
#include "mlptrain/error.h"
#include "mlptrain/eval.h"
#include "mlptrain/eval_render.h"
#include "mlptrain/loader.h"
#include "mlptrain/options.h"
#include "mlptrain/outfile.h"
#include "mlptrain/plot.h"
#include "mlptrain/predict.h"
#include "mlptrain/trainer.h"

/* ---- the options ---------------------------------------------------- */

#define PREDICT_MAX 100

/* eval's and predict's own options; the run options they share with
 * train (--data, --test, -t, --seed, ...) are in their mlp_config_t. */
typedef struct {
    char model[MLP_PATH_MAX]; /* --model, required */
    const char *class_names;  /* NULL: by the rule */
    int json;
    size_t count;             /* predict: the images shown */
    char png[MLP_PATH_MAX];   /* "": no picture */
    int show_train;           /* predict: training images */
    unsigned epoch;           /* ... of this epoch, 1-based */
    char input[MLP_PATH_MAX]; /* predict: rows of a file; "": none */
    int csv, logits;
} cmd_opts_t;

static const mlp_option_t opt_model = MLP_CLI_MODEL(cmd_opts_t, model);
static const mlp_option_t opt_class_names = MLP_CLI_CLASS_NAMES(
    cmd_opts_t, class_names,
    "the model's (text labels), Fashion-MNIST's for Fashion-MNIST, else "
    "0..C-1");
static const mlp_option_t opt_json = MLP_CLI_JSON(
    cmd_opts_t, json, "print one JSON object instead of text");
#define OWN(F) MLP_CLI_FIELD(cmd_opts_t, F)
static const mlp_option_t opt_count = {
    .name = "limit-test", .letter = 'n', .alias = "count", .section = "Data",
    .type = MLP_OPT_SIZE, OWN(count), .lo = 1, .hi = PREDICT_MAX, .def = 10,
    .metavar = "N", .help = "use (show) the first N test images",
    .sample = "5"};
static const mlp_option_t opt_png = MLP_CLI_PNG(
    cmd_opts_t, png, "also draw them into FILE with gnuplot");
static const mlp_option_t opt_input = {
    .name = "input", .section = "Rows", .type = MLP_OPT_PATH, OWN(input),
    .metavar = "FILE", .shown = "none", .sample = "rows.csv",
    .help = "predict every row of FILE (CSV, .npy, .npz, IDX; gzip or not; "
            "no labels: --label COL skips a CSV column), streamed, one line "
            "per row"};
static const mlp_option_t opt_csv = {
    .name = "csv", .section = "Rows", .type = MLP_OPT_FLAG, OWN(csv),
    .shown = "the default",
    .help = "--input: CSV lines row,class,name,p_0.. (--json: a JSON object "
            "a row)"};
static const mlp_option_t opt_logits = {
    .name = "logits", .section = "Rows", .type = MLP_OPT_FLAG, OWN(logits),
    .help = "--input: the logits too", .shown = "off"};
static const mlp_option_t opt_show_train = {
    .name = "show-train", .section = "Training images",
    .type = MLP_OPT_FLAG, OWN(show_train), .shown = "off",
    .help = "show the first training images of an epoch instead, as the "
            "loader hands them to the trainer: in that epoch's order, "
            "shifted and flipped by --augment"};
static const mlp_option_t opt_epoch = {
    .name = "epoch", .section = "Training images", .type = MLP_OPT_UINT,
    OWN(epoch), .lo = 1, .hi = UINT_MAX, .def = 1, .metavar = "E",
    .help = "--show-train: of epoch E", .sample = "2"};
#undef OWN

/* The model runs in the precision it was trained in unless asked
 * (eval.h: MLP_EVAL_PRECISION_MODEL). */
#define PRECISION_USE                                                        \
    {.opt = MLP_O(PRECISION), .shown = "the model's: what it was trained in"}

/* The lines of both usages. */
#define DATA_OPTIONS                                                         \
    MLP_CLI_USE(MLP_O(DATA)), MLP_CLI_USE(MLP_O(TEST)),                      \
        MLP_CLI_USE(MLP_O(TEST_LABELS)), MLP_CLI_USE(MLP_O(LABEL)),          \
        MLP_CLI_USE(MLP_O(HEADER))

static const mlp_cli_opt_t eval_options[] = {
    MLP_CLI_USE(&opt_model),
    MLP_CLI_USE(&opt_class_names),
    DATA_OPTIONS,
    MLP_CLI_USE(MLP_O(LIMIT_TEST)),
    {.opt = MLP_O(BATCH), .section = "Machine"},
    MLP_CLI_USE(MLP_O(THREADS)),
    PRECISION_USE,
    MLP_CLI_USE(&opt_json),
    MLP_CLI_USE(NULL),
};

static const mlp_rule_t eval_rules[] = {
    {.x = &opt_model, .kind = MLP_RULE_REQUIRED},
    {.x = MLP_O(DATA), .kind = MLP_RULE_CONFLICTS, .y = MLP_O(TEST),
     .why = "--test FILE is the data"},
    {.x = MLP_O(LABEL), .kind = MLP_RULE_NEEDS, .y = MLP_O(TEST),
     .why = "IDX files (--data) have no columns"},
    {.x = MLP_O(HEADER), .kind = MLP_RULE_NEEDS, .y = MLP_O(TEST),
     .why = "IDX files (--data) have no header line"},
};

static const mlp_cli_opt_t predict_options[] = {
    MLP_CLI_USE(&opt_model),
    MLP_CLI_USE(&opt_class_names),
    DATA_OPTIONS,
    MLP_CLI_USE(&opt_count),
    MLP_CLI_USE(MLP_O(THREADS)),
    PRECISION_USE,
    MLP_CLI_USE(&opt_png),
    MLP_CLI_USE(&opt_json),
    MLP_CLI_USE(&opt_input),
    MLP_CLI_USE(&opt_csv),
    MLP_CLI_USE(&opt_logits),
    MLP_CLI_USE(&opt_show_train),
    MLP_CLI_USE(&opt_epoch),
    {.opt = MLP_O(SEED), .section = "Training images",
     .help = "--show-train: in the order and draws of seed N",
     .shown = "the model's"},
    {.opt = MLP_O(AUGMENT), .section = "Training images",
     .help = "--show-train: augmented by LIST: shift=K, flip, both, or none",
     .shown = "the model's"},
    MLP_CLI_USE(NULL),
};

static const mlp_rule_t predict_rules[] = {
    {.x = &opt_model, .kind = MLP_RULE_REQUIRED},
    {.x = MLP_O(DATA), .kind = MLP_RULE_CONFLICTS, .y = MLP_O(TEST),
     .why = "--test FILE is the data"},
    {.x = MLP_O(DATA), .kind = MLP_RULE_CONFLICTS, .y = &opt_input,
     .why = "--input FILE is the data"},
    {.x = MLP_O(LABEL), .kind = MLP_RULE_NEEDS, .y = MLP_O(TEST),
     .alt = &opt_input, .why = "IDX files (--data) have no columns"},
    {.x = MLP_O(HEADER), .kind = MLP_RULE_NEEDS, .y = MLP_O(TEST),
     .alt = &opt_input, .why = "IDX files (--data) have no header line"},
    {.x = &opt_input, .kind = MLP_RULE_CONFLICTS, .y = MLP_O(TEST),
     .why = "--input predicts every row of a file"},
    {.x = &opt_input, .kind = MLP_RULE_CONFLICTS, .y = &opt_show_train,
     .why = "--input predicts every row of a file"},
    {.x = &opt_input, .kind = MLP_RULE_CONFLICTS, .y = &opt_png,
     .why = "--input predicts every row of a file"},
    {.x = &opt_count, .kind = MLP_RULE_CONFLICTS, .y = &opt_input,
     .why = "--input predicts every row of a file"},
    {.x = &opt_csv, .kind = MLP_RULE_NEEDS, .y = &opt_input},
    {.x = &opt_logits, .kind = MLP_RULE_NEEDS, .y = &opt_input},
    {.x = &opt_csv, .kind = MLP_RULE_CONFLICTS, .y = &opt_json,
     .why = "one format a run"},
    {.x = &opt_epoch, .kind = MLP_RULE_NEEDS, .y = &opt_show_train},
    {.x = MLP_O(SEED), .kind = MLP_RULE_NEEDS, .y = &opt_show_train},
    {.x = MLP_O(AUGMENT), .kind = MLP_RULE_NEEDS, .y = &opt_show_train},
};

const mlp_command_t mlp_command_eval = {
    .name = "eval",
    .summary = "test loss, accuracy and confusion matrix of a saved model",
    .run = mlp_cmd_eval,
    .usage = "eval --model FILE [OPTIONS]",
    .about = "Evaluate a saved model on the test split: loss, accuracy, "
             "confusion matrix (rows: true class, columns: predicted), "
             "per-class accuracy and per-class precision, recall and F1 with "
             "their macro averages (0 for 0/0).",
    .options = eval_options,
    MLP_CLI_RULES(eval_rules),
    .own_size = sizeof(cmd_opts_t),
    .exit_error = "error (model, data, memory, standard output)",
};

const mlp_command_t mlp_command_predict = {
    .name = "predict",
    .summary = "show test images with true and predicted labels",
    .run = mlp_cmd_predict,
    .usage = "predict --model FILE [OPTIONS]\n"
             "predict --model FILE --input FILE [--csv|--json] [--logits]",
    .about = "Show the first test images with their true and predicted "
             "labels: as text in the terminal and, with --png, as one "
             "picture.  With --show-train, the first training images of an "
             "epoch instead, as the loader hands them to the trainer.  With "
             "--input, a prediction for every row of a file.",
    .options = predict_options,
    MLP_CLI_RULES(predict_rules),
    .own_size = sizeof(cmd_opts_t),
    .exit_error = "error (model, data, gnuplot, the picture, standard "
                  "output)",
};

/* What eval and predict open: the model, the data, the net, the names. */
typedef struct {
    mlp_checkpoint_t ck;
    mlp_dataset_t *ds;
    mlp_net_t *net;
    mlp_class_names_t cn;
} opened_t;

/* The precision the opened model's net runs in. */
static mlp_precision_t net_precision(const opened_t *m)
{
    return mlp_net_spec(m->net)->precision;
}

static void opened_close(opened_t *m)
{
    mlp_class_names_free(&m->cn);
    mlp_net_destroy(m->net);
    mlp_dataset_destroy(m->ds);
    mlp_checkpoint_free(&m->ck);
}

/* Results that never reached `out` are an error. */
static int flush_results(FILE *out)
{
    if (fflush(out) != 0 || ferror(out))
        return mlp_error_set(MLP_EIO, "cannot write the results: %s",
                             strerror(errno));
    return 0;
}


/* What a command line of eval or predict gives: the run options it
 * shares, and its own. */
typedef struct {
    mlp_config_t cfg;
    cmd_opts_t o;
} args_t;

/*
 * Parse argv for command c into *a (allocated: the config is large);
 * 1 when --help or --version answered.  MLP_EUSAGE naming the option.
 */
static int start(const mlp_command_t *c, int argc, char **argv, FILE *out,
                 args_t **a)
{
    mlp_cli_t cl;
    int rc;

    if ((*a = malloc(sizeof(**a))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    rc = mlp_cli_parse(c, argc, argv, out, &(*a)->cfg, &(*a)->o, &cl);
    if (rc != 0) {
        free(*a);
        *a = NULL;
    }
    return rc;
}

/* The precision asked: --precision, else the model's. */
static int precision_of(const args_t *a)
{
    return mlp_config_given(&a->cfg, MLP_O_PRECISION)
               ? a->cfg.precision
               : MLP_EVAL_PRECISION_MODEL;
}

/* The data eval and predict read: --test FILE, else --data DIR. */
static const char *data_label(const args_t *a)
{
    return a->cfg.test_path[0] != '\0' ? a->cfg.test_path : a->cfg.data_dir;
}

/* "" reads as NULL. */
static const char *opt_path(const char *p)
{
    return p[0] != '\0' ? p : NULL;
}

static int open_model(const args_t *a, size_t limit_test, size_t batch,
                      opened_t *m)
{
    const mlp_config_t *cfg = &a->cfg;
    mlp_dataset_files_t f;

    if (cfg->test_path[0] == '\0')
        return mlp_eval_open(a->o.model, cfg->data_dir, limit_test,
                             cfg->threads, precision_of(a), batch, &m->ck,
                             &m->ds, &m->net);
    memset(&f, 0, sizeof(f));
    f.test = cfg->test_path;
    f.test_labels = opt_path(cfg->test_labels_path);
    f.csv.label = cfg->label_col;
    f.csv.header = (mlp_header_t)cfg->header;
    f.limit_test = limit_test;
    return mlp_eval_open_files(a->o.model, &f, cfg->threads,
                               precision_of(a), batch, &m->ck, &m->ds,
                               &m->net);
}

/* predict --input: stream the file through the model. */
static int predict_input(const args_t *a, FILE *out)
{
    mlp_checkpoint_t ck;
    mlp_class_names_t cn;
    mlp_table_opts_t in;
    mlp_predict_opts_t po;
    size_t rows;
    int rc;

    memset(&cn, 0, sizeof(cn));
    if ((rc = mlp_checkpoint_load(a->o.model, &ck)) < 0)
        return rc;
    if ((rc = mlp_eval_model_class_names(&ck, a->o.class_names, &cn)) < 0)
        goto out;
    memset(&in, 0, sizeof(in));
    in.path = a->o.input;
    in.csv.label = a->cfg.label_col;
    in.csv.header = (mlp_header_t)a->cfg.header;
    memset(&po, 0, sizeof(po));
    po.json = a->o.json;
    po.logits = a->o.logits;
    po.batch = a->cfg.batch;
    po.threads = a->cfg.threads;
    po.precision = precision_of(a);
    if ((rc = mlp_predict_file(&ck, a->o.model, &in, &cn, &po, out,
                               &rows)) < 0)
        goto out;
    rc = flush_results(out);
out:
    mlp_class_names_free(&cn);
    mlp_checkpoint_free(&ck);
    return rc;
}

/* ---- eval ----------------------------------------------------------- */

int mlp_cmd_eval(int argc, char **argv, FILE *out)
{
    args_t *a = NULL;
    opened_t m;
    mlp_eval_result_t res;
    int rc;

    memset(&m, 0, sizeof(m));
    memset(&res, 0, sizeof(res));
    if ((rc = start(&mlp_command_eval, argc, argv, out, &a)) != 0)
        return rc < 0 ? rc : 0;
    if ((rc = open_model(a, a->cfg.limit_test, a->cfg.batch, &m)) < 0 ||
        (rc = mlp_eval_class_names(a->o.class_names, m.ds, m.ds->nclasses,
                                   &m.cn)) < 0)
        goto out;
    if ((rc = mlp_eval_split(m.net, &m.ds->test, a->cfg.batch, &res)) < 0) {
        rc = mlp_error_prefix(rc, "%s",
                              m.ds->files[MLP_FILE_TEST_IMAGES].path);
        goto out;
    }
    if (a->o.json &&
        (rc = mlp_eval_print_json(out, a->o.model, data_label(a), &m.ck,
                                  net_precision(&m), &res, &m.cn)) < 0)
        goto out;
    if (!a->o.json)
        mlp_eval_print_text(out, a->o.model, data_label(a), &m.ck,
                            net_precision(&m), m.ds, &res, &m.cn);
    rc = flush_results(out);
out:
    mlp_eval_result_free(&res);
    opened_close(&m);
    free(a);
    return rc;
}

/* ---- predict -------------------------------------------------------- */

/* --png: a .png/.svg name, absent or a regular file, not an input. */
static int check_png(const args_t *a)
{
    const cmd_opts_t *o = &a->o;
    mlp_dataset_paths_t *data = NULL;
    mlp_out_file_t fs[2 + MLP_DATASET_NPATHS];
    size_t n = 0;
    int rc;

    if ((rc = mlp_plot_check(o->png)) < 0)
        return mlp_error_prefix(rc, "option '--png'");
    if ((data = malloc(sizeof(*data))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "out of memory");
    fs[n++] = (mlp_out_file_t){o->png, "--png", 1, NULL};
    fs[n++] = (mlp_out_file_t){o->model, "--model", 0, NULL};
    mlp_dataset_paths(a->cfg.data_dir, data);
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
static int show_train_split(const args_t *a, const mlp_checkpoint_t *ck,
                            mlp_dataset_t *ds, size_t n, float **values,
                            uint8_t **labels, mlp_split_t *shown,
                            mlp_augment_t *aug)
{
    const cmd_opts_t *o = &a->o;
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
    *aug = mlp_config_given(&a->cfg, MLP_O_AUGMENT) ? a->cfg.augment
                                                    : cfg->augment;
    mlp_dataset_loader_opts(cfg, ds, &lo);
    lo.val = lo.test = NULL; /* the training batches only */
    lo.batch = n;
    lo.first_epoch = o->epoch;
    lo.epochs = 1;
    lo.workers = 0;
    lo.slots = 0;
    if (mlp_config_given(&a->cfg, MLP_O_SEED))
        lo.seed = a->cfg.seed;
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
    args_t *a = NULL;
    opened_t m;
    mlp_split_t shown;
    float *train_values = NULL;
    uint8_t *train_labels = NULL;
    mlp_augment_t aug = {0, 0};
    int32_t *pred = NULL;
    size_t n;
    int rc;

    memset(&m, 0, sizeof(m));
    if ((rc = start(&mlp_command_predict, argc, argv, out, &a)) != 0)
        return rc < 0 ? rc : 0;
    if (a->o.input[0] != '\0') {
        rc = predict_input(a, out);
        goto out;
    }
    /* The picture: checked before any work, and not an input. */
    if (a->o.png[0] != '\0' && (rc = check_png(a)) < 0)
        goto out;
    /* Only the first n test samples are needed. */
    if ((rc = open_model(a, a->o.count, a->o.count, &m)) < 0)
        goto out;
    if (!m.ds->image) {
        rc = mlp_error_set(MLP_EUSAGE, "predict: %s holds no images to "
                           "show; for predictions on rows of features use "
                           "--input FILE", data_label(a));
        goto out;
    }
    /* The net takes batches of ds->test.n rows: show as many. */
    n = m.ds->test.n;
    shown = m.ds->test;
    if (a->o.show_train) {
        if ((rc = show_train_split(a, &m.ck, m.ds, n, &train_values,
                                   &train_labels, &shown, &aug)) < 0)
            goto out;
        if (shown.n < n) /* a training split smaller than n */
            n = shown.n;
    }
    if ((rc = mlp_eval_class_names(a->o.class_names, m.ds, m.ds->nclasses,
                                   &m.cn)) < 0)
        goto out;
    if ((pred = malloc(n * sizeof(*pred))) == NULL) {
        rc = mlp_error_set(MLP_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = mlp_eval_predict(m.net, &shown, n, m.ds->test.n, pred)) < 0) {
        rc = mlp_error_prefix(rc, "%s", a->o.show_train
                              ? m.ds->files[MLP_FILE_TRAIN_IMAGES].path
                              : m.ds->files[MLP_FILE_TEST_IMAGES].path);
        goto out;
    }
    if (a->o.json) {
        if ((rc = mlp_predict_print_json(out, a->o.model, a->cfg.data_dir,
                                         &m.ck, net_precision(&m), m.ds,
                                         &shown, n, pred, &m.cn)) < 0)
            goto out;
    } else if (a->o.show_train) {
        char aug_text[64];

        a->cfg.augment = aug;
        mlp_options_format(MLP_O(AUGMENT), &a->cfg, 0, aug_text,
                           sizeof(aug_text));
        mlp_eval_print_model(out, a->o.model, &m.ck, net_precision(&m));
        fprintf(out, "data     %s: %zu training images, %zux%zu, %zu "
                     "classes\n",
                a->cfg.data_dir, m.ck.ntrain > 0 ? m.ck.ntrain : m.ds->train.n,
                m.ds->rows, m.ds->cols, m.ds->nclasses);
        fprintf(out, "showing  the first %zu of epoch %u as trained on "
                     "(seed %llu, augment %s): true label over predicted, * "
                     "when wrong\n",
                n, a->o.epoch,
                (unsigned long long)(mlp_config_given(&a->cfg, MLP_O_SEED)
                                         ? a->cfg.seed
                                         : m.ck.seed),
                aug_text);
        mlp_predict_print_text(out, m.ds, &shown, n, pred, &m.cn);
    } else {
        mlp_eval_print_model(out, a->o.model, &m.ck, net_precision(&m));
        fprintf(out, "data     %s: %zu test images, %zux%zu, %zu classes\n",
                a->cfg.data_dir, m.ds->test_total, m.ds->rows, m.ds->cols,
                m.ds->nclasses);
        fprintf(out, "showing  the first %zu: true label over predicted, * "
                     "when wrong\n",
                n);
        mlp_predict_print_text(out, m.ds, &shown, n, pred, &m.cn);
    }
    if (a->o.png[0] != '\0') {
        if ((rc = mlp_predict_png(a->o.png, m.ds, &shown, n, pred, &m.cn)) <
            0)
            goto out;
        if (!a->o.json) /* stdout stays one JSON object */
            fprintf(out, "wrote %s\n", a->o.png);
    }
    rc = flush_results(out);
out:
    free(pred);
    free(train_values);
    free(train_labels);
    opened_close(&m);
    free(a);
    return rc;
}
