"""Leave one report out: tune the answer scorer on every report but one, measure on that one.

A method that only fits the report it was tuned on shows it here. For each report R, the
learned window scorer (``rag.answer.window_scorer``) is fitted on the questions about the other reports and
the questions about R are answered with it; the hand-set weights answer the same questions
beside it, so each held-out report gets both figures.

Which report a question is about is taken from the dataset (``doc``; for a set without it,
the report its evidence is in), and retrieval is restricted to that report ("gold scope"): this
measures answering on a report nobody tuned for, apart from choosing the report, which is the
scoping step's job and has its own figures in ``rag eval``. ``not_in_corpus`` questions have no
report and are left out here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rag.evaluation.datasets import EvalDataset, EvalItem
from rag.evaluation.runner import EvalRunner, QuestionResult, summarize

if TYPE_CHECKING:
    from rag.answer.query import QueryPart
    from rag.core.types import ScoredUnit
    from rag.pipeline import Pipeline


class ScopedRetriever:
    """A retriever restricted to some reports, whatever report filter its caller asks for."""

    def __init__(self, inner: Any, doc_ids: Collection[str]) -> None:
        self.inner, self.doc_ids = inner, set(doc_ids)

    def retrieve(self, part: QueryPart, k: int, **_: Any) -> list[ScoredUnit]:
        return self.inner.retrieve(part, k, doc_ids=self.doc_ids)


def item_reports(datasets: Sequence[EvalDataset], pipeline: Pipeline) -> dict[str, list[str]]:
    """Report ids per question: the dataset's ``doc``; else where the evidence is; an
    unanswerable question without ``doc`` belongs to its dataset's only report, if it has one."""
    runner = EvalRunner(pipeline, progress=False)
    out: dict[str, list[str]] = {}
    for data in datasets:
        located: dict[str, list[str]] = {}
        for item in data.items:
            docs = list(item.docs) or \
                sorted({d for places in runner.locator.evidence_places(item) for d, _, _ in places})
            located[item.id] = docs
        only = {d for docs in located.values() for d in docs}
        for item in data.items:
            docs = located[item.id] or (sorted(only) if len(only) == 1 and not item.answerable
                                        and item.type != "not_in_corpus" else [])
            if docs:
                out[item.id] = docs
    return out


@dataclass
class HeldOut:
    report: str
    n: int
    trained_on: list[str]
    hand: dict[str, Any]
    learned: dict[str, Any]
    results: dict[str, list[QuestionResult]] = field(default_factory=dict)


def headline(summary: dict[str, Any]) -> dict[str, Any]:
    if "accuracy" not in summary:
        return {"n": summary.get("n", 0)}
    refusal = summary.get("refusal") or {}
    english = (summary.get("by_type") or {}).get("english") or {}
    return {"n": summary.get("n"), "accuracy": summary.get("accuracy"), "english_accuracy": english.get("accuracy"),
            "answerable_accuracy": summary.get("answerable_accuracy"),
            "refusal_recall": refusal.get("recall"), "false_refusal_rate": refusal.get("false_refusal_rate"),
            "median_answer_chars": summary.get("median_answer_chars"),
            "quote_violations": summary.get("quote_violations"),
            "by_type": {t: v.get("accuracy") for t, v in (summary.get("by_type") or {}).items()}}


