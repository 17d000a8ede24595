#!/bin/bash
# End-to-end: the optimizers and the schedules.  Adam with a cosine
# schedule learns, shows its falling rate on the epoch lines and in the
# log, and gives the same figures for any -j; AdamW's weight decay is 0.01
# unless given; the default epoch line shows no rate; bad combinations are
# usage errors naming the option.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
make_data "$D" 1200 300 12 12 7 gz
common=(--data "$D" --epochs 4 --batch 50 --hidden 24 --threads 2 --init-std 0.1)

# Figures without the timing columns (time, samples/s, wait), then the rate.
figures() { grep '^epoch' "$1" | sed 's/  [0-9.]* s  .*  lr / lr /'; }
# The "lr" of each epoch record of a log, one a line.
log_lrs() { grep '"type":"epoch"' "$1" | sed 's/.*"lr":\([^,}]*\).*/\1/'; }

"$MLPTRAIN" "${common[@]}" --optimizer adam --lr 0.01 --schedule cosine \
    -j 0 --log "$TMP/adam.jsonl" >"$TMP/adam" 2>"$TMP/err" &&
    ok "adam, cosine trains" || bad "adam, cosine: $(cat "$TMP/err")"
grep -q '^training Adam lr 0.01 cosine schedule, batch 50' "$TMP/adam" &&
    ok "config line names Adam and the schedule" ||
    bad "config line: $(grep '^training' "$TMP/adam")"
[ "$(grep -c '^epoch.*  lr [0-9]' "$TMP/adam")" -eq 4 ] &&
    ok "epoch lines show the rate" || bad "epoch lines: $(grep '^epoch' "$TMP/adam")"
lrs=$(log_lrs "$TMP/adam.jsonl")
if [ "$(echo "$lrs" | wc -l)" -eq 4 ] &&
    echo "$lrs" | awk 'NR > 1 && !($1 < prev) { exit 1 } { prev = $1 }
                       END { exit !(NR == 4 && $1 < 0.01 * 0.01) }'; then
    ok "the log's rates fall to near 0: $(echo $lrs)"
else
    bad "log rates: $(echo $lrs)"
fi
# Epoch e of 4 ends at step 24e - 1 of T = 96 (24 batches an epoch):
# 0.01 (1 + cos(pi (24e - 1) / 96)) / 2; epoch 2: q = 47/96.
want=$(awk 'BEGIN { printf "%.6g", 0.005 * (1 + cos(3.141592653589793 * 47 / 96)) }')
got=$(echo "$lrs" | sed -n 2p)
awk -v a="$got" -v b="$want" 'BEGIN { d = a - b; exit !(d < 1e-8 && d > -1e-8) }' &&
    ok "epoch 2's rate $got is the cosine's $want" || bad "epoch 2 rate $got, want $want"
acc=$(grep '^epoch' "$TMP/adam" | tail -1 | sed 's/.*test acc \([0-9.]*\).*/\1/')
awk -v a="$acc" 'BEGIN { exit !(a > 0.8) }' && ok "adam learns (test acc $acc)" ||
    bad "adam test acc $acc"
"$MLPTRAIN" "${common[@]}" --optimizer adam --lr 0.01 --schedule cosine \
    -j 4 >"$TMP/adam4" 2>"$TMP/err" || bad "adam -j 4: $(cat "$TMP/err")"
if [ -n "$(figures "$TMP/adam")" ] && [ "$(figures "$TMP/adam")" = "$(figures "$TMP/adam4")" ]; then
    ok "adam: -j 0 and -j 4 print the same figures"
else
    bad "adam -j 0 / -j 4: $(figures "$TMP/adam") / $(figures "$TMP/adam4")"
fi

# The default epoch line has no rate; the log has it.
"$MLPTRAIN" "${common[@]}" --epochs 1 --log "$TMP/sgd.jsonl" >"$TMP/sgd" 2>&1 &&
    ! grep -q '^epoch.* lr ' "$TMP/sgd" && grep -q '^training SGD lr 0.1, batch' "$TMP/sgd" &&
    ok "sgd, constant: no rate on the epoch line" || bad "sgd: $(cat "$TMP/sgd")"
