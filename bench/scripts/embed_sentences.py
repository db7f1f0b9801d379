#!/usr/bin/env python3
"""A sentence file for embedding benchmarks, made from the repository's own docs.

    python3 bench/scripts/embed_sentences.py [--n 2000] [--out /tmp/axon-embed-sentences.txt]

Reads README.md and docs/**/*.md (sorted). It drops code blocks, tables, HTML and
link targets, and keeps inline code as text. It splits the prose into sentences and
groups consecutive sentences greedily into passages of 10-60 words, one per line.
The docs hold only a few hundred such passages. Later passes therefore regroup the
same sentences with other start offsets and target lengths, which gives more
distinct lines. Exact duplicates are skipped. If that still gives fewer than --n
lines, the list is repeated. The output is deterministic for a given checkout.
Statistics go to stderr.
"""

import argparse
import glob
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MIN_WORDS, MAX_WORDS = 10, 60
TARGETS = [25, 15, 40, 30, 50, 20, 35, 12, 45, 55]


def prose_blocks(text):
    """Paragraphs of plain prose from a markdown text."""
    out, cur, fence = [], [], False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("```") or s.startswith("~~~"):
            fence = not fence
            cur and out.append(" ".join(cur))
            cur = []
            continue
        if fence or s.startswith("|") or s.startswith("<") or s.startswith("    ") and not cur:
            continue
        if not s or s.startswith("#") or re.fullmatch(r"[-=*_ ]{3,}", s):
            cur and out.append(" ".join(cur))
            cur = []
            continue
        if re.match(r"^([-*+]|\d+[.)])\s+", s):  # a list item starts a new block
            cur and out.append(" ".join(cur))
            cur = []
            s = re.sub(r"^([-*+]|\d+[.)])\s+", "", s)
        cur.append(s)
    cur and out.append(" ".join(cur))
    cleaned = []
    for b in out:
        b = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", b)  # links and images: keep the text
        b = re.sub(r"<[^>]+>", " ", b)
        b = b.replace("`", "").replace("**", "").replace("__", "")
        b = re.sub(r"\s+", " ", b).strip()
        if b:
            cleaned.append(b)
    return cleaned


def sentences_of(block):
    parts = re.split(r"(?<=[.!?:;])\s+(?=[A-Z0-9(\"'])", block)
    return [p.strip() for p in parts if p.strip()]


def passages(sents, target, offset):
    """Greedy groups of consecutive sentences of about `target` words, within 10-60."""
    out, cur, n = [], [], 0
    for s in sents[offset:] + sents[:offset]:
        w = len(s.split())
        if w > MAX_WORDS:  # a very long sentence: cut it into word windows
            words = s.split()
            for i in range(0, len(words), target):
                chunk = words[i : i + target]
                if len(chunk) >= MIN_WORDS:
                    out.append(" ".join(chunk))
            continue
        if cur and n + w > min(MAX_WORDS, max(target, MIN_WORDS)):
            if n >= MIN_WORDS:
                out.append(" ".join(cur))
                cur, n = [], 0
            elif n + w > MAX_WORDS:
                cur, n = [], 0
        cur.append(s)
        n += w
    if MIN_WORDS <= n <= MAX_WORDS:
        out.append(" ".join(cur))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--out", default="/tmp/axon-embed-sentences.txt")
    args = ap.parse_args()
    files = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True))
    sents = []
    for f in files:
        if os.path.exists(f):
            with open(f, encoding="utf-8") as fh:
                for b in prose_blocks(fh.read()):
                    sents.extend(sentences_of(b))
    if not sents:
        sys.exit("embed_sentences: no prose found")
    lines, seen = [], set()
    passes = 0
    for k in range(200):
        passes += 1
        for p in passages(sents, TARGETS[k % len(TARGETS)], (k * 7) % len(sents)):
            if p not in seen:
                seen.add(p)
                lines.append(p)
        if len(lines) >= args.n:
            break
    unique = min(len(lines), args.n)
    base = lines[:unique]
    lines = [base[i % len(base)] for i in range(args.n)]
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")
    words = sorted(len(line.split()) for line in lines)
    print(
        f"embed_sentences: {args.out}: {len(lines)} lines ({unique} distinct, {passes} passes over "
        f"{len(sents)} sentences from {len(files)} files), words min {words[0]} median "
        f"{words[len(words) // 2]} max {words[-1]}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
