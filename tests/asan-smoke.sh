#!/bin/sh
# Runs every analysis command of an ASan/UBSan build over synthetic traces
# (complete, torn, exec'd, empty) and bad input (text, wrong version,
# garbage, missing file).  Fails when a command crashes or a sanitizer
# reports; clean errors (exit 1/2) are fine.  Called by `make asan`.
# Usage: sh tests/asan-smoke.sh /abs/path/to/heaptrail
set -eu

BIN=${1:?usage: sh tests/asan-smoke.sh HEAPTRAIL_BINARY}
CC=${CC:-cc}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/heaptrail-asan.XXXXXX")
trap 'rm -rf "$DIR"' EXIT INT TERM

"$CC" -std=gnu11 -Iinclude -o "$DIR/gen_seeds" tests/fuzz/gen_seeds.c
"$DIR/gen_seeds" "$DIR"
printf 'hello, not a trace\n' > "$DIR/text.htr"
printf '\211HTR\r\n\032\n\143\000\000\000\000\000\000\000' > "$DIR/version.htr"
{ head -c 16 "$DIR/complete.htr"; head -c 3000 /dev/urandom; } > "$DIR/garbage.htr"

export HEAPTRAIL_NO_SYMBOLS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
fails=0
runs=0
check() {
	runs=$((runs + 1))
	rc=0
	"$BIN" "$@" >"$DIR/out" 2>"$DIR/err" || rc=$?
	if [ "$rc" -gt 2 ] || grep -q -e 'Sanitizer' -e 'runtime error' "$DIR/err"; then
		echo "asan-smoke: FAIL (exit $rc): heaptrail $*" >&2
		head -n 20 "$DIR/err" >&2
		fails=$((fails + 1))
	fi
}

for t in complete torn exec empty text version garbage missing; do
	f="$DIR/$t.htr"
	for j in "" --json; do
		check info $j "$f"
		check snapshots $j "$f"
		check top $j "$f"
		check top $j "$f" --at peak --by traceback
		check top $j "$f" --at middle --cumulative --by filename
		check top $j "$f" --temporary --by function
		check top $j "$f" --at 1ms --by module --exclude '*.py'
		check diff $j "$f" --from middle --to exit
		check diff $j "$f" "$DIR/complete.htr" --by traceback
		check leaks $j "$f"
		check growth $j "$f"
	done
done
check top "$DIR/complete.htr" --bogus
check diff "$DIR/complete.htr"

echo "asan-smoke: $runs runs, $fails failures"
[ "$fails" -eq 0 ]
