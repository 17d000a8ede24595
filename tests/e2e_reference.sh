#!/bin/bash
# scripts/reference_torch.py, the PyTorch baseline of `make bench`: its
# learning-rate schedule (lr_at) at chosen steps against values worked out
# by hand, its defaults (the reference recipe) and usage errors, all without
# torch; then, with Debian's python3-torch, LambdaLR applies lr_at at every
# batch and a tiny run with every option prints the records bench/run.sh
# reads.
. "${srcdir:-.}/tests/lib.sh"

REF="${srcdir:-.}/scripts/reference_torch.py"
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
need_py torch python3-torch

# Load the script as a module: its pure parts need neither numpy nor torch.
load='import importlib.util, sys
spec = importlib.util.spec_from_file_location("rt", sys.argv[1])
rt = importlib.util.module_from_spec(spec); spec.loader.exec_module(rt)
'

"$PY" -c "$load"'
import math
L = rt.lr_at
eq = lambda a, b: abs(a - b) < 1e-12
# 10 steps an epoch, 100 in all.
assert all(L(s, "constant", 0.1, 10, 100) == 0.1 for s in range(120))
# Warm-up 0.5 epoch = 5 steps: 0.1 * (s + 1) / 5.
assert all(eq(L(s, "constant", 0.1, 10, 100, warmup=0.5), w) for s, w in
           enumerate([0.02, 0.04, 0.06, 0.08, 0.1, 0.1]))
# Cosine without warm-up: the peak at 0, the middle at 50, near the floor
# at 99 (0.001 + 0.099 (1 + cos(0.99 pi)) / 2 = 0.00102443...).
assert eq(L(0, "cosine", 0.1, 10, 100, lr_min=0.001), 0.1)
assert eq(L(50, "cosine", 0.1, 10, 100, lr_min=0.001), 0.0505)
assert abs(L(99, "cosine", 0.1, 10, 100, lr_min=0.001) - 0.00102443) < 1e-8
# Cosine after a 1-epoch warm-up (W = 10): the peak at 9 and 10, the
# middle at 10 + 90 / 2 = 55.
assert eq(L(9, "cosine", 0.1, 10, 100, warmup=1), 0.1)
assert eq(L(10, "cosine", 0.1, 10, 100, warmup=1), 0.1)
assert eq(L(55, "cosine", 0.1, 10, 100, warmup=1), 0.05)
# Step: halved every 2 epochs (20 steps).
assert [L(s, "step", 0.1, 10, 100, lr_step=2, lr_gamma=0.5)
        for s in (0, 19, 20, 39, 40, 99)] == [0.1, 0.1, 0.05, 0.05, 0.025,
                                              0.00625]
# Onecycle, U = 30% of 100: lr / 25 at 0, lr at 29, halfway down at
# 29 + 35, the floor at 99; with a warm-up U = W: the peak at W - 1 and
# halfway up at (W - 1) / 2.
assert eq(L(0, "onecycle", 0.1, 10, 100), 0.004)
assert eq(L(29, "onecycle", 0.1, 10, 100), 0.1)
assert eq(L(64, "onecycle", 0.1, 10, 100), 0.05)
assert eq(L(99, "onecycle", 0.1, 10, 100, lr_min=0.001), 0.001)
assert eq(L(19, "onecycle", 0.1, 10, 100, warmup=2), 0.1)
assert eq(L(10, "onecycle", 0.1, 10, 100, warmup=2.1), 0.052)  # W = 21
# Past the end: the last step'"'"'s rate.
assert L(150, "cosine", 0.1, 10, 100) == L(99, "cosine", 0.1, 10, 100)
' "$REF" 2>"$TMP/err" && ok "lr_at: warm-up, cosine, step, onecycle by hand" ||
    bad "lr_at: $(cat "$TMP/err")"

