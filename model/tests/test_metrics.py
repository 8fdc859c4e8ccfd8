"""Metrics, Porter stemmer and report labeller on hand-checked examples; the evaluator CLI on results files."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model import evaluate, metrics as M
from model.labeller import label_report
from model.phantom import FINDINGS, draw_findings
from model.porter import stem
from model.reports import make_report

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "test" / "fixtures" / "eval"


def test_tokenize():
    assert M.tokenize("Findings: A 12.5mm NODULE, right-upper lobe; é? 3.") == [
        "findings", "a", "12.5", "mm", "nodule", "right", "upper", "lobe", "3"]
    assert M.tokenize("") == [] and M.tokenize("...") == []


def test_bleu_hand_checked():
    h = M.tokenize("the cat sat on the mat")
    r = M.tokenize("the cat is on the mat")
    b = M.corpus_bleu([h], [r])
    # p1 = 5/6, p2 = 3/5, p3 = 1/4, p4 = 0; no brevity penalty (c = r).
    assert b[0] == pytest.approx(5 / 6, abs=1e-12)
    assert b[1] == pytest.approx(math.sqrt(0.5), abs=1e-12)
    assert b[2] == pytest.approx(0.5, abs=1e-12)
    assert b[3] == 0.0


def test_bleu_brevity_penalty_and_corpus_sums():
    b = M.corpus_bleu([["the", "cat"]], [["the", "cat", "sat", "on", "the", "mat"]])
    assert b[0] == pytest.approx(math.exp(1 - 3), abs=1e-12) and b[1] == pytest.approx(math.exp(-2), abs=1e-12)
    assert b[2] == 0.0
    # Corpus level: counts are summed before the ratio, not averaged per sample.
    b = M.corpus_bleu([["x"], ["y", "z"]], [["x"], ["y", "q"]])
    assert b[0] == pytest.approx(2 / 3, abs=1e-12)


def test_rouge_hand_checked():
    h = M.tokenize("the cat sat on the mat")
    r = M.tokenize("the cat is on the mat")
    assert M.rouge1(h, r) == pytest.approx(5 / 6, abs=1e-12)
    assert M.rouge_l(h, r) == pytest.approx(5 / 6, abs=1e-12)  # LCS "the cat on the mat"
    assert M.rouge_l(["a", "b", "c", "d"], ["d", "c", "b", "a"]) == pytest.approx(0.25, abs=1e-12)
    assert M.rouge1([], ["x"]) == 0.0


def test_meteor_hand_checked():
    # exact: the, on, the, mat; stem: cats~cat. 5 matches in 2 chunks, P = R = 5/6.
    h = M.tokenize("the cats sat on the mat")
    r = M.tokenize("the cat is on the mat")
    fmean = 10 * (5 / 6) * (5 / 6) / (5 / 6 + 9 * 5 / 6)
    assert M.meteor(h, r) == pytest.approx(fmean * (1 - 0.5 * (2 / 5) ** 3), abs=1e-12)
    assert M.meteor_alignment(h, r) == [(0, 0), (1, 1), (3, 3), (4, 4), (5, 5)]
    assert M.meteor(["x"], ["y"]) == 0.0


def test_cider_hand_checked():
    refs = [["x", "y"], ["z", "w"]]
    hyps = [["x", "y"], ["z", "q"]]
    s = M.cider_d(hyps, refs)
    # Every n-gram has idf log 2. Sample 1: cos 1 for n = 1, 2 and nothing for n = 3, 4 → (1+1)/4·10.
    # Sample 2: unigram cos 1/2, bigram 0 → 0.5/4·10.
    assert s == pytest.approx([5.0, 1.25], abs=1e-12)
    # Length penalty: exp(-δ²/2σ²) with δ in tokens.
    s = M.cider_d([["x", "y", "y"], ["z", "w"]], refs)
    assert s[0] < 5.0


def test_closed_vqa_m3d_rule():
    choices = ["right upper lobe", "right middle lobe", "left upper lobe", "left lower lobe"]
    line = {"answer": "B. right middle lobe", "choices": choices, "answer_type": "closed"}
    for pred, ok in [("B", True), ("b. right middle lobe", True), ("(B)", True), (" B: middle", True),
                     ("A. right upper lobe", False), ("the right middle lobe", True), ("a right middle lobe", True),
                     ("right upper lobe or right middle lobe", False), ("", False), ("lobe", False)]:
        assert M.closed_correct(line, pred) is ok, pred
    yn = {"answer": "yes", "answer_type": "closed"}
    assert M.closed_correct(yn, "Yes, there is a nodule.")
    assert not M.closed_correct(yn, "There is no nodule; yes.")
    assert not M.closed_correct(yn, "maybe")
    assert M.closed_correct({"answer": "no"}, "no")
    assert M.is_closed({"answer": "no"}) and not M.is_closed({"answer": "12 mm"})


def test_open_vqa_token_f1():
    assert M.token_f1("in the right lower lobe", "right lower lobe") == pytest.approx(6 / 7, abs=1e-12)
    assert M.token_f1("12 mm", "about 12 mm") == pytest.approx(0.8, abs=1e-12)
    assert M.token_f1("", "") == 1.0 and M.token_f1("", "x") == 0.0 and M.token_f1("x", "y") == 0.0


@pytest.mark.parametrize(
    "text,present",
    [
        ("No pericardial effusion.", set()),
        ("Pericardial effusion. No pleural effusion.", {"pericardial_effusion"}),
        ("Small bilateral effusions.", {"pleural_effusion"}),
        ("Fluid in the pericardial sac, consistent with pericardial effusion.", {"pericardial_effusion"}),
        ("No nodule, consolidation or effusion.", set()),
        ("There is no effusion but a nodule is seen.", {"lung_nodule"}),
        ("Cardiomegaly is not present.", set()),
        ("The heart is not enlarged. Lymph nodes are not enlarged.", set()),
        ("The heart is enlarged.", {"cardiomegaly"}),
        ("Enlarged hilar lymph nodes, up to 14 mm.", {"lymphadenopathy"}),
        ("Nodule measuring 12.5 mm. Emphysema.", {"lung_nodule", "emphysema"}),
        ("The pleural effusion has resolved.", set()),
        ("Without calcification; atherosclerotic plaque of the aorta.", {"arterial_calcification"}),
        ("Right lower lobe consolidation with air bronchograms.", {"consolidation"}),
        ("", set()),
    ],
)
def test_labeller_rules(text, present):
    got = {f for f, v in label_report(text).items() if v}
    assert got == present


def test_labeller_reads_every_generated_report_right():
    rng = np.random.default_rng(7)
    for _ in range(2000):
        labels = draw_findings(rng)
        got = label_report(make_report(labels, rng))
        assert got == {f: bool(labels[f]) for f in FINDINGS}


def test_labeller_knows_the_benchmark_findings():
    from model import labeller

    assert labeller.FINDINGS == FINDINGS


def test_scoring_needs_only_the_standard_library():
    code = "import sys, model.evaluate; sys.exit(any(m in sys.modules for m in ('numpy', 'scipy', 'torch')))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_finding_f1():
    ref = "There is a 12 mm nodule in the right upper lobe. No pleural effusion. The heart is enlarged."
    pred = "No nodule. There is a small right pleural effusion. Cardiomegaly is present."
    assert M.finding_counts([pred], [ref]) == (1, 1, 1)
    assert M.micro_f1(1, 1, 1) == 0.5
    assert M.micro_f1(0, 0, 0) == 1.0


# Porter (1980) outputs for words from the paper and its reference vocabulary.
PORTER_CASES = {
    "caresses": "caress", "ponies": "poni", "ties": "ti", "caress": "caress", "cats": "cat", "feed": "feed",
    "agreed": "agre", "plastered": "plaster", "bled": "bled", "motoring": "motor", "sing": "sing",
    "conflated": "conflat", "troubled": "troubl", "sized": "size", "hopping": "hop", "tanned": "tan",
    "falling": "fall", "hissing": "hiss", "fizzed": "fizz", "failing": "fail", "filing": "file", "happy": "happi",
    "sky": "sky", "relational": "relat", "conditional": "condit", "rational": "ration", "valenci": "valenc",
    "hesitanci": "hesit", "digitizer": "digit", "conformabli": "conform", "radicalli": "radic",
    "differentli": "differ", "vileli": "vile", "analogousli": "analog", "vietnamization": "vietnam",
    "predication": "predic", "operator": "oper", "feudalism": "feudal", "decisiveness": "decis",
    "hopefulness": "hope", "callousness": "callous", "formaliti": "formal", "sensitiviti": "sensit",
    "sensibiliti": "sensibl", "triplicate": "triplic", "formative": "form", "formalize": "formal",
    "electriciti": "electr", "electrical": "electr", "hopeful": "hope", "goodness": "good", "revival": "reviv",
    "allowance": "allow", "inference": "infer", "airliner": "airlin", "gyroscopic": "gyroscop",
    "adjustable": "adjust", "defensible": "defens", "irritant": "irrit", "replacement": "replac",
    "adjustment": "adjust", "dependent": "depend", "adoption": "adopt", "homologou": "homolog",
    "communism": "commun", "activate": "activ", "angulariti": "angular", "homologous": "homolog",
    "effective": "effect", "bowdlerize": "bowdler", "probate": "probat", "rate": "rate", "cease": "ceas",
    "controll": "control", "roll": "roll", "generalization": "gener", "oscillators": "oscil", "is": "is",
    "as": "as", "yes": "ye", "lymphadenopathy": "lymphadenopathi", "nodules": "nodul", "effusions": "effus",
}


def test_porter_stemmer():
    got = {w: stem(w) for w in PORTER_CASES}
    assert got == PORTER_CASES


def test_porter_word_list_fixture_matches():
    """The shared word list (also checked by the TypeScript port) stems as recorded."""
    rows = [l.split("\t") for l in (FIXTURES / "porter.tsv").read_text().splitlines() if l]
    assert len(rows) > 300
    for word, expected in rows:
        assert stem(word) == expected, word


def test_score_keys_and_perfect_predictions():
    rng = np.random.default_rng(3)
    lines = []
    for k in range(20):
        labels = draw_findings(rng)
        r = make_report(labels, rng)
        lines.append({"id": f"r{k}", "task": "report", "question": "q", "report": r, "prediction": r, "labels": labels})
    lines.append({"id": "v1", "task": "vqa", "question": "q", "answer": "yes", "answer_type": "closed", "prediction": "Yes."})
    lines.append({"id": "v2", "task": "vqa", "question": "q", "answer": "12 mm", "answer_type": "open", "prediction": "12 mm"})
    s = M.score(lines)
    assert tuple(s) == M.METRIC_KEYS
    assert s["bleu1"] == s["bleu4"] == 1.0 and s["rouge1"] == s["rougeL"] == 1.0
    assert 0.99 < s["meteor"] < 1.0  # one chunk still costs 0.5/m³
    assert s["finding_f1"] == 1.0 and s["closed_vqa_accuracy"] == 1.0 and s["open_vqa_f1"] == 1.0
    assert s["cider"] > 5.0
    assert (s["n_report"], s["n_vqa"]) == (20, 2)


def test_score_empty_groups_are_null_and_bad_lines_are_named():
    s = M.score([{"id": "v", "task": "vqa", "answer": "no", "prediction": "no"}])
    assert s["bleu1"] is None and s["open_vqa_f1"] is None and s["closed_vqa_accuracy"] == 1.0
    with pytest.raises(M.ResultsError, match=r"line 1 \(id x\): no 'prediction'"):
        M.score([{"id": "x", "task": "vqa", "answer": "no"}])
    with pytest.raises(M.ResultsError, match="task must be"):
        M.score([{"id": "x", "task": "caption", "prediction": ""}])


def test_evaluate_cli_scores_fixture_as_recorded():
    out = subprocess.run([sys.executable, "-m", "model.evaluate", "--predictions", str(FIXTURES / "results.jsonl"), "--json"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    expected = json.loads((FIXTURES / "expected.json").read_text())
    assert set(got) == set(M.METRIC_KEYS)
    for k in M.METRIC_KEYS:
        assert got[k] == pytest.approx(expected[k], abs=1e-12), k
    # The fixture is imperfect on purpose: every metric is strictly between its bounds.
    for k in ("bleu1", "bleu4", "rouge1", "rougeL", "meteor", "closed_vqa_accuracy", "open_vqa_f1", "finding_f1"):
        assert 0.05 < got[k] < 0.99, k


def test_evaluate_cli_errors(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "task": "vqa", "answer": "no", "prediction": "no"}\nnot json\n')
    assert evaluate.main(["--predictions", str(bad), "--json"]) == 2
    assert "bad.jsonl:2: not valid JSON" in json.loads(capsys.readouterr().out)["error"]
    assert evaluate.main(["--predictions", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert evaluate.main(["--package", str(tmp_path)]) == 2
    assert "--data" in capsys.readouterr().err


def test_evaluate_runs_a_package_end_to_end(tmp_path, capsys):
    """--package: greedy predictions from the PyTorch reference, written as results lines that --predictions
    scores to the same numbers. Uses the bundled package, or an untrained export when it is not there yet."""
    pkg = ROOT / "media" / "models" / "ctlens-tghmoe-demo"
    if not (pkg / "config.json").is_file():
        pkg = tmp_path / "pkg"
        subprocess.run([sys.executable, "-m", "model.export", "--untrained", "demo", "--out", str(pkg)], cwd=ROOT,
                       check=True, capture_output=True)
    data = ROOT / "test" / "fixtures" / "phantoms" / "dataset.jsonl"
    out = tmp_path / "results.jsonl"
    assert evaluate.main(["--package", str(pkg), "--data", str(data), "--limit", "3", "--max-new-tokens", "6",
                          "--out", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert (printed["n_report"], printed["n_vqa"]) == (1, 2)
    results = [json.loads(l) for l in out.read_text().splitlines()]
    assert [r["id"] for r in results] == [json.loads(l)["id"] for l in data.read_text().splitlines()[:3]]
    assert all(isinstance(r["prediction"], str) for r in results)
    assert evaluate.main(["--predictions", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == printed


def test_evaluate_refuses_a_missing_package(tmp_path, capsys):
    data = ROOT / "test" / "fixtures" / "phantoms" / "dataset.jsonl"
    assert evaluate.main(["--package", str(tmp_path / "nothing"), "--data", str(data)]) == 2
    assert "config.json is missing" in capsys.readouterr().err


def test_shuffled_images_move_every_line_to_another_case():
    lines = [{"image": f"images/c{k // 3}.nii.gz"} for k in range(12)]  # 4 cases, 3 lines each
    swap = evaluate.shifted_images(lines)
    assert sorted(swap) == sorted(set(swap.values())) == [f"images/c{k}.nii.gz" for k in range(4)]
    assert all(swap[l["image"]] != l["image"] for l in lines)
    assert evaluate.shifted_images([{"image": "a.nii.gz"}]) == {"a.nii.gz": "a.nii.gz"}  # nothing to swap with
