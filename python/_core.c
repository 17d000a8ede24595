/*
 * mlptrain._core: the CPython extension under `import mlptrain`, a thin
 * layer over the library (python/mlptrain/_classifier.py is the
 * estimator; this file only moves arrays, options and statuses across).
 *
 *   train(options, X, y, nclasses, names, rows, cols, model, hook, sigint)
 *       a run in memory (trainer.h, mlp_train_mem) over X and y, which
 *       are used in place (the buffer protocol: C-ordered uint8 or float32
 *       rows, no copy); the GIL is released while it runs, and taken back
 *       only for the hook between epochs.  Returns (status, message, model,
 *       best, history, interrupted): the model is kept on success and on an
 *       interrupt, so the caller stores it before raising anything.
 *   Model(bytes, name, threads, precision)
 *       a model ready to predict (model.h); Model.predict(X, proba, cls)
 *       fills the caller's arrays, GIL released, one call at a time (a lock
 *       per model: a net is used by one thread at a time).
 *   info(bytes), load(path), save(bytes, path), has_option(name),
 *   option_names(name), class_name(text), version()
 *       a checkpoint's shape, options and parameters; the files through the
 *       library's one door (checkpoint_file.c: bounded reads, atomic
 *       writes); the option table (an option's named values); text.h's
 *       class-name rule; the versions.
 *
 * Options are set by name through the table's own parser (set_options),
 * the one place this module touches option code.
 *
 * Ctrl-C: with sigint true (the caller is Python's main thread and Python
 * handles SIGINT), SIGINT sets the run's stop flag for the duration of
 * the run (the batch in progress finishes, the model is kept); the
 * caller gets interrupted = True and calls raise_sigint() once it has
 * stored the model, which hands the signal to Python's own handler
 * (KeyboardInterrupt by default).  Python's handler is put back as the
 * run ends.
 *
 * Errors: a status becomes an exception by its kind (raise_status):
 * MemoryError, OSError for files, RuntimeError for oneDNN and threads,
 * ValueError for the rest (bad parameters, data, models), with the
 * library's message.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "git-version.h"
#include "mlptrain/checkpoint.h"
#include "mlptrain/cli.h"
#include "mlptrain/dataset.h"
#include "mlptrain/error.h"
#include "mlptrain/eval.h"
#include "mlptrain/model.h"
#include "mlptrain/net.h"
#include "mlptrain/options.h"
#include "mlptrain/text.h"
#include "mlptrain/trainer.h"

/* ---- statuses ------------------------------------------------------- */

static PyObject *status_type(int rc)
{
    switch (rc) {
    case MLP_ENOMEM:
        return PyExc_MemoryError;
    case MLP_EIO:
    case MLP_EBUSY:
        return PyExc_OSError;
    case MLP_EDNNL:
    case MLP_ETHREAD:
    case MLP_ENOSYS:
        return PyExc_RuntimeError;
    default:
        return PyExc_ValueError;
    }
}

/* Raise the exception of status rc with this thread's message; NULL. */
static PyObject *raise_status(int rc)
{
    PyErr_SetString(status_type(rc), mlp_error_message());
    return NULL;
}

/* ---- buffers -------------------------------------------------------- */

/*
 * A C-contiguous buffer of `ndim` dimensions whose items are `code`
 * ('B' uint8, 'f' float32, 'd' float64, 'i' int32), writable when asked.
 * The Python side hands arrays in these layouts (it converts others once).
 */
static int get_buffer(PyObject *obj, Py_buffer *b, int ndim, char code,
                      int writable, const char *what)
{
    size_t flen;
    char last;

    if (PyObject_GetBuffer(obj, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT |
                                       (writable ? PyBUF_WRITABLE : 0)) != 0)
        return -1;
    flen = b->format != NULL ? strlen(b->format) : 0;
    last = flen > 0 ? b->format[flen - 1] : 'B';
    if (b->ndim != ndim || last != code ||
        (flen == 2 && b->format[0] != '<' && b->format[0] != '=' &&
         b->format[0] != '@') ||
        flen > 2) {
        PyErr_Format(PyExc_TypeError, "%s: a C-ordered array of %d "
                     "dimensions of '%c' was expected, not '%s' of %d",
                     what, ndim, code, b->format ? b->format : "B",
                     b->ndim);
        PyBuffer_Release(b);
        return -1;
    }
    return 0;
}

