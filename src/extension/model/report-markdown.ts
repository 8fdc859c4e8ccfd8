// What "Save as Markdown" and "Copy" write: the model's text exactly as generated (never edited), then the
// runtime's notices (model name, research use only, any out-of-distribution warning) and how it was made. Also the
// file name a report is saved under beside its volume, without overwriting anything unasked.

import type { RunInfo } from '../../shared/protocol';
import { choiceLetter } from '../../shared/multiple-choice';

/** `chest.nii.gz` → `chest`, `a.b.nii` → `a.b`. */
export function volumeStem(fileName: string): string {
  return fileName.replace(/\.nii(\.gz)?$/i, '');
}

/** `chest.report.md`, then `chest.report-2.md`, … — the first name `exists` says is free. */
export async function freeName(stem: string, ext: string, exists: (name: string) => Promise<boolean>, limit = 1000): Promise<string> {
  for (let n = 1; n <= limit; n++) {
    const name = n === 1 ? `${stem}${ext}` : `${stem}-${n}${ext}`;
    if (!(await exists(name))) return name;
  }
  throw new Error(`no free file name like ${stem}${ext} after ${limit} tries`);
}

function ms(v: number): string {
  return `${Math.round(v)} ms`;
}

/** A Markdown code block fence longer than any backtick run inside `text`. */
function fence(text: string): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  return '`'.repeat(longest + 1);
}

function provenance(run: RunInfo): string[] {
  const r = run.result;
  if (!r) return [];
  const t = r.timings;
  return [
    `| | |`,
    `| --- | --- |`,
    `| Model | ${r.model} (package version ${r.version}) |`,
    `| Execution provider | ${r.provider} |`,
    `| Decoding | ${r.decoding}; stopped by ${r.finishReason === 'eos' ? 'end of text' : 'the token limit'} |`,
    `| Timings | vision ${ms(t.visionMs)}, prefill ${ms(t.prefillMs)}, ${t.newTokens} tokens in ${ms(t.decodeMs)}, total ${ms(t.totalMs)} |`,
  ];
}

/** The report as a Markdown document. The model's text goes in a text block so Markdown never reinterprets it. */
export function reportMarkdown(run: RunInfo, volumeName: string, date: Date): string {
  const f = fence(run.text);
  const lines = [
    `# Report: ${volumeName}`,
    '',
    `Generated ${date.toISOString().replace(/\.\d+Z$/, 'Z')} by CT Lens${run.status === 'cancelled' ? ' (stopped before the end)' : ''}.`,
    '',
    f + 'text',
    run.text,
    f,
    '',
  ];
  const notices = run.result?.notices ?? [];
  if (notices.length) lines.push(...notices.map((n) => `> ${n}`), '');
  else lines.push('> Research use only — not for diagnosis.', '');
  lines.push(...provenance(run));
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Plain text for the clipboard: the question (with its options) for answers, the text, then the notices. */
export function runClipboardText(run: RunInfo): string {
  const parts: string[] = [];
  if (run.task === 'vqa' && run.question) {
    parts.push(`Q: ${run.question}`);
    const picked = run.result?.pickedChoice;
    if (run.choices && typeof picked === 'number') parts.push(`(answer picks ${choiceLetter(picked)}. ${run.choices[picked]})`);
    parts.push(`A: ${run.text}`);
  } else {
    parts.push(run.text);
  }
  const notices = run.result?.notices ?? ['Research use only — not for diagnosis.'];
  parts.push('', ...notices);
  return parts.join('\n');
}

/** The last segment of a path (a file or folder name), for messages. */
export function pathName(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).pop() ?? p;
}
