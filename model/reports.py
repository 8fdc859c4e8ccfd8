"""Report and question texts of the synthetic benchmark, generated from a case's ground-truth labels.

Reports have a "Findings:" and an "Impression:" section on one line, several phrasings for each finding and
normal statements for absent ones. Questions are closed (yes/no; multiple choice A–D whose choices are listed in
the question) or open (where: lobe or side; how big: size in mm).

Texts use words, integers, and the punctuation . , : ; ? only, so a word-level tokenizer that splits those marks
covers them; ``vocabulary()`` lists every word any text here can contain (lower-cased), ``all_texts()`` yields
every phrase template expanded, for tokenizer building and tests.
"""

from __future__ import annotations

import itertools
import re
from typing import Iterator

import numpy as np

from .phantom import FINDINGS, LOBES

LOBE_NAMES = list(LOBES)
SIDES = ("right", "left", "bilateral")
SIZE_RANGE = range(4, 41)  # every size in mm a text may contain (nodules 6–30, nodes 12–25, with margin)

# Report instructions (the ``question`` of a report sample). The package's report template uses the first.
REPORT_PROMPTS = (
    "Generate a radiology report for this chest CT.",
    "Write the findings and impression for this chest CT scan.",
    "Describe this chest CT.",
    "Please write a report for this CT of the chest.",
    "Report this chest CT.",
    "Write a radiology report.",
    "Give the findings and the impression of this scan.",
    "Dictate a report for this chest CT scan.",
    "Describe the findings in this CT.",
    "Please describe this scan of the chest.",
)

# Held out: never in training data nor in the tokenizer's texts. Worded unlike the training prompts (words the
# vocabulary lacks become <unk>), they test whether the text-guided gate picks the task's group for prompts it has
# not seen (model/evaluate.py, ``routing_heldout``). Questions keep a question's form; report requests do not.
HELDOUT_REPORT_PROMPTS = (
    "Summarize this study for the referring physician.",
    "Produce a full structured read of the thorax.",
    "Create the radiologist's dictation for these images.",
    "Compose findings plus conclusion for this exam.",
    "Draft a formal read-out of this chest scan.",
    "Document everything visible on this examination.",
    "Provide your interpretation of this thoracic CT.",
    "Prepare a written report of the chest imaging.",
    "Tell me about this scan in the style of a report.",
    "Write up this CT study.",
    "Radiology report please.",
    "Interpret this volume and list the findings.",
)
HELDOUT_QUESTIONS = (
    "Any fluid collecting around the lungs?",
    "Would you say the heart looks bigger than normal?",
    "Do you notice a small round lesion in either lung?",
    "Is the pericardium filled with fluid?",
    "Are the lungs hyperinflated with destroyed tissue?",
    "Is any lobe airless or filled in?",
    "Do the arteries show calcium deposits?",
    "Are the mediastinal nodes swollen?",
    "What side is the effusion on?",
    "How large is that nodule?",
    "Which lobe holds the consolidation?",
    "Is this chest scan normal?",
)

# Names of the findings as used in questions and in the "which finding" choices.
FINDING_NAMES = {
    "lung_nodule": ("lung nodule", "pulmonary nodule"),
    "pleural_effusion": ("pleural effusion",),
    "cardiomegaly": ("cardiomegaly", "an enlarged heart"),
    "pericardial_effusion": ("pericardial effusion",),
    "emphysema": ("emphysema",),
    "consolidation": ("consolidation", "lung consolidation"),
    "arterial_calcification": ("arterial calcification", "vascular calcification"),
    "lymphadenopathy": ("lymphadenopathy", "enlarged lymph nodes"),
}
CHOICE_NAMES = {
    "lung_nodule": "lung nodule",
    "pleural_effusion": "pleural effusion",
    "cardiomegaly": "cardiomegaly",
    "pericardial_effusion": "pericardial effusion",
    "emphysema": "emphysema",
    "consolidation": "consolidation",
    "arterial_calcification": "arterial calcification",
    "lymphadenopathy": "lymphadenopathy",
}
NONE_CHOICE = "none of the above"


def _article_for_number(n: int) -> str:
    """The article as the number is spoken: "an 8 mm", "an 11 mm", "an 18 mm", "an 80 mm"; else "a"."""
    return "an" if str(n).startswith("8") or n in (11, 18) else "a"


def _side_text(side: str) -> str:
    return {"right": "right", "left": "left", "bilateral": "bilateral"}[side]