/* X's rows: float32 (real features) or else uint8 (pixels), as
 * get_buffer takes them; *real says which. */
static int get_rows(PyObject *obj, Py_buffer *b, int *real)
{
    if (PyObject_GetBuffer(obj, b, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0)
        return -1;
    *real = b->itemsize == 4;
    PyBuffer_Release(b);
    return get_buffer(obj, b, 2, *real ? 'f' : 'B', 0, "X");
}

/* ---- options -------------------------------------------------------- */

/*
 * cfg: the defaults, then each (parameter, option, value) of `list` set
 * by the option's name through the table's parser, its given bit set, as
 * the command line and a checkpoint's options text set them.  A bad name
 * or value is a ValueError naming the Python parameter and the option.
 */
static int set_options(PyObject *list, mlp_config_t *cfg)
{
    Py_ssize_t n;

    mlp_config_defaults(cfg);
    cfg->quiet = 1;
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "options: a list of (parameter, "
                        "option, value) tuples");
        return -1;
    }
    n = PyList_GET_SIZE(list);
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *param, *name, *value;
        const mlp_option_t *o;

        if (!PyArg_ParseTuple(PyList_GET_ITEM(list, i), "sss", &param,
                              &name, &value))
            return -1;
        if ((o = mlp_options_find(name)) == NULL) {
            PyErr_Format(PyExc_ValueError, "parameter '%s': mlptrain has no "
                         "option '--%s'", param, name);
            return -1;
        }
        if (mlp_options_parse(o, cfg, value) < 0) {
            PyErr_Format(PyExc_ValueError, "parameter '%s': %s", param,
                         mlp_error_message());
            return -1;
        }
        cfg->given |= mlp_options_bit(o);
    }
    /* the defaults that depend on others (AdamW's decay); the rules
     * between options are the trainer's (mlp_rules_check) */
    mlp_config_resolve(cfg);
    return 0;
}

static PyObject *has_option(PyObject *self, PyObject *args)
{
    const char *name;

    if (!PyArg_ParseTuple(args, "s", &name))
        return NULL;
    return PyBool_FromLong(mlp_options_find(name) != NULL);
}

/* option_names(name): the values of a run option that takes a name
 * (--optimizer: ('sgd', 'adam', 'adamw')), from the table; ValueError for
 * another option. */
