"""Dense, BM25 and hybrid retrievers over one ``IndexStore``.

All three share the same phrasing priors (time scope, figures, rankings), so comparing them in
an evaluation compares the matching, not the extras.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.corpus import plan_year
from rag.genre.lexicon import Lexicon
from rag.genre.text import DIGIT, has_figure_in, tokenize
from rag.query import QueryPart
from rag.types import Document, ScoredUnit, Unit

if TYPE_CHECKING:
    from rag.embedding import Embedder
    from rag.index import IndexStore

class Retriever(Protocol):
    def retrieve(self, part: QueryPart, k: int, *, doc_ids: Collection[str] | None = None) -> list[ScoredUnit]: ...


@dataclass(frozen=True)
class Priors:
    """Multiplicative nudges from how a question is phrased; tuned on the dev set."""

    scope_match: float = 0.3
    scope_mismatch: float = 0.5
    number: float = 0.25
    rank: float = 0.5
    chapter_heading: float = 2.0
    chapter_body: float = 0.5
    measure: float = 0.5


class UnitFeatures:
    """Per-unit facts the priors need, computed once when the index is loaded."""

    def __init__(self, units: list[Unit], lexicon: Lexicon, documents: list[Document]) -> None:
        years = {d.id: plan_year(d) for d in documents}
        self.scope = np.array([lexicon.section_scope(u.section_path, years.get(u.doc_id)) or "" for u in units])
        self.has_digit = np.array([bool(DIGIT.search(u.text)) for u in units])
        self.has_rank = np.array([lexicon.has_rank(u.text) for u in units])
        self.texts = [u.text for u in units]
        top = [u.section_id.split(".")[0] for u in units]
        self.chapter = np.array([int(t) if t.isdigit() else 0 for t in top])  # number of the top-level chapter
        self.is_heading = np.array([u.kind == "heading" for u in units])
        self.plan_year = np.array([years.get(u.doc_id) or 0 for u in units])  # of each unit's report; 0 unknown
        self.doc = np.array([u.doc_id for u in units])

    def only(self, scores: np.ndarray, doc_ids: Collection[str] | None) -> np.ndarray:
        """``scores`` with every unit outside ``doc_ids`` ranked last (None: every report)."""
        if doc_ids is None:
            return scores
        return np.where(np.isin(self.doc, list(doc_ids)), scores, -np.inf).astype(scores.dtype)

    def prior(self, part: QueryPart, priors: Priors) -> np.ndarray:
        wanted = np.full(len(self.scope), part.scope or "", dtype="<U6")  # "review" fits; "" = no preference
        if part.year:  # an explicit year decides, per report: its plan year, or the years before it
            dated = self.plan_year > 0
            wanted[dated] = np.where(part.year >= self.plan_year[dated], "plan", "review")
        w = np.ones(len(self.scope), dtype=np.float32)
        known = (wanted != "") & (self.scope != "")
        w[known & (self.scope == wanted)] *= 1 + priors.scope_match
        w[known & (self.scope != wanted)] *= 1 - priors.scope_mismatch
        if part.wants_number:
            w[self.has_digit] *= 1 + priors.number
        if part.wants_rank:
            w[self.has_rank] *= 1 + priors.rank
        if part.chapter:
            inside = self.chapter == part.chapter
            w[inside] *= 1 + priors.chapter_body
            w[inside & self.is_heading] *= 1 + priors.chapter_heading
        if part.measure:
            w[[has_figure_in(t, part.measure) for t in self.texts]] *= 1 + priors.measure
        return w


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.argpartition(-scores, k - 1)[:k]
    return idx[np.argsort(-scores[idx], kind="stable")]


class BM25Retriever:
    def __init__(self, store: IndexStore, features: UnitFeatures, priors: Priors = Priors()) -> None:
        self.store, self.features, self.priors = store, features, priors

    def scores(self, part: QueryPart) -> np.ndarray:
        tokens = [t for t in tokenize(part.search_text) if t in self.store.bm25.vocab_dict]
        if not tokens:
            return np.zeros(len(self.store.units), dtype=np.float32)
        return np.asarray(self.store.bm25.get_scores(tokens), dtype=np.float32)

    def retrieve(self, part: QueryPart, k: int, *, doc_ids: Collection[str] | None = None) -> list[ScoredUnit]:
        raw = self.scores(part)
        fused = self.features.only(raw * self.features.prior(part, self.priors), doc_ids)
        return [ScoredUnit(self.store.units[i], float(fused[i]), bm25=float(raw[i])) for i in _top(fused, k)]


class DenseRetriever:
    def __init__(self, store: IndexStore, embedder: Embedder, features: UnitFeatures,
                 priors: Priors = Priors()) -> None:
        self.store, self.embedder, self.features, self.priors = store, embedder, features, priors

    def scores(self, part: QueryPart) -> np.ndarray:
        """Cosine to every unit (exhaustive: the corpus is small; see docs/scaling.md beyond that)."""
        q = self.embedder.encode_queries([part.search_text])
        n = self.store.vectors.ntotal
        sims, ids = self.store.vectors.search(q, n)
        out = np.zeros(n, dtype=np.float32)
        out[ids[0]] = sims[0]
        return out

    def retrieve(self, part: QueryPart, k: int, *, doc_ids: Collection[str] | None = None) -> list[ScoredUnit]:
        raw = self.scores(part)
        fused = self.features.only(raw * self.features.prior(part, self.priors), doc_ids)
        return [ScoredUnit(self.store.units[i], float(fused[i]), dense=float(raw[i])) for i in _top(fused, k)]


class HybridRetriever:
    """Fuses dense and BM25 scores: reciprocal ranks (``rrf``) or min-max-scaled scores (``linear``)."""

    def __init__(self, dense: DenseRetriever, bm25: BM25Retriever, *, fusion: str = "rrf", rrf_k: int = 60,
                 dense_weight: float = 1.0, bm25_weight: float = 1.0) -> None:
        if fusion not in ("rrf", "linear"):
            raise ValueError(f"unknown fusion {fusion!r}: use rrf or linear")
        self.dense, self.bm25 = dense, bm25
        self.fusion, self.rrf_k = fusion, rrf_k
        self.dense_weight, self.bm25_weight = dense_weight, bm25_weight

    def fuse(self, dense: np.ndarray, bm25: np.ndarray) -> np.ndarray:
        if self.fusion == "rrf":
            def ranks(s: np.ndarray) -> np.ndarray:
                r = np.empty(s.size, dtype=np.float32)
                r[np.argsort(-s, kind="stable")] = np.arange(1, s.size + 1)
                return r

            return (self.dense_weight / (self.rrf_k + ranks(dense))
                    + self.bm25_weight / (self.rrf_k + ranks(bm25))) * self.rrf_k

        def scaled(s: np.ndarray) -> np.ndarray:
            lo, hi = float(s.min()), float(s.max())
            return (s - lo) / (hi - lo) if hi > lo else np.zeros_like(s)

        return self.dense_weight * scaled(dense) + self.bm25_weight * scaled(bm25)

    def retrieve(self, part: QueryPart, k: int, *, doc_ids: Collection[str] | None = None) -> list[ScoredUnit]:
        """With ``doc_ids``, other reports rank below every unit of them before fusion, so the ranks
        fused are ranks among the reports asked about."""
        dense, bm25 = self.dense.scores(part), self.bm25.scores(part)
        features = self.dense.features
        if doc_ids is not None:
            inside = np.isin(features.doc, list(doc_ids))
            dense, bm25 = (np.where(inside, s, s.min() - 1).astype(s.dtype) for s in (dense, bm25))
        fused = features.only(self.fuse(dense, bm25) * features.prior(part, self.dense.priors), doc_ids)
        units = self.dense.store.units
        return [ScoredUnit(units[i], float(fused[i]), dense=float(dense[i]), bm25=float(bm25[i]))
                for i in _top(fused, k)]
