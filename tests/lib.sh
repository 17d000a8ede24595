# Shared helpers of the end-to-end tests (sourced).  $MLPTRAIN is the
# program under test and $MKDATA the generator, both set by `make check`.
set -u
: "${MLPTRAIN:=./mlptrain}"
: "${MKDATA:=tests/mkdata}"
npass=0
nfail=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/mlptrain-e2e-XXXXXX")
trap 'rm -rf "$TMP"' EXIT

ok() { npass=$((npass + 1)); echo "PASS: $*"; }
bad() { nfail=$((nfail + 1)); echo "FAIL: $*"; }

# expect_exit CODE PATTERN -- ARGS...: run mlptrain, check the exit code and
# that stderr matches the grep pattern.
expect_exit() {
    want=$1 pat=$2
    shift 3
    "$MLPTRAIN" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    got=$?
    if [ "$got" -ne "$want" ]; then
        bad "mlptrain $*: exit $got, expected $want; stderr: $(cat "$TMP/err")"
    elif ! grep -q -- "$pat" "$TMP/err"; then
        bad "mlptrain $*: stderr lacks '$pat': $(cat "$TMP/err")"
    else
        ok "mlptrain $* -> $want"
    fi
}

# bf16_here DIR: 0 when this machine trains in bf16 (oneDNN has bf16
# inner products here), tried on the data in DIR; else 1, saying why.
bf16_here() {
    if "$MLPTRAIN" --data "$1" -e 1 --limit-train 8 -n 8 --precision bf16 -q \
        >/dev/null 2>"$TMP/bf16.err"; then
        return 0
    fi
    echo "SKIP (bf16): $(head -1 "$TMP/bf16.err")"
    return 1
}

finish() {
    echo "$npass passed, $nfail failed"
    [ "$nfail" -eq 0 ]
}

# How long a test waits for something that should happen (a run to start,
# write, end; a hang guard's `timeout`), in seconds: only a hang reaches
# it, so a loaded machine makes a test slower, never failed.  No test
# asserts a wall time.
PATIENCE=300
# wait_until COMMAND...: run COMMAND every 0.05 s until it succeeds (0) or
# PATIENCE seconds have passed (1).
wait_until() {
    local end=$((SECONDS + PATIENCE))
    until "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.05
    done
}

# A test uses only what ./bootstrap installs (its Debian packages, and the
# essential ones every Debian system has): a missing tool is a broken
# setup, so it fails the test and names the fix, never a skip.  MPI is the
# one optional part (need_mpi).
# need_tool TOOL PACKAGE: unless TOOL (a name on PATH or a path) is there,
# fail with the fix and end the test.
need_tool() {
    command -v "$1" >/dev/null 2>&1 && return 0
    bad "$1 not found: ./bootstrap installs it (Debian package $2)"
    finish
    exit 1
}
# PY: Debian's python3, whose modules come from the packages bootstrap
# installs (a python3 first on PATH may be another one without them).
PY=/usr/bin/python3
# need_py MODULE PACKAGE: as need_tool, for a module of $PY.
need_py() {
    need_tool "$PY" python3
    "$PY" -c "import $1" 2>/dev/null && return 0
    bad "python module $1 not found for $PY: ./bootstrap installs it (Debian package $2)"
    finish
    exit 1
}
# children_of PID: the pids whose parent is PID, from /proc (no procps).
children_of() {
    local p st
    for p in /proc/[0-9]*; do
        read -r st 2>/dev/null <"$p/stat" || continue
        st=${st##*) }   # past "pid (comm) ": the state, then the ppid
        st=${st#* }
        [ "${st%% *}" = "$1" ] && echo "${p#/proc/}"
    done
}
# json_ok FILE EXPR: FILE holds one JSON document d for which the Python
# expression EXPR is true (a failed parse is false).
json_ok() {
    "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" 2>/dev/null
}

# need_mpi: exit 77 (skip, with the reason) unless this build has MPI and
# mpirun is there; then MPIRUN names it and the array mpi_root holds
# --allow-run-as-root when Open MPI needs it (root without
# OMPI_ALLOW_RUN_AS_ROOT).  For the MPI end-to-end tests.
need_mpi() {
    if [ "${MLP_HAVE_MPI:-0}" != 1 ]; then
        echo "SKIP: built without MPI (install the Debian packages libopenmpi-dev openmpi-bin, then ./configure --with-mpi)"
        exit 77
    fi
    MPIRUN=${MPIRUN:-mpirun}
    if ! command -v "$MPIRUN" >/dev/null; then
        echo "SKIP: MPI is built in but mpirun is missing (install the Debian package openmpi-bin)"
        exit 77
    fi
    mpi_root=()
    if [ "$(id -u)" = 0 ] && [ -z "${OMPI_ALLOW_RUN_AS_ROOT:-}" ]; then
        mpi_root=(--allow-run-as-root)
    fi
}

# csv_figures FILE: a sweep's results.csv without the columns that change
# from one run of the same figures to the next (seconds, samples_per_s,
# the log's path): what two sweeps of the same runs must agree on.
csv_figures() {
    /usr/bin/python3 - "$1" <<'PY'
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
keep = [i for i, h in enumerate(rows[0]) if h not in ("seconds", "samples_per_s", "log")]
for r in rows:
    print(",".join(r[i] for i in keep))
PY
}
