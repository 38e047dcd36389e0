"""Benchmark workload: CPU- and allocation-heavy pure Python.

Run under PYTHONMALLOC=malloc by the benchmark so that every object
allocation goes through malloc.  Deterministic: no hashing of str keys
influences the output (PYTHONHASHSEED is fixed by the harness anyway) and
the random generator is seeded.

Usage: python3 pywork.py [ROUNDS]   (8 rounds take about 1 s)
"""
import random
import sys


class Point:
    __slots__ = ("x", "y", "tag")

    def __init__(self, x, y, tag):
        self.x = x
        self.y = y
        self.tag = tag


class Node:
    def __init__(self, key, children):
        self.key = key
        self.children = children


def build_tree(rng, depth):
    if depth == 0:
        return Node(rng.random(), [])
    return Node(rng.random(), [build_tree(rng, depth - 1) for _ in range(3)])


def tree_sum(node):
    return node.key + sum(tree_sum(c) for c in node.children)


def words(rng, n):
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9)))
            for _ in range(n)]


def round_(rng, scale):
    # list and dict building
    ws = words(rng, 20000 * scale)
    counts = {}
    for w in ws:
        counts[w] = counts.get(w, 0) + 1
    index = {w: [i for i, c in enumerate(w) if c in "aeiou"] for w in counts}
    # string work
    text = " ".join(ws)
    upper = text.upper().split()
    joined = ",".join("%s=%d" % (w, counts[w]) for w in sorted(counts)[:5000])
    # small objects
    pts = [Point(i, i * 2, ws[i % len(ws)]) for i in range(30000 * scale)]
    pts.sort(key=lambda p: (p.tag, -p.x))
    tuples = [(p.x, p.y, p.tag) for p in pts if p.x % 3]
    tree = build_tree(rng, 8)
    return (len(counts) + len(index) + len(upper) + len(joined) + len(tuples)
            + int(tree_sum(tree)))


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    rng = random.Random(12345)
    total = 0
    for _ in range(rounds):
        total += round_(rng, 1)
    print("pywork", total)


if __name__ == "__main__":
    main()
