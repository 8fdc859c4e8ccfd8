"""The word-level tokenizer: round trips in Python, and the same ids as @huggingface/tokenizers reading the
package's tokenizer.json in Node on every text the benchmark can produce."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from model import reports, scenes2d
from model.tokenizer import SPECIAL_TOKENS, WordTokenizer
from model.vocabulary import build_tokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGE_TOKENIZER = os.path.join(ROOT, "media", "models", "ctlens-tghmoe-demo", "tokenizer.json")


def corpus() -> list[str]:
    texts = list(reports.all_texts()) + list(scenes2d.all_texts())
    with open(os.path.join(ROOT, "test", "fixtures", "phantoms", "dataset.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            texts += [d["question"], d.get("report") or d.get("answer")]
    return texts


def test_every_benchmark_text_round_trips_without_unknown_tokens():
    tok = build_tokenizer()
    for text in corpus():
        ids = tok.encode(text)
        assert tok.unk_id not in ids, text
        assert tok.decode(ids) == text.lower()


def test_specials_are_split_out_and_lowercasing_happens_before_lookup():
    tok = build_tokenizer()
    ids = tok.encode("<bos><image>Is there a NODULE?<answer>yes<eos>")
    assert ids[0] == tok.bos_id and ids[1] == tok.image_id and ids[-1] == tok.eos_id
    assert tok.answer_id in ids
    assert tok.encode("NODULE") == tok.encode("nodule")
    assert tok.decode(ids, skip_special_tokens=False) == "<bos><image> is there a nodule?<answer> yes<eos>"
    assert tok.encode("pneumothorax") == [tok.unk_id]
    assert tok.decode(tok.encode("a 12 mm nodule.")) == "a 12 mm nodule."
    assert SPECIAL_TOKENS == [tok.vocab[i] for i in range(len(SPECIAL_TOKENS))]


def test_file_round_trip(tmp_path):
    tok = build_tokenizer()
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    assert WordTokenizer.from_file(str(path)).vocab == tok.vocab


def test_node_tokenizers_gives_identical_ids_and_text(tmp_path):
    node = shutil.which("node")
    if node is None or not os.path.isdir(os.path.join(ROOT, "node_modules", "@huggingface", "tokenizers")):
        pytest.skip("node or @huggingface/tokenizers not installed")
    tok = WordTokenizer.from_file(PACKAGE_TOKENIZER)
    assert tok.vocab == build_tokenizer().vocab, "the package's tokenizer.json differs from build_tokenizer()"
    texts = corpus() + [
        "<bos><image>Generate a radiology report for this chest CT.<answer>",
        "<bos><image>IS THERE A  Pleural   Effusion?<answer>",
        "Is there a pneumothorax (left)? 3.5 cm!", "", "<image>", "no.<eos>",
    ]
    (tmp_path / "texts.json").write_text(json.dumps(texts))
    script = os.path.join(os.path.dirname(__file__), "tokenize.mjs")
    config = os.path.join(os.path.dirname(PACKAGE_TOKENIZER), "tokenizer_config.json")
    res = subprocess.run([node, script, PACKAGE_TOKENIZER, config, str(tmp_path / "texts.json")], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 0, res.stderr
    js = json.loads(res.stdout)
    for text, got in zip(texts, js):
        assert got["ids"] == tok.encode(text), text
        assert got["text"] == tok.decode(tok.encode(text)), text
