#!/bin/sh
# Fuzzes the trace reader (and the analysis behind it) with libFuzzer for
# SECONDS seconds.  Seeds: real traces under build/ if any, else synthetic
# ones from tests/fuzz/gen_seeds.c.  Exits non-zero when the fuzzer finds a
# crash, a leak or undefined behaviour (the input is kept in build/fuzz/).
# Usage: sh scripts/fuzz.sh [SECONDS]
set -eu

SECONDS_TO_RUN=${1:-60}
case $SECONDS_TO_RUN in
	''|*[!0-9]*) echo "usage: sh scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
	echo "fuzz.sh: $CLANG not found; install clang (libFuzzer ships with it)" >&2
	exit 1
fi

OUT=build/fuzz
mkdir -p "$OUT/corpus" "$OUT/seeds"
DW_CFLAGS=$(pkg-config --cflags libdw 2>/dev/null || true)
DW_LIBS=$(pkg-config --libs libdw 2>/dev/null || echo "-ldw -lelf")
SRCS=$(ls analyzer/read/*.c analyzer/model/*.c analyzer/agg/*.c analyzer/render/*.c analyzer/cli/*.c | grep -v '^analyzer/cli/main\.c$')
FLAGS="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"

# shellcheck disable=SC2086
"$CLANG" -std=gnu11 $FLAGS -Iinclude -Ianalyzer -D_GNU_SOURCE \
	-DHEAPTRAIL_VERSION='"fuzz"' $DW_CFLAGS \
	-o "$OUT/fuzz_reader" tests/fuzz/fuzz_reader.c $SRCS $DW_LIBS -lz -liberty -lzstd -lm

# Seeds: real traces (small ones) if a recording left some under build/.
found=0
for f in $(find build -path build/fuzz -prune -o -name '*.htr' -size -2M -print 2>/dev/null | head -n 20); do
	cp "$f" "$OUT/seeds/" && found=1
done
if [ "$found" = 0 ]; then
	"$CLANG" -std=gnu11 -Iinclude -o "$OUT/gen_seeds" tests/fuzz/gen_seeds.c
	"$OUT/gen_seeds" "$OUT/seeds"
fi

echo "fuzz.sh: fuzzing the reader for ${SECONDS_TO_RUN}s (seeds: $(ls "$OUT/seeds" | wc -l))"
"$OUT/fuzz_reader" -max_total_time="$SECONDS_TO_RUN" -max_len=16384 \
	-timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$OUT/" "$OUT/corpus" "$OUT/seeds"
