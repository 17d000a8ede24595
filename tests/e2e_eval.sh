#!/bin/bash
# End-to-end: train a tiny model with --save, then `eval` (text and JSON,
# the same accuracy the training printed) and `predict` (text and --png);
# bad usage exits 2; a missing, corrupt or unfitting model exits 1 with a
# message naming the file.
. "${srcdir:-.}/tests/lib.sh"
need_tool "$PY" python3
need_tool gnuplot gnuplot-nox

D="$TMP/data"
M="$TMP/m.ckpt"
mkdir "$D"
"$MKDATA" "$D" 600 150 12 12 5 gz || { bad "mkdata"; finish; exit 1; }

# Train: the last epoch's test accuracy and loss are what eval must print
# (same batch and threads, so the same arithmetic).  Two epochs at this
# rate leave it between chance and 1 (0.83), so agreeing means something.
"$MLPTRAIN" --data "$D" --epochs 2 --lr 0.05 --batch 50 --hidden 16 \
    --threads 2 --init-std 0.1 -j 0 --save "$M" --log "$TMP/log" \
    >"$TMP/train" 2>"$TMP/err" && [ -s "$M" ] && ok "train --save" ||
    { bad "train --save: $(cat "$TMP/err")"; finish; exit 1; }
train_acc=$(grep '^epoch' "$TMP/train" | tail -1 | sed 's/.*test acc \([0-9.]*\).*/\1/')
train_loss=$(grep '"type":"epoch"' "$TMP/log" | tail -1 |
    sed 's/.*"test_loss":\([0-9.]*\).*/\1/')

