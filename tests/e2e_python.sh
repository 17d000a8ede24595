#!/bin/bash
# End-to-end: the Python module (`import mlptrain`, python/), built by
# make, with Debian's python3 and scikit-learn: tests/e2e_python.py runs
# scikit-learn's check_estimator (no check skipped), GridSearchCV and
# Pipeline, the command line's figures from the same data as arrays,
# X without a copy, pickling, checkpoints both ways with the command line,
# errors as exceptions, the GIL released, and Ctrl-C in a subprocess.
. "${srcdir:-.}/tests/lib.sh"

if [ "${MLP_PY_BUILT:-0}" != 1 ]; then
    echo "SKIP: built without the Python module (configure --without-python)"
    exit 77
fi
need_py numpy python3-numpy
need_py sklearn python3-sklearn
# scikit-learn's check_estimator checks pandas input when pandas is there,
# and skips that check otherwise: the module passes it, none skipped.
need_py pandas python3-pandas
# A sanitized build's extension needs its runtime loaded first: ASan's is
# preloaded into Debian's python3 (its leak check off: CPython keeps its
# objects at exit; test_no_leak is skipped, ASan's quarantine grows the
# process); CPython is not built for ThreadSanitizer.
san=()
case ${MLP_PY_SAN:-} in
*thread*)
    echo "SKIP: a ThreadSanitizer build: Debian's python3 cannot load it"
    exit 77 ;;
*address*)
    san=(LD_PRELOAD="$(${MLP_CC:-gcc} -print-file-name=libasan.so)"
         ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
         MLP_PY_SANITIZED=1) ;;
esac
if env "${san[@]}" PYTHONPATH="$MLP_PYTHONPATH" TMP="$TMP" MLPTRAIN_LOADAVG=off \
        "${MLP_PYTHON:-$PY}" "${srcdir:-.}/tests/e2e_python.py" \
        >"$TMP/py.out" 2>&1; then
    ok "tests/e2e_python.py: $(tail -n 1 "$TMP/py.out")"
else
    bad "tests/e2e_python.py:"
fi
cat "$TMP/py.out"

# make install's place: for Debian's prefixes (/usr/local, the default,
# and /usr) the package directory is on the interpreter's sys.path, so
# that `import mlptrain` works after `make install` with no PYTHONPATH.
case ${MLP_PYTHONDIR:-} in
/usr/local/lib/*|/usr/lib/*)
    if "${MLP_PYTHON:-$PY}" -c 'import sys; sys.exit(sys.argv[1] not in sys.path)' \
            "$MLP_PYTHONDIR"; then
        ok "make install's $MLP_PYTHONDIR is on ${MLP_PYTHON:-$PY}'s sys.path"
    else
        bad "make install's $MLP_PYTHONDIR is not on ${MLP_PYTHON:-$PY}'s sys.path"
    fi ;;
*) echo "note: configured to install into $MLP_PYTHONDIR (not a Debian prefix): not checked" ;;
esac
finish
