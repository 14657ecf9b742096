"""The report router: a question over several reports answered from the reports it selects,
through the pipeline's composer chain, each answer labelled with its report."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Sequence

from rag.answer.composers.base import Citations, ComposerChain
from rag.answer.query import QueryPart
from rag.answer.routing.direct import DirectAnswers
from rag.answer.routing.figures import FigureCheck
from rag.answer.routing.promises import PromiseAnswers
from rag.answer.routing.scope import ReportScope, Retrieve
from rag.answer.routing.words import RouterWords, has
from rag.answer.selection import ReportSelector, Selection
from rag.commitments.promises import Amount, PromiseCheck, PromiseTracker
from rag.commitments.record import Commitment
from rag.core.types import Answer, ScoredUnit
from rag.genre.lexicon import Lexicon
from rag.genre.paraphrase import similarity

#: reports a question over several is answered from, at most
MAX_REPORTS = 3


class ReportRouter:
    """Answers and labels questions over a catalogue of reports, from its named parts: ``scope``
    (which reports, and labels), ``figures`` (the figure check), ``direct`` (answers without
    retrieval) and ``promises`` (targets and their outcomes)."""

    def __init__(self, selector: ReportSelector, commitments: Sequence[Commitment],
                 checks: dict[str, PromiseCheck], *, plan_words: Sequence[str] = (),
                 lexicon: Lexicon | None = None, tracker: PromiseTracker | None = None) -> None:
        lexicon = lexicon or Lexicon.default()
        self.selector = selector
        self.words = words = RouterWords.load(lexicon)
        plan = (*plan_words, *words.target)  # the question lexicon's words for targets (目标, 计划)
        self.scope = ReportScope(selector, words, plan)
        self.figures = FigureCheck(commitments, words, plan, lexicon)
        self.direct = DirectAnswers(self.scope, commitments, words, plan)
        self.promises = PromiseAnswers(self.scope, commitments, checks, words)
        self.tracker = tracker or PromiseTracker(lexicon)

    def gate(self, question: str, selections: Sequence[Selection]) -> Answer | None:
        """What is answered before any retrieval: the refusal when no report can answer, and the
        tracker's list of a report's missed or kept targets."""
        blocked = self.scope.blocked(question, selections)
        return blocked if blocked is not None else self.promises.promise_list(question, selections)

    def answer(self, question: str, parts: Sequence[QueryPart], selections: Sequence[Selection],
               retrieve: Retrieve, compose: ComposerChain) -> Answer:
        """Parts that each select one report are answered from it (a target with its outcome when
        asked); otherwise every selected report that can answers for itself (``per_report``)."""
        docs = [s.doc_ids for s in selections]
        parts = [self.scope.focus(p, question) for p in parts]
        plain = self._plain(question, retrieve)
        parts = [self.scope.dated(p, question) for p in parts]
        if not all(d is not None and len(d) == 1 for d in docs):
            return self.per_report(question, parts, docs, plain, compose)
        one = [d[0] for d in docs if d is not None]
        answer = self.direct.known(question, parts, one)
        if answer is None:
            hits = [plain(p, d) for p, d in zip(parts, docs, strict=True)]
            answer = self.figures.checked(compose.run(question, parts, hits, documents=docs), parts)
        if answer.found and answer.composer != "catalogue" and len(set(docs)) == 1 \
                and has(question, self.words.outcome):
            answer = self.promises.with_outcome(question, parts[0], one[0], answer, retrieve, compose)
        return self.scope.label(answer)

    def _plain(self, question: str, retrieve: Retrieve) -> Retrieve:
        """``retrieve`` without units that state a figure only against last year, unless the
        question compares: «目标是多少» wants the target, not «比去年提高0.2万人»."""
        if has(question, self.words.compare):
            return retrieve

        def plain(part: QueryPart, docs: Collection[str] | None) -> list[ScoredUnit]:
            hits = retrieve(part, docs)
            kept = [h for h in hits if not self.words.relative.search(h.unit.text)]
            return kept or hits

        return plain

    def per_report(self, question: str, parts: list[QueryPart], docs: list[tuple[str, ...] | None],
                   retrieve: Retrieve, compose: ComposerChain) -> Answer:
        """The question answered by each selected report that can (at most three), labelled."""
        reports = self.selector.reports
        pool = list(dict.fromkeys(d for ids in docs for d in (ids if ids is not None else reports)))
        named = set(self.selector.years_named(question))
        tried = []
        for doc in pool:
            year = reports[doc].year
            # «2023年比2022年»: each report answers for its own year of those named
            own = [dataclasses.replace(p, year=year) if year in named and p.year else p for p in parts]
            hits = [retrieve(p, (doc,)) for p in own]
            best = max((h[0].score for h in hits if h), default=0.0)
            tried.append((best, doc, own, hits))
        tried.sort(key=lambda x: -x[0])
        if not self.selector.named_regions(question):  # «东岭光伏电站»: not every report with 光伏电站
            naming = self.selector.naming(question, [t[1] for t in tried])
            tried = [t for t in tried if t[1] in naming]
        found: list[tuple[str, Answer]] = []
        for _, doc, own, hits in tried:
            a = self.direct.known(question, own, [doc]) or \
                self.figures.checked(compose.run(question, own, hits, documents=[(doc,)] * len(own)), own)
            if a.found:
                found.append((doc, a))
            if len(found) == MAX_REPORTS:
                break
        if not found:  # no report answers: the refusal, from the hits of every selected report
            hits = [retrieve(p, ids) for p, ids in zip(parts, docs, strict=True)]
            answer = self.figures.checked(compose.run(question, parts, hits, documents=docs), parts)
            return self.scope.label(answer) if answer.found else answer
        return self._joined(question, found, parts[0].topic if parts else "")

    def _joined(self, question: str, found: list[tuple[str, Answer]], topic: str) -> Answer:
        """The reports' answers in one, each after its label and in one citation numbering; one
        place's in year order, then the comparison of two years when asked."""
        reports = self.selector.reports
        if len({reports[d].region for d, _ in found}) == 1:  # one place: in year order
            found.sort(key=lambda x: reports[x[0]].year or 0)
        citations = Citations()
        pieces = [f"【{self.selector.label(doc)}】{citations.renumber(a)}" for doc, a in found]
        comparison = self.compare(question, found, topic)
        if comparison:
            pieces.append(comparison)
        return Answer(question=question, answer=" ".join(pieces), found=True, citations=citations.items,
                      composer=found[0][1].composer)

    def _figure_for(self, answer: Answer, topic: str) -> Amount | None:
        """The figure of the cited clause that is most about ``topic``."""
        clauses = [c for cite in answer.citations for c in re.split(r"[，,；;。]", cite.quote)]
        scored = [(similarity(c, topic), -i, f) for i, c in enumerate(clauses)
                  if (f := self.tracker.figure_of(c)) is not None]
        return max(scored, key=lambda x: x[:2])[2] if scored else None

    def compare(self, question: str, found: list[tuple[str, Answer]], topic: str = "") -> str:
        """«2023年比2022年高还是低»: which of two years' figures of one place is higher."""
        if len(found) != 2 or not has(question, self.words.compare):
            return ""
        reports = self.selector.reports
        (d1, a1), (d2, a2) = found
        if reports[d1].region != reports[d2].region:
            return ""
        v1, v2 = (self._figure_for(a, topic.replace(" ", "")) for a in (a1, a2))
        if v1 is None or v2 is None or v1.unit != v2.unit or v1.change != v2.change:
            return ""
        y1, y2 = reports[d1].year, reports[d2].year
        if v1.value == v2.value:
            return f"{y2}年与{y1}年的数字相同。"
        higher = "高于" if v2.value > v1.value else "低于"
        return f"{y2}年（{v2.text}）{higher}{y1}年（{v1.text}）。"
