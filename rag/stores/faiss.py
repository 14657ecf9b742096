"""The embedded default: exact FAISS inner-product search and bm25s over jieba tokens, in process.

The build folder (vectors, BM25 postings, unit table, documents, manifest) is written by
``rag.index.IndexBuilder`` and published with one atomic rename."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from rag.index import IndexStore
from rag.genre.text import tokenize
from rag.stores.base import Candidates


def top_candidates(scores: np.ndarray, k: int, among: np.ndarray | None = None) -> Candidates:
    """The ``k`` best positive scores (optionally only at positions ``among``), best first; ties
    keep unit order, as a stable sort of the whole vector would."""
    ids = np.flatnonzero(scores > 0) if among is None else among[scores[among] > 0]
    if ids.size > k:
        ids = np.sort(ids[np.argpartition(-scores[ids], k - 1)[:k]])
    ids = ids[np.argsort(-scores[ids], kind="stable")]
    return Candidates(ids.astype(np.int64), scores[ids].astype(np.float32))


@dataclass
class FaissStore(IndexStore):
    """``IndexStore`` plus candidate searches; report filters select unit ids inside FAISS."""

    name: str = field(default="faiss", init=False)

    @cached_property
    def _doc_units(self) -> dict[str, np.ndarray]:
        out: dict[str, list[int]] = {}
        for i, u in enumerate(self.units):
            out.setdefault(u.doc_id, []).append(i)
        return {d: np.asarray(ids, dtype=np.int64) for d, ids in out.items()}

    def _selected(self, doc_ids: Collection[str]) -> np.ndarray:
        parts = [self._doc_units[d] for d in doc_ids if d in self._doc_units]
        return np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def dense_candidates(self, vector: np.ndarray, k: int, *, doc_ids: Collection[str] | None = None) -> Candidates:
        import faiss

        q = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        params = None
        n = self.vectors.ntotal
        if doc_ids is not None:
            among = self._selected(doc_ids)
            if not among.size:
                return Candidates.empty()
            params, n = faiss.SearchParameters(sel=faiss.IDSelectorBatch(among)), among.size
        sims, ids = self.vectors.search(q, min(k, n), params=params)
        keep = ids[0] >= 0
        return Candidates(ids[0][keep].astype(np.int64), sims[0][keep].astype(np.float32))

    def bm25_candidates(self, text: str, k: int, *, doc_ids: Collection[str] | None = None) -> Candidates:
        tokens = [t for t in tokenize(text) if t in self.bm25.vocab_dict]
        if not tokens:
            return Candidates.empty()
        scores = np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)
        return top_candidates(scores, k, None if doc_ids is None else self._selected(doc_ids))

    def describe(self) -> dict:
        return {"store": "faiss", "path": str(self.path), "index_type": "IndexFlatIP"}

    def check(self) -> None:
        """In process: nothing can go away after loading."""
