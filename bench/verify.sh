#!/bin/sh
# Checks the recorder's fast unwinding path against full libunwind unwinds:
# runs every benchmark workload (churn-fp, churn-nofp, threads, python,
# sqlite; BENCH_ONLY=... picks some) once under `heaptrail record` with
# HEAPTRAIL_UNWIND=verify and prints the mismatch counts the recorder
# reports (see Bench.verify in bench/bench.py for the report format it
# looks for).  Skips cleanly when the recorder has no verify mode.
#
# Usage: sh bench/verify.sh [ABS_BUILD_DIR]     (default: ./build)
#        BENCH_QUICK=1 sh bench/verify.sh       smaller workloads
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
BENCH_VERIFY_ONLY=1 exec sh "$ROOT/scripts/bench.sh" "$BUILD"
