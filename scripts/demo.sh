#!/bin/sh
# make demo: records the bundled examples (a Python script about list and
# dict memory, a C program with a leak) and prints heaptrail's reports.
#   usage: scripts/demo.sh BUILD_DIR PYTHON
set -eu

if [ $# -ne 2 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR PYTHON   (e.g. $0 \$PWD/build python3)" >&2
	exit 2
fi
build=$1
python=$2
here=$(cd "$(dirname "$0")" && pwd)
heaptrail=$build/heaptrail
out=$build/demo

for f in "$heaptrail" "$build/libheaptrail.so"; do
	[ -e "$f" ] || { echo "demo: $f is missing; run make first" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out"

${CC:-cc} -O0 -g -o "$out/leaky" "$here/demo/leaky.c"

report() { # title trace
	printf '\n======== %s\n' "$1"
	for cmd in "top -n 10" "leaks -n 10" "growth -n 10"; do
		printf '\n$ heaptrail %s %s\n' "$cmd" "${2#$build/}"
		# shellcheck disable=SC2086 # cmd holds the command and its flags
		"$heaptrail" $cmd "$2"
	done
}

"$heaptrail" record -o "$out/lists.htr" -- "$python" "$here/demo/lists.py"
"$heaptrail" record -o "$out/leaky.htr" -- "$out/leaky"
report "Python: lists, dicts, __slots__ (scripts/demo/lists.py)" "$out/lists.htr"
printf '\n$ heaptrail diff --from list --to dict %s\n' "${out#$build/}/lists.htr"
"$heaptrail" diff -n 10 --from list --to dict "$out/lists.htr"
report "C: a leak and an unbounded cache (scripts/demo/leaky.c)" "$out/leaky.htr"
