// Suggested questions for the chat. Two sources, both written by people who know what the model was trained on —
// never made up here:
//   1. the model package: config.json `ctlens.example_questions` (strings, or {question, choices}) — questions in
//      the package's own VQA templates, so they use the words its tokenizer knows;
//   2. a benchmark dataset (contract C5) beside the volume: the `vqa` questions of its lines whose `image` is this
//      file (answers are never shown).
// Multiple-choice questions keep the benchmark's spelling ("… Choices: A. x. B. y.") and carry their options.

import { parseJsonl } from '../../core/eval/dataset';
import { formatMultipleChoice, parseMultipleChoice } from '../../shared/multiple-choice';
import type { SuggestedQuestion } from '../../shared/protocol';

export const MAX_SUGGESTIONS = 6;

function suggestion(question: string, choices?: unknown): SuggestedQuestion | null {
  const q = question.trim();
  if (!q) return null;
  if (Array.isArray(choices) && choices.length >= 2 && choices.every((c) => typeof c === 'string')) {
    const parsed = parseMultipleChoice(q);
    const text = parsed ? q : formatMultipleChoice(q, choices as string[]);
    return { question: text, choices: (choices as string[]).slice(0, 4) };
  }
  const parsed = parseMultipleChoice(q);
  return parsed ? { question: q, choices: parsed.choices } : { question: q };
}

function unique(list: (SuggestedQuestion | null)[], limit: number): SuggestedQuestion[] {
  const seen = new Set<string>();
  const out: SuggestedQuestion[] = [];
  for (const s of list) {
    if (!s || seen.has(s.question)) continue;
    seen.add(s.question);
    out.push(s);
    if (out.length === limit) break;
  }
  return out;
}

/** `ctlens.example_questions` of a package's config.json (absent or malformed → none). */
export function packageSuggestions(config: Record<string, unknown>, limit = MAX_SUGGESTIONS): SuggestedQuestion[] {
  const ctlens = config.ctlens as Record<string, unknown> | undefined;
  const list = ctlens?.example_questions;
  if (!Array.isArray(list)) return [];
  return unique(
    list.map((item: unknown) => {
      if (typeof item === 'string') return suggestion(item);
      if (item && typeof item === 'object' && typeof (item as { question?: unknown }).question === 'string') {
        const o = item as { question: string; choices?: unknown };
        return suggestion(o.question, o.choices);
      }
      return null;
    }),
    limit,
  );
}

/**
 * The VQA questions of a dataset.jsonl for one image (its file name as the lines spell it, relative to the jsonl's
 * folder). Mixed kinds first: one of each question type before repeats, so a few suggestions cover yes/no,
 * multiple choice and open questions.
 */
export function datasetSuggestions(jsonl: string, image: string, limit = MAX_SUGGESTIONS): SuggestedQuestion[] {
  let lines: Record<string, unknown>[];
  try {
    lines = parseJsonl(jsonl, 'dataset.jsonl');
  } catch {
    return [];
  }
  const mine = lines.filter(
    (l) => l.task === 'vqa' && typeof l.question === 'string' && typeof l.image === 'string' && l.image.replace(/^\.\//, '') === image,
  );
  const kind = (l: Record<string, unknown>) => (Array.isArray(l.choices) ? 'mc' : l.answer_type === 'open' ? 'open' : 'closed');
  const byKind = new Map<string, Record<string, unknown>[]>();
  for (const l of mine) {
    const k = kind(l);
    byKind.set(k, [...(byKind.get(k) ?? []), l]);
  }
  const ordered: Record<string, unknown>[] = [];
  for (let round = 0; ordered.length < mine.length; round++) {
    for (const k of ['closed', 'mc', 'open']) {
      const l = byKind.get(k)?.[round];
      if (l) ordered.push(l);
    }
  }
  return unique(
    ordered.map((l) => suggestion(l.question as string, l.choices)),
    limit,
  );
}
