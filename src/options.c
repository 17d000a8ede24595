/*
 * options: the table of a run's options, their defaults, values and range
 * checks (see options.h); cli.c parses argv with it.
 */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "mlptrain/error.h"
#include "mlptrain/loader.h"
#include "mlptrain/optim.h"
#include "mlptrain/options.h"
#include "mlptrain/schedule.h"
#include "mlptrain/step.h"
#include "mlptrain/transform.h"

/* --init normal's largest std: Box-Muller's draws from 53-bit uniforms
 * reach 8.6 standard deviations, so above about FLT_MAX / 8.6 a weight
 * would be infinite from the start. */
#define MLP_INIT_STD_MAX 1e37

#define STR_(x) #x
#define STR(x) STR_(x)

#define F(field) offsetof(mlp_config_t, field)
/* A long name, spelled "--name" so that mlp_options_flag has it too. */
#define L(name) ("--" name) + 2
#define CKPT MLP_OPT_CKPT
#define SWEEP MLP_OPT_SWEEP
#define FIGS MLP_OPT_FIGS
#define RUN (CKPT | SWEEP | FIGS)

static const char *const mlp_header_names[] = {"auto", "yes", "no",
                                                NULL};
static const char *const act_names[] = {
#define MLP_ACT_NAME(id, name, fwd, bwd) name,
    MLP_ACT_MAP(MLP_ACT_NAME)
#undef MLP_ACT_NAME
    NULL,
};

/*
 * The options, in --help order; the long-option parser resolves an
 * abbreviation in this order too ("--s": --schedule, --seed, --slots,
 * --save, --save-best).  One entry per option:
 *   name, letter, alias, section, field, type, lo, hi, float rule,
 *   default, metavar, help, default shown (NULL: the value), sample, flags,
 *   names (ENUM)
 */
