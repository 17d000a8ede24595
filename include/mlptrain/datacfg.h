/*
 * datacfg: the dataset the options name: --data DIR (the four IDX files),
 * or --train FILE --test FILE (any format, dataset.h) with their labels,
 * --label, --header and the limits.
 *
 * For a saved model (eval, predict) pass its class count and names
 * (nclasses > 0): then --test FILE alone is enough (the model's classes
 * stand in for the training file's), and --train is ignored.
 * The options that go together are the rules' (options.c), checked
 * before (mlp_config_validate); a config that breaks them is MLP_EINVAL.
 * Errors: that, and what mlp_dataset_load / mlp_dataset_load_files
 * return.
 */
#ifndef MLPTRAIN_DATACFG_H
#define MLPTRAIN_DATACFG_H

#include "mlptrain/dataset.h"
#include "mlptrain/options.h"

int mlp_dataset_from_config(const mlp_config_t *cfg, size_t nclasses,
                            const char (*names)[MLP_CLASS_NAME_MAX],
                            mlp_dataset_t **ds);

#endif
