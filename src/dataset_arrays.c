/*
 * dataset_arrays: a dataset over arrays in memory (see dataset.h,
 * mlp_dataset_from_arrays): the splits view the caller's features and
 * labels, checked as the file readers check theirs.
 *
 * Non-goals: converting dtypes or laying rows out (the caller hands
 * C-ordered uint8 or float32 rows), mapping labels to classes (the caller
 * hands class indices and, for names, the names in class order).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlptrain/dataset.h"
#include "mlptrain/error.h"
#include "mlptrain/text.h"
#include "mlptrain/transform.h"

/* Labels below the class count, real features finite. */
static int check_split(const mlp_dataset_arrays_t *a,
                       const mlp_array_split_t *s, const char *xn,
                       const char *yn)
{
    if (s->x == NULL || s->y == NULL)
        return mlp_error_set(MLP_EINVAL, "%s: no array given for %zu rows",
                             s->x == NULL ? xn : yn, s->n);
    for (size_t i = 0; i < s->n; i++)
        if (s->y[i] >= a->nclasses)
            return mlp_error_set(MLP_EINVAL, "%s: row %zu: class %u is not "
                                 "below the class count %zu", yn, i,
                                 (unsigned)s->y[i], a->nclasses);
    return a->real ? mlp_transform_check_finite(s->x, s->n, a->dim, 0, xn)
                   : 0;
}

static void view(mlp_split_t *s, const mlp_dataset_arrays_t *a,
                 const mlp_array_split_t *as)
{
    s->n = as->n;
    s->dim = a->dim;
    s->images = a->real ? NULL : as->x;
    s->features = a->real ? as->x : NULL;
    s->labels = as->y;
}

int mlp_dataset_from_arrays(const mlp_dataset_arrays_t *a,
                            mlp_dataset_t **out)
{
    const char *xn = a->x_name != NULL ? a->x_name : "the training array";
    const char *yn = a->y_name != NULL ? a->y_name : "the training labels";
    mlp_dataset_t *ds;
    char why[128];
    int rc;

    *out = NULL;
    if (a->dim < 1 || a->dim > MLP_TABLE_MAX_FEATURES)
        return mlp_error_set(MLP_EINVAL, "%s: %zu features per row; 1 to "
                             "%zu are taken", xn, a->dim,
                             MLP_TABLE_MAX_FEATURES);
    if ((a->rows != 0 || a->cols != 0) && a->rows * a->cols != a->dim)
        return mlp_error_set(MLP_EINVAL, "%s: images of %zux%zu are not "
                             "rows of %zu features", xn, a->rows, a->cols,
                             a->dim);
    if (a->nclasses < 2 || a->nclasses > MLP_DATASET_MAX_CLASSES)
        return mlp_error_set(MLP_EINVAL, "%s: %zu class%s: a classifier "
                             "needs at least 2 classes, and takes at most %d",
                             yn, a->nclasses, a->nclasses == 1 ? "" : "es",
                             MLP_DATASET_MAX_CLASSES);
    if (a->train.n == 0)
        return mlp_error_set(MLP_EINVAL, "%s: no training samples", xn);
    if ((rc = check_split(a, &a->train, xn, yn)) != 0 ||
        (a->test.n > 0 &&
         (rc = check_split(a, &a->test, "test X", "test y")) != 0))
        return rc;
    for (size_t k = 0; a->names != NULL && k < a->nclasses; k++) {
        if (mlp_text_class_name(a->names[k], why, sizeof(why)) != 0) {
            char shown[96];

            return mlp_error_set(MLP_EINVAL, "%s: the name of class %zu, "
                                 "'%s', is not a class name: %s", yn, k,
                                 mlp_text_escape(a->names[k], (size_t)-1,
                                                 shown, sizeof(shown)),
                                 why);
        }
        for (size_t j = 0; j < k; j++)
            if (strcmp(a->names[j], a->names[k]) == 0)
                return mlp_error_set(MLP_EINVAL, "%s: classes %zu and %zu "
                                     "have the same name '%s'", yn, j, k,
                                     a->names[k]);
    }
    if ((ds = calloc(1, sizeof(*ds))) == NULL)
        return mlp_error_set(MLP_ENOMEM, "cannot allocate a dataset");
    if (a->names != NULL) {
        if ((ds->class_names = malloc(a->nclasses *
                                      sizeof(*ds->class_names))) == NULL) {
            mlp_dataset_destroy(ds);
            return mlp_error_set(MLP_ENOMEM, "dataset: out of memory");
        }
        memcpy(ds->class_names, a->names,
               a->nclasses * sizeof(*ds->class_names));
    }
    view(&ds->train, a, &a->train);
    view(&ds->test, a, &a->test);
    ds->borrowed = 1;
    ds->nclasses = a->nclasses;
    ds->real = a->real != 0;
    ds->image = a->rows != 0;
    ds->rows = ds->image ? a->rows : 1;
    ds->cols = ds->image ? a->cols : a->dim;
    ds->train_total = a->train.n;
    ds->test_total = a->test.n;
    ds->format[0] = ds->format[1] = MLP_FORMAT_ARRAY;
    snprintf(ds->files[MLP_FILE_TRAIN_IMAGES].path,
             sizeof(ds->files[0].path), "%s", xn);
    snprintf(ds->files[MLP_FILE_TRAIN_LABELS].path,
             sizeof(ds->files[0].path), "%s", yn);
    if (a->test.n > 0) {
        snprintf(ds->files[MLP_FILE_TEST_IMAGES].path,
                 sizeof(ds->files[0].path), "test X");
        snprintf(ds->files[MLP_FILE_TEST_LABELS].path,
                 sizeof(ds->files[0].path), "test y");
    }
    *out = ds;
    return 0;
}