const mlp_option_t mlp_options[] = {
    {L("hidden"), 0, NULL, "Model", F(nhidden), MLP_OPT_HIDDEN, 1, MLP_MAX_WIDTH, 0,
     256, "LIST", "hidden layer widths, e.g. 256, 512,256 or 1024:512; '' "
     "or none for softmax regression", NULL, "512:256", CKPT | SWEEP | FIGS, NULL},
    {L("act"), 0, NULL, "Model", F(act), MLP_OPT_ENUM, 0, 0, 0,
     MLP_ACT_RELU, "NAME", "activation: relu, sigmoid or tanh", NULL, "tanh",
     RUN, act_names},
    {L("init"), 0, NULL, "Model", F(init), MLP_OPT_ENUM, 0, 0, 0,
     MLP_INIT_NORMAL, "NAME", "weight init: normal (N(0, std^2), see "
     "--init-std), xavier or he (normal, scaled by fan-in/out); biases 0",
     NULL, "he", RUN, mlp_init_names},
    {L("init-std"), 0, NULL, "Model", F(init_std), MLP_OPT_FLOAT, 0, 0,
     MLP_FLOAT_NONNEG, 0.01, "X", "--init normal: weights drawn from "
     "N(0, X^2)", NULL, "0.05", RUN, NULL},
    {L("dropout"), 0, NULL, "Model", F(dropout), MLP_OPT_FLOAT, 0, 0,
     MLP_FLOAT_UNIT, 0, "P", "drop each hidden unit with probability P in "
     "training (kept ones scaled by 1/(1-P))", NULL, "0.2", RUN, NULL},
    {L("input-dropout"), 0, NULL, "Model", F(input_dropout), MLP_OPT_FLOAT, 0,
     0, MLP_FLOAT_UNIT, 0, "P", "drop each input pixel with probability P in "
     "training", NULL, "0.1", RUN, NULL},
    {L("plain-weights"), 0, NULL, "Model", F(plain_weights), MLP_OPT_FLAG, 0, 0,
     0, 0, NULL, "keep weights in plain (out, in) layout", "blocked", NULL,
     FIGS, NULL},
    {L("optimizer"), 0, NULL, "Training", F(optimizer), MLP_OPT_ENUM, 0, 0, 0,
     MLP_OPTIM_SGD, "NAME", "sgd, adam or adamw (PyTorch's update rules)",
     NULL, "adam", RUN, mlp_optim_names},
    {L("lr"), 0, NULL, "Training", F(lr), MLP_OPT_FLOAT, 0, 0, MLP_FLOAT_POS,
     0.1, "X", "learning rate (the peak of a schedule)", NULL, "0.5",
     RUN | MLP_OPT_RESUME_FREE, NULL},
    {L("momentum"), 0, NULL, "Training", F(momentum), MLP_OPT_FLOAT, 0, 0,
     MLP_FLOAT_UNIT, 0, "X", "SGD momentum", NULL, "0.9", RUN, NULL},
    {L("nesterov"), 0, NULL, "Training", F(nesterov), MLP_OPT_FLAG, 0, 0, 0, 0,
     NULL, "SGD: Nesterov momentum", "off", "1", RUN, NULL},
    {L("beta1"), 0, NULL, "Training", F(beta1), MLP_OPT_FLOAT, 0, 0,
     MLP_FLOAT_UNIT, 0.9, "X", "Adam: decay of the first moment", NULL, "0.8",
     RUN, NULL},
    {L("beta2"), 0, NULL, "Training", F(beta2), MLP_OPT_FLOAT, 0, 0,
     MLP_FLOAT_UNIT, 0.999, "X", "Adam: decay of the second moment", NULL,
     "0.99", RUN, NULL},
    {L("eps"), 0, NULL, "Training", F(eps), MLP_OPT_FLOAT, 0, 0, MLP_FLOAT_POS,
     1e-8, "X", "Adam: added to the root of the second moment", NULL, "1e-6",
     RUN, NULL},
    {L("max-loss"), 0, NULL, "Training", F(max_loss), MLP_OPT_FLOAT, 0, 0,
     MLP_FLOAT_POS, 0, "X", "stop as diverged when a batch's mean loss "
     "exceeds X, or 'off' (only a NaN/inf loss)", "100 x ln(classes)",
     "12.5", MLP_OPT_OFF | FIGS, NULL},
    {L("weight-decay"), 0, NULL, "Training", F(weight_decay), MLP_OPT_FLOAT, 0,
     0, MLP_FLOAT_NONNEG, 0, "X", "L2 weight decay (adamw: decoupled)",
     "0; adamw 0.01", "0.0001", RUN, NULL},
    {L("schedule"), 0, NULL, "Training", F(schedule), MLP_OPT_ENUM, 0, 0, 0,
     MLP_SCHED_CONSTANT, "NAME", "learning rate per batch: constant, step, "
     "cosine or onecycle", NULL, "cosine", RUN, mlp_sched_names},
    {L("warmup"), 0, NULL, "Training", F(warmup), MLP_OPT_FLOAT, 0, 0,
     MLP_FLOAT_NONNEG, 0, "E", "epochs (fractions allowed) of linear warm-up",
     NULL, "0.5", RUN, NULL},
    {L("lr-min"), 0, NULL, "Training", F(lr_min), MLP_OPT_FLOAT, 0, 0,
     MLP_FLOAT_NONNEG, 0, "X", "cosine, onecycle: the last rate", NULL,
     "0.001", RUN, NULL},
    {L("lr-step"), 0, NULL, "Training", F(lr_step), MLP_OPT_FLOAT, 0, 0,
     MLP_FLOAT_NONNEG, 0, "E", "step: epochs between cuts", "none",
     "5", RUN, NULL},
    {L("lr-gamma"), 0, NULL, "Training", F(lr_gamma), MLP_OPT_FLOAT, 0, 0,
     MLP_FLOAT_POS, 0.1, "G", "step: the rate's factor at each cut", NULL,
     "0.5", RUN, NULL},
    {L("label-smoothing"), 0, NULL, "Training", F(label_smoothing),
     MLP_OPT_FLOAT, 0, 0, MLP_FLOAT_UNIT, 0, "X", "mix X of the uniform "
     "distribution into the targets (the train loss shown is smoothed)", NULL, "0.1", RUN, NULL},
    {L("batch"), 'b', NULL, "Training", F(batch), MLP_OPT_SIZE, 1, 1u << 20, 0,
     256, "N", "batch size", NULL, "64", CKPT | SWEEP | FIGS, NULL},
    {L("micro"), 0, NULL, "Training", F(micro), MLP_OPT_SIZE, 1, 1u << 20, 0,
     0, "M", "rows per micro-batch: the unit the step's gradients are summed "
     "by, in order (figures depend on it, never on -t)", "128, or the batch "
     "if smaller", "32", MLP_OPT_ZERO_AUTO | CKPT | SWEEP | FIGS, NULL},
    {L("accum"), 0, NULL, "Training", F(accum), MLP_OPT_UINT, 1, 65536, 0, 1,
     "K", "sum the gradients of K batches before a step (a global batch of "
     "K x --batch)", NULL, "2", CKPT | SWEEP | FIGS, NULL},
    {L("epochs"), 'e', NULL, "Training", F(epochs), MLP_OPT_UINT, 1, 1000000,
     0, 10, "N", "epochs", NULL, "3", SWEEP | FIGS, NULL},
    {L("until"), 0, NULL, "Training", F(until), MLP_OPT_UINT, 1, 1000000, 0,
     0, "E", "stop after epoch E of the --epochs plan (its schedule, warm-up "
     "and cosine span all of --epochs), with a checkpoint (--save or "
     "--resume); --resume FILE --epochs N continues it exactly",
     "all", "2", MLP_OPT_ZERO_ALL, NULL},
    {L("seed"), 's', NULL, "Training", F(seed), MLP_OPT_U64, 0, UINT64_MAX, 0,
     1, "N", "seed of weights and shuffling", NULL, "99",
     CKPT | SWEEP | FIGS, NULL},
    {L("data"), 0, NULL, "Data", F(data_dir), MLP_OPT_PATH, 0, 0, 0, 0, "DIR",
     "directory of the IDX files", "$MLPTRAIN_DATA, else "
     MLP_DEFAULT_DATA_DIR, "/x/y", MLP_OPT_REQUIRED | FIGS, NULL},
    {L("train"), 0, NULL, "Data", F(train_path), MLP_OPT_PATH, 0, 0, 0, 0,
     "FILE", "training samples instead of --data: IDX, CSV, .npy or .npz "
     "(each may be gzipped; the format is read from the content)", "",
     "/x/train.csv", FIGS, NULL},
    {L("test"), 0, NULL, "Data", F(test_path), MLP_OPT_PATH, 0, 0, 0, 0,
     "FILE", "test samples (with --train, or a model's)", "",
     "/x/test.csv", FIGS, NULL},
    {L("train-labels"), 0, NULL, "Data", F(train_labels_path), MLP_OPT_PATH,
     0, 0, 0, 0, "FILE", "labels of an IDX or .npy --train file", "",
     "/x/y.npy", FIGS, NULL},
    {L("test-labels"), 0, NULL, "Data", F(test_labels_path), MLP_OPT_PATH,
     0, 0, 0, 0, "FILE", "labels of an IDX or .npy --test file", "",
     "/x/yt.npy", FIGS, NULL},
    {L("label"), 0, NULL, "Data", F(label_col), MLP_OPT_STRING, 0, 0, 0, 0,
     "COL", "CSV label column: a header name or a 0-based index ('': the "
     "last)",
     "the last column", "species", FIGS, NULL},
    {L("header"), 0, NULL, "Data", F(header), MLP_OPT_ENUM, 0, 0, 0,
     MLP_HEADER_AUTO, "WHEN", "CSV header line: yes, no, or auto (a first "
     "line with a non-number among its features)", NULL, "yes", FIGS,
     mlp_header_names},
    {L("normalize"), 0, NULL, "Data", F(normalize), MLP_OPT_ENUM, 0, 0, 0,
     MLP_NORM_AUTO, "HOW", "real features' scaling: none, minmax or "
     "standard, from the rows trained on (bytes: always x/255)",
     "standard for real features", "minmax", CKPT | FIGS, mlp_norm_names},
    {L("limit-train"), 0, NULL, "Data", F(limit_train), MLP_OPT_SIZE, 1,
     SIZE_MAX, 0, 0, "N", "use the first N training samples", NULL, "600",
     MLP_OPT_ZERO_ALL | CKPT | SWEEP | FIGS, NULL},
    {L("limit-test"), 'n', NULL, "Data", F(limit_test), MLP_OPT_SIZE, 1,
     SIZE_MAX, 0, 0, "N", "use the first N test samples", NULL, "100",
     MLP_OPT_ZERO_ALL | SWEEP | FIGS, NULL},
    {L("val"), 0, NULL, "Data", F(val), MLP_OPT_SIZE, 0, SIZE_MAX, 0, 0, "N",
     "hold out N training samples (chosen by the seed) for validation; "
     "best epoch, --save-best and --early-stop use them", "none", "100",
     RUN, NULL},
    {L("augment"), 0, NULL, "Data", F(augment), MLP_OPT_AUGMENT, 0, 0, 0, 0,
     "LIST", "shift=K (random shifts up to K pixels, zero fill) and/or flip "
     "(random horizontal flips), or none", "none", "shift=2,flip", RUN, NULL},
    {L("no-shuffle"), 0, NULL, "Data", F(no_shuffle), MLP_OPT_FLAG, 0, 0, 0,
     0, NULL, "train on the training samples in their order every epoch "
     "(scikit-learn's shuffle=False)", "shuffled anew every epoch", "1", RUN,
     NULL},
    {L("workers"), 'j', NULL, "Machine", F(workers), MLP_OPT_UINT, 0,
     MLP_LOADER_MAX_WORKERS, 0, 4, "N", "loader threads; 0 decodes on the "
     "trainer", NULL, "20",
     SWEEP, NULL},
    {L("threads"), 't', NULL, "Machine", F(threads), MLP_OPT_INT, 1,
     MLP_MAX_THREADS, 0, 0, "N", "compute threads (see --parallel)", "cores: %s",
     "1", 0, NULL},
    {L("parallel"), 0, NULL, "Machine", F(parallel), MLP_OPT_ENUM, 0, 0, 0,
     MLP_PAR_AUTO, "MODE", "batch (each thread a micro-batch), gemm (threads "
     "inside each product) or auto (by the model's shape)", NULL, "batch",
     FIGS, mlp_par_names},
    {L("slots"), 0, NULL, "Machine", F(slots), MLP_OPT_SIZE, 2, 4096, 0, 0, "N",
     "ring slots of decoded batches, at most the batches of an epoch (more "
     "would never be filled)", "min(2N, 16), >= 2", "8",
     MLP_OPT_ZERO_AUTO, NULL},
    {L("quiet"), 'q', NULL, "Output", F(quiet), MLP_OPT_FLAG, 0, 0, 0, 0, NULL,
     "print only the final summary line", "", NULL, 0, NULL},
    {L("log"), 0, NULL, "Output", F(log_path), MLP_OPT_PATH, 0, 0, 0, 0, "FILE",
     "write JSON lines: the run, each epoch, the end", NULL, "l.jsonl", 0, NULL},
    {L("png"), 'o', "plot", "Output", F(plot_path), MLP_OPT_PATH, 0, 0, 0, 0,
     "FILE", "draw the training curves, redrawn every epoch (--plot FILE "
     "is the same)", NULL, "c.png", 0, NULL},
    {L("tensorboard"), 0, NULL, "Output", F(tensorboard_dir), MLP_OPT_PATH, 0,
     0, 0, 0, "DIR", "write TensorBoard event files of the epochs' figures "
     "into DIR (made if missing)", NULL, "tb", 0, NULL},
    {L("save"), 0, NULL, "Output", F(save_path), MLP_OPT_PATH, 0, 0, 0, 0,
     "FILE", "write a checkpoint after every epoch",
     "none; with --resume, the resumed file", "s.ckpt", 0, NULL},
    {L("resume"), 0, NULL, "Output", F(resume_path), MLP_OPT_PATH, 0, 0, 0, 0,
     "FILE", "continue the run in a checkpoint: it sets the model, seed, "
     "batch and optimizer; --epochs N (required) is the total to reach; "
     "--lr may change (fine-tuning, logged as an override)", NULL, "r.ckpt",
     0, NULL},
    {L("save-best"), 0, NULL, "Output", F(save_best_path), MLP_OPT_PATH, 0, 0,
     0, 0, "FILE", "write the checkpoint of the best epoch: the highest "
     "val acc", "none", "b.ckpt", 0, NULL},
    {L("early-stop"), 0, NULL, "Output", F(early_stop), MLP_OPT_UINT, 0,
     1000000, 0, 0, "K", "stop after K epochs without a better validation "
     "loss; 0: never; a resumed run that had stopped is done "
     "unless a larger K is given", NULL, "3", RUN | MLP_OPT_RESUME_FREE,
     NULL},
};
const size_t mlp_noptions = sizeof(mlp_options) / sizeof(mlp_options[0]);
_Static_assert(sizeof(mlp_options) / sizeof(mlp_options[0]) <= 64,
               "mlp_config_t.given has a bit per option");

