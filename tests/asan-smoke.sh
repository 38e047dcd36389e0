#!/bin/sh
# Runs every analysis command of an ASan/UBSan build over synthetic traces
# (complete, torn, exec'd, empty), bad input (text, wrong version, garbage,
# missing file) and, with symbols, real traces recorded by the normal build
# (build/it from `make integration`, if present, plus one recorded here
# through the ASan-built wrapper).  Fails when a command crashes or a
# sanitizer reports; clean errors (exit 1/2) are fine.  Called by `make asan`.
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
# Deterministic garbage (the tail of the binary), so a failure reproduces.
{ head -c 16 "$DIR/complete.htr"; tail -c 3000 "$BIN"; } > "$DIR/garbage.htr"
# Compressed traces (record --compress: zstd frames): two frames whole,
# the second torn, a byte of the data flipped (fails its checksum).
ztraces=""
if command -v zstd >/dev/null 2>&1; then
	zstd -q -1 --check -c "$DIR/complete.htr" > "$DIR/z1"
	zstd -q -1 --check -c "$DIR/exec.htr" > "$DIR/z2"
	cat "$DIR/z1" "$DIR/z2" > "$DIR/zwhole.htr"
	head -c $(($(wc -c < "$DIR/zwhole.htr") - 5)) "$DIR/zwhole.htr" > "$DIR/ztorn.htr"
	cp "$DIR/zwhole.htr" "$DIR/zbad.htr"
	printf '\377' | dd of="$DIR/zbad.htr" bs=1 seek=20 conv=notrunc 2>/dev/null
	ztraces="zwhole ztorn zbad"
fi

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

# Synthetic traces have made-up addresses: nothing to symbolize.
export HEAPTRAIL_NO_SYMBOLS=1
for t in complete torn exec aggregated empty text version garbage missing $ztraces; do
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
		check report $j "$f"
	done
	for fmt in collapsed pprof massif; do
		check export "$f" --format $fmt -o "$DIR/export.out"
	done
	check export "$f" --format collapsed --at middle
	check timeline "$f"
	check timeline --csv "$f"
	check timeline --json "$f"
	check lines "$f" prog --at middle
	check html "$f" -o "$DIR/page.html"
done
check top "$DIR/complete.htr" --bogus
check diff "$DIR/complete.htr"
# Several traces of one run (cli/multi.c), and --image N of an exec chain.
for j in "" --json; do
	check top $j "$DIR/complete.htr" "$DIR/exec.htr" "$DIR/torn.htr"
	check top $j --by process --at end "$DIR/complete.htr" "$DIR/exec.htr"
	check top $j --by traceback --at middle "$DIR/complete.htr" "$DIR/exec.htr"
	check top $j --cumulative --by function "$DIR/complete.htr" "$DIR/torn.htr"
	check info $j "$DIR/complete.htr" "$DIR/exec.htr" "$DIR/empty.htr"
	check leaks $j "$DIR/complete.htr" "$DIR/exec.htr" "$DIR/torn.htr"
	check report $j "$DIR/complete.htr" "$DIR/exec.htr" "$DIR/torn.htr"
	check top $j "$DIR/complete.htr" "$DIR/garbage.htr"
	check info $j --image 0 "$DIR/exec.htr"
	check top $j --image 0 --at end "$DIR/exec.htr"
	check report $j --image 0 "$DIR/exec.htr"
	check leaks $j --image 1 "$DIR/exec.htr"
	check info $j --image 7 "$DIR/exec.htr"
done

# Real traces, symbolized through libdw.  build/asan/heaptrail -> build.
unset HEAPTRAIL_NO_SYMBOLS
build=$(cd "$(dirname "$BIN")/.." && pwd)
if [ -f "$build/libheaptrail.so" ] && [ -x "$build/targets/snapshots" ]; then
	rc=0
	HEAPTRAIL_LIB=$build/libheaptrail.so "$BIN" record -q -o "$DIR/recorded.htr" \
		-- "$build/targets/snapshots" >/dev/null 2>"$DIR/err" || rc=$?
	runs=$((runs + 1))
	if [ "$rc" -ne 0 ] || grep -q -e 'Sanitizer' -e 'runtime error' "$DIR/err"; then
		echo "asan-smoke: FAIL (exit $rc): heaptrail record" >&2
		head -n 20 "$DIR/err" >&2
		fails=$((fails + 1))
	fi
fi
real=$(
	{
		ls "$DIR/recorded.htr"
		# The smallest traces of the last integration run (symbolizing
		# under ASan is slow), capped.
		[ -d "$build/it" ] && find "$build/it" -name '*.htr' -size -2M -printf '%s %p\n' |
			sort -n | head -n 16 | cut -d' ' -f2-
	} 2>/dev/null || true
)
for f in $real; do
	check info --json "$f"
	check top "$f" -n 0 --by traceback
	check top --json "$f" --at peak
	check snapshots "$f"
	check diff "$f" --from 0 --to end
	check leaks --json "$f"
	check growth "$f"
	check export "$f" --format pprof -o "$DIR/export.out"
	check export "$f" --format massif
	check timeline "$f"
	check lines "$f" snapshots.c --from 0
	check lines "$f" snapshots.c --function phase_one
	check report "$f"
	check report --json "$f" --by traceback
done
# The real ones together, as traces of one run.
if [ -n "$real" ]; then
	# shellcheck disable=SC2086 # one path per word
	check top -n 5 $real
	# shellcheck disable=SC2086
	check report --json $real
	# shellcheck disable=SC2086
	check info $real
fi

echo "asan-smoke: $runs runs, $fails failures"
[ "$fails" -eq 0 ]
