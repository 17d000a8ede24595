/*
 * options: the options of a training run, declared once, and the one
 * machinery of every option's value (the commands' own options included).
 *
 * mlp_config_t is the plain struct of a run's options; the trainer and the
 * modules under it read it.  mlp_options[] (options.c) is the one table of
 * them, in the spirit of git's parse-options, indexed by mlp_opt_id_t
 * (MLP_O_LR, ...): code names an option by its id or its entry (MLP_O(LR)),
 * never by a string, so a misspelt name does not compile.  Each entry is a
 * designated initializer: long name, short letter, help section, field,
 * type and range, default, metavar, help text and flags (checkpointed,
 * sweep key, changes the figures, free on resume).  Generated from it:
 *   - every command's getopt_long table and --help (cli.c, over the
 *     commands' tables of which these entries are the shared part);
 *   - parsing and checking a value (mlp_options_parse: the one value
 *     parser, for the command line, a checkpoint's options text and a
 *     sweep's grid and space), the defaults (mlp_config_defaults) and the
 *     range checks of a config made by code (mlp_config_validate);
 *   - the given bits (one per id: mlp_config_given);
 *   - the cross-option rules beside it (mlp_option_rules[]: X needs Y, X
 *     conflicts with Y, X at most / below Y), checked by the one checker,
 *     mlp_rules_check (which also checks each command's own rules), and
 *     the rules that wait for the data's format (mlp_data_rules[],
 *     mlp_config_check_data);
 *   - the checkpoint's options text (trainer_ckpt.c: every MLP_OPT_CKPT
 *     option, written with mlp_options_format, read with
 *     mlp_options_parse) and the resume conflict check
 *     (mlp_options_resume);
 *   - the ranks' agreement under MPI (trainer_ranks.c: every FIGS and CKPT
 *     option that is not a path);
 *   - the JSON run record's "options" object (report.c: the key is the
 *     long name with '_' for '-');
 *   - the sweep's keys, key values and run id (grid.c).
 *
 * Adding an option: one entry in the table in options.c (its id in
 * mlp_opt_id_t below), a field in mlp_config_t, and the code that uses
 * it; the module that uses it reads it where its own options are built
 * from the config (mlp_net_spec_of, mlp_step_opts_of, mlp_optim_opts_of,
 * mlp_sched_of).  tests/check_options walks the table.
 *
 * A command's own options (eval's --model, sweep's --grid) are entries of
 * the same type whose field is in the command's own struct (place
 * MLP_IN_CMD), declared in its cmd_*.c beside its rules (cli.h).
 *
 * Non-goals: argv and getopt (cli.c); knowing the data (checked by the
 * trainer once the files are read, mlp_data_rules[]).
 * Thread-safe: the tables are constant; functions touch only their
 * arguments (mlp_config_load_free_cores reads a file).
 */
#ifndef MLPTRAIN_OPTIONS_H
#define MLPTRAIN_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/loader.h"
#include "mlptrain/net.h"

#define MLP_PATH_MAX 4096
#define MLP_MAX_THREADS 1024

/* The run options, in table order: --help's, the order getopt_long
 * resolves an abbreviation in ("--s": --schedule, --seed, --slots, --save,
 * --save-best), a checkpoint's options text's and the run id's. */