const mlp_float_max_t mlp_float_max[] = {
    {"init-std", MLP_INIT_STD_MAX},
};
const size_t mlp_nfloat_max = sizeof(mlp_float_max) / sizeof(mlp_float_max[0]);

#define NEEDS MLP_RULE_NEEDS
/*
 * The cross-option rules (options.h), one line each:
 *   x, x's values (NULL: any in use), kind, y, y's values (NULL: set), why
 */
const mlp_option_rule_t mlp_option_rules[] = {
    {"momentum", NULL, NEEDS, "optimizer", "sgd",
     "adam and adamw have --beta1"},
    {"nesterov", NULL, NEEDS, "optimizer", "sgd", NULL},
    {"nesterov", NULL, NEEDS, "momentum", NULL,
     "Nesterov's look-ahead is along the momentum"},
    {"beta1", NULL, NEEDS, "optimizer", "adam|adamw", NULL},
    {"beta2", NULL, NEEDS, "optimizer", "adam|adamw", NULL},
    {"eps", NULL, NEEDS, "optimizer", "adam|adamw", NULL},
    {"schedule", "step", NEEDS, "lr-step", NULL,
     "the epochs between cuts"},
    {"lr-step", NULL, NEEDS, "schedule", "step", NULL},
    {"lr-gamma", NULL, NEEDS, "schedule", "step", NULL},
    {"lr-min", NULL, NEEDS, "schedule", "cosine|onecycle", NULL},
    {"lr-min", NULL, MLP_RULE_AT_MOST, "lr", NULL,
     "the floor of a schedule is at most its peak"},
    {"warmup", NULL, MLP_RULE_AT_MOST, "epochs", NULL,
     "the warm-up must fit in the run"},
    {"lr-step", NULL, MLP_RULE_BELOW, "epochs", NULL,
     "the rate would never be cut"},
    {"init-std", NULL, NEEDS, "init", "normal",
     "xavier and he set their own"},
    {"save-best", NULL, NEEDS, "val", NULL,
     "the best epoch is chosen on a validation split, never on the test "
     "set"},
    {"early-stop", NULL, NEEDS, "val", NULL,
     "it watches the validation loss"},
    {"data", NULL, MLP_RULE_CONFLICTS, "train", NULL,
     "the training and test data are --train's and --test's"},
    {"train", NULL, NEEDS, "test", NULL,
     "every run reports its test accuracy"},
    {"test", NULL, NEEDS, "train", NULL,
     "--data names both splits"},
    {"train-labels", NULL, NEEDS, "train", NULL, NULL},
    {"test-labels", NULL, NEEDS, "test", NULL, NULL},
    {"label", NULL, NEEDS, "train", NULL,
     "IDX files (--data) have no columns"},
    {"header", NULL, NEEDS, "train", NULL,
     "IDX files (--data) have no header line"},
};
const size_t mlp_noption_rules =
    sizeof(mlp_option_rules) / sizeof(mlp_option_rules[0]);

