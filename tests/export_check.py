#!/usr/bin/python3
"""Check `mlptrain export` files against mlptrain's own figures.

Run by tests/e2e_export.sh with Debian's /usr/bin/python3 (python3-onnx,
python3-numpy, python3-torch for --torch).  Exit 0: all checks passed; 1: a
check failed (each failure printed) or onnx or numpy is missing.

Independent of mlptrain's code: the IDX reader, the ONNX graph evaluator
(onnx 1.12 has no reference evaluator: this walks the nodes and computes
each operator in float64 NumPy from its ONNX definition) and the .npz
forward pass are written here.
"""
import argparse
import gzip
import json
import struct
import sys

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # pragma: no cover
    print(f"FAIL: {e}: ./bootstrap installs it (Debian packages "
          "python3-onnx python3-numpy)")
    sys.exit(1)

LOGIT_TOL = 1e-4
PROB_TOL = 1e-4
failures = []


def check(cond, what):
    print(("PASS: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def read_idx(path):
    """An IDX file of unsigned bytes (plain or gzip) as an array."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    assert zero == 0 and dtype == 0x08, f"{path}: not an unsigned-byte IDX"
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def run_onnx(model, x):
    """Evaluate the graph on x (float64): every node in order."""
    env = {t.name: numpy_helper.to_array(t).astype(np.float64)
           for t in model.graph.initializer}
    env[model.graph.input[0].name] = x
    for n in model.graph.node:
        a = attrs(n)
        i = [env[name] for name in n.input]
        if n.op_type == "Sub":
            y = i[0] - i[1]
        elif n.op_type == "Mul":
            y = i[0] * i[1]
        elif n.op_type == "Gemm":
            A = i[0].T if a.get("transA", 0) else i[0]
            B = i[1].T if a.get("transB", 0) else i[1]
            y = a.get("alpha", 1.0) * (A @ B)
            if len(i) > 2:
                y = y + a.get("beta", 1.0) * i[2]
        elif n.op_type == "Relu":
            y = np.maximum(i[0], 0.0)
        elif n.op_type == "Sigmoid":
            y = 1.0 / (1.0 + np.exp(-i[0]))
        elif n.op_type == "Tanh":
            y = np.tanh(i[0])
        elif n.op_type == "Softmax":  # opset 13: along `axis` [-1]
            y = softmax(i[0], a.get("axis", -1))
        else:
            raise ValueError(f"operator {n.op_type} not in the evaluator")
        env[n.output[0]] = y
    return {o.name: env[o.name] for o in model.graph.output}


def run_npz(z, x):
    """The MLP of an exported .npz on raw inputs x (float64)."""
    act = {"relu": lambda v: np.maximum(v, 0.0),
           "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
           "tanh": np.tanh}.get(str(z["activation"]))
    n = len(z["sizes"]) - 1
    h = (x - z["shift"].astype(np.float64)) * z["scale"].astype(np.float64)
    for i in range(n):
        h = h @ z[f"W{i}"].astype(np.float64).T + z[f"b{i}"]
        if i < n - 1:
            h = act(h)
    return h


def read_predict_csv(path, nclasses):
    """mlptrain predict --csv --logits: row,class,name,p_*,logit_*."""
    import csv
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    want = (["row", "class", "name"] + [f"p_{k}" for k in range(nclasses)]
            + [f"logit_{k}" for k in range(nclasses)])
    check(head == want, f"predict --csv header {head[:4]}... is the contract")
    cls = np.array([int(r[1]) for r in rows[1:]])
    probs = np.array([[float(v) for v in r[3:3 + nclasses]] for r in rows[1:]])
    logits = np.array([[float(v) for v in r[3 + nclasses:]] for r in rows[1:]])
    return cls, probs, logits


def torch_accuracy(npz_path, images, labels):
    """doc/export.md's PyTorch lines, as written there (tests/docs_check.py
    checks that they are)."""
    import torch
    z = np.load(npz_path); n = len(z["sizes"]) - 1; Act = {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}.get(str(z["activation"]))  # noqa: E501,E702
    net = torch.nn.Sequential(*[m for i in range(n) for m in [torch.nn.Linear(*z[f"W{i}"].shape[::-1])] + ([Act()] if i < n - 1 else [])])  # noqa: E501
    net.load_state_dict({f"{2 * i}.weight": torch.from_numpy(z[f"W{i}"]) for i in range(n)} | {f"{2 * i}.bias": torch.from_numpy(z[f"b{i}"]) for i in range(n)})  # noqa: E501
    x = (torch.from_numpy(images.astype(np.float32)) - torch.from_numpy(z["shift"])) * torch.from_numpy(z["scale"])  # noqa: E501
    acc = (net(x).argmax(1).numpy() == labels).mean()
    return acc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--npz", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--labels", required=True)
    ap.add_argument("--eval-json", required=True)
    ap.add_argument("--predict-csv")
    ap.add_argument("--logit-tol", type=float, default=LOGIT_TOL,
                    help="largest |predict's logit - ONNX's|")
    ap.add_argument("--act", required=True)
    ap.add_argument("--sizes", required=True, help="in-h1-...-C")
    ap.add_argument("--torch", action="store_true")
    args = ap.parse_args()

    model = onnx.load(args.onnx)
    onnx.checker.check_model(model, full_check=True)
    check(True, "onnx.checker.check_model(full_check=True)")
    check(model.ir_version in (7, 8), f"ir_version {model.ir_version}")
    ops = {o.domain: o.version for o in model.opset_import}
    check(ops == {"": 13}, f"opset_import {ops}")
    check(model.producer_name == "mlptrain", "producer mlptrain")
    inp = model.graph.input[0]
    dims = inp.type.tensor_type.shape.dim
    sizes = [int(s) for s in args.sizes.split("-")]
    check(inp.name == "input" and dims[0].dim_param == "batch"
          and dims[1].dim_value == sizes[0]
          and inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT,
          "input 'input' float32 [batch, in]")
    check([o.name for o in model.graph.output] == ["logits", "probabilities"],
          "outputs logits, probabilities")
    acts = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    nl = len(sizes) - 1
    want = ["Sub", "Mul"]
    for i in range(nl):
        want += ["Gemm"] + ([acts[args.act]] if i < nl - 1 else [])
    want += ["Softmax"]
    check([n.op_type for n in model.graph.node] == want,
          f"nodes {want}")
    meta = {p.key: p.value for p in model.metadata_props}
    names = json.loads(meta["class_names"])
    check(len(names) == sizes[-1], f"metadata class_names {names}")
    check(meta.get("shape") == args.sizes and meta.get("activation")
          == (args.act if nl > 1 else "linear"), "metadata shape, activation")

    images = read_idx(args.images)
    labels = read_idx(args.labels).astype(np.int64)
    x = images.reshape(len(images), -1).astype(np.float64)
    out = run_onnx(model, x)
    logits, probs = out["logits"], out["probabilities"]
    c = logits.shape[1]
    check(logits.shape == (len(x), sizes[-1]), f"logits {logits.shape}")
    check(np.allclose(probs, softmax(logits, 1), atol=1e-12)
          and np.allclose(probs.sum(1), 1.0), "probabilities = softmax")
    pred = logits.argmax(1)

    # mlptrain's figures: accuracy and confusion matrix from eval --json.
    ev = json.load(open(args.eval_json))
    conf = np.zeros((c, c), np.int64)
    np.add.at(conf, (labels, pred), 1)
    check(conf.tolist() == ev["confusion"],
          "ONNX confusion matrix = mlptrain eval's")
    correct = int((pred == labels).sum())
    check(correct == ev["correct"] and ev["samples"] == len(x),
          f"ONNX correct {correct}/{len(x)} = mlptrain eval's "
          f"{ev['correct']}/{ev['samples']} (acc {ev['accuracy']})")

    # The .npz: same weights, same logits.
    z = np.load(args.npz, allow_pickle=False)
    want_keys = {f"{p}{i}" for i in range(nl) for p in "Wb"} | {
        "shift", "scale", "sizes", "activation", "class_names"}
    check(set(z.files) == want_keys, f"npz arrays {sorted(z.files)}")
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    same = all(z[k].dtype == np.float32 and np.array_equal(z[k], inits[k])
               for k in inits)
    check(same, "npz float32 arrays equal the ONNX initializers bit for bit")
    check(z["sizes"].tolist() == sizes, f"npz sizes {z['sizes'].tolist()}")
    check(z["class_names"].tolist() == names, "npz class_names")
    nlog = run_npz(z, x)
    check(np.abs(nlog - logits).max() < 1e-9, "npz logits = ONNX logits")
    # The input scaling of today's checkpoints (uint8 pixels, p / 255 as
    # the loader decodes), independent of the files' shift and scale.
    ref = x / 255.0
    for i in range(nl):
        ref = ref @ z[f"W{i}"].astype(np.float64).T + z[f"b{i}"]
        if i < nl - 1:
            ref = {"relu": lambda v: np.maximum(v, 0.0),
                   "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
                   "tanh": np.tanh}[args.act](ref)
    # (p * float32(1/255) is within an ulp of p / 255: the gap grows with
    # the logits, so the bound is 1e-5 per 10 of the largest.)
    tol = 1e-5 * max(1.0, np.abs(logits).max() / 10)
    check(np.abs(ref - logits).max() < tol,
          f"ONNX on raw pixels = the net on p / 255 "
          f"(max diff {np.abs(ref - logits).max():.2e}, bound {tol:.1e})")

    if args.predict_csv:
        pcls, pprob, plog = read_predict_csv(args.predict_csv, c)
        check(len(pcls) == len(x), f"predict rows {len(pcls)}")
        if len(pcls) == len(x):
            check(np.array_equal(pcls, pred),
                  "ONNX class = mlptrain predict's class for every sample")
            d = np.abs(plog - logits).max()
            check(d < args.logit_tol, f"logits within {args.logit_tol} of "
                                      f"mlptrain predict's (max diff {d:.2e})")
            # The probabilities: the graph's Softmax, row by row (finite
            # however large the logits: both subtract the largest).
            d = np.abs(pprob - probs).max()
            check(np.all(np.isfinite(pprob)) and d < PROB_TOL,
                  f"probabilities within {PROB_TOL} of the ONNX Softmax "
                  f"(max diff {d:.2e}, largest |logit| "
                  f"{np.abs(logits).max():.3g})")
    else:
        print("SKIP: per-sample comparison (mlptrain predict has no --input)")

    if args.torch:
        acc = torch_accuracy(args.npz, x.astype(np.uint8), labels)
        check(abs(acc - ev["correct"] / ev["samples"]) < 1e-12,
              f"doc/export.md's PyTorch lines: accuracy {acc} = mlptrain eval's")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
