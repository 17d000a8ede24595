"""mlptrain.MLPClassifier: scikit-learn's MLPClassifier interface over
mlptrain's library (mlptrain._core, a C extension).

The estimator keeps its model as the bytes of an mlptrain checkpoint
(_model_bytes): what pickling stores, what save() writes and load()
reads, what a warm start, partial_fit and the command line's --resume,
eval, predict and export continue from.  The weights users read
(coefs_, intercepts_) are views of the checkpoint's parameters in
scikit-learn's layout.

Parameters keep scikit-learn's names and defaults where they mean the same
thing; each becomes an option of mlptrain's option table, set by name
through the table's own parser (_run_options builds the list, the one
place of that mapping).  Where the meanings differ the mapping is stated
beside the parameter and in the README's parameter table.
"""

import math
import numbers
import os
import re
import threading
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted

from . import _core

# scikit-learn's activation names as mlptrain's (--act); the solvers and
# schedules are --optimizer's and --schedule's names, from the option table.
_ACTIVATIONS = {"relu": "relu", "logistic": "sigmoid", "tanh": "tanh"}
_SOLVERS = _core.option_names("optimizer")
_SCHEDULES = _core.option_names("schedule")
assert set(_ACTIVATIONS.values()) <= set(_core.option_names("act"))


def _fmt(v):
    """A value as the option table's parser reads it."""
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v))
    return str(v)


def _is_class_name(s):
    """mlptrain's class-name rule (text.h, through the library)."""
    try:
        return _core.class_name(s) is None
    except UnicodeEncodeError:  # lone surrogates: not UTF-8 text
        return False


def _class_names(classes):
    """The names a checkpoint keeps for classes_: None when the classes are
    the numbers 0..C-1 (a checkpoint's default), else str() of each class
    when every one is a class name and they stay distinct; False when they
    cannot be kept (save() then refuses)."""
    if (classes.dtype.kind in "iu" and
            np.array_equal(classes, np.arange(len(classes)))):
        return None
    names = [str(c) for c in classes]
    if len(set(names)) != len(names) or not all(map(_is_class_name, names)):
        return False
    return names