# --- report sentences ------------------------------------------------------------------------------------------
# Each entry: list of templates; {lobe}, {size}, {side}, {severity}, {station}, {sa} are filled from the labels.
POSITIVE = {
    "lung_nodule": (
        "There is {a} {size} mm nodule in the {lobe}.",
        "{A} {size} mm pulmonary nodule is seen in the {lobe}.",
        "A solid nodule measuring {size} mm is present in the {lobe}.",
        "{Lobe}: {size} mm nodule.",
    ),
    "pleural_effusion": {
        "unilateral": (
            "There is a {size} {side} pleural effusion.",
            "A {size} {side} pleural effusion is present.",
            "{Side} pleural effusion, {size}.",
        ),
        "bilateral": (
            "There are {size} bilateral pleural effusions.",
            "Bilateral pleural effusions are present, {size}.",
            "{Size} pleural effusions on both sides.",
        ),
    },
    "cardiomegaly": (
        "The heart is enlarged.",
        "There is cardiomegaly.",
        "The cardiac silhouette is enlarged, consistent with cardiomegaly.",
        "Cardiomegaly is present.",
    ),
    "pericardial_effusion": (
        "There is a pericardial effusion.",
        "A pericardial effusion is present.",
        "Fluid is seen in the pericardial sac, consistent with pericardial effusion.",
    ),
    "emphysema": (
        "There is {severity} emphysema, predominantly in the upper lobes.",
        "{Severity} centrilobular emphysema is seen.",
        "The lungs show {severity} emphysematous changes.",
    ),
    "consolidation": (
        "There is consolidation in the {lobe}.",
        "Consolidation is seen in the {lobe}, with air bronchograms.",
        "An area of consolidation is present in the {lobe}.",
        "{Lobe}: consolidation.",
    ),
    "arterial_calcification": (
        "There are calcifications of the aorta and coronary arteries.",
        "Atherosclerotic calcification of the thoracic aorta is noted.",
        "Arterial calcifications are present.",
    ),
    "lymphadenopathy": (
        "There is {station} lymphadenopathy, the largest node measuring {sa} mm in short axis.",
        "Enlarged {station} lymph nodes are seen, up to {sa} mm.",
        "{Station} lymphadenopathy is present, largest node {sa} mm.",
    ),
}
NEGATIVE = {
    # Every normal statement starts with "No", and no positive one does: the polarity of a finding is the first
    # token of its sentence, so greedy decoding decides it at one place (see model/README.md, Deviations).
    "lung_nodule": ("No pulmonary nodules.", "No lung nodule is seen.", "No nodule is seen."),
    "pleural_effusion": ("No pleural effusion.", "No pleural effusion is seen."),
    "cardiomegaly": ("No cardiomegaly.", "No cardiomegaly; the heart is normal in size."),
    "pericardial_effusion": ("No pericardial effusion.", "No pericardial effusion is seen."),
    "emphysema": ("No emphysema.", "No emphysema is seen."),
    "consolidation": ("No consolidation.", "No consolidation; the lungs are clear."),
    "arterial_calcification": ("No arterial calcification.", "No vascular calcifications."),
    "lymphadenopathy": ("No lymphadenopathy.", "No mediastinal or hilar lymphadenopathy."),
}
# Sentences about normal structures the benchmark never makes abnormal.
NORMAL_EXTRA = (
    ("The airways are patent.", "The trachea and main bronchi are patent."),
    ("The osseous structures are intact.", "No acute osseous abnormality.", "The bones are unremarkable."),
    ("The visualized upper abdomen is unremarkable.", "The liver is normal in appearance."),
)
IMPRESSION = {
    "lung_nodule": ("{size} mm nodule in the {lobe}.", "{Lobe} pulmonary nodule, {size} mm."),
    "pleural_effusion": ("{Side} pleural effusion.", "{Size} {side} pleural effusion."),
    "pleural_effusion_bilateral": ("Bilateral pleural effusions.", "{Size} bilateral pleural effusions."),
    "cardiomegaly": ("Cardiomegaly.", "Enlarged heart."),
    "pericardial_effusion": ("Pericardial effusion.",),
    "emphysema": ("{Severity} emphysema.", "Emphysema."),
    "consolidation": ("{Lobe} consolidation.", "Consolidation in the {lobe}."),
    "arterial_calcification": ("Arterial calcification.", "Atherosclerotic calcification."),
    "lymphadenopathy": ("{Station} lymphadenopathy.", "Enlarged {station} lymph nodes."),
}
IMPRESSION_NORMAL = ("No acute abnormality.", "Normal chest CT.", "No significant abnormality in the chest.")