static PyObject *option_names(PyObject *self, PyObject *args)
{
    const char *name;
    const mlp_option_t *o;
    PyObject *t;
    Py_ssize_t n = 0;

    if (!PyArg_ParseTuple(args, "s", &name))
        return NULL;
    if ((o = mlp_options_find(name)) == NULL || o->type != MLP_OPT_ENUM ||
        o->names == NULL)
        return PyErr_Format(PyExc_ValueError, "mlptrain has no option "
                            "'--%s' of named values", name);
    while (o->names[n] != NULL)
        n++;
    if ((t = PyTuple_New(n)) == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyUnicode_FromString(o->names[i]);

        if (v == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

/* class_name(text): None when text is a class name (text.h's one rule),
 * else why not. */
static PyObject *class_name(PyObject *self, PyObject *args)
{
    const char *text;
    Py_ssize_t len;
    char why[256];

    if (!PyArg_ParseTuple(args, "s#", &text, &len))
        return NULL;
    if ((size_t)len != strlen(text))
        return PyUnicode_FromString("it holds a NUL byte");
    if (mlp_text_class_name(text, why, sizeof(why)) != 0)
        return PyUnicode_FromString(why);
    Py_RETURN_NONE;
}

/* ---- training ------------------------------------------------------- */

/* SIGINT during a run: the run's stop flag (main thread only). */
static volatile sig_atomic_t *volatile sigint_flag;
static volatile sig_atomic_t sigint_seen;

static void on_sigint(int sig)
{
    (void)sig;
    sigint_seen = 1;
    if (sigint_flag != NULL)
        *sigint_flag = 1;
}

typedef struct {
    PyThreadState *ts;         /* saved while the GIL is released */
    PyObject *hook;            /* callable or None */
    PyObject *best;            /* bytes the hook asked to keep, or NULL */
    int failed;                /* the hook raised: its exception pending */
} train_ctx_t;

/* The hook's flags: go on, stop, keep this epoch's model. */
enum { HOOK_STOP = 1, HOOK_KEEP = 2 };

static PyObject *epoch_dict(const mlp_epoch_stats_t *st)
{
    return Py_BuildValue(
        "{s:I,s:d,s:d,s:O,s:d,s:d,s:d,s:d,s:d,s:d}", "epoch", st->epoch,
        "train_loss", st->train_loss, "train_acc", st->train_acc, "has_val",
        st->has_val ? Py_True : Py_False, "val_loss", st->val_loss,
        "val_acc", st->val_acc, "lr", st->lr, "seconds", st->seconds,
        "train_seconds", st->train_seconds, "samples_per_s",
        st->samples_per_s);
}

/* epoch_done: the Python hook, with the GIL. */
static int call_hook(void *arg, mlp_train_run_t *run,
                     const mlp_epoch_stats_t *st)
{
    train_ctx_t *c = arg;
    PyObject *d, *r;
    long flags = 0;
    int rc = 0;

    if (c->hook == Py_None)
        return 0;
    PyEval_RestoreThread(c->ts);
    d = epoch_dict(st);
    r = d != NULL ? PyObject_CallOneArg(c->hook, d) : NULL;
    Py_XDECREF(d);
    if (r != NULL) {
        flags = PyLong_AsLong(r);
        Py_DECREF(r);
    }
    if (PyErr_Occurred()) {
        c->failed = 1;
        rc = mlp_error_set(MLP_EABORTED, "stopped by an exception in the "
                           "epoch hook");
    } else if (flags & HOOK_KEEP) {
        uint8_t *buf;
        size_t len;

        Py_BEGIN_ALLOW_THREADS
        rc = mlp_train_run_model(run, &buf, &len);
        Py_END_ALLOW_THREADS
        if (rc == 0) {
            Py_XDECREF(c->best);
            c->best = PyBytes_FromStringAndSize((const char *)buf,
                                                (Py_ssize_t)len);
            free(buf);
            if (c->best == NULL) {
                c->failed = 1;
                rc = mlp_error_set(MLP_ENOMEM, "out of memory");
            }
        }
    }
    c->ts = PyEval_SaveThread();
    if (rc < 0)
        return rc;
    return flags & HOOK_STOP ? 1 : 0;
}

static PyObject *history_list(const mlp_train_result_t *res)
{
    PyObject *l = PyList_New((Py_ssize_t)res->nhistory);

    for (size_t i = 0; l != NULL && i < res->nhistory; i++) {
        PyObject *d = epoch_dict(&res->history[i]);

        if (d == NULL) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, (Py_ssize_t)i, d);
    }
    return l;
}

/* The class names, (nclasses) of MLP_CLASS_NAME_MAX bytes; NULL: none. */
static int get_names(PyObject *names, size_t nclasses,
                     char (**out)[MLP_CLASS_NAME_MAX])
{
    *out = NULL;
    if (names == Py_None)
        return 0;
    if (!PyList_Check(names) ||
        (size_t)PyList_GET_SIZE(names) != nclasses) {
        PyErr_SetString(PyExc_ValueError, "names: a list of one name per "
                        "class");
        return -1;
    }
    if ((*out = calloc(nclasses, MLP_CLASS_NAME_MAX)) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t k = 0; k < nclasses; k++) {
        Py_ssize_t len;
        const char *s = PyUnicode_AsUTF8AndSize(
            PyList_GET_ITEM(names, (Py_ssize_t)k), &len);

        if (s == NULL)
            return -1;
        if (len >= MLP_CLASS_NAME_MAX || (size_t)len != strlen(s)) {
            PyErr_Format(PyExc_ValueError, "class name %zu is not a class "
                         "name: 1 to %d bytes of text", k,
                         MLP_CLASS_NAME_MAX - 1);
            return -1;
        }
        memcpy((*out)[k], s, (size_t)len);
    }
    return 0;
}

static PyObject *train(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"options", "X", "y", "nclasses", "names",
                             "rows", "cols", "model", "hook", "sigint",
                             NULL};
    PyObject *options, *xo, *yo, *names, *model, *hook, *ret = NULL;
    Py_ssize_t nclasses, rows, cols;
    int sigint;
    Py_buffer xb = {0}, yb = {0}, mb = {0};
    mlp_config_t *cfg = NULL;
    mlp_dataset_arrays_t data;
    mlp_train_mem_t m;
    mlp_train_result_t res;
    train_ctx_t ctx = {NULL, NULL, NULL, 0};
    char (*nm)[MLP_CLASS_NAME_MAX] = NULL;
    volatile sig_atomic_t stop = 0;
    struct sigaction sa, old;
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc, caught = 0, real;

    memset(&res, 0, sizeof(res));
    if (!PyArg_ParseTupleAndKeywords(args, kw, "OOOnOnnOOp", kwlist,
                                     &options, &xo, &yo, &nclasses, &names,
                                     &rows, &cols, &model, &hook, &sigint))
        return NULL;
    if ((cfg = malloc(sizeof(*cfg))) == NULL)
        return PyErr_NoMemory();
    if (set_options(options, cfg) < 0)
        goto out;
    if (get_rows(xo, &xb, &real) < 0 ||
        get_buffer(yo, &yb, 1, 'B', 0, "y") < 0)
        goto out;
    if (yb.shape[0] != xb.shape[0]) {
        PyErr_Format(PyExc_ValueError, "X has %zd rows, y %zd", xb.shape[0],
                     yb.shape[0]);
        goto out;
    }
    if (nclasses < 0 || rows < 0 || cols < 0) {
        PyErr_SetString(PyExc_ValueError, "negative count");
        goto out;
    }
    if (get_names(names, (size_t)nclasses, &nm) < 0)
        goto out;
    if (model != Py_None &&
        PyObject_GetBuffer(model, &mb, PyBUF_SIMPLE) != 0)
        goto out;
    memset(&data, 0, sizeof(data));
    data.train.x = xb.buf;
    data.train.y = yb.buf;
    data.train.n = (size_t)xb.shape[0];
    data.dim = (size_t)xb.shape[1];
    data.rows = (size_t)rows;
    data.cols = (size_t)cols;
    data.real = real;
    data.nclasses = (size_t)nclasses;
    data.names = (const char(*)[MLP_CLASS_NAME_MAX])nm;
    data.x_name = "X";
    data.y_name = "y";
    memset(&m, 0, sizeof(m));
    m.data = &data;
    m.model = model != Py_None ? mb.buf : NULL;
    m.model_len = model != Py_None ? (size_t)mb.len : 0;
    m.model_name = "the fitted model";
    m.epoch_done = call_hook;
    m.arg = &ctx;
    m.stop = &stop;
    ctx.hook = hook;
    /* Ctrl-C stops the run at a batch, when Python would have handled it
     * (its handler is installed: not SIG_IGN or SIG_DFL). */
    if (sigint && sigaction(SIGINT, NULL, &old) == 0 &&
        old.sa_handler != SIG_IGN && old.sa_handler != SIG_DFL &&
        !(old.sa_flags & SA_SIGINFO)) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        sigint_seen = 0;
        sigint_flag = &stop;
        caught = sigaction(SIGINT, &sa, NULL) == 0;
    }
    ctx.ts = PyEval_SaveThread();
    rc = mlp_train_mem(cfg, &m, NULL, NULL, &res, &out, &out_len);
    PyEval_RestoreThread(ctx.ts);
    if (caught) {
        sigaction(SIGINT, &old, NULL);
        sigint_flag = NULL;
    }
    if (ctx.failed) /* the hook's exception stands */
        goto out;
    {
        PyObject *mo = out != NULL
                           ? PyBytes_FromStringAndSize((const char *)out,
                                                       (Py_ssize_t)out_len)
                           : (Py_INCREF(Py_None), Py_None);
        PyObject *h = history_list(&res);
        PyObject *bo = ctx.best != NULL ? ctx.best
                                        : (Py_INCREF(Py_None), Py_None);

        ctx.best = NULL; /* bo's now */
        if (mo != NULL && h != NULL)
            ret = Py_BuildValue("(isOOOOI)", rc,
                                rc < 0 ? mlp_error_message() : "", mo, bo, h,
                                caught && sigint_seen ? Py_True : Py_False,
                                res.stopped);
        Py_XDECREF(mo);
        Py_XDECREF(h);
        Py_DECREF(bo);
    }
out:
    Py_XDECREF(ctx.best);
    mlp_train_result_free(&res);
    free(out);
    free(nm);
    free(cfg);
    if (xb.obj != NULL)
        PyBuffer_Release(&xb);
    if (yb.obj != NULL)
        PyBuffer_Release(&yb);
    if (mb.obj != NULL)
        PyBuffer_Release(&mb);
    return ret;
}