typedef enum {
    /* model */
    MLP_O_HIDDEN, MLP_O_ACT, MLP_O_INIT, MLP_O_INIT_STD, MLP_O_DROPOUT,
    MLP_O_INPUT_DROPOUT, MLP_O_PLAIN_WEIGHTS,
    /* training */
    MLP_O_OPTIMIZER, MLP_O_LR, MLP_O_MOMENTUM, MLP_O_NESTEROV, MLP_O_BETA1,
    MLP_O_BETA2, MLP_O_EPS, MLP_O_MAX_LOSS, MLP_O_WEIGHT_DECAY,
    MLP_O_CLIP_GRAD, MLP_O_SCHEDULE, MLP_O_WARMUP, MLP_O_LR_MIN,
    MLP_O_LR_STEP, MLP_O_LR_GAMMA, MLP_O_LABEL_SMOOTHING, MLP_O_BATCH,
    MLP_O_MICRO, MLP_O_ACCUM, MLP_O_EPOCHS, MLP_O_UNTIL, MLP_O_SEED,
    /* data */
    MLP_O_DATA, MLP_O_TRAIN, MLP_O_TEST, MLP_O_TRAIN_LABELS,
    MLP_O_TEST_LABELS, MLP_O_LABEL, MLP_O_HEADER, MLP_O_NORMALIZE,
    MLP_O_LIMIT_TRAIN, MLP_O_LIMIT_TEST, MLP_O_VAL, MLP_O_AUGMENT,
    MLP_O_NO_SHUFFLE,
    /* machine */
    MLP_O_WORKERS, MLP_O_THREADS, MLP_O_PARALLEL, MLP_O_PRECISION,
    MLP_O_SLOTS,
    /* output */
    MLP_O_QUIET, MLP_O_LOG, MLP_O_PNG, MLP_O_TENSORBOARD, MLP_O_SAVE,
    MLP_O_RESUME, MLP_O_SAVE_BEST, MLP_O_EARLY_STOP,
    MLP_NOPTIONS
} mlp_opt_id_t;

/* The entry of run option ID, a constant expression: MLP_O(LR). */
#define MLP_O(id) (&mlp_options[MLP_O_##id])

typedef struct mlp_config {
    /* model */
    size_t nhidden;                /* hidden layers, 0..MLP_MAX_HIDDEN */
    size_t hidden[MLP_MAX_HIDDEN]; /* their widths */
    mlp_act_t act;
    int init;                      /* mlp_init_t (net.h) */
    float init_std;                /* --init normal: N(0, init_std^2) */
    float dropout;                 /* on hidden layers' outputs, [0, 1) */
    float input_dropout;           /* on the input, [0, 1) */
    int plain_weights;             /* --plain-weights: no blocked layout */
    /* training */
    int optimizer;                 /* mlp_optim_kind_t (optim.h) */
    float lr;
    float momentum;
    int nesterov;
    float beta1, beta2, eps;       /* Adam, AdamW */
    float weight_decay;            /* AdamW: 0.01 when not given */
    float clip_grad;               /* the step gradient's largest 2-norm
                                      (step.h); 0: no clipping */
    int schedule;                  /* mlp_sched_kind_t (schedule.h) */
    float warmup;                  /* epochs of linear warm-up */
    float lr_min;                  /* cosine/onecycle floor */
    float lr_step;                 /* step: epochs between cuts */
    float lr_gamma;                /* step: factor per cut */
    float label_smoothing;         /* [0, 1) */
    size_t batch;
    size_t micro;                  /* rows per micro-batch; 0: default */
    unsigned accum;                /* loader batches per step, >= 1 */
    unsigned epochs;               /* the run's plan: the schedule spans them */
    unsigned until;                /* stop (paused) after this epoch of the
                                      plan, with a checkpoint; 0: all */
    uint64_t seed;
    float max_loss;                /* a mean batch loss above it is
                                      divergence; 0: 100 x ln(classes);
                                      < 0: only a non-finite loss */
    /* data */
    char data_dir[MLP_PATH_MAX];
    char train_path[MLP_PATH_MAX];  /* --train FILE; "": --data */
    char test_path[MLP_PATH_MAX];
    char train_labels_path[MLP_PATH_MAX];
    char test_labels_path[MLP_PATH_MAX];
    char label_col[MLP_PATH_MAX];  /* CSV label column, a name or an
                                      index; "": the last */
    int header;                    /* mlp_header_t (csv.h) */
    int normalize;                 /* mlp_norm_t (transform.h) */
    size_t limit_train;            /* 0: all */
    size_t limit_test;             /* 0: all */
    size_t val;                    /* training samples held out for
                                      validation; 0: none */
    mlp_augment_t augment;         /* done by the loader (loader.h) */
    int no_shuffle;                /* training batches in split order */
    /* machine */
    unsigned workers;              /* loader threads; 0: trainer decodes */
    int threads;                   /* compute threads */
    int parallel;                  /* mlp_par_t (step.h) */
    int precision;                 /* mlp_precision_t (net.h) */
    size_t slots;                  /* ring slots; 0: automatic */
    /* output */
    int quiet;
    char log_path[MLP_PATH_MAX];   /* "" : no JSON log */
    char plot_path[MLP_PATH_MAX];  /* --png: curves PNG redrawn after
                                      every epoch; "" : none */
    char tensorboard_dir[MLP_PATH_MAX]; /* --tensorboard: event files
                                      (tfevents.h); "" : none */
    /* checkpoints (trainer.h says how --resume uses them) */
    char save_path[MLP_PATH_MAX];  /* --save: "" none */
    char resume_path[MLP_PATH_MAX];/* --resume: "" none */
    char save_best_path[MLP_PATH_MAX]; /* --save-best: "" none */
    unsigned early_stop;           /* epochs without a better validation
                                      loss before stopping; 0: never */
    uint64_t given;                /* bit id (mlp_options_bit) of each
                                      option set on the command line */
} mlp_config_t;