def _fill(template: str, values: dict) -> str:
    """Fill {key} (as is) and {Key} (capitalised first letter) placeholders."""

    def rep(m: re.Match) -> str:
        key = m.group(1)
        v = str(values[key.lower()])
        return v[:1].upper() + v[1:] if key[0].isupper() else v

    return re.sub(r"\{(\w+)\}", rep, template)


def _values(labels: dict, finding: str) -> dict:
    lab = labels[finding]
    v: dict = {}
    if isinstance(lab, dict):
        if "lobe" in lab:
            v["lobe"] = lab["lobe"]
        if "size_mm" in lab:
            v["size"] = lab["size_mm"]
            v["a"] = _article_for_number(lab["size_mm"])
        if "side" in lab:
            v["side"] = _side_text(lab["side"])
            v["size"] = lab["size"]
        if "severity" in lab:
            v["severity"] = lab["severity"]
        if "station" in lab:
            v["station"] = lab["station"]
            v["sa"] = lab["short_axis_mm"]
    return v


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def positive_templates(labels: dict, finding: str):
    if finding == "pleural_effusion":
        kind = "bilateral" if labels[finding]["side"] == "bilateral" else "unilateral"
        return POSITIVE[finding][kind]
    return POSITIVE[finding]


def make_report(labels: dict, rng: np.random.Generator) -> str:
    """One report: "Findings: … Impression: …" with a sentence per finding (positive or normal)."""
    sentences = []
    for f in FINDINGS:
        if labels[f]:
            sentences.append(_fill(_pick(rng, positive_templates(labels, f)), _values(labels, f)))
        else:
            sentences.append(_pick(rng, NEGATIVE[f]))
    for group in NORMAL_EXTRA:
        if rng.random() < 0.6:
            sentences.append(_pick(rng, group))
    return "Findings: " + " ".join(sentences) + " Impression: " + make_impression(labels)


def make_impression(labels: dict) -> str:
    """The impression: the present findings in the findings' order, one fixed phrasing each, or "No acute
    abnormality." — a function of the findings, so a model that copies them cannot contradict itself."""
    present = [f for f in FINDINGS if labels[f]]
    if not present:
        return IMPRESSION_NORMAL[0]
    imp = []
    for f in present:
        key = "pleural_effusion_bilateral" if f == "pleural_effusion" and labels[f]["side"] == "bilateral" else f
        imp.append(_fill(IMPRESSION[key][0], _values(labels, f)))
    return " ".join(imp)


# --- questions ---------------------------------------------------------------------------------------------------
PRESENCE_Q = (
    "Is there {a} {name}?",
    "Does this CT show {a} {name}?",
    "Is {a} {name} present?",
    "Can you see {a} {name} in this scan?",
)
PLURAL_NAMES = {"enlarged lymph nodes"}


def _article(name: str) -> str:
    if name in PLURAL_NAMES or name in ("emphysema", "cardiomegaly", "consolidation", "lung consolidation",
                                        "lymphadenopathy", "arterial calcification", "vascular calcification",
                                        "an enlarged heart"):
        return ""
    return "an" if name[0] in "aeiou" else "a"


def _presence_question(finding: str, rng) -> str:
    name = _pick(rng, FINDING_NAMES[finding])
    a = _article(name)
    if name in PLURAL_NAMES:
        t = _pick(rng, ("Are there {name}?", "Does this CT show {name}?", "Are {name} present?"))
    else:
        t = _pick(rng, PRESENCE_Q)
    return re.sub(r"\s+", " ", t.format(a=a, name=name)).replace(" ?", "?")


def _letters(choices):
    return "Choices: " + " ".join(f"{L}. {c}." for L, c in zip("ABCD", choices))


def _mc(question: str, correct: str, distractors: list, rng) -> dict:
    choices = [correct] + list(distractors)[:3]
    order = rng.permutation(4)
    choices = [choices[i] for i in order]
    k = choices.index(correct)
    return {
        "question": f"{question} {_letters(choices)}",
        "answer": f"{'ABCD'[k]}. {correct}",
        "choices": choices,
        "answer_type": "closed",
    }


def _size_answer(mm: int, rng) -> str:
    return _pick(rng, (f"{mm} mm", f"about {mm} mm", f"it measures {mm} mm"))


