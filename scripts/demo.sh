#!/bin/sh
# make demo: records the bundled examples (a Python script about list and
# dict memory, a C program with a leak) and prints heaptrail's reports.
# Also writes their exports (folded stacks, pprof, massif) to BUILD_DIR/demo.
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
show timeline --height 12 "$out/lists.htr"

# The same traces for other tools: folded stacks (flamegraph.pl, inferno,
# speedscope), pprof (go tool pprof, Pyroscope, Parca) and massif (ms_print).
for t in lists leaky; do
	"$heaptrail" export "$out/$t.htr" --format collapsed --at peak -o "$out/$t.folded" 2>/dev/null
	"$heaptrail" export "$out/$t.htr" --format pprof --at peak -o "$out/$t.pb.gz" 2>/dev/null
	"$heaptrail" export "$out/$t.htr" --format massif -o "$out/$t.massif" 2>/dev/null
done
printf '\nExports written: %s/{lists,leaky}.{folded,pb.gz,massif}\n' "$out"
printf '  go tool pprof -top %s/lists.pb.gz;  ms_print %s/leaky.massif\n' "$out" "$out"

# The interactive pages (timeline, flamegraphs, tables; no network).
for t in lists leaky; do
	"$heaptrail" html "$out/$t.htr" -o "$out/$t.html" 2>/dev/null
done
printf '\nHTML reports written: %s/lists.html and %s/leaky.html (open them in a browser)\n' "$out" "$out"
