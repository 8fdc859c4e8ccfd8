// Tokenisation shared by every metric and by the report labeller, identical to model/metrics.py: ASCII A–Z are
// lower-cased (nothing else is touched), and tokens are the matches of [0-9]+(?:\.[0-9]+)?|[a-z]+ — letter runs,
// integers and decimals. Everything else only separates tokens ("12mm" → "12", "mm"; "é" splits a word).

const TOKEN_RE = /[0-9]+(?:\.[0-9]+)?|[a-z]+/g;

/** Lower-cases A–Z only, as Python's str.translate table in model/metrics.py (toLowerCase alone differs on
 * some non-ASCII letters between the two languages). */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

export function tokenize(text: string): string[] {
  return asciiLower(text).match(TOKEN_RE) ?? [];
}
