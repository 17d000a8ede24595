"""End-to-end tests of the Python module (run by tests/e2e_python.sh, with
the module of the build tree on PYTHONPATH and $MLPTRAIN, $MKDATA set).

Each case prints PASS: or FAIL: and a line of detail; the exit status is
1 when one failed.  Cases (small generated data, a few seconds each):
scikit-learn's check_estimator with no check skipped; GridSearchCV over a
Pipeline, also with threads; the figures of the command line, digit for
digit, from the same IDX files as arrays; X used without a copy; pickling;
checkpoints both ways with the command line (eval, export, predict,
--resume; load, warm start, partial_fit); errors as exceptions; the GIL
released while training and predicting; Ctrl-C in a subprocess.
"""

import io
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import warnings

import numpy as np

import mlptrain
from mlptrain import _core

MLPTRAIN = os.environ["MLPTRAIN"]
MKDATA = os.environ["MKDATA"]
TMP = os.environ["TMP"]
npass = nfail = 0


def check(name, cond, detail=""):
    global npass, nfail
    if cond:
        npass += 1
        print("PASS: " + name)
    else:
        nfail += 1
        print("FAIL: %s %s" % (name, detail))
    sys.stdout.flush()


def cli(*args, ok=True):
    r = subprocess.run([MLPTRAIN] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=dict(os.environ, MLPTRAIN_LOADAVG="off"))
    if ok and r.returncode != 0:
        raise RuntimeError("mlptrain %s: exit %d: %s" % (
            " ".join(map(str, args)), r.returncode, r.stderr.decode()))
    return r


def idx(path):
    b = open(path, "rb").read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


def log_epochs(path):
    return [r for r in map(json.loads, open(path)) if r["type"] == "epoch"]


def same9(a, b):
    """The log's 9 significant digits of a float are those of b."""
    return len(a) == len(b) and all(float("%.9g" % x) == y
                                    for x, y in zip(a, b))


D = os.path.join(TMP, "data")
os.mkdir(D)
subprocess.run([MKDATA, D, "900", "200", "10", "10", "4", "plain"],
               check=True)
X = idx(D + "/train-images-idx3-ubyte")          # (900, 10, 10) uint8
y = idx(D + "/train-labels-idx1-ubyte")
Xt = idx(D + "/t10k-images-idx3-ubyte")
yt = idx(D + "/t10k-labels-idx1-ubyte")
# The reference recipe's options, on small data.
RECIPE = dict(hidden_layer_sizes=(32,), solver="sgd", learning_rate_init=0.1,
              momentum=0.0, alpha=0.0, batch_size=64, random_state=1,
              n_iter_no_change=1000)
CLI_RECIPE = ["--data", D, "--hidden", "32", "--batch", "64", "--seed", "1",
              "-q"]
warnings.simplefilter("ignore")


def test_check_estimator():
    from sklearn.utils.estimator_checks import check_estimator
    from sklearn.exceptions import SkipTestWarning
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            check_estimator(mlptrain.MLPClassifier())
            err = None
        except Exception as e:  # noqa: BLE001 - reported
            err = "%s: %s" % (type(e).__name__, e)
    skipped = [str(x.message) for x in w
               if issubclass(x.category, SkipTestWarning)]
    check("check_estimator passes", err is None, err)
    check("check_estimator skips no check", not skipped, skipped)