/* The rules that wait for the data (options.h). */
const mlp_data_rule_t mlp_data_rules[] = {
    {"header", MLP_DATA_CSV, "a CSV --train file"},
    {"label", MLP_DATA_CSV, "a CSV --train file"},
    {"train-labels", MLP_DATA_LABELS_FILE,
     "a --train file without labels of its own (IDX or .npy)"},
    {"test-labels", MLP_DATA_TEST_LABELS_FILE,
     "a --test file without labels of its own (IDX or .npy)"},
    {"normalize", MLP_DATA_REAL, "real features (CSV, float .npy)"},
    {"augment", MLP_DATA_IMAGES, "images (IDX files of 3 dimensions)"},
};
const size_t mlp_ndata_rules =
    sizeof(mlp_data_rules) / sizeof(mlp_data_rules[0]);
#undef NEEDS

#undef F
#undef L
#undef CKPT
#undef SWEEP
#undef FIGS
#undef RUN

const mlp_option_t *mlp_options_find(const char *name)
{
    for (size_t i = 0; i < mlp_noptions; i++) {
        const char *a = mlp_options[i].name, *b = name;

        while (*a != '\0' && (*a == *b || (*a == '-' && *b == '_'))) {
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0')
            return &mlp_options[i];
    }
    return NULL;
}

const char *mlp_options_enum_name(const mlp_option_t *o, int v)
{
    for (int i = 0; o->names != NULL && o->names[i] != NULL; i++)
        if (i == v)
            return o->names[i];
    return NULL;
}

int mlp_options_enum_parse(const mlp_option_t *o, const char *name)
{
    for (int i = 0; o->names != NULL && o->names[i] != NULL; i++)
        if (strcmp(o->names[i], name) == 0)
            return i;
    return -1;
}

const char *mlp_options_flag(const mlp_option_t *o)
{
    return o->name - 2; /* the table spells names "--name" + 2 */
}

uint64_t mlp_options_bit(const mlp_option_t *o)
{
    return (uint64_t)1 << (o - mlp_options);
}

int mlp_options_given(const mlp_config_t *cfg, const char *name)
{
    const mlp_option_t *o = mlp_options_find(name);

    return o != NULL && (cfg->given & mlp_options_bit(o)) != 0;
}

void *mlp_options_field(const mlp_option_t *o, mlp_config_t *cfg)
{
    return (char *)cfg + o->offset;
}

#define FIELD(o, cfg, type) \
    ((const type *)((const char *)(cfg) + (o)->offset))

/* A whole number's value (the widths' count for hidden). */
static unsigned long long whole(const mlp_option_t *o,
                                const mlp_config_t *cfg)
{
    switch (o->type) {
    case MLP_OPT_UINT: return *FIELD(o, cfg, unsigned);
    case MLP_OPT_INT: return (unsigned long long)*FIELD(o, cfg, int);
    case MLP_OPT_SIZE: return *FIELD(o, cfg, size_t);
    case MLP_OPT_U64: return *FIELD(o, cfg, uint64_t);
    case MLP_OPT_ENUM: return (unsigned long long)*FIELD(o, cfg, int);
    case MLP_OPT_FLAG: return (unsigned long long)*FIELD(o, cfg, int);
    default: return 0;
    }
}

static void set_whole(const mlp_option_t *o, mlp_config_t *cfg,
                      unsigned long long v)
{
    void *p = mlp_options_field(o, cfg);

    switch (o->type) {
    case MLP_OPT_UINT: *(unsigned *)p = (unsigned)v; break;
    case MLP_OPT_INT: *(int *)p = (int)v; break;
    case MLP_OPT_SIZE: *(size_t *)p = (size_t)v; break;
    case MLP_OPT_U64: *(uint64_t *)p = (uint64_t)v; break;
    case MLP_OPT_ENUM: *(int *)p = (int)v; break;
    case MLP_OPT_FLAG: *(int *)p = (int)v; break;
    case MLP_OPT_HIDDEN: /* one layer of width v, or none */
        cfg->nhidden = v > 0;
        cfg->hidden[0] = (size_t)v;
        break;
    default: break;
    }
}

const char *mlp_options_check(const mlp_option_t *o, double f,
                              unsigned long long v, char *buf, size_t len)
{
    if (o->type == MLP_OPT_FLOAT) {
        int off = (o->flags & MLP_OPT_OFF) != 0;

        if (off && f == -1.0)
            return NULL;
        if (off && f == 0.0) /* the default: automatic */
            return NULL;
        switch (o->rule) {
        case MLP_FLOAT_POS:
            if (!(f > 0.0) || !isfinite(f))
                return off ? "must be > 0 or off" : "must be > 0";
            break;
        case MLP_FLOAT_NONNEG:
            if (!(f >= 0.0) || !isfinite(f))
                return "must be >= 0";
            break;
        case MLP_FLOAT_UNIT:
            if (!(f >= 0.0 && f < 1.0))
                return "must be in [0, 1)";
            break;
        }
        if (f > mlp_options_float_max(o)) {
            snprintf(buf, len, "is above %g, the most it may be",
                     mlp_options_float_max(o));
            return buf;
        }
        return NULL;
    }
    if (((o->flags & (MLP_OPT_ZERO_ALL | MLP_OPT_ZERO_AUTO)) && v == 0) ||
        o->lo == o->hi || (v >= o->lo && v <= o->hi))
        return NULL;
    snprintf(buf, len, "is out of range (%llu..%llu)", o->lo, o->hi);
    return buf;
}

void mlp_options_format(const mlp_option_t *o, const mlp_config_t *cfg,
                        int exact, char *buf, size_t len)
{
    unsigned long long v = whole(o, cfg);

    buf[0] = '\0';
    switch (o->type) {
    case MLP_OPT_FLOAT: {
        float f = *FIELD(o, cfg, float);

        if ((o->flags & MLP_OPT_OFF) && f < 0.0f)
            snprintf(buf, len, "off");
        else if ((o->flags & MLP_OPT_OFF) && f == 0.0f)
            snprintf(buf, len, "auto");
        else
            snprintf(buf, len, exact ? "%.9g" : "%g", (double)f);
        break;
    }
    case MLP_OPT_ENUM:
        snprintf(buf, len, "%s", mlp_options_enum_name(o, (int)v));
        break;
    case MLP_OPT_AUGMENT: {
        const mlp_augment_t *a = FIELD(o, cfg, mlp_augment_t);

        if (a->shift == 0 && !a->flip)
            snprintf(buf, len, "none");
        else
            snprintf(buf, len, "%s%.0u%s%s", a->shift ? "shift=" : "",
                     a->shift, a->shift && a->flip ? "," : "",
                     a->flip ? "flip" : "");
        break;
    }
    case MLP_OPT_HIDDEN: {
        size_t off = 0;

        if (cfg->nhidden == 0)
            snprintf(buf, len, "none");
        for (size_t i = 0; i < cfg->nhidden && off < len; i++)
            off += (size_t)snprintf(buf + off, len - off, "%s%zu",
                                    i ? ":" : "", cfg->hidden[i]);
        break;
    }
    case MLP_OPT_PATH: {
        const char *s = FIELD(o, cfg, char);

        snprintf(buf, len, "%s", s[0] != '\0' ? s : "none");
        break;
    }
    case MLP_OPT_STRING:
        snprintf(buf, len, "%s", FIELD(o, cfg, char));
        break;
    default:
        if (v == 0 && (o->flags & MLP_OPT_ZERO_ALL))
            snprintf(buf, len, "all");
        else if (v == 0 && (o->flags & MLP_OPT_ZERO_AUTO))
            snprintf(buf, len, "auto");
        else if (o->type == MLP_OPT_INT)
            snprintf(buf, len, "%d", *FIELD(o, cfg, int));
        else
            snprintf(buf, len, "%llu", v);
        break;
    }
}

int mlp_options_equal(const mlp_option_t *o, const mlp_config_t *a,
                      const mlp_config_t *b)
{
    switch (o->type) {
    case MLP_OPT_FLOAT:
        return *FIELD(o, a, float) == *FIELD(o, b, float);
    case MLP_OPT_HIDDEN:
        return a->nhidden == b->nhidden &&
               memcmp(a->hidden, b->hidden,
                      a->nhidden * sizeof(a->hidden[0])) == 0;
    case MLP_OPT_PATH:
    case MLP_OPT_STRING:
        return strcmp(FIELD(o, a, char), FIELD(o, b, char)) == 0;
    case MLP_OPT_AUGMENT:
        return FIELD(o, a, mlp_augment_t)->shift ==
                   FIELD(o, b, mlp_augment_t)->shift &&
               FIELD(o, a, mlp_augment_t)->flip ==
                   FIELD(o, b, mlp_augment_t)->flip;
    default:
        return whole(o, a) == whole(o, b);
    }
}

void mlp_options_copy(const mlp_option_t *o, mlp_config_t *dst,
                      const mlp_config_t *src)
{
    switch (o->type) {
    case MLP_OPT_FLOAT:
        *(float *)mlp_options_field(o, dst) = *FIELD(o, src, float);
        break;
    case MLP_OPT_HIDDEN:
        dst->nhidden = src->nhidden;
        memcpy(dst->hidden, src->hidden, sizeof(dst->hidden));
        break;
    case MLP_OPT_PATH:
    case MLP_OPT_STRING:
        memcpy(mlp_options_field(o, dst), FIELD(o, src, char), MLP_PATH_MAX);
        break;
    case MLP_OPT_AUGMENT:
        *(mlp_augment_t *)mlp_options_field(o, dst) =
            *FIELD(o, src, mlp_augment_t);
        break;
    default:
        set_whole(o, dst, whole(o, src));
        break;
    }
}

int mlp_config_ncores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > MLP_MAX_THREADS ? MLP_MAX_THREADS : (int)n;
}