/* How an option's value is stored and read. */
typedef enum {
    MLP_OPT_UINT,   /* unsigned, lo..hi */
    MLP_OPT_INT,    /* int, lo..hi */
    MLP_OPT_SIZE,   /* size_t, lo..hi */
    MLP_OPT_U64,    /* uint64_t, lo..hi */
    MLP_OPT_FLOAT,  /* float, by its rule (mlp_float_rule_t) and max */
    MLP_OPT_ENUM,   /* an int-sized enum by name: names[] */
    MLP_OPT_AUGMENT,/* mlp_augment_t: "shift=K,flip", "none" */
    MLP_OPT_HIDDEN, /* run options only: nhidden, then hidden[]: "512,256",
                       "1024:512", none */
    MLP_OPT_PATH,   /* char[MLP_PATH_MAX]: a file name (a directory's with
                       MLP_OPT_DIR), 1..MLP_PATH_MAX - 1 bytes */
    MLP_OPT_STRING, /* char[MLP_PATH_MAX]: a name (not a file), 0..
                       MLP_PATH_MAX - 1 bytes, may be empty */
    MLP_OPT_TEXT,   /* const char *: the argument itself (argv's), any
                       length (not empty with MLP_OPT_NOT_EMPTY); the
                       default defstr (commands' own only) */
    MLP_OPT_FLAG,   /* int, set to 1; takes no value on the command
                       line, 0/1/on/off in a sweep grid */
    MLP_OPT_CALLBACK, /* set(field, value) per occurrence, which may
                       repeat (sweep's --grid); commands' own only */
} mlp_opt_type_t;

/* The range of a float option. */
typedef enum {
    MLP_FLOAT_POS,     /* > 0 */
    MLP_FLOAT_NONNEG,  /* >= 0 */
    MLP_FLOAT_UNIT,    /* [0, 1) */
} mlp_float_rule_t;

/* Where an option's field is. */
typedef enum {
    MLP_IN_RUN,        /* mlp_config_t (a run option, in mlp_options[]) */
    MLP_IN_CMD,        /* the command's own options struct (cli.h) */
} mlp_opt_place_t;

/* Flags of an option. */
enum {
    MLP_OPT_CKPT = 1u << 0,        /* stored in the checkpoint; a resumed
                                      run keeps the checkpoint's value, and
                                      another given value is a conflict */
    MLP_OPT_SWEEP = 1u << 1,       /* a sweep grid key */
    MLP_OPT_FIGS = 1u << 2,        /* changes the figures: in the run id */
    MLP_OPT_RESUME_FREE = 1u << 3, /* CKPT, but a given value wins on resume
                                      (logged as an override) */
    MLP_OPT_ZERO_ALL = 1u << 4,    /* whole number: 0 (the default) reads
                                      "all" */
    MLP_OPT_ZERO_AUTO = 1u << 5,   /* whole number: 0 (the default) reads
                                      "auto" */
    MLP_OPT_OFF = 1u << 6,         /* float: "off" stores -1, 0 (the
                                      default) is automatic */
    MLP_OPT_NOT_EMPTY = 1u << 7,   /* PATH: never empty, not even by code
                                      (--data); TEXT: not empty */
    MLP_OPT_DIR = 1u << 8,         /* PATH, TEXT: a directory's name */
    MLP_OPT_ID_SET = 1u << 9,      /* in the run id only when not the
                                      default: an option added after run
                                      ids were fixed (--clip-grad,
                                      --precision: a sweep resumes its runs
                                      by id, grid.h) */
};

