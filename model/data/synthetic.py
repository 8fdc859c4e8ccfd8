"""The synthetic benchmark's ``dataset.jsonl`` (model/synth.py, contract C5): one line per sample, ``image``
relative to the file's folder."""

from __future__ import annotations

import json
import os

from . import DatasetIndex, Rejected, Sample

REQUIRED = ("id", "image", "task", "question")


def read_synthetic(path: str) -> DatasetIndex:
    root = os.path.dirname(os.path.abspath(path))
    name = os.path.basename(path)
    samples, rejected, seen = [], [], set()
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            where = f"{name} line {n}"
            try:
                line = json.loads(raw)
            except json.JSONDecodeError as e:
                rejected.append(Rejected(where, f"not JSON ({e.msg})"))
                continue
            if not isinstance(line, dict):
                rejected.append(Rejected(where, "not a JSON object"))
                continue
            missing = [k for k in REQUIRED if not isinstance(line.get(k), str) or not line.get(k)]
            where = f"{where} ({line.get('id', '?')})"
            if missing:
                rejected.append(Rejected(where, f"missing {', '.join(missing)}"))
                continue
            task = line["task"]
            answer = line.get("report") if task == "report" else line.get("answer")
            if task not in ("report", "vqa") or not isinstance(answer, str) or not answer.strip():
                rejected.append(Rejected(where, f"task {task!r} without its {'report' if task == 'report' else 'answer'}"))
                continue
            if line["id"] in seen:
                rejected.append(Rejected(where, "duplicate id"))
                continue
            image = os.path.join(root, line["image"])
            if not os.path.isfile(image):
                rejected.append(Rejected(where, f"volume not found: {line['image']}"))
                continue
            seen.add(line["id"])
            meta = {k: line[k] for k in ("qtype", "answer_type", "choices") if k in line}
            meta["row"] = n
            samples.append(Sample(id=line["id"], image=image, task=task, question=line["question"], answer=answer,
                                  case=str(line.get("case", line["image"])), labels=line.get("labels") or {},
                                  meta=meta))
    return DatasetIndex("synthetic", samples, rejected)
