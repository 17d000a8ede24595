#!/bin/bash
# End-to-end: sweeps that search (issue 23), on tiny generated data.
# - halving of a space: 9 points, rungs 1, 3, 9 epochs; the promotions are
#   the best third of each rung by validation accuracy (ties: run id), as
#   the logs say; the winner, trained in three parts, is the run trained
#   straight through (epoch records, checkpoint bytes); -P 1 and -P 2 give
#   the same results; the epochs spent against a full grid's;
# - kill -9 of the sweep and its runs at random moments (MLP_SWEEP_KILLS
#   times, 2 by default; set it higher for the slow version), a torn
#   journal line, then the same command: the results of the undisturbed
#   sweep;
# - shards 1/2 and 2/2 side by side, then --report: the rows of one
#   unsharded sweep (a grid, and hyperband, sharded by bracket);
# - asynchronous promotion runs and finishes; --report of a finished
#   sweep and of a running one; the runs never see Open MPI's variables;
# - bad searches, spaces and journals: exit 2 or 1, named, nothing run.
. "${srcdir:-.}/tests/lib.sh"

PY=/usr/bin/python3
D="$TMP/data"
mkdir "$D"
"$MKDATA" "$D" 1700 300 4 4 10 gz || { bad "mkdata"; finish; exit 1; }
space='lr=loguniform(1e-3,0.3) hidden=choice(8,16,32)'
fixed=(-- --data "$D" -e 9 -b 20 -j 1 --val 300 --optimizer adam
       --schedule cosine --warmup 1)
halving=(sweep --search halving --space "$space" --samples 9 --no-plots)

# ---- halving: rungs, promotions, exactness -----------------------------------
"$MLPTRAIN" "${halving[@]}" -P 1 -t 1 --dir "$TMP/h1" "${fixed[@]}" \
    >"$TMP/h1.out" 2>"$TMP/h1.err"
rc=$?
[ "$rc" -eq 0 ] && ok "halving runs" || bad "halving: exit $rc: $(cat "$TMP/h1.err")"
grep -q '^halving: bracket 1 of 1: 9 points, rungs at epochs 1, 3, 9, 1 of 3 goes on once its rung is complete$' \
    "$TMP/h1.err" && ok "the rungs: 1, 3, 9 epochs" || bad "rungs: $(head -3 "$TMP/h1.err")"
head -1 "$TMP/h1/results.csv" | grep -q '^rank,run,lr,hidden,status,rung,epochs,final_test_acc,' &&
    ok "results.csv has rung and epochs" || bad "header: $(head -1 "$TMP/h1/results.csv")"
counts=$(tail -n +2 "$TMP/h1/results.csv" | cut -d, -f5-7 | sort | uniq -c | tr -s ' ' | tr '\n' ';')
[ "$counts" = " 1 ok,3,9; 6 stopped,1,1; 2 stopped,2,3;" ] &&
    ok "9 runs: 6 stopped at 1 epoch, 2 at 3, 1 ok at 9" || bad "statuses: $counts"
head -1 "$TMP/h1.out" | grep -q '^rank  lr  *hidden  *status  *rung  epochs   val acc  test acc' &&
    grep -q '^   1  .*  ok  *3/3       9  ' "$TMP/h1.out" &&
    ok "the table: rung and epochs, the ok run first" || bad "table: $(head -3 "$TMP/h1.out")"
grep -q '^epochs: 21 trained, 25.9% of the 81 a full grid of these 9 runs trains (9 epochs each)$' \
    "$TMP/h1.out" && ok "epochs spent against a full grid's: 21 of 81" ||
    bad "epochs line: $(tail -2 "$TMP/h1.out")"
# The promotions are the logs' ranking: at each rung, the best third by
# the best validation accuracy up to its epoch, ties by run id.
"$PY" - "$TMP/h1" >"$TMP/rank" <<'PY'
import csv, json, os, sys
d = sys.argv[1]
rows = {r["run"]: r for r in csv.DictReader(open(os.path.join(d, "results.csv")))}
val = {}
for run in rows:
    val[run] = {}
    for line in open(os.path.join(d, run + ".jsonl")):
        rec = json.loads(line)
        if rec.get("type") == "epoch":
            val[run][rec["epoch"]] = rec["val_acc"]
def at(run, e):
    return max(v for k, v in val[run].items() if k <= e)
