"""The store protocol shared by every engine."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.core.types import Document, Unit
from rag.stores.index import IndexUnavailable, Manifest

if TYPE_CHECKING:
    from rag.core.settings import Settings


class StoreUnavailable(IndexUnavailable):
    """The engine cannot be reached or is misconfigured; the message is bilingual and names the URI."""


@dataclass(frozen=True)
class Candidates:
    """One retriever's best units, best first: positions in ``Store.units`` and their raw scores."""

    ids: np.ndarray  # int64
    scores: np.ndarray  # float32; higher is better

    @classmethod
    def empty(cls) -> Candidates:
        return cls(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32))

    def __len__(self) -> int:
        return int(self.ids.size)


class Store(Protocol):
    """A loaded index: the published build (documents, units, manifest) in memory and an engine that
    answers candidate searches, optionally restricted to some reports (``doc_ids``)."""

    name: str
    path: Path
    manifest: Manifest
    documents: list[Document]
    units: list[Unit]

    def dense_candidates(self, vector: np.ndarray, k: int, *, doc_ids: Collection[str] | None = None) -> Candidates: ...

    def bm25_candidates(self, text: str, k: int, *, doc_ids: Collection[str] | None = None) -> Candidates: ...

    def document(self, doc_id: str) -> Document | None: ...

    def describe(self) -> dict:
        """What ``/api/health`` and ``rag info`` show: the engine and where it is (never a token)."""
        ...

    def check(self) -> None:
        """Raises ``StoreUnavailable`` when the engine stopped answering (health probes)."""
        ...


def builds_dir(settings: Settings) -> Path:
    """Where the store's published builds and ``CURRENT`` pointer live: the index
    folder for FAISS, a ``milvus`` folder inside it for Milvus (so switching stores does not
    invalidate the other's build)."""
    return settings.index_dir if settings.store == "faiss" else settings.index_dir / "milvus"
