#!/bin/bash
# make fuzz: build the libFuzzer targets with clang, ASan and UBSan in a
# tree of their own (DIR, the argument), then run each for FUZZ_SECONDS
# (default 60), FUZZ_JOBS at a time (default 2), from its seed corpus in
# tests/fuzz/corpus/NAME. What the fuzzer adds goes to a temporary folder,
# never into the checked-in corpus. A crash, a leak, a sanitizer report
# or a failed check exits non-zero and names the input that did it (kept
# in DIR/crashes); once the bug is fixed, add that input to the corpus.
#
#	FUZZ_TARGETS="frame config"	only these
#	FUZZ_RUNS=10000000		a number of runs instead of a time
#	FUZZ_WORK=DIR			keep the logs and grown corpora in DIR
set -eu
out=${1:?usage: run.sh BUILD-DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
seconds=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:-}
jobs=${FUZZ_JOBS:-2}
targets=${FUZZ_TARGETS:-frame message config command auth_answer http rcfile}
cc=${FUZZ_CC:-clang}

# The longest input worth trying, per target.
max_len() {
	case $1 in
	frame|config) echo 16384 ;;
	message|auth_answer) echo 8192 ;;
	rcfile) echo 2048 ;;
	http) echo 1024 ;;
	command) echo 512 ;;
	*) echo 4096 ;;
	esac
}

if ! command -v "$cc" >/dev/null; then
	echo "run.sh: $cc not found (apt-get install clang libclang-rt-dev)" >&2
	exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$out"
if [ ! -f Makefile ] || [ "$src/configure" -nt config.status ]; then
	echo "== configuring the fuzz build in $out"
	"$src/configure" -q --enable-debug --enable-sanitizers CC="$cc" \
	    CFLAGS="-fsanitize=fuzzer-no-link"
fi
programs=
for t in $targets; do
	programs="$programs tests/fuzz/fuzz_$t"
done
echo "== building:$programs"
# shellcheck disable=SC2086
make -j"$jobs" $programs

if [ -n "${FUZZ_WORK:-}" ]; then
	mkdir -p "$FUZZ_WORK"
	work=$(cd "$FUZZ_WORK" && pwd)
else
	work=$(mktemp -d /tmp/dg-fuzz.XXXXXX)
	trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$out/crashes"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# Run one target; its log is $work/NAME.log and its exit status NAME.rc.
fuzz_one() {
	local t=$1 limit rc=0
	mkdir -p "$work/$t.corpus"
	if [ -n "$runs" ]; then
		limit=-runs=$runs
	else
		limit=-max_total_time=$seconds
	fi
	local dict=()
	if [ -f "$src/tests/fuzz/dict/$t.dict" ]; then
		dict=(-dict="$src/tests/fuzz/dict/$t.dict")
	fi
	TMPDIR=$work "$out/tests/fuzz/fuzz_$t" "$limit" \
	    -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    "${dict[@]}" -artifact_prefix="$out/crashes/$t-" \
	    "$work/$t.corpus" "$src/tests/fuzz/corpus/$t" \
	    >"$work/$t.log" 2>&1 || rc=$?
	echo "$rc" > "$work/$t.rc"
}

echo "== fuzzing ${runs:+$runs runs}${runs:-${seconds}s} each," \
    "$jobs at a time: $targets"
for t in $targets; do
	if [ ! -d "$src/tests/fuzz/corpus/$t" ]; then
		echo "run.sh: no corpus tests/fuzz/corpus/$t" >&2
		exit 1
	fi
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
		wait -n || true
	done
	fuzz_one "$t" &
done
wait

failed=0
for t in $targets; do
	rc=$(cat "$work/$t.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' \
	    "$work/$t.log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' \
	    "$work/$t.log" | tail -1)
	found=$(find "$work/$t.corpus" -type f | wc -l)
	# libFuzzer's last line: "#N DONE cov: C ft: F corp: K/SIZE ...".
	corp=$(sed -n 's/.*DONE .*corp: \([0-9]*\)\/.*/\1/p' \
	    "$work/$t.log" | tail -1)
	cov=$(sed -n 's/.*DONE .*cov: \([0-9]*\) .*/\1/p' "$work/$t.log" |
	    tail -1)
	if [ "$rc" = 0 ]; then
		echo "fuzz_$t: ok, ${execs:-?} runs, ${rate:-?}/s, coverage" \
		    "${cov:-?}, corpus ${corp:-?} ($found new)"
		continue
	fi
	failed=$((failed + 1))
	echo "fuzz_$t: FAILED (exit $rc)"
	tail -n 60 "$work/$t.log" | sed "s/^/fuzz_$t: /"
	sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$work/$t.log" |
	    while read -r input; do
		echo "fuzz_$t: the input is $input; after the fix, add it" \
		    "to tests/fuzz/corpus/$t/"
	done
done
total=0
for t in $targets; do
	total=$((total + 1))
done
echo "fuzz: $((total - failed)) passed, $failed failed"
[ "$failed" = 0 ]