/* Hand the SIGINT a run caught to Python's handler, now. */
static PyObject *raise_sigint(PyObject *self, PyObject *unused)
{
    if (PyErr_SetInterruptEx(SIGINT) != 0 || PyErr_CheckSignals() != 0)
        return NULL;
    Py_RETURN_NONE;
}

/* ---- checkpoints ---------------------------------------------------- */

static int parse_bytes(PyObject *obj, const char *name, mlp_checkpoint_t *ck)
{
    Py_buffer b;
    int rc;

    if (PyObject_GetBuffer(obj, &b, PyBUF_SIMPLE) != 0)
        return -1;
    rc = mlp_checkpoint_parse(b.buf, (size_t)b.len, name, ck);
    PyBuffer_Release(&b);
    if (rc < 0) {
        raise_status(rc);
        return -1;
    }
    return 0;
}

/*
 * A checkpoint's shape, run state, options and parameters, for the
 * estimator's attributes and parameters: a dict.  "options": every
 * checkpointed option of the table as (name, value, is_default), values
 * in the table's exact format.
 */
static PyObject *info(PyObject *self, PyObject *args)
{
    PyObject *obj, *d = NULL, *hidden = NULL, *names = NULL, *opts = NULL;
    PyObject *params = NULL, *shift = NULL, *scale = NULL;
    const char *name;
    mlp_checkpoint_t ck;
    mlp_config_t *cfg = NULL, *def = NULL;
    int rc;

    if (!PyArg_ParseTuple(args, "Os", &obj, &name))
        return NULL;
    memset(&ck, 0, sizeof(ck));
    if (parse_bytes(obj, name, &ck) < 0)
        return NULL;
    if ((cfg = malloc(sizeof(*cfg))) == NULL ||
        (def = malloc(sizeof(*def))) == NULL) {
        PyErr_NoMemory();
        goto out;
    }
    if ((rc = mlp_train_checkpoint_config(&ck, name, cfg)) < 0) {
        raise_status(rc);
        goto out;
    }
    mlp_config_defaults(def);
    if ((hidden = PyTuple_New((Py_ssize_t)ck.nhidden)) == NULL ||
        (opts = PyList_New(0)) == NULL)
        goto out;
    for (size_t l = 0; l < ck.nhidden; l++)
        PyTuple_SET_ITEM(hidden, (Py_ssize_t)l,
                         PyLong_FromSize_t(ck.hidden[l]));
    for (size_t i = 0; i < MLP_NOPTIONS; i++) {
        const mlp_option_t *o = &mlp_options[i];
        char v[MLP_PATH_MAX];
        PyObject *t;

        if (!(o->flags & MLP_OPT_CKPT))
            continue;
        mlp_options_format(o, cfg, 1, v, sizeof(v));
        t = Py_BuildValue("(ssO)", o->name, v,
                          mlp_options_equal(o, cfg, def) ? Py_True
                                                         : Py_False);
        if (t == NULL || PyList_Append(opts, t) != 0) {
            Py_XDECREF(t);
            goto out;
        }
        Py_DECREF(t);
    }
    if (ck.nnames > 0) {
        if ((names = PyList_New((Py_ssize_t)ck.nnames)) == NULL)
            goto out;
        for (size_t k = 0; k < ck.nnames; k++)
            PyList_SET_ITEM(names, (Py_ssize_t)k,
                            PyUnicode_FromString(ck.class_names[k]));
    } else {
        names = (Py_INCREF(Py_None), Py_None);
    }
    params = PyBytes_FromStringAndSize((const char *)ck.params,
                                       (Py_ssize_t)(ck.nparams *
                                                    sizeof(float)));
    if (ck.shift != NULL) {
        shift = PyBytes_FromStringAndSize((const char *)ck.shift,
                                          (Py_ssize_t)(ck.in * sizeof(float)));
        scale = PyBytes_FromStringAndSize((const char *)ck.scale,
                                          (Py_ssize_t)(ck.in * sizeof(float)));
    } else {
        shift = (Py_INCREF(Py_None), Py_None);
        scale = (Py_INCREF(Py_None), Py_None);
    }
    if (params == NULL || shift == NULL || scale == NULL)
        goto out;
    d = Py_BuildValue(
        "{s:n,s:n,s:n,s:n,s:O,s:s,s:I,s:n,s:n,s:K,s:K,s:I,s:d,s:d,s:I,"
        "s:O,s:O,s:O,s:O,s:O,s:I}",
        "in", (Py_ssize_t)ck.in, "out", (Py_ssize_t)ck.out, "rows",
        (Py_ssize_t)ck.rows, "cols", (Py_ssize_t)ck.cols, "hidden", hidden,
        "act", mlp_act_name(ck.act), "epoch", ck.epoch, "batches_done",
        (Py_ssize_t)ck.batches_done, "ntrain", (Py_ssize_t)ck.ntrain,
        "seed", (unsigned long long)ck.seed, "opt_steps",
        (unsigned long long)ck.opt_steps, "best_epoch", ck.best_epoch,
        "best_test_acc", ck.best_test_acc, "final_test_acc",
        ck.final_test_acc, "input_kind", ck.input_kind, "names", names,
        "options", opts, "params", params, "shift", shift, "scale", scale,
        "version", ck.version);
out:
    Py_XDECREF(hidden);
    Py_XDECREF(names);
    Py_XDECREF(opts);
    Py_XDECREF(params);
    Py_XDECREF(shift);
    Py_XDECREF(scale);
    mlp_checkpoint_free(&ck);
    free(cfg);
    free(def);
    return d;
}