# Marginal prevalence of each finding in the phantoms (PREVALENCE, with ~10 % of cases forced normal): the
# presence questions accept a "no" with probability p/(1−p) so that each finding is asked with "yes" half the time.
_NORMAL_SHARE = 0.1
NO_ANSWERS = {
    "lung_nodule": ("there is no nodule", "no nodule is seen"),
    "consolidation": ("there is no consolidation", "no consolidation is seen"),
    "pleural_effusion": ("there is no pleural effusion", "no effusion is seen"),
    "lymphadenopathy": ("there is no lymphadenopathy", "no enlarged lymph node is seen"),
}
NO_CHOICE = {"lung_nodule": "no nodule", "consolidation": "no consolidation", "pleural_effusion": "no effusion"}


def make_vqa(labels: dict, rng: np.random.Generator, n: int = 5) -> list[dict]:
    """n questions: two yes/no, one multiple choice, the rest open.

    Each item: {question, answer, answer_type, choices?, qtype}. No question's form gives its answer away: a
    presence question is "yes" half the time for every finding; lobe, side and size questions are asked whether
    or not the finding is there (answered "no nodule" and the like when it is not), with the "no …" choice always
    offered; "which finding is present" always offers "none of the above".
    """
    from .phantom import PREVALENCE

    present = [f for f in FINDINGS if labels[f]]
    absent = [f for f in FINDINGS if not labels[f]]
    out: list[dict] = []

    def yes_no():
        for _ in range(64):
            f = FINDINGS[int(rng.integers(len(FINDINGS)))]
            p = (1 - _NORMAL_SHARE) * PREVALENCE[f]
            if labels[f] or rng.random() < p / (1 - p):
                break
        return {"question": _presence_question(f, rng), "answer": "yes" if labels[f] else "no",
                "answer_type": "closed", "qtype": f"presence:{f}"}

    def multiple_choice():
        nod, eff, cons = labels["lung_nodule"], labels["pleural_effusion"], labels["consolidation"]
        kind = int(rng.integers(4))
        if kind == 0 or kind == 1:
            f, q = (("lung_nodule", "In which lobe is the nodule located?") if kind == 0
                    else ("consolidation", "Which lobe shows consolidation?"))
            lab = nod if kind == 0 else cons
            others = [n for n in LOBE_NAMES if not lab or n != lab["lobe"]]
            others = [others[i] for i in rng.permutation(len(others))]
            if lab:
                correct, distractors = lab["lobe"], [NO_CHOICE[f]] + others[:2]
            else:
                correct, distractors = NO_CHOICE[f], others[:3]
            qtype = f"lobe:{f}"
        elif kind == 2:
            side_choice = {"right": "right side", "left": "left side", "bilateral": "both sides"}
            correct = side_choice[eff["side"]] if eff else NO_CHOICE["pleural_effusion"]
            distractors = [v for v in list(side_choice.values()) + [NO_CHOICE["pleural_effusion"]] if v != correct]
            q, qtype = "On which side is the pleural effusion?", "side:pleural_effusion"
        else:
            # three findings and "none of the above"; the answer is one present finding half the time (when any)
            if len(absent) < 2:
                return None
            pick_present = bool(present) and rng.random() < 0.5
            if not pick_present and len(absent) < 3:
                return None
            ab = [CHOICE_NAMES[a] for a in rng.permutation(absent)]
            if pick_present:
                correct, distractors = CHOICE_NAMES[_pick(rng, present)], ab[:2] + [NONE_CHOICE]
            else:
                correct, distractors = NONE_CHOICE, ab[:3]
            q, qtype = "Which of the following findings is present?", "which:present"
        distractors = [distractors[i] for i in rng.permutation(len(distractors))]
        item = _mc(q, correct, distractors, rng)
        item["qtype"] = qtype
        return item

    def open_question():
        nod, eff, cons, lad = (labels[k] for k in ("lung_nodule", "pleural_effusion", "consolidation", "lymphadenopathy"))
        kind = int(rng.integers(5))

        def where_lobe(finding: str, lab, phrasings) -> dict:
            q = _pick(rng, phrasings)
            a = _pick(rng, (f"in the {lab['lobe']}", lab["lobe"])) if lab else _pick(rng, NO_ANSWERS[finding])
            return {"question": q, "answer": a, "answer_type": "open", "qtype": f"where:{finding}"}

        if kind == 0:
            return where_lobe("lung_nodule", nod, ("Where is the nodule?", "Where is the lung nodule located?"))
        if kind == 1:
            q = _pick(rng, ("How big is the nodule?", "What is the size of the lung nodule?"))
            a = _size_answer(nod["size_mm"], rng) if nod else _pick(rng, NO_ANSWERS["lung_nodule"])
            return {"question": q, "answer": a, "answer_type": "open", "qtype": "size:lung_nodule"}
        if kind == 2:
            return where_lobe("consolidation", cons, ("Where is the consolidation?", "Which lobe is consolidated?"))
        if kind == 3:
            q = _pick(rng, ("Where is the pleural effusion?", "Which side has a pleural effusion?"))
            if eff:
                side_text = {"right": "right side", "left": "left side", "bilateral": "both sides"}[eff["side"]]
                a = _pick(rng, (f"on the {side_text}", side_text))
            else:
                a = _pick(rng, NO_ANSWERS["pleural_effusion"])
            return {"question": q, "answer": a, "answer_type": "open", "qtype": "where:pleural_effusion"}
        a = _size_answer(lad["short_axis_mm"], rng) if lad else _pick(rng, NO_ANSWERS["lymphadenopathy"])
        return {"question": "How big is the largest lymph node?", "answer": a, "answer_type": "open",
                "qtype": "size:lymphadenopathy"}

    plan = ["yn", "yn", "mc"] + ["open"] * max(0, n - 3)
    plan = plan[:n]
    seen = set()
    for kind in plan:
        for _ in range(12):  # avoid asking the same question twice in one case
            item = yes_no() if kind == "yn" else (multiple_choice() or yes_no()) if kind == "mc" else open_question()
            if item["question"] not in seen:
                break
        seen.add(item["question"])
        out.append(item)
    return out


