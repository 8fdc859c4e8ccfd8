// Rule-based, negation-aware labeller of the 8 benchmark findings (a small NegEx), ported rule for rule from
// model/labeller.py, whose docstring is the specification:
// 1. sentences split at ; ? ! newline, and at "." unless a digit follows; tokens as in tokenize.ts; clauses split
//    at but / however / although / though / whereas / except;
// 2. mentions are the token sequences of MENTIONS; bare "effusion(s)" is pleural unless "pericardial" precedes;
// 3. a mention is negated by a PRE_NEGATION cue before it or a POST_NEGATION cue after it in its clause;
// 4. a finding is present when at least one of its mentions is not negated.
// Known limits: uncertainty ("possible nodule") counts as present; "no change in the nodule" counts as negated.

import { asciiLower } from './tokenize';

export const FINDINGS = [
  'lung_nodule',
  'pleural_effusion',
  'cardiomegaly',
  'pericardial_effusion',
  'emphysema',
  'consolidation',
  'arterial_calcification',
  'lymphadenopathy',
] as const;
export type Finding = (typeof FINDINGS)[number];
export type FindingLabels = Record<Finding, boolean>;

type Seq = readonly string[];

const TOKEN_RE = /[0-9]+(?:\.[0-9]+)?|[a-z]+/g;
const SENTENCE_RE = /[;?!\n]|\.(?![0-9])/;
const CLAUSE_BREAKS = new Set(['but', 'however', 'although', 'though', 'whereas', 'except']);

const seqs = (...items: string[]): Seq[] => items.map((s) => s.split(' '));

export const MENTIONS: Record<Finding, readonly Seq[]> = {
  lung_nodule: seqs('nodule', 'nodules', 'mass', 'masses'),
  pleural_effusion: seqs('pleural effusion', 'pleural effusions', 'pleural fluid', 'hydrothorax', 'effusion', 'effusions'),
  cardiomegaly: seqs(
    'cardiomegaly', 'enlarged heart', 'heart is enlarged', 'heart enlarged', 'cardiac enlargement',
    'enlarged cardiac silhouette', 'cardiac silhouette is enlarged',
  ),
  pericardial_effusion: seqs('pericardial effusion', 'pericardial effusions', 'pericardial fluid'),
  emphysema: seqs('emphysema', 'emphysematous'),
  consolidation: seqs('consolidation', 'consolidations', 'consolidated', 'airspace disease', 'airspace opacity', 'air space opacity'),
  arterial_calcification: seqs('calcification', 'calcifications', 'calcified', 'atherosclerotic', 'atherosclerosis'),
  lymphadenopathy: seqs(
    'lymphadenopathy', 'adenopathy', 'enlarged lymph node', 'enlarged lymph nodes', 'enlarged mediastinal lymph nodes',
    'enlarged hilar lymph nodes', 'enlarged nodes', 'lymph node enlargement',
  ),
};

export const PRE_NEGATION: readonly Seq[] = seqs(
  'no', 'not', 'without', 'nor', 'neither', 'negative for', 'free of', 'absence of', 'resolution of',
);
export const POST_NEGATION: readonly Seq[] = seqs(
  'absent', 'resolved', 'excluded', 'ruled out', 'not seen', 'not present', 'not identified', 'not evident',
  'not visualized', 'not demonstrated',
);

function at(tokens: readonly string[], i: number, seq: Seq): boolean {
  if (i + seq.length > tokens.length) return false;
  for (let k = 0; k < seq.length; k++) if (tokens[i + k] !== seq[k]) return false;
  return true;
}

/** Token lists of the clauses of a text (rule 1). */
export function clauses(text: string): string[][] {
  const out: string[][] = [];
  for (const sentence of asciiLower(text).split(SENTENCE_RE)) {
    let cur: string[] = [];
    for (const tok of sentence.match(TOKEN_RE) ?? []) {
      if (CLAUSE_BREAKS.has(tok)) {
        if (cur.length) out.push(cur);
        cur = [];
      } else {
        cur.push(tok);
      }
    }
    if (cur.length) out.push(cur);
  }
  return out;
}

export interface Mention {
  finding: Finding;
  start: number;
  end: number;
}

/** Every mention in a clause (rule 2); overlapping matches all count. */
export function mentions(tokens: readonly string[]): Mention[] {
  const found: Mention[] = [];
  for (const finding of FINDINGS) {
    for (const pat of MENTIONS[finding]) {
      for (let i = 0; i + pat.length <= tokens.length; i++) {
        if (!at(tokens, i, pat)) continue;
        const bareEffusion = pat.length === 1 && (pat[0] === 'effusion' || pat[0] === 'effusions');
        if (finding === 'pleural_effusion' && bareEffusion && i > 0 && tokens[i - 1] === 'pericardial') continue;
        found.push({ finding, start: i, end: i + pat.length });
      }
    }
  }
  return found;
}

/** Rule 3: a cue before the mention, or a post-cue after it, in the same clause. */
export function negated(tokens: readonly string[], start: number, end: number): boolean {
  for (let i = 0; i < start; i++) {
    if (PRE_NEGATION.some((cue) => at(tokens, i, cue) && i + cue.length <= start)) return true;
  }
  for (let i = end; i < tokens.length; i++) {
    if (POST_NEGATION.some((cue) => at(tokens, i, cue))) return true;
  }
  return false;
}

/** Presence of each of the 8 findings in a report (rule 4). */
export function labelReport(text: string): FindingLabels {
  const present = Object.fromEntries(FINDINGS.map((f) => [f, false])) as FindingLabels;
  for (const toks of clauses(text)) {
    for (const m of mentions(toks)) {
      if (!present[m.finding] && !negated(toks, m.start, m.end)) present[m.finding] = true;
    }
  }
  return present;
}
