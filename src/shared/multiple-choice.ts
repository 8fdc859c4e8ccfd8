// Multiple-choice questions as the benchmark writes them (model/reports.py `_mc`, contract C5):
//   "Which lobe shows consolidation? Choices: A. right upper lobe. B. left lower lobe. C. … D. …."
// and as people type them, one option per line ("A. …" / "B) …"). Parsed so the chat can show the options as a
// list and mark the one the model's answer picks. The question text itself is sent to the model unchanged.

export interface MultipleChoice {
  /** The question without its options. */
  stem: string;
  /** Option texts in A, B, C, D order (2–4 of them). */
  choices: string[];
}

const LETTERS = 'ABCD';

/** Splits "A. x. B. y. C. z." (letters in order from A) into option texts; null when it is not such a list. */
function splitOptions(text: string): string[] | null {
  // A letter starts an option at the start of the text or after whitespace, followed by '.' or ')' and a space.
  const marks = [...text.matchAll(/(?:^|\s)\(?([A-Da-d])[.)]\s+/g)];
  const options: string[] = [];
  let expect = 0;
  const starts: { letterAt: number; textAt: number }[] = [];
  for (const m of marks) {
    if (m[1]!.toUpperCase() !== LETTERS[expect]) continue;
    starts.push({ letterAt: m.index!, textAt: m.index! + m[0].length });
    expect++;
    if (expect === LETTERS.length) break;
  }
  if (starts.length < 2 || text.slice(0, starts[0]!.letterAt).trim() !== '') return null;
  for (let n = 0; n < starts.length; n++) {
    const end = n + 1 < starts.length ? starts[n + 1]!.letterAt : text.length;
    const option = text
      .slice(starts[n]!.textAt, end)
      .trim()
      .replace(/[.;,]$/, '')
      .trim();
    if (!option) return null;
    options.push(option);
  }
  return options;
}

/** The options of a multiple-choice question, or null for an open or yes/no question. */
export function parseMultipleChoice(question: string): MultipleChoice | null {
  const text = question.trim();
  const inline = /^(.*?)\s*Choices\s*:\s*(.+)$/is.exec(text);
  if (inline) {
    const choices = splitOptions(inline[2]!);
    if (choices) return { stem: inline[1]!.trim(), choices };
  }
  // One option per line after the question.
  const lines = text.split(/\r?\n/);
  const first = lines.findIndex((l) => /^\s*\(?[Aa][.)]\s+/.test(l));
  if (first > 0) {
    const choices = splitOptions(lines.slice(first).join(' '));
    if (choices) return { stem: lines.slice(0, first).join(' ').trim(), choices };
  }
  return null;
}

/** The benchmark's spelling of a multiple-choice question (what the model was trained on). */
export function formatMultipleChoice(stem: string, choices: readonly string[]): string {
  const options = choices.slice(0, LETTERS.length).map((c, n) => `${LETTERS[n]}. ${c.trim().replace(/[.]$/, '')}.`);
  return `${stem.trim()} Choices: ${options.join(' ')}`;
}

export function choiceLetter(index: number): string {
  return LETTERS[index] ?? '?';
}