int mlp_config_free_cores(const char *loadavg, int ncpu)
{
    const char *p = loadavg;
    long running = 0;

    /* "0.52 0.58 0.59 3/412 12345": skip three averages to "R/T" */
    for (int field = 0; field < 3; field++) {
        while (*p == ' ')
            p++;
        if (*p == '\0' || *p == '\n')
            return -1;
        while (*p != ' ' && *p != '\0' && *p != '\n')
            p++;
    }
    while (*p == ' ')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++)
        if ((running = running * 10 + (*p - '0')) > 1000000)
            return -1;
    if (*p != '/' || running < 1 || ncpu < 1)
        return -1;
    /* the reader itself is one of the running */
    running -= 1;
    return running >= ncpu ? 0 : ncpu - (int)running;
}

int mlp_config_load_free_cores(int ncpu)
{
    const char *path = getenv("MLPTRAIN_LOADAVG");
    int best = -1;

    if (path != NULL && strcmp(path, "off") == 0)
        return -1;
    if (path == NULL || path[0] == '\0')
        path = "/proc/loadavg";
    /* The running count is a snapshot: the best of three, 10 ms apart,
     * so that a passing process does not count as load. */
    for (int i = 0; i < 3; i++) {
        char buf[256];
        FILE *f = fopen(path, "re");
        size_t n = 0;
        int fc;

        if (f != NULL) {
            n = fread(buf, 1, sizeof(buf) - 1, f);
            fclose(f);
        }
        buf[n] = '\0';
        fc = mlp_config_free_cores(buf, ncpu);
        if (fc < 0)
            return best;
        if (fc > best)
            best = fc;
        if (best >= ncpu)
            break;
        if (i < 2)
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return best;
}

int mlp_options_resume(mlp_config_t *cfg, const mlp_config_t *ck,
                       const char *path)
{
    for (size_t i = 0; i < mlp_noptions; i++) {
        const mlp_option_t *o = &mlp_options[i];
        char a[64], b[64];

        if ((o->flags & (MLP_OPT_CKPT | MLP_OPT_RESUME_FREE)) !=
                MLP_OPT_CKPT ||
            !(cfg->given & mlp_options_bit(o)) ||
            mlp_options_equal(o, cfg, ck))
            continue;
        mlp_options_format(o, cfg, 0, a, sizeof(a));
        mlp_options_format(o, ck, 0, b, sizeof(b));
        return mlp_error_set(MLP_EUSAGE,
                             "option '--%s': %s conflicts with the checkpoint "
                             "'%s' (%s); a resumed run keeps the checkpoint's",
                             o->name, a, path, b);
    }
    for (size_t i = 0; i < mlp_noptions; i++) {
        const mlp_option_t *o = &mlp_options[i];

        if ((o->flags & MLP_OPT_CKPT) &&
            !((o->flags & MLP_OPT_RESUME_FREE) &&
              (cfg->given & mlp_options_bit(o))))
            mlp_options_copy(o, cfg, ck);
    }
    return 0;
}

void mlp_config_defaults(mlp_config_t *cfg)
{
    const char *env = getenv("MLPTRAIN_DATA");

    memset(cfg, 0, sizeof(*cfg));
    for (size_t i = 0; i < mlp_noptions; i++) {
        const mlp_option_t *o = &mlp_options[i];

        if (o->type == MLP_OPT_FLOAT)
            *(float *)mlp_options_field(o, cfg) = (float)o->def;
        else if (o->type != MLP_OPT_PATH && o->type != MLP_OPT_STRING)
            set_whole(o, cfg, (unsigned long long)o->def);
    }
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s",
             env != NULL && env[0] != '\0' ? env : MLP_DEFAULT_DATA_DIR);
    cfg->threads = mlp_config_ncores();
}

