/*
 * datacfg: the dataset the options name, and the loader's options over it
 * (see datacfg.h).
 * Non-goals: reading files (dataset.c, dataset_files.c).
 */
#include <string.h>

#include "mlptrain/datacfg.h"
#include "mlptrain/error.h"

/* "" reads as NULL. */
static const char *opt_path(const char *p)
{
    return p[0] != '\0' ? p : NULL;
}

int mlp_dataset_from_config(const mlp_config_t *cfg, size_t nclasses,
                            const char (*names)[MLP_CLASS_NAME_MAX],
                            mlp_dataset_t **ds)
{
    mlp_dataset_files_t f;

    /* Which files go together is the options' rules' (options.c: --test
     * and --train need each other, the labels files their data file),
     * checked before (mlp_config_validate). */
    if (cfg->train_path[0] == '\0' && (nclasses == 0 ||
                                        cfg->test_path[0] == '\0'))
        return mlp_dataset_load(cfg->data_dir, cfg->limit_train,
                                cfg->limit_test, ds);
    if (cfg->test_path[0] == '\0')
        return mlp_error_set(MLP_EINVAL, "datacfg: a --train file without "
                             "--test");
    memset(&f, 0, sizeof(f));
    f.train = nclasses ? NULL : cfg->train_path;
    f.nclasses = nclasses;
    f.names = names;
    f.train_labels = opt_path(cfg->train_labels_path);
    f.test = cfg->test_path;
    f.test_labels = opt_path(cfg->test_labels_path);
    f.csv.header = (mlp_header_t)cfg->header;
    f.csv.label = cfg->label_col;
    f.limit_train = cfg->limit_train;
    f.limit_test = cfg->limit_test;
    return mlp_dataset_load_files(&f, ds);
}

void mlp_dataset_loader_opts(const mlp_config_t *cfg, const mlp_dataset_t *ds,
                             mlp_loader_opts_t *lo)
{
    memset(lo, 0, sizeof(*lo));
    lo->train = &ds->train;
    lo->val = ds->val.n > 0 ? &ds->val : NULL;
    lo->test = ds->test.n > 0 ? &ds->test : NULL;
    lo->batch = cfg->batch;
    lo->first_epoch = 1;
    lo->epochs = cfg->epochs;
    lo->seed = cfg->seed;
    lo->shuffle = !cfg->no_shuffle;
    lo->workers = cfg->workers;
    lo->slots = cfg->slots;
    lo->augment = cfg->augment;
    lo->rows = ds->rows;
    lo->cols = ds->cols;
    lo->micro = cfg->micro;
    lo->nranks = 1;
}
