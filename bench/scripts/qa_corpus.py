#!/usr/bin/env python3
"""The labelled-question corpus of `bench/data/hybrid-questions.jsonl`.

44 pages of the Python 3.11 documentation (Debian's python3.11-doc, unpacked by
`text_corpus.ensure_installed` when missing): library reference modules and tutorial chapters, converted
to plain text the way `text_corpus.py` does it (main content only, one paragraph
a line, a blank line between paragraphs), written as `<dir>/library/json.txt`,
`<dir>/tutorial/errors.txt`, ... The question file's `source` is that relative
path. Deterministic for a given python3.11-doc version (3.11.2-6+deb12u*).

  python3 bench/scripts/qa_corpus.py [--out /tmp/axon-text/qa]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from text_corpus import Text, base, ensure_installed  # noqa: E402

REL = "doc/python3.11/html"
PAGES = [
    "library/" + m
    for m in """json pathlib shutil subprocess collections itertools functools re logging csv sqlite3
    tempfile os.path glob fnmatch random statistics heapq bisect dataclasses enum contextlib textwrap
    string time zipfile gzip hashlib secrets uuid copy pickle base64 urllib.parse threading queue timeit
    math""".split()
] + ["tutorial/" + t for t in "controlflow datastructures errors classes modules inputoutput".split()]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/tmp/axon-text/qa")
    args = ap.parse_args()
    ensure_installed([("python3.11-doc", REL)])
    html = os.path.join(base(REL), REL)
    words = 0
    for page in PAGES:
        p = Text()
        with open(os.path.join(html, page + ".html"), encoding="utf-8") as f:
            p.feed(f.read())
        p.close()
        text = "\n\n".join(p.paragraphs()) + "\n"
        words += len(text.split())
        dest = os.path.join(args.out, page + ".txt")
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w", encoding="utf-8") as f:
            f.write(text)
    print(f"qa_corpus: {len(PAGES)} files, {words} words in {args.out}")


if __name__ == "__main__":
    main()
