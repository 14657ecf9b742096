"""Runs a pipeline over a dataset once per retriever and summarises the results.

Each question is answered with ``Pipeline.ask(q, retriever=name)`` (answers, citations,
timings) and, separately, ranked with the same retriever to depth ``k`` for the retrieval
metrics; a multi-part question's per-part rankings are interleaved, as ``ask`` consumes them.
"""

from __future__ import annotations

import statistics
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.evaluation.datasets import EvalDataset, EvalItem, EvidenceLocator, unit_key
from rag.evaluation.metrics import (
    answer_correct,
    bootstrap_ci,
    citation_counts,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    quote_violations,
    recall_at_k,
    refusal_scores,
    strip_markers,
)

if TYPE_CHECKING:
    from rag.pipeline import Pipeline
    from rag.settings import Settings
    from rag.types import Unit

RECALL_KS = (1, 3, 5, 10)


@dataclass
class QuestionResult:
    id: str
    question: str
    type: str
    answerable: bool
    ranked: list[str]
    retrieval: dict[str, float] | None = None  # None: no relevant unit could be located
    expected: list[str] = field(default_factory=list)  # the gold answers (any one, or all_of)
    answer: str | None = None  # None in retrieval-only runs
    found: bool | None = None
    correct: bool | None = None
    citations: int = 0
    good_citations: int = 0
    evidences: int = 0
    covered_evidences: int = 0
    quote_violations: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class RetrieverRun:
    retriever: str
    summary: dict[str, Any]
    results: list[QuestionResult]


@dataclass
class EvalReport:
    dataset: str
    format: str
    k: int
    model: str
    config: dict[str, Any]
    runs: dict[str, RetrieverRun]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _stage_times(results: Sequence[QuestionResult]) -> dict[str, list[float]]:
    """Per-stage timings in the order the pipeline reports them, whatever its stages are."""
    times: dict[str, list[float]] = {}
    for r in results:
        for stage, ms in r.timings_ms.items():
            times.setdefault(stage, []).append(ms)
    return times


def summarize(results: Sequence[QuestionResult], *, k: int = 10, bootstrap_samples: int = 1000,
              seed: int = 0) -> dict[str, Any]:
    """Dataset-level metrics from per-question results (definitions in ``metrics``)."""
    scored = [r.retrieval for r in results if r.retrieval is not None]
    retrieval = {name: _mean([s[name] for s in scored]) for name in (scored[0] if scored else {})}
    out: dict[str, Any] = {"n": len(results), "n_retrieval": len(scored), "retrieval": retrieval}
    answered = [r for r in results if r.found is not None]
    if not answered:
        return out
    outcomes = [bool(r.correct) for r in answered]
    answerable = [r for r in answered if r.answerable]
    cites = sum(r.citations for r in answerable)
    evid = sum(r.evidences for r in answerable)
    by_type: dict[str, list[QuestionResult]] = defaultdict(list)
    for r in answered:
        by_type[r.type].append(r)
    out |= {
        "n_answerable": len(answerable),
        "accuracy": _mean(outcomes),
        "accuracy_ci95": bootstrap_ci(outcomes, samples=bootstrap_samples, seed=seed),
        "answerable_accuracy": _mean([bool(r.correct) for r in answerable]),
        "refusal": refusal_scores([not r.found for r in answered], [not r.answerable for r in answered]),
        "median_answer_chars": float(statistics.median(
            [len(strip_markers(r.answer or "").strip()) for r in answered if r.found] or [0])),
        "citation_precision": sum(r.good_citations for r in answerable) / cites if cites else None,
        "citation_recall": sum(r.covered_evidences for r in answerable) / evid if evid else None,
        "quote_violations": sum(r.quote_violations for r in answered),
        "latency_ms": {stage: {f"p{q}": percentile(times, q) for q in (50, 95)}
                       for stage, times in _stage_times(answered).items()},
        "by_type": {t: {"n": len(rs), "accuracy": _mean([bool(r.correct) for r in rs]),
                        f"recall@{min(5, k)}": _mean([r.retrieval[f"recall@{min(5, k)}"] for r in rs if r.retrieval])}
                    for t, rs in sorted(by_type.items())},
    }
    return out


