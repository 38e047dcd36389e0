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

${CC:-cc} -O0 -g -I"$here/../include" -o "$out/leaky" "$here/demo/leaky.c"

show() { # heaptrail arguments...; the trace is the last one
	eval "last=\${$#}"
	printf '\n$ heaptrail'
	for a in "$@"; do
		[ "$a" = "$last" ] && a=${a#"$build"/}
		printf ' %s' "$a"
	done
	printf '\n'
	"$heaptrail" "$@"
}

"$heaptrail" record -o "$out/lists.htr" -- "$python" "$here/demo/lists.py"
"$heaptrail" record -o "$out/leaky.htr" -- "$out/leaky"

printf '\n======== Python: lists, dicts, __slots__ (scripts/demo/lists.py)\n'
# At the end of a Python program its objects are gone already: look at the
# peak and at the snapshots the script marks between its phases.
show top -n 10 --at peak "$out/lists.htr"
if "$heaptrail" snapshots "$out/lists.htr" | grep -q slotted; then
	show diff -n 5 --from list --to dict "$out/lists.htr"
	show diff -n 5 --from points --to slotted "$out/lists.htr"
fi
show leaks -n 5 --by lineno "$out/lists.htr"
show growth -n 3 "$out/lists.htr"

printf '\n======== C: a leak and an unbounded cache (scripts/demo/leaky.c)\n'
show top -n 10 "$out/leaky.htr"
show leaks -n 10 "$out/leaky.htr"
show growth -n 10 "$out/leaky.htr"
