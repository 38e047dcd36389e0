#!/bin/sh
# make bench: heaptrail's recorder and analyzer against heaptrack, side by
# side, on workloads the benchmark builds itself (bench/).  Prints a table;
# also writes BUILD/bench/results/bench.md (Markdown, for the README) and
# bench.json (every sample).  A full run takes about 15 minutes.
#
# Usage: sh scripts/bench.sh ABS_BUILD_DIR        (what `make bench` runs)
#
# Knobs (environment, or on make's command line: make bench BENCH_QUICK=1):
#   BENCH_ROUNDS=N   interleaved rounds per workload (default 5; 3 if QUICK)
#   BENCH_QUICK=1    smaller workloads and fewer rounds, for a quick look
#   BENCH_ONLY=a,b   only these workloads: churn-fp churn-nofp threads python
#                    python-native sqlite cxx-text churn-fp-1cpu, the sweep's rows (sw-base,
#                    sw-sizes-fixed, ...; see SWEEP in bench/bench.py) or
#                    "sweep" for all of them
#   BENCH_TOOLS=a,b  only these tools: base heaptrail heaptrack tracemalloc
#                    (tracemalloc = python3 -X tracemalloc=25, python workload only; e.g. base,heaptrail
#                    while tuning the recorder: spares the shared machine heaptrack)
#   BENCH_VERIFY=0   skip the check that runs every workload once with
#                    HEAPTRAIL_UNWIND=verify (the recorder compares its fast
#                    unwinder with libunwind on every stack and reports
#                    mismatches; skipped if it does not support it).  On by
#                    default: a fast but wrong unwinder makes the timings moot.
#   BENCH_VERIFY_ONLY=1  only that check (bench/verify.sh sets it)
#   BENCH_MEM_MB=N   address-space limit of every run, MB (default 4096): the
#                    machine may be shared, and heaptrack can run away
#   BENCH_TIMEOUT=S  time limit of every run (default 300)
#   BENCH_PYTHON=P   interpreter of the python workload (default
#                    /usr/bin/python3, the distribution's, when present)
#   BENCH_KEEP=1     keep the traces in BUILD/bench/results/tmp
#   BENCH_LONG_SECONDS=S  duration of each run of the long-running table
#                    (bench/longrun.py: bench/server.c uninstrumented, full
#                    and --aggregate; default 60, 30 if QUICK); BENCH_ONLY=
#                    long-running runs only that table
set -eu

BUILD=${1:?usage: sh scripts/bench.sh ABS_BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BDIR=$BUILD/bench
CC=${CC:-cc}

# heaptrack to compare with, zstd (heaptrack compresses with it when
# present; installing it makes the comparison the same on every machine),
# sqlite3 for the real-program workload, hyperfine for a second timing of
# the analyzers.
sh "$ROOT/scripts/install-deps.sh" heaptrack zstd sqlite3 hyperfine

mkdir -p "$BDIR"

# --- workloads ------------------------------------------------------------
# A generated header, replaced only when its bytes change (so that make-
# style timestamps below rebuild only what changed): NAME GENERATOR [ARGS].
gen_header() {
	name=$1
	gen=$2
	shift 2
	python3 "$gen" "$BDIR/$name.new" "$@"
	if ! cmp -s "$BDIR/$name.new" "$BDIR/$name" 2>/dev/null; then
		mv "$BDIR/$name.new" "$BDIR/$name"
	else
		rm -f "$BDIR/$name.new"
	fi
}
# PROGRAM (bench/PROGRAM.c with BUILD/bench/PROGRAM_sites.h) built twice,
# PROGRAM-fp and PROGRAM-nofp, when missing or older than its sources.
build_fp_nofp() {
	for v in fp nofp; do
		if [ $v = fp ]; then fpflag=-fno-omit-frame-pointer; else fpflag=-fomit-frame-pointer; fi
		out=$BDIR/$1-$v
		if [ ! -x "$out" ] || [ "$ROOT/bench/$1.c" -nt "$out" ] ||
			[ "$ROOT/bench/bench_rng.h" -nt "$out" ] || [ "$BDIR/$1_sites.h" -nt "$out" ]; then
			echo "bench: building $out"
			$CC -std=gnu11 -O2 -g $fpflag -Wall -Wextra -Werror -I"$BDIR" \
				-o "$out" "$ROOT/bench/$1.c" -lpthread
		fi
	done
}
gen_header churn_sites.h "$ROOT/bench/gen_sites.py" 50 5 30
build_fp_nofp churn
# The sweep's parameterised churn (one binary per frame-pointer setting:
# every other dimension is chosen on its command line).
gen_header sweep_sites.h "$ROOT/bench/gen_sweep.py"
build_fp_nofp sweep
# The long-running table's server loop (bench/longrun.py).
if [ ! -x "$BDIR/server" ] || [ "$ROOT/bench/server.c" -nt "$BDIR/server" ] ||
	[ "$ROOT/bench/bench_rng.h" -nt "$BDIR/server" ]; then
	echo "bench: building $BDIR/server"
	$CC -std=gnu11 -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -I"$ROOT/bench" \
		-o "$BDIR/server" "$ROOT/bench/server.c"
fi
CXX=${CXX:-c++}
if [ ! -x "$BDIR/textproc" ] || [ "$ROOT/bench/textproc.cpp" -nt "$BDIR/textproc" ]; then
	echo "bench: building $BDIR/textproc"
	$CXX -std=c++17 -O2 -g -Wall -Wextra -Werror -o "$BDIR/textproc" "$ROOT/bench/textproc.cpp"
fi
for rows in 200000:rows.sql 50000:rows-quick.sql; do
	f=$BDIR/${rows#*:}
	if [ ! -s "$f" ] || [ "$ROOT/bench/gen_sql.py" -nt "$f" ]; then
		python3 "$ROOT/bench/gen_sql.py" "$f.tmp" "${rows%%:*}"
		mv "$f.tmp" "$f"
	fi
done

# --- run ------------------------------------------------------------------
PY=${BENCH_PYTHON:-}
if [ -z "$PY" ]; then
	if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3); fi
fi
# A shim (pyenv's is a shell script) would hide the interpreter from the
# profilers; ask the interpreter for its real path.
PY=$("$PY" -c 'import sys; print(sys.executable)')

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then ROUNDS=${BENCH_ROUNDS:-3}; else ROUNDS=${BENCH_ROUNDS:-5}; fi

set -- --build "$BUILD" --rounds "$ROUNDS" --python "$PY" \
	--mem-mb "${BENCH_MEM_MB:-4096}" --timeout "${BENCH_TIMEOUT:-300}"
[ "$QUICK" = 1 ] && set -- "$@" --quick
[ -n "${BENCH_ONLY:-}" ] && set -- "$@" --only "$BENCH_ONLY"
[ -n "${BENCH_TOOLS:-}" ] && set -- "$@" --tools "$BENCH_TOOLS"
[ "${BENCH_VERIFY:-1}" = 1 ] && set -- "$@" --verify
[ "${BENCH_VERIFY_ONLY:-0}" = 1 ] && set -- "$@" --verify-only
[ "${BENCH_KEEP:-0}" = 1 ] && set -- "$@" --keep
exec python3 "$ROOT/bench/bench.py" "$@"