/* A checkpoint file's bytes (read through the library's door). */
static PyObject *load(PyObject *self, PyObject *args)
{
    const char *path;
    mlp_checkpoint_t ck;
    uint8_t *buf = NULL;
    size_t len = 0;
    PyObject *r;
    int rc;

    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    memset(&ck, 0, sizeof(ck));
    Py_BEGIN_ALLOW_THREADS
    rc = mlp_checkpoint_load(path, &ck);
    if (rc == 0)
        rc = mlp_checkpoint_encode(&ck, &buf, &len);
    mlp_checkpoint_free(&ck);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        return raise_status(rc);
    r = PyBytes_FromStringAndSize((const char *)buf, (Py_ssize_t)len);
    free(buf);
    return r;
}

/* Write checkpoint bytes to path, atomically (checkpoint.h). */
static PyObject *save(PyObject *self, PyObject *args)
{
    PyObject *obj;
    const char *path;
    mlp_checkpoint_t ck;
    int rc;

    if (!PyArg_ParseTuple(args, "Os", &obj, &path))
        return NULL;
    memset(&ck, 0, sizeof(ck));
    if (parse_bytes(obj, "the model", &ck) < 0)
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    rc = mlp_checkpoint_check_writable(path);
    if (rc == 0)
        rc = mlp_checkpoint_save(path, &ck);
    Py_END_ALLOW_THREADS
    mlp_checkpoint_free(&ck);
    if (rc < 0)
        return raise_status(rc);
    Py_RETURN_NONE;
}