members = sorted(rows)
ok = True
for i, (e, keep) in enumerate([(1, 3), (3, 1)]):
    ranked = sorted(members, key=lambda r: (-at(r, e), r))
    promoted = set(ranked[:keep])
    actual = {r for r in members if int(rows[r]["rung"]) > i + 1}
    ok &= promoted == actual
    members = ranked[:keep]
print("ok" if ok else "differ")
PY
[ "$(cat "$TMP/rank")" = ok ] && ok "promotions: the best third by val acc, ties by run id" ||
    bad "promotions differ from the logs' ranking: $(cat "$TMP/h1/results.csv")"
win=$(grep ',ok,3,9,' "$TMP/h1/results.csv" | cut -d, -f2)
lr=$(grep ',ok,3,9,' "$TMP/h1/results.csv" | cut -d, -f3)
hid=$(grep ',ok,3,9,' "$TMP/h1/results.csv" | cut -d, -f4)
[ "$(grep -c "\"type\":\"run\"" "$TMP/h1/$win.jsonl")" -eq 3 ] &&
    ok "the winner trained in three parts (1, 3, then 9 epochs)" || bad "parts of $win"
"$MLPTRAIN" sweep --grid "lr=$lr hidden=$hid" --no-plots -t 1 --dir "$TMP/straight" \
    "${fixed[@]}" >/dev/null 2>"$TMP/err" || bad "straight run: $(cat "$TMP/err")"
ep() { grep '"type":"epoch"' "$1" | sed 's/,"seconds".*//'; }
[ -f "$TMP/straight/$win.jsonl" ] && [ "$(ep "$TMP/straight/$win.jsonl" | wc -l)" -eq 9 ] &&
    [ "$(ep "$TMP/h1/$win.jsonl")" = "$(ep "$TMP/straight/$win.jsonl")" ] &&
    ok "the promoted run = the run trained straight through, digit for digit" ||
    bad "epoch records differ: $(diff <(ep "$TMP/h1/$win.jsonl") <(ep "$TMP/straight/$win.jsonl") | head -4)"
cmp -s "$TMP/h1/$win.ckpt" "$TMP/straight/$win.ckpt" &&
    ok "and its checkpoint, byte for byte" || bad "checkpoints of $win differ"
grep -q "\"--until\"\|\"until\":3" "$TMP/h1/$win.jsonl" &&
    ok "its parts paused with --until" || bad "no --until in $win's log"
# -P 2: the same promotions and figures.
"$MLPTRAIN" "${halving[@]}" -P 2 -t 2 --dir "$TMP/h2" "${fixed[@]}" >/dev/null 2>"$TMP/err" ||
    bad "halving -P 2: $(cat "$TMP/err")"
[ "$(csv_figures "$TMP/h1/results.csv")" = "$(csv_figures "$TMP/h2/results.csv")" ] &&
    ok "-P 1 and -P 2: the same results" ||
    bad "-P 2 differs: $(diff <(csv_figures "$TMP/h1/results.csv") <(csv_figures "$TMP/h2/results.csv"))"
# The same command again: every run kept, nothing trains.
"$MLPTRAIN" "${halving[@]}" -P 2 -t 2 --dir "$TMP/h2" "${fixed[@]}" >/dev/null 2>"$TMP/err"
rc=$?
[ "$rc" -eq 0 ] && ! grep -q '^start \|^resume ' "$TMP/err" &&
    [ "$(csv_figures "$TMP/h1/results.csv")" = "$(csv_figures "$TMP/h2/results.csv")" ] &&
    ok "the same command again trains nothing, the same results" ||
    bad "again: $rc: $(cat "$TMP/err")"
# --report of the finished sweep: its table.
"$MLPTRAIN" sweep --dir "$TMP/h1" --report --no-plots >"$TMP/rep" 2>"$TMP/err"
rc=$?
[ "$rc" -eq 0 ] && diff <(sed 's/  *[0-9.]*  *[0-9-]*  run-/ run-/' "$TMP/h1.out") \
    <(sed 's/  *[0-9.]*  *[0-9-]*  run-/ run-/' "$TMP/rep") >/dev/null &&
    ok "--report: the sweep's table" || bad "--report: $rc: $(cat "$TMP/err"; diff "$TMP/h1.out" "$TMP/rep")"

# ---- kill -9 at random moments, then the same command -------------------------
K="$TMP/killed"
kills=${MLP_SWEEP_KILLS:-2}
for i in $(seq "$kills"); do
    "$MLPTRAIN" "${halving[@]}" -P 2 -t 2 --dir "$K" "${fixed[@]}" >/dev/null 2>&1 &
    pid=$!
    sleep "0.$((RANDOM % 6))$((RANDOM % 10))"
    kids=$(children_of "$pid")
    kill -9 "$pid" $kids 2>/dev/null
    wait "$pid" 2>/dev/null