void mlp_config_resolve(mlp_config_t *cfg)
{
    if (cfg->optimizer == MLP_OPTIM_ADAMW &&
        !mlp_options_given(cfg, "weight-decay"))
        cfg->weight_decay = 0.01f;
}

int mlp_config_validate(const mlp_config_t *cfg)
{
    char buf[96];

    for (size_t i = 0; i < mlp_noptions; i++) {
        const mlp_option_t *o = &mlp_options[i];
        const char *why = NULL;

        switch (o->type) {
        case MLP_OPT_HIDDEN:
            if (cfg->nhidden > MLP_MAX_HIDDEN)
                return mlp_error_set(MLP_EINVAL, "option '--%s': at most %d "
                                     "layers", o->name, MLP_MAX_HIDDEN);
            for (size_t k = 0; k < cfg->nhidden && why == NULL; k++)
                why = mlp_options_check(o, 0.0, cfg->hidden[k], buf,
                                        sizeof(buf));
            break;
        case MLP_OPT_PATH:
        case MLP_OPT_STRING:
            if ((o->flags & MLP_OPT_REQUIRED) && FIELD(o, cfg, char)[0] == 0)
                why = "is empty";
            else if (memchr(FIELD(o, cfg, char), 0, MLP_PATH_MAX) == NULL)
                why = "is not terminated";
            break;
        case MLP_OPT_FLOAT:
            why = mlp_options_check(o, *FIELD(o, cfg, float), 0, buf,
                                    sizeof(buf));
            break;
        case MLP_OPT_ENUM:
            if (mlp_options_enum_name(o, *FIELD(o, cfg, int)) == NULL)
                why = "is not a known name";
            break;
        case MLP_OPT_AUGMENT:
            if (FIELD(o, cfg, mlp_augment_t)->shift > MLP_AUGMENT_MAX_SHIFT)
                why = "shifts too far";
            break;
        case MLP_OPT_FLAG:
            break;
        default:
            why = mlp_options_check(o, 0.0, whole(o, cfg), buf, sizeof(buf));
            break;
        }
        if (why != NULL) {
            char v[64] = "";

            if (o->type != MLP_OPT_PATH && o->type != MLP_OPT_STRING)
                mlp_options_format(o, cfg, 1, v, sizeof(v));
            return mlp_error_set(MLP_EINVAL, "option '--%s': %s %s", o->name,
                                 v, why);
        }
    }
    return mlp_config_check_rules(cfg, 0);
}

