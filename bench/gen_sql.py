#!/usr/bin/env python3
"""Writes the SQL script of the sqlite3 workload: a table of N rows
(default 200000) inserted in one transaction, two indexes, and a few
queries that sort and group.  Deterministic (seeded generator).

Usage: gen_sql.py OUT.sql [ROWS]
"""
import random
import sys


def main():
    out = sys.argv[1]
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 200000
    rng = random.Random(2026)
    cities = ["city%03d" % i for i in range(500)]
    with open(out, "w") as f:
        f.write("PRAGMA journal_mode=OFF;\nPRAGMA synchronous=OFF;\n")
        f.write("CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, "
                "city TEXT, age INTEGER, score REAL, note TEXT);\n")
        f.write("BEGIN;\n")
        for i in range(rows):
            name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz")
                           for _ in range(rng.randint(4, 12)))
            note = "n" * rng.randint(0, 40)
            f.write("INSERT INTO people VALUES(%d,'%s','%s',%d,%.3f,'%s');\n"
                    % (i, name, rng.choice(cities), rng.randint(1, 99),
                       rng.random() * 1000, note))
        f.write("COMMIT;\n")
        f.write("CREATE INDEX people_city ON people(city, age);\n")
        f.write("CREATE INDEX people_name ON people(name);\n")
        f.write("SELECT city, count(*), avg(score) FROM people GROUP BY city "
                "ORDER BY 2 DESC LIMIT 5;\n")
        f.write("SELECT count(DISTINCT name) FROM people;\n")
        f.write("SELECT name, score FROM people ORDER BY score DESC LIMIT 3;\n")


if __name__ == "__main__":
    main()
