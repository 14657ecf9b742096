"""The code's shape, checked statically: short functions, each regular expression written once,
and dependencies that point one way, down the layer table (no import runs up a layer or round)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(p for d in ("rag", "ui") for p in (ROOT / d).rglob("*.py"))
MAX_LINES = 60
MAX_CLASS_LINES = 250
MAX_MODULE_LINES = 500
#: the layers, lowest first. A module imports only modules of its own layer or of layers below it
#: (``rag`` itself is the lazy ``from rag import Pipeline`` facade, just above the pipeline).
LAYERS = ("rag.core", "rag.genre", "rag.ingest", "rag.embed", "rag.stores", "rag.commitments", "rag.answer",
          "rag.pipeline", "rag", "rag.evaluation", "rag.api", "rag.bench", "ui", "rag.cli")
_RE_CALLS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}


def _trees():
    for path in FILES:
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text("utf-8"))


def test_no_function_over_sixty_lines():
    long = [f"{rel}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
            for rel, tree in _trees() for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > MAX_LINES]
    assert not long, long


def test_no_class_over_two_hundred_fifty_lines():
    long = [f"{rel}:{n.lineno} {n.name} ({n.end_lineno - n.lineno + 1} lines)"
            for rel, tree in _trees() for n in ast.walk(tree)
            if isinstance(n, ast.ClassDef) and n.end_lineno - n.lineno + 1 > MAX_CLASS_LINES]
    assert not long, long


def test_no_module_over_five_hundred_lines():
    long = [f"{p.relative_to(ROOT)} ({n} lines)" for p in FILES
            if (n := len(p.read_text("utf-8").splitlines())) > MAX_MODULE_LINES]
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
        if not rel.startswith("rag/") or rel == "rag/cli/serve.py":  # the CLI starts the joined server
            continue
        for n in ast.walk(tree):
            mods = [a.name for a in n.names] if isinstance(n, ast.Import) else \
                [n.module or ""] if isinstance(n, ast.ImportFrom) else []
            bad += [f"{rel}:{n.lineno} {m}" for m in mods if m == "ui" or m.startswith("ui.")]
    assert not bad, bad


def _module_names() -> dict[str, Path]:
    names = {}
    for path in FILES:
        parts = path.relative_to(ROOT).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Every import of a module, top-level or inside a function, resolved to the modules it loads."""
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for n in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(n, ast.Import):
                targets = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom) and n.module and not n.level:
                targets = [f"{n.module}.{a.name}" if f"{n.module}.{a.name}" in modules else n.module
                           for a in n.names]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges[name].add(target)
    return edges


def layer_of(module: str) -> int:
    return LAYERS.index(max((x for x in LAYERS if module == x or module.startswith(x + ".")), key=len))


def test_every_module_has_a_layer():
    assert all(layer_of(m) >= 0 for m in _module_names())


@pytest.mark.parametrize(("module", "layer"), [("rag.core.types", 0), ("rag.answer.composers.base", 6),
                                               ("rag.pipeline", 7), ("rag", 8), ("ui.app", 12)])
def test_layer_table_reads_packages_and_modules(module, layer):
    assert layer_of(module) == layer


def test_no_import_runs_up_a_layer():
    modules = _module_names()
    up = [f"{m} ({LAYERS[layer_of(m)]}) imports {t} ({LAYERS[layer_of(t)]})"
          for m, targets in _imports(modules).items() for t in sorted(targets) if layer_of(t) > layer_of(m)]
    assert not up, up


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                part = stack[stack.index(node):]
                del stack[stack.index(node):]
                if len(part) > 1:
                    found.append(sorted(part))
    return found


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    assert not _cycles(_imports(_module_names()))
