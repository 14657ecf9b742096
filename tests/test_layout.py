"""The code's shape, checked statically: short functions, each regular expression written once,
and dependencies that point one way (``rag/`` never imports ``ui/``, except the CLI that serves)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(p for d in ("rag", "ui") for p in (ROOT / d).rglob("*.py"))
MAX_LINES = 60
_RE_CALLS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}


def _trees():
    for path in FILES:
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text("utf-8"))


def test_no_function_over_sixty_lines():
    long = [f"{rel}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
            for rel, tree in _trees() for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > MAX_LINES]
    assert not long, long


def test_no_regular_expression_written_in_two_modules():
    where: dict[str, set[str]] = defaultdict(set)
    for rel, tree in _trees():
        for n in ast.walk(tree):
            if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _RE_CALLS
                    and isinstance(n.func.value, ast.Name) and n.func.value.id == "re" and n.args
                    and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)):
                where[n.args[0].value].add(rel)
    twice = {p: sorted(m) for p, m in where.items() if len(m) > 1}
    assert not twice, twice


def test_rag_does_not_import_ui():
    bad = []
    for rel, tree in _trees():
        if not rel.startswith("rag/") or rel == "rag/cli.py":  # the CLI starts the joined server
            continue
        for n in ast.walk(tree):
            mods = [a.name for a in n.names] if isinstance(n, ast.Import) else \
                [n.module or ""] if isinstance(n, ast.ImportFrom) else []
            bad += [f"{rel}:{n.lineno} {m}" for m in mods if m == "ui" or m.startswith("ui.")]
    assert not bad, bad