"$PY" -c "$load"'
ap = rt.parser()
a = ap.parse_args([]); rt.check(ap, a)
assert (a.epochs, a.batch, a.lr, a.seed, a.hidden, a.act, a.init, a.init_std,
        a.optimizer, a.momentum, a.weight_decay, a.schedule, a.dropout,
        a.label_smoothing, a.val, a.augment) == (10, 256, 0.1, 1, [256],
        "relu", "normal", 0.01, "sgd", 0.0, 0.0, "constant", 0.0, 0.0, 0,
        (0, False)), vars(a)
a = ap.parse_args("--optimizer adamw -e 2 -b 128 --hidden 1024:512".split())
rt.check(ap, a)
assert (a.weight_decay, a.epochs, a.batch, a.hidden) == (0.01, 2, 128,
                                                          [1024, 512])
a = ap.parse_args("--optimizer adamw --weight-decay 0".split()); rt.check(ap, a)
assert a.weight_decay == 0.0
a = ap.parse_args("--momentum 0.9 --nesterov --augment shift=2,flip".split())
assert a.nesterov == 1 and a.augment == (2, True)
' "$REF" 2>"$TMP/err" && ok "defaults: the reference recipe; adamw decay 0.01" ||
    bad "parser: $(cat "$TMP/err")"

for args in "--nesterov:--momentum" "--schedule step:--lr-step" \
    "--lr-min 1:--lr-min" "--dropout 1:--dropout" "--augment shift=x:shift=K" \
    "--clip-grad -1:--clip-grad"; do
    "$PY" "$REF" ${args%%:*} >"$TMP/out" 2>"$TMP/err"
    rc=$?
    [ "$rc" -eq 2 ] && grep -q -- "${args#*:}" "$TMP/err" &&
        ok "reference_torch.py ${args%%:*} -> usage error" ||
        bad "reference_torch.py ${args%%:*}: exit $rc, $(cat "$TMP/err")"
done

"$PY" -c "$load"'
import torch
for kind, kw in [("cosine", dict(warmup=0.5, lr_min=0.001)),
                 ("onecycle", {}), ("step", dict(lr_step=1, lr_gamma=0.5))]:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    sch = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: rt.lr_at(s, kind, 0.1, 7, 35, **kw) / 0.1)
    for s in range(35):
        assert abs(opt.param_groups[0]["lr"] -
                   rt.lr_at(s, kind, 0.1, 7, 35, **kw)) < 1e-15, (kind, s)
        opt.step(); sch.step()
' "$REF" 2>"$TMP/err" && ok "LambdaLR: lr_at(step) at every batch" ||
    bad "LambdaLR: $(cat "$TMP/err")"

D="$TMP/data"
mkdir "$D"
"$MKDATA" "$D" 300 100 12 12 5 gz || { bad "mkdata"; finish; exit 1; }
if "$PY" "$REF" --data "$D" -e 2 -b 50 -j 0 --threads 1 --optimizer adamw \
    --lr 0.01 --schedule onecycle --lr-min 0.0001 --dropout 0.2 \
    --input-dropout 0.1 --label-smoothing 0.1 --init he --hidden 32,16 \
    --val 50 --augment shift=1,flip --clip-grad 1 >"$TMP/out" 2>"$TMP/err"; then
    "$PY" -c 'import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ep, end = recs[:-1], recs[-1]
assert [r["epoch"] for r in ep] == [1, 2] and end["type"] == "end"
for r in ep:
    for k in ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss",
              "test_acc", "lr", "seconds", "samples_per_s"):
        assert k in r, k
assert abs(ep[1]["lr"] - 0.0001) < 1e-12      # onecycle ends at lr_min
assert end["epochs"] == 2 and end["samples_per_s"] > 0 and end["seconds"] > 0
' "$TMP/out" 2>"$TMP/err" && ok "a tiny run with every option: its records" ||
        bad "records: $(cat "$TMP/err") $(cat "$TMP/out")"
else
    bad "tiny run: $(tail -3 "$TMP/err")"
fi
finish
