"""Word-level tokenizer, written as a Hugging Face ``tokenizer.json`` (DESIGN 4) and mirrored here in Python.

Debian has no Python ``tokenizers`` package, so this module both builds the JSON and implements exactly the
pipeline it declares, for the subset of components used (checked against ``@huggingface/tokenizers`` 0.2 in
Node by model/tests/test_tokenizer.py):

1. added (special) tokens ``<pad> <unk> <bos> <eos> <image> <answer>`` are split out of the text first, verbatim;
2. normalizer ``Lowercase``: users type "Is there a Nodule?", the model knows one spelling;
3. pre-tokenizer ``Sequence[Metaspace(▁, prepend_scheme=always, split=false), Split(PATTERN, Isolated)]``:
   every space becomes "▁", a leading "▁" is added, then the text is cut into words with their leading "▁"
   (``▁nodule``), single digits (``▁1`` ``2`` for "12", so every size in mm is covered by 20 tokens) and single
   other characters (``.`` ``,`` ``:`` ...);
4. model ``WordLevel`` with ``<unk>``;
5. decoder ``Metaspace``: "▁" → " ", the leading space of the first token dropped, so that
   ``decode(encode(text)) == text.lower()`` for any text of single-spaced words, digits and punctuation.
"""

from __future__ import annotations

import json
import re
from typing import Iterable

METASPACE = "\u2581"
# One piece per match; the pattern covers every character, so "Isolated" splitting equals "all matches".
PATTERN = f"{METASPACE}?[a-z]+|{METASPACE}?[0-9]|{METASPACE}?[^{METASPACE}a-z0-9]|{METASPACE}"
PIECE_RE = re.compile(PATTERN)

PAD, UNK, BOS, EOS, IMAGE, ANSWER = "<pad>", "<unk>", "<bos>", "<eos>", "<image>", "<answer>"
SPECIAL_TOKENS = [PAD, UNK, BOS, EOS, IMAGE, ANSWER]  # ids 0..5, in this order
_SPECIAL_RE = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")


def pre_tokenize(text: str) -> list[str]:
    """Normalizer + pre-tokenizer of one section of text between special tokens."""
    s = text.lower().replace(" ", METASPACE)
    if not s.startswith(METASPACE):
        s = METASPACE + s
    return PIECE_RE.findall(s)


def _pieces_for_vocab(texts: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for t in texts:
        for section in _SPECIAL_RE.split(t):
            if section and section not in SPECIAL_TOKENS:
                out.update(pre_tokenize(section))
    return out


class WordTokenizer:
    def __init__(self, vocab: list[str]):
        if vocab[: len(SPECIAL_TOKENS)] != SPECIAL_TOKENS:
            raise ValueError("the vocabulary must start with the special tokens " + " ".join(SPECIAL_TOKENS))
        self.vocab = list(vocab)
        self.ids = {t: i for i, t in enumerate(self.vocab)}
        if len(self.ids) != len(self.vocab):
            raise ValueError("duplicate tokens in the vocabulary")

    # -- building ------------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, texts: Iterable[str]) -> "WordTokenizer":
        """Vocabulary = specials + every piece of ``texts`` + all single digits and ASCII punctuation (both with
        and without a leading ▁), so that any number and any simple punctuation a user types is known."""
        pieces = _pieces_for_vocab(texts)
        for ch in "0123456789" + "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~":
            pieces.update({ch, METASPACE + ch})
        pieces.add(METASPACE)
        return cls(SPECIAL_TOKENS + sorted(pieces))

    @property
    def pad_id(self) -> int:
        return self.ids[PAD]

    @property
    def unk_id(self) -> int:
        return self.ids[UNK]

    @property
    def bos_id(self) -> int:
        return self.ids[BOS]

    @property
    def eos_id(self) -> int:
        return self.ids[EOS]

    @property
    def image_id(self) -> int:
        return self.ids[IMAGE]

    @property
    def answer_id(self) -> int:
        return self.ids[ANSWER]

    def __len__(self) -> int:
        return len(self.vocab)

    # -- encode / decode -----------------------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[str]:
        out: list[str] = []
        for section in _SPECIAL_RE.split(text):
            if not section:
                continue
            if section in SPECIAL_TOKENS:
                out.append(section)
            else:
                out.extend(pre_tokenize(section))
        return out

    def encode(self, text: str) -> list[int]:
        return [self.ids.get(t, self.unk_id) for t in self.tokenize(text)]

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = True) -> str:
        tokens = [self.vocab[i] for i in ids]
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in SPECIAL_TOKENS]
        text = "".join(tokens).replace(METASPACE, " ")
        return text[1:] if text.startswith(" ") else text

    # -- Hugging Face files --------------------------------------------------------------------------------------
    def to_hf_json(self) -> dict:
        added = [{"id": self.ids[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for t in SPECIAL_TOKENS]
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": added,
            "normalizer": {"type": "Lowercase"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Metaspace", "replacement": METASPACE, "prepend_scheme": "always", "split": False},
                {"type": "Split", "pattern": {"Regex": PATTERN}, "behavior": "Isolated", "invert": False},
            ]},
            "post_processor": None,
            "decoder": {"type": "Metaspace", "replacement": METASPACE, "prepend_scheme": "always", "split": False},
            "model": {"type": "WordLevel", "vocab": dict(self.ids), "unk_token": UNK},
        }

    def tokenizer_config(self, prompt_templates: dict, model_max_length: int) -> dict:
        return {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": BOS, "eos_token": EOS, "pad_token": PAD, "unk_token": UNK,
            "image_token": IMAGE, "answer_token": ANSWER,
            "additional_special_tokens": [IMAGE, ANSWER],
            "clean_up_tokenization_spaces": False,
            "model_max_length": model_max_length,
            "prompt_templates": prompt_templates,
            "added_tokens_decoder": {str(self.ids[t]): {"content": t, "special": True, "normalized": False,
                                                          "lstrip": False, "rstrip": False, "single_word": False}
                                     for t in SPECIAL_TOKENS},
        }

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_hf_json(), f, ensure_ascii=False, indent=1)

    @classmethod
    def from_file(cls, path: str) -> "WordTokenizer":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        vocab = data["model"]["vocab"]
        return cls([t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])])
