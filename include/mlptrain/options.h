/*
 * options: every option of a training run, declared once.
 *
 * mlp_config_t is the plain struct of a run's options; the trainer reads
 * it.  mlp_options[] (options.c) is the one table of them, in the spirit of
 * git's parse-options: per option its long name, short letter, field
 * (offsetof into mlp_config_t), type and range, default, metavar, help
 * text and flags (checkpointed, sweep key, changes the figures, free on
 * resume).  Everything else is generated from the table:
 *   - getopt_long's table, the short-option string and `--help` (cli.c);
 *   - parsing and validation of a value (mlp_options_set), the defaults
 *     (mlp_config_defaults) and the range checks (mlp_config_validate);
 *   - the given bits (one per table index, mlp_options_bit);
 *   - the cross-option rules beside it (mlp_option_rules[]: X needs Y, X
 *     conflicts with Y, X at most Y), checked in one place
 *     (mlp_config_check_rules), and the rules that wait for the data's
 *     format (mlp_data_rules[], mlp_config_check_data);
 *   - the resume conflict check (trainer_ckpt.c, over MLP_OPT_CKPT options);
 *   - the ranks' agreement under MPI (trainer_ranks.c: every FIGS and CKPT
 *     option that is not a path);
 *   - the JSON run record's "options" object (report.c: the key is the
 *     long name with '_' for '-');
 *   - the sweep's keys, key values and run id (grid.c).
 *
 * Adding an option: one line in the table in options.c, a field here, and
 * the code that uses it.  tests/check_options walks the table.
 *
 * Non-goals: knowing the data (checked by the trainer once the files are
 * read); commands' own options (eval, sweep, plot keep theirs).
 * Thread-safe: the table is constant; functions touch only their arguments.
 */
#ifndef MLPTRAIN_OPTIONS_H
#define MLPTRAIN_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/loader.h"
#include "mlptrain/net.h"

#define MLP_PATH_MAX 4096
#define MLP_MAX_THREADS 1024

typedef struct {
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
    uint64_t given;                /* mlp_options_bit() of each option set
                                      on the command line */
} mlp_config_t;

/* How an option's value is stored and read. */
typedef enum {
    MLP_OPT_UINT,   /* unsigned, lo..hi */
    MLP_OPT_INT,    /* int, lo..hi */
    MLP_OPT_SIZE,   /* size_t, lo..hi */
    MLP_OPT_U64,    /* uint64_t, lo..hi */
    MLP_OPT_FLOAT,  /* float, by its rule (mlp_float_rule_t) */
    MLP_OPT_ENUM,   /* an int-sized enum by name: names[] */
    MLP_OPT_AUGMENT,/* mlp_augment_t: "shift=K,flip", "none" */
    MLP_OPT_HIDDEN, /* nhidden, then hidden[]: "512,256", "1024:512", none */
    MLP_OPT_PATH,   /* char[MLP_PATH_MAX]: a file name, 1..MLP_PATH_MAX - 1
                       bytes */
    MLP_OPT_STRING, /* char[MLP_PATH_MAX]: a name (not a file), 0..
                       MLP_PATH_MAX - 1 bytes, may be empty */
    MLP_OPT_FLAG,   /* int, set to 1; takes no value on the command
                       line, 0/1 in a sweep grid */
} mlp_opt_type_t;

/* The range of a float option. */
typedef enum {
    MLP_FLOAT_POS,     /* > 0 */
    MLP_FLOAT_NONNEG,  /* >= 0 */
    MLP_FLOAT_UNIT,    /* [0, 1) */
} mlp_float_rule_t;

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
    MLP_OPT_REQUIRED = 1u << 7,    /* path: never empty */
};

typedef struct {
    const char *name;         /* long name, "weight-decay" */
    int letter;               /* short letter, 0: none */
    const char *alias;        /* another long name, NULL: none */
    const char *section;      /* --help section, "Model" */
    size_t offset;            /* offsetof(mlp_config_t, field) */
    mlp_opt_type_t type;
    unsigned long long lo, hi; /* whole numbers' range */
    mlp_float_rule_t rule;    /* floats' range */
    double def;               /* default value (a width for hidden, an
                                 mlp_act_t for act); paths and threads
                                 are set by mlp_config_defaults */
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
} mlp_option_t;

/* The float options whose range ends below FLT_MAX, declared beside the
 * table: a larger value would break a later use (--init-std: the draws
 * overflow a float).  mlp_options_check and mlp_options_range read it. */
typedef struct {
    const char *name;
    double max;
} mlp_float_max_t;
extern const mlp_float_max_t mlp_float_max[];
extern const size_t mlp_nfloat_max;

/* o's largest value: its mlp_float_max[] entry, else FLT_MAX. */
double mlp_options_float_max(const mlp_option_t *o);

extern const mlp_option_t mlp_options[];
extern const size_t mlp_noptions;

