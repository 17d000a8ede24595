/*
 * config: defaults and validation of the run options (see config.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "mlptrain/config.h"
#include "mlptrain/error.h"

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
