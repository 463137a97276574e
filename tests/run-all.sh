#!/bin/bash
# Install what DungeonGate needs, build it, and run every test: the unit
# and end-to-end suites under ASan+UBSan, then each fuzz target for
# FUZZ_SECONDS (`make fuzz`: libFuzzer, clang, ASan+UBSan, two at a
# time; a crash fails the run), then the unit tests and a sample of the
# end-to-end ones under valgrind's memcheck (a plain build), then `make
# distcheck` (the release tarball built, installed and checked: the unit
# tests and a sample of the end-to-end tests, on a plain build), then the
# packages (tests/packages.sh: the .deb built, linted, installed, the
# end-to-end suite run against it, purged; the .rpm built and linted).
# Run as root on Debian 12: the end-to-end tests create users and run
# their own sshd.
set -eu
DG_SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
export DG_SRCDIR
. "$DG_SRCDIR/tests/common.sh"

if [ "$(id -u)" != 0 ]; then
	echo "run-all.sh: run as root (the tests create users and start sshd)" >&2
	exit 1
fi
jobs=$(nproc 2>/dev/null || echo 2)

echo "== installing packages"
# shellcheck disable=SC2086
dg_install_deps $DG_PACKAGE_TOOLS $DG_FUZZ_TOOLS
dg_bootstrap "$DG_SRCDIR"

build=${DG_BUILD:-$DG_SRCDIR/build}
echo "== sanitizer build and tests in $build/asan"
rm -rf "$build/asan"
mkdir -p "$build/asan"
cd "$build/asan"
"$DG_SRCDIR/configure" -q --enable-debug --enable-sanitizers
make -j"$jobs"
if ! make -j"$jobs" check; then
	cat test-suite.log
	exit 1
fi

# Seven targets, two at a time on the two cores: about four minutes.
echo "== fuzzing in $build/asan/fuzz"
FUZZ_SECONDS=${FUZZ_SECONDS:-60} FUZZ_JOBS=${FUZZ_JOBS:-2} make fuzz

# Valgrind and ASan do not mix: memcheck gets a plain build of its own.
echo "== valgrind build and tests in $build/valgrind"
rm -rf "$build/valgrind"
mkdir -p "$build/valgrind"
cd "$build/valgrind"
"$DG_SRCDIR/configure" -q --enable-debug
make -j"$jobs"
if ! make -j"$jobs" check-valgrind; then
	cat test-suite.log
	exit 1
fi

echo "== make distcheck in $build/dist"
rm -rf "$build/dist"
mkdir -p "$build/dist"
cd "$build/dist"
"$DG_SRCDIR/configure" -q --enable-debug
# The whole suite ran above; from the tarball, what shows it is whole.
if ! make -j"$jobs" distcheck TESTS="tests/man.sh tests/units.sh \
    tests/e2e/play.sh tests/e2e/watch.sh tests/e2e/record.sh"; then
	find . -name test-suite.log -exec cat {} +
	exit 1
fi
echo "== packages in $build/pkg"
rm -rf "$build/pkg"
mkdir -p "$build/pkg"
cd "$build/pkg"
"$DG_SRCDIR/configure" -q
"$DG_SRCDIR/tests/packages.sh" "$build/pkg"
echo "== all tests passed"