typedef struct mlp_option mlp_option_t;

struct mlp_option {
    const char *name;         /* long name, "weight-decay" */
    int letter;               /* short letter, 0: none */
    const char *alias;        /* another long name, NULL: none */
    const char *section;      /* --help section, "Model" */
    mlp_opt_type_t type;
    mlp_opt_place_t place;    /* MLP_IN_RUN (0) or MLP_IN_CMD */
    size_t offset;            /* offsetof the field in its struct */
    unsigned long long lo, hi; /* whole numbers' range */
    mlp_float_rule_t rule;    /* floats' range ... */
    double max;               /* ... and largest value below FLT_MAX
                                 where a later use needs one (--init-std:
                                 the draws overflow a float); 0: FLT_MAX */
    double def;               /* default value (a width for hidden, an
                                 mlp_act_t for act); paths and threads
                                 are set by mlp_config_defaults */
    const char *defstr;       /* PATH, STRING: the default, NULL: "" */
    const char *metavar;      /* "N", "X", "FILE"; NULL for a flag */
    const char *help;         /* --help text, without the default */
    const char *shown;        /* the default --help shows: NULL: the
                                 default's value, "": none; "%s" is
                                 replaced by the default's value */
    const char *sample;       /* a valid value other than the default,
                                 for tests */
    unsigned flags;           /* MLP_OPT_* */
    const char *const *names; /* ENUM: the names of values 0, 1, ...,
                                 NULL-terminated */
    int (*set)(void *field, const char *value); /* CALLBACK: MLP_EUSAGE
                                 with a message naming the option */
};

extern const mlp_option_t mlp_options[MLP_NOPTIONS];

/* o's id: its index in mlp_options[] (o a run option). */
mlp_opt_id_t mlp_options_id(const mlp_option_t *o);

/*
 * The run option called `name` (its long name; '_' reads as '-'), for
 * names that come from outside the program: a sweep key, a checkpoint's
 * options line, a journal.  NULL if none.  Code names an option by its id.
 */
const mlp_option_t *mlp_options_find(const char *name);

/* An ENUM option's name of value v; NULL if none. */
const char *mlp_options_enum_name(const mlp_option_t *o, int v);
/* An ENUM option's value of `name`; -1 if none. */
int mlp_options_enum_parse(const mlp_option_t *o, const char *name);

/* "--name", static. */
const char *mlp_options_flag(const mlp_option_t *o);

/* The given bit of a run option: 1 << its id. */
uint64_t mlp_options_bit(const mlp_option_t *o);

/* Was run option `id` given (cfg->given)? */
int mlp_config_given(const mlp_config_t *cfg, mlp_opt_id_t id);

/* o's field in `base`: cfg for a run option, the command's own struct
 * for the command's. */
void *mlp_options_field(const mlp_option_t *o, void *base);

/* ---- values --------------------------------------------------------- */

/*
 * Strict whole number: digits only (no sign, no space), in [lo, hi].
 * MLP_EUSAGE naming `opt` ("--batch") and the value otherwise.
 */
int mlp_options_parse_uint(const char *opt, const char *arg,
                           unsigned long long lo, unsigned long long hi,
                           unsigned long long *out);

/*
 * The one rule for every real-valued option: a plain decimal
 * ([-]digits[.digits][e[+-]digits]; no space, no '+', no hex such as
 * 0x1p-3, no inf or nan) that a float holds: a value that would overflow
 * to inf (1e39) or round to 0 (1e-50) is out of range.  MLP_EUSAGE naming
 * `opt` and the value otherwise.
 */
