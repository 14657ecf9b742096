"""Runs a pipeline over a dataset once per retriever, then other QA systems (``systems``: the
built-in baseline, endpoints, callables) on the same questions, and summarises the results.

Each question is answered with ``Pipeline.ask(q, retriever=name)`` (answers, citations,
timings) and, separately, ranked with the same retriever to depth ``k`` for the retrieval
metrics; a multi-part question's per-part rankings are interleaved, as ``ask`` consumes them.
Every answer, the product's or another system's, is scored by the same ``score_answer``.
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
    mrc_char_f1,
    mrc_exact,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    quote_violations,
    recall_at_k,
    refusal_scores,
    strip_markers,
)

if TYPE_CHECKING:
    from rag.core.settings import Settings
    from rag.core.types import Unit
    from rag.evaluation.systems import QASystem
    from rag.pipeline import Pipeline

RECALL_KS = (1, 3, 5, 10)
NO_REPORT = "(none)"  # the by-report group of questions about no report of the corpus


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
    docs: list[str] = field(default_factory=list)  # the report(s) of the evidence, when the dataset says
    relevant: dict[str, float] = field(default_factory=dict)  # judged keys → gain (the TREC qrels)
    cited: list[dict[str, Any]] = field(default_factory=list)  # doc, section_id, start, end, quote
    error: str | None = None  # a system's timeout or failure: the answer counts as wrong
    em: float | None = None  # reading-comprehension exact match and character F1 (SQuAD/CMRC sets)
    f1: float | None = None


@dataclass
class RetrieverRun:
    """One column of the report: a retriever of the product, the baseline or another system."""

    retriever: str
    summary: dict[str, Any]
    results: list[QuestionResult]
    kind: str = "retriever"  # retriever | baseline | system
    spec: str = ""  # how a system was reached (its ``--system`` spec), for the report


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
    mrc = [r for r in answered if r.f1 is not None]
    if mrc:
        out["mrc"] = {"n": len(mrc), "exact_match": _mean([r.em or 0.0 for r in mrc]),
                      "char_f1": _mean([r.f1 or 0.0 for r in mrc])}
    out |= {
        "n_answerable": len(answerable),
        "errors": sum(r.error is not None for r in answered),
        "accuracy": _mean(outcomes),
        "accuracy_ci95": bootstrap_ci(outcomes, samples=bootstrap_samples, seed=seed),
        "answerable_accuracy": _mean([bool(r.correct) for r in answerable]),
        "refusal": refusal_scores([not r.found for r in answered], [not r.answerable for r in answered]),
        "median_answer_chars": float(statistics.median(
            [len(strip_markers(r.answer or "").strip()) for r in answered if r.found and not r.error] or [0])),
        "citation_precision": sum(r.good_citations for r in answerable) / cites if cites else None,
        "citation_recall": sum(r.covered_evidences for r in answerable) / evid if evid else None,
        "quote_violations": sum(r.quote_violations for r in answered),
        "latency_ms": {stage: {f"p{q}": percentile(times, q) for q in (50, 95)}
                       for stage, times in _stage_times(answered).items()},
        "by_type": _breakdown(by_type, k),
    }
    if any(r.docs for r in answered):
        by_report: dict[str, list[QuestionResult]] = defaultdict(list)
        for r in answered:  # a cross-report question counts under each report it names
            for doc in r.docs or [NO_REPORT]:
                by_report[doc].append(r)
        out["by_report"] = _breakdown(by_report, k)
    return out


def _breakdown(groups: dict[str, list[QuestionResult]], k: int) -> dict[str, dict[str, Any]]:
    """Accuracy and recall per group of questions (per type, per report)."""
    rk = f"recall@{min(5, k)}"
    return {g: {"n": len(rs), "accuracy": _mean([bool(r.correct) for r in rs]),
                rk: _mean([r.retrieval[rk] for r in rs if r.retrieval and rk in r.retrieval])}
            for g, rs in sorted(groups.items())}


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

    def judgements(self, item: EvalItem,
                   locator: EvidenceLocator | None = None) -> tuple[list[set[str]], dict[str, float]]:
        """Relevance groups (one per evidence, or per BEIR document) and the gains of their keys,
        in the key space of ``locator`` (the index's units unless another system brings its own)."""
        if item.qrels:
            return [{d} for d in item.qrels], {d: float(g) for d, g in item.qrels.items()}
        groups = (locator or self.locator).groups(item) if item.answerable else []
        return groups, {key: 1.0 for g in groups for key in g}

    def _retrieval(self, item: EvalItem, ranked: list[str],
                   locator: EvidenceLocator | None = None) -> tuple[dict[str, float] | None, dict[str, float]]:
        groups, gains = self.judgements(item, locator)
        if not groups:
            return None, gains
        scores = {f"recall@{n}": recall_at_k(ranked, groups, n) for n in RECALL_KS if n <= self.k}
        return scores | {"hit@1": float(bool(ranked) and gains.get(ranked[0], 0) > 0),
                         f"mrr@{self.k}": mrr_at_k(ranked, gains, self.k),
                         f"ndcg@{self.k}": ndcg_at_k(ranked, gains, self.k)}, gains

    def _result(self, item: EvalItem, ranked: list[str], locator: EvidenceLocator | None = None) -> QuestionResult:
        retrieval, gains = self._retrieval(item, ranked, locator)
        return QuestionResult(item.id, item.question, item.type, item.answerable, ranked, retrieval,
                              item.all_of or item.answers, docs=list(item.docs), relevant=gains)

    def score_answer(self, result: QuestionResult, item: EvalItem, answer: Any, *, mrc: bool = False) -> QuestionResult:
        """Fills ``result`` from an answer (``Answer`` or ``SystemAnswer``: ``answer``, ``found``,
        ``citations``, ``timings_ms``, optional ``error``). An errored answer is always wrong."""
        error = getattr(answer, "error", None)
        spans = [(c.doc, c.start, c.end) for c in answer.citations
                 if isinstance(c.start, int) and isinstance(c.end, int)]
        places = self.locator.evidence_places(item) if item.answerable else []
        good, covered = citation_counts(spans, places, self.min_overlap)
        result.answer, result.found, result.timings_ms = answer.answer, answer.found, dict(answer.timings_ms)
        result.error = error
        result.correct = error is None and (answer.found and answer_correct(answer.answer, item.answers, item.all_of)
                                            if item.answerable else not answer.found)
        result.citations, result.good_citations = len(answer.citations), good
        result.evidences, result.covered_evidences = len(places), covered
        result.cited = [{"doc": c.doc, "section_id": c.section_id, "start": c.start, "end": c.end, "quote": c.quote}
                        for c in answer.citations]
        result.quote_violations = quote_violations(
            ((c.doc, c.start, c.end, c.quote) for c in answer.citations), self.locator.texts)
        if mrc:  # SQuAD 2.0's convention: a refusal is an exact match of an unanswerable question
            given = answer.answer if answer.found and error is None else ""
            if item.answerable:
                result.em, result.f1 = mrc_exact(given, item.answers), mrc_char_f1(given, item.answers)
            else:
                result.em = result.f1 = float(not given)
        return result

    def evaluate(self, item: EvalItem, retriever: str, *, retrieval_only: bool = False,
                 mrc: bool = False) -> QuestionResult:
        result = self._result(item, self.rank(item.question, retriever))
        if retrieval_only:
            return result
        return self.score_answer(result, item, self.pipeline.ask(item.question, retriever=retriever), mrc=mrc)

    def context(self, question: str, retriever: str = "hybrid") -> list[str]:
        """The passages the product retrieves for a question (its parts' top-k interleaved), as
        ``section path：text``: the context handed to another system that asks for it."""
        parts = self.pipeline.analyzer.analyze(question)
        hits = [self.pipeline.retrievers[retriever].retrieve(p, self.pipeline.settings.top_k) for p in parts]
        units = {h[i].unit.id: h[i].unit for i in range(max(map(len, hits), default=0)) for h in hits if i < len(h)}
        return [u.embed_text for u in units.values()]

    def _items(self, dataset: EvalDataset, desc: str):
        from tqdm import tqdm

        return tqdm(dataset.items, desc=desc, unit="q", disable=None if self.progress else True, leave=False)

    def _summary(self, results: list[QuestionResult]) -> dict[str, Any]:
        return summarize(results, k=self.k, bootstrap_samples=self.bootstrap_samples, seed=self.seed)

    def run(self, dataset: EvalDataset, retriever: str) -> RetrieverRun:
        mrc = dataset.format == "squad"
        results = [self.evaluate(item, retriever, retrieval_only=dataset.retrieval_only, mrc=mrc)
                   for item in self._items(dataset, retriever)]
        return RetrieverRun(retriever, self._summary(results), results)

    def run_system(self, dataset: EvalDataset, system: QASystem) -> RetrieverRun:
        """Another system on the same questions, scored like the product. Systems that rank their
        own passages (the baseline) get retrieval metrics on those passages."""
        locator = getattr(system, "locator", None)
        results = []
        for item in self._items(dataset, system.name):
            context = self.context(item.question) if system.wants_context else None
            answer = system.run(item.question, context)
            result = self._result(item, (answer.ranked or [])[: self.k], locator) if locator else \
                QuestionResult(item.id, item.question, item.type, item.answerable, [], None,
                               item.all_of or item.answers, docs=list(item.docs))
            results.append(self.score_answer(result, item, answer, mrc=dataset.format == "squad"))
        return RetrieverRun(system.name, self._summary(results), results, system.kind, system.spec)

    def run_all(self, dataset: EvalDataset, retrievers: Sequence[str], systems: Sequence[QASystem] = ()) -> EvalReport:
        """Every retriever of the product, then every system (skipped on retrieval-only data,
        where there is no answer to score)."""
        config = {"min_overlap": self.min_overlap, "bootstrap_samples": self.bootstrap_samples, "seed": self.seed,
                  "index": str(self.pipeline.store.path), "settings": self.pipeline.settings.model_dump(mode="json",
                  exclude={"llm_api_key"})}
        runs = {name: self.run(dataset, name) for name in retrievers}
        if not dataset.retrieval_only:
            runs |= {s.name: self.run_system(dataset, s) for s in systems}
        return EvalReport(dataset.name, dataset.format, self.k, self.pipeline.embedder.model_id, config, runs)


def matches_index(dataset: EvalDataset, settings: Settings) -> bool:
    """True when a BEIR corpus is this index's own export (ids are unit keys, texts equal), so
    the current index can be scored directly."""
    from rag.stores import builds_dir
    from rag.stores.index import IndexUnavailable, current_build, load_build

    try:
        _, _, units = load_build(current_build(builds_dir(settings)), verify=False)
    except IndexUnavailable:
        return False
    texts = {unit_key(u): u.text for u in units}
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
