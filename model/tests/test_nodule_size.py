"""model.nodule_size's binning: AUC of each size bin's nodules against every nodule-free case."""

from model.nodule_size import by_bin, size_bin


def test_bins_and_their_auc_against_the_nodule_free_cases():
    rows = [(-2.0, False), (-1.0, False), (0.5, False),
            (3.0, {"size_mm": 25, "lobe": "right upper lobe"}), (2.0, {"size_mm": 18, "lobe": "right upper lobe"}),
            (-1.5, {"size_mm": 7, "lobe": "left lower lobe"})]
    bins = by_bin(rows, lambda n: size_bin(n["size_mm"]))
    assert list(bins) == ["6–10 mm", "16–20 mm", "21–30 mm"]  # by size, not as strings
    assert bins["21–30 mm"] == {"n": 1, "auc": 1.0, "yes": 1}
    assert bins["6–10 mm"]["auc"] == 1 / 3 and bins["6–10 mm"]["yes"] == 0  # above one of three negatives
    assert size_bin(11) == "11–15 mm" and size_bin(30) == "21–30 mm"