def test_search_pipeline():
    from sklearn.datasets import make_classification
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    import joblib
    Xc, yc = make_classification(n_samples=300, n_features=8, n_informative=5,
                                 n_classes=3, random_state=0)
    Xc = Xc * 40 + 7
    yc = np.array(["ant", "bee", "cow"])[yc]
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", mlptrain.MLPClassifier(max_iter=60,
                                                    normalize="none",
                                                    random_state=0))])
    pipe.fit(Xc[:200], yc[:200])
    acc = pipe.score(Xc[200:], yc[200:])
    check("Pipeline(StandardScaler, MLPClassifier) learns string labels",
          acc > 0.6 and set(pipe.predict(Xc[200:])) <= {"ant", "bee", "cow"},
          "accuracy %.3f" % acc)
    grid = {"mlp__hidden_layer_sizes": [(8,), (32,)],
            "mlp__learning_rate_init": [0.0001, 0.01]}
    gs = GridSearchCV(pipe, grid, cv=3).fit(Xc, yc)
    check("GridSearchCV over the Pipeline picks a point",
          gs.best_params_["mlp__learning_rate_init"] == 0.01 and
          gs.best_score_ > 0.6, "%s %.3f" % (gs.best_params_, gs.best_score_))
    with joblib.parallel_backend("threading", n_jobs=2):
        gs2 = GridSearchCV(pipe, grid, cv=3).fit(Xc, yc)
    check("GridSearchCV on 2 threads gives the same scores",
          np.array_equal(gs.cv_results_["mean_test_score"],
                         gs2.cv_results_["mean_test_score"]),
          "%s vs %s" % (gs.cv_results_["mean_test_score"],
                        gs2.cv_results_["mean_test_score"]))


def test_figures_equal_cli():
    log = os.path.join(TMP, "ref.jsonl")
    ck = os.path.join(TMP, "ref.ckpt")
    cli(*CLI_RECIPE, "--epochs", "4", "--log", log, "--save", ck)
    ep = log_epochs(log)
    clf = mlptrain.MLPClassifier(max_iter=4, **RECIPE).fit(X, y)
    check("loss_curve_ equals the command line's log, digit for digit",
          same9(clf.loss_curve_, [r["train_loss"] for r in ep]),
          "%s vs %s" % (clf.loss_curve_, [r["train_loss"] for r in ep]))
    check("the test accuracy is the command line's",
          clf.score(Xt, yt) == ep[-1]["test_acc"],
          "%r vs %r" % (clf.score(Xt, yt), ep[-1]["test_acc"]))
    a = _core.info(open(ck, "rb").read(), "cli")
    b = _core.info(clf._model_bytes, "py")
    check("the parameters are the command line's, bit for bit",
          a["params"] == b["params"] and a["options"] == b["options"])
    flat = mlptrain.MLPClassifier(max_iter=4, n_workers=0, n_threads=1,
                                  **RECIPE).fit(X.reshape(900, 100), y)
    check("the same for rows of 100 features, -j 0 and -t 1",
          flat.loss_curve_ == clf.loss_curve_)
    log2 = os.path.join(TMP, "noshuf.jsonl")
    cli(*CLI_RECIPE, "--epochs", "2", "--no-shuffle", "--log", log2)
    ns = mlptrain.MLPClassifier(max_iter=2, shuffle=False, **RECIPE).fit(X, y)
    check("shuffle=False is --no-shuffle, and other figures",
          same9(ns.loss_curve_, [r["train_loss"] for r in log_epochs(log2)])
          and ns.loss_curve_ != clf.loss_curve_[:2])
    log3 = os.path.join(TMP, "bf16.jsonl")
    r = cli(*CLI_RECIPE, "--epochs", "2", "--precision", "bf16", "--log",
            log3, ok=False)
    if r.returncode != 0:
        print("SKIP: precision='bf16': %s" % r.stderr.decode().strip())
    else:
        hb = mlptrain.MLPClassifier(max_iter=2, precision="bf16",
                                    **RECIPE).fit(X, y)
        eb = log_epochs(log3)
        check("precision='bf16' is --precision bf16, and other figures",
              same9(hb.loss_curve_, [e["train_loss"] for e in eb]) and
              hb.score(Xt, yt) == eb[-1]["test_acc"] and
              hb.loss_curve_ != clf.loss_curve_[:2])
    w0 = np.frombuffer(a["params"], np.float32)[:100 * 32].reshape(32, 100)
    check("coefs_ are scikit-learn's layout (in, out)",
          clf.coefs_[0].shape == (100, 32) and
          np.array_equal(clf.coefs_[0], w0.T) and
          clf.intercepts_[1].shape == (4,) and clf.n_layers_ == 3)


