#!/bin/bash
# fresh-root.sh [COMMAND...]: the README's opening commands (or COMMANDs)
# in a brand-new minimal Debian bookworm root, as on a new user's machine:
# only apt, git, ca-certificates and build-essential are installed
# (mmdebstrap --variant=apt), the committed tree (git archive HEAD) is in
# /src, and each command runs there as root, in a chroot with /proc,
# /dev/pts and /dev/shm mounted and a clean environment (PATH, HOME).
# A green CI on a machine where someone installed a package by hand can
# hide a missing install step; this cannot.
#
# Checks, one count each: every command exits 0; a command that runs
# ./mlptrain prints the README's epoch lines (loss, train and test
# accuracy, digit for digit); no process is left in the root after a
# command.  Then the tests run in the root (scripts/test-summary.sh: the
# .log of each failed test).  Ends with "N passed, N failed"; exit 0 when
# nothing failed.
#
# Needs root (chroot, mount namespaces), apt (mmdebstrap is installed when
# missing) and Debian's mirror.  The base root's tarball is cached in
# FRESH_ROOT_CACHE (default /var/tmp/mlptrain-fresh-root) and made again
# when missing, older than a week or made by another recipe.  Each run
# unpacks it into a new directory there, removed at the end unless a check
# failed or FRESH_ROOT_KEEP=1 (then its path is printed).
set -u
TIMEFORMAT='%R %U %S'
src=$(cd "$(dirname "$0")/.." && pwd)
cache=${FRESH_ROOT_CACHE:-/var/tmp/mlptrain-fresh-root}
suite=bookworm
include=ca-certificates,git,build-essential
recipe="mmdebstrap --variant=apt --include=$include $suite"

die() { echo "fresh-root: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (chroot, mount)"
git -C "$src" rev-parse --verify -q HEAD >/dev/null ||
    die "$src is not a git checkout with a commit"
if ! command -v mmdebstrap >/dev/null; then
    echo "fresh-root: installing mmdebstrap"
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q mmdebstrap; } >/dev/null 2>&1 ||
        die "cannot install mmdebstrap (apt-get install mmdebstrap)"
fi
mkdir -p "$cache" || die "cannot make $cache"

# ---- the base root, made once a week ----------------------------------------
base=$cache/$suite.tar
(
    flock 9 # one maker at a time; the others wait and reuse its tarball
    if [ -s "$base" ] && [ "$(cat "$base.recipe" 2>/dev/null)" = "$recipe" ] &&
       [ -z "$(find "$base" -mtime +6)" ]; then
        exit 0
    fi
    echo "fresh-root: $recipe"
    rm -f "$base" "$base.recipe" "$cache/part.tar"
    # mmdebstrap takes the output format from the name: keep .tar.
    mmdebstrap --variant=apt --include="$include" "$suite" "$cache/part.tar" \
        >"$cache/mmdebstrap.log" 2>&1 ||
        { tail -20 "$cache/mmdebstrap.log"; exit 1; }
    mv "$cache/part.tar" "$base" && echo "$recipe" >"$base.recipe"
) 9>"$cache/.lock" || die "mmdebstrap failed (log: $cache/mmdebstrap.log)"

# ---- this run's root --------------------------------------------------------
# Roots of earlier runs left for a look (failed or kept) go after a day.
find "$cache" -maxdepth 1 -name 'run.*' -mtime +0 -exec rm -rf {} + 2>/dev/null
r=$(mktemp -d "$cache/run.XXXXXX") || die "cannot make a directory in $cache"
keep=${FRESH_ROOT_KEEP:-0}
passed=0
failed=0
ok() { passed=$((passed + 1)); echo "PASS: $*"; }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; keep=1; }