[ "$(log_lrs "$TMP/sgd.jsonl")" = "0.1" ] && ok "the log's rate is 0.1" ||
    bad "sgd log rate: $(log_lrs "$TMP/sgd.jsonl")"

# AdamW: 0.01 decay unless given, in the run record.
"$MLPTRAIN" "${common[@]}" --epochs 1 --optimizer adamw --lr 0.003 \
    --log "$TMP/w.jsonl" -q >/dev/null 2>&1 &&
    grep -q '"weight_decay":0.01[,}]' "$TMP/w.jsonl" &&
    ok "adamw: weight decay 0.01 in the run record" ||
    bad "adamw default decay: $(head -1 "$TMP/w.jsonl")"
"$MLPTRAIN" "${common[@]}" --epochs 1 --optimizer adamw --lr 0.003 \
    --weight-decay 0 --log "$TMP/w0.jsonl" -q >/dev/null 2>&1 &&
    grep -q '"weight_decay":0\.0[,}]' "$TMP/w0.jsonl" &&
    ok "adamw --weight-decay 0 stays 0" ||
    bad "adamw decay 0: $(head -1 "$TMP/w0.jsonl")"

# SGD with Nesterov momentum and a step schedule with warm-up.
"$MLPTRAIN" "${common[@]}" --momentum 0.9 --nesterov --schedule step \
    --lr-step 2 --lr-gamma 0.5 --warmup 0.5 --log "$TMP/n.jsonl" >"$TMP/n" 2>&1 &&
    grep -q '^training SGD lr 0.1 Nesterov momentum step schedule' "$TMP/n" &&
    ok "sgd, nesterov, step schedule" || bad "nesterov: $(cat "$TMP/n")"
# Cuts at steps 48 and 96 (every 2 epochs of 24 batches): the last
# batches of epochs 1-4 (steps 23, 47, 71, 95) run at 0.1 0.1 0.05 0.05.
[ "$(log_lrs "$TMP/n.jsonl" | tr '\n' ' ')" = "0.1 0.1 0.05 0.05 " ] &&
    ok "step schedule rates 0.1 0.1 0.05 0.05" ||
    bad "step rates: $(log_lrs "$TMP/n.jsonl" | tr '\n' ' ')"

# Resume continues the schedule exactly: the rate is a function of the
# global step.  A step schedule with warm-up does not depend on --epochs
# (cosine's does: a 1-epoch run is another schedule), as long as its first
# cut falls within the first run (--lr-step below --epochs: issue 20).
# Nesterov and the schedule are given again until the checkpoint keeps
# them.
sched=(--momentum 0.9 --nesterov --schedule step --lr-step 0.5 --lr-gamma 0.5
       --warmup 0.5)
"$MLPTRAIN" "${common[@]}" "${sched[@]}" --epochs 3 >"$TMP/r3" 2>"$TMP/err" ||
    bad "3 epochs: $(cat "$TMP/err")"
"$MLPTRAIN" "${common[@]}" "${sched[@]}" --epochs 1 --save "$TMP/r.ckpt" \
    >/dev/null 2>"$TMP/err" || bad "1 epoch --save: $(cat "$TMP/err")"
"$MLPTRAIN" --data "$D" --threads 2 --epochs 3 --resume "$TMP/r.ckpt" \
    --nesterov --schedule step --lr-step 0.5 --lr-gamma 0.5 --warmup 0.5 \
    >"$TMP/r13" \
    2>"$TMP/err" || bad "--resume: $(cat "$TMP/err")"
want=$(figures "$TMP/r3" | tail -2)
if [ -n "$want" ] && [ "$want" = "$(figures "$TMP/r13")" ]; then
    ok "step, nesterov: 3 epochs == 1 + --resume 2, rates too"
else
    bad "resume differs: '$want' / '$(figures "$TMP/r13")'"
fi

expect_exit 2 -- '--lr-step' -- "${common[@]}" --schedule step
expect_exit 2 -- '--lr-min' -- "${common[@]}" --schedule cosine --lr-min 0.5
expect_exit 2 -- '--warmup' -- "${common[@]}" --warmup 4.5
expect_exit 2 -- '--nesterov' -- "${common[@]}" --nesterov
expect_exit 2 -- '--momentum' -- "${common[@]}" --optimizer adam --momentum 0.9

finish
