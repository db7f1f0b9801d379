#!/usr/bin/env python3
"""Checks a labelled question file against its corpus directory.

Every line must be a JSON object with `question`, `source` (a file relative to the
corpus directory), `quote` (found EXACTLY ONCE in that file) and, if present, a
`kind` of identifier, paraphrase or mixed. Prints each problem and the counts per
kind; exits 1 on any problem.

  python3 bench/scripts/check_questions.py [--questions bench/data/hybrid-questions.jsonl] [--corpus /tmp/axon-text/qa]
"""

import argparse
import collections
import json
import os
import sys

KINDS = {"identifier", "paraphrase", "mixed"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", default="bench/data/hybrid-questions.jsonl")
    ap.add_argument("--corpus", default="/tmp/axon-text/qa")
    ap.add_argument("--max-quote", type=int, default=200, help="longest quote allowed, in characters")
    args = ap.parse_args()
    bad, kinds, seen = 0, collections.Counter(), set()
    with open(args.questions, encoding="utf-8") as f:
        lines = [(i, l) for i, l in enumerate(f, 1) if l.strip()]
    for i, line in lines:
        where = f"{args.questions}:{i}"
        try:
            q = json.loads(line)
        except json.JSONDecodeError as e:
            print(f"{where}: not JSON: {e}")
            bad += 1
            continue
        missing = [k for k in ("question", "source", "quote") if not isinstance(q.get(k), str) or not q[k]]
        if missing:
            print(f"{where}: missing {missing}")
            bad += 1
            continue
        kind = q.get("kind")
        if kind is not None and kind not in KINDS:
            print(f"{where}: kind {kind!r} is not one of {sorted(KINDS)}")
            bad += 1
        kinds[kind or "(none)"] += 1
        if q["question"] in seen:
            print(f"{where}: duplicate question {q['question']!r}")
            bad += 1
        seen.add(q["question"])
        path = os.path.join(args.corpus, q["source"])
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            print(f"{where}: source: {e}")
            bad += 1
            continue
        n = text.count(q["quote"])
        if n != 1:
            print(f"{where}: quote {q['quote']!r} is {n} times in {q['source']}")
            bad += 1
        if len(q["quote"]) > args.max_quote:
            print(f"{where}: quote is {len(q['quote'])} characters (> {args.max_quote})")
            bad += 1
    print(f"{len(lines)} questions, {bad} problems; by kind: {dict(sorted(kinds.items()))}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