def test_no_copy():
    big = np.random.RandomState(3).randint(0, 256, (20000, 256), np.uint8)
    lab = np.arange(20000) % 3
    big.setflags(write=False)
    for X1, copied in ((big, False), (big.astype(np.float32), False),
                       (big.astype(np.float64), True)):
        clf = mlptrain.MLPClassifier(hidden_layer_sizes=(8,), max_iter=1,
                                     batch_size=500)
        tracemalloc.start()
        clf.fit(X1, lab)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        check("fit on %s X %s" % (X1.dtype, "converts it once" if copied
                                  else "takes it without a copy"),
              (peak > 20000 * 256 * 4 * 0.9) if copied
              else (peak < X1.nbytes / 4),
              "peak %.1f MB of Python allocations, X %.1f MB"
              % (peak / 1e6, X1.nbytes / 1e6))


def test_pickle():
    clf = mlptrain.MLPClassifier(max_iter=3, **RECIPE).fit(X, y)
    blob = pickle.dumps(clf)
    back = pickle.loads(blob)
    check("pickling keeps the model (the checkpoint's bytes)",
          b"MLPTCKPT" in blob and back._model_bytes == clf._model_bytes and
          np.array_equal(back.predict_proba(Xt), clf.predict_proba(Xt)) and
          back.loss_curve_ == clf.loss_curve_)


def test_python_to_cli():
    clf = mlptrain.MLPClassifier(max_iter=2, **RECIPE).fit(X, y)
    ck = os.path.join(TMP, "py.ckpt")
    clf.save(ck)
    r = cli("eval", "--model", ck, "--data", D, "--json")
    ev = json.loads(r.stdout)
    check("mlptrain eval of a model saved in Python: its accuracy",
          ev["correct"] == int(round(clf.score(Xt, yt) * 200)),
          "%r vs %r" % (ev["accuracy"], clf.score(Xt, yt)))
    npz = os.path.join(TMP, "py.npz")
    cli("export", "--model", ck, "--npz", npz)
    z = np.load(npz)
    check("mlptrain export of it: the weights are coefs_",
          np.array_equal(z["W0"], clf.coefs_[0].T) and
          np.array_equal(z["b1"], clf.intercepts_[1]))
    np.save(os.path.join(TMP, "t.npy"), Xt.reshape(200, 100))
    r = cli("predict", "--model", ck, "--input", os.path.join(TMP, "t.npy"))
    rows = [l.split(",") for l in r.stdout.decode().split("\n")[1:] if l]
    p = clf.predict_proba(Xt)
    check("mlptrain predict of it: predict and predict_proba",
          [int(r_[1]) for r_ in rows] == list(clf.predict(Xt)) and
          all(np.float32(r_[3 + k]) == np.float32(p[i, k])
              for i, r_ in enumerate(rows) for k in range(4)))
    log = os.path.join(TMP, "res.jsonl")
    cli("--resume", ck, "--data", D, "--epochs", "4", "--log", log, "-q")
    ref = mlptrain.MLPClassifier(max_iter=4, **RECIPE).fit(X, y)
    check("mlptrain --resume of it: the 4-epoch run's epochs 3 and 4",
          same9(ref.loss_curve_[2:], [e["train_loss"]
                                      for e in log_epochs(log)]))


