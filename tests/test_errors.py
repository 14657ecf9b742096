"""The product's own errors share one base, ``RagError``, and keep the builtin base they had, so that
the CLI and the API map them in one place and older ``except ValueError`` catches still hold."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from rag.core.errors import RagError

ROOT = Path(__file__).resolve().parents[1]
BUILTIN_BASES = {"Exception", "ValueError", "RuntimeError", "LookupError", "KeyError", "OSError", "TypeError"}
#: signals that never reach a person: the generative composer's English fallback reasons, and
#: the OpenAI protocol's 400 (its router answers it with the parameter it names)
NOT_PRODUCT_ERRORS = {"rag.answer.composers.generative.VerificationError",
                      "rag.answer.composers.generative.MalformedReply", "rag.api.openai_compat.Unsupported"}


def _error_classes() -> list[str]:
    """Every class in ``rag/`` whose own base is a builtin exception, by dotted name."""
    found = []
    for path in sorted((ROOT / "rag").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, ast.ClassDef) and {getattr(b, "id", None) for b in node.bases} & BUILTIN_BASES:
                found.append(f"{module}.{node.name}")
    return found


def test_the_scan_finds_the_known_errors():
    names = _error_classes()
    assert {"rag.ingest.corpus.CorpusError", "rag.stores.index.IndexUnavailable", "rag.core.locking.IndexBusy",
            "rag.embed.embedder.ModelLoadError", "rag.answer.selection.UnknownReport"} <= set(names)


@pytest.mark.parametrize("name", [n for n in _error_classes()
                                  if n not in NOT_PRODUCT_ERRORS and n != "rag.core.errors.RagError"])
def test_every_product_error_is_a_rag_error_with_its_builtin_base(name):
    module, _, cls_name = name.rpartition(".")
    cls = getattr(importlib.import_module(module), cls_name)
    assert issubclass(cls, RagError), f"{name} should subclass RagError"
    assert any(b is not RagError and issubclass(b, Exception) for b in cls.__bases__), name


def test_a_rag_error_reaching_the_api_is_a_503_without_its_details(settings, caplog):
    from fastapi.testclient import TestClient

    from rag.core.locking import IndexBusy
    from ui.server import create_server

    class Busy:
        def search(self, *args, **kwargs):
            raise IndexBusy("build lock on /srv/index held")

    with TestClient(create_server(settings, Busy()), raise_server_exceptions=False) as client:
        r = client.get("/api/search", params={"q": "就业"})
    assert r.status_code == 503 and r.json()["error"]["code"] == "unavailable"
    assert "/srv" not in r.text and "/srv/index" in caplog.text
