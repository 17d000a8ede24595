#!/bin/bash
# End-to-end: checkpoint format version 2 and its options text.  A version
# 1 file (tests/data/v1-momentum.ckpt, written by mlptrain 0.1.0 before
# version 2) still resumes exactly; every option a checkpoint keeps comes
# back from the text, and a given value that differs is a conflict; an
# option the text does not name has its default; a text naming an unknown
# option or holding a bad value is refused, naming the file and the line.
# --until pauses a run at an epoch of its plan; resumed, it is the
# straight run, checkpoint bytes included.
. "${srcdir:-.}/tests/lib.sh"
need_tool "$PY" python3
CKPT_EDIT="${srcdir:-.}/tests/ckpt_edit.py"

D="$TMP/data"
mkdir "$D"
# The data the version 1 file was trained on (mkdata is deterministic).
"$MKDATA" "$D" 64 32 4 4 3 || { bad "mkdata"; finish; exit 1; }
V1="${srcdir:-.}/tests/data/v1-momentum.ckpt"
common=(--data "$D" --hidden 8 --momentum 0.9 --lr 0.5 -b 16 -j 0 -t 1)

figures() { grep '^epoch' "$1" | sed 's/  [0-9.]* s  .*//'; }

# ---- version 1 resumes exactly ----------------------------------------------
"$MLPTRAIN" "${common[@]}" -e 3 >"$TMP/full" 2>"$TMP/err" ||
    bad "3 epochs: $(cat "$TMP/err")"
cp "$V1" "$TMP/v1.ckpt"
"$MLPTRAIN" --data "$D" -t 1 -e 3 --resume "$TMP/v1.ckpt" --save "$TMP/v2.ckpt" \
    >"$TMP/rest" 2>"$TMP/err" || bad "--resume v1: $(cat "$TMP/err")"
if [ -n "$(figures "$TMP/rest")" ] &&
   [ "$(figures "$TMP/full" | tail -n 2)" = "$(figures "$TMP/rest")" ]; then
    ok "a version 1 checkpoint resumes exactly"
else
    bad "v1 resume differs: $(figures "$TMP/full") / $(figures "$TMP/rest")"
fi
v=$(od -A n -t u4 -j 8 -N 4 "$TMP/v2.ckpt" | tr -d ' ')
[ "$v" = 3 ] && ok "a save is format version 3" || bad "version $v"
cmp -s "$V1" "$TMP/v1.ckpt" && ok "the version 1 file is left as it was" ||
    bad "the version 1 file changed"
# The resumed run's options are the file's: a conflict names them.
expect_exit 2 "option '--momentum': 0.5 conflicts with the checkpoint" -- \
    --data "$D" -e 4 --momentum 0.5 --resume "$TMP/v2.ckpt"

# ---- version 2 keeps every checkpointed option ------------------------------
"$MLPTRAIN" --data "$D" --hidden 6:5 --act tanh --init-std 0.2 \
    --weight-decay 0.001 --label-smoothing 0.05 -b 8 -s 7 -e 1 -j 0 -t 1 \
    --save "$TMP/o.ckpt" \
    >/dev/null 2>"$TMP/err" || bad "save: $(cat "$TMP/err")"
cp "$TMP/o.ckpt" "$TMP/o2.ckpt" # a resumed run saves into its file
"$MLPTRAIN" --data "$D" -e 2 -j 0 -t 1 --resume "$TMP/o2.ckpt" \
    --log "$TMP/o.jsonl" >/dev/null 2>"$TMP/err" || bad "resume: $(cat "$TMP/err")"