done
# A write cut short by the kill: a torn last line of the journal.
[ -f "$K/journal.jsonl" ] && printf '{"type":"start","run":"run-0' >>"$K/journal.jsonl"
"$MLPTRAIN" "${halving[@]}" -P 2 -t 2 --dir "$K" "${fixed[@]}" >/dev/null 2>"$TMP/kerr"
rc=$?
[ "$rc" -eq 0 ] && [ "$(csv_figures "$TMP/h1/results.csv")" = "$(csv_figures "$K/results.csv")" ] &&
    ok "kill -9 of the sweep and its runs ($kills times), then the same command: the same results" ||
    bad "after kills: $rc: $(cat "$TMP/kerr"; diff <(csv_figures "$TMP/h1/results.csv") <(csv_figures "$K/results.csv"))"
grep -q "warning: .*journal.jsonl': a torn last line" "$TMP/kerr" &&
    tail -c 1 "$K/journal.jsonl" | od -c | grep -q '\\n' &&
    ok "a torn journal line is cut off, with a warning" || bad "torn line: $(cat "$TMP/kerr")"
! grep -q 'ranks it lower' "$TMP/kerr" && ok "the journal's promotions agree with the logs" ||
    bad "journal and logs disagree: $(cat "$TMP/kerr")"

# ---- shards: side by side, then --report ----------------------------------------
grid=(--grid 'lr=0.003,0.01,0.03,0.1 hidden=8,16,32' --no-plots)
gfixed=(-- --data "$D" -e 2 -b 20 -j 1 --val 300 --optimizer adam)
"$MLPTRAIN" sweep "${grid[@]}" -P 2 -t 2 --dir "$TMP/whole" "${gfixed[@]}" >/dev/null 2>"$TMP/err" ||
    bad "unsharded sweep: $(cat "$TMP/err")"
S="$TMP/shared"
"$MLPTRAIN" sweep "${grid[@]}" --shard 1/2 -t 1 --dir "$S" "${gfixed[@]}" >/dev/null 2>"$TMP/s1.err" &
p1=$!
"$MLPTRAIN" sweep "${grid[@]}" --shard 2/2 -t 1 --dir "$S" "${gfixed[@]}" >/dev/null 2>"$TMP/s2.err"
r2=$?
wait $p1
r1=$?
[ "$r1" -eq 0 ] && [ "$r2" -eq 0 ] && [ -f "$S/results-1-of-2.csv" ] && [ -f "$S/results-2-of-2.csv" ] &&
    [ "$(tail -n +2 "$S/results-1-of-2.csv" | wc -l)" -eq 6 ] &&
    [ "$(tail -n +2 "$S/results-2-of-2.csv" | wc -l)" -eq 6 ] && [ ! -e "$S/results.csv" ] &&
    ok "--shard 1/2 and 2/2 side by side: 6 runs each, their own results" ||
    bad "shards: $r1 $r2: $(cat "$TMP/s1.err" "$TMP/s2.err")"
grep -q "the whole sweep's results and charts: mlptrain sweep --dir $S --report" "$TMP/s1.err" &&
    ok "a shard says how to merge" || bad "shard's last words: $(tail -2 "$TMP/s1.err")"
"$MLPTRAIN" sweep --dir "$S" --report --no-plots >"$TMP/rep" 2>"$TMP/err"
rc=$?
[ "$rc" -eq 0 ] && [ "$(csv_figures "$TMP/whole/results.csv")" = "$(csv_figures "$S/results.csv")" ] &&
    ok "--report merges the shards: the unsharded sweep's rows" ||
    bad "merge: $rc: $(cat "$TMP/err"; diff <(csv_figures "$TMP/whole/results.csv") <(csv_figures "$S/results.csv"))"
# A shard beyond the runs (an array larger than the sweep) ends well.
"$MLPTRAIN" sweep --grid 'lr=0.01' --shard 2/2 -t 1 --dir "$TMP/empty" "${gfixed[@]}" \
    >/dev/null 2>"$TMP/err"
rc=$?
[ "$rc" -eq 0 ] && grep -q '^shard 2 of 2: no run (the sweep has fewer runs than shards)$' "$TMP/err" &&
    ok "a shard with no run: exit 0, said" || bad "empty shard: $rc: $(cat "$TMP/err")"
