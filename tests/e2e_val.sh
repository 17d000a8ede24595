#!/bin/bash
# End-to-end: --val N: validation figures on the epoch line and in the log,
# the same for -j 0 and -j 4; the best epoch by validation accuracy;
# --save-best and --early-stop; their usage errors; a sweep ranked by
# validation accuracy.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
make_data "$D" 1200 300 12 12 7 gz
common=(--data "$D" --epochs 4 --batch 50 --hidden 24 --threads 2 --init-std 0.1)

"$MLPTRAIN" "${common[@]}" -j 0 >"$TMP/plain" 2>"$TMP/err" &&
    ! grep -q 'val' "$TMP/plain" && ok "no --val: no val figures" ||
    bad "no --val: $(cat "$TMP/plain" "$TMP/err")"
"$MLPTRAIN" "${common[@]}" --val 200 -j 0 >"$TMP/j0" 2>"$TMP/err" &&
    ok "--val 200 -j 0 trains" || bad "--val -j 0: $(cat "$TMP/err")"
"$MLPTRAIN" "${common[@]}" --val 200 -j 4 --log "$TMP/log.jsonl" \
    --save-best "$TMP/best.ckpt" >"$TMP/j4" 2>"$TMP/err" &&
    ok "--val 200 -j 4 trains" || bad "--val -j 4: $(cat "$TMP/err")"
[ "$(figures "$TMP/j0" | grep -c '  train acc [0-9.]*  val loss [0-9.]*  val acc [0-9.]*  test acc ')" -eq 4 ] &&
    ok "epoch lines show val loss and val acc" || bad "epoch lines: $(cat "$TMP/j0")"
if [ -n "$(figures "$TMP/j0")" ] && [ "$(figures "$TMP/j0")" = "$(figures "$TMP/j4")" ]; then
    ok "-j 0 and -j 4 print the same figures with --val"
else
    bad "-j 0 and -j 4 differ: $(figures "$TMP/j0") / $(figures "$TMP/j4")"
fi
[ "$(figures "$TMP/j0")" != "$(figures "$TMP/plain")" ] &&
    ok "--val trains on fewer samples" || bad "--val changed nothing"
# The best epoch: the first of the highest val acc, computed here.
best=$(figures "$TMP/j0" | awk '{ for (i = 1; i < NF; i++) if ($i == "val" && $(i + 1) == "acc") v = $(i + 2);
       if (v > b) { b = v; e = $2 } } END { print e }')
grep -q "^ok: 4 epochs.*(best val acc [0-9.]* at epoch $best, test acc there " "$TMP/j0" &&
    ok "summary: best epoch $best by val acc" || bad "summary: $(tail -1 "$TMP/j0")"
grep -c '"type":"epoch".*"val_loss":[0-9.]*,"val_acc":[0-9.]*}' "$TMP/log.jsonl" | grep -qx 4 &&
    grep -q '"type":"end".*"best_epoch":'"$best"',.*"best_val_acc":' "$TMP/log.jsonl" &&
    grep -q '"dataset":{"train":1000,' "$TMP/log.jsonl" &&
    ok "log: val figures, best epoch, 1000 training samples" ||
    bad "log: $(cat "$TMP/log.jsonl")"
[ -s "$TMP/best.ckpt" ] && [ ! -e "$TMP/best.ckpt.lock" ] &&
    ok "--save-best wrote its checkpoint" || bad "--save-best: $(ls "$TMP")"
# The best checkpoint evaluates to the best epoch's test accuracy.
want=$(figures "$TMP/j0" | awk -v e="$best" '$2 == e { print $NF }')
"$MLPTRAIN" eval --model "$TMP/best.ckpt" --data "$D" >"$TMP/eval" 2>&1 &&
    grep -q "$want" "$TMP/eval" && ok "the best checkpoint is epoch $best's (test acc $want)" ||
    bad "eval of the best checkpoint (want $want): $(cat "$TMP/eval")"

# Early stop: a rate too small to move a weight never lowers the loss.
"$MLPTRAIN" "${common[@]}" --epochs 20 --lr 1e-30 --val 200 --early-stop 2 -q \
    >"$TMP/es" 2>"$TMP/err" &&
    grep -q '^ok: 3 epochs.*stopped early at epoch 3 (no better val loss for 2 epochs)' "$TMP/es" &&
    ok "--early-stop 2 stops at epoch 3, status ok" ||
    bad "--early-stop: $(cat "$TMP/es" "$TMP/err")"