def _with_params(message, opts):
    """mlptrain's message, with the parameters that set the options it
    names (a rule between options: "option '--lr-min': ... (parameters
    lr_min, learning_rate_init)")."""
    params = []
    for name in re.findall(r"--([a-z0-9-]+)", message):
        for param, option, _ in opts:
            if option == name and param not in params:
                params.append(param)
    if not params or message.startswith("parameter '"):
        return message
    return "%s (parameter%s %s)" % (message, "s" if len(params) > 1 else "",
                                    ", ".join(params))


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """A multilayer perceptron classifier trained by mlptrain.

    scikit-learn's MLPClassifier interface (fit, partial_fit, predict,
    predict_proba, predict_log_proba, score; coefs_, intercepts_,
    loss_curve_, ...) over mlptrain's C library: oneDNN primitives for the
    step, a pool of loader threads decoding batches ahead of it.  NumPy
    arrays of uint8 (pixels, scaled x/255) or float32 are used in place;
    other dtypes are converted to float32 once.  The GIL is released while
    training and predicting; Ctrl-C stops training after the batch in
    progress, keeps the model and raises KeyboardInterrupt.

    Parameters named as scikit-learn's mean what scikit-learn's do, with
    the differences the README's parameter table states (alpha is applied
    as weight decay alpha / batch_size, to biases too; the update rules
    are PyTorch's; the two-class output is a softmax of two units; the
    validation split is mlptrain's).  mlptrain's own: weight_decay,
    precision, n_threads, n_workers, schedule, warmup, lr_min, lr_step,
    lr_gamma, dropout, input_dropout, label_smoothing, init, init_std,
    normalize, augment, and options, a dict of any other training option
    of the command line by its long name ({"micro": 64}).
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto",
                 learning_rate="constant", learning_rate_init=0.001,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, n_iter_no_change=10, weight_decay=None,
                 precision=None, n_threads=None, n_workers=None,
                 schedule="constant", warmup=0.0, lr_min=0.0, lr_step=None,
                 lr_gamma=0.1, dropout=0.0, input_dropout=0.0,
                 label_smoothing=0.0, init="normal", init_std=0.01,
                 normalize="auto", augment=None, options=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.weight_decay = weight_decay
        self.precision = precision
        self.n_threads = n_threads
        self.n_workers = n_workers
        self.schedule = schedule
        self.warmup = warmup
        self.lr_min = lr_min
        self.lr_step = lr_step
        self.lr_gamma = lr_gamma
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.label_smoothing = label_smoothing
        self.init = init
        self.init_std = init_std
        self.normalize = normalize
        self.augment = augment
        self.options = options

    # ---- parameters --------------------------------------------------

    def _check_params(self):
        """The checks mlptrain's option table cannot make (types, names
        of scikit-learn's choices); ranges are the table's."""
        h = self.hidden_layer_sizes
        if isinstance(h, numbers.Integral):
            h = (h,)
        try:
            h = tuple(h)
        except TypeError:
            raise ValueError("hidden_layer_sizes must be an int or a "
                             "sequence of ints, got %r" % (h,)) from None
        if not all(isinstance(w, numbers.Integral) and w > 0 for w in h):
            raise ValueError("hidden_layer_sizes must be > 0, got %r" % (h,))
        if self.activation not in _ACTIVATIONS:
            raise ValueError(
                "activation %r is not supported by mlptrain: %s"
                % (self.activation, ", ".join(_ACTIVATIONS)))
        if self.solver not in _SOLVERS:
            raise ValueError("solver %r is not supported by mlptrain: %s"
                             % (self.solver, ", ".join(_SOLVERS)))
        if self.learning_rate != "constant":
            raise ValueError(
                "learning_rate %r is not supported by mlptrain: 'constant' "
                "(see schedule: step, cosine, onecycle)"
                % (self.learning_rate,))
        if not (self.batch_size == "auto" or
                (isinstance(self.batch_size, numbers.Integral) and
                 not isinstance(self.batch_size, bool) and
                 self.batch_size >= 1)):
            raise ValueError("batch_size must be 'auto' or an int >= 1, got "
                             "%r" % (self.batch_size,))
        for name in ("max_iter", "n_iter_no_change"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError("%s must be an int >= 1, got %r" % (name, v))
        if not isinstance(self.tol, numbers.Real) or self.tol < 0:
            raise ValueError("tol must be >= 0, got %r" % (self.tol,))
        if not (isinstance(self.validation_fraction, numbers.Real) and
                0 < self.validation_fraction < 1):
            raise ValueError("validation_fraction must be in (0, 1), got %r"
                             % (self.validation_fraction,))
        if not isinstance(self.alpha, numbers.Real) or not self.alpha >= 0:
            raise ValueError("alpha must be >= 0, got %r" % (self.alpha,))
        if self.schedule not in _SCHEDULES:
            raise ValueError("schedule must be one of %s, got %r"
                             % (", ".join(_SCHEDULES), self.schedule))
        if self.options is not None and not isinstance(self.options, dict):
            raise ValueError("options must be a dict of option names and "
                             "values, got %r" % (self.options,))
        return h

    def _batch(self, n):
        """scikit-learn's batch rows for n training samples."""
        if self.batch_size == "auto":
            return min(200, n)
        if self.batch_size > n:
            warnings.warn("Got `batch_size` less than 1 or larger than "
                          "sample size. It is going to be clipped")
        return int(np.clip(self.batch_size, 1, n))

    def _seed(self):
        """mlptrain's seed: an int random_state as it is (the command
        line's --seed), else one drawn from it (None: numpy's global
        generator, a new seed every fit, as scikit-learn)."""
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            if rs < 0:
                raise ValueError("random_state must be >= 0, got %r" % rs)
            return int(rs)
        return int(check_random_state(rs).randint(np.iinfo(np.int32).max))

    # A step below this many multiply-adds (a batch's forward pass) takes
    # well under a millisecond on one core: handing it to more threads
    # costs more than it saves (each step wakes them), and so do loader
    # threads for an epoch's few small batches.  Small problems (the
    # 100 x 4 fits of a test suite or a grid search) then run on the
    # calling thread; the figures are the same for any thread and worker
    # count.
    SMALL_STEP_MACS = 1 << 20
    SMALL_EPOCH_VALUES = 1 << 20

    def _machine(self, hidden, n_train, batch, dim):
        """n_threads and n_workers, or mlptrain's defaults (None: all
        cores, 4 loader threads) except for small problems."""
        widths = [dim] + list(hidden) + [2]
        macs = batch * sum(a * b for a, b in zip(widths[:-1], widths[1:]))
        threads, workers = self.n_threads, self.n_workers
        if threads is None and macs < self.SMALL_STEP_MACS:
            threads = 1
        if workers is None and n_train * dim < self.SMALL_EPOCH_VALUES:
            workers = 0
        return threads, workers

    def _run_options(self, hidden, n_train, batch, epochs, seed, val, real,
                     dim):
        """The run's options as (parameter, option, value) for the option
        table's parser: the one place parameters become options."""
        o = []

        def put(param, name, value):
            o.append((param, name, _fmt(value)))

        put("hidden_layer_sizes", "hidden",
            ",".join(str(int(w)) for w in hidden) if hidden else "none")
        put("activation", "act", _ACTIVATIONS[self.activation])
        put("solver", "optimizer", self.solver)
        put("learning_rate_init", "lr", self.learning_rate_init)
        put("batch_size", "batch", batch)
        put("max_iter", "epochs", epochs)
        put("random_state", "seed", seed)
        if self.weight_decay is not None:
            put("weight_decay", "weight-decay", self.weight_decay)
        else:  # scikit-learn's L2 term alpha/2 |W|^2 / batch, as decay
            put("alpha", "weight-decay", self.alpha / batch)
        if self.solver == "sgd":
            put("momentum", "momentum", self.momentum)
            if self.momentum > 0 and self.nesterovs_momentum:
                put("nesterovs_momentum", "nesterov", True)
        else:
            put("beta_1", "beta1", self.beta_1)
            put("beta_2", "beta2", self.beta_2)
            put("epsilon", "eps", self.epsilon)
        if not self.shuffle:
            put("shuffle", "no-shuffle", True)
        if val:
            put("validation_fraction", "val", val)
        put("schedule", "schedule", self.schedule)
        if self.warmup:
            put("warmup", "warmup", self.warmup)
        if self.schedule in ("cosine", "onecycle"):
            put("lr_min", "lr-min", self.lr_min)
        if self.schedule == "step":
            if self.lr_step is not None:
                put("lr_step", "lr-step", self.lr_step)
            put("lr_gamma", "lr-gamma", self.lr_gamma)
        put("dropout", "dropout", self.dropout)
        put("input_dropout", "input-dropout", self.input_dropout)
        put("label_smoothing", "label-smoothing", self.label_smoothing)
        put("init", "init", self.init)
        if self.init == "normal":
            put("init_std", "init-std", self.init_std)
        if real:
            put("normalize", "normalize", self.normalize)
        if self.augment is not None:
            put("augment", "augment", self.augment)
        threads, workers = self._machine(hidden, n_train, batch, dim)
        if threads is not None:
            put("n_threads", "threads", threads)
        if workers is not None:
            put("n_workers", "workers", workers)
        if self.precision is not None:
            put("precision", "precision", self.precision)
        for name, value in (self.options or {}).items():
            put("options", str(name).replace("_", "-"), value)
        return o

    # ---- data --------------------------------------------------------

    def _check_X(self, X, reset, y=None):
        """X as rows mlptrain takes in place: C-ordered uint8 (pixels) or
        float32 (other dtypes converted once); an (n, rows, cols) array is
        images of rows x cols.  With y: y checked too (one label column).
        Returns X, y, (rows, cols)."""
        shape = (0, 0)
        if isinstance(X, np.ndarray) and X.ndim == 3:
            shape = X.shape[1:]
            X = X.reshape(X.shape[0], -1)
        kw = dict(reset=reset, dtype="numeric", force_all_finite=False,
                  accept_sparse=False)
        if y is None:
            X = self._validate_data(X, **kw)
        else:
            X, y = self._validate_data(X, y, **kw)
        if X.dtype != np.uint8:
            X = np.ascontiguousarray(X, dtype=np.float32)
        else:
            X = np.ascontiguousarray(X)
        return X, y, shape

    # ---- training ----------------------------------------------------

    def fit(self, X, y):
        """Train on X (n, features) or (n, rows, cols), y (n) labels of
        any kind (classes_ are their sorted distinct values) for max_iter
        epochs, fewer when the loss (or, with early_stopping, the
        validation accuracy) stops improving by tol for n_iter_no_change
        epochs.  With warm_start and a fitted model, its run continues
        max_iter more epochs.  Returns self."""
        return self._fit(X, y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch over X, y, continuing the model (and its optimizer)
        when fitted; classes is required on the first call.  Returns
        self."""
        return self._fit(X, y, incremental=True, classes=classes)

    def _fit(self, X, y, incremental, classes=None):
        hidden = self._check_params()
        fitted = hasattr(self, "_model_bytes")
        warm = fitted and (incremental or self.warm_start)
        X, y, shape = self._check_X(X, reset=not warm, y=y)
        check_classification_targets(y)
        if incremental:
            if not fitted and classes is None:
                raise ValueError(
                    "classes must be passed on the first call to "
                    "partial_fit.")
            if classes is not None:
                classes = unique_labels(classes)
                if fitted and not np.array_equal(self.classes_, classes):
                    raise ValueError(
                        "`classes=%r` is not the same as on last call to "
                        "partial_fit, was: %r" % (classes, self.classes_))
            else:
                classes = self.classes_
            extra = np.setdiff1d(unique_labels(y), classes)
            if len(extra):
                raise ValueError("Expected only labels in classes=%r but got "
                                 "%r" % (classes, extra))
        else:
            classes = unique_labels(y)
            if warm and not np.array_equal(self.classes_, classes):
                raise ValueError(
                    "warm_start can only be used where `y` has the same "
                    "classes as in the previous call to fit. Previously "
                    "got %s, `y` has %s" % (self.classes_, classes))
        if len(classes) < 2:
            raise ValueError("y has %d class: a classifier needs at least "
                             "2 classes" % len(classes))
        if len(classes) > 256:
            raise ValueError("y has %d classes; mlptrain takes at most 256"
                             % len(classes))
        yi = np.ascontiguousarray(np.searchsorted(classes, y), dtype=np.uint8)
        n = X.shape[0]
        early = self.early_stopping and not incremental
        val = int(math.ceil(self.validation_fraction * n)) if early else 0
        batch = self._batch(max(n - val, 1))
        done = self._epochs_done if warm else 0
        epochs = done + (1 if incremental else self.max_iter)
        names = _class_names(classes)
        rows, cols = shape  # rows without one take a warm model's
        opts = self._run_options(hidden, n - val, batch, epochs,
                                 self._seed(), val, X.dtype != np.uint8,
                                 X.shape[1])
        state = _State(self, warm, early, n - val)
        main = threading.current_thread() is threading.main_thread()
        status, message, model, best, history, interrupted, stopped = \
            _core.train(opts, X, yi, len(classes),
                        names if names else None, rows, cols,
                        self._model_bytes if warm else None,
                        state.hook, main)
        if model is None:
            raise _core.error_type(status)(_with_params(message, opts))
        if early and best is not None:  # scikit-learn's best weights
            model = best
        self.classes_ = classes
        self._names_ok = names is not False
        state.commit()
        self._set_model(model)
        if status == _core.EINTERRUPTED:
            warnings.warn("Training interrupted by user.")
            if interrupted:
                _core.raise_sigint()  # Python's SIGINT handler, now
            else:
                raise KeyboardInterrupt(message)
        elif (not incremental and not stopped and
              len(history) == self.max_iter):
            warnings.warn(
                "Stochastic Optimizer: Maximum iterations (%d) reached and "
                "the optimization hasn't converged yet." % self.max_iter,
                ConvergenceWarning)
        return self

    def _set_model(self, model):
        """The fitted attributes from checkpoint bytes."""
        info = _core.info(model, "the model")
        threads = self.n_threads if self.n_threads is not None else 0
        self._predictor = _core.Model(model, "the model", int(threads))
        self._model_bytes = model
        self._epochs_done = info["epoch"]
        self._image_shape = (info["rows"], info["cols"]) \
            if info["rows"] > 1 else (0, 0)
        p = np.frombuffer(info["params"], dtype=np.float32)
        widths = [info["in"]] + list(info["hidden"]) + [info["out"]]
        self.coefs_, self.intercepts_ = [], []
        at = 0
        for a, b in zip(widths[:-1], widths[1:]):
            self.coefs_.append(p[at:at + a * b].reshape(b, a).T)
            at += a * b
            self.intercepts_.append(p[at:at + b])
            at += b
        self.n_features_in_ = info["in"]
        self.n_layers_ = len(widths)
        self.n_outputs_ = info["out"]
        self.out_activation_ = "softmax"

    # ---- prediction --------------------------------------------------

    def _predict_X(self, X):
        check_is_fitted(self)
        X, _, _ = self._check_X(X, reset=False)
        return X

    def predict_proba(self, X):
        """Class probabilities (n, classes), the softmax of the logits."""
        X = self._predict_X(X)
        p = np.empty((X.shape[0], len(self.classes_)), dtype=np.float64)
        self._predictor.predict(X, p, None)
        return p

    def predict_log_proba(self, X):
        """The log of predict_proba."""
        return np.log(self.predict_proba(X))

    def predict(self, X):
        """The class of each row (the largest logit's, the first on
        ties)."""
        X = self._predict_X(X)
        k = np.empty(X.shape[0], dtype=np.int32)
        self._predictor.predict(X, None, k)
        return self.classes_[k]

    # ---- checkpoints -------------------------------------------------

    def save(self, path):
        """Write the model as an mlptrain checkpoint (atomically, through
        mlptrain's one door for outputs): `mlptrain eval --model PATH`,
        predict, export and --resume read it."""
        check_is_fitted(self)
        if not self._names_ok:
            raise ValueError(
                "the classes %r cannot be kept in a checkpoint: each must "
                "be a distinct class name (1 to 63 bytes of text without "
                "control characters) or the classes be 0..n-1"
                % (list(self.classes_),))
        _core.save(self._model_bytes, os.fspath(path))

    @classmethod
    def load(cls, path):
        """An estimator from an mlptrain checkpoint (the command line's
        --save, or save()): its options as parameters, its model fitted;
        fit with warm_start=True (or partial_fit) continues its run."""
        return cls._from_bytes(_core.load(os.fspath(path)))

    @classmethod
    def _from_bytes(cls, model):
        info = _core.info(model, "the model")
        opts = {name: value for name, value, default in info["options"]}
        changed = {name for name, value, default in info["options"]
                   if not default}
        act = {v: k for k, v in _ACTIVATIONS.items()}[info["act"]]
        solver = opts["optimizer"]
        params = dict(
            hidden_layer_sizes=tuple(info["hidden"]), activation=act,
            solver=solver, alpha=0.0, weight_decay=float(opts["weight-decay"]),
            batch_size=int(opts["batch"]),
            learning_rate_init=float(opts["lr"]),
            random_state=int(opts["seed"]),
            shuffle=opts.get("no-shuffle", "0") != "1",
            momentum=float(opts["momentum"]),
            nesterovs_momentum=opts["nesterov"] == "1",
            beta_1=float(opts["beta1"]), beta_2=float(opts["beta2"]),
            epsilon=float(opts["eps"]), schedule=opts["schedule"],
            warmup=float(opts["warmup"]), lr_min=float(opts["lr-min"]),
            lr_step=float(opts["lr-step"]) if "lr-step" in changed else None,
            lr_gamma=float(opts["lr-gamma"]),
            dropout=float(opts["dropout"]),
            input_dropout=float(opts["input-dropout"]),
            label_smoothing=float(opts["label-smoothing"]),
            init=opts["init"], init_std=float(opts["init-std"]),
            normalize=opts["normalize"],
            augment=opts["augment"] if "augment" in changed else None,
            precision=opts["precision"] if "precision" in changed else None)
        named = {"hidden", "act", "optimizer", "weight-decay", "batch", "lr",
                 "seed", "no-shuffle", "momentum", "nesterov", "beta1",
                 "beta2", "eps", "schedule", "warmup", "lr-min", "lr-step",
                 "lr-gamma", "dropout", "input-dropout", "label-smoothing",
                 "init", "init-std", "normalize", "augment", "precision"}
        rest = {k: opts[k] for k in sorted(changed - named)}
        if rest:
            params["options"] = rest
        est = cls(**params)
        names = info["names"]
        if names is None:
            est.classes_ = np.arange(info["out"])
        else:
            try:
                est.classes_ = np.array([int(s) for s in names])
                if [str(c) for c in est.classes_] != names:
                    raise ValueError
            except ValueError:
                est.classes_ = np.array(names)
        est._names_ok = True
        est.n_iter_ = info["epoch"]
        est.t_ = info["epoch"] * info["ntrain"]
        est.loss_curve_ = []
        est._no_improvement_count = 0
        est.best_loss_ = np.inf
        est.validation_scores_ = None
        est.best_validation_score_ = None
        est._set_model(model)
        return est

    # ---- pickling: the checkpoint bytes ------------------------------

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_predictor", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        if "_model_bytes" in state:
            self._set_model(state["_model_bytes"])


class _State:
    """What a fit records epoch by epoch (scikit-learn's loss_curve_,
    n_iter_, the no-improvement count, validation scores), kept apart
    until the run ends, then committed to the estimator."""

    def __init__(self, est, warm, early, n):
        self.est, self.early, self.n = est, early, n
        if warm:
            self.n_iter = est.n_iter_
            self.t = est.t_
            self.loss_curve = list(est.loss_curve_)
            self.no_improve = est._no_improvement_count
            self.best_loss = est.best_loss_
            self.scores = (list(est.validation_scores_)
                           if est.validation_scores_ is not None else None)
            self.best_score = est.best_validation_score_
        else:
            self.n_iter = self.t = self.no_improve = 0
            self.loss_curve = []
            self.best_loss = np.inf
            self.scores = None
            self.best_score = None
        if early:
            self.best_loss = None
            if self.scores is None:
                self.scores = []
                self.best_score = -np.inf
        elif self.best_loss is None:
            self.best_loss = np.inf

    def hook(self, st):
        """After each epoch (mlptrain's figures in st): scikit-learn's
        records and stopping rule; returns _core.HOOK_* flags."""
        est, flags = self.est, 0
        self.n_iter += 1
        self.t += self.n
        loss = st["train_loss"]
        self.loss_curve.append(loss)
        if est.verbose:
            print("Iteration %d, loss = %.8f" % (self.n_iter, loss))
        if self.early:
            score = st["val_acc"]
            self.scores.append(score)
            if est.verbose:
                print("Validation score: %f" % score)
            if score < self.best_score + est.tol:
                self.no_improve += 1
            else:
                self.no_improve = 0
            if score > self.best_score:
                self.best_score = score
                flags |= _core.HOOK_KEEP
        else:
            if loss > self.best_loss - est.tol:
                self.no_improve += 1
            else:
                self.no_improve = 0
            if loss < self.best_loss:
                self.best_loss = loss
        if self.no_improve > est.n_iter_no_change:
            if est.verbose:
                print("%s did not improve more than tol=%f for %d "
                      "consecutive epochs. Stopping." %
                      ("Validation score" if self.early else "Training loss",
                       est.tol, est.n_iter_no_change))
            flags |= _core.HOOK_STOP
        return flags

    def commit(self):
        est = self.est
        est.n_iter_ = self.n_iter
        est.t_ = self.t
        est.loss_curve_ = self.loss_curve
        est.loss_ = self.loss_curve[-1] if self.loss_curve else None
        est._no_improvement_count = self.no_improve
        est.best_loss_ = self.best_loss
        est.validation_scores_ = self.scores
        est.best_validation_score_ = self.best_score
