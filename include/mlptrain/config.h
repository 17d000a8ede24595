/*
 * config: every option of a run in one plain struct, its defaults and its
 * validation.  The command line (cli.c) fills it; the trainer reads it.
 *
 * Non-goals: parsing (cli.c), knowing the data (checked by the trainer once
 * the files are read).  Thread-safe: plain values.
 */
#ifndef MLPTRAIN_CONFIG_H
#define MLPTRAIN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "mlptrain/net.h"

#define MLP_PATH_MAX 4096
#define MLP_MAX_WORKERS 256
#define MLP_MAX_THREADS 1024

typedef struct {
    /* model */
    size_t nhidden;                /* hidden layers, 0..MLP_MAX_HIDDEN */
    size_t hidden[MLP_MAX_HIDDEN]; /* their widths */
    mlp_act_t act;
    float init_std;                /* weights ~ N(0, init_std^2) */
    int plain_weights;             /* --plain-weights: no blocked layout */
    /* training */
    float lr;
    float momentum;
    float weight_decay;
    size_t batch;
    unsigned epochs;
    uint64_t seed;
    float max_loss;                /* a mean batch loss above it is
                                      divergence; 0: 100 x ln(classes);
                                      < 0: only a non-finite loss */
    /* data */
    char data_dir[MLP_PATH_MAX];
    size_t limit_train;            /* 0: all */
    size_t limit_test;             /* 0: all */
    /* machine */
    unsigned workers;              /* loader threads; 0: trainer decodes */
    int threads;                   /* OpenMP compute threads */
    size_t slots;                  /* ring slots; 0: automatic */
    /* output */
    int quiet;
    char log_path[MLP_PATH_MAX];   /* "" : no JSON log */
    char plot_path[MLP_PATH_MAX];  /* --plot: curves PNG redrawn after
                                      every epoch; "" : none */
    /* checkpoints (trainer.h says how --resume uses them) */
    char save_path[MLP_PATH_MAX];  /* --save: "" none */
    char resume_path[MLP_PATH_MAX];/* --resume: "" none */
    unsigned given;                /* MLP_GIVEN_* bits: options set on the
                                      command line, not by default */
    /* Test hook: behave as if interrupted (SIGINT) once this many training
     * batches of this run are done; 0: never.  Not an option. */
    uint64_t interrupt_after;
} mlp_config_t;

/* Bits of mlp_config_t.given: the options a checkpoint also records. */
enum {
    MLP_GIVEN_HIDDEN = 1u << 0,
    MLP_GIVEN_ACT = 1u << 1,
    MLP_GIVEN_INIT_STD = 1u << 2,
    MLP_GIVEN_LR = 1u << 3,
    MLP_GIVEN_MOMENTUM = 1u << 4,
    MLP_GIVEN_WD = 1u << 5,
    MLP_GIVEN_BATCH = 1u << 6,
    MLP_GIVEN_SEED = 1u << 7,
    MLP_GIVEN_LIMIT_TRAIN = 1u << 8,
};

/*
 * The defaults: the reference recipe (784-256-10 ReLU shape comes from the
 * data; hidden 256, lr 0.1, batch 256, 10 epochs, init std 0.01), 4 loader
 * workers, as many compute threads as online cores, data from
 * $MLPTRAIN_DATA or the configured default directory.
 */
void mlp_config_defaults(mlp_config_t *cfg);

/* Range checks that need no data; MLP_EINVAL naming the option. */
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
