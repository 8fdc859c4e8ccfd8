"""Imports point one way (issue 10, item 4): ``model.train`` is the command and nothing in ``model/`` imports it;
``model.export`` (which training calls) does not import it back."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

MODEL = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ROOT = os.path.dirname(MODEL)


def imported_modules(path: str) -> set[str]:
    """``model.…`` modules a file imports, at any depth (function-local imports too)."""
    rel = os.path.relpath(os.path.dirname(path), MODEL)
    package = "model" if rel == "." else "model." + rel.replace(os.sep, ".")
    out = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_no_module_of_model_imports_the_training_command():
    importers = []
    for folder, dirs, files in os.walk(MODEL):
        dirs[:] = [d for d in dirs if d != "runs"]  # model/runs/: git-ignored run folders and their scratch scripts
        if os.path.basename(folder) == "tests":
            continue
        for f in files:
            path = os.path.join(folder, f)
            if f.endswith(".py") and f != "train.py" and "model.train" in imported_modules(path):
                importers.append(os.path.relpath(path, ROOT))
    assert importers == []


def test_importing_export_does_not_import_train():
    code = "import sys, model.export; print(sorted(m for m in sys.modules if m in ('model.train', 'model.stages')))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
