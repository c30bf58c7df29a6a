#!/usr/bin/env bash
# kig-du inside gVisor (docs/pods.md "At rest"): kubelet's two disk usage command lines answered by kig-du,
# run as nice and as find through links, against the real GNU du and find on the same tree in the same
# sandbox: stdout, stderr and exit code alike. The tree is like a node's log directories and volumes: nested
# directories, an empty one, a sparse file, several MB, hard links within it and to a file outside, symlinks
# to a directory and to nothing, and a tmpfs mounted below it (du leaves it out, find counts its mount
# point). Also: with PATH holding only kig-du's links the answers are the same (kig-du walked in-process,
# no real program ran); another command line runs the real find; a missing PATH gets GNU's message.
#
# Everything runs in one sandbox: this script re-runs itself there with --inside.
. "$(dirname "$0")/lib.sh"
require_root

KIG_DU=$KIG_BUILD_DIR/src/kig-du/kig-du

# run_both PATH_FIRST CMD...: out, err and rc of CMD, with PATH_FIRST (if any) first in PATH.
run_both() {
    local first=$1
    shift
    out=$(PATH=${first:+$first:}$PATH "$@" 2>"$W/err")
    rc=$?
    err=$(cat "$W/err")
}

# compare NAME PATH: kubelet's du and find command lines for PATH, GNU's answers against kig-du's.
compare() {
    local name=$1 p=$2 gnu only
    run_both "" nice -n 19 du -x -s -B 1 "$p"
    gnu="$out|$err|$rc"
    run_both "$W/bin" nice -n 19 du -x -s -B 1 "$p"
    assert_eq "du $name: kig-du as GNU du" "$gnu" "$out|$err|$rc"
    if [ "$rc" = 0 ]; then
        only=$(PATH=$W/bin nice -n 19 du -x -s -B 1 "$p" 2>&1)
        assert_eq "du $name: the same with no real nice or du in PATH (in-process)" "$gnu" "$only||0"
    fi
    run_both "" find "$p" -xdev -printf .
    gnu="$out|$err|$rc"
    run_both "$W/bin" find "$p" -xdev -printf .
    assert_eq "find $name: kig-du as GNU find" "$gnu" "$out|$err|$rc"
    if [ "$rc" = 0 ]; then
        only=$(PATH=$W/bin find "$p" -xdev -printf . 2>&1)
        assert_eq "find $name: the same with no real find in PATH (in-process)" "$gnu" "$only||0"
    fi
}

inside() {
    W=$1
    cd "$W" || exit 1
    mkdir -p bin t/pods/ns_web-0_u1/nginx t/pods/ns_web-0_u1/sidecar t/empty t/mnt
    ln -s "$KIG_DU" bin/nice
    ln -s "$KIG_DU" bin/find
    head -c 3000000 /dev/urandom >t/pods/ns_web-0_u1/nginx/0.log
    echo line >t/pods/ns_web-0_u1/sidecar/0.log
    ln t/pods/ns_web-0_u1/nginx/0.log t/pods/ns_web-0_u1/nginx/0.log.20261123
    head -c 200000 /dev/urandom >outside
    ln outside t/outside-link
    truncate -s 50M t/sparse
    ln -s ../pods t/empty/to-dir
    ln -s nowhere t/dangling
    mount -t tmpfs tmpfs t/mnt && head -c 500000 /dev/urandom >t/mnt/on-tmpfs && mkdir t/mnt/d ||
        _report fail "a tmpfs mounts below the tree"
    [ "$(uname -r)" = 4.4.0 ] && _report ok "inside gVisor" || _report fail "inside gVisor" "uname -r: $(uname -r)"

    compare "of the tree" "$W/t"
    compare "of the tree, relative, trailing slashes" "t//"
    compare "of a log directory" "$W/t/pods/ns_web-0_u1/nginx"
    compare "of the mount point" "$W/t/mnt"
    compare "of a sparse file" "$W/t/sparse"
    compare "of a symlink" "$W/t/empty/to-dir"
    compare "of a missing PATH" "$W/t/missing"
    assert_not_contains "the tmpfs is not counted" "$(nice -n 19 du -x -s -B 1 "$W/t")" "$(du -s -B 1 "$W/t" | cut -f1)"

    run_both "" find "$W/t" -name '*.log'
    gnu="$out|$err|$rc"
    run_both "$W/bin" find "$W/t" -name '*.log'
    assert_eq "another find command line runs the real find" "$gnu" "$out|$err|$rc"
    run_both "" nice -n 5 nice
    gnu="$out|$err|$rc"
    run_both "$W/bin" nice -n 5 nice
    assert_eq "another nice command line runs the real nice" "$gnu" "$out|$err|$rc"
    umount t/mnt
    finish
}

if [ "${1:-}" = --inside ]; then
    inside "$2"
    exit
fi

[ -x "$KIG_DU" ] || { echo "not ok - kig-du not built at $KIG_DU"; exit 1; }
make_work_dir kig-test-du
in_bed --timeout 300 -- bash "$0" --inside "$work"
rc=$?
assert_eq "every check inside gVisor passed" 0 "$rc"
finish
