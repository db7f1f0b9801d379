#!/usr/bin/env python3
"""The full-text benchmark's corpus and query sets (`axon-bench fts`).

Sources (real documentation nobody on this project wrote, as Debian 12 ships it;
when a directory is missing from /usr/share the script `apt-get download`s the package
and unpacks it under /tmp/axon-text/debs/root, installing nothing: installing nodejs-doc
once replaced the machine's Node 20 with Debian's Node 18):

  python3.11-doc      /usr/share/doc/python3.11/html          the Python 3.11 docs (HTML)
  linux-doc-6.1       /usr/share/doc/linux-doc-6.1/html       the Linux 6.1 kernel docs (HTML)
  postgresql-doc-15   /usr/share/doc/postgresql-doc-15/html   the PostgreSQL 15 manual (HTML)
  erlang-doc          /usr/share/doc/erlang-doc               the Erlang/OTP 25 docs (HTML)
  python-django-doc   /usr/share/doc/python-django-doc/html   the Django 3.2 docs (HTML)
  nodejs-doc          /usr/share/doc/nodejs/api               the Node.js 18 API docs (HTML; all.html skipped)
  debian-handbook     /usr/share/doc/debian-handbook/html/en-US   The Debian Administrator's Handbook (English)
  git-doc             /usr/share/doc/git-doc                  the Git 2.39 manual pages and guides (HTML)
  sphinx-doc          /usr/share/doc/sphinx-doc/html          the Sphinx 5.3 docs (HTML; _modules skipped)
  perl-doc            /usr/share/perl/5.36.0/pod              the Perl 5.36 manual (POD, converted here)
  openjdk-17-doc      /usr/share/doc/openjdk-17-jre-headless/api/java.base   the Java 17 java.base API docs (HTML)

Every `.html` file (`.pod` for Perl) under those directories (sorted; index, search and
`_static`/`_sources`/`_downloads` pages skipped) is converted to plain text
with the stdlib HTMLParser: only the page's main content when it has a
`role="main"` element (Sphinx) or an `id` of "content" (Erlang, Git), "yui-main"
(Django) or "apicontent" (Node.js), else the body without the navigation headers and footers (DocBook); scripts, styles and the Sphinx "¶" header links are dropped.
Block elements (p, div, li, pre, h1-h6, dt, dd, tr, ...) end a paragraph.
POD: blank lines end a paragraph; command paragraphs keep their text (=head1 NAME
gives "NAME"), =begin/=for/=cut ones are dropped, formatting codes keep their
text (C<open> gives "open", L<text|target> gives "text"), E<..> become characters.

Paragraphs are grouped into passages of about 100-250 words, never across files
and only on paragraph boundaries (a paragraph of more than 250 words is cut into
equal pieces of at most 200 words first). A file's last short passage joins the
one before it.

Writes (deterministic for a given set of installed packages):

  --out      JSONL, one passage a line: {"id": "p0000001", "source": "doc/python3.11/html/library/os.html", "text": "..."}
             (`source` is relative to /usr/share); default /tmp/axon-text/corpus.jsonl
  --queries  JSON {"seed", "corpus", "passages", "sets": {"1": [[term], ...], "2": [...], "5": [...]}}:
             1,000 queries of 1, 2 and 5 terms. Each query picks a passage at random
             (fixed seed) and samples distinct words of it: lowercased alphabetic words of
             at least 3 letters that are not English stop words. Frequent and rare terms
             both turn up, as in real keyword queries. Default /tmp/axon-text/queries.json

  python3 bench/scripts/text_corpus.py [--out FILE] [--queries FILE] [--seed N] [--per-set N]
"""

import argparse
import html.entities
import json
import functools
import os
import random
import re
import subprocess
import sys
from html.parser import HTMLParser

DOC = "/usr/share"
# Packages `apt-get download`ed and unpacked (`dpkg-deb -x`) here, not installed.
DEBS = "/tmp/axon-text/debs"
UNPACKED = os.path.join(DEBS, "root", "usr", "share")
SOURCES = [
    ("python3.11-doc", "doc/python3.11/html"),
    ("linux-doc-6.1", "doc/linux-doc-6.1/html"),
    ("postgresql-doc-15", "doc/postgresql-doc-15/html"),
    ("erlang-doc", "doc/erlang-doc"),
    ("python-django-doc", "doc/python-django-doc/html"),
    ("nodejs-doc", "doc/nodejs/api"),
    ("debian-handbook", "doc/debian-handbook/html/en-US"),
    ("git-doc", "doc/git-doc"),
    ("sphinx-doc", "doc/sphinx-doc/html"),
    ("perl-doc", "perl/5.36.0/pod"),
    ("openjdk-17-doc", "doc/openjdk-17-jre-headless/api/java.base"),
]
SKIP_DIRS = {"_static", "_sources", "_downloads", "_images", "_modules"}
SKIP_FILES = re.compile(r"^(genindex.*|py-modindex|search|searchindex|bookindex|all)\.html$")

MIN_WORDS, MAX_WORDS, PIECE_WORDS = 100, 250, 200

