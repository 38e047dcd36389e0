#!/bin/sh
# make asan: runs the ASan/UBSan-built analyzer over traces recorded by the
# normal build (build/it/ from `make integration`, if present, plus one it
# records now) and over malformed files.  Exit 1 on any sanitizer report.
#   usage: tests/asan-smoke.sh /abs/path/to/asan/heaptrail
set -eu

if [ $# -ne 1 ] || [ ! -x "$1" ]; then
	echo "usage: $0 ASAN_HEAPTRAIL_BINARY" >&2
	exit 2
fi
bin=$1
build=$(cd "$(dirname "$bin")/.." && pwd) # build/asan/heaptrail -> build
it=$build/it
# Private scratch: several engineers may run this at once.
work=$(mktemp -d "${TMPDIR:-/tmp}/heaptrail-asan.XXXXXX")
trap 'rm -rf "$work"' EXIT

export ASAN_OPTIONS="${ASAN_OPTIONS:-}:abort_on_error=0:exitcode=99:detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-}:print_stacktrace=1:halt_on_error=1:exitcode=99"

# A fresh trace through the ASan-built wrapper and the normal recorder.
if [ -f "$build/libheaptrail.so" ] && [ -x "$build/targets/snapshots" ]; then
	HEAPTRAIL_LIB=$build/libheaptrail.so "$bin" record -q -o "$work/snapshots.htr" \
		-- "$build/targets/snapshots" >/dev/null 2>"$work/record.err" || true
	if grep -q -e 'Sanitizer' -e 'runtime error:' "$work/record.err"; then
		cat "$work/record.err" >&2
		echo "asan-smoke: sanitizer report from heaptrail record" >&2
		exit 1
	fi
fi

# Malformed inputs: the analyzer must refuse them cleanly.
printf 'not a trace\n' > "$work/text.htr"
: > "$work/empty.htr"
printf '\211HTR\r\n\032\n\143\000\000\000\000\000\000\000' > "$work/version.htr"
if [ -f "$work/snapshots.htr" ]; then
	size=$(wc -c < "$work/snapshots.htr")
	head -c $((size * 2 / 3)) "$work/snapshots.htr" > "$work/cut.htr"
	{ head -c 16 "$work/snapshots.htr"; tail -c 3000 "$bin"; } > "$work/garbage.htr"
fi

traces=$(
	{
		ls "$work"/*.htr
		# Recorded by the normal build during make integration: the
		# smallest ones (symbolizing under ASan is slow), capped.
		[ -d "$it" ] && find "$it" -name '*.htr' -size -2M -printf '%s %p\n' |
			sort -n | head -n 16 | cut -d' ' -f2-
	} 2>/dev/null
)
[ -n "$traces" ] || { echo "asan-smoke: no traces found (run make integration first)" >&2; exit 1; }

failed=0
n=0
for t in $traces; do
	for cmd in "info" "info --json" "top" "top --json -n 0 --by traceback" "leaks" \
		"leaks --json" "growth" "growth --json" "snapshots" "snapshots --json" \
		"diff --from 0 --to 1"; do
		n=$((n + 1))
		# shellcheck disable=SC2086 # cmd holds the command and its flags
		"$bin" $cmd "$t" >/dev/null 2>"$work/err" && rc=0 || rc=$?
		if [ "$rc" -eq 99 ] || [ "$rc" -gt 128 ] ||
			grep -q -e 'Sanitizer' -e 'runtime error:' "$work/err"; then
			echo "asan-smoke: heaptrail $cmd $t: exit $rc" >&2
			head -n 40 "$work/err" >&2
			failed=$((failed + 1))
		fi
	done
done
echo "asan-smoke: $n runs, $failed with sanitizer reports or crashes"
[ "$failed" -eq 0 ]
