/*
 * datacfg: the dataset the options name -- --data DIR (shorthand for its
 * four IDX files, dataset.h), or --train FILE --test FILE (any format)
 * with their labels, --label, --header and the limits -- and the loader's
 * options a run of those options gets over it.
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
#include "mlptrain/loader.h"
#include "mlptrain/options.h"

int mlp_dataset_from_config(const mlp_config_t *cfg, size_t nclasses,
                            const char (*names)[MLP_CLASS_NAME_MAX],
                            mlp_dataset_t **ds);

/*
 * The loader's options (loader.h) for a run of cfg over ds, the one place
 * they are made from the options: ds's splits (val and test when they
 * have samples), the image shape, and cfg's batch, epochs 1 to
 * cfg->epochs, seed (shuffled), workers, slots, augmentation and
 * micro-batch rows, one rank.  What belongs to a run rather than to its
 * options -- a resumed run's first epoch, a batch cut to the largest
 * split, the slots bounded by the batches, the MPI rank -- the caller
 * sets on top.  Cannot fail: mlp_loader_create checks the result.
 */
void mlp_dataset_loader_opts(const mlp_config_t *cfg, const mlp_dataset_t *ds,
                             mlp_loader_opts_t *lo);

#endif