BLOCK = {
    "p", "div", "li", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "dt", "dd", "tr", "table",
    "blockquote", "section", "ul", "ol", "dl", "figcaption", "caption", "br", "hr", "article",
    "header", "footer", "nav", "aside", "main", "body", "title", "th", "td",
}
VOID = {"br", "hr", "img", "meta", "link", "input", "wbr", "col", "area", "base", "source", "embed", "param", "track"}
SKIP_TAGS = {"script", "style", "head", "noscript", "svg"}
SKIP_CLASSES = {"navheader", "navfooter", "headerlink", "sphinxsidebar", "related", "footer", "breadcrumbs", "nav",
                "topbar", "erlang-logo-wrapper", "search-expand", "topbar-expand", "docnav"}
SKIP_IDS = {"global-nav", "hd", "ft", "searchbox", "leftnav", "column2", "gtoc", "footer"}
MAIN_IDS = {"content", "yui-main", "apicontent"}

# English stop words (the NLTK list, plus a few).
STOP = set("""
a about above after again against all am an and any are aren as at be because been before being
below between both but by can cannot could couldn did didn do does doesn doing don down during each
few for from further had hadn has hasn have haven having he her here hers herself him himself his how
i if in into is isn it its itself just let me more most mustn my myself no nor not now of off on once
only or other our ours ourselves out over own same shan she should shouldn so some such than that the
their theirs them themselves then there these they this those through to too under until up very was
wasn we were weren what when where which while who whom why will with won would wouldn you your yours
yourself yourselves also may might must shall us via per etc e g ie eg one two
""".split())
WORD = re.compile(r"[A-Za-z]+")


