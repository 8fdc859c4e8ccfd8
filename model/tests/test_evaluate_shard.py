"""model.evaluate --shard i/N (as ctlens eval --shard): the shards' predictions, merged, are the unsharded run's."""

from __future__ import annotations

import json
import sys
import types

import model
from model import evaluate


def fake_package(monkeypatch):
    class Gen:
        def __init__(self, ids):
            self.ids = ids

    class Model:
        def pixels(self, image):
            return image

        def generate(self, pixels, task, question, max_new_tokens, do_sample=False):
            return Gen(f"{task} on {pixels.rsplit('/', 1)[-1]}")

        def decode(self, ids):
            return ids

    fake = types.SimpleNamespace(load_package=lambda d: Model(), PackageError=Exception)
    monkeypatch.setitem(sys.modules, "model.package", fake)
    monkeypatch.setattr(model, "package", fake, raising=False)


def test_shards_merge_to_the_whole(tmp_path, monkeypatch, capsys):
    fake_package(monkeypatch)
    lines = [{"id": f"c{i}-{t}", "image": f"images/c{i}.nii.gz", "task": t, "question": "Is there x?",
              **({"report": "Findings: none. Impression: none."} if t == "report" else {"answer": "no"})}
             for i in range(3) for t in ("report", "vqa")]
    (tmp_path / "images").mkdir()
    for i in range(3):
        (tmp_path / "images" / f"c{i}.nii.gz").write_bytes(b"")
    data = tmp_path / "dataset.jsonl"
    data.write_text("".join(json.dumps(l) + "\n" for l in lines))
    for shuffle in ([], ["--shuffle-images"]):
        whole = tmp_path / "whole.jsonl"
        assert evaluate.main(["--package", "p", "--data", str(data), "--json", "--out", str(whole), *shuffle]) == 0
        full = capsys.readouterr().out
        parts = []
        for i in range(2):
            part = tmp_path / f"shard{i}.jsonl"
            assert evaluate.main(["--package", "p", "--data", str(data), "--shard", f"{i}/2", "--out", str(part),
                                  "--json", *shuffle]) == 0
            parts.append(str(part))
        capsys.readouterr()
        got = sorted((json.loads(l) for p in parts for l in open(p)), key=lambda l: l["id"])
        assert got == sorted((json.loads(l) for l in open(whole)), key=lambda l: l["id"])
        assert evaluate.main(["--predictions", *parts, "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == json.loads(full)
    assert evaluate.main(["--predictions", parts[0], parts[0], "--json"]) == 2
    assert "repeat ids" in capsys.readouterr().out
    assert evaluate.main(["--package", "p", "--data", str(data), "--shard", "2/2", "--json"]) == 2
