// Turns user files into plain text: .txt and .md as they are, .html with its
// tags, scripts and styles stripped. Anything that does not decode as text is
// refused with a message naming the file.

const TEXT = /\.(txt|md|markdown|text)$/i;
const HTML = /\.(html?|xhtml)$/i;
export const MAX_FILE_BYTES = 20 * 1024 * 1024;

export class FileError extends Error {}

/** The visible text of an HTML document. */
export function htmlToText(html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  for (const el of doc.querySelectorAll("script, style, noscript, template")) el.remove();
  const title = doc.title ? doc.title.trim() + "\n\n" : "";
  // innerText would need layout; textContent plus block breaks keeps paragraphs apart.
  for (const el of doc.body ? doc.body.querySelectorAll("p, div, li, h1, h2, h3, h4, h5, h6, pre, tr, br, section, article") : []) {
    el.append("\n");
  }
  const body = (doc.body ? doc.body.textContent : "").replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n");
  return (title + body).trim();
}

/** Decodes `bytes` as UTF-8 text, or throws FileError if they are not text. */
export function decodeText(name, bytes) {
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new FileError(`${name} is not a text file (it is not valid UTF-8); add .txt, .md or .html files`);
  }
  if (text.includes("\u0000")) throw new FileError(`${name} is not a text file (it holds binary data); add .txt, .md or .html files`);
  return text;
}

/** Resolves to { source, text } for a File, or rejects with FileError. */
export async function readFile(file) {
  const name = file.name;
  if (!TEXT.test(name) && !HTML.test(name) && !/^text\//.test(file.type)) {
    throw new FileError(`${name} is not a text file; add .txt, .md or .html files`);
  }
  if (file.size > MAX_FILE_BYTES) throw new FileError(`${name} is ${(file.size / 1e6).toFixed(1)} MB; the demo takes files up to ${MAX_FILE_BYTES / 1024 / 1024} MB`);
  const text = decodeText(name, new Uint8Array(await file.arrayBuffer()));
  const plain = HTML.test(name) || file.type === "text/html" ? htmlToText(text) : text;
  if (!plain.trim()) throw new FileError(`${name} has no text`);
  return { source: name, text: plain };
}