int mlp_options_parse_float(const char *opt, const char *arg, float *out);

/* --augment's value: "shift=K", "flip", "shift=K,flip" (either order; '+'
 * separates as well as ',', for a sweep grid, whose values are separated
 * by commas: augment=none,shift=2+flip), or "none"; K in
 * 0..MLP_AUGMENT_MAX_SHIFT. */
int mlp_options_parse_augment(const char *opt, const char *arg,
                              mlp_augment_t *out);

/* A list of hidden widths: "256", "512,256", "1024:512", "" or "none". */
int mlp_options_parse_hidden(const char *arg, size_t *hidden,
                             size_t *nhidden);

/*
 * Parse and check one value `arg` of option o into its field in `base`
 * (cfg for a run option): the table's type and range (a flag takes NULL
 * for 1, or 0/1/on/off, as in a sweep grid; a PATH of 1..MLP_PATH_MAX - 1
 * bytes, a STRING of 0..MLP_PATH_MAX - 1; a TEXT keeps the pointer).
 * MLP_EUSAGE naming the option ("option '--lr': '0' must be > 0").  Sets
 * no given bit and checks no rule between options (mlp_rules_check does,
 * once all are set).  The one value parser: the command line, a
 * checkpoint's options text, a sweep's grid and space.
 */
int mlp_options_parse(const mlp_option_t *o, void *base, const char *arg);

/* Set o's field in `base` to the table's default (paths: defstr or ""). */
void mlp_options_set_default(const mlp_option_t *o, void *base);

/*
 * o's range in words, with its metavar, for --help and doc/options.md's
 * Limits table: "N in 1..1024", "N in 1..2^64-1 or all", "X > 0",
 * "0 <= P < 1", "X in 0..1e+37"; "" for options whose values are names or
 * files (the help lists the names; --help's end gives the lengths).
 */
void mlp_options_range(const mlp_option_t *o, char *buf, size_t len);

/*
 * Does value v (a float for MLP_OPT_FLOAT, a whole number otherwise) fit
 * o's range?  0 if it does, else a static phrase: "must be > 0", "must
 * be in [0, 1)", "is out of range (1..1000000)" (in buf).
 */
const char *mlp_options_check(const mlp_option_t *o, double f,
                              unsigned long long v, char *buf, size_t len);

/*
 * Format o's value in `base` (cfg for a run option), the one formatter of
 * every option's value: for --help defaults, resume conflicts, sweep key
 * values, checkpoints' options text and the run id.  Floats with %g, or
 * with %.9g (round-trips a float) when `exact`; hidden "1024:512" or
 * "none"; ZERO_ALL 0 "all"; ZERO_AUTO 0 "auto"; OFF -1 "off" and 0
 * "auto"; a flag "1"/"0"; a path as it is ("none" when empty); a TEXT as
 * it is; a CALLBACK "".  What it writes reads back through
 * mlp_options_parse to the same value.
 */
void mlp_options_format(const mlp_option_t *o, const void *base, int exact,
                        char *buf, size_t len);

/* Is o's value in `base` its default?  (A NOT_EMPTY path: always.) */
int mlp_options_is_default(const mlp_option_t *o, const void *base);

/* Do a and b hold the same value of run option o? */
int mlp_options_equal(const mlp_option_t *o, const mlp_config_t *a,
                      const mlp_config_t *b);

/* Copy run option o's value from src to dst. */
void mlp_options_copy(const mlp_option_t *o, mlp_config_t *dst,
                      const mlp_config_t *src);

/*
 * A resumed run's options: cfg's, with every MLP_OPT_CKPT option taken
 * from ck (the checkpoint's values), except a given MLP_OPT_RESUME_FREE
 * one.  An option given (cfg->given) with a value other than ck's, and
 * not RESUME_FREE, is MLP_EUSAGE: "option '--momentum': 0.5 conflicts
 * with the checkpoint 'PATH' (0.9); a resumed run keeps the checkpoint's";
 * cfg is unchanged then.
 */