class EvalRunner:
    """Scores one loaded pipeline on a dataset. ``doc_keys`` maps index document ids to the
    dataset's corpus ids when the qrels name documents (BEIR on a temporary index); otherwise
    retrieved units are named by ``unit_key``."""

    def __init__(self, pipeline: Pipeline, *, k: int = 10, doc_keys: dict[str, str] | None = None,
                 min_overlap: float = 0.5, bootstrap_samples: int = 1000, seed: int = 0, progress: bool = True) -> None:
        self.pipeline = pipeline
        self.k = k
        self.doc_keys = doc_keys
        self.bootstrap_samples = bootstrap_samples
        self.seed = seed
        self.progress = progress
        self.min_overlap = min_overlap
        store = pipeline.store
        self.locator = EvidenceLocator(store.documents, store.units, min_overlap=min_overlap)

    def _key(self, unit: Unit) -> str:
        return self.doc_keys[unit.doc_id] if self.doc_keys else unit_key(unit)

    def rank(self, question: str, retriever: str) -> list[str]:
        """Top-k keys, the parts' rankings interleaved and de-duplicated."""
        parts = self.pipeline.analyzer.analyze(question)
        depth = self.k * 5 if self.doc_keys else self.k  # several units may name one document
        hits = [self.pipeline.retrievers[retriever].retrieve(p, depth) for p in parts]
        ranked: list[str] = []
        for i in range(max((len(h) for h in hits), default=0)):
            for h in hits:
                if i < len(h) and (key := self._key(h[i].unit)) not in ranked:
                    ranked.append(key)
        return ranked[: self.k]

    def _retrieval(self, item: EvalItem, ranked: list[str]) -> dict[str, float] | None:
        if item.qrels:
            groups, gains = [{d} for d in item.qrels], {d: float(g) for d, g in item.qrels.items()}
        else:
            groups = self.locator.groups(item) if item.answerable else []
            gains = {key: 1.0 for g in groups for key in g}
        if not groups:
            return None
        scores = {f"recall@{n}": recall_at_k(ranked, groups, n) for n in RECALL_KS if n <= self.k}
        return scores | {f"mrr@{self.k}": mrr_at_k(ranked, gains, self.k), f"ndcg@{self.k}": ndcg_at_k(ranked, gains, self.k)}

    def evaluate(self, item: EvalItem, retriever: str, *, retrieval_only: bool = False) -> QuestionResult:
        ranked = self.rank(item.question, retriever)
        result = QuestionResult(item.id, item.question, item.type, item.answerable, ranked,
                                self._retrieval(item, ranked), item.all_of or item.answers)
        if retrieval_only:
            return result
        answer = self.pipeline.ask(item.question, retriever=retriever)
        spans = [(c.doc, c.start, c.end) for c in answer.citations if isinstance(c.start, int) and isinstance(c.end, int)]
        places = self.locator.evidence_places(item) if item.answerable else []
        good, covered = citation_counts(spans, places, self.min_overlap)
        result.answer, result.found, result.timings_ms = answer.answer, answer.found, dict(answer.timings_ms)
        result.correct = (answer.found and answer_correct(answer.answer, item.answers, item.all_of)
                          if item.answerable else not answer.found)
        result.citations, result.good_citations = len(answer.citations), good
        result.evidences, result.covered_evidences = len(places), covered
        result.quote_violations = quote_violations(
            ((c.doc, c.start, c.end, c.quote) for c in answer.citations), self.locator.texts)
        return result

    def run(self, dataset: EvalDataset, retriever: str) -> RetrieverRun:
        from tqdm import tqdm

        items = tqdm(dataset.items, desc=retriever, unit="q", disable=None if self.progress else True, leave=False)
        results = [self.evaluate(item, retriever, retrieval_only=dataset.retrieval_only) for item in items]
        summary = summarize(results, k=self.k, bootstrap_samples=self.bootstrap_samples, seed=self.seed)
        return RetrieverRun(retriever, summary, results)

    def run_all(self, dataset: EvalDataset, retrievers: Sequence[str]) -> EvalReport:
        config = {"min_overlap": self.min_overlap, "bootstrap_samples": self.bootstrap_samples, "seed": self.seed,
                  "index": str(self.pipeline.store.path), "settings": self.pipeline.settings.model_dump(mode="json",
                  exclude={"llm_api_key"})}
        return EvalReport(dataset.name, dataset.format, self.k, self.pipeline.embedder.model_id, config,
                          {name: self.run(dataset, name) for name in retrievers})


def matches_index(dataset: EvalDataset, settings: Settings) -> bool:
    """True when a BEIR corpus is this index's own export (ids are unit keys, texts equal), so
    the current index can be scored directly."""
    from rag.index import IndexStore, IndexUnavailable

    try:
        store = IndexStore.load(settings.index_dir, verify=False)
    except IndexUnavailable:
        return False
    texts = {unit_key(u): u.text for u in store.units}
    corpus = dataset.corpus or {}
    return bool(corpus) and all(texts.get(cid) == text for cid, (_, text) in corpus.items())


@contextmanager
def open_pipeline(dataset: EvalDataset, settings: Settings, *,
                  progress: bool = False) -> Iterator[tuple[Pipeline, dict[str, str] | None]]:
    """The pipeline to evaluate and its ``doc_keys``: the configured index, or, for a dataset that
    brings its own documents, a temporary corpus and index built from them (removed afterwards)."""
    from rag.pipeline import Pipeline

    # every question is timed as a first-time asker sees it, and the ranking pass that precedes
    # ``ask`` must not warm the query-embedding cache for it
    settings = settings.model_copy(update={"query_cache_size": 0})
    if dataset.corpus is None or (dataset.format == "beir" and matches_index(dataset, settings)):
        yield Pipeline.load(settings, progress=progress), None
        return
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        corpus_dir, index_dir = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus_dir.mkdir()
        doc_keys = {}
        for i, (cid, (title, text)) in enumerate(dataset.corpus.items()):
            stem = f"{i:06d}"
            head = f"title: {title}\n" if title else ""
            (corpus_dir / f"{stem}.txt").write_text(head + text, "utf-8")
            doc_keys[stem] = cid
        temp = settings.model_copy(update={"corpus_dir": corpus_dir, "index_dir": index_dir, "auto_rebuild": True})
        yield Pipeline.load(temp, progress=progress), doc_keys if dataset.retrieval_only else None
