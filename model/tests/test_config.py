"""Config files (model/configs/*.json): equal to the built-in presets, and refused before training when wrong."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from model import train as T
from model.config import ConfigError, from_dict, load_config
from model.presets import PRESETS

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "configs")


@pytest.mark.parametrize("name", ["demo", "demo1", "tiny"])
def test_config_file_equals_the_builtin_preset(name):
    cfg = load_config(os.path.join(CONFIGS, f"{name}.json"))
    assert cfg.preset == PRESETS[name]
    assert dataclasses.asdict(cfg.preset) == dataclasses.asdict(PRESETS[name])
    assert cfg.data.source == "builtin"


def test_every_shipped_config_validates():
    names = sorted(f for f in os.listdir(CONFIGS) if f.endswith(".json"))
    assert {"demo.json", "tiny.json", "gpu.json"} <= set(names)
    for f in names:
        load_config(os.path.join(CONFIGS, f))


class Reached(Exception):
    pass


def test_config_and_preset_reach_the_same_training(monkeypatch, tmp_path):
    seen = []

    def stage0(preset, tok, run):
        seen.append((preset, os.path.basename(run)))
        raise Reached

    monkeypatch.setattr(T, "train_stage0", stage0)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    for argv in (["--preset", "demo"], ["--config", os.path.join(CONFIGS, "demo.json")], []):
        with pytest.raises(Reached):
            T.main(argv + ["--threads", "1"])
    assert seen[0] == seen[1] == seen[2] and seen[0][0] == PRESETS["demo"] and seen[0][1] == "demo"


def base():
    return {"preset": dataclasses.asdict(PRESETS["tiny"])}


def test_unknown_keys_and_bad_shapes_are_refused():
    d = base()
    d["preset"]["vit_width"] = 64
    with pytest.raises(ConfigError, match="unknown key.*vit_width"):
        from_dict(d)
    with pytest.raises(ConfigError, match="unknown section.*optimiser"):
        from_dict({**base(), "optimiser": {}})
    with pytest.raises(ConfigError, match="distributed: unknown key.*gradient_accumulation"):
        from_dict({**base(), "distributed": {"gradient_accumulation": 2}})
    for change, msg in [({"image_size": 40}, "not a multiple of patch_size"),
                        ({"vit_heads": 3}, "not divisible by vit_heads"),
                        ({"pooling": [3, 1, 1]}, "D = 4 tokens is not a multiple of 3"),
                        ({"top_k": 5}, "top_k 5"),
                        ({"group_names": ["a"]}, "1 names for 2 groups"),
                        ({"slices": "4"}, "expected int"),
                        ({"summary_token": 1}, "expected bool")]:
        d = base()
        d["preset"].update(change)
        with pytest.raises(ConfigError, match=msg):
            from_dict(d)
    with pytest.raises(ConfigError, match="needs data.root"):
        from_dict({**base(), "data": {"source": "ct-rate"}})


def test_main_refuses_a_bad_config_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(T, "train_stage0", lambda *a: pytest.fail("trained"))
    bad = base()
    bad["preset"]["patch_size"] = 7
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    assert T.main(["--config", str(path)]) == 2
    assert "patch_size 7" in capsys.readouterr().err


def test_a_missing_dataset_is_refused_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(T, "train_stage0", lambda *a: pytest.fail("trained"))
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    cfg = {**base(), "data": {"source": "ct-rate", "root": str(tmp_path / "nowhere")}}
    path = tmp_path / "ctrate.json"
    path.write_text(json.dumps(cfg))
    assert T.main(["--config", str(path), "--out", str(tmp_path / "run")]) == 2
    assert "no radiology_text_reports/train_reports.csv" in capsys.readouterr().err
