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

finish() {
    echo "$npass passed, $nfail failed"
    [ "$nfail" -eq 0 ]
}