/* ---- ranges --------------------------------------------------------- */

double mlp_options_float_max(const mlp_option_t *o)
{
    for (size_t i = 0; i < mlp_nfloat_max; i++)
        if (strcmp(mlp_float_max[i].name, o->name) == 0)
            return mlp_float_max[i].max;
    return FLT_MAX;
}

/* A whole number for humans: 2^64-1 and 2^32-1 by name. */
static void fmt_whole(unsigned long long v, char *buf, size_t len)
{
    if (v == ULLONG_MAX)
        snprintf(buf, len, "2^64-1");
    else if (v == UINT_MAX)
        snprintf(buf, len, "2^32-1");
    else
        snprintf(buf, len, "%llu", v);
}

void mlp_options_range(const mlp_option_t *o, char *buf, size_t len)
{
    char lo[32], hi[32];

    buf[0] = '\0';
    switch (o->type) {
    case MLP_OPT_UINT:
    case MLP_OPT_INT:
    case MLP_OPT_SIZE:
    case MLP_OPT_U64:
        fmt_whole(o->lo, lo, sizeof(lo));
        fmt_whole(o->hi, hi, sizeof(hi));
        snprintf(buf, len, "%s in %s..%s%s", o->metavar, lo, hi,
                 (o->flags & MLP_OPT_ZERO_ALL)    ? " or all"
                 : (o->flags & MLP_OPT_ZERO_AUTO) ? " or auto"
                                                  : "");
        break;
    case MLP_OPT_FLOAT:
        switch (o->rule) {
        case MLP_FLOAT_POS:
            snprintf(buf, len, "%s > 0", o->metavar);
            break;
        case MLP_FLOAT_NONNEG:
            if (mlp_options_float_max(o) < FLT_MAX)
                snprintf(buf, len, "%s in 0..%g", o->metavar,
                         mlp_options_float_max(o));
            else
                snprintf(buf, len, "%s >= 0", o->metavar);
            break;
        case MLP_FLOAT_UNIT:
            snprintf(buf, len, "0 <= %s < 1", o->metavar);
            break;
        }
        break;
    case MLP_OPT_HIDDEN:
        snprintf(buf, len, "up to %d widths in 1..%zu", MLP_MAX_HIDDEN,
                 (size_t)MLP_MAX_WIDTH);
        break;
    case MLP_OPT_AUGMENT:
        snprintf(buf, len, "K in 0..%d", MLP_AUGMENT_MAX_SHIFT);
        break;
    default: /* names (listed by the help) and files */
        break;
    }
}

/* ---- rules ---------------------------------------------------------- */

/* "adam|adamw" as "adam or adamw". */
static void list_words(const char *list, char *buf, size_t len);

void mlp_options_rules_text(const mlp_option_t *o, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < mlp_noption_rules && off < len; i++) {
        const mlp_option_rule_t *r = &mlp_option_rules[i];
        char words[96] = "";

        if (strcmp(r->x, o->name) != 0)
            continue;
        if (r->values != NULL)
            list_words(r->values, words, sizeof(words));
        off += (size_t)snprintf(
            buf + off, len - off, "%s%s%s%s --%s%s%s", off ? ", " : "",
            r->xvalues != NULL ? r->xvalues : "",
            r->xvalues != NULL ? " " : "",
            r->kind == MLP_RULE_NEEDS       ? "needs"
            : r->kind == MLP_RULE_CONFLICTS ? "not with"
            : r->kind == MLP_RULE_AT_MOST   ? "at most"
                                            : "below",
            r->y, words[0] ? " " : "", words);
    }
    for (size_t i = 0; i < mlp_ndata_rules && off < len; i++)
        if (strcmp(mlp_data_rules[i].x, o->name) == 0)
            off += (size_t)snprintf(buf + off, len - off, "%sneeds %s",
                                    off ? ", " : "", mlp_data_rules[i].what);
}

/* Is name one of the '|'-separated names in list? */
static int in_list(const char *list, const char *name)
{
    size_t n;

    if (name == NULL) /* a value with no name: in no list */
        return 0;
    n = strlen(name);
    for (const char *p = list; p != NULL && *p != '\0';) {
        size_t k = strcspn(p, "|");

        if (k == n && strncmp(p, name, n) == 0)
            return 1;
        p += k;
        if (*p == '|')
            p++;
    }
    return 0;
}

static void list_words(const char *list, char *buf, size_t len)
{
    size_t off = 0;

    buf[0] = '\0';
    for (const char *p = list; *p != '\0' && off < len;) {
        size_t k = strcspn(p, "|");
        int last = p[k] == '\0';

        off += (size_t)snprintf(buf + off, len - off, "%s%.*s",
                                off == 0 ? "" : last ? " or " : ", ", (int)k,
                                p);
        p += k + !last;
    }
}

/* o's value as a number (floats and whole numbers). */
static double number(const mlp_option_t *o, const mlp_config_t *cfg)
{
    return o->type == MLP_OPT_FLOAT ? (double)*FIELD(o, cfg, float)
                                    : (double)whole(o, cfg);
}

