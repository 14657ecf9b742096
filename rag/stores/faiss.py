"""The embedded default: FAISS inner-product search and bm25s over jieba tokens, in process.

Vectors are searched as fp16 (a scalar-quantised FAISS index, half the memory of fp32), and the
candidates re-scored on the exact fp32 rows, memory-mapped from disk so only the rows read stay
in the page cache: dense scores are exact, and recall against exact search is checked by
``rag bench`` (``recall_at_10``).

The build folder (vectors, BM25 postings, unit table, documents, manifest) is written by
``rag.stores.index.IndexBuilder`` and published with one atomic rename."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from rag.genre.text import tokenize
from rag.stores.base import Candidates
from rag.stores.index import IndexStore

INDEX_TYPE = "SQfp16 + exact fp32 re-scoring"


#: candidates the fp16 index proposes per dense result wanted (and at least k + RESCORE_MIN): fp16
#: scores differ from exact ones by about 1e-3, far less than the gap a 4x margin leaves
RESCORE, RESCORE_MIN = 4, 32
#: a report filter selecting at most this many units is searched exactly on their rows alone (the
#: filter before the search: ~40 reports, 15 MB of rows read), never by scanning the whole index
EXACT_SELECTION_MAX = 10_000


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
        """The fp16 index proposes ``RESCORE`` times ``k`` candidates (only among ``doc_ids``' units when
        given: the filter runs inside the search), which are re-scored exactly on the fp32 rows, so
        the scores and order are those of exact search whenever the true top ``k`` are proposed."""
        import faiss

        q = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(1, -1))
        params = None
        n = self.vectors.ntotal
        if doc_ids is not None:
            among = self._selected(doc_ids)
            if not among.size:
                return Candidates.empty()
            if among.size <= EXACT_SELECTION_MAX:  # a few reports: their exact rows are the search
                return self._exact_top(among, q[0], k)
            # faiss's stubs leave out the keyword its SWIG wrapper takes
            params, n = faiss.SearchParameters(sel=faiss.IDSelectorBatch(among)), among.size  # type: ignore[call-arg]
        _, ids = self.vectors.search(q, min(max(k * RESCORE, k + RESCORE_MIN), n), params=params)
        return self._exact_top(np.sort(ids[0][ids[0] >= 0]), q[0], k)

    def _exact_top(self, ids: np.ndarray, q: np.ndarray, k: int) -> Candidates:
        """The best ``k`` of ``ids`` (ascending) by their exact fp32 inner product with ``q``."""
        sims = np.asarray(self.exact[ids] @ q, dtype=np.float32)
        best = np.argsort(-sims, kind="stable")[:k]  # ties keep unit order, as exact flat search does
        return Candidates(ids[best].astype(np.int64), sims[best])

    def bm25_candidates(self, text: str, k: int, *, doc_ids: Collection[str] | None = None) -> Candidates:
        tokens = [t for t in tokenize(text) if t in self.bm25.vocab_dict]
        if not tokens:
            return Candidates.empty()
        scores = np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)
        return top_candidates(scores, k, None if doc_ids is None else self._selected(doc_ids))

    def describe(self) -> dict:
        return {"store": "faiss", "path": str(self.path), "index_type": INDEX_TYPE}

    def check(self) -> None:
        """In process: nothing can go away after loading."""
