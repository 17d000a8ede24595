#!/bin/bash
# End-to-end: --tensorboard DIR.  The event files of a finished run, of runs
# killed with SIGKILL mid-training (and then resumed) and of resumed runs
# (an epoch run twice included) are read by an independent reader
# (tests/tfevents_check.py: its own CRC-32C, python3-protobuf with
# proto/tfevent.proto compiled by protoc) and compared with the JSON-lines
# log of the same run; the reader is shown to fail on a changed byte, a
# torn record and a changed figure.  Then hostile and careless DIRs (a
# file, symlinks, a device, no permission, a name with spaces, quotes, a
# newline and a leading dash, DIR in use by another run, DIR the same as
# --log), and a file size limit that cuts a write short: the run fails,
# the file keeps whole records only.
. "${srcdir:-.}/tests/lib.sh"

READER="${srcdir:-.}/tests/tfevents_check.py"
PROTO=${TFEVENT_PROTO:-${srcdir:-.}/proto/tfevent.proto}
PROTOC=${PROTOC:-protoc}
D="$TMP/data"
make_data "$D" 600 200 12 12 5 gz
common=(--data "$D" --batch 50 --hidden 16 --threads 2 -j 0 -q)

need_tool "$PROTOC" protobuf-compiler
need_py google.protobuf python3-protobuf
have_reader=1

