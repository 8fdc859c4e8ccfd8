// The one-paragraph summary of a model card (the package's README.md) shown in the Model view: the first paragraph
// of prose after the title, with Markdown emphasis and links reduced to their text. No `vscode` import.

export function cardSummary(markdown: string, maxLength = 400): string {
  const paragraphs = markdown
    .replace(/\r\n/g, '\n')
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p && !p.startsWith('#') && !p.startsWith('|') && !p.startsWith('```') && !p.startsWith('<!--'));
  const first = paragraphs[0];
  if (!first) return '';
  const text = first
    .replace(/!\[[^\]]*\]\([^)]*\)/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/(\*\*|__|\*|_|`)/g, '')
    .replace(/^>\s?/gm, '')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > maxLength ? `${text.slice(0, maxLength - 1).trimEnd()}…` : text;
}