/* Set: not 0, not empty, not "none". */
static int is_set(const mlp_option_t *o, const mlp_config_t *cfg)
{
    switch (o->type) {
    case MLP_OPT_FLOAT: return *FIELD(o, cfg, float) != 0.0f;
    case MLP_OPT_PATH:
    case MLP_OPT_STRING: return FIELD(o, cfg, char)[0] != '\0';
    case MLP_OPT_HIDDEN: return cfg->nhidden > 0;
    case MLP_OPT_AUGMENT: return mlp_augment_active(FIELD(o, cfg,
                                                          mlp_augment_t));
    default: return whole(o, cfg) != 0;
    }
}

/* Another value than the table's default (a required path: never). */
static int not_default(const mlp_option_t *o, const mlp_config_t *cfg)
{
    switch (o->type) {
    case MLP_OPT_FLOAT: return *FIELD(o, cfg, float) != (float)o->def;
    case MLP_OPT_PATH:
    case MLP_OPT_STRING:
        return !(o->flags & MLP_OPT_REQUIRED) && is_set(o, cfg);
    case MLP_OPT_HIDDEN:
        return cfg->nhidden != 1 || cfg->hidden[0] != (size_t)o->def;
    case MLP_OPT_AUGMENT: return is_set(o, cfg);
    default: return whole(o, cfg) != (unsigned long long)o->def;
    }
}

/* Given on the command line. */
static int given(const mlp_option_t *o, const mlp_config_t *cfg)
{
    return (cfg->given & mlp_options_bit(o)) != 0;
}

/* A resumed run's checkpointed option the command line did not give. */
static int from_checkpoint(const mlp_option_t *o, const mlp_config_t *cfg)
{
    return cfg->resume_path[0] != '\0' && (o->flags & MLP_OPT_CKPT) &&
           !given(o, cfg);
}

/* Is option o in use in cfg: given, or another value than its default
 * (set by code, or read from a checkpoint)? */
static int in_use(const mlp_option_t *o, const mlp_config_t *cfg)
{
    return given(o, cfg) || not_default(o, cfg);
}

/* "'--beta1'", "'--schedule step'", and " (the checkpoint's)". */
static void name_of(const mlp_option_t *o, const mlp_config_t *cfg,
                    int with_value, char *buf, size_t len)
{
    char v[64] = "";

    if (with_value)
        mlp_options_format(o, cfg, 0, v, sizeof(v));
    snprintf(buf, len, "'--%s%s%s'%s", o->name, v[0] ? " " : "", v,
             from_checkpoint(o, cfg) ? " (the checkpoint's)" : "");
}

int mlp_config_check_rules(const mlp_config_t *cfg, int merged)
{
    for (size_t i = 0; i < mlp_noption_rules; i++) {
        const mlp_option_rule_t *r = &mlp_option_rules[i];
        const mlp_option_t *x = mlp_options_find(r->x);
        const mlp_option_t *y = mlp_options_find(r->y);
        char xn[128], yv[96], words[96], tail[256];
        int ok;

        if (x == NULL || y == NULL || !in_use(x, cfg))
            continue;
        if (r->xvalues != NULL &&
            !in_list(r->xvalues, mlp_options_enum_name(x, *FIELD(x, cfg,
                                                                  int))))
            continue;
        /* the checkpoint's y is not known yet */
        if (!merged && from_checkpoint(y, cfg))
            continue;
        switch (r->kind) {
        case MLP_RULE_NEEDS:
            ok = r->values != NULL
                     ? in_list(r->values,
                               mlp_options_enum_name(y, *FIELD(y, cfg, int)))
                     : is_set(y, cfg);
            break;
        case MLP_RULE_CONFLICTS:
            ok = !is_set(y, cfg);
            break;
        case MLP_RULE_AT_MOST:
            ok = number(x, cfg) <= number(y, cfg);
            break;
        default:
            ok = number(x, cfg) < number(y, cfg);
            break;
        }
        if (ok)
            continue;
        name_of(x, cfg, r->xvalues != NULL, xn, sizeof(xn));
        mlp_options_format(y, cfg, 0, yv, sizeof(yv));
        snprintf(tail, sizeof(tail), "%s%s", r->why != NULL ? ": " : "",
                 r->why != NULL ? r->why : "");
        switch (r->kind) {
        case MLP_RULE_NEEDS:
            if (r->values == NULL)
                return mlp_error_set(MLP_EUSAGE, "option %s needs --%s%s%s%s",
                                     xn, y->name, y->metavar ? " " : "",
                                     y->metavar ? y->metavar : "", tail);
            list_words(r->values, words, sizeof(words));
            return mlp_error_set(MLP_EUSAGE, "option %s needs --%s %s (%s "
                                 "is %s)%s", xn, y->name, words,
                                 from_checkpoint(y, cfg) ? "the checkpoint's"
                                                         : "this run's",
                                 yv, tail);
        case MLP_RULE_CONFLICTS:
            return mlp_error_set(MLP_EUSAGE, "option %s conflicts with "
                                 "--%s%s", xn, y->name, tail);
        default: {
            char xv[64];

            mlp_options_format(x, cfg, 0, xv, sizeof(xv));
            return mlp_error_set(MLP_EUSAGE, "option %s: %s is %s --%s "
                                 "(%s)%s", xn, xv,
                                 r->kind == MLP_RULE_AT_MOST ? "above"
                                                             : "not below",
                                 y->name, yv, tail);
        }
        }
    }
    return 0;
}

int mlp_config_check_data(const mlp_config_t *cfg, unsigned has,
                          const char *train_what)
{
    for (size_t i = 0; i < mlp_ndata_rules; i++) {
        const mlp_data_rule_t *r = &mlp_data_rules[i];
        const mlp_option_t *x = mlp_options_find(r->x);
        char xn[128];

        if (x == NULL || !in_use(x, cfg) ||
            (r->needs & has) == r->needs)
            continue;
        name_of(x, cfg, 0, xn, sizeof(xn));
        return mlp_error_set(MLP_EUSAGE, "option %s needs %s%s%s%s", xn,
                             r->what, train_what != NULL ? " (" : "",
                             train_what != NULL ? train_what : "",
                             train_what != NULL ? ")" : "");
    }
    return 0;
}