class Text(HTMLParser):
    """A page's paragraphs: (text, inside the main element)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, skip, main)
        self.cur = []
        self.paras = []

    def _skipping(self):
        return any(s for _, s, _ in self.stack)

    def _in_main(self):
        return any(m for _, _, m in self.stack)

    def _flush(self):
        text = " ".join("".join(self.cur).split())
        self.cur = []
        if text:
            self.paras.append((text, self._in_main()))

    def handle_starttag(self, tag, attrs):
        if tag in BLOCK:
            self._flush()
        if tag in VOID:
            return
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        skip = tag in SKIP_TAGS or bool(classes & SKIP_CLASSES) or a.get("id") in SKIP_IDS
        main = a.get("role") == "main" or a.get("id") in MAIN_IDS
        self.stack.append((tag, skip, main))

    def handle_endtag(self, tag):
        if tag in BLOCK:
            self._flush()
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._skipping():
            self.cur.append(data)

    def paragraphs(self):
        self._flush()
        if any(m for _, m in self.paras):
            return [t for t, m in self.paras if m]
        return [t for t, _ in self.paras]


@functools.lru_cache(maxsize=None)
def installed(pkg):
    """Whether dpkg has `pkg` installed (a directory alone can come from another package)."""
    got = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True)
    return got.returncode == 0 and got.stdout.endswith(" installed")


def base(rel):
    """The directory holding `rel` (relative to /usr/share): the system's if the source's
    package is installed, else the unpacked copy."""
    for pkg, top in SOURCES:
        if rel == top or rel.startswith(top + "/"):
            return DOC if installed(pkg) else UNPACKED
    return DOC


def ensure_installed(sources=SOURCES):
    """Unpacks each package whose directory is in neither /usr/share nor the unpacked root."""
    missing = [pkg for pkg, rel in sources if not installed(pkg) and not os.path.isdir(os.path.join(UNPACKED, rel))]
    if not missing:
        return
    os.makedirs(DEBS, exist_ok=True)
    print(f"text_corpus: apt-get download {' '.join(missing)} (unpacked under {DEBS}, not installed)", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    got = subprocess.run(["apt-get", "download", *missing], cwd=DEBS, env=env)
    if got.returncode != 0:
        subprocess.run(["apt-get", "update"], check=True, env=env)
        subprocess.run(["apt-get", "download", *missing], cwd=DEBS, check=True, env=env)
    for pkg in missing:
        debs = sorted(f for f in os.listdir(DEBS) if f.startswith(pkg + "_") and f.endswith(".deb"))
        if not debs:
            sys.exit(f"text_corpus: apt-get download {pkg} left no .deb in {DEBS}")
        subprocess.run(["dpkg-deb", "-x", os.path.join(DEBS, debs[-1]), os.path.join(DEBS, "root")], check=True)


def doc_files(rel):
    top = base(rel)
    root = os.path.join(top, rel)
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if x not in SKIP_DIRS)
        for f in files:
            if (f.endswith(".html") and not SKIP_FILES.match(f)) or f.endswith(".pod"):
                out.append(os.path.relpath(os.path.join(d, f), top))
    return sorted(out)


POD_ESCAPES = {"lt": "<", "gt": ">", "verbar": "|", "sol": "/", "quot": '"', "amp": "&", "apos": "'"}
POD_CODE = re.compile(r"[A-Z](?:<<+\s(.*?)\s>>+|<([^<>]*)>)", re.S)


def pod_escape(name):
    """The character of E<name>: a named, decimal, 0x hex or 0 octal escape."""
    try:
        if name.startswith("0x"):
            return chr(int(name[2:], 16))
        if name.startswith("0") and len(name) > 1:
            return chr(int(name[1:], 8))
        if name.isdigit():
            return chr(int(name))
    except (ValueError, OverflowError):
        return ""
    return POD_ESCAPES.get(name) or chr(html.entities.name2codepoint.get(name, 0x3F))


def pod_inline(text):
    """POD formatting codes replaced by their text, innermost first."""

    def one(m):
        inner = m.group(1) if m.group(1) is not None else m.group(2)
        code = m.group(0)[0]
        if code == "E":
            return pod_escape(inner)
        if code in "XZ":
            return ""
        if code == "L":
            return inner.split("|", 1)[0] if "|" in inner else inner.split("/", 1)[0] or inner
        return inner

    for _ in range(8):
        new = POD_CODE.sub(one, text)
        if new == text:
            break
        text = new
    return text


def pod_paragraphs(source):
    out, skip = [], False
    for block in re.split(r"\n\s*\n", source):
        if not block.strip():
            continue
        if block.startswith("="):
            cmd, _, rest = block[1:].partition(" ")
            cmd = cmd.split("\n")[0]
            if cmd in ("begin", "for"):
                skip = cmd == "begin"
                continue
            if cmd in ("end", "cut", "pod", "encoding", "over", "back"):
                skip = False if cmd == "end" else skip
                continue
            block = rest
        if skip:
            continue
        text = " ".join(pod_inline(block).split())
        if text:
            out.append(text)
    return out


def pieces(para):
    """A paragraph, cut into equal pieces of at most PIECE_WORDS words if it is longer than MAX_WORDS."""
    words = para.split()
    if len(words) <= MAX_WORDS:
        return [(para, len(words))]
    n = -(-len(words) // PIECE_WORDS)
    size = -(-len(words) // n)
    return [(" ".join(words[i : i + size]), len(words[i : i + size])) for i in range(0, len(words), size)]


def passages(paras):
    out, cur, cur_words = [], [], 0
    for para in paras:
        for text, w in pieces(para):
            if cur and cur_words + w > MAX_WORDS and cur_words >= MIN_WORDS // 2:
                out.append("\n".join(cur))
                cur, cur_words = [], 0
            cur.append(text)
            cur_words += w
            if cur_words >= MIN_WORDS:
                out.append("\n".join(cur))
                cur, cur_words = [], 0
    if cur:
        if out:
            out[-1] += "\n" + "\n".join(cur)
        elif cur_words >= 20:
            out.append("\n".join(cur))
    return out


def query_words(text):
    return sorted({w for w in (m.lower() for m in WORD.findall(text)) if len(w) >= 3 and w not in STOP})


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="/tmp/axon-text/corpus.jsonl")
    ap.add_argument("--queries", default="/tmp/axon-text/queries.json")
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--per-set", type=int, default=1000)
    args = ap.parse_args()
    ensure_installed()

    texts = []
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".part", "w", encoding="utf-8") as out:
        for pkg, rel in SOURCES:
            files = doc_files(rel)
            before = len(texts)
            for src in files:
                with open(os.path.join(base(src), src), encoding="utf-8", errors="replace") as f:
                    raw = f.read()
                if src.endswith(".pod"):
                    paras = pod_paragraphs(raw)
                else:
                    p = Text()
                    p.feed(raw)
                    p.close()
                    paras = p.paragraphs()
                for text in passages(paras):
                    texts.append(text)
                    rec = {"id": f"p{len(texts):07d}", "source": src, "text": text}
                    out.write(json.dumps(rec, ensure_ascii=False) + "\n")
            print(f"text_corpus: {pkg}: {len(files)} pages, {len(texts) - before} passages", file=sys.stderr)
    os.replace(args.out + ".part", args.out)
    words = sum(len(t.split()) for t in texts)
    print(f"text_corpus: {len(texts)} passages, {words} words ({words / len(texts):.0f} per passage) in {args.out}")
    if len(texts) < 100_000:
        print("text_corpus: WARNING: fewer than 100,000 passages", file=sys.stderr)

    rng = random.Random(args.seed)
    sets = {}
    for n in (1, 2, 5):
        qs = []
        while len(qs) < args.per_set:
            cands = query_words(texts[rng.randrange(len(texts))])
            if len(cands) >= n:
                qs.append(rng.sample(cands, n))
        sets[str(n)] = qs
    os.makedirs(os.path.dirname(os.path.abspath(args.queries)), exist_ok=True)
    with open(args.queries, "w", encoding="utf-8") as f:
        json.dump({"seed": args.seed, "corpus": args.out, "passages": len(texts), "sets": sets}, f)
        f.write("\n")
    print(f"text_corpus: {len(sets)} query sets of {args.per_set} in {args.queries}")


if __name__ == "__main__":
    main()
