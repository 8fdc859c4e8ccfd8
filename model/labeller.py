"""Rule-based, negation-aware labeller of the 8 benchmark findings in free-text reports (a small NegEx).

Used by ``finding_f1`` (model/metrics.py) on references and predictions alike, and ported rule for rule to
TypeScript (src/core/eval/labeller.ts). The rules:

1. The text is split into sentences at ``;`` ``?`` ``!`` newlines and at ``.`` unless a digit follows it (so "12.5"
   stays whole), then each sentence is tokenised as in the metrics (ASCII lower-case, letter runs and numbers) and
   split into clauses at the words but, however, although, though, whereas, except.
2. A mention is a token sequence of ``MENTIONS`` (e.g. "pleural effusion", "enlarged lymph nodes"). The bare
   words "effusion"/"effusions" mean pleural effusion unless the previous token is "pericardial".
3. A mention is negated when a negation cue occurs in its clause before it (``PRE_NEGATION``: no, not, without,
   nor, neither, negative for, free of, absence of, resolution of) or after it (``POST_NEGATION``: absent,
   resolved, excluded, ruled out, not seen / present / identified / evident / visualized / demonstrated).
4. A finding is present when the report has at least one mention of it that is not negated.

Known limits (documented, not hidden): uncertainty ("possible nodule") counts as present; pseudo-negations such as
"no change in the nodule" count as negated; a cue negates every mention after it in its clause.
"""

from __future__ import annotations

import re

# The 8 findings in report order; the same tuple as model.phantom.FINDINGS (a test checks), repeated here so that
# scoring needs nothing beyond the standard library.
FINDINGS = (
    "lung_nodule",
    "pleural_effusion",
    "cardiomegaly",
    "pericardial_effusion",
    "emphysema",
    "consolidation",
    "arterial_calcification",
    "lymphadenopathy",
)

_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_TOKEN_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?|[a-z]+")
_SENTENCE_RE = re.compile(r"[;?!\n]|\.(?![0-9])")

CLAUSE_BREAKS = frozenset(("but", "however", "although", "though", "whereas", "except"))

MENTIONS: dict[str, tuple[tuple[str, ...], ...]] = {
    "lung_nodule": (("nodule",), ("nodules",), ("mass",), ("masses",)),
    "pleural_effusion": (
        ("pleural", "effusion"), ("pleural", "effusions"), ("pleural", "fluid"), ("hydrothorax",),
        ("effusion",), ("effusions",),
    ),
    "cardiomegaly": (
        ("cardiomegaly",), ("enlarged", "heart"), ("heart", "is", "enlarged"), ("heart", "enlarged"),
        ("cardiac", "enlargement"), ("enlarged", "cardiac", "silhouette"), ("cardiac", "silhouette", "is", "enlarged"),
    ),
    "pericardial_effusion": (("pericardial", "effusion"), ("pericardial", "effusions"), ("pericardial", "fluid")),
    "emphysema": (("emphysema",), ("emphysematous",)),
    "consolidation": (
        ("consolidation",), ("consolidations",), ("consolidated",), ("airspace", "disease"), ("airspace", "opacity"),
        ("air", "space", "opacity"),
    ),
    "arterial_calcification": (
        ("calcification",), ("calcifications",), ("calcified",), ("atherosclerotic",), ("atherosclerosis",),
    ),
    "lymphadenopathy": (
        ("lymphadenopathy",), ("adenopathy",), ("enlarged", "lymph", "node"), ("enlarged", "lymph", "nodes"),
        ("enlarged", "mediastinal", "lymph", "nodes"), ("enlarged", "hilar", "lymph", "nodes"), ("enlarged", "nodes"),
        ("lymph", "node", "enlargement"),
    ),
}
# The bare word needs this guard: "pericardial effusion" is not a pleural effusion.
BARE_EFFUSION = (("effusion",), ("effusions",))

PRE_NEGATION: tuple[tuple[str, ...], ...] = (
    ("no",), ("not",), ("without",), ("nor",), ("neither",), ("negative", "for"), ("free", "of"), ("absence", "of"),
    ("resolution", "of"),
)
POST_NEGATION: tuple[tuple[str, ...], ...] = (
    ("absent",), ("resolved",), ("excluded",), ("ruled", "out"), ("not", "seen"), ("not", "present"),
    ("not", "identified"), ("not", "evident"), ("not", "visualized"), ("not", "demonstrated"),
)


def _at(tokens: list[str], i: int, seq: tuple[str, ...]) -> bool:
    return tuple(tokens[i : i + len(seq)]) == seq


def clauses(text: str) -> list[list[str]]:
    """Token lists of the clauses of a text (rule 1)."""
    out = []
    for sentence in _SENTENCE_RE.split(text.translate(_LOWER)):
        cur: list[str] = []
        for tok in _TOKEN_RE.findall(sentence):
            if tok in CLAUSE_BREAKS:
                if cur:
                    out.append(cur)
                cur = []
            else:
                cur.append(tok)
        if cur:
            out.append(cur)
    return out


def mentions(tokens: list[str]) -> list[tuple[str, int, int]]:
    """(finding, start, end) of every mention in a clause (rule 2); overlapping matches all count."""
    found = []
    for finding, patterns in MENTIONS.items():
        for pat in patterns:
            for i in range(len(tokens) - len(pat) + 1):
                if not _at(tokens, i, pat):
                    continue
                if finding == "pleural_effusion" and pat in BARE_EFFUSION and i > 0 and tokens[i - 1] == "pericardial":
                    continue
                found.append((finding, i, i + len(pat)))
    return found


def negated(tokens: list[str], start: int, end: int) -> bool:
    """Rule 3: a cue before the mention, or a post-cue after it, in the same clause."""
    for i in range(start):
        if any(_at(tokens, i, cue) and i + len(cue) <= start for cue in PRE_NEGATION):
            return True
    for i in range(end, len(tokens)):
        if any(_at(tokens, i, cue) for cue in POST_NEGATION):
            return True
    return False


def label_report(text: str) -> dict[str, bool]:
    """{finding: present} for the 8 findings (rule 4)."""
    present = {f: False for f in FINDINGS}
    for toks in clauses(text):
        for finding, s, e in mentions(toks):
            if not present[finding] and not negated(toks, s, e):
                present[finding] = True
    return present
