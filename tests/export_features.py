#!/usr/bin/python3
"""Check an exported model trained on real features (CSV, --normalize
standard, text labels): run by tests/e2e_export.sh.

mode "make DIR": writes DIR/train.csv, DIR/test.csv (header a,b,c,d,shape;
text labels), DIR/test_x.csv (the test features alone), from a seeded
generator, with features of very different scales.

mode "check": the ONNX file passes onnx.checker (full), its metadata names
the classes in byte order, its shift and scale are the training features'
mean and 1/std (population) computed here, the graph evaluated here in
NumPy on the raw test features gives mlptrain predict's class for every
row and its logits within 1e-4, and the .npz gives the graph's logits.
"""
import argparse
import csv
import sys

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # pragma: no cover
    print(f"FAIL: {e}: ./bootstrap installs it (Debian packages "
          "python3-onnx python3-numpy)")
    sys.exit(1)

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from export_check import check, failures, read_predict_csv, run_npz, run_onnx  # noqa: E402

NAMES = ["circle", "square", "triangle"]


def make(d):
    rng = np.random.default_rng(7)
    for split, n in (("train", 300), ("test", 120)):
        y = rng.integers(0, 3, n)
        x = rng.normal(size=(n, 4)) + 2.0 * np.eye(3, 4)[y]
        x = x * [1.0, 10.0, 0.01, 1.0] + [0.0, 50.0, -3.0, 1000.0]
        x = x.astype(np.float32)
        with open(f"{d}/{split}.csv", "w") as f:
            f.write("a,b,c,d,shape\n")
            for r, k in zip(x, y):
                f.write(",".join("%.9g" % v for v in r) + "," + NAMES[k] + "\n")
        if split == "test":
            with open(f"{d}/test_x.csv", "w") as f:
                f.write("a,b,c,d\n")
                for r in x:
                    f.write(",".join("%.9g" % v for v in r) + "\n")


def read_features(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    x = np.array([[float(v) for v in r[:4]] for r in rows], np.float32)
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["make", "check"])
    ap.add_argument("--dir", required=True)
    ap.add_argument("--onnx")
    ap.add_argument("--npz")
    ap.add_argument("--predict-csv")
    a = ap.parse_args()
    if a.mode == "make":
        make(a.dir)
        return 0
    model = onnx.load(a.onnx)
    onnx.checker.check_model(model, full_check=True)
    check(True, "onnx.checker.check_model(full_check=True)")
    meta = {p.key: p.value for p in model.metadata_props}
    check(meta.get("class_names") == '["circle","square","triangle"]'
          or __import__("json").loads(meta.get("class_names", "[]")) == NAMES,
          f"metadata class_names {meta.get('class_names')} in byte order")
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    train = read_features(f"{a.dir}/train.csv").astype(np.float64)
    mean = train.mean(0)
    scale = 1.0 / train.std(0)
    check(np.allclose(inits["shift"], mean, rtol=1e-6, atol=1e-6),
          f"shift = the training features' mean {mean}")
    check(np.allclose(inits["scale"], scale, rtol=1e-5),
          f"scale = 1 / their standard deviation {scale}")
    x = read_features(f"{a.dir}/test_x.csv").astype(np.float64)
    out = run_onnx(model, x)
    logits = out["logits"]
    pred = logits.argmax(1)
    pcls, pprob, plog = read_predict_csv(a.predict_csv, 3)
    check(np.array_equal(pcls, pred),
          "ONNX class = mlptrain predict's class for every row")
    d = np.abs(plog - logits).max()
    check(d < 1e-4, f"logits within 1e-4 of mlptrain predict's (max {d:.2e})")
    d = np.abs(pprob - out["probabilities"]).max()
    check(d < 1e-4, f"probabilities within 1e-4 of the ONNX Softmax "
                    f"(max {d:.2e})")
    z = np.load(a.npz, allow_pickle=False)
    check(z["class_names"].tolist() == NAMES, "npz class_names")
    check(np.abs(run_npz(z, x) - logits).max() < 1e-9, "npz logits = ONNX")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
