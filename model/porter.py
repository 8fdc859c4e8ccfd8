"""The Porter (1980) stemmer, as in Martin Porter's reference C implementation (tartarus.org/martin/PorterStemmer).

Written here because the metrics must not depend on nltk, and ported line for line to TypeScript
(``src/core/eval/porter.ts``) so that METEOR's stem matching agrees across languages. It follows the C version,
including its two departures from the paper (step 2 maps "bli"→"ble" and "logi"→"log") and its rule that words
of one or two letters are left alone. Input: a lower-case word of letters a–z.

Within steps 1b, 2, 3 and 4 the longest matching suffix is chosen first and, if its condition fails, no shorter
suffix is tried (as the reference's switch statements do).
"""

from __future__ import annotations

_STEP2 = (
    ("ational", "ate"), ("tional", "tion"), ("enci", "ence"), ("anci", "ance"), ("izer", "ize"), ("bli", "ble"),
    ("alli", "al"), ("entli", "ent"), ("eli", "e"), ("ousli", "ous"), ("ization", "ize"), ("ation", "ate"),
    ("ator", "ate"), ("alism", "al"), ("iveness", "ive"), ("fulness", "ful"), ("ousness", "ous"), ("aliti", "al"),
    ("iviti", "ive"), ("biliti", "ble"), ("logi", "log"),
)
_STEP3 = (("icate", "ic"), ("ative", ""), ("alize", "al"), ("iciti", "ic"), ("ical", "ic"), ("ful", ""), ("ness", ""))
_STEP4 = (
    "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "ou", "ism", "ate",
    "iti", "ous", "ive", "ize",
)


def _longest_first(rules, key):
    # The reference dispatches on the suffix's last-but-one letter and tests the longer suffixes first; a single
    # list sorted by decreasing length picks the same suffix (no two suffixes here of equal length both match).
    return tuple(sorted(rules, key=lambda r: -len(key(r))))


_STEP2 = _longest_first(_STEP2, lambda r: r[0])
_STEP3 = _longest_first(_STEP3, lambda r: r[0])
_STEP4 = _longest_first(_STEP4, lambda r: r)


def _cons(w: str, i: int) -> bool:
    c = w[i]
    if c in "aeiou":
        return False
    if c == "y":
        return i == 0 or not _cons(w, i - 1)
    return True


def _measure(w: str, end: int) -> int:
    """m of w[:end]: the number of vowel-consonant sequences in [C](VC)^m[V]."""
    n, i = 0, 0
    while i < end and _cons(w, i):
        i += 1
    while i < end:
        while i < end and not _cons(w, i):
            i += 1
        if i >= end:
            break
        while i < end and _cons(w, i):
            i += 1
        n += 1
    return n


def _has_vowel(w: str, end: int) -> bool:
    return any(not _cons(w, i) for i in range(end))


def _double_cons(w: str, end: int) -> bool:
    """w[:end] ends with a double consonant."""
    return end >= 2 and w[end - 1] == w[end - 2] and _cons(w, end - 1)


def _cvc(w: str, end: int) -> bool:
    """w[:end] ends consonant-vowel-consonant, the last not w, x or y."""
    i = end - 1
    if i < 2 or not _cons(w, i) or _cons(w, i - 1) or not _cons(w, i - 2):
        return False
    return w[i] not in "wxy"


def stem(word: str) -> str:
    w = word
    if len(w) <= 2:
        return w
    # Step 1a
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("ies"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    # Step 1b
    if w.endswith("eed"):
        if _measure(w, len(w) - 3) > 0:
            w = w[:-1]
    else:
        cut = 0
        if w.endswith("ed") and _has_vowel(w, len(w) - 2):
            cut = 2
        elif w.endswith("ing") and _has_vowel(w, len(w) - 3):
            cut = 3
        if cut:
            w = w[:-cut]
            if w.endswith("at") or w.endswith("bl") or w.endswith("iz"):
                w += "e"
            elif _double_cons(w, len(w)):
                if w[-1] not in "lsz":
                    w = w[:-1]
            elif _measure(w, len(w)) == 1 and _cvc(w, len(w)):
                w += "e"
    # Step 1c
    if w.endswith("y") and _has_vowel(w, len(w) - 1):
        w = w[:-1] + "i"
    # Step 2
    for suf, rep in _STEP2:
        if w.endswith(suf):
            if _measure(w, len(w) - len(suf)) > 0:
                w = w[: -len(suf)] + rep
            break
    # Step 3
    for suf, rep in _STEP3:
        if w.endswith(suf):
            if _measure(w, len(w) - len(suf)) > 0:
                w = w[: -len(suf)] + rep
            break
    # Step 4
    for suf in _STEP4:
        if w.endswith(suf):
            base = len(w) - len(suf)
            if suf == "ion" and not (base > 0 and w[base - 1] in "st"):
                break
            if _measure(w, base) > 1:
                w = w[:base]
            break
    # Step 5a
    if w.endswith("e"):
        m = _measure(w, len(w) - 1)
        if m > 1 or (m == 1 and not _cvc(w, len(w) - 1)):
            w = w[:-1]
    # Step 5b
    if w.endswith("ll") and _measure(w, len(w)) > 1:
        w = w[:-1]
    return w