class LeaveOneReportOut:
    """Runs the loop on one loaded pipeline (whose composer describes windows)."""

    def __init__(self, pipeline: Pipeline, *, retriever: str = "hybrid", c: float = 1.0, progress: bool = False,
                 gold_scope: bool = True) -> None:
        self.pipeline, self.retriever, self.c, self.progress = pipeline, retriever, c, progress
        self.gold_scope = gold_scope  # False: the pipeline's own scoping chooses the reports
        self.runner = EvalRunner(pipeline, progress=False)

    @contextmanager
    def _scoped(self, docs: Collection[str], *, force: bool = False) -> Iterator[None]:
        """The pipeline's retriever restricted to ``docs`` while one question runs (with gold scope,
        or ``force``: generated questions name no place, so they are always asked of their report)."""
        if not (self.gold_scope or force):
            yield
            return
        inner = self.pipeline.retrievers[self.retriever]
        self.pipeline.retrievers[self.retriever] = ScopedRetriever(inner, docs)
        try:
            yield
        finally:
            self.pipeline.retrievers[self.retriever] = inner

    def examples(self, items: Sequence[EvalItem], reports: dict[str, list[str]], *, force_scope: bool = False):
        from rag.evaluation.window_data import collect_examples

        out = []
        for item in items:
            with self._scoped(reports[item.id], force=force_scope):
                for e in collect_examples(self.pipeline, [item], retriever=self.retriever):
                    e.report = ",".join(reports[item.id])
                    out.append(e)
        return out

    def _answer(self, items: Sequence[EvalItem], reports: dict[str, list[str]]) -> list[QuestionResult]:
        results = []
        for item in items:
            with self._scoped(reports[item.id]):
                results.append(self.runner.evaluate(item, self.retriever))
        return results

    def collect(self, datasets: Sequence[EvalDataset]) -> list:
        """The training examples of every question of ``datasets`` on this pipeline's reports."""
        reports = item_reports(datasets, self.pipeline)
        return self.examples([i for d in datasets for i in d.items if i.id in reports], reports)

    def train(self, datasets: Sequence[EvalDataset]):
        """The scorer fitted on every question of ``datasets`` (what ``rag train`` writes)."""
        from rag.answer.window_scorer import fit

        return fit(self.collect(datasets), c=self.c, trained_on=[d.name for d in datasets])

    def run(self, datasets: Sequence[EvalDataset], train_only: Sequence[EvalDataset] = ()) -> dict[str, Any]:
        """``train_only`` (generated questions) joins every fold's training but the fold of its
        own report, and is never measured."""
        from tqdm import tqdm

        from rag.answer.window_scorer import ScorerError, WindowScorer, fit

        composer = self.pipeline.composer
        reports = item_reports([*datasets, *train_only], self.pipeline)
        items = [i for d in datasets for i in d.items if i.id in reports]
        extra = [i for d in train_only for i in d.items if i.id in reports]
        examples = self.examples(items, reports)
        generated = self.examples(extra, reports, force_scope=True)
        by_report: dict[str, list[EvalItem]] = defaultdict(list)
        for item in items:
            for doc in reports[item.id]:
                by_report[doc].append(item)
        held: list[HeldOut] = []
        pooled: dict[str, list[QuestionResult]] = {"hand": [], "learned": []}
        for report in tqdm(sorted(by_report), desc="reports", disable=None if self.progress else True, leave=False):
            train = [e for e in examples if report not in e.report.split(",")]
            more = [e for e in generated if report not in e.report.split(",")]
            test = by_report[report]
            composer.set_scorer(None)
            hand = self._answer(test, reports)
            pooled["hand"] += hand
            trained_on = sorted({d for e in train for d in e.report.split(",")})
            learned: list[QuestionResult] = []
            try:
                composer.set_scorer(WindowScorer(fit(train + more, c=self.c, trained_on=trained_on, calibrate=train)))
                learned = self._answer(test, reports)
            except ScorerError:  # nothing to learn from: the only report, or no answering window
                trained_on = []
            finally:
                composer.set_scorer(None)
            pooled["learned"] += learned
            held.append(HeldOut(report, len(test), trained_on, headline(summarize(hand)),
                                headline(summarize(learned)), {"hand": hand, "learned": learned}))
        return {"reports": held, "pooled": {k: headline(summarize(v)) for k, v in pooled.items()},
                "questions": len(items), "left_out": sum(len(d.items) for d in datasets) - len(items)}


def loro_table(result: dict[str, Any]) -> str:
    """Plain-text table: per held-out report, hand-set and learned figures side by side."""
    cols = ("answerable_accuracy", "refusal_recall", "false_refusal_rate", "accuracy")
    short = {"answerable_accuracy": "ans.acc", "refusal_recall": "ref.rec", "false_refusal_rate": "false.ref",
             "accuracy": "acc"}

    def fmt(v: Any) -> str:
        return "–" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)

    head = ["held-out report", "n"] + [f"{m} {short[c]}" for m in ("hand", "learned") for c in cols]
    rows = [[h.report, str(h.n)] + [fmt(getattr(h, m).get(c)) for m in ("hand", "learned") for c in cols]
            for h in result["reports"]]
    pooled = result["pooled"]
    rows.append(["(all held-out)", str(pooled["hand"]["n"])]
                + [fmt(pooled[m].get(c)) for m in ("hand", "learned") for c in cols])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
             for r in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def loro_json(result: dict[str, Any]) -> dict[str, Any]:
    """The loop's figures, and per held-out report which questions each scorer got wrong."""
    return {"questions": result["questions"], "left_out": result["left_out"], "pooled": result["pooled"],
            "reports": [{"report": h.report, "n": h.n, "trained_on": h.trained_on, "hand": h.hand, "learned": h.learned,
                         "misses": {m: [{"id": r.id, "type": r.type, "question": r.question, "expected": r.expected,
                                         "answer": r.answer} for r in rs if not r.correct]
                                    for m, rs in h.results.items()}}
                        for h in result["reports"]]}