def test_cli_to_python():
    ck = os.path.join(TMP, "cli2.ckpt")
    log = os.path.join(TMP, "cli4.jsonl")
    cli(*CLI_RECIPE, "--epochs", "2", "--save", ck)
    cli(*CLI_RECIPE, "--epochs", "4", "--log", log)
    want = [e["train_loss"] for e in log_epochs(log)][2:]
    m = mlptrain.load(ck)
    check("load: the checkpoint's options as parameters",
          m.get_params()["hidden_layer_sizes"] == (32,) and
          m.solver == "sgd" and m.batch_size == 64 and
          m.random_state == 1 and m.n_iter_ == 2 and
          list(m.classes_) == [0, 1, 2, 3])
    m.set_params(warm_start=True, max_iter=2).fit(X, y)
    check("a warm start continues the command line's run exactly",
          same9(m.loss_curve_, want), "%s vs %s" % (m.loss_curve_, want))
    m = mlptrain.load(ck)
    m.partial_fit(X, y).partial_fit(X, y)
    check("partial_fit twice: the same two epochs",
          same9(m.loss_curve_, want) and m.n_iter_ == 4)
    r = cli("predict", "--model", ck, "--input",
            os.path.join(D, "t10k-images-idx3-ubyte"))
    cls = [int(l.split(",")[1]) for l in r.stdout.decode().split("\n")[1:]
           if l]
    check("predict of the loaded model is mlptrain predict's",
          cls == list(mlptrain.load(ck).predict(Xt)))
    names = mlptrain.MLPClassifier(max_iter=1, **RECIPE).fit(
        X, np.array(["a", "b", "c", "d"])[y])
    ck3 = os.path.join(TMP, "names.ckpt")
    names.save(ck3)
    back = mlptrain.load(ck3)
    check("string classes round-trip through a checkpoint",
          list(back.classes_) == ["a", "b", "c", "d"] and
          list(back.predict(Xt[:20])) == list(names.predict(Xt[:20])))


def raises(exc, fn, *words):
    try:
        fn()
    except exc as e:
        return all(w in str(e) for w in words), str(e)
    except Exception as e:  # noqa: BLE001 - the wrong kind is a failure
        return False, "%s: %s" % (type(e).__name__, e)
    return False, "nothing raised"


def test_errors():
    C = mlptrain.MLPClassifier
    for exc, fn, words, what in (
            (ValueError, lambda: C(learning_rate_init=0).fit(X, y),
             ("learning_rate_init", "--lr", "must be > 0"), "a bad rate"),
            (ValueError, lambda: C(activation="identity").fit(X, y),
             ("identity",), "an activation mlptrain has not"),
            (ValueError, lambda: C(options={"nonesuch": 1}).fit(X, y),
             ("no option '--nonesuch'",), "an unknown option"),
            (ValueError, lambda: C(max_iter=2, warmup=5.0).fit(X, y),
             ("--warmup", "must fit in the run",
              "(parameters warmup, max_iter)"),
             "a rule between options (the table's, naming the parameters)"),
            (ValueError, lambda: C(precision="fp8").fit(X, y),
             ("parameter 'precision'", "--precision", "f32, bf16, auto"),
             "a precision the table has not"),
            (ValueError, lambda: C().fit(np.where(np.arange(10) == 7,
                                                  np.nan, 1.0)
                                         .reshape(5, 2), [0, 1, 0, 1, 0]),
             ("X: row 3, column 1 is NaN",), "NaN in X"),
            (ValueError, lambda: C(**RECIPE).fit(X, np.zeros(900)),
             ("1 class",), "one class"),
            (ValueError, lambda: C(max_iter=1, solver="sgd",
                                   learning_rate_init=1e4, momentum=0,
                                   init_std=1.0).fit(X, y),
             ("loss",), "divergence"),
            (MemoryError, lambda: C(hidden_layer_sizes=(16000000,),
                                    max_iter=1).fit(X, y),
             ("not enough memory",), "a model too large"),
            (OSError, lambda: mlptrain.load(os.path.join(TMP, "none.ckpt")),
             ("none.ckpt",), "loading a missing file"),
            (ValueError, lambda: mlptrain.load(D + "/train-labels-idx1-ubyte"),
             ("train-labels-idx1-ubyte",), "loading a file that is no model"),
            (OSError, lambda: C(max_iter=1, **RECIPE).fit(X, y).save(
                os.path.join(TMP, "no", "dir", "m.ckpt")),
             ("m.ckpt",), "saving into a missing directory")):
        good, msg = raises(exc, fn, *words)
        check("%s is %s" % (what, exc.__name__), good, msg)
    clf = C(max_iter=1, **RECIPE).fit(X, y)
    good, msg = raises(ValueError, lambda: clf.predict(Xt.astype(np.float32)),
                       "real-valued features", "trained on bytes")
    check("real features for a model of pixels is ValueError", good, msg)
    tabs = C(max_iter=1, **RECIPE).fit(X, np.array(["a\tb", "c"])[y % 2])
    good, msg = raises(ValueError, lambda: tabs.save(os.path.join(TMP, "o")),
                       "cannot be kept")
    check("classes that are no class names fit, but are not saved",
          good and not os.path.exists(os.path.join(TMP, "o")), msg)