run() { "$MLPTRAIN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null; }

# read_ok DESC DIR [READER OPTIONS...]: the reader passes on DIR.
read_ok() {
    local desc=$1 dir=$2
    shift 2
    [ "$have_reader" = 1 ] || return 0
    if "$PY" "$READER" --protoc "$PROTOC" --proto "$PROTO" "$@" "$dir" \
            >"$TMP/py" 2>&1; then
        ok "$desc: $(grep '^PASS' "$TMP/py" | sed 's/^PASS: //' | tr '\n' ';')"
    else
        bad "$desc: $(cat "$TMP/py")"
    fi
}

# read_fails DESC PATTERN DIR [OPTIONS...]: the reader fails, saying PATTERN.
read_fails() {
    local desc=$1 pat=$2 dir=$3
    shift 3
    [ "$have_reader" = 1 ] || return 0
    if "$PY" "$READER" --protoc "$PROTOC" --proto "$PROTO" "$@" "$dir" \
            >"$TMP/py" 2>&1; then
        bad "$desc: the reader passed: $(cat "$TMP/py")"
    elif grep -q -- "$pat" "$TMP/py"; then
        ok "$desc: the reader fails ($(grep -m1 '^FAIL' "$TMP/py" | cut -c1-100))"
    else
        bad "$desc: the reader's failure lacks '$pat': $(cat "$TMP/py")"
    fi
}

# Event files in a DIR (whose name may hold a newline).
nfiles() { find "$1" -maxdepth 1 -name 'events.out.tfevents.*' -printf . | wc -c; }

# epochs LOG: the epoch records in a log.
epochs() { grep -c '"type":"epoch"' "$1"; }

# wait_epochs LOG N: until LOG holds N epoch records (60 s at most).
wait_epochs() {
    for _ in $(seq 600); do
        [ -f "$1" ] && [ "$(epochs "$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# ---- a finished run ----------------------------------------------------------
if run "${common[@]}" --epochs 3 --val 100 --log "$TMP/a.jsonl" \
        --tensorboard "$TMP/tb/a"; then
    ok "a run with --tensorboard (DIR and its parent made)"
else
    bad "run: $(cat "$TMP/err")"
fi
[ "$(nfiles "$TMP/tb/a")" = 1 ] && ok "one event file" ||
    bad "event files: $(ls -la "$TMP/tb/a")"
name=$(basename "$(find "$TMP/tb/a" -name 'events.out.tfevents.*')")
[[ $name =~ ^events\.out\.tfevents\.[0-9]{10}\.[A-Za-z0-9._-]+\.[0-9]+$ ]] &&
    ok "file name $name" || bad "file name '$name'"
read_ok "finished run with --val" "$TMP/tb/a" --files 1 --log "$TMP/a.jsonl"
# A schedule: lr changes every epoch (compared exactly).
run "${common[@]}" --epochs 4 --schedule cosine --lr-min 0.001 \
    --log "$TMP/c.jsonl" --tensorboard "$TMP/tb/c" ||
    bad "cosine run: $(cat "$TMP/err")"
read_ok "finished run, cosine schedule" "$TMP/tb/c" --files 1 --log "$TMP/c.jsonl"

# ---- the reader can fail ---------------------------------------------------------
if [ "$have_reader" = 1 ]; then
    f=$(find "$TMP/tb/a" -name 'events.out.tfevents.*')
    mkdir "$TMP/flip" "$TMP/torn"
    cp "$f" "$TMP/flip/" && cp "$f" "$TMP/torn/"
    g="$TMP/flip/$(basename "$f")"
    # a byte of the second record's data (its header is 12 bytes)
    printf '\x7f' | dd of="$g" bs=1 seek=$(( $(head -c 8 "$f" | od -An -tu8 | tr -d ' ') + 16 + 20 )) conv=notrunc 2>/dev/null
    read_fails "a changed byte" "data CRC" "$TMP/flip"
    g="$TMP/torn/$(basename "$f")"
    truncate -s -1 "$g"
    read_fails "a torn last record" "torn" "$TMP/torn"
    sed 's/"train_loss":\([0-9]\)\.\([0-9]\)/"train_loss":\1.\20/' "$TMP/a.jsonl" >"$TMP/changed.jsonl"
    cmp -s "$TMP/a.jsonl" "$TMP/changed.jsonl" && bad "sed changed nothing"
    read_fails "a changed figure" "loss/train at epoch" "$TMP/tb/a" --log "$TMP/changed.jsonl"
fi

# ---- killed with SIGKILL mid-training, then resumed ----------------------------------
# Kills at several points of a run; every file must hold whole records.
for at in 2 7 15; do
    k="$TMP/tb/k$at"
    "$MLPTRAIN" "${common[@]}" --epochs 100000 --save "$TMP/k$at.ckpt" \
        --log "$TMP/k$at.jsonl" --tensorboard "$k" >/dev/null 2>"$TMP/kerr" </dev/null &
    pid=$!
    if wait_epochs "$TMP/k$at.jsonl" "$at"; then
        if [ "$at" = 2 ]; then
            # Meanwhile a second run on the same DIR is refused at once.
            expect_exit 1 "TensorBoard directory '$k' is in use by another mlptrain process" -- \
                "${common[@]}" --epochs 1 --tensorboard "$k"
        fi
        kill -KILL "$pid"
        wait "$pid" 2>/dev/null
        n=$(epochs "$TMP/k$at.jsonl")
        read_ok "SIGKILL after $n epochs" "$k" --files 1 --log "$TMP/k$at.jsonl" --allow-missing-last
        # Resumed from its last checkpoint: the same series, on.
        if run "${common[@]}" --resume "$TMP/k$at.ckpt" --epochs $((n + 2)) \
                --log "$TMP/k$at.jsonl" --tensorboard "$k"; then
            read_ok "resumed after the SIGKILL (to $((n + 2)) epochs)" "$k" \
                --files 2 --log "$TMP/k$at.jsonl"
        else
            bad "resume after SIGKILL: $(cat "$TMP/err")"
        fi
    else
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        bad "the run to kill never reached epoch $at: $(cat "$TMP/kerr")"
    fi
done

# ---- resumed runs: a new file each, the step numbering goes on --------------------
r="$TMP/tb/r"
run "${common[@]}" --epochs 2 --save "$TMP/r.ckpt" --log "$TMP/r.jsonl" \
    --tensorboard "$r" && cp "$TMP/r.ckpt" "$TMP/r2.ckpt" &&
run "${common[@]}" --resume "$TMP/r.ckpt" --epochs 3 --log "$TMP/r.jsonl" \
    --tensorboard "$r" ||
    bad "resumed run: $(cat "$TMP/err")"
read_ok "resumed run: epochs 1-2, then 3" "$r" --files 2 --log "$TMP/r.jsonl"
# From the epoch-2 checkpoint again: epoch 3 a second time, then 4; the
# later epoch 3 replaces the earlier (as in the log), in name order.
run "${common[@]}" --resume "$TMP/r2.ckpt" --epochs 4 --log "$TMP/r.jsonl" \
    --tensorboard "$r" || bad "second resume: $(cat "$TMP/err")"
[ "$(epochs "$TMP/r.jsonl")" = 5 ] && ok "the log has epoch 3 twice" ||
    bad "log epochs: $(epochs "$TMP/r.jsonl")"
read_ok "epoch 3 run again: the later one counts" "$r" --files 3 --log "$TMP/r.jsonl"

# ---- hostile and careless DIRs ------------------------------------------------------
# (--data points nowhere: an output error must come first.)
nodata=(--data "$TMP/no-data" --epochs 1)
echo x >"$TMP/afile"
ln -s afile "$TMP/tofile"
ln -s nowhere "$TMP/dangling"
mkdir "$TMP/target"
ln -s target "$TMP/todir"
expect_exit 1 "cannot write TensorBoard files into '$TMP/afile': it is a regular file" -- \
    "${nodata[@]}" --tensorboard "$TMP/afile"
expect_exit 1 "cannot write TensorBoard files into '$TMP/tofile': it is a regular file" -- \
    "${nodata[@]}" --tensorboard "$TMP/tofile"
expect_exit 1 "'$TMP/dangling' is a symbolic link to a missing file" -- \
    "${nodata[@]}" --tensorboard "$TMP/dangling"
expect_exit 1 "'$TMP/dangling/sub'.*symbolic link to a missing file" -- \
    "${nodata[@]}" --tensorboard "$TMP/dangling/sub"
expect_exit 1 "'$TMP/afile/sub': Not a directory" -- \
    "${nodata[@]}" --tensorboard "$TMP/afile/sub"
expect_exit 1 "into '/dev/null': it is a character device" -- \
    "${nodata[@]}" --tensorboard /dev/null
expect_exit 2 "'--log' and '--tensorboard' name the same file" -- \
    "${nodata[@]}" --tensorboard "$TMP/same" --log "$TMP/same"
expect_exit 2 "option '--tensorboard'" -- "${nodata[@]}" --tensorboard ""
if [ "$(id -u)" -ne 0 ]; then
    mkdir "$TMP/ro" && chmod 555 "$TMP/ro"
    expect_exit 1 "Permission denied" -- "${nodata[@]}" --tensorboard "$TMP/ro"
    expect_exit 1 "Permission denied" -- "${nodata[@]}" --tensorboard "$TMP/ro/sub"
    chmod 755 "$TMP/ro"
else
    # root writes into read-only directories; /proc refuses even root
    expect_exit 1 "cannot make directory '/proc/mlptrain-tb'" -- \
        "${nodata[@]}" --tensorboard /proc/mlptrain-tb
    # and a read-only directory refuses another user (when nobody can run
    # this build: not from a build directory only root can enter)
    chmod 711 "$TMP" && mkdir -m 755 "$TMP/pub" && mkdir -m 555 "$TMP/pub/ro"
    as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    if command -v setpriv >/dev/null &&
       "${as_nobody[@]}" "$MLPTRAIN" --version >/dev/null 2>&1; then
        for dir in "$TMP/pub/ro" "$TMP/pub/ro/sub"; do
            "${as_nobody[@]}" "$MLPTRAIN" --data "$TMP/pub/no-data" --epochs 1 \
                --tensorboard "$dir" >/dev/null 2>"$TMP/err" </dev/null
            code=$?
            [ "$code" = 1 ] && grep -q "into '$dir': directory '$TMP/pub/ro': Permission denied" "$TMP/err" &&
                ok "as nobody: $dir refused" ||
                bad "as nobody, $dir: exit $code, $(cat "$TMP/err")"
        done
    else
        echo "SKIP: cannot run this build as nobody (setpriv): unwritable DIR as another user"
    fi
    chmod 700 "$TMP"
fi
[ -L "$TMP/dangling" ] && [ ! -e "$TMP/dangling" ] && [ "$(cat "$TMP/afile")" = x ] &&
    ok "refused DIRs left as they were" || bad "a refused DIR changed"
# A symlink to a directory is followed; a careless name is only a name.
run "${common[@]}" --epochs 1 --log "$TMP/s.jsonl" --tensorboard "$TMP/todir" &&
    [ "$(nfiles "$TMP/target")" = 1 ] && ok "a symlink to a directory is followed" ||
    bad "symlinked DIR: $(cat "$TMP/err"; ls -la "$TMP/target")"
read_ok "through the symlink" "$TMP/target" --files 1 --log "$TMP/s.jsonl"
odd="$TMP/tb/-odd dir 'q' \"dq\" \$(x)
nl"
run "${common[@]}" --epochs 2 --log "$TMP/o.jsonl" --tensorboard "$odd" &&
    [ "$(nfiles "$odd")" = 1 ] && ok "a DIR with spaces, quotes, a newline, a leading dash" ||
    bad "odd DIR: $(cat "$TMP/err")"
read_ok "the odd DIR" "$odd" --files 1 --log "$TMP/o.jsonl"

# ---- a write cut short: 1 KiB file size limit ---------------------------------------
# The version record and a few epochs fit; then a record is cut short by
# the limit (SIGXFSZ ignored, as a program should see it): the run fails
# naming the file, which keeps whole records only.
u="$TMP/tb/u"
( trap '' XFSZ; ulimit -f 1; exec "$MLPTRAIN" "${common[@]}" --epochs 50 \
    --tensorboard "$u" ) >/dev/null 2>"$TMP/uerr" </dev/null
code=$?
size=$(find "$u" -name 'events.out.tfevents.*' -printf '%s')
if [ "$code" = 1 ] && grep -q "cannot write '$u/events.out.tfevents.*: .*whole records" "$TMP/uerr" &&
   [ -n "$size" ] && [ "$size" -le 1024 ] && [ "$size" -gt 200 ]; then
    ok "a write past the size limit: exit 1, $size bytes kept ($(cut -c1-120 "$TMP/uerr"))"
else
    bad "size limit: exit $code, size '$size', $(cat "$TMP/uerr")"
fi
read_ok "after the cut-short write" "$u" --files 1

# ---- a sweep: one directory a run -------------------------------------------------
# sweep --tensorboard TB gives each run TB/ID, which the reader checks
# against that run's log; a training option --tensorboard is refused (every
# run would write into one directory).
if "$MLPTRAIN" sweep --grid 'lr=0.05,0.1' -P 2 -t 2 --no-plots \
        --dir "$TMP/sw" --tensorboard "$TMP/swtb" -- "${common[@]}" \
        --epochs 2 >"$TMP/out" 2>"$TMP/err" </dev/null; then
    ok "a sweep with --tensorboard"
else
    bad "sweep: $(cat "$TMP/err")"
fi
nrun=0
for log in "$TMP"/sw/*.jsonl; do
    [ -e "$log" ] || continue
    id=$(basename "$log" .jsonl)
    [ "$id" = journal ] && continue
    nrun=$((nrun + 1))
    read_ok "sweep run $id" "$TMP/swtb/$id" --files 1 --log "$log"
done
[ "$nrun" = 2 ] && [ "$(find "$TMP/swtb" -mindepth 1 -maxdepth 1 -type d | wc -l)" = 2 ] &&
    ok "two runs, two directories" || bad "sweep runs: $nrun; $(ls -la "$TMP/swtb")"
expect_exit 2 "'--tensorboard' would write every run into one directory" -- \
    sweep --grid 'lr=0.05,0.1' --dir "$TMP/sw2" -- "${common[@]}" \
    --tensorboard "$TMP/one"

finish