/* The exception class of a status (train returns statuses). */
static PyObject *error_type(PyObject *self, PyObject *args)
{
    int rc;
    PyObject *t;

    if (!PyArg_ParseTuple(args, "i", &rc))
        return NULL;
    t = status_type(rc);
    Py_INCREF(t);
    return t;
}

static PyObject *version(PyObject *self, PyObject *unused)
{
    return Py_BuildValue("{s:s,s:s,s:s,s:s}", "mlptrain", PACKAGE_VERSION,
                         "git", MLP_GIT_HASH, "onednn",
                         mlp_net_dnnl_version(), "isa", mlp_net_isa());
}

static PyObject *ncores(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(mlp_config_ncores());
}

/* ---- Model ---------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    mlp_model_t *m;
    PyThread_type_lock lock;
    Py_ssize_t in, out;
    int real;            /* the model takes real features (else bytes) */
} ModelObject;

static void Model_dealloc(ModelObject *self)
{
    mlp_model_destroy(self->m);
    if (self->lock != NULL)
        PyThread_free_lock(self->lock);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Model_init(ModelObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"model", "name", "threads", "precision", NULL};
    PyObject *obj;
    const char *name = "the model", *prec = NULL;
    int threads = 0, precision = MLP_EVAL_PRECISION_MODEL, rc;
    Py_buffer b;
    mlp_model_t *m = NULL;

    if (!PyArg_ParseTupleAndKeywords(args, kw, "O|siz", kwlist, &obj, &name,
                                     &threads, &prec))
        return -1;
    /* None: the model's own (eval.h); else a name of --precision's */
    if (prec != NULL &&
        (precision = mlp_options_enum_parse(MLP_O(PRECISION), prec)) < 0) {
        PyErr_Format(PyExc_ValueError, "precision '%s': not one of "
                     "--precision's values", prec);
        return -1;
    }
    if (self->m != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Model already made");
        return -1;
    }
    if (PyObject_GetBuffer(obj, &b, PyBUF_SIMPLE) != 0)
        return -1;
    Py_BEGIN_ALLOW_THREADS
    rc = mlp_model_open(b.buf, (size_t)b.len, name, threads, precision,
                        &m);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&b);
    if (rc < 0) {
        raise_status(rc);
        return -1;
    }
    if ((self->lock = PyThread_allocate_lock()) == NULL) {
        mlp_model_destroy(m);
        PyErr_NoMemory();
        return -1;
    }
    self->m = m;
    self->in = (Py_ssize_t)mlp_model_checkpoint(m)->in;
    self->out = (Py_ssize_t)mlp_model_checkpoint(m)->out;
    self->real = mlp_model_checkpoint(m)->input_kind != 0;
    return 0;
}