def loop_rate():
    """Turns per second of the checks' loop alone, now (the machine's
    load slows it as much as it slows the loop beside fit)."""
    count, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < 0.1:
        count += 1
    return count / (time.monotonic() - t0)


def test_gil():
    """While fit and predict run in a thread, this thread's Python loop
    keeps at least a tenth of its own rate (with the GIL held through the
    call it would stop)."""
    big = np.random.RandomState(5).randint(0, 256, (40000, 200), np.uint8)
    lab = np.arange(40000) % 4
    # six epochs: long enough (a few tenths of a second) to measure the
    # loop beside it even on a quiet machine
    clf = mlptrain.MLPClassifier(hidden_layer_sizes=(64,), max_iter=6,
                                 batch_size=32)
    rate = loop_rate()
    t = threading.Thread(target=clf.fit, args=(big, lab))
    count = 0
    t.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    while t.is_alive():
        count += 1
    spent = time.monotonic() - t0
    check("the GIL is released while training",
          count > 0.1 * rate * spent and spent > 0.05,
          "%d loop turns in %.2f s beside fit, %.0f/s alone"
          % (count, spent, rate))
    res = {}
    rate = loop_rate()
    t = threading.Thread(target=lambda: res.update(
        p=[clf.predict_proba(big) for _ in range(4)]))
    count = 0
    t.start()
    t0 = time.monotonic()
    while t.is_alive():
        count += 1
    spent = time.monotonic() - t0
    check("the GIL is released while predicting",
          count > 0.1 * rate * spent and spent > 0.02 and
          all(np.array_equal(p, res["p"][0]) for p in res["p"]),
          "%d loop turns in %.2f s beside predict, %.0f/s alone"
          % (count, spent, rate))


def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf(
        "SC_PAGE_SIZE")


def test_no_leak():
    """The extension frees what it makes: 200 rounds of fit, predict,
    info, pickling and a failed fit, each handling a 100 KB model, grow
    the process by less than a tenth of what they handle."""
    Xs = np.random.RandomState(7).rand(200, 100).astype(np.float32)
    ys = np.arange(200) % 3

    def round_():
        clf = mlptrain.MLPClassifier(hidden_layer_sizes=(256,), max_iter=1)
        clf.fit(Xs, ys).predict_proba(Xs)
        _core.info(clf._model_bytes, "m")
        pickle.loads(pickle.dumps(clf)).predict(Xs[:3])
        try:
            clf.set_params(warm_start=True, hidden_layer_sizes=(9,)).fit(
                Xs, ys)
        except ValueError:
            pass
        return len(clf._model_bytes)

    if os.environ.get("MLP_PY_SANITIZED"):
        print("SKIP: no leak by the process's size: ASan's quarantine grows "
              "it (LeakSanitizer's check is off in python3)")
        return
    for _ in range(30):
        size = round_()
    before = rss()
    for _ in range(200):
        round_()
    grown = rss() - before
    check("fit, predict, info and pickle leak nothing",
          grown < 200 * size / 10,
          "%.1f MB more after 200 rounds of a %d-byte model"
          % (grown / 1e6, size))