opts=$(head -n 1 "$TMP/o.jsonl" | "$PY" -c '
import json, sys
o = json.loads(sys.stdin.readline())["options"]
print(o["hidden"], o["act"], o["init_std"], o["weight_decay"], o["batch"], o["seed"])')
[ "$opts" = "[6, 5] tanh 0.2 0.001 8 7" ] &&
    ok "the options come back from the checkpoint" || bad "options: $opts"
for bad_opt in "--act relu" "--hidden 6" "--seed 8" "--batch 9"; do
    # shellcheck disable=SC2086
    expect_exit 2 "conflicts with the checkpoint" -- \
        --data "$D" -e 3 $bad_opt --resume "$TMP/o.ckpt"
done

# ---- the options text: edited files -----------------------------------------
# edit FILE OLD NEW OUT: replace text in the options, fix sizes and crc32.
edit() { "$PY" "$CKPT_EDIT" "$1" "$4" "replace:$2:$3"; }
edit "$TMP/o.ckpt" "seed=7" "colour=blue" "$TMP/unknown.ckpt"
expect_exit 1 "unknown.ckpt: option 'colour' (line [0-9]*) is not one this mlptrain keeps" -- \
    --data "$D" -e 3 --resume "$TMP/unknown.ckpt"
edit "$TMP/o.ckpt" "act=tanh" "act=swish" "$TMP/badval.ckpt"
expect_exit 1 "badval.ckpt: options line [0-9]*: option '--act': unknown value 'swish'" -- \
    --data "$D" -e 3 --resume "$TMP/badval.ckpt"
# An option the text does not name has its default (here label-smoothing
# 0), or, for those the header keeps too, the header's (here seed 7).
edit "$TMP/o.ckpt" "seed=7\n" "" "$TMP/noseed.ckpt"
"$PY" "$CKPT_EDIT" "$TMP/noseed.ckpt" "$TMP/noseed.ckpt" \
    "replace:label-smoothing=0.0500000007\n:"
"$MLPTRAIN" --data "$D" -e 2 -j 0 -t 1 --resume "$TMP/noseed.ckpt" \
    --log "$TMP/n.jsonl" >/dev/null 2>"$TMP/err" || bad "resume: $(cat "$TMP/err")"
got=$(head -n 1 "$TMP/n.jsonl" | "$PY" -c '
import json, sys
o = json.loads(sys.stdin.readline())["options"]
print(o["seed"], float(o["label_smoothing"]))')
[ "$got" = "7 0.0" ] &&
    ok "an option the file does not name: the header's value, else the default" ||
    bad "seed, label smoothing: $got"

# ---- --until: a run paused at epoch E of its plan, then resumed ----------------
# The schedule (warm-up, cosine) spans --epochs in both: paused at 2, then
# at 4, then resumed to 6 is the straight 6-epoch run, digit for digit,
# and its last checkpoint is the same file, byte for byte.
plan=(--data "$D" --hidden 8 --optimizer adamw --lr 0.01 --schedule cosine
      --warmup 1 --val 16 -b 16 -j 0 -t 1 -e 6)
"$MLPTRAIN" "${plan[@]}" --save "$TMP/straight.ckpt" --log "$TMP/straight.jsonl" \
    >"$TMP/straight" 2>"$TMP/err" || bad "straight run: $(cat "$TMP/err")"
"$MLPTRAIN" "${plan[@]}" --until 2 --save "$TMP/paused.ckpt" \
    --log "$TMP/paused.jsonl" >"$TMP/p1" 2>"$TMP/err"
rc=$?
[ "$rc" -eq 0 ] && grep -q '^paused: 2 of 6 epochs in ' "$TMP/p1" &&
    grep -q 'pausing after epoch 2' "$TMP/p1" &&
    tail -n 1 "$TMP/paused.jsonl" | grep -q '"type":"end","status":"paused","epochs":2,' &&
    ok "--until 2: exit 0, paused after 2 of 6 epochs, logged as paused" ||
    bad "--until 2: exit $rc: $(cat "$TMP/p1" "$TMP/err")"
"$MLPTRAIN" "${plan[@]}" --resume "$TMP/paused.ckpt" --until 4 \
    --log "$TMP/paused.jsonl" >"$TMP/p2" 2>"$TMP/err" &&
"$MLPTRAIN" "${plan[@]}" --resume "$TMP/paused.ckpt" \
    --log "$TMP/paused.jsonl" >"$TMP/p3" 2>"$TMP/err" ||
    bad "resume the paused run: $(cat "$TMP/err")"
[ "$(figures "$TMP/straight")" = "$(cat "$TMP/p1" "$TMP/p2" "$TMP/p3" | figures /dev/stdin)" ] &&
    [ "$(figures "$TMP/straight" | wc -l)" -eq 6 ] &&
    ok "paused at 2 and 4, resumed to 6 = straight 6 epochs, digit for digit" ||
    bad "figures: $(figures "$TMP/straight") / $(cat "$TMP/p1" "$TMP/p2" "$TMP/p3" | figures /dev/stdin)"
cmp -s "$TMP/straight.ckpt" "$TMP/paused.ckpt" &&
    ok "the resumed run's checkpoint = the straight run's, byte for byte" ||
    bad "checkpoints differ: $(cmp "$TMP/straight.ckpt" "$TMP/paused.ckpt")"
ep() { grep '"type":"epoch"' "$1" | sed 's/,"seconds".*//'; }
[ "$(ep "$TMP/straight.jsonl")" = "$(ep "$TMP/paused.jsonl")" ] &&
    tail -n 1 "$TMP/paused.jsonl" | grep -q '"status":"ok","epochs":6,' &&
    ok "its log: the same epoch records, ending ok" || bad "log of the paused run"
expect_exit 2 "option '--until' needs --save FILE or --resume FILE: it pauses a run to continue it later" -- \
    "${plan[@]}" --until 2
expect_exit 2 "option '--until': 7 is above --epochs (6): it pauses the run within its plan" -- \
    "${plan[@]}" --until 7 --save "$TMP/x.ckpt"
expect_exit 2 "option '--until': 2, but the checkpoint '.*' has completed 6 epochs" -- \
    "${plan[@]}" -e 9 --until 2 --resume "$TMP/paused.ckpt"
expect_exit 2 "option '--until': '0' is out of range" -- "${plan[@]}" --until 0
# ---- issue 20: the header against its options text --------------------------
# A header field the text names otherwise, a line given twice, an epoch in
# progress whose batches, correct count or loss its options cannot give:
# each refused naming the file, before anything is trained.
bad_ckpt() { # PATTERN EDIT...
    local pat=$1
    shift
    "$PY" "$CKPT_EDIT" "$TMP/o.ckpt" "$TMP/bad.ckpt" "$@"
    expect_exit 1 "bad.ckpt: $pat" -- --data "$D" -e 3 -j 0 -t 1 \
        --resume "$TMP/bad.ckpt"
}
bad_ckpt "the header's batch is 1, the options text's 8" u64:128=1 u64:184=8
bad_ckpt "option 'lr' is on options lines" append:lr=0.5\\n
bad_ckpt "the header's seed is 7, the options text's 8" line:seed=8
bad_ckpt "40 correct of the 8 rows" u64:184=1 u64:200=40 f64:192=1
bad_ckpt "a loss sum of 1e+300 over 8 rows" u64:184=1 u64:200=1 f64:192=1e300
bad_ckpt "the header's act is tanh, the options text's relu" line:act=relu
# Bug 13: the real size of a long options text, and the limit.
bad_ckpt "70000 bytes of options text; a checkpoint holds at most 65536" \
    size:70000
[ "$(grep -c truncated "$TMP/err")" = 0 ] ||
    bad "a long options text is called truncated: $(cat "$TMP/err")"
finish