# --- vocabulary ----------------------------------------------------------------------------------------------------
def all_texts() -> Iterator[str]:
    """Every template with every value its placeholders can take, plus every fixed phrase.

    ``{size}`` is a diameter in mm for nodules and "small"/"large" for effusions; both are tried everywhere (a
    superset is harmless for a vocabulary).
    """
    domains = {
        "lobe": LOBE_NAMES,
        "side": SIDES,
        "severity": ("mild", "moderate", "severe"),
        "station": ("mediastinal", "hilar"),
        "sa": list(SIZE_RANGE),
        "size": list(SIZE_RANGE) + ["small", "large"],
        "a": ("a", "an"),
    }
    templates = []
    for group in (POSITIVE, NEGATIVE, IMPRESSION):
        for v in group.values():
            for t in (v.values() if isinstance(v, dict) else [v]):
                templates.extend(t)
    for t in templates:
        keys = sorted({k.lower() for k in re.findall(r"\{(\w+)\}", t)})
        for combo in itertools.product(*(domains[k] for k in keys)):
            yield _fill(t, dict(zip(keys, combo)))
    yield from REPORT_PROMPTS
    for group in NORMAL_EXTRA:
        yield from group
    yield from IMPRESSION_NORMAL
    yield "Findings: Impression:"
    for f, names in FINDING_NAMES.items():
        for name in names:
            a = _article(name)
            for t in PRESENCE_Q + ("Are there {name}?", "Does this CT show {name}?", "Are {name} present?"):
                yield t.format(a=a, name=name)
    yield "yes no"
    yield "In which lobe is the nodule located? Which lobe shows consolidation? On which side is the pleural effusion?"
    yield "Which of the following findings is present? Choices: A. B. C. D."
    yield " ".join(CHOICE_NAMES.values()) + " " + NONE_CHOICE + " right side left side both sides no effusion"
    yield " ".join(LOBE_NAMES)
    yield ("Where is the nodule? Where is the lung nodule located? How big is the nodule? What is the size of the lung "
           "nodule? Where is the consolidation? Which lobe is consolidated? Where is the pleural effusion? Which side "
           "has a pleural effusion? How big is the largest lymph node? in the on the about it measures mm")
    yield " ".join(str(mm) for mm in SIZE_RANGE)
    for answers in NO_ANSWERS.values():
        yield from answers
    yield from NO_CHOICE.values()


WORD_RE = re.compile(r"[a-z]+|[0-9]+|[.,:;?]")


def vocabulary() -> list[str]:
    """Sorted lower-case tokens (words, integers, and the marks . , : ; ?) that any generated text can contain."""
    vocab = set()
    for t in all_texts():
        vocab.update(WORD_RE.findall(t.lower()))
    return sorted(vocab)
