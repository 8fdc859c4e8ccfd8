"""The project's vocabulary: one word-level tokenizer built over every text a stage trains on (README,
Deviations 6: the stage-0 scenes' texts, the CT reports and questions, the report prompts)."""

from __future__ import annotations

from .tokenizer import WordTokenizer


def build_tokenizer() -> WordTokenizer:
    from . import reports, scenes2d

    texts = list(reports.all_texts()) + list(scenes2d.all_texts()) + list(reports.REPORT_PROMPTS)
    return WordTokenizer.build(texts)
