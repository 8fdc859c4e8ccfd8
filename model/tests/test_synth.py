"""The synthetic chest CT benchmark: HU per tissue, labels that the volume bears out, files as declared."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from model import synth
from model.phantom import FINDINGS, LOBES, TISSUE as T, draw_findings, make_phantom
from model.reports import make_report, make_vqa, vocabulary

SMALL = (64, 64, 32)


def all_findings_labels(rng, side="right"):
    lab = draw_findings(rng)
    lab.update(
        lung_nodule={"lobe": "right upper lobe", "size_mm": 18},
        pleural_effusion={"side": side, "size": "large"},
        cardiomegaly=True,
        pericardial_effusion=True,
        emphysema={"severity": "moderate"},
        consolidation={"lobe": "left lower lobe"},
        arterial_calcification=True,
        lymphadenopathy={"station": "mediastinal", "short_axis_mm": 20},
    )
    return lab


def no_findings_labels():
    return {f: False for f in FINDINGS}


@pytest.fixture(scope="module")
def sick():
    rng = np.random.default_rng(11)
    return make_phantom(rng, labels=all_findings_labels(rng))


@pytest.fixture(scope="module")
def healthy():
    return make_phantom(np.random.default_rng(12), labels=no_findings_labels())


def core(ph, name, erode=1):
    """Voxels of a tissue away from its border (partial volume excluded)."""
    m = ph.tissue == T[name]
    return ndimage.binary_erosion(m, iterations=erode) if erode else m


@pytest.mark.parametrize(
    "name,lo,hi",
    [
        ("air", -1040, -960),
        ("lung", -900, -790),
        ("fat", -130, -70),
        ("muscle", 20, 70),
        ("heart", 20, 60),
        ("blood", 20, 60),
        ("liver", 40, 80),
        ("bone", 700, 1400),
    ],
)
def test_hu_of_each_tissue_is_realistic(healthy, name, lo, hi):
    m = core(healthy, name)
    assert m.sum() > 50, f"{name}: too few core voxels"
    med = float(np.median(healthy.hu[m]))
    assert lo <= med <= hi, f"{name}: median {med:.1f} HU outside [{lo}, {hi}]"


def test_hu_of_findings(sick):
    fluid = np.median(sick.hu[core(sick, "pleural_fluid")])
    assert -15 <= fluid <= 35
    assert np.median(sick.hu[core(sick, "emphysema", 0)]) <= -930
    assert np.median(sick.hu[core(sick, "consolidation")]) >= -50
    calc = sick.tissue == T["calcification"]
    assert calc.any() and sick.hu[calc].max() >= 500  # dense even after partial volume
    nod = sick.tissue == T["nodule"]
    centre = tuple(int(round(v)) for v in ndimage.center_of_mass(nod))
    assert -20 <= sick.hu[centre] <= 90
    assert sick.hu.min() >= -1024 and sick.hu.max() <= 3071


def _lung_centre_x(ph):
    return ph.geometry["lung_right"]["cx"], ph.geometry["lung_left"]["cx"]


@pytest.mark.parametrize("side", ["right", "left", "bilateral"])
def test_pleural_effusion_sits_on_its_side(side):
    rng = np.random.default_rng(21)
    ph = make_phantom(rng, shape=SMALL, labels=all_findings_labels(rng, side))
    fluid = ph.tissue == T["pleural_fluid"]
    nx = ph.shape[0]
    right = fluid[nx // 2 :].sum()  # canonical RAS: higher i = patient right
    left = fluid[: nx // 2].sum()
    # Fluid voxels also have fluid HU (the volume, not only the label map, shows it).
    assert np.median(ph.hu[fluid]) < 40
    if side in ("right", "bilateral"):
        assert right > 30
    else:
        assert right == 0
    if side in ("left", "bilateral"):
        assert left > 30
    else:
        assert left == 0
    # Dependent: the fluid's centre lies behind the lung's centre.
    j_centre = ndimage.center_of_mass(fluid)[1]
    lungs = ph.lobes > 0
    assert j_centre < ndimage.center_of_mass(lungs)[1]


def test_no_effusion_no_fluid(healthy):
    assert not (healthy.tissue == T["pleural_fluid"]).any()
    assert not (healthy.tissue == T["pericardial_fluid"]).any()
    assert not (healthy.tissue == T["nodule"]).any()
    assert not (healthy.tissue == T["consolidation"]).any()
    assert not (healthy.tissue == T["calcification"]).any()


def test_nodule_is_in_its_lobe_and_has_its_size(sick):
    lab = sick.labels["lung_nodule"]
    nod = sick.tissue == T["nodule"]
    lobe_ids = np.unique(sick.lobes[nod])
    assert list(lobe_ids) == [LOBES[lab["lobe"]]]
    ii = np.nonzero(nod.any(axis=(1, 2)))[0]
    extent = (ii[-1] - ii[0] + 1) * sick.spacing[0]
    assert abs(extent - lab["size_mm"]) <= 2 * sick.spacing[0] + 0.1 * lab["size_mm"]


def test_consolidation_is_in_its_lobe(sick):
    cons = sick.tissue == T["consolidation"]
    assert cons.sum() > 50
    assert set(np.unique(sick.lobes[cons])) == {LOBES[sick.labels["consolidation"]["lobe"]]}


def _cardiothoracic_ratio(ph):
    heart = ph.tissue == T["heart"]
    widest = max((np.ptp(np.nonzero(heart[:, :, k].any(1))[0]) + 1) for k in range(ph.shape[2]) if heart[:, :, k].any())
    return widest * ph.spacing[0] / ph.geometry["thorax_width_mm"]


def test_cardiomegaly_means_a_large_cardiothoracic_ratio(sick, healthy):
    assert _cardiothoracic_ratio(sick) > 0.5
    assert _cardiothoracic_ratio(healthy) < 0.5


def test_emphysema_means_low_attenuation_lung(sick, healthy):
    def laa(ph):  # %LAA-950, the usual CT emphysema index
        lung = ph.lobes > 0
        return float((ph.hu[lung] < -950).mean())

    assert laa(sick) > 0.05
    assert laa(healthy) < 0.01


def test_lymphadenopathy_means_a_large_node(sick, healthy):
    def largest_short_axis(ph):
        comps, n = ndimage.label(ph.tissue == T["lymph_node"])
        best = 0.0
        for c in range(1, n + 1):
            m = comps == c
            widths = [np.ptp(np.nonzero(m.any(axis=tuple(a for a in range(3) if a != ax)))[0]) + 1 for ax in (0, 1)]
            best = max(best, min(w * s for w, s in zip(widths, ph.spacing[:2])))
        return best

    assert largest_short_axis(sick) >= 12
    assert largest_short_axis(healthy) < 10


def _read_gz(path):
    img = nib.load(str(path))
    return img, np.asarray(img.dataobj)  # scaled by nibabel (slope/inter applied)


@pytest.mark.parametrize("orientation", ["RAS", "LPS"])
@pytest.mark.parametrize("scaling", synth.SCALINGS)
def test_file_orientation_and_scaling_as_declared(tmp_path, orientation, scaling):
    case = synth.generate_case(3, "test", 0, size=SMALL)
    case = dataclasses.replace(case, orientation=orientation, scaling=scaling)
    path = tmp_path / "c.nii.gz"
    synth.write_nifti(case, str(path))
    img, data = _read_gz(path)
    assert "".join(nib.aff2axcodes(img.affine)) == orientation
    assert img.header.get_data_dtype() == np.int16
    # nibabel moves scl_slope/scl_inter from the header onto the array proxy when it loads a file.
    assert (float(img.dataobj.slope), float(img.dataobj.inter)) == scaling
    assert int(img.header["qform_code"]) == 1 and int(img.header["sform_code"]) == 1
    assert np.allclose(img.header.get_zooms(), case.phantom.spacing, atol=1e-5)
    canon = nib.as_closest_canonical(img)
    assert np.allclose(canon.affine, case.canonical_affine(), atol=1e-4)
    expected = np.rint(case.phantom.hu)
    if scaling[0] != 1.0:  # stored = rint(HU / slope): exact for slope 0.5
        expected = np.rint(expected / scaling[0]) * scaling[0]
    assert np.array_equal(np.asarray(canon.dataobj), expected)


def test_same_seed_same_bytes_other_index_other_case(tmp_path):
    a, b, c = (synth.generate_case(5, "train", i, size=SMALL) for i in (0, 0, 1))
    assert synth.nifti_bytes(a) == synth.nifti_bytes(b)
    assert a.report == b.report and a.vqa == b.vqa
    for p, case in (("a", a), ("b", b)):
        synth.write_nifti(case, str(tmp_path / f"{p}.nii.gz"))
    assert (tmp_path / "a.nii.gz").read_bytes() == (tmp_path / "b.nii.gz").read_bytes()
    assert synth.nifti_bytes(a) != synth.nifti_bytes(c)


def test_splits_are_disjoint():
    def fingerprint(case):
        return hashlib.sha1(case.phantom.hu.tobytes()).hexdigest()

    prints = {}
    for split in synth.SPLIT_CODE:
        for i in range(3):
            case = synth.generate_case(0, split, i, size=(32, 32, 16))
            prints.setdefault(split, set()).add(fingerprint(case))
            assert case.id.startswith(split)
    assert not (prints["train"] & prints["val"]) and not (prints["train"] & prints["test"]) and not (prints["val"] & prints["test"])


def test_cli_writes_c5_lines(tmp_path):
    assert synth.main(["--out", str(tmp_path), "--n", "3", "--seed", "1", "--split", "val", "--size", "48,48,24", "--quiet"]) == 0
    lines = [json.loads(l) for l in (tmp_path / "dataset.jsonl").read_text().splitlines()]
    assert len(lines) == 3 * 6
    assert len({l["id"] for l in lines}) == len(lines)
    for l in lines:
        assert (tmp_path / l["image"]).is_file()
        assert set(l["labels"]) == set(FINDINGS)
        assert l["task"] in ("report", "vqa") and isinstance(l["question"], str)
        if l["task"] == "report":
            assert l["report"].startswith("Findings: ") and " Impression: " in l["report"]
        else:
            assert l["answer_type"] in ("closed", "open") and l["answer"]
            if "choices" in l:
                assert len(l["choices"]) == 4
                assert l["answer"] == f"{'ABCD'[l['choices'].index(l['answer'][3:])]}. {l['answer'][3:]}"
                for letter, choice in zip("ABCD", l["choices"]):
                    assert f"{letter}. {choice}." in l["question"]
    cases = [json.loads(l) for l in (tmp_path / "cases.jsonl").read_text().splitlines()]
    assert [c["id"] for c in cases] == [l["case"] for l in lines if l["task"] == "report"]
    img = nib.load(str(tmp_path / cases[0]["image"]))
    assert img.shape == (48, 48, 24)


def test_cli_refuses_bad_size(capsys):
    with pytest.raises(SystemExit):
        synth.main(["--out", "/tmp/never", "--n", "1", "--size", "12,12"])
    assert "--size" in capsys.readouterr().err


def test_texts_agree_with_labels_and_vocabulary():
    vocab = set(vocabulary())
    word = re.compile(r"[a-z]+|[0-9]+|[.,:;?]")
    rng = np.random.default_rng(0)
    for _ in range(300):
        labels = draw_findings(rng)
        report = make_report(labels, rng)
        items = make_vqa(labels, rng, 5)
        texts = [report] + [i["question"] for i in items] + [i["answer"] for i in items]
        for t in texts:
            missing = set(word.findall(t.lower())) - vocab
            assert not missing, f"{missing} in {t!r}"
            assert re.fullmatch(r"[A-Za-z0-9 .,:;?]+", t), t
        for i in items:
            if i["qtype"].startswith("presence:"):
                f = i["qtype"].split(":")[1]
                assert i["answer"] == ("yes" if labels[f] else "no")
            nod = labels["lung_nodule"]
            if i["qtype"] == "size:lung_nodule":
                assert (str(nod["size_mm"]) in i["answer"]) if nod else ("no nodule" in i["answer"])
            if i["qtype"] in ("where:lung_nodule", "lobe:lung_nodule"):
                assert (nod["lobe"] in i["answer"]) if nod else ("no nodule" in i["answer"])
            if i["qtype"] == "which:present":
                assert "none of the above" in i["choices"]
            if i["qtype"] in ("lobe:lung_nodule", "lobe:consolidation", "side:pleural_effusion"):
                assert any(c.startswith("no ") for c in i["choices"])  # offered whether or not it is the answer
        assert len(items) == 5


def test_question_forms_do_not_give_the_answer_away():
    """Presence questions are "yes" about half the time for every finding; where/size/lobe/side questions are asked
    about absent findings too; "none of the above" is the answer only some of the times it is offered."""
    rng = np.random.default_rng(1)
    yes, asked, located_absent, none_offered, none_answer = {}, {}, 0, 0, 0
    for _ in range(3000):
        labels = draw_findings(rng)
        for i in make_vqa(labels, rng, 5):
            q = i["qtype"]
            if q.startswith("presence:"):
                asked[q] = asked.get(q, 0) + 1
                yes[q] = yes.get(q, 0) + (i["answer"] == "yes")
            elif q.split(":")[0] in ("where", "size", "lobe", "side"):
                located_absent += not labels[q.split(":")[1]]
            elif q == "which:present":
                none_offered += 1
                none_answer += i["answer"].endswith("none of the above")
    assert len(asked) == 8
    for q in asked:
        assert 0.4 <= yes[q] / asked[q] <= 0.6, (q, yes[q], asked[q])
    assert located_absent > 1000
    assert 0.3 <= none_answer / none_offered <= 0.7


def test_report_polarity_is_the_first_token_and_the_impression_follows_the_findings():
    from model.labeller import FINDINGS as LF, label_report
    from model.reports import NEGATIVE, POSITIVE

    for templates in NEGATIVE.values():
        assert all(t.startswith("No ") for t in templates)
    for v in POSITIVE.values():
        for t in (sum(v.values(), ()) if isinstance(v, dict) else v):
            assert not t.lower().startswith("no ")
    rng = np.random.default_rng(3)
    for _ in range(300):
        labels = draw_findings(rng)
        report = make_report(labels, rng)
        findings, impression = report.split(" Impression: ")
        want = {f: bool(labels[f]) for f in LF}
        assert label_report(findings) == want and label_report(report) == want
        present_in_impression = label_report(impression)
        assert all(present_in_impression[f] == want[f] for f in LF) or not any(want.values())


def test_committed_phantom_fixtures_are_what_cases_jsonl_says():
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "phantoms"
    cases = [json.loads(l) for l in (folder / "cases.jsonl").read_text().splitlines()]
    lines = [json.loads(l) for l in (folder / "dataset.jsonl").read_text().splitlines()]
    assert len(cases) == 4 and sum(c["image"].endswith(".nii.gz") for c in cases) == 4
    assert {f for c in cases for f, v in c["labels"].items() if v} == set(FINDINGS)
    assert sum((folder / c["image"]).stat().st_size for c in cases) < 2_000_000
    for c in cases:
        img = nib.load(str(folder / c["image"]))
        assert "".join(nib.aff2axcodes(img.affine)) == c["orientation"]
        assert (float(img.dataobj.slope), float(img.dataobj.inter)) == (c["scl_slope"], c["scl_inter"])
        assert np.allclose(img.affine, c["affine"]) and list(img.shape) == c["shape"]
        hu = np.asarray(img.dataobj)
        assert -1024 <= hu.min() and hu.max() <= 3071 and (hu < -900).mean() > 0.3  # air around the body, lungs
        mine = [l for l in lines if l["case"] == c["id"]]
        assert len(mine) == 6 and all(l["image"] == c["image"] and l["labels"] == c["labels"] for l in mine)


def test_labels_agree_with_the_label_map_on_random_cases():
    """Every drawn label is visible in the phantom, and no absent finding is (24 random small cases)."""
    for i in range(24):
        case = synth.generate_case(7, "train", i, size=SMALL)
        ph, lab, t = case.phantom, case.labels, case.phantom.tissue
        nod = t == T["nodule"]
        assert bool(lab["lung_nodule"]) == nod.any(), i
        if lab["lung_nodule"]:
            assert set(np.unique(ph.lobes[nod])) == {LOBES[lab["lung_nodule"]["lobe"]]}, i
        fluid = t == T["pleural_fluid"]
        half = t.shape[0] // 2
        side = lab["pleural_effusion"]["side"] if lab["pleural_effusion"] else None
        assert (fluid[half:].sum() > 5) == (side in ("right", "bilateral")), i
        assert (fluid[:half].sum() > 5) == (side in ("left", "bilateral")), i
        assert lab["pericardial_effusion"] == (t == T["pericardial_fluid"]).any(), i
        cons = t == T["consolidation"]
        assert bool(lab["consolidation"]) == (cons.sum() > 20), i
        if lab["consolidation"]:
            assert set(np.unique(ph.lobes[cons])) == {LOBES[lab["consolidation"]["lobe"]]}, i
        assert lab["arterial_calcification"] == (t == T["calcification"]).any(), i
        assert (_cardiothoracic_ratio(ph) > 0.5) == lab["cardiomegaly"], i
        laa = float((ph.hu[ph.lobes > 0] < -950).mean())
        assert (laa > 0.01) == bool(lab["emphysema"]), i


def test_written_finding_and_tissue_maps_read_back_as_the_phantom_on_its_own_grid(tmp_path):
    import json as _json

    import nibabel as nib

    from model.phantom import FINDINGS as PH_FINDINGS
    from model.synth import generate_case, write_dataset

    write_dataset(str(tmp_path), 3, seed=4, split="test", size=(48, 48, 24), n_vqa=1)
    bits = _json.load(open(tmp_path / "labels" / "findings.json"))
    assert bits == {str(1 << j): k for j, k in enumerate(PH_FINDINGS)}
    for i, rec in enumerate(map(_json.loads, open(tmp_path / "cases.jsonl"))):
        ph = generate_case(4, "test", i, size=(48, 48, 24)).phantom
        for key, want in (("finding_map", ph.findings), ("label_map", ph.tissue)):
            img = nib.as_closest_canonical(nib.load(tmp_path / rec[key]))  # RAS, whichever order the file has
            assert np.array_equal(np.asarray(img.dataobj), want), (i, key)
            assert np.allclose(img.affine, nib.as_closest_canonical(nib.load(tmp_path / rec["image"])).affine)