CHILD = r"""
import signal, sys, warnings, numpy as np, mlptrain
# Python raises KeyboardInterrupt only where it found SIGINT not ignored at
# start-up, and a job that a non-interactive shell starts in the background
# (CI's fresh-root stage) inherits SIGINT ignored: restore what a terminal
# gives a user.
signal.signal(signal.SIGINT, signal.default_int_handler)
from mlptrain import _core
warnings.simplefilter("ignore")
rng = np.random.RandomState(1)
X = rng.randint(0, 256, (132000, 64)).astype(np.uint8)
y = (X[:, 0] > 128).astype(int) + 2 * (X[:, 1] > 128)
kw = dict(hidden_layer_sizes=(128,), batch_size=4, max_iter=8,
          random_state=4, n_iter_no_change=100, solver="sgd",
          learning_rate_init=0.01, n_threads=1)
ref = mlptrain.MLPClassifier(**kw).fit(X, y)
clf = mlptrain.MLPClassifier(verbose=True, **kw)
try:
    clf.fit(X, y)
    print("not interrupted", flush=True)
    sys.exit(1)
except KeyboardInterrupt:
    pass
info = _core.info(clf._model_bytes, "m")
print("kept", info["epoch"], info["batches_done"], clf.n_iter_,
      len(clf.predict(X[:5])), flush=True)
clf.set_params(warm_start=True, max_iter=kw["max_iter"] - info["epoch"],
               verbose=False)
clf.fit(X, y)
print("resumed", clf.loss_curve_ == ref.loss_curve_, flush=True)
"""


def test_interrupt():
    # -u: the verbose lines reach the pipe as printed, not at exit (the
    # fresh root has no PYTHONUNBUFFERED in its environment).
    p = subprocess.Popen([sys.executable, "-u", "-c", CHILD],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=os.environ)
    lines = []
    for line in p.stdout:
        line = line.decode().strip()
        lines.append(line)
        # Epoch 2 has begun: the signal lands in one of the 7 epochs left
        # (each a fraction of a second or more), whichever this machine's
        # speed makes it; the checks below hold for any of them.
        if line.startswith("Iteration 1,"):
            time.sleep(0.1)
            p.send_signal(signal.SIGINT)
    p.wait(timeout=600)
    kept = [l.split() for l in lines if l.startswith("kept")]
    check("Ctrl-C stops fit with KeyboardInterrupt",
          p.returncode == 0 and kept, "exit %s: %s %s" % (
              p.returncode, lines, p.stderr.read().decode()[-500:]))
    if kept:
        k = kept[0]
        check("... at a batch inside a later epoch, the model kept (its "
              "finished epochs, n_iter_, batches, predictions)",
              1 <= int(k[1]) < 8 and int(k[2]) > 0 and k[3] == k[1]
              and k[4] == "5", " ".join(k))
    check("... and a warm start continues it exactly",
          "resumed True" in lines, lines)


for t in (test_check_estimator, test_search_pipeline, test_figures_equal_cli,
          test_no_copy, test_pickle, test_python_to_cli, test_cli_to_python,
          test_errors, test_gil, test_no_leak, test_interrupt):
    t0 = time.monotonic()
    try:
        t()
    except Exception as e:  # noqa: BLE001 - a crash is a failure
        import traceback
        traceback.print_exc()
        check(t.__name__, False, "%s: %s" % (type(e).__name__, e))
    print("  (%s: %.1f s)" % (t.__name__, time.monotonic() - t0))
print("%d passed, %d failed" % (npass, nfail))
sys.exit(1 if nfail else 0)
