#!/bin/bash
# End-to-end: `mlptrain sweep` on generated data: a 2x2 grid two at a time
# (results.csv, the ranked table, the best run named, the charts), a resume
# that skips what finished, a diverging run recorded as such, Ctrl-C that
# keeps what finished and continues the interrupted run from its checkpoint
# with the figures of an uninterrupted run, and bad grids.
. "${srcdir:-.}/tests/lib.sh"
need_tool gnuplot gnuplot-nox

D="$TMP/data"
make_data "$D" 1200 300 12 12 7 gz
S="$TMP/sweep"
fixed=(-- --data "$D" --epochs 3 --batch 50 --init-std 0.1 -j 1)

is_png() { [ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" = '211PNG' ]; }

# A 2x2 grid, two runs at once on two cores: one compute thread each.
"$MLPTRAIN" sweep --grid 'lr=0.01,0.5 hidden=16,32:16' -P 2 -t 2 --dir "$S" \
    "${fixed[@]}" >"$TMP/out" 2>"$TMP/err"
rc=$?
[ "$rc" -eq 0 ] && ok "sweep runs" || bad "sweep: exit $rc: $(cat "$TMP/err")"
[ "$(tail -n +2 "$S/results.csv" | wc -l)" -eq 4 ] &&
    ok "results.csv has 4 rows" || bad "results.csv: $(cat "$S/results.csv")"
head -1 "$S/results.csv" | grep -q '^rank,run,lr,hidden,status,epochs,final_test_acc,best_test_acc,best_epoch,best_val_acc,best_val_loss,stopped_early,final_train_loss,seconds,samples_per_s,log,message$' &&
    ok "results.csv header" || bad "header: $(head -1 "$S/results.csv")"
[ "$(grep -c ',ok,3,' "$S/results.csv")" -eq 4 ] && ok "4 runs ok, 3 epochs" ||
    bad "statuses: $(cat "$S/results.csv")"
grep -q '^run-[0-9a-f]*,0.5,32:16,ok' <(cut -d, -f2- "$S/results.csv") &&
    ok "csv rows name their options" || bad "csv options"
[ "$(ls "$S"/run-*.jsonl | wc -l)" -eq 4 ] && ok "a log per run" || bad "logs"
grep -l '"type":"end","status":"ok"' "$S"/run-*.jsonl | wc -l | grep -qx 4 &&
    ok "every log ends ok" || bad "log end records"
# The first two start together with one thread each; a later run may take
# both cores when it starts alone (sweep.c job_threads), never more.
[ "$(grep -l '"threads":1,' "$S"/run-*.jsonl | wc -l)" -ge 2 ] &&
    ! grep -q '"threads":[3-9],\|"threads":[1-9][0-9]' "$S"/run-*.jsonl &&
    ok "-P 2 -t 2: one compute thread per run, the cores never oversubscribed" ||
    bad "threads per run: $(grep -ho '"threads":[0-9]*' "$S"/run-*.jsonl | tr '\n' ' ')"
# Two runs at once: the second starts before the first ends.
sed -n '2,3p' "$TMP/err" | grep -c '^start ' | grep -qx 2 &&
    ok "-P 2 starts two runs at once" || bad "-P 2: $(cat "$TMP/err")"
head -1 "$TMP/out" | grep -q '^rank  lr  *hidden  *status  *test acc  *best acc' &&
    ok "table header" || bad "table: $(cat "$TMP/out")"
[ "$(grep -c '^ *[1-4]  [0-9.]*  ' "$TMP/out")" -eq 4 ] && ok "table has 4 rows" ||
    bad "table rows: $(cat "$TMP/out")"
# Ranked: test accuracy never rises down the table.
awk '/^ *[0-9]+  / { a = $(NF - 5); if (NR > 2 && a > prev + 1e-9) bad = 1; prev = a }
     END { exit bad }' "$TMP/out" && ok "ranked by test accuracy" ||
    bad "ranking: $(cat "$TMP/out")"
best=$(sed -n 's/^   1  \([^ ]*\)  *\([^ ]*\) .*/lr=\1 hidden=\2/p' "$TMP/out")
grep -q "^best: $best (run-" "$TMP/out" && ok "best run named ($best)" ||
    bad "best line: $(tail -1 "$TMP/out")"
is_png "$S/curves.png" && is_png "$S/accuracy.png" &&
    ok "curves.png and accuracy.png" || bad "charts: $(ls "$S")"

# The same sweep again: everything finished, nothing runs.
touch -d '2000-01-01' "$S"/run-*.jsonl
cp "$S/results.csv" "$TMP/results.before"
"$MLPTRAIN" sweep --grid 'lr=0.01,0.5 hidden=16,32:16' -P 2 -t 2 --dir "$S" \
    --no-plots "${fixed[@]}" >"$TMP/out2" 2>"$TMP/err2"
rc=$?
[ "$rc" -eq 0 ] && [ "$(grep -c '^skip run-' "$TMP/err2")" -eq 4 ] &&
    [ "$(grep -c '^start ' "$TMP/err2")" -eq 0 ] &&
    ok "resume skips the 4 finished runs" || bad "resume: $rc: $(cat "$TMP/err2")"
[ -z "$(find "$S" -name 'run-*.jsonl' -newer "$S/results.csv" -o -name 'run-*.jsonl' -mtime -1)" ] &&
    ok "their logs are untouched" || bad "logs rewritten"
cmp -s "$S/results.csv" "$TMP/results.before" && ok "the same results.csv" ||
    bad "results.csv after resume: $(diff "$TMP/results.before" "$S/results.csv")"

# A run that diverges is recorded and the sweep goes on; lr=0.01 hidden=16
# is the first sweep's run, so it is skipped.
"$MLPTRAIN" sweep --grid 'hidden=16 lr=1e30,0.01' -t 2 --dir "$S" --no-plots \
    "${fixed[@]}" >"$TMP/out3" 2>"$TMP/err3"
rc=$?
[ "$rc" -eq 0 ] && ok "a diverging run does not stop the sweep" ||
    bad "diverging: exit $rc: $(cat "$TMP/err3")"
grep -q '^rank,run,hidden,lr,status' "$S/results.csv" &&
    grep -q ',16,1e+30,diverged,0,,,,,' "$S/results.csv" &&
    grep -q ',16,0.01,ok,3,' "$S/results.csv" &&
    ok "results.csv: diverged and ok rows" || bad "csv: $(cat "$S/results.csv")"
[ "$(grep -c '^skip ' "$TMP/err3")" -eq 1 ] && ok "same options, same run: skipped" ||
    bad "dedup across sweeps: $(cat "$TMP/err3")"
tail -2 "$TMP/out3" | head -1 | grep -q '^   2  16  *1e+30  *diverged ' &&
    ok "the diverged run ranks last" || bad "table: $(cat "$TMP/out3")"
grep -q 'not finite' "$S/results.csv" && ok "its message is kept" ||
    bad "message: $(cat "$S/results.csv")"

# Every run failing is an error (exit 1), each still recorded.
"$MLPTRAIN" sweep --grid 'lr=0.1,0.2' --dir "$TMP/fail" --no-plots \
    -- --data "$TMP/nodata" -e 1 >"$TMP/out4" 2>"$TMP/err4"
rc=$?
[ "$rc" -eq 1 ] && grep -q 'no run finished ok' "$TMP/err4" &&
    [ "$(grep -c ',error,0,' "$TMP/fail/results.csv")" -eq 2 ] &&
    grep -q 'nodata' "$TMP/fail/results.csv" &&
    ok "all runs failing: exit 1, errors recorded" ||
    bad "failing sweep: $rc: $(cat "$TMP/err4") $(cat "$TMP/fail/results.csv")"

# Ctrl-C: the sweep stops its runs, keeps what finished, exits 130; the
# same command later runs the rest and continues the interrupted run from
# its checkpoint.
B="$TMP/big"
mkdir "$B"
"$MKDATA" "$B" 3000 300 28 28 10 gz
S2="$TMP/sweep2"
train=(-- --data "$B" --batch 100 --init-std 0.1 -j 1)
args=(sweep --grid 'epochs=1,60,2' -t 1 --dir "$S2" --no-plots "${train[@]}")
"$MLPTRAIN" "${args[@]}" >"$TMP/out5" 2>"$TMP/err5" &
pid=$!
# second_saved: the first run finished and the second saved its first epoch.
second_saved() {
    [ "$(tail -n +2 "$S2/results.csv" 2>/dev/null | wc -l)" -ge 1 ] &&
        [ "$(ls "$S2"/run-*.ckpt 2>/dev/null | wc -l)" -ge 2 ]
}
wait_until second_saved || bad "Ctrl-C: the second run never saved: $(cat "$TMP/err5")"
sleep 0.2
sigint_exits "$pid" Ctrl-C "$TMP/err5"
grep -q 'sweep interrupted: 1 of 3 runs finished' "$TMP/err5" &&
    ok "Ctrl-C: says what finished" || bad "Ctrl-C message: $(cat "$TMP/err5")"
grep -q ',1,ok,1,' "$S2/results.csv" && grep -q ',60,interrupted,' "$S2/results.csv" &&
    ! grep -q ',2,[a-z]*,' "$S2/results.csv" &&
    ok "Ctrl-C: finished run kept, running one interrupted, none started after" ||
    bad "Ctrl-C results: $(cat "$S2/results.csv")"
grep -q '^   1  1  ' "$TMP/out5" && ok "Ctrl-C: table of what finished" ||
    bad "Ctrl-C table: $(cat "$TMP/out5")"
id60=$(grep ',60,interrupted,' "$S2/results.csv" | cut -d, -f2)
"$MLPTRAIN" "${args[@]}" >"$TMP/out6" 2>"$TMP/err6"
rc=$?
[ "$rc" -eq 0 ] && [ "$(grep -c '^skip ' "$TMP/err6")" -eq 1 ] &&
    [ "$(grep -c '^start ' "$TMP/err6")" -eq 1 ] &&
    [ "$(grep -c ',ok,' "$S2/results.csv")" -eq 3 ] &&
    ok "after Ctrl-C the same command runs the rest" ||
    bad "resume after Ctrl-C: $rc: $(cat "$TMP/err6")"
grep -Eq "^resume $id60 from epoch ([2-9]|[1-5][0-9]|60) batch [0-9]+: epochs=60\$" "$TMP/err6" &&
    ok "the interrupted run continues from its checkpoint" ||
    bad "no resume of $id60: $(cat "$TMP/err6")"
grep -q "\"resume\":{\"path\":\"$S2/$id60.ckpt\"" "$S2/$id60.jsonl" &&
    [ "$(grep -c '"type":"run"' "$S2/$id60.jsonl")" -eq 2 ] &&
    ok "its log: the first part, then the resumed part" || bad "log of $id60"
grep -q "^[0-9]*,$id60,60,ok,60," "$S2/results.csv" &&
    ok "the resumed run: ok, 60 epochs" || bad "csv: $(cat "$S2/results.csv")"
[ -f "$S2/$id60.ckpt" ] && ok "a finished run keeps its checkpoint" ||
    bad "no $S2/$id60.ckpt"
# The same run uninterrupted, in another sweep directory: the same id, the
# same figures, digit for digit, and the same epoch records (none twice).
S3="$TMP/sweep3"
"$MLPTRAIN" sweep --grid 'epochs=60' -t 1 --dir "$S3" --no-plots \
    "${train[@]}" >"$TMP/out8" 2>"$TMP/err8" ||
    bad "uninterrupted sweep: $(cat "$TMP/err8")"
figs() { grep "^[0-9]*,$id60," "$1/results.csv" | cut -d, -f3-6,9; }
[ -n "$(figs "$S3")" ] && [ "$(figs "$S2")" = "$(figs "$S3")" ] &&
    ok "resumed = uninterrupted: $(figs "$S3")" ||
    bad "figures: resumed '$(figs "$S2")', uninterrupted '$(figs "$S3")'"
epochs() { grep '"type":"epoch"' "$1/$id60.jsonl" | sed 's/,"seconds".*//'; }
[ "$(epochs "$S3" | wc -l)" -eq 60 ] && [ "$(epochs "$S2")" = "$(epochs "$S3")" ] &&
    ok "resumed log: the same 60 epoch records" ||
    bad "epoch records: $(diff <(epochs "$S2") <(epochs "$S3") | head -5)"
# An unusable checkpoint of an unfinished run is removed and the run starts
# from scratch: the epochs=2 run, its end record dropped, checkpoint broken.
id2=$(grep ',2,ok,' "$S2/results.csv" | cut -d, -f2)
sed -i '/"type":"end"/d' "$S2/$id2.jsonl"
echo garbage >"$S2/$id2.ckpt"
"$MLPTRAIN" "${args[@]}" >"$TMP/out9" 2>"$TMP/err9"
rc=$?
[ "$rc" -eq 0 ] && grep -q "warning: .*$id2.ckpt.*; $id2 starts from scratch" "$TMP/err9" &&
    grep -q "^start $id2: epochs=2\$" "$TMP/err9" &&
    [ "$(grep -c '^skip ' "$TMP/err9")" -eq 2 ] &&
    grep -q "^[0-9]*,$id2,2,ok,2," "$S2/results.csv" &&
    [ "$(grep -c '"type":"run"' "$S2/$id2.jsonl")" -eq 1 ] &&
    ok "an unusable checkpoint: removed, the run starts from scratch" ||
    bad "unusable checkpoint: $rc: $(cat "$TMP/err9")"

# Bad grids and options: exit 2, named, before anything runs.
expect_exit 2 "unknown key 'width'" -- sweep --grid 'width=3' --dir "$TMP/x"
expect_exit 2 "option '--lr': 'abc' is not a number" -- sweep --grid 'lr=abc' --dir "$TMP/x"
expect_exit 2 "option '--grid' or '--space' is required" -- sweep --dir "$TMP/x"
expect_exit 2 "sets '--log'" -- sweep --grid 'lr=1' --dir "$TMP/x" -- --log l.jsonl
expect_exit 2 "training options go after --" -- sweep --grid 'lr=1' --epochs 3
expect_exit 2 "share one checkpoint" -- sweep --grid 'lr=1' --dir "$TMP/x" -- --save c.ckpt
expect_exit 2 "option '--parallel'" -- sweep --grid 'lr=1' -P 0
[ ! -e "$TMP/x" ] && ok "nothing made for a bad sweep" || bad "$TMP/x exists"
"$MLPTRAIN" sweep --help | grep -q -- '--samples N' && ok "sweep --help" ||
    bad "sweep --help"

# --samples: N distinct points of the grid, the same for the same seed.
"$MLPTRAIN" sweep --grid 'lr=0.1,0.2,0.3 hidden=8,16' --samples 2 --seed 5 \
    -t 2 --dir "$TMP/s" --no-plots "${fixed[@]}" >"$TMP/out7" 2>&1
[ "$(tail -n +2 "$TMP/s/results.csv" | wc -l)" -eq 2 ] &&
    ok "--samples 2 runs 2 points" || bad "--samples: $(cat "$TMP/out7")"

finish