int mlp_options_resume(mlp_config_t *cfg, const mlp_config_t *ck,
                       const char *path);

/*
 * The defaults: every option's table default (the reference recipe:
 * 784-256-10 ReLU shape comes from the data; hidden 256, lr 0.1, batch
 * 256, 10 epochs, init std 0.01), 4 loader workers, as many compute
 * threads as online cores, data from $MLPTRAIN_DATA or the configured
 * default directory.
 */
void mlp_config_defaults(mlp_config_t *cfg);

/* The defaults that depend on other options, for options not given
 * (cfg->given): AdamW's weight decay is 0.01 (PyTorch's).  The command
 * line's parser and the trainer apply it; idempotent. */
void mlp_config_resolve(mlp_config_t *cfg);

/* ---- rules ---------------------------------------------------------- */

/*
 * The cross-option rules.  The run options' are declared beside the table
 * (mlp_option_rules[], options.c), a command's own beside its table
 * (cli.h); all are checked by one function, mlp_rules_check.  A rule is
 * about x in use: given on the command line, or set to another value than
 * its default (by code, or read from a checkpoint: a value that does not
 * apply is refused there too, never ignored).  With xvalues, only when x
 * has one of those values; with `when`, only when that option is in use.
 *   NEEDS        x needs y set (not 0, not empty), or with yvalues one of
 *                those values of y; `alt` does as well as y: "option
 *                '--beta1' needs --optimizer adam or adamw (this run's is
 *                sgd)";
 *   NEEDS_GIVEN  x needs y given on the command line (y's default is no
 *                answer: --resume needs --epochs, the total to reach);
 *   CONFLICTS    x may not be used with y in use (or with yvalues, with
 *                y having one of them): "option '--data' conflicts with
 *                --train";
 *   AT_MOST      x's value <= y's (numbers);
 *   BELOW        x's value < y's;
 *   REQUIRED     x (or `alt`) given on the command line, unless `unless`
 *                is in use: "option '--model' is required".
 * NEEDS_GIVEN and REQUIRED are about a command line: a config made by
 * code has a value of every option, and mlp_config_check_rules skips
 * them.
 */
typedef enum {
    MLP_RULE_NEEDS,
    MLP_RULE_NEEDS_GIVEN,
    MLP_RULE_CONFLICTS,
    MLP_RULE_AT_MOST,
    MLP_RULE_BELOW,
    MLP_RULE_REQUIRED,
} mlp_rule_kind_t;

/* The values of an ENUM option a rule names, as a set: MLP_V(MLP_OPTIM_SGD)
 * | MLP_V(...). */
#define MLP_V(v) (1u << (v))

typedef struct {
    const mlp_option_t *x;      /* the option the rule is about */
    unsigned xvalues;           /* 0: any value in use; else x's values */
    mlp_rule_kind_t kind;
    const mlp_option_t *y;      /* the option it depends on (REQUIRED:
                                   NULL) */
    unsigned yvalues;           /* NEEDS, CONFLICTS: y's values; 0: set */
    const mlp_option_t *alt;    /* NEEDS, REQUIRED: another option that
                                   does as well as y (as x); NULL */
    const mlp_option_t *when;   /* the rule holds only when this option
                                   is in use; NULL: always */
    const mlp_option_t *unless; /* REQUIRED: not when this one is in use */
    const char *why;            /* appended after ": ", or NULL */
} mlp_rule_t;

extern const mlp_rule_t mlp_option_rules[];
extern const size_t mlp_noption_rules;

/*
 * The values a command line set, as the rules see them: the run options
 * in cfg (NULL for a command without run options), the command's own in
 * `own`, and which of those were given: own_given has bit i for the
 * command's options[i] (cli.h).  `merged`: see mlp_config_check_rules.
 */
typedef struct {
    const mlp_config_t *cfg;
    const void *own;
    const mlp_option_t *const *options; /* the command's options, NULL-
                                           terminated; NULL: the run
                                           options (every rule applies) */
    uint64_t own_given;
    int merged;
} mlp_values_t;

