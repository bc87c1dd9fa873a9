#!/usr/bin/env python3
"""Compare a regenerated reference JSON file with the committed one.

Walks both documents recursively and requires:
* the same keys in every object (a missing or extra key is a difference),
* lists of the same length,
* floats equal within a relative 1e-12 (|a - b| <= 1e-12 * max(|a|, |b|);
  two zeros are equal),
* integers and booleans exactly equal (a bool never equals a number),
* null where the other side has null.
Strings that differ are reported but do not count as a failure (they are
descriptions); keys always count.

Usage: compare.py NEW.json COMMITTED.json [--rtol 1e-12] [--max-report 20]
Exit status 0 when the files agree, 1 on any difference, 2 on a usage error.
"""

import argparse
import json
import math
import sys


class Report:
    def __init__(self, rtol, max_report):
        self.rtol = rtol
        self.max_report = max_report
        self.failures = []
        self.string_diffs = []
        self.n_numbers = 0
        self.n_exact = 0
        self.max_rel = 0.0
        self.max_rel_path = None

    def fail(self, path, msg):
        self.failures.append("%s: %s" % (path or "<root>", msg))


def kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "str"
    if v is None:
        return "null"
    if isinstance(v, list):
        return "list"
    if isinstance(v, dict):
        return "object"
    return type(v).__name__


def walk(a, b, path, rep):
    ka, kb = kind(a), kind(b)
    if ka == "object" and kb == "object":
        for k in sorted(set(a) - set(b)):
            rep.fail(path + "." + k, "key only in the new file")
        for k in sorted(set(b) - set(a)):
            rep.fail(path + "." + k, "key only in the committed file")
        for k in a:
            if k in b:
                walk(a[k], b[k], path + "." + k, rep)
        return
    if ka == "list" and kb == "list":
        if len(a) != len(b):
            rep.fail(path, "list length %d (new) vs %d (committed)" % (len(a), len(b)))
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, "%s[%d]" % (path, i), rep)
        return
    if ka == "str" and kb == "str":
        if a != b:
            rep.string_diffs.append("%s:\n    new:       %r\n    committed: %r" % (path, a, b))
        return
    if ka == "bool" or kb == "bool" or ka == "null" or kb == "null":
        if ka != kb or a != b:
            rep.fail(path, "%r (new) vs %r (committed)" % (a, b))
        return
    if ka in ("int", "float") and kb in ("int", "float"):
        rep.n_numbers += 1
        if ka == "int" and kb == "int":
            if a != b:
                rep.fail(path, "integer %r (new) vs %r (committed)" % (a, b))
            else:
                rep.n_exact += 1
            return
        fa, fb = float(a), float(b)
        if fa == fb or (math.isnan(fa) and math.isnan(fb)):
            rep.n_exact += 1
            if ka != kb:
                # 1 vs 1.0: same value, different JSON spelling; not a failure
                rep.string_diffs.append("%s: number spelled %r (new) vs %r (committed)" % (path, a, b))
            return
        scale = max(abs(fa), abs(fb))
        rel = abs(fa - fb) / scale if scale > 0 else 0.0
        if rel > rep.max_rel:
            rep.max_rel, rep.max_rel_path = rel, path
        if not rel <= rep.rtol:
            rep.fail(path, "%r (new) vs %r (committed), relative diff %.3e" % (a, b, rel))
        return
    rep.fail(path, "type %s (new) vs %s (committed)" % (ka, kb))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("new")
    ap.add_argument("committed")
    ap.add_argument("--rtol", type=float, default=1e-12)
    ap.add_argument("--max-report", type=int, default=20)
    args = ap.parse_args()
    try:
        with open(args.new) as fh:
            a = json.load(fh)
        with open(args.committed) as fh:
            b = json.load(fh)
    except (OSError, ValueError) as e:
        print("compare.py: %s" % e, file=sys.stderr)
        return 2
    rep = Report(args.rtol, args.max_report)
    walk(a, b, "", rep)

    print("compare %s vs %s" % (args.new, args.committed))
    print(
        "  numbers: %d, bit-identical: %d, largest relative difference: %.3e%s"
        % (rep.n_numbers, rep.n_exact, rep.max_rel, " at " + rep.max_rel_path if rep.max_rel_path else "")
    )
    if rep.string_diffs:
        print("  strings that differ (reported, not a failure): %d" % len(rep.string_diffs))
        for s in rep.string_diffs[: args.max_report]:
            print("    " + s)
        if len(rep.string_diffs) > args.max_report:
            print("    ... %d more" % (len(rep.string_diffs) - args.max_report))
    if rep.failures:
        print("  DIFFERENCES: %d" % len(rep.failures))
        for s in rep.failures[: args.max_report]:
            print("    " + s)
        if len(rep.failures) > args.max_report:
            print("    ... %d more" % (len(rep.failures) - args.max_report))
        print("  result: FAIL")
        return 1
    print("  result: OK (within relative %.0e)" % args.rtol)
    return 0


if __name__ == "__main__":
    sys.exit(main())
