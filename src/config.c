/*
 * config: defaults and validation of the run options (see config.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mlptrain/config.h"
#include "mlptrain/error.h"

int mlp_config_ncores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1 : n > MLP_MAX_THREADS ? MLP_MAX_THREADS : (int)n;
}

void mlp_config_defaults(mlp_config_t *cfg)
{
    const char *env = getenv("MLPTRAIN_DATA");

    memset(cfg, 0, sizeof(*cfg));
    cfg->nhidden = 1;
    cfg->hidden[0] = 256;
    cfg->act = MLP_ACT_RELU;
    cfg->init_std = 0.01f;
    cfg->lr = 0.1f;
    cfg->batch = 256;
    cfg->epochs = 10;
    cfg->seed = 1;
    snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s",
             env != NULL && env[0] != '\0' ? env : MLP_DEFAULT_DATA_DIR);
    cfg->workers = 4;
    cfg->threads = mlp_config_ncores();
}

int mlp_config_validate(const mlp_config_t *cfg)
{
    if (cfg->nhidden > MLP_MAX_HIDDEN)
        return mlp_error_set(MLP_EINVAL, "--hidden: at most %d layers",
                             MLP_MAX_HIDDEN);
    for (size_t i = 0; i < cfg->nhidden; i++)
        if (cfg->hidden[i] == 0)
            return mlp_error_set(MLP_EINVAL,
                                 "--hidden: layer %zu has width 0", i + 1);
    if (!(cfg->lr > 0.0f) || !isfinite(cfg->lr))
        return mlp_error_set(MLP_EINVAL, "--lr: must be a positive number");
    if (!(cfg->momentum >= 0.0f && cfg->momentum < 1.0f))
        return mlp_error_set(MLP_EINVAL, "--momentum: must be in [0, 1)");
    if (!(cfg->weight_decay >= 0.0f) || !isfinite(cfg->weight_decay))
        return mlp_error_set(MLP_EINVAL,
                             "--weight-decay: must be a number >= 0");
    if (!(cfg->init_std >= 0.0f) || !isfinite(cfg->init_std))
        return mlp_error_set(MLP_EINVAL, "--init-std: must be a number >= 0");
    if (cfg->batch == 0)
        return mlp_error_set(MLP_EINVAL, "--batch: must be at least 1");
    if (cfg->epochs == 0)
        return mlp_error_set(MLP_EINVAL, "--epochs: must be at least 1");
    if (cfg->workers > MLP_MAX_WORKERS)
        return mlp_error_set(MLP_EINVAL, "--workers: at most %d",
                             MLP_MAX_WORKERS);
    if (cfg->threads < 1 || cfg->threads > MLP_MAX_THREADS)
        return mlp_error_set(MLP_EINVAL, "--threads: must be 1..%d",
                             MLP_MAX_THREADS);
    if (cfg->data_dir[0] == '\0')
        return mlp_error_set(MLP_EINVAL, "--data: empty directory name");
    return 0;
}