/*
 * The one checker: every rule of rules[0..n) whose options are all among
 * v->options (all when NULL), in order: MLP_EUSAGE naming x, what it needs
 * (or conflicts with) and the value it met, for the first broken one.
 * With a --resume (cfg->resume_path) and merged 0 (the command line
 * alone), a rule that reads a checkpointed option the command line did
 * not give waits: the trainer checks again with merged 1 once the
 * checkpoint's options are in.  An x that came from the checkpoint is
 * named as the checkpoint's.
 */
int mlp_rules_check(const mlp_rule_t *rules, size_t n,
                    const mlp_values_t *v);

/* The run rules (mlp_option_rules[]) on cfg: mlp_rules_check with the
 * run options; REQUIRED and NEEDS_GIVEN rules are skipped. */
int mlp_config_check_rules(const mlp_config_t *cfg, int merged);

/*
 * o's rules of rules[0..n) (those whose options are all among `options`,
 * all when NULL) in words, for --help: "needs --optimizer adam or adamw",
 * "step needs --lr-step", "at most --epochs", "required"; appended to buf
 * (its length `off` so far) with ", " between; returns the new length.
 */
size_t mlp_rules_text(const mlp_rule_t *rules, size_t n,
                      const mlp_option_t *const *options,
                      const mlp_option_t *o, char *buf, size_t len,
                      size_t off);

/*
 * The rules that need the data: what an option needs of the files, known
 * once they are read (the format is read from the content).  `has` holds
 * the MLP_DATA_* the run's data has; an x in use whose needs are not all
 * there is MLP_EUSAGE: "option '--header' needs a CSV --train file
 * ('x.npy' is .npy)".  `train_what` describes the training file for the
 * message ("'x.npy' is .npy").
 */
enum {
    MLP_DATA_CSV = 1u << 0,         /* --train is CSV (labels in a column,
                                       a header line) */
    MLP_DATA_LABELS_FILE = 1u << 1, /* --train has no labels of its own
                                       (IDX, .npy): --train-labels */
    MLP_DATA_TEST_LABELS_FILE = 1u << 2, /* the same of --test */
    MLP_DATA_REAL = 1u << 3,        /* real features (scaled by
                                       --normalize), not bytes (x / 255) */
    MLP_DATA_IMAGES = 1u << 4,      /* images (IDX, 3 dimensions) */
};

typedef struct {
    const mlp_option_t *x; /* the option */
    unsigned needs;        /* MLP_DATA_* it needs, all of them */
    const char *what;      /* what it needs, in words: "a CSV --train file" */
} mlp_data_rule_t;

extern const mlp_data_rule_t mlp_data_rules[];
extern const size_t mlp_ndata_rules;

int mlp_config_check_data(const mlp_config_t *cfg, unsigned has,
                          const char *train_what);

/* o's data rules in words ("needs a CSV --train file"), appended as
 * mlp_rules_text appends. */
size_t mlp_data_rules_text(const mlp_option_t *o, char *buf, size_t len,
                           size_t off);

/* The table's range checks on a config filled by code, not by the
 * command line (MLP_EINVAL naming the option), then the rules
 * (mlp_config_check_rules, merged 0: MLP_EUSAGE). */
int mlp_config_validate(const mlp_config_t *cfg);

/* ---- the machine ---------------------------------------------------- */

/* Online CPU cores (>= 1). */
int mlp_config_ncores(void);

/*
 * Cores the machine's load leaves free, from the text of /proc/loadavg
 * ("0.52 0.58 0.59 3/412 12345": the running count, the reader included):
 * ncpu - (running - 1), at least 0; -1 when the text does not parse.
 * Pure, for tests.
 */
int mlp_config_free_cores(const char *loadavg, int ncpu);

/*
 * The same from $MLPTRAIN_LOADAVG (a file read instead of /proc/loadavg;
 * "off": -1 at once) or /proc/loadavg, the best of three samples 10 ms
 * apart; -1 when unknown.  Cheap: read once before a run.
 */
int mlp_config_load_free_cores(int ncpu);

#endif