/* The option named `name` (long name; '_' reads as '-'); NULL if none. */
const mlp_option_t *mlp_options_find(const char *name);

/* An ENUM option's name of value v; NULL if none. */
const char *mlp_options_enum_name(const mlp_option_t *o, int v);
/* An ENUM option's value of `name`; -1 if none. */
int mlp_options_enum_parse(const mlp_option_t *o, const char *name);

/* "--name", static. */
const char *mlp_options_flag(const mlp_option_t *o);

/* The given bit of an option: 1 << its table index. */
uint64_t mlp_options_bit(const mlp_option_t *o);

/* Was the option called `name` given (cfg->given)?  0 for unknown names. */
int mlp_options_given(const mlp_config_t *cfg, const char *name);

/* o's field in cfg. */
void *mlp_options_field(const mlp_option_t *o, mlp_config_t *cfg);

/*
 * o's range in words, with its metavar, for --help and the README's
 * Limits table: "N in 1..1024", "N in 1..2^64-1 or all", "X > 0",
 * "0 <= P < 1",
 * "X in 0..1e+37"; "" for options whose values are names or files (the
 * help lists the names; --help's end gives the lengths).
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
 * Format o's value in cfg, the one formatter of every option's value: for
 * --help defaults, resume conflicts, sweep key values and the run id.
 * Floats with %g, or with %.9g (round-trips a float) when `exact`;
 * hidden "1024:512" or "none"; ZERO_ALL 0 "all"; ZERO_AUTO 0 "auto"; OFF
 * -1 "off" and 0 "auto"; a flag "1"/"0"; a path as it is.
 */
void mlp_options_format(const mlp_option_t *o, const mlp_config_t *cfg,
                        int exact, char *buf, size_t len);

/* Do a and b hold the same value of o? */
int mlp_options_equal(const mlp_option_t *o, const mlp_config_t *a,
                      const mlp_config_t *b);

/* Copy o's value from src to dst. */
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

/*
 * The cross-option rules, declared beside the table (options.c) and
 * checked in one place, mlp_config_check_rules:
 *   NEEDS      x applies only when y has one of `values` (ENUM names,
 *              '|'-separated), or, with values NULL, when y is set (not 0,
 *              not empty): "option '--beta1' needs --optimizer adam or
 *              adamw (this run's is sgd)";
 *   CONFLICTS  x may not be used with y set: "option '--data' conflicts
 *              with --train";
 *   AT_MOST    x's value <= y's (numbers);
 *   BELOW      x's value < y's.
 * A rule is about x in use: given on the command line (cfg->given), or
 * set to another value than its default (by code, or read from a
 * checkpoint: a value that does not apply is refused there too, never
 * ignored).  With xvalues, only when x has one of those values (ENUM
 * names, as `values`).
 */
typedef enum {
    MLP_RULE_NEEDS,
    MLP_RULE_CONFLICTS,
    MLP_RULE_AT_MOST,
    MLP_RULE_BELOW,
} mlp_rule_kind_t;

typedef struct {
    const char *x;        /* the option the rule is about */
    const char *xvalues;  /* NULL: any value in use; else x's values */
    mlp_rule_kind_t kind;
    const char *y;        /* the option it depends on */
    const char *values;   /* NEEDS: y's values; NULL: y set */
    const char *why;      /* appended after ": ", or NULL */
} mlp_option_rule_t;

extern const mlp_option_rule_t mlp_option_rules[];
extern const size_t mlp_noption_rules;

/*
 * Check every rule of mlp_option_rules[] on cfg: MLP_EUSAGE naming x,
 * what it needs (or conflicts with) and the value it met, for the first
 * broken one.  With --resume and `merged` 0 (the command line alone), a
 * rule that reads a checkpointed option the command line did not give
 * waits: the trainer checks again with merged 1 once the checkpoint's
 * options are in.  An x that came from the checkpoint is named as the
 * checkpoint's.
 */
int mlp_config_check_rules(const mlp_config_t *cfg, int merged);

/* o's rules in words for --help: "needs --optimizer adam or adamw",
 * "step needs --lr-step", "at most --epochs", "needs a CSV --train file";
 * "" when none. */
void mlp_options_rules_text(const mlp_option_t *o, char *buf, size_t len);

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
    const char *x;        /* the option */
    unsigned needs;       /* MLP_DATA_* it needs, all of them */
    const char *what;     /* what it needs, in words: "a CSV --train file" */
} mlp_data_rule_t;

extern const mlp_data_rule_t mlp_data_rules[];
extern const size_t mlp_ndata_rules;

int mlp_config_check_data(const mlp_config_t *cfg, unsigned has,
                          const char *train_what);

/* The table's range checks on a config filled by code, not by the
 * command line (MLP_EINVAL naming the option), then the rules
 * (mlp_config_check_rules, merged 0: MLP_EUSAGE). */
int mlp_config_validate(const mlp_config_t *cfg);

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
