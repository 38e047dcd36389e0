#!/bin/sh
# Installs the Debian packages heaptrail needs to build and test, and only
# those that are missing.  Run by the Makefile; safe to run by hand.
# Usage: scripts/install-deps.sh [--check] [EXTRA-PACKAGE...]
#   --check  exit 1 (and name them) when packages are missing; install none.
set -eu

# Build: libunwind, libdw/libelf, a C and C++ compiler.  Tests: Criterion;
# python3-numpy so that the numpy attribution test runs instead of skipping;
# python3-pytest for the pytest plugin's test (pytest --heaptrail).
# zlib: the gzip of `export --format pprof`.  libzstd-dev: compressed
# traces (record --compress); zstd (the tool): the tests inflate them with it.  libiberty-dev: Rust names
# (legacy and v0 mangling) in reports.  The export tests read the
# files back with the tools they are for: golang-go (go tool pprof) and
# valgrind (ms_print).  `heaptrail html`: nodejs and npm (the page's
# libraries, `npm ci`), chromium (its browser test, headless).  The
# allocators preloaded next to the recorder in test_allocators.py:
# jemalloc, tcmalloc (google-perftools' minimal one) and mimalloc.
# gdb: `heaptrail attach` loads the recorder into a running process with it.
# libncurses-dev: the terminal of `heaptrail live`; tmux drives it in
# test_live.py.
PKGS="libncurses-dev tmux libunwind-dev libcriterion-dev libdw-dev libelf-dev zlib1g-dev libzstd-dev zstd libiberty-dev pkg-config python3 python3-numpy python3-pytest gcc g++ make golang-go valgrind nodejs chromium libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 gdb"
# Debian's npm; a nodejs from elsewhere (NodeSource) carries its own npm
# and conflicts with Debian's package.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"

check_only=0
if [ "${1:-}" = "--check" ]; then
	check_only=1
	shift
fi
PKGS="$PKGS $*"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$check_only" = 1 ]; then
	echo "heaptrail: missing packages:$missing" >&2
	exit 1
fi

if [ "$(id -u)" != 0 ]; then
	echo "heaptrail: these packages are missing:$missing" >&2
	echo "heaptrail: install them with:  sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi

echo "heaptrail: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