# hyperband, sharded by bracket
hyper=(sweep --search hyperband --space "$space" --no-plots)
"$MLPTRAIN" "${hyper[@]}" -P 2 -t 2 --dir "$TMP/hb" "${fixed[@]}" >"$TMP/hb.out" 2>"$TMP/err" ||
    bad "hyperband: $(cat "$TMP/err")"
grep -q '^hyperband: bracket 3 of 3: 3 points, rungs at epochs 9,' "$TMP/err" &&
    head -1 "$TMP/hb/results.csv" | grep -q ',status,bracket,rung,epochs,' &&
    [ "$(tail -n +2 "$TMP/hb/results.csv" | wc -l)" -eq 17 ] &&
    ok "hyperband: 3 brackets of 9, 5 and 3 points" || bad "hyperband: $(head -4 "$TMP/err")"
"$MLPTRAIN" "${hyper[@]}" --shard 1/2 -t 1 --dir "$TMP/hbs" "${fixed[@]}" >/dev/null 2>&1 &
p1=$!
"$MLPTRAIN" "${hyper[@]}" --shard 2/2 -t 1 --dir "$TMP/hbs" "${fixed[@]}" >/dev/null 2>&1
wait $p1
"$MLPTRAIN" sweep --dir "$TMP/hbs" --report --no-plots >/dev/null 2>"$TMP/err"
[ "$(csv_figures "$TMP/hb/results.csv")" = "$(csv_figures "$TMP/hbs/results.csv")" ] &&
    ok "hyperband in 2 shards (by bracket), merged: the same rows" ||
    bad "hyperband shards: $(cat "$TMP/err"; diff <(csv_figures "$TMP/hb/results.csv") <(csv_figures "$TMP/hbs/results.csv"))"

# ---- asynchronous promotion ----------------------------------------------------------
"$MLPTRAIN" "${halving[@]}" --async -P 2 -t 2 --dir "$TMP/as" "${fixed[@]}" >/dev/null 2>"$TMP/err"
rc=$?
[ "$rc" -eq 0 ] && grep -q 'as soon as it ranks there' "$TMP/err" &&
    [ "$(grep -c ',ok,3,9,' "$TMP/as/results.csv")" -ge 1 ] &&
    [ "$(grep -c '"type":"promote"' "$TMP/as/journal.jsonl")" -ge 4 ] &&
    ok "--async: runs, promotes, finishes" || bad "--async: $rc: $(cat "$TMP/err")"
cp "$TMP/as/results.csv" "$TMP/as.csv"
"$MLPTRAIN" "${halving[@]}" --async -P 2 -t 2 --dir "$TMP/as" "${fixed[@]}" >/dev/null 2>"$TMP/err"
! grep -q '^start \|^resume ' "$TMP/err" && [ "$(csv_figures "$TMP/as.csv")" = "$(csv_figures "$TMP/as/results.csv")" ] &&
    ok "--async again: its journal's promotions kept, nothing trains" || bad "--async again: $(cat "$TMP/err")"

# ---- a running sweep: --report shows it; runs never see Open MPI ----------------------
R="$TMP/running"
OMPI_MCA_test_x=1 PMIX_TEST_Y=1 MLPTRAIN_TEST_STARTUP_HOLD="$TMP/held" \
    "$MLPTRAIN" sweep --grid 'lr=0.01' --no-plots -t 1 --dir "$R" "${gfixed[@]}" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 1500); do
    grep -q '^[0-9][0-9]*$' "$TMP/held" 2>/dev/null && break
    sleep 0.02
done
child=$(cat "$TMP/held" 2>/dev/null)
if [ -n "$child" ] && tr '\0' '\n' <"/proc/$child/environ" >"$TMP/env" 2>/dev/null; then
    ! grep -q '^OMPI_\|^PMIX_' "$TMP/env" && grep -q '^MLPTRAIN_TEST_STARTUP_HOLD=' "$TMP/env" &&
        ok "a run's environment has no OMPI_* or PMIX_* variable" || bad "run environment: $(grep 'OMPI\|PMIX' "$TMP/env")"
else
    bad "no held run to look at"
fi
"$MLPTRAIN" sweep --dir "$R" --report --no-plots >"$TMP/rep" 2>"$TMP/err"
rc=$?
[ "$rc" -eq 0 ] && grep -q "a sweep is running in '$R'" "$TMP/rep" && [ ! -e "$R/results.csv" ] &&
    ok "--report of a running sweep: shown, its files left to it" ||
    bad "--report while running: $rc: $(cat "$TMP/rep" "$TMP/err")"
