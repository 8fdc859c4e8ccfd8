"""The CSV tables of the adapters (CT-RATE's reports and labels, M3D-VQA): the required columns checked before
any row is read, rows numbered as a spreadsheet shows them (the header is row 1), and a refused row named by file,
row and key."""

from __future__ import annotations

import contextlib
import csv
import os
from typing import Iterator, Sequence


@contextlib.contextmanager
def csv_rows(path: str, required: Sequence[str]) -> Iterator[tuple[list[str], Iterator[tuple[int, dict]]]]:
    """``with csv_rows(path, required) as (columns, rows)``: the header's columns and (row number, row) pairs of a
    UTF-8 CSV file. A missing required column is a ValueError naming the file and the columns it has."""
    name = os.path.basename(path)
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{name}: missing column(s) {', '.join(missing)} (columns: {reader.fieldnames})")
        yield list(reader.fieldnames or []), enumerate(reader, 2)


def cell(row: dict, column: str) -> str:
    """A cell's text without surrounding white space ('' for an empty or absent cell)."""
    return (row.get(column) or "").strip()


def row_where(path: str, n: int, key: str) -> str:
    """``train_reports.csv row 7 (train_3_a_1.nii.gz)``: where a refused row is (``?`` when it has no key)."""
    return f"{os.path.basename(path)} row {n} ({key or '?'})"
