// The Porter (1980) stemmer as in Martin Porter's reference C implementation, ported rule for rule from
// model/porter.py (METEOR's stem matching must agree across languages; see that file for the details): the C
// version's departures ("bli"→"ble", "logi"→"log"), words of one or two letters left alone, and within steps 1b–4
// the longest matching suffix decides — if its condition fails no shorter suffix is tried.

const byLengthDesc = <T>(rules: readonly T[], key: (r: T) => string): readonly T[] =>
  [...rules].sort((a, b) => key(b).length - key(a).length);

const STEP2 = byLengthDesc<readonly [string, string]>(
  [
    ['ational', 'ate'], ['tional', 'tion'], ['enci', 'ence'], ['anci', 'ance'], ['izer', 'ize'], ['bli', 'ble'],
    ['alli', 'al'], ['entli', 'ent'], ['eli', 'e'], ['ousli', 'ous'], ['ization', 'ize'], ['ation', 'ate'],
    ['ator', 'ate'], ['alism', 'al'], ['iveness', 'ive'], ['fulness', 'ful'], ['ousness', 'ous'], ['aliti', 'al'],
    ['iviti', 'ive'], ['biliti', 'ble'], ['logi', 'log'],
  ],
  (r) => r[0],
);
const STEP3 = byLengthDesc<readonly [string, string]>(
  [['icate', 'ic'], ['ative', ''], ['alize', 'al'], ['iciti', 'ic'], ['ical', 'ic'], ['ful', ''], ['ness', '']],
  (r) => r[0],
);
const STEP4 = byLengthDesc<string>(
  ['al', 'ance', 'ence', 'er', 'ic', 'able', 'ible', 'ant', 'ement', 'ment', 'ent', 'ion', 'ou', 'ism', 'ate',
    'iti', 'ous', 'ive', 'ize'],
  (r) => r,
);

function cons(w: string, i: number): boolean {
  const c = w[i];
  if (c === 'a' || c === 'e' || c === 'i' || c === 'o' || c === 'u') return false;
  if (c === 'y') return i === 0 || !cons(w, i - 1);
  return true;
}

/** m of w.slice(0, end): the number of vowel–consonant sequences in [C](VC)^m[V]. */
function measure(w: string, end: number): number {
  let n = 0;
  let i = 0;
  while (i < end && cons(w, i)) i++;
  while (i < end) {
    while (i < end && !cons(w, i)) i++;
    if (i >= end) break;
    while (i < end && cons(w, i)) i++;
    n++;
  }
  return n;
}

function hasVowel(w: string, end: number): boolean {
  for (let i = 0; i < end; i++) if (!cons(w, i)) return true;
  return false;
}

function doubleCons(w: string, end: number): boolean {
  return end >= 2 && w[end - 1] === w[end - 2] && cons(w, end - 1);
}

function cvc(w: string, end: number): boolean {
  const i = end - 1;
  if (i < 2 || !cons(w, i) || cons(w, i - 1) || !cons(w, i - 2)) return false;
  const c = w[i];
  return c !== 'w' && c !== 'x' && c !== 'y';
}

/** Porter stem of a lower-case word of letters a–z. */
export function stem(word: string): string {
  let w = word;
  if (w.length <= 2) return w;
  // Step 1a
  if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('ies')) w = w.slice(0, -2);
  else if (w.endsWith('s') && !w.endsWith('ss')) w = w.slice(0, -1);
  // Step 1b
  if (w.endsWith('eed')) {
    if (measure(w, w.length - 3) > 0) w = w.slice(0, -1);
  } else {
    let cut = 0;
    if (w.endsWith('ed') && hasVowel(w, w.length - 2)) cut = 2;
    else if (w.endsWith('ing') && hasVowel(w, w.length - 3)) cut = 3;
    if (cut) {
      w = w.slice(0, -cut);
      if (w.endsWith('at') || w.endsWith('bl') || w.endsWith('iz')) w += 'e';
      else if (doubleCons(w, w.length)) {
        const last = w[w.length - 1];
        if (last !== 'l' && last !== 's' && last !== 'z') w = w.slice(0, -1);
      } else if (measure(w, w.length) === 1 && cvc(w, w.length)) w += 'e';
    }
  }
  // Step 1c
  if (w.endsWith('y') && hasVowel(w, w.length - 1)) w = w.slice(0, -1) + 'i';
  // Step 2
  for (const [suf, rep] of STEP2) {
    if (w.endsWith(suf)) {
      if (measure(w, w.length - suf.length) > 0) w = w.slice(0, -suf.length) + rep;
      break;
    }
  }
  // Step 3
  for (const [suf, rep] of STEP3) {
    if (w.endsWith(suf)) {
      if (measure(w, w.length - suf.length) > 0) w = w.slice(0, -suf.length) + rep;
      break;
    }
  }
  // Step 4
  for (const suf of STEP4) {
    if (w.endsWith(suf)) {
      const base = w.length - suf.length;
      if (suf === 'ion' && !(base > 0 && (w[base - 1] === 's' || w[base - 1] === 't'))) break;
      if (measure(w, base) > 1) w = w.slice(0, base);
      break;
    }
  }
  // Step 5a
  if (w.endsWith('e')) {
    const m = measure(w, w.length - 1);
    if (m > 1 || (m === 1 && !cvc(w, w.length - 1))) w = w.slice(0, -1);
  }
  // Step 5b
  if (w.endsWith('ll') && measure(w, w.length) > 1) w = w.slice(0, -1);
  return w;
}