/*
 * predict(X, proba, cls): X (n, in) uint8 or float32; proba (n, out)
 * float64 and cls (n,) int32 filled, either may be None.
 */
static PyObject *Model_predict(ModelObject *self, PyObject *args)
{
    PyObject *xo, *po, *co, *ret = NULL;
    Py_buffer xb = {0}, pb = {0}, cb = {0};
    int rc, real;
    size_t n;

    if (self->m == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Model not made");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "OOO", &xo, &po, &co))
        return NULL;
    if (get_rows(xo, &xb, &real) < 0)
        return NULL;
    n = (size_t)xb.shape[0];
    if (xb.shape[1] != self->in) {
        PyErr_Format(PyExc_ValueError, "X has %zd features per row; the "
                     "model takes %zd", xb.shape[1], self->in);
        goto out;
    }
    if (po != Py_None &&
        (get_buffer(po, &pb, 2, 'd', 1, "proba") < 0 ||
         (size_t)pb.shape[0] != n || pb.shape[1] != self->out)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "proba: (n, classes)");
        goto out;
    }
    if (co != Py_None && (get_buffer(co, &cb, 1, 'i', 1, "cls") < 0 ||
                          (size_t)cb.shape[0] != n)) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "cls: (n,)");
        goto out;
    }
    Py_BEGIN_ALLOW_THREADS
    PyThread_acquire_lock(self->lock, WAIT_LOCK);
    rc = mlp_model_predict(self->m, real ? NULL : xb.buf,
                           real ? xb.buf : NULL, n, "X",
                           pb.obj != NULL ? pb.buf : NULL,
                           cb.obj != NULL ? cb.buf : NULL);
    PyThread_release_lock(self->lock);
    Py_END_ALLOW_THREADS
    if (rc < 0)
        raise_status(rc);
    else
        ret = (Py_INCREF(Py_None), Py_None);
