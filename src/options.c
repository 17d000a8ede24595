/*
 * options: the table of a run's options and the rules beside it, the
 * defaults, the resume merge and the machine's cores (see options.h).
 * An option's value is options_value.c's; the rules' checker is
 * options_rules.c's.
 *
 * Non-goals: argv (cli.c), the commands' own options (their cmd_*.c).
 */
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
#include "options_internal.h"

/* --init normal's largest std: Box-Muller's draws from 53-bit uniforms
 * reach 8.6 standard deviations, so above about FLT_MAX / 8.6 a weight
 * would be infinite from the start. */
#define MLP_INIT_STD_MAX 1e37

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
 * The options, in --help order (mlp_opt_id_t's); the long-option parser
 * resolves an abbreviation in this order too ("--s": --schedule, --seed,
 * --slots, --save, --save-best).  A run id hashes them in this order: an
 * option added later is MLP_OPT_ID_SET, so that ids stay what they were.
 */
const mlp_option_t mlp_options[MLP_NOPTIONS] = {
    /* ---- Model ---- */
    [MLP_O_HIDDEN] = {
        .name = L("hidden"), .section = "Model", .offset = F(nhidden),
        .type = MLP_OPT_HIDDEN, .lo = 1, .hi = MLP_MAX_WIDTH, .def = 256,
        .metavar = "LIST",
        .help = "hidden layer widths, e.g. 256, 512,256 or 1024:512; '' or "
                "none for softmax regression",
        .sample = "512:256", .flags = RUN},
    [MLP_O_ACT] = {
        .name = L("act"), .section = "Model", .offset = F(act),
        .type = MLP_OPT_ENUM, .def = MLP_ACT_RELU, .names = act_names,
        .metavar = "NAME", .help = "activation: relu, sigmoid or tanh",
        .sample = "tanh", .flags = RUN},
    [MLP_O_INIT] = {
        .name = L("init"), .section = "Model", .offset = F(init),
        .type = MLP_OPT_ENUM, .def = MLP_INIT_NORMAL, .names = mlp_init_names,
        .metavar = "NAME",
        .help = "weight init: normal (N(0, std^2), see --init-std), xavier "
                "or he (normal, scaled by fan-in/out); biases 0",
        .sample = "he", .flags = RUN},
    [MLP_O_INIT_STD] = {
        .name = L("init-std"), .section = "Model", .offset = F(init_std),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_NONNEG,
        .max = MLP_INIT_STD_MAX, .def = 0.01, .metavar = "X",
        .help = "--init normal: weights drawn from N(0, X^2)",
        .sample = "0.05", .flags = RUN},
    [MLP_O_DROPOUT] = {
        .name = L("dropout"), .section = "Model", .offset = F(dropout),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_UNIT, .metavar = "P",
        .help = "drop each hidden unit with probability P in training (kept "
                "ones scaled by 1/(1-P))",
        .sample = "0.2", .flags = RUN},
    [MLP_O_INPUT_DROPOUT] = {
        .name = L("input-dropout"), .section = "Model",
        .offset = F(input_dropout), .type = MLP_OPT_FLOAT,
        .rule = MLP_FLOAT_UNIT, .metavar = "P",
        .help = "drop each input pixel with probability P in training",
        .sample = "0.1", .flags = RUN},
    [MLP_O_PLAIN_WEIGHTS] = {
        .name = L("plain-weights"), .section = "Model",
        .offset = F(plain_weights), .type = MLP_OPT_FLAG,
        .help = "keep weights in plain (out, in) layout", .shown = "blocked",
        .flags = FIGS},
    /* ---- Training ---- */
    [MLP_O_OPTIMIZER] = {
        .name = L("optimizer"), .section = "Training", .offset = F(optimizer),
        .type = MLP_OPT_ENUM, .def = MLP_OPTIM_SGD, .names = mlp_optim_names,
        .metavar = "NAME",
        .help = "sgd, adam or adamw (PyTorch's update rules)",
        .sample = "adam", .flags = RUN},
    [MLP_O_LR] = {
        .name = L("lr"), .section = "Training", .offset = F(lr),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_POS, .def = 0.1,
        .metavar = "X", .help = "learning rate (the peak of a schedule)",
        .sample = "0.5", .flags = RUN | MLP_OPT_RESUME_FREE},
    [MLP_O_MOMENTUM] = {
        .name = L("momentum"), .section = "Training", .offset = F(momentum),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_UNIT, .metavar = "X",
        .help = "SGD momentum", .sample = "0.9", .flags = RUN},
    [MLP_O_NESTEROV] = {
        .name = L("nesterov"), .section = "Training", .offset = F(nesterov),
        .type = MLP_OPT_FLAG, .help = "SGD: Nesterov momentum",
        .shown = "off", .sample = "1", .flags = RUN},
    [MLP_O_BETA1] = {
        .name = L("beta1"), .section = "Training", .offset = F(beta1),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_UNIT, .def = 0.9,
        .metavar = "X", .help = "Adam: decay of the first moment",
        .sample = "0.8", .flags = RUN},
    [MLP_O_BETA2] = {
        .name = L("beta2"), .section = "Training", .offset = F(beta2),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_UNIT, .def = 0.999,
        .metavar = "X", .help = "Adam: decay of the second moment",
        .sample = "0.99", .flags = RUN},
    [MLP_O_EPS] = {
        .name = L("eps"), .section = "Training", .offset = F(eps),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_POS, .def = 1e-8,
        .metavar = "X", .help = "Adam: added to the root of the second "
                                "moment",
        .sample = "1e-6", .flags = RUN},
    [MLP_O_MAX_LOSS] = {
        .name = L("max-loss"), .section = "Training", .offset = F(max_loss),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_POS, .metavar = "X",
        .help = "stop as diverged when a batch's mean loss exceeds X, or "
                "'off' (only a NaN/inf loss)",
        .shown = "100 x ln(classes)", .sample = "12.5",
        .flags = MLP_OPT_OFF | FIGS},
    [MLP_O_WEIGHT_DECAY] = {
        .name = L("weight-decay"), .section = "Training",
        .offset = F(weight_decay), .type = MLP_OPT_FLOAT,
        .rule = MLP_FLOAT_NONNEG, .metavar = "X",
        .help = "L2 weight decay (adamw: decoupled)",
        .shown = "0; adamw 0.01", .sample = "0.0001", .flags = RUN},
    [MLP_O_CLIP_GRAD] = {
        .name = L("clip-grad"), .section = "Training", .offset = F(clip_grad),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_NONNEG, .metavar = "NORM",
        .help = "scale each step's gradient down to a total 2-norm of at most "
                "NORM (PyTorch's clip_grad_norm_); 0: no clipping",
        .sample = "1.5", .flags = RUN | MLP_OPT_ID_SET},
    [MLP_O_SCHEDULE] = {
        .name = L("schedule"), .section = "Training", .offset = F(schedule),
        .type = MLP_OPT_ENUM, .def = MLP_SCHED_CONSTANT,
        .names = mlp_sched_names, .metavar = "NAME",
        .help = "learning rate per batch: constant, step, cosine or "
                "onecycle",
        .sample = "cosine", .flags = RUN},
    [MLP_O_WARMUP] = {
        .name = L("warmup"), .section = "Training", .offset = F(warmup),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_NONNEG, .metavar = "E",
        .help = "epochs (fractions allowed) of linear warm-up",
        .sample = "0.5", .flags = RUN},
    [MLP_O_LR_MIN] = {
        .name = L("lr-min"), .section = "Training", .offset = F(lr_min),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_NONNEG, .metavar = "X",
        .help = "cosine, onecycle: the last rate", .sample = "0.001",
        .flags = RUN},
    [MLP_O_LR_STEP] = {
        .name = L("lr-step"), .section = "Training", .offset = F(lr_step),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_NONNEG, .metavar = "E",
        .help = "step: epochs between cuts", .shown = "none", .sample = "5",
        .flags = RUN},
    [MLP_O_LR_GAMMA] = {
        .name = L("lr-gamma"), .section = "Training", .offset = F(lr_gamma),
        .type = MLP_OPT_FLOAT, .rule = MLP_FLOAT_POS, .def = 0.1,
        .metavar = "G", .help = "step: the rate's factor at each cut",
        .sample = "0.5", .flags = RUN},
    [MLP_O_LABEL_SMOOTHING] = {
        .name = L("label-smoothing"), .section = "Training",
        .offset = F(label_smoothing), .type = MLP_OPT_FLOAT,
        .rule = MLP_FLOAT_UNIT, .metavar = "X",
        .help = "mix X of the uniform distribution into the targets (the "
                "train loss shown is smoothed)",
        .sample = "0.1", .flags = RUN},
    [MLP_O_BATCH] = {
        .name = L("batch"), .letter = 'b', .section = "Training",
        .offset = F(batch), .type = MLP_OPT_SIZE, .lo = 1, .hi = 1u << 20,
        .def = 256, .metavar = "N", .help = "batch size", .sample = "64",
        .flags = RUN},
    [MLP_O_MICRO] = {
        .name = L("micro"), .section = "Training", .offset = F(micro),
        .type = MLP_OPT_SIZE, .lo = 1, .hi = 1u << 20, .metavar = "M",
        .help = "rows per micro-batch: the unit the step's gradients are "
                "summed by, in order (figures depend on it, never on -t)",
        .shown = "128, or the batch if smaller", .sample = "32",
        .flags = MLP_OPT_ZERO_AUTO | RUN},
    [MLP_O_ACCUM] = {
        .name = L("accum"), .section = "Training", .offset = F(accum),
        .type = MLP_OPT_UINT, .lo = 1, .hi = 65536, .def = 1, .metavar = "K",
        .help = "sum the gradients of K batches before a step (a global "
                "batch of K x --batch)",
        .sample = "2", .flags = RUN},
    [MLP_O_EPOCHS] = {
        .name = L("epochs"), .letter = 'e', .section = "Training",
        .offset = F(epochs), .type = MLP_OPT_UINT, .lo = 1, .hi = 1000000,
        .def = 10, .metavar = "N", .help = "epochs", .sample = "3",
        .flags = SWEEP | FIGS},
    [MLP_O_UNTIL] = {
        .name = L("until"), .section = "Training", .offset = F(until),
        .type = MLP_OPT_UINT, .lo = 1, .hi = 1000000, .metavar = "E",
        .help = "stop after epoch E of the --epochs plan (its schedule, "
                "warm-up and cosine span all of --epochs), with a "
                "checkpoint (--save or --resume); --resume FILE --epochs N "
                "continues it exactly",
        .shown = "all", .sample = "2", .flags = MLP_OPT_ZERO_ALL},
    [MLP_O_SEED] = {
        .name = L("seed"), .letter = 's', .section = "Training",
        .offset = F(seed), .type = MLP_OPT_U64, .lo = 0, .hi = UINT64_MAX,
        .def = 1, .metavar = "N", .help = "seed of weights and shuffling",
        .sample = "99", .flags = RUN},
    /* ---- Data ---- */
    [MLP_O_DATA] = {
        .name = L("data"), .section = "Data", .offset = F(data_dir),
        .type = MLP_OPT_PATH, .metavar = "DIR",
        .help = "directory of the IDX files",
        .shown = "$MLPTRAIN_DATA, else " MLP_DEFAULT_DATA_DIR,
        .sample = "/x/y", .flags = MLP_OPT_NOT_EMPTY | MLP_OPT_DIR | FIGS},
    [MLP_O_TRAIN] = {
        .name = L("train"), .section = "Data", .offset = F(train_path),
        .type = MLP_OPT_PATH, .metavar = "FILE",
        .help = "training samples instead of --data: IDX, CSV, .npy or .npz "
                "(each may be gzipped; the format is read from the content)",
        .shown = "", .sample = "/x/train.csv", .flags = FIGS},
    [MLP_O_TEST] = {
        .name = L("test"), .section = "Data", .offset = F(test_path),
        .type = MLP_OPT_PATH, .metavar = "FILE",
        .help = "test samples instead of --data's, of any of --train's "
                "formats",
        .shown = "", .sample = "/x/test.csv", .flags = FIGS},
    [MLP_O_TRAIN_LABELS] = {
        .name = L("train-labels"), .section = "Data",
        .offset = F(train_labels_path), .type = MLP_OPT_PATH,
        .metavar = "FILE", .help = "labels of an IDX or .npy --train file",
        .shown = "", .sample = "/x/y.npy", .flags = FIGS},
    [MLP_O_TEST_LABELS] = {
        .name = L("test-labels"), .section = "Data",
        .offset = F(test_labels_path), .type = MLP_OPT_PATH,
        .metavar = "FILE", .help = "labels of an IDX or .npy --test file",
        .shown = "", .sample = "/x/yt.npy", .flags = FIGS},
    [MLP_O_LABEL] = {
        .name = L("label"), .section = "Data", .offset = F(label_col),
        .type = MLP_OPT_STRING, .metavar = "COL",
        .help = "CSV label column: a header name or a 0-based index ('': "
                "the last)",
        .shown = "the last column", .sample = "species", .flags = FIGS},
    [MLP_O_HEADER] = {
        .name = L("header"), .section = "Data", .offset = F(header),
        .type = MLP_OPT_ENUM, .def = MLP_HEADER_AUTO,
        .names = mlp_header_names, .metavar = "WHEN",
        .help = "CSV header line: yes, no, or auto (a first line with a "
                "non-number among its features)",
        .sample = "yes", .flags = FIGS},
    [MLP_O_NORMALIZE] = {
        .name = L("normalize"), .section = "Data", .offset = F(normalize),
        .type = MLP_OPT_ENUM, .def = MLP_NORM_AUTO, .names = mlp_norm_names,
        .metavar = "HOW",
        .help = "real features' scaling: none, minmax or standard, from the "
                "rows trained on (bytes: always x/255)",
        .shown = "standard for real features", .sample = "minmax",
        .flags = CKPT | FIGS},
    [MLP_O_LIMIT_TRAIN] = {
        .name = L("limit-train"), .section = "Data", .offset = F(limit_train),
        .type = MLP_OPT_SIZE, .lo = 1, .hi = SIZE_MAX, .metavar = "N",
        .help = "use the first N training samples", .sample = "600",
        .flags = MLP_OPT_ZERO_ALL | RUN},
    [MLP_O_LIMIT_TEST] = {
        .name = L("limit-test"), .letter = 'n', .section = "Data",
        .offset = F(limit_test), .type = MLP_OPT_SIZE, .lo = 1,
        .hi = SIZE_MAX, .metavar = "N",
        .help = "use the first N test samples", .sample = "100",
        .flags = MLP_OPT_ZERO_ALL | SWEEP | FIGS},
    [MLP_O_VAL] = {
        .name = L("val"), .section = "Data", .offset = F(val),
        .type = MLP_OPT_SIZE, .lo = 0, .hi = SIZE_MAX, .metavar = "N",
        .help = "hold out N training samples (chosen by the seed) for "
                "validation; best epoch, --save-best and --early-stop use "
                "them",
        .shown = "none", .sample = "100", .flags = RUN},
    [MLP_O_AUGMENT] = {
        .name = L("augment"), .section = "Data", .offset = F(augment),
        .type = MLP_OPT_AUGMENT, .metavar = "LIST",
        .help = "shift=K (random shifts up to K pixels, zero fill) and/or "
                "flip (random horizontal flips), or none",
        .shown = "none", .sample = "shift=2,flip", .flags = RUN},
    [MLP_O_NO_SHUFFLE] = {
        .name = L("no-shuffle"), .section = "Data",
        .offset = F(no_shuffle), .type = MLP_OPT_FLAG,
        .help = "train on the training samples in their order every epoch "
                "(scikit-learn's shuffle=False)",
        .shown = "shuffled anew every epoch", .sample = "1",
        .flags = RUN | MLP_OPT_ID_SET},
    /* ---- Machine ---- */
    [MLP_O_WORKERS] = {
        .name = L("workers"), .letter = 'j', .section = "Machine",
        .offset = F(workers), .type = MLP_OPT_UINT, .lo = 0,
        .hi = MLP_LOADER_MAX_WORKERS, .def = 4, .metavar = "N",
        .help = "loader threads; 0 decodes on the trainer", .sample = "20",
        .flags = SWEEP},
    [MLP_O_THREADS] = {
        .name = L("threads"), .letter = 't', .section = "Machine",
        .offset = F(threads), .type = MLP_OPT_INT, .lo = 1,
        .hi = MLP_MAX_THREADS, .metavar = "N", .help = "compute threads",
        .shown = "cores: %s", .sample = "1"},
    [MLP_O_PARALLEL] = {
        .name = L("parallel"), .section = "Machine", .offset = F(parallel),
        .type = MLP_OPT_ENUM, .def = MLP_PAR_AUTO, .names = mlp_par_names,
        .metavar = "MODE",
        .help = "how the -t threads share a step: batch (each thread a "
                "micro-batch), gemm (threads inside each product) or auto "
                "(by the model's shape)",
        .sample = "batch", .flags = FIGS},
    [MLP_O_PRECISION] = {
        .name = L("precision"), .section = "Machine", .offset = F(precision),
        .type = MLP_OPT_ENUM, .def = MLP_PREC_F32,
        .names = mlp_precision_names, .metavar = "NAME",
        .help = "the products' operands: f32, bf16 (mixed precision: f32 "
                "weights, gradients and optimizer) or auto (bf16 where a "
                "start-up calibration runs it 1.3x faster)",
        .sample = "bf16", .flags = RUN | MLP_OPT_RESUME_FREE | MLP_OPT_ID_SET},
    [MLP_O_SLOTS] = {
        .name = L("slots"), .section = "Machine", .offset = F(slots),
        .type = MLP_OPT_SIZE, .lo = 2, .hi = 4096, .metavar = "N",
        .help = "ring slots of decoded batches, at most the batches of an "
                "epoch (more would never be filled)",
        .shown = "min(2N, 16), >= 2", .sample = "8",
        .flags = MLP_OPT_ZERO_AUTO},
    /* ---- Output ---- */
    [MLP_O_QUIET] = {
        .name = L("quiet"), .letter = 'q', .section = "Output",
        .offset = F(quiet), .type = MLP_OPT_FLAG,
        .help = "print only the final summary line", .shown = ""},
    [MLP_O_LOG] = {
        .name = L("log"), .section = "Output", .offset = F(log_path),
        .type = MLP_OPT_PATH, .metavar = "FILE",
        .help = "write JSON lines: the run, each epoch, the end",
        .sample = "l.jsonl"},
    [MLP_O_PNG] = {
        .name = L("png"), .letter = 'o', .alias = "plot", .section = "Output",
        .offset = F(plot_path), .type = MLP_OPT_PATH, .metavar = "FILE",
        .help = "draw the training curves, redrawn every epoch",
        .sample = "c.png"},
    [MLP_O_TENSORBOARD] = {
        .name = L("tensorboard"), .section = "Output",
        .offset = F(tensorboard_dir), .type = MLP_OPT_PATH, .metavar = "DIR",
        .help = "write TensorBoard event files of the epochs' figures into "
                "DIR (made if missing)",
        .sample = "tb", .flags = MLP_OPT_DIR},
    [MLP_O_SAVE] = {
        .name = L("save"), .section = "Output", .offset = F(save_path),
        .type = MLP_OPT_PATH, .metavar = "FILE",
        .help = "write a checkpoint after every epoch",
        .shown = "none; with --resume, the resumed file", .sample = "s.ckpt"},
    [MLP_O_RESUME] = {
        .name = L("resume"), .section = "Output", .offset = F(resume_path),
        .type = MLP_OPT_PATH, .metavar = "FILE",
        .help = "continue the run in a checkpoint: it sets the model, seed, "
                "batch and optimizer; --epochs N (required) is the total to "
                "reach; --lr may change (fine-tuning, logged as an override)",
        .sample = "r.ckpt"},
    [MLP_O_SAVE_BEST] = {
        .name = L("save-best"), .section = "Output",
        .offset = F(save_best_path), .type = MLP_OPT_PATH, .metavar = "FILE",
        .help = "write the checkpoint of the best epoch: the highest val acc",
        .shown = "none", .sample = "b.ckpt"},
    [MLP_O_EARLY_STOP] = {
        .name = L("early-stop"), .section = "Output", .offset = F(early_stop),
        .type = MLP_OPT_UINT, .lo = 0, .hi = 1000000, .metavar = "K",
        .help = "stop after K epochs without a better validation loss; 0: "
                "never; a resumed run that had stopped is done unless a "
                "larger K is given",
        .sample = "3", .flags = RUN | MLP_OPT_RESUME_FREE},
};
_Static_assert(MLP_NOPTIONS <= 64, "mlp_config_t.given has a bit per option");

#define NEEDS MLP_RULE_NEEDS
#define V MLP_V
/*
 * The cross-option rules of the run options (options.h), one line each,
 * checked by mlp_rules_check wherever both options are a command's (and
 * on every config the trainer runs).
 */
const mlp_rule_t mlp_option_rules[] = {
    {.x = MLP_O(MOMENTUM), .kind = NEEDS, .y = MLP_O(OPTIMIZER),
     .yvalues = V(MLP_OPTIM_SGD), .why = "adam and adamw have --beta1"},
    {.x = MLP_O(NESTEROV), .kind = NEEDS, .y = MLP_O(OPTIMIZER),
     .yvalues = V(MLP_OPTIM_SGD)},
    {.x = MLP_O(NESTEROV), .kind = NEEDS, .y = MLP_O(MOMENTUM),
     .why = "Nesterov's look-ahead is along the momentum"},
    {.x = MLP_O(BETA1), .kind = NEEDS, .y = MLP_O(OPTIMIZER),
     .yvalues = V(MLP_OPTIM_ADAM) | V(MLP_OPTIM_ADAMW)},
    {.x = MLP_O(BETA2), .kind = NEEDS, .y = MLP_O(OPTIMIZER),
     .yvalues = V(MLP_OPTIM_ADAM) | V(MLP_OPTIM_ADAMW)},
    {.x = MLP_O(EPS), .kind = NEEDS, .y = MLP_O(OPTIMIZER),
     .yvalues = V(MLP_OPTIM_ADAM) | V(MLP_OPTIM_ADAMW)},
    {.x = MLP_O(SCHEDULE), .xvalues = V(MLP_SCHED_STEP), .kind = NEEDS,
     .y = MLP_O(LR_STEP), .why = "the epochs between cuts"},
    {.x = MLP_O(LR_STEP), .kind = NEEDS, .y = MLP_O(SCHEDULE),
     .yvalues = V(MLP_SCHED_STEP)},
    {.x = MLP_O(LR_GAMMA), .kind = NEEDS, .y = MLP_O(SCHEDULE),
     .yvalues = V(MLP_SCHED_STEP)},
    {.x = MLP_O(LR_MIN), .kind = NEEDS, .y = MLP_O(SCHEDULE),
     .yvalues = V(MLP_SCHED_COSINE) | V(MLP_SCHED_ONECYCLE)},
    {.x = MLP_O(LR_MIN), .kind = MLP_RULE_AT_MOST, .y = MLP_O(LR),
     .why = "the floor of a schedule is at most its peak"},
    {.x = MLP_O(WARMUP), .kind = MLP_RULE_AT_MOST, .y = MLP_O(EPOCHS),
     .why = "the warm-up must fit in the run"},
    {.x = MLP_O(LR_STEP), .kind = MLP_RULE_BELOW, .y = MLP_O(EPOCHS),
     .why = "the rate would never be cut"},
    {.x = MLP_O(UNTIL), .kind = MLP_RULE_AT_MOST, .y = MLP_O(EPOCHS),
     .why = "it pauses the run within its plan"},
    {.x = MLP_O(UNTIL), .kind = NEEDS, .y = MLP_O(SAVE), .alt = MLP_O(RESUME),
     .why = "it pauses a run to continue it later (a --resume run goes on "
            "saving into its file)"},
    {.x = MLP_O(INIT_STD), .kind = NEEDS, .y = MLP_O(INIT),
     .yvalues = V(MLP_INIT_NORMAL), .why = "xavier and he set their own"},
    {.x = MLP_O(SAVE_BEST), .kind = NEEDS, .y = MLP_O(VAL),
     .why = "the best epoch is chosen on a validation split, never on the "
            "test set"},
    {.x = MLP_O(EARLY_STOP), .kind = NEEDS, .y = MLP_O(VAL),
     .why = "it watches the validation loss"},
    {.x = MLP_O(DATA), .kind = MLP_RULE_CONFLICTS, .y = MLP_O(TRAIN),
     .why = "the training and test data are --train's and --test's"},
    {.x = MLP_O(TRAIN), .kind = NEEDS, .y = MLP_O(TEST),
     .why = "every run reports its test accuracy"},
    {.x = MLP_O(TEST), .kind = NEEDS, .y = MLP_O(TRAIN),
     .why = "--data names both splits"},
    {.x = MLP_O(TRAIN_LABELS), .kind = NEEDS, .y = MLP_O(TRAIN)},
    {.x = MLP_O(TEST_LABELS), .kind = NEEDS, .y = MLP_O(TEST)},
    {.x = MLP_O(LABEL), .kind = NEEDS, .y = MLP_O(TRAIN),
     .why = "IDX files (--data) have no columns"},
    {.x = MLP_O(HEADER), .kind = NEEDS, .y = MLP_O(TRAIN),
     .why = "IDX files (--data) have no header line"},
};
const size_t mlp_noption_rules =
    sizeof(mlp_option_rules) / sizeof(mlp_option_rules[0]);

/* The rules that wait for the data (options.h). */
const mlp_data_rule_t mlp_data_rules[] = {
    {MLP_O(HEADER), MLP_DATA_CSV, "a CSV --train file"},
    {MLP_O(LABEL), MLP_DATA_CSV, "a CSV --train file"},
    {MLP_O(TRAIN_LABELS), MLP_DATA_LABELS_FILE,
     "a --train file without labels of its own (IDX or .npy)"},
    {MLP_O(TEST_LABELS), MLP_DATA_TEST_LABELS_FILE,
     "a --test file without labels of its own (IDX or .npy)"},
    {MLP_O(NORMALIZE), MLP_DATA_REAL, "real features (CSV, float .npy)"},
    {MLP_O(AUGMENT), MLP_DATA_IMAGES, "images (IDX files of 3 dimensions)"},
};
const size_t mlp_ndata_rules =
    sizeof(mlp_data_rules) / sizeof(mlp_data_rules[0]);
#undef NEEDS
#undef V

#undef F
#undef L
#undef CKPT
#undef SWEEP
#undef FIGS
#undef RUN

mlp_opt_id_t mlp_options_id(const mlp_option_t *o)
{
    return (mlp_opt_id_t)(o - mlp_options);
}

const mlp_option_t *mlp_options_find(const char *name)
{
    for (size_t i = 0; i < MLP_NOPTIONS; i++) {
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

const char *mlp_options_flag(const mlp_option_t *o)
{
    return o->name - 2; /* the table spells names "--name" + 2 */
}

uint64_t mlp_options_bit(const mlp_option_t *o)
{
    return (uint64_t)1 << mlp_options_id(o);
}

int mlp_config_given(const mlp_config_t *cfg, mlp_opt_id_t id)
{
    return (cfg->given >> id) & 1;
}

/* ---- configs -------------------------------------------------------- */

int mlp_options_resume(mlp_config_t *cfg, const mlp_config_t *ck,
                       const char *path)
{
    for (size_t i = 0; i < MLP_NOPTIONS; i++) {
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
    for (size_t i = 0; i < MLP_NOPTIONS; i++) {
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
    for (size_t i = 0; i < MLP_NOPTIONS; i++)
        mlp_options_set_default(&mlp_options[i], cfg);
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s",
             env != NULL && env[0] != '\0' ? env : MLP_DEFAULT_DATA_DIR);
    cfg->threads = mlp_config_ncores();
}

void mlp_config_resolve(mlp_config_t *cfg)
{
    if (cfg->optimizer == MLP_OPTIM_ADAMW &&
        !mlp_config_given(cfg, MLP_O_WEIGHT_DECAY))
        cfg->weight_decay = 0.01f;
}

int mlp_config_validate(const mlp_config_t *cfg)
{
    char buf[96];

    for (size_t i = 0; i < MLP_NOPTIONS; i++) {
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
            if ((o->flags & MLP_OPT_NOT_EMPTY) &&
                OPT_FIELD(o, cfg, char)[0] == 0)
                why = "is empty";
            else if (memchr(OPT_FIELD(o, cfg, char), 0, MLP_PATH_MAX) == NULL)
                why = "is not terminated";
            break;
        case MLP_OPT_FLOAT:
            why = mlp_options_check(o, *OPT_FIELD(o, cfg, float), 0, buf,
                                    sizeof(buf));
            break;
        case MLP_OPT_ENUM:
            if (mlp_options_enum_name(o, *OPT_FIELD(o, cfg, int)) == NULL)
                why = "is not a known name";
            break;
        case MLP_OPT_AUGMENT:
            if (OPT_FIELD(o, cfg, mlp_augment_t)->shift >
                MLP_AUGMENT_MAX_SHIFT)
                why = "shifts too far";
            break;
        case MLP_OPT_FLAG:
            break;
        default:
            why = mlp_options_check(o, 0.0, mlp_options_whole(o, cfg), buf,
                                    sizeof(buf));
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

/* ---- the machine ---------------------------------------------------- */

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