kill -INT "$pid"
wait "$pid"

# ---- bad searches, spaces and journals -------------------------------------------------
x="$TMP/x"
expect_exit 2 "ranks runs by validation accuracy: give the runs a validation split" -- \
    "${halving[@]}" --dir "$x" -- --data "$D" -e 3
expect_exit 2 "option '--shard' conflicts with --search halving: a shard splits runs that do not wait for each other" -- \
    "${halving[@]}" --shard 1/2 --dir "$x" "${fixed[@]}"
expect_exit 2 "option '--search random' needs --samples N: the points of a space are drawn" -- \
    sweep --space "$space" --dir "$x" "${fixed[@]}"
expect_exit 2 "option '--grid' conflicts with --space: a list in --space is a choice" -- \
    sweep --grid 'lr=0.1' --space "$space" --dir "$x"
expect_exit 2 "option '--samples' conflicts with --search hyperband: hyperband's brackets set the number of points" -- \
    "${hyper[@]}" --samples 5 --dir "$x"
expect_exit 2 "option '--eta' needs --search halving or hyperband (this run's is grid)" -- \
    sweep --grid 'lr=0.1' --eta 2 --dir "$x"
expect_exit 2 "option '--search': unknown value 'bayes' (grid, random, halving, hyperband)" -- sweep --grid 'lr=0.1' --search bayes
expect_exit 2 "option '--report' conflicts with --grid: it reads the sweep in --dir: it takes only --dir and --no-plots" -- \
    sweep --grid 'lr=0.1' --report --dir "$x"
expect_exit 2 "the sweep sets '--until' of each run" -- \
    sweep --grid 'lr=0.1' --dir "$x" -- --until 2
expect_exit 2 "its 3 brackets need 17 points and the grid has 2" -- \
    sweep --search hyperband --grid 'lr=0.1,0.2' --dir "$x" "${fixed[@]}"
expect_exit 2 "'epochs' cannot be a key" -- \
    sweep --search halving --grid 'epochs=3,9' --dir "$x" "${fixed[@]}"
expect_exit 2 "option '--shard': shard 3 of 2 does not exist" -- \
    sweep --grid 'lr=0.1' --shard 3/2 --dir "$x"
expect_exit 2 "option '--space': 'dropout=uniform(0,1.5)': option '--dropout': '1.5' must be in \[0, 1)" -- \
    sweep --search halving --space 'dropout=uniform(0,1.5)' --dir "$x" "${fixed[@]}"
expect_exit 2 "option '--min-epochs': 10 is not within the runs' 9 epochs" -- \
    "${halving[@]}" --min-epochs 10 --dir "$x" "${fixed[@]}"
[ ! -e "$x" ] && ok "nothing made for a bad search" || bad "$x exists"
expect_exit 1 "has no sweep journal" -- sweep --dir "$TMP" --report
# A journal with a bad line (not the last): refused, named.
cp -r "$TMP/h1" "$TMP/bad"
sed -i '3s/.*/{"type":"point","run":"..\/..\/etc","point":0,"bracket":0,"values":["1","2"]}/' \
    "$TMP/bad/journal.jsonl"
expect_exit 1 "journal.jsonl: line 3 is not a record of a sweep journal" -- \
    sweep --dir "$TMP/bad" --report
expect_exit 1 "journal.jsonl: line 3 is not a record of a sweep journal" -- \
    "${halving[@]}" --dir "$TMP/bad" "${fixed[@]}"
# Hostile journals: a FIFO (never opened to block), a value with a
# control character.
mkdir "$TMP/fifo"
mkfifo "$TMP/fifo/journal.jsonl"
expect_exit 1 "cannot read '.*/fifo/journal.jsonl': it is a FIFO, not a regular file" -- sweep --dir "$TMP/fifo" --report
expect_exit 1 "cannot read '.*/fifo/journal.jsonl': it is a FIFO, not a regular file" -- \
    sweep --grid 'lr=0.1' --dir "$TMP/fifo" "${gfixed[@]}"
cp -r "$TMP/h1" "$TMP/ctl"
"$PY" - "$TMP/ctl/journal.jsonl" <<'PY'
import sys
p = sys.argv[1]
lines = open(p).read().split("\n")
lines[1] = lines[1].replace('"values":["', '"values":["\\u001b[31m', 1)
open(p, "w").write("\n".join(lines))
PY
expect_exit 1 "journal.jsonl: line 2 is not a record of a sweep journal" -- \
    sweep --dir "$TMP/ctl" --report

finish
