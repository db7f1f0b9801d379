// Highlights: the store gives byte ranges of the passage's UTF-8 text; the
// page needs string (UTF-16) positions.

/** Nodes of `text` with the byte ranges `ranges` ([start, end]) in <mark>. */
export function highlighted(text, ranges) {
  const enc = new TextEncoder();
  // UTF-8 byte offset -> UTF-16 index, at every code point boundary.
  const at = new Map();
  let b = 0;
  let i = 0;
  for (const ch of text) {
    at.set(b, i);
    b += enc.encode(ch).length;
    i += ch.length;
  }
  at.set(b, i);
  const spans = ranges
    .map(([s, e]) => [at.get(s), at.get(e)])
    .filter(([s, e]) => s !== undefined && e !== undefined && e > s)
    .sort((x, y) => x[0] - y[0]);
  const out = [];
  let pos = 0;
  for (const [s, e] of spans) {
    if (s < pos) continue; // overlapping ranges: keep the first
    if (s > pos) out.push(document.createTextNode(text.slice(pos, s)));
    const m = document.createElement("mark");
    m.textContent = text.slice(s, e);
    out.push(m);
    pos = e;
  }
  if (pos < text.length) out.push(document.createTextNode(text.slice(pos)));
  return out;
}
