// The regular expressions a tokenizer.json hands to the tokenizer library, checked before it compiles them.
//
// The library runs them with JavaScript's backtracking engine on every prompt. A pattern with a nested unbounded
// quantifier — `(▁?[a-z]+)*$` — takes time exponential in the prompt's length (measured with the library: 20, 22,
// 24 characters → 15, 63, 248 ms, so a 40-character prompt would take hours), and a regex cannot be interrupted:
// the model host would hang inside `encode`. Published tokenizers (GPT-2, Llama 3, Qwen 2, o200k) have star
// height 1: their quantifiers sit on characters and character classes, and their alternations are not repeated.
// So the check refuses what they never do — an unbounded quantifier (`*`, `+`, `{n,}`, or a count over 16) on a
// group that holds another one or an alternation, the constructs of exponential backtracking — and any pattern
// over 2,000 characters. Conservative: it may refuse a safe pattern, with a message naming it.

type Json = unknown;

const MAX_PATTERN_CHARS = 2000;
/** A counted repeat up to this bound multiplies the work by at most this much: treated as bounded. */
const MAX_BOUNDED_REPEAT = 16;

interface Frame {
  /** The group holds an unbounded quantifier (directly or in a nested group). */
  unbounded: boolean;
  /** The group holds an alternation at its own level or in a nested group. */
  alternation: boolean;
}

/**
 * Why `pattern` could backtrack exponentially (a short sentence naming the construct), or null when it cannot by
 * the rule above. Patterns that are not valid regular expressions are the library's to refuse.
 */
export function backtrackingRisk(pattern: string): string | null {
  if (pattern.length > MAX_PATTERN_CHARS) return `is ${pattern.length} characters long (at most ${MAX_PATTERN_CHARS})`;
  const stack: Frame[] = [{ unbounded: false, alternation: false }];
  const starts: number[] = [];
  let i = 0;
  // The group just closed (its frame and where it opened); null after any other atom, which a quantifier may repeat
  // freely.
  let last: { frame: Frame; start: number } | null = null;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1];
      // \p{…}, \P{…}, \u{…}, \k<…>: one atom, braces included.
      if ((next === 'p' || next === 'P' || next === 'u') && pattern[i + 2] === '{') {
        const end = pattern.indexOf('}', i + 3);
        i = end < 0 ? pattern.length : end + 1;
      } else if (next === 'k' && pattern[i + 2] === '<') {
        const end = pattern.indexOf('>', i + 3);
        i = end < 0 ? pattern.length : end + 1;
      } else {
        i += 2;
      }
      last = null;
      continue;
    }
    if (c === '[') {
      i = skipClass(pattern, i);
      last = null;
      continue;
    }
    if (c === '(') {
      starts.push(i);
      stack.push({ unbounded: false, alternation: false });
      i += 1;
      if (pattern[i] === '?') {
        // (?: (?= (?! (?<= (?<! (?<name> (?i: — the group's kind, not a quantifier.
        if (pattern[i + 1] === '<' && pattern[i + 2] !== '=' && pattern[i + 2] !== '!') {
          const end = pattern.indexOf('>', i);
          i = end < 0 ? pattern.length : end + 1;
        } else {
          i += 1;
          while (i < pattern.length && /[a-zA-Z=!<\-]/.test(pattern[i])) i += 1;
          if (pattern[i] === ':') i += 1;
        }
      }
      last = null;
      continue;
    }
    if (c === ')') {
      const frame = stack.length > 1 ? stack.pop()! : { unbounded: false, alternation: false };
      const start = starts.pop() ?? 0;
      const parent = stack[stack.length - 1];
      parent.unbounded ||= frame.unbounded;
      parent.alternation ||= frame.alternation;
      i += 1;
      last = { frame, start };
      continue;
    }
    if (c === '|') {
      stack[stack.length - 1].alternation = true;
      i += 1;
      last = null;
      continue;
    }
    const q = readQuantifier(pattern, i);
    if (q) {
      if (q.unbounded && last && (last.frame.unbounded || last.frame.alternation)) {
        const group = pattern.slice(last.start, q.end);
        const inner = last.frame.unbounded ? 'a repeated part' : 'alternatives';
        return `repeats a group that holds ${inner} (\`${group.length > 60 ? `${group.slice(0, 57)}...` : group}\`), which can take time exponential in the text's length`;
      }
      if (q.unbounded) stack[stack.length - 1].unbounded = true;
      i = q.end;
      last = null;
      continue;
    }
    i += 1;
    last = null;
  }
  return null;
}

function skipClass(pattern: string, at: number): number {
  let i = at + 1;
  if (pattern[i] === '^') i += 1;
  if (pattern[i] === ']') i += 1; // a leading ] is a literal in most engines
  while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
  return i + 1;
}

function readQuantifier(pattern: string, at: number): { unbounded: boolean; end: number } | null {
  const c = pattern[at];
  let end: number;
  let unbounded: boolean;
  if (c === '*' || c === '+') {
    unbounded = true;
    end = at + 1;
  } else if (c === '?') {
    unbounded = false;
    end = at + 1;
  } else if (c === '{') {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(at));
    if (!m) return null; // a literal brace
    const most = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]);
    unbounded = most > MAX_BOUNDED_REPEAT;
    end = at + m[0].length;
  } else {
    return null;
  }
  if (pattern[end] === '?' || pattern[end] === '+') end += 1; // lazy or possessive: the same backtracking risk
  return { unbounded, end };
}

/**
 * The first `{"Regex": …}` pattern in a tokenizer.json (normaliser, pre-tokeniser, post-processor, decoder) that
 * could backtrack exponentially, as a message naming where it is, else null.
 */
export function tokenizerRegexProblem(json: Json): string | null {
  const found = findRegexes(json, '');
  for (const { where, pattern } of found) {
    if (typeof pattern !== 'string') return `${where}.Regex is not a string`;
    const risk = backtrackingRisk(pattern);
    if (risk) return `the regular expression at ${where} ${risk}; CT Lens refuses it rather than risk a hang`;
  }
  return null;
}

function findRegexes(node: Json, where: string, out: { where: string; pattern: unknown }[] = []): { where: string; pattern: unknown }[] {
  if (Array.isArray(node)) {
    node.forEach((child, k) => findRegexes(child, `${where}[${k}]`, out));
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'model' && where === '') continue; // the vocabulary and merges: no patterns, and the bulk of the file
      if (key === 'Regex') out.push({ where: where || '(top level)', pattern: value });
      else findRegexes(value, where ? `${where}.${key}` : key, out);
    }
  }
  return out;
}