# left_in_root: the processes whose root is this run's root, one a line
# (pid and command line).
left_in_root() {
    local p args
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$r" ] || continue
        mapfile -d '' -t args 2>/dev/null <"$p/cmdline"
        echo "${p#/proc/} ${args[*]}"
    done
}
# end_root_processes: SIGKILL what is left in the root (all started here).
end_root_processes() {
    local pid _
    while read -r pid _; do kill -9 "$pid" 2>/dev/null; done < <(left_in_root)
}
cleanup() {
    end_root_processes
    if [ "$keep" = 1 ]; then
        echo "fresh-root: the root is kept in $r"
    else
        rm -rf "$r"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

tar -xf "$base" -C "$r" || die "cannot unpack $base"
cp /etc/resolv.conf "$r/etc/" 2>/dev/null
mkdir "$r/src" && git -C "$src" archive HEAD | tar -x -C "$r/src" ||
    die "cannot copy the tree"
echo "fresh-root: $(git -C "$src" log -1 --format='%h %s' HEAD) in $r/src"
[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
    echo "fresh-root: note: uncommitted changes of $src are not in it"

# The commands: the README's opening block (indented lines before its
# first paragraph), each of which starts with ./bootstrap.
if [ $# -gt 0 ]; then
    cmds=("$@")
else
    mapfile -t cmds < <(git -C "$src" show HEAD:README.md | awk '
        /^(    |\t)/ { sub(/^[ \t]+/, ""); print; seen = 1; next }
        /^[ \t]*$/ { next }
        seen { exit }')
    for c in "${cmds[@]}"; do
        case $c in ./bootstrap*) ;; *) die "README.md opens with '$c', not ./bootstrap" ;; esac
    done
fi
[ "${#cmds[@]}" -gt 0 ] || die "README.md opens with no command"

# figures FILE: the epoch lines' loss and accuracies, without the times.
figures() {
    sed -nE 's/^ *(epoch +[0-9]+ +loss [^ ]+ +train acc [^ ]+ +test acc [^ ]+).*/\1/p' "$1"
}
# The README's: its first block of epoch lines.
git -C "$src" show HEAD:README.md | awk '
    /^ +epoch +[0-9]+ +loss / { print; seen = 1; next }
    seen { exit }' >"$r/readme-epochs"

i=0
for c in "${cmds[@]}"; do
    i=$((i + 1))
    log=$r/log$i
    echo "fresh-root: [$i] $c (log: $log)"
    # In the background and waited for, so that a signal to this script
    # is handled at once (its cleanup ends what runs in the root).
    { time { unshare -m -- bash -c '
        mount -t proc proc "$1/proc" &&
        mount -t tmpfs -o mode=1777 tmpfs "$1/dev/shm" &&
        mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$1/dev/pts" &&
        exec env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            HOME=/root chroot "$1" /bin/bash -c "cd /src && $2"' _ "$r" "$c" \
        </dev/null >"$log" 2>&1 & wait $!; }; } 2>"$r/time$i"
    rc=$?
    # wall and CPU (user + system) time: the machine is shared
    t=$(awk '{ printf "%dm%02ds wall, %dm%02ds CPU", $1 / 60, $1 % 60,
               ($2 + $3) / 60, ($2 + $3) % 60 }' "$r/time$i")
    if [ "$rc" -eq 0 ]; then
        ok "[$i] $c ($t)"
    else
        bad "[$i] $c: exit $rc ($t); its log ends:"
        tail -40 "$log" | sed 's/^/    /'
    fi
    left=$(left_in_root)
    if [ -z "$left" ]; then
        ok "[$i] no process left in the root"
    else
        bad "[$i] processes left in the root:"
        echo "$left" | sed 's/^/    /'
        end_root_processes
    fi
    case $c in
    *./mlptrain*)
        figures "$log" >"$r/epochs$i"
        if [ ! -s "$r/readme-epochs" ]; then
            bad "[$i] README.md shows no epoch lines to compare with"
        elif cmp -s <(figures "$r/readme-epochs") "$r/epochs$i"; then
            ok "[$i] the README's figures, digit for digit:"
            grep -E '^(epoch|ok:)' "$log" | sed 's/^/    /'
        else
            bad "[$i] not the README's figures (README, then this run):"
            diff <(figures "$r/readme-epochs") "$r/epochs$i" | sed 's/^/    /'
        fi
        ;;
    esac
done

# The tests of the last `make check` in the root.
if compgen -G "$r/src/tests/*.trs" >/dev/null; then
    echo "fresh-root: the tests in the root:"
    "$src/scripts/test-summary.sh" "$r/src" >"$r/tests" || keep=1
    sed '$d' "$r/tests"
    t=$(tail -1 "$r/tests")
    echo "fresh-root: tests: $t"
    passed=$((passed + ${t%% passed*}))
    t=${t#*, }
    failed=$((failed + ${t%% failed*}))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