run() { "$MLPTRAIN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null; }

if run eval --model "$M" --data "$D" --batch 50 --threads 2; then
    ok "eval runs"
    acc=$(sed -n 's/^test .* acc \([0-9.]*\) .*/\1/p' "$TMP/out")
    [ -n "$acc" ] && [ "$acc" = "$train_acc" ] &&
        ok "eval acc $acc = training's last test acc" ||
        bad "eval acc '$acc', training printed '$train_acc'"
    loss=$(sed -n 's/^test  *loss \([0-9.]*\) .*/\1/p' "$TMP/out")
    awk -v a="$loss" -v b="$train_loss" 'BEGIN { d = a - b; exit !(a != "" && d < 1e-4 && d > -1e-4) }' &&
        ok "eval loss $loss = training's last test loss" ||
        bad "eval loss '$loss', training logged '$train_loss'"
    grep -q '^confusion matrix (rows: true class, columns: predicted class)' \
        "$TMP/out" && ok "confusion matrix title" || bad "no matrix: $(cat "$TMP/out")"
    # Header of class numbers, then one row per class, labelled.
    grep -Eq '^ +0 +1 +2 +3 +4$' "$TMP/out" && ok "matrix header 0..4" ||
        bad "matrix header: $(cat "$TMP/out")"
    [ "$(grep -Ec '^[0-4]( +[0-9]+){5}$' "$TMP/out")" -eq 5 ] &&
        ok "five matrix rows" || bad "matrix rows: $(cat "$TMP/out")"
    # The rows add up to the 150 test samples.
    total=$(grep -E '^[0-4]( +[0-9]+){5}$' "$TMP/out" |
        awk '{ for (i = 2; i <= NF; i++) s += $i } END { print s }')
    [ "$total" = 150 ] && ok "matrix sums to 150" || bad "matrix sums to $total"
    [ "$(grep -Ec '^  [0-4]  +[0-9.]+  \([0-9]+ of [0-9]+\)$' "$TMP/out")" -eq 5 ] &&
        ok "per-class accuracy lines" || bad "per-class: $(cat "$TMP/out")"
    # Precision, recall, F1 and samples per class, then the macro row of
    # all 150 samples; no line over 80 columns.
    [ "$(grep -Ec '^  [0-4] +( +[01]\.[0-9]{4}){3} +[0-9]+$' "$TMP/out")" -eq 5 ] &&
        grep -Eq '^  macro avg +( +[01]\.[0-9]{4}){3} +150$' "$TMP/out" &&
        ok "precision/recall/F1 table" || bad "prf table: $(cat "$TMP/out")"
    [ "$(awk 'length > 80' "$TMP/out" | wc -l)" -eq 0 ] &&
        ok "eval lines <= 80 columns" || bad "long lines: $(cat "$TMP/out")"
    cp "$TMP/out" "$TMP/eval.txt"
else
    bad "eval: $(cat "$TMP/err")"
fi

if run eval --model "$M" --data "$D" --json --limit-test 40 \
    --class-names ant,bee,cat,dog,eel; then
    [ "$(wc -l <"$TMP/out")" -eq 1 ] && grep -q '^{"model":.*"samples":40,' \
        "$TMP/out" && grep -q '"classes":\["ant","bee","cat","dog","eel"\]' \
        "$TMP/out" && ok "eval --json --class-names" ||
        bad "eval --json: $(cat "$TMP/out")"
    json_ok "$TMP/out" 'sum(map(sum, d["confusion"])) == 40' &&
        ok "--json parses, matrix sums to 40" || bad "--json is not valid JSON"
else
    bad "eval --json: $(cat "$TMP/err")"
fi

# --json on all the samples: per-class precision, recall, F1 in [0, 1],
# recall = accuracy, macro = the mean over the classes that occur, and the
# same figures as the text table to its 4 decimals.
if [ -s "$TMP/eval.txt" ] &&
    run eval --model "$M" --data "$D" --batch 50 --threads 2 --json; then
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
m = d["confusion"]; c = len(m)
assert len(d["per_class"]) == c == 5
occ = [k for k in range(c) if sum(m[k]) + sum(r[k] for r in m) > 0]
for k, o in enumerate(d["per_class"]):
    for key in ("precision", "recall", "f1"):
        assert 0 <= o[key] <= 1, (k, key)
    pred = sum(r[k] for r in m)
    p = m[k][k] / pred if pred else 0.0
    r = m[k][k] / sum(m[k]) if sum(m[k]) else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    assert abs(o["precision"] - p) < 1e-6 and abs(o["recall"] - r) < 1e-6
    assert abs(o["f1"] - f) < 1e-6, (k, o, f)
    if o["accuracy"] is not None:
        assert o["recall"] == o["accuracy"]
mac = d["macro"]
assert sorted(mac) == ["f1", "precision", "recall"]
for key in mac:
    want = sum(d["per_class"][k][key] for k in occ) / len(occ)
    assert abs(mac[key] - want) < 1e-6, (key, mac[key], want)
text = open(sys.argv[2]).read().split("\nprecision, recall and F1")[1]
rows = {l[:-4 * 9].strip(): l.split()[-4:] for l in text.splitlines()[2:]}
def same(t, o):
    for x, key in zip(t[:3], ("precision", "recall", "f1")):
        assert abs(float(x) - o[key]) <= 5.1e-5, (t, o)
for o in d["per_class"]:
    same(rows[o["class"]], o)
    assert int(rows[o["class"]][3]) == o["samples"]
same(rows["macro avg"], mac)
assert int(rows["macro avg"][3]) == d["samples"] == 150
assert len(rows) == 6
' "$TMP/out" "$TMP/eval.txt" 2>"$TMP/py" &&
        ok "--json precision/recall/F1 and macro, consistent with text" ||
        bad "--json prf: $(cat "$TMP/py") $(cat "$TMP/out")"

else
    bad "eval --json: $(cat "$TMP/err")"
fi

if run predict --model "$M" --data "$D" -n 4; then
    [ "$(grep -c '^true  ' "$TMP/out")" -ge 1 ] &&
        [ "$(grep -o 'true  [0-4]' "$TMP/out" | wc -l)" -eq 4 ] &&
        [ "$(grep -o 'pred  [0-4]' "$TMP/out" | wc -l)" -eq 4 ] &&
        grep -Eq '^[0-4] of 4 right$' "$TMP/out" &&
        grep -q '[.:=+*#%@-]' "$TMP/out" && ok "predict -n 4" ||
        bad "predict output: $(cat "$TMP/out")"
    ! grep -q ' $' "$TMP/out" && ok "no trailing blanks" || bad "trailing blanks"
else
    bad "predict: $(cat "$TMP/err")"
fi

if run predict --model "$M" --data "$D" --png "$TMP/p.png" &&
    [ "$(head -c 8 "$TMP/p.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; then
    ok "predict --png writes a PNG"
else
    bad "predict --png: $(cat "$TMP/err")"
fi

# Bad usage: exit 2, the message names the option.
expect_exit 2 "option '--model' is required" -- eval --data "$D"
expect_exit 2 "option '--batch'" -- eval --model "$M" --batch 0
expect_exit 2 "unknown option '--nope'" -- eval --model "$M" --nope
expect_exit 2 "option '--limit-test'" -- predict --model "$M" -n 0
expect_exit 2 "unexpected argument 'more'" -- predict --model "$M" more
expect_exit 2 "option '--class-names': 2 names for 5 classes" -- \
    eval --model "$M" --data "$D" --class-names a,b
run eval --help && grep -q 'batch size; N in 1..1048576 \[256\]' "$TMP/out" &&
    run predict --help && grep -q 'N in 1..100; not with --input \[10\]' "$TMP/out" &&
    ok "--help shows the defaults" || bad "--help: $(cat "$TMP/out")"

# Runtime errors: exit 1, the message names the model file.
expect_exit 1 "nope.ckpt" -- eval --model "$TMP/nope.ckpt" --data "$D"
head -c 100 "$M" >"$TMP/short.ckpt"
expect_exit 1 "short.ckpt" -- eval --model "$TMP/short.ckpt" --data "$D"
cp "$M" "$TMP/flip.ckpt"
printf 'X' | dd of="$TMP/flip.ckpt" bs=1 seek=300 conv=notrunc 2>/dev/null
expect_exit 1 "flip.ckpt" -- predict --model "$TMP/flip.ckpt" --data "$D"
printf 'not a model\n' >"$TMP/text.ckpt"
expect_exit 1 "text.ckpt" -- eval --model "$TMP/text.ckpt" --data "$D"

# A model that does not fit the data.
mkdir "$TMP/d10" "$TMP/d6"
"$MKDATA" "$TMP/d10" 60 20 10 10 5 plain && "$MKDATA" "$TMP/d6" 60 20 12 12 6 plain ||
    bad "mkdata"
expect_exit 1 "model '$M' takes 144 inputs" -- eval --model "$M" --data "$TMP/d10"
expect_exit 1 "model '$M' has 5 classes" -- predict --model "$M" --data "$TMP/d6"

finish
