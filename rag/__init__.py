"""Cited question answering over government work reports: ``from rag import Pipeline``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rag.core.types import Answer, Citation, Document, Section, Unit
    from rag.pipeline import Pipeline

__all__ = ["Answer", "Citation", "Document", "Pipeline", "Section", "Unit"]


def __getattr__(name: str) -> Any:
    """Lazy, so that ``rag --help`` does not import torch."""
    if name == "Pipeline":
        from rag.pipeline import Pipeline

        return Pipeline
    if name in __all__:
        from rag.core import types

        return getattr(types, name)
    raise AttributeError(name)
