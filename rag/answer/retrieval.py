"""Dense, BM25 and hybrid retrievers over one ``Store`` (FAISS or Milvus).

Each store returns its top ``candidate_k`` units per retriever; the hybrid fuses the two
candidate lists by reciprocal rank, and all three apply the same phrasing priors (time scope,
figures, rankings) to candidates only, so comparing them in an evaluation compares the
matching, not the extras, and no step scores every unit of a large corpus.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.answer.query import QueryPart
from rag.core.types import Document, ScoredUnit, Unit
from rag.genre.lexicon import Lexicon
from rag.genre.text import DIGIT, has_figure_in
from rag.ingest.corpus import plan_year
from rag.stores.base import Candidates, Store

if TYPE_CHECKING:
    from rag.embed.embedder import Embedder


class Retriever(Protocol):
    def retrieve(self, part: QueryPart, k: int, *, doc_ids: Collection[str] | None = None) -> list[ScoredUnit]:
        """The ``k`` best units for one question part; ``doc_ids`` limits the search to those
        reports (``None``: all), inside the engine."""
        ...


@dataclass(frozen=True)
class Priors:
    """Multiplicative nudges from how a question is phrased; tuned on the dev set."""

    scope_match: float = 0.3  # × (1 + this): a unit in the part asked about (review or plan, or by year)
    scope_mismatch: float = 0.5  # × (1 − this): a unit in the other part
    number: float = 0.25  # a figure asked («多少»): a unit with a digit
    rank: float = 0.5  # a ranking asked («第几»): a unit stating a rank
    chapter_heading: float = 2.0  # «第三部分讲什么»: that chapter's own heading, on top of ``chapter_body``
    chapter_body: float = 0.5  # ... any unit inside that chapter
    measure: float = 0.5  # a unit asked («多少公里»): a unit with a figure in it


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
        #: per measure asked ("公里", "%"), whether each unit states a figure in it: -1 not read yet.
        #: Read lazily, for candidates only, and kept: the same units are candidates again and again.
        self._figure_in: dict[str, np.ndarray] = {}

    def figure_in(self, measure: str, ids: np.ndarray) -> np.ndarray:
        """Whether the units at positions ``ids`` state a figure counted in ``measure``."""
        known = self._figure_in.get(measure)
        if known is None:
            known = self._figure_in.setdefault(measure, np.full(len(self.texts), -1, dtype=np.int8))
        todo = ids[known[ids] < 0]
        if todo.size:
            known[todo] = [has_figure_in(self.texts[i], measure) for i in todo.tolist()]
        return known[ids] == 1

    def prior(self, part: QueryPart, priors: Priors, ids: np.ndarray) -> np.ndarray:
        """The multiplier of each unit at positions ``ids`` (the candidates)."""
        w = np.ones(ids.size, dtype=np.float32)
        if part.scope or part.year:  # else no unit has a wanted part, and nothing matches or mismatches
            scope, plan_year = self.scope[ids], self.plan_year[ids]
            wanted = np.full(ids.size, part.scope or "", dtype="<U6")  # "review" fits; "" = no preference
            if part.year:  # an explicit year decides, per report: its plan year, or the years before it
                dated = plan_year > 0
                wanted[dated] = np.where(part.year >= plan_year[dated], "plan", "review")
            known = (wanted != "") & (scope != "")
            if part.year and ids.size:  # a unit naming the asked year is about it, in whatever part it stands
                # («今后五年…到2026年» in the review)
                known &= ~np.array([str(part.year) in self.texts[i] for i in ids])
            w[known & (scope == wanted)] *= 1 + priors.scope_match
            w[known & (scope != wanted)] *= 1 - priors.scope_mismatch
        if part.wants_number:
            w[self.has_digit[ids]] *= 1 + priors.number
        if part.wants_rank:
            w[self.has_rank[ids]] *= 1 + priors.rank
        if part.chapter:
            inside = self.chapter[ids] == part.chapter
            w[inside] *= 1 + priors.chapter_body
            w[inside & self.is_heading[ids]] *= 1 + priors.chapter_heading
        if part.measure and ids.size:
            w[self.figure_in(part.measure, ids)] *= 1 + priors.measure
        return w


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    k = min(k, int(np.isfinite(scores).sum()))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.argpartition(-scores, k - 1)[:k]
    return idx[np.argsort(-scores[idx], kind="stable")]


def _ranked(store: Store, features: UnitFeatures, priors: Priors, part: QueryPart, c: Candidates,
            k: int) -> list[tuple[Unit, float, float]]:
    """The ``k`` best of one candidate list once the phrasing priors weigh in: each unit with its
    weighed and its raw score (what the BM25 and the dense retriever share)."""
    fused = c.scores * features.prior(part, priors, c.ids)
    return [(store.units[c.ids[i]], float(fused[i]), float(c.scores[i])) for i in _top(fused, k)]


class BM25Retriever:
    def __init__(self, store: Store, features: UnitFeatures, priors: Priors = Priors(), *,
                 candidate_k: int = 100) -> None:
        self.store, self.features, self.priors, self.candidate_k = store, features, priors, candidate_k

    def candidates(self, part: QueryPart, *, doc_ids: Collection[str] | None = None) -> Candidates:
        return self.store.bm25_candidates(part.search_text, self.candidate_k, doc_ids=doc_ids)

    def retrieve(self, part: QueryPart, k: int, *, doc_ids: Collection[str] | None = None) -> list[ScoredUnit]:
        ranked = _ranked(self.store, self.features, self.priors, part, self.candidates(part, doc_ids=doc_ids), k)
        return [ScoredUnit(unit, fused, bm25=raw) for unit, fused, raw in ranked]


class DenseRetriever:
    def __init__(self, store: Store, embedder: Embedder, features: UnitFeatures,
                 priors: Priors = Priors(), *, candidate_k: int = 100) -> None:
        self.store, self.embedder, self.features, self.priors = store, embedder, features, priors
        self.candidate_k = candidate_k

    def candidates(self, part: QueryPart, *, doc_ids: Collection[str] | None = None) -> Candidates:
        q = self.embedder.encode_queries([part.search_text])
        return self.store.dense_candidates(q[0], self.candidate_k, doc_ids=doc_ids)

    def retrieve(self, part: QueryPart, k: int, *, doc_ids: Collection[str] | None = None) -> list[ScoredUnit]:
        ranked = _ranked(self.store, self.features, self.priors, part, self.candidates(part, doc_ids=doc_ids), k)
        return [ScoredUnit(unit, fused, dense=raw) for unit, fused, raw in ranked]


class HybridRetriever:
    """Fuses the dense and BM25 candidate lists: reciprocal ranks (``rrf``) or min-max-scaled
    scores (``linear``). Units missing from one list rank after its last candidate (and score
    its minimum), so a short list never favours the units it left out."""

    def __init__(self, dense: DenseRetriever, bm25: BM25Retriever, *, fusion: str = "rrf", rrf_k: int = 60,
                 dense_weight: float = 1.0, bm25_weight: float = 1.0) -> None:
        if fusion not in ("rrf", "linear"):
            raise ValueError(f"unknown fusion {fusion!r}: use rrf or linear")
        self.dense, self.bm25 = dense, bm25
        self.fusion, self.rrf_k = fusion, rrf_k
        self.dense_weight, self.bm25_weight = dense_weight, bm25_weight

    def fuse(self, dense: Candidates, bm25: Candidates) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The union of both lists (in unit order, so ties break as before) with fused scores and
        each list's raw score (NaN where the unit was not a candidate)."""
        listed = (dense.ids.tolist(), bm25.ids.tolist())
        # np.union1d's result and the ranks built in Python: right after the encode, with the CPU
        # caches cold, each numpy call on these short arrays cost more than the loops (fuse 150 → 95 µs)
        order = sorted(set(listed[0]).union(listed[1]))
        ids = np.array(order, dtype=np.int64)
        raw = []  # (each unit's position in the list or -1, the list)
        for c, own in zip((dense, bm25), listed, strict=True):
            pos = {u: i for i, u in enumerate(own)}
            raw.append(([pos.get(u, -1) for u in order], c))
        if self.fusion == "rrf":
            fused = np.zeros(ids.size, dtype=np.float32)
            for (where, c), weight in zip(raw, (self.dense_weight, self.bm25_weight), strict=True):
                # units the list left out rank after it in unit order, as a stable sort of a full
                # score vector ranks its zeros: with every unit a candidate, the fusion is exact
                missed, rank = len(c), []
                for w in where:
                    if w < 0:
                        missed += 1
                    rank.append(w + 1 if w >= 0 else missed)
                fused += weight / (self.rrf_k + np.array(rank, dtype=np.float32))
            fused *= self.rrf_k
        else:
            fused = np.zeros(ids.size, dtype=np.float32)
            for (where, c), weight in zip(raw, (self.dense_weight, self.bm25_weight), strict=True):
                if not len(c):
                    continue
                lo, hi = float(c.scores.min()), float(c.scores.max())
                at = np.array(where, dtype=np.int64)
                s = np.where(at >= 0, c.scores[np.maximum(at, 0)], lo)
                fused += weight * ((s - lo) / (hi - lo) if hi > lo else np.zeros_like(s))
        scores = [_listed_scores(where, c) for where, c in raw]
        return ids, fused, scores[0], scores[1]

    def retrieve(self, part: QueryPart, k: int, *, doc_ids: Collection[str] | None = None) -> list[ScoredUnit]:
        """With ``doc_ids`` both candidate lists come from those reports only (inside the store), so
        the ranks fused are ranks among the reports asked about."""
        ids, fused, dense, bm25 = self.fuse(self.dense.candidates(part, doc_ids=doc_ids),
                                            self.bm25.candidates(part, doc_ids=doc_ids))
        fused = fused * self.dense.features.prior(part, self.dense.priors, ids)
        units = self.dense.store.units
        top = _top(fused, k).tolist()
        # as Python floats (the same values) before indexing: numpy scalars cost more per item
        ids, fused, dense, bm25 = ids.tolist(), fused.tolist(), dense.tolist(), bm25.tolist()
        return [ScoredUnit(units[ids[i]], fused[i], dense=_opt(dense[i]), bm25=_opt(bm25[i])) for i in top]


def _listed_scores(where: list[int], c: Candidates) -> np.ndarray:
    """Each unit's raw score in ``c`` (NaN where it was no candidate), built in Python: a
    handful of numpy calls on short arrays cost more than the loop right after the encode."""
    if not len(c):
        return np.full(len(where), np.nan)
    listed = c.scores.tolist()
    return np.array([listed[w] if w >= 0 else math.nan for w in where], dtype=c.scores.dtype)


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else float(x)
