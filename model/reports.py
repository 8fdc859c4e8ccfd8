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

# Report instructions (the ``question`` of a report sample).
REPORT_PROMPTS = (
    "Generate a radiology report for this chest CT.",
    "Write the findings and impression for this chest CT scan.",
    "Describe this chest CT.",
    "Please write a report for this CT of the chest.",
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
    "lung_nodule": ("No pulmonary nodules.", "There is no lung nodule.", "No nodule is seen."),
    "pleural_effusion": ("No pleural effusion.", "There is no pleural effusion.", "The pleural spaces are clear, without effusion."),
    "cardiomegaly": ("The heart is normal in size.", "Heart size is normal.", "No cardiomegaly."),
    "pericardial_effusion": ("No pericardial effusion.", "There is no pericardial effusion.", "The pericardium is normal."),
    "emphysema": ("No emphysema.", "There is no emphysema.", "The lung parenchyma is normal, without emphysema."),
    "consolidation": ("No consolidation.", "There is no consolidation.", "The lungs are clear, without consolidation."),
    "arterial_calcification": ("No arterial calcification.", "The aorta is normal in caliber, without calcification.", "No vascular calcifications."),
    "lymphadenopathy": ("No lymphadenopathy.", "There is no mediastinal or hilar lymphadenopathy.", "Lymph nodes are not enlarged."),
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
    present = [f for f in FINDINGS if labels[f]]
    if present:
        imp = []
        for f in present:
            key = "pleural_effusion_bilateral" if f == "pleural_effusion" and labels[f]["side"] == "bilateral" else f
            imp.append(_fill(_pick(rng, IMPRESSION[key]), _values(labels, f)))
        impression = " ".join(imp)
    else:
        impression = _pick(rng, IMPRESSION_NORMAL)
    return "Findings: " + " ".join(sentences) + " Impression: " + impression


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


def make_vqa(labels: dict, rng: np.random.Generator, n: int = 5) -> list[dict]:
    """n questions: two yes/no, one multiple choice, the rest open (falls back to closed when nothing to ask).

    Each item: {question, answer, answer_type, choices?, qtype}.
    """
    present = [f for f in FINDINGS if labels[f]]
    absent = [f for f in FINDINGS if not labels[f]]
    out: list[dict] = []

    def yes_no():
        # Half of the yes/no questions ask about a present finding when there is one: balanced answers.
        if present and (rng.random() < 0.5 or not absent):
            f = _pick(rng, present)
        else:
            f = _pick(rng, absent)
        return {"question": _presence_question(f, rng), "answer": "yes" if labels[f] else "no",
                "answer_type": "closed", "qtype": f"presence:{f}"}

    def multiple_choice():
        opts = []
        nod, eff, cons = labels["lung_nodule"], labels["pleural_effusion"], labels["consolidation"]
        if nod:
            opts.append(("lobe:lung_nodule", "In which lobe is the nodule located?", nod["lobe"],
                         [n for n in LOBE_NAMES if n != nod["lobe"]]))
        if cons:
            opts.append(("lobe:consolidation", "Which lobe shows consolidation?", cons["lobe"],
                         [n for n in LOBE_NAMES if n != cons["lobe"]]))
        if eff:
            side_choice = {"right": "right side", "left": "left side", "bilateral": "both sides"}
            opts.append(("side:pleural_effusion", "On which side is the pleural effusion?", side_choice[eff["side"]],
                         [v for k, v in side_choice.items() if k != eff["side"]] + ["no effusion"]))
        if present and len(absent) >= 3:
            f = _pick(rng, present)
            opts.append(("which:present", "Which of the following findings is present?", CHOICE_NAMES[f],
                         [CHOICE_NAMES[a] for a in rng.permutation(absent)[:3]]))
        if not present:
            opts.append(("which:present", "Which of the following findings is present?", NONE_CHOICE,
                         [CHOICE_NAMES[a] for a in rng.permutation(absent)[:3]]))
        qtype, q, correct, distractors = opts[int(rng.integers(len(opts)))]
        distractors = [distractors[i] for i in rng.permutation(len(distractors))]
        item = _mc(q, correct, distractors, rng)
        item["qtype"] = qtype
        return item

    def open_question():
        opts = []
        nod, eff, cons, lad = (labels[k] for k in ("lung_nodule", "pleural_effusion", "consolidation", "lymphadenopathy"))
        if nod:
            opts.append(("where:lung_nodule", _pick(rng, ("Where is the nodule?", "Where is the lung nodule located?")),
                         _pick(rng, (f"in the {nod['lobe']}", nod["lobe"]))))
            opts.append(("size:lung_nodule", _pick(rng, ("How big is the nodule?", "What is the size of the lung nodule?")),
                         _size_answer(nod["size_mm"], rng)))
        if cons:
            opts.append(("where:consolidation", _pick(rng, ("Where is the consolidation?", "Which lobe is consolidated?")),
                         _pick(rng, (f"in the {cons['lobe']}", cons["lobe"]))))
        if eff:
            side_text = {"right": "right side", "left": "left side", "bilateral": "both sides"}[eff["side"]]
            opts.append(("where:pleural_effusion", _pick(rng, ("Where is the pleural effusion?", "Which side has a pleural effusion?")),
                         _pick(rng, (f"on the {side_text}", side_text))))
        if lad:
            opts.append(("size:lymphadenopathy", "How big is the largest lymph node?", _size_answer(lad["short_axis_mm"], rng)))
        if not opts:
            return None
        qtype, q, a = opts[int(rng.integers(len(opts)))]
        return {"question": q, "answer": a, "answer_type": "open", "qtype": qtype}

    plan = ["yn", "yn", "mc"] + ["open"] * max(0, n - 3)
    plan = plan[:n]
    seen = set()
    for kind in plan:
        for _ in range(6):  # avoid asking the same question twice in one case
            item = yes_no() if kind == "yn" else multiple_choice() if kind == "mc" else (open_question() or yes_no())
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


WORD_RE = re.compile(r"[a-z]+|[0-9]+|[.,:;?]")


def vocabulary() -> list[str]:
    """Sorted lower-case tokens (words, integers, and the marks . , : ; ?) that any generated text can contain."""
    vocab = set()
    for t in all_texts():
        vocab.update(WORD_RE.findall(t.lower()))
    return sorted(vocab)