out:
    if (xb.obj != NULL)
        PyBuffer_Release(&xb);
    if (pb.obj != NULL)
        PyBuffer_Release(&pb);
    if (cb.obj != NULL)
        PyBuffer_Release(&cb);
    return ret;
}

static PyObject *Model_get_real(ModelObject *self, void *unused)
{
    return PyBool_FromLong(self->real);
}

static PyMethodDef Model_methods[] = {
    {"predict", (PyCFunction)Model_predict, METH_VARARGS,
     "predict(X, proba, cls): fill proba (n, classes) float64 and cls (n,) "
     "int32 (either may be None) for the rows of X"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Model_getset[] = {
    {"real", (getter)Model_get_real, NULL,
     "the model takes real features (else bytes, scaled x/255)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject ModelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mlptrain._core.Model",
    .tp_basicsize = sizeof(ModelObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Model(bytes, name='the model', threads=0, precision=None): "
              "a trained model ready to predict (precision None: the "
              "model's)",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Model_init,
    .tp_dealloc = (destructor)Model_dealloc,
    .tp_methods = Model_methods,
    .tp_getset = Model_getset,
};

/* ---- the module ----------------------------------------------------- */

static PyMethodDef core_methods[] = {
    {"train", (PyCFunction)(void (*)(void))train,
     METH_VARARGS | METH_KEYWORDS, "a run in memory (see _core.c)"},
    {"raise_sigint", raise_sigint, METH_NOARGS,
     "hand a SIGINT caught during a run to Python's handler"},
    {"info", info, METH_VARARGS, "info(bytes, name): a checkpoint's fields"},
    {"load", load, METH_VARARGS, "load(path): a checkpoint file's bytes"},
    {"save", save, METH_VARARGS, "save(bytes, path): write a checkpoint"},
    {"has_option", has_option, METH_VARARGS,
     "has_option(name): the option table has --name"},
    {"option_names", option_names, METH_VARARGS,
     "option_names(name): the names an option takes, from the table"},
    {"class_name", class_name, METH_VARARGS,
     "class_name(text): None for a class name, else why not"},
    {"version", version, METH_NOARGS, "versions of mlptrain and oneDNN"},
    {"error_type", error_type, METH_VARARGS,
     "error_type(status): the exception class of a status"},
    {"ncores", ncores, METH_NOARGS, "online CPU cores"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef core_module = {
    PyModuleDef_HEAD_INIT, "mlptrain._core",
    "mlptrain's library for the Python module", -1, core_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__core(void); /* the one symbol exported */

PyMODINIT_FUNC PyInit__core(void)
{
    PyObject *m;

    if (PyType_Ready(&ModelType) < 0 ||
        (m = PyModule_Create(&core_module)) == NULL)
        return NULL;
    Py_INCREF(&ModelType);
    if (PyModule_AddObject(m, "Model", (PyObject *)&ModelType) < 0 ||
        PyModule_AddIntConstant(m, "HOOK_STOP", HOOK_STOP) < 0 ||
        PyModule_AddIntConstant(m, "HOOK_KEEP", HOOK_KEEP) < 0 ||
        PyModule_AddIntConstant(m, "EINTERRUPTED", MLP_EINTERRUPTED) < 0 ||
        PyModule_AddIntConstant(m, "ENOMEM", MLP_ENOMEM) < 0 ||
        PyModule_AddIntConstant(m, "EIO", MLP_EIO) < 0 ||
        PyModule_AddIntConstant(m, "EBUSY", MLP_EBUSY) < 0 ||
        PyModule_AddIntConstant(m, "EDNNL", MLP_EDNNL) < 0 ||
        PyModule_AddIntConstant(m, "ETHREAD", MLP_ETHREAD) < 0 ||
        PyModule_AddIntConstant(m, "ENOSYS", MLP_ENOSYS) < 0 ||
        PyModule_AddIntConstant(m, "EDIVERGED", MLP_EDIVERGED) < 0) {
        Py_DECREF(&ModelType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
