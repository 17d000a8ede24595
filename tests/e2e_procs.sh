#!/bin/bash
# End-to-end: a sweep owns its runs.  Killed with SIGKILL or hung up, its
# trainers end (they never run on beside a re-run); a second sweep on a
# directory in use is refused; a run whose sweep is gone at its start
# gives up.
. "${srcdir:-.}/tests/lib.sh"

D="$TMP/data"
make_data "$D" 600 60 8 8 4 gz
# Runs that would go on for ever: only a signal ends them.
train=(-- --data "$D" --batch 50 -j 1 --epochs 1000000)
kids=() # pids of the runs seen, to end them by id if a test fails

# The pids of the trainers of sweep directory $1 (their --log is in it),
# read from /proc: pgrep's procps is not on a minimal Debian system.
runs_of() {
    local p args
    for p in /proc/[0-9]*; do
        mapfile -d '' -t args 2>/dev/null <"$p/cmdline" || continue
        case " ${args[*]} " in *" --log $1/run-"*) echo "${p#/proc/}" ;; esac
    done
}
nruns() { runs_of "$1" | wc -l; }
runs_at_least() { [ "$(nruns "$1")" -ge "$2" ]; }
no_runs() { [ "$(nruns "$1")" -eq 0 ]; }
ended() { ! kill -0 "$1" 2>/dev/null; }
# wait_runs DIR N: until N trainers of DIR run.
wait_runs() { wait_until runs_at_least "$1" "$2"; }
# gone DIR: until no trainer of DIR is left.
gone() {
    wait_until no_runs "$1" && return 0
    kids+=($(runs_of "$1"))
    return 1
}
cleanup() {
    [ "${#kids[@]}" -gt 0 ] && kill -9 "${kids[@]}" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# kill -9 of the sweep: its runs get SIGTERM from the kernel.
S="$TMP/kill9"
"$MLPTRAIN" sweep --grid 'lr=0.1,0.2' -P 2 -t 2 --dir "$S" --no-plots \
    "${train[@]}" >/dev/null 2>"$TMP/err1" &
pid=$!
if wait_runs "$S" 2; then
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    gone "$S" && ok "kill -9 of a sweep: its runs end" ||
        bad "kill -9 of a sweep: runs still running: $(runs_of "$S" | tr '\n' ' ')"
else
    kill -9 "$pid"
    bad "sweep did not start its runs: $(cat "$TMP/err1")"
fi
# The lock went with it: another sweep may use the directory (its runs
# fail at once on a missing data directory).
"$MLPTRAIN" sweep --grid 'lr=0.1' --dir "$S" --no-plots -- --data "$TMP/none" \
    >/dev/null 2>"$TMP/err2"
rc=$?
[ "$rc" -eq 1 ] && ! grep -q 'in use' "$TMP/err2" &&
    ok "no stale lock after kill -9" || bad "after kill -9: $rc: $(cat "$TMP/err2")"

# SIGHUP (the terminal closed): the sweep stops its runs and exits.
S="$TMP/hup"
"$MLPTRAIN" sweep --grid 'lr=0.1,0.2' -P 2 -t 2 --dir "$S" --no-plots \
    "${train[@]}" >/dev/null 2>"$TMP/err3" &
pid=$!
if wait_runs "$S" 2; then
    kill -HUP "$pid"
    gone "$S" && ok "SIGHUP of a sweep: its runs end" ||
        bad "SIGHUP of a sweep: runs still running"
    if ! wait_until ended "$pid"; then
        kill -9 "$pid"
        bad "SIGHUP: the sweep still runs"
    else
        wait "$pid"
        rc=$?
        [ "$rc" -eq 130 ] && grep -q 'sweep interrupted' "$TMP/err3" &&
            ok "SIGHUP: the sweep exits 130" ||
            bad "SIGHUP: exit $rc: $(cat "$TMP/err3")"
    fi
else
    kill -9 "$pid"
    bad "sweep did not start its runs: $(cat "$TMP/err3")"
fi

# Two sweeps on one directory: the second is refused while the first runs.
S="$TMP/two"
"$MLPTRAIN" sweep --grid 'lr=0.1' --dir "$S" --no-plots "${train[@]}" \
    >/dev/null 2>"$TMP/err4" &
pid=$!
if wait_runs "$S" 1; then
    # Refused at once: a sweep that waited for the first one (which never
    # ends by itself) would be killed (137).
    timeout -s KILL "$PATIENCE" "$MLPTRAIN" sweep --grid 'lr=0.1,0.3' --dir "$S" \
        --no-plots "${train[@]}" >"$TMP/out5" 2>"$TMP/err5"
    rc=$?
    [ "$rc" -eq 1 ] &&
        grep -q "^mlptrain: sweep directory '$S' is in use by another sweep (pid $pid)\$" "$TMP/err5" &&
        ok "a second sweep on a directory in use is refused" ||
        bad "second sweep: $rc: $(cat "$TMP/err5")"
    [ "$(nruns "$S")" -eq 1 ] && ok "the refused sweep started nothing" ||
        bad "two sweeps: $(nruns "$S") runs"
    kill -TERM "$pid"
    wait "$pid"
    gone "$S" || bad "SIGTERM: runs left"
else
    bad "sweep did not start its run: $(cat "$TMP/err4")"
fi
kill -9 "$pid" 2>/dev/null

# A lock file that is not a regular file is refused.
S="$TMP/fifo"
mkdir "$S" && mkfifo "$S/.lock"
expect_exit 1 "lock file '$S/.lock' is not a regular file" -- \
    sweep --grid 'lr=0.1' --dir "$S" --no-plots -- --data "$D"

# A run whose sweep ended before it could ask to die with it gives up.
sleep 30 &
other=$!
MLPTRAIN_PARENT_PID=$other "$MLPTRAIN" --data "$D" --epochs 1 -q \
    >"$TMP/out6" 2>"$TMP/err6"
rc=$?
kill "$other"
[ "$rc" -eq 130 ] && grep -q "the sweep that started this run (pid $other) has ended" "$TMP/err6" &&
    ok "a run whose sweep is gone does not start" || bad "orphan run: $rc: $(cat "$TMP/err6")"
MLPTRAIN_PARENT_PID=$$ "$MLPTRAIN" --version >/dev/null 2>&1 &&
    ok "a run whose sweep is its parent starts" || bad "MLPTRAIN_PARENT_PID=\$\$"

finish