# Resume: the same held-out samples, the same figures; --val is kept in
# the checkpoint, so a resume that does not repeat it holds out the same
# samples, and another value is a conflict.
"$MLPTRAIN" "${common[@]}" --val 200 -j 2 --epochs 2 --save "$TMP/r.ckpt" -q >/dev/null 2>&1 &&
    cp "$TMP/r.ckpt" "$TMP/r2.ckpt" &&
    cp "$TMP/r.ckpt" "$TMP/r3.ckpt" &&
    "$MLPTRAIN" "${common[@]}" --val 200 -j 2 --resume "$TMP/r.ckpt" >"$TMP/res" 2>"$TMP/err" &&
    [ "$(figures "$TMP/res")" = "$(figures "$TMP/j0" | tail -2)" ] &&
    ok "resumed with --val: epochs 3-4 digit for digit" ||
    bad "resume: $(figures "$TMP/res") / $(figures "$TMP/j0")"
"$MLPTRAIN" "${common[@]}" -j 2 --resume "$TMP/r2.ckpt" >"$TMP/out" 2>"$TMP/err" &&
    [ "$(figures "$TMP/out")" = "$(figures "$TMP/j0" | tail -2)" ] &&
    ok "resumed without repeating --val: the checkpoint's, digit for digit" ||
    bad "resume without --val: $(cat "$TMP/err") $(figures "$TMP/out")"
"$MLPTRAIN" "${common[@]}" --val 100 -j 2 --resume "$TMP/r3.ckpt" >"$TMP/out" 2>"$TMP/err"
[ $? -eq 2 ] && grep -q "option '--val': 100 conflicts with the checkpoint" "$TMP/err" &&
    ok "another --val on resume is a conflict" || bad "resume --val 100: $(cat "$TMP/err")"

# The checkpoint keeps the best epoch's validation accuracy and the lowest
# validation loss: a resumed run's best epoch and early stop are the
# uninterrupted run's (a high rate makes the validation figures jump).
summary() { grep '^ok:' "$1" | sed 's/ in [0-9.]* s, [0-9]* samples\/s//'; }
es=(--data "$D" --batch 50 --hidden 24 --threads 1 --init-std 0.1 --lr 0.9
    --val 200 --early-stop 3 -j 0)
"$MLPTRAIN" "${es[@]}" --epochs 9 >"$TMP/es_full" 2>&1
"$MLPTRAIN" "${es[@]}" --epochs 3 --save "$TMP/es.ckpt" -q >/dev/null 2>&1
"$MLPTRAIN" --data "$D" --threads 1 -j 0 --epochs 9 --resume "$TMP/es.ckpt" \
    >"$TMP/es_res" 2>&1
[ -n "$(summary "$TMP/es_full")" ] &&
    [ "$(summary "$TMP/es_full")" = "$(summary "$TMP/es_res")" ] &&
    [ "$(figures "$TMP/es_full" | tail -n +4)" = "$(figures "$TMP/es_res")" ] &&
    ok "resumed: the same best epoch and early stop as one run" ||
    bad "resume best/early stop: $(summary "$TMP/es_full") / $(summary "$TMP/es_res")"

# Usage errors name the option.
expect_exit 2 "'--save-best'" -- "${common[@]}" --save-best "$TMP/x.ckpt"
[ ! -e "$TMP/x.ckpt" ] && ok "no file without --val" || bad "x.ckpt written"
expect_exit 2 "'--early-stop'" -- "${common[@]}" --early-stop 3
expect_exit 2 "'--val'" -- "${common[@]}" --val 1200
expect_exit 2 "'--val'" -- "${common[@]}" --limit-train 300 --val 300
expect_exit 2 "--save-best" -- "${common[@]}" --val 100 --save-best "$TMP/l.jsonl" --log "$TMP/l.jsonl"
expect_exit 2 "--save-best" -- "${common[@]}" --val 100 --save-best "$D/t10k-labels-idx1-ubyte.gz"

# A sweep of runs with --val ranks by val acc and says so.
S="$TMP/sweep"
"$MLPTRAIN" sweep --grid 'lr=0.02,0.5' -P 1 -t 2 --no-plots --dir "$S" -- --data "$D" \
    --epochs 2 --batch 50 --hidden 16 --init-std 0.1 -j 1 --val 200 >"$TMP/sw" 2>"$TMP/err" ||
    bad "sweep: $(cat "$TMP/err")"
head -1 "$TMP/sw" | grep -q '^rank  lr  *status  *val acc  *test acc  *best acc' &&
    grep -q '^ranked by val acc (best epoch)$' "$TMP/sw" &&
    ok "sweep table: a val acc column, ranked by it" || bad "sweep: $(cat "$TMP/sw" "$TMP/err")"
awk '/^ *[0-9]+  / { a = $4; if (NR > 2 && a > prev + 1e-9) bad = 1; prev = a }
     END { exit bad }' "$TMP/sw" && ok "ranked by val acc" || bad "ranking: $(cat "$TMP/sw")"
head -1 "$S/results.csv" | grep -q ',best_epoch,best_val_acc,best_val_loss,stopped_early,' &&
    [ "$(cut -d, -f9 "$S/results.csv" | grep -c '^0\.[0-9]*$')" -eq 2 ] &&
    ok "results.csv: best_val_acc of each run" || bad "results.csv: $(cat "$S/results.csv")"

finish
