"""Which reports a question covers, and how answers say which report they come from."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence

from rag.answer.composers.base import CITATION_MARK
from rag.answer.query import QueryPart
from rag.answer.routing.words import RouterWords, has
from rag.answer.selection import ReportSelector, Selection
from rag.core.types import Answer, ScoredUnit

#: retrieval within some reports (None: every report): a part's hits
Retrieve = Callable[[QueryPart, Collection[str] | None], list[ScoredUnit]]


class ReportScope:
    """Selects each question part's reports, refuses when none can answer, and labels answers."""

    def __init__(self, selector: ReportSelector, words: RouterWords, plan_words: Sequence[str]) -> None:
        self.selector = selector
        self.words = words
        self.plan_words = tuple(plan_words)  # the question lexicon's words for targets (目标, 计划)

    def select(self, question: str, parts: Sequence[QueryPart], leans_on: Sequence[str] = (),
               restrict: Collection[str] | None = None) -> list[Selection]:
        """One selection per part: the place from the part, the question or the last of the turns
        it ``leans_on`` that named one (``Pipeline.leans_on``: «那过去五年呢？» leans on the turns
        before it, «买车还有补贴吗» on none); the year from the part or the question; the intent
        from the part. ``restrict`` (the API's filter, the page's report picker) always wins: an
        earlier turn's place outside it is not inherited."""
        context = question
        earlier = None if self.selector.named_regions(question) else \
            next((h for h in reversed(leans_on) if self.selector.named_regions(h)), None)
        if earlier is not None and self._picked(earlier, restrict):
            context = earlier + question
        return [self.selector.run(p.text, self.intent(p, question), restrict=restrict, context=context) for p in parts]

    def _picked(self, turn: str, restrict: Collection[str] | None) -> bool:
        """Whether a place ``turn`` names has a report among ``restrict`` (None: every report)."""
        if restrict is None:
            return True
        named = set(self.selector.named_regions(turn))
        return any(self.selector.reports[i].region in named for i in restrict if i in self.selector.reports)

    def intent(self, part: QueryPart, question: str = "") -> str | None:
        """Targets or outcomes: «目标完成了吗» asks for the target (its outcome is added), «实际增长
        了多少» for the outcome; otherwise what the analyzer read. Only the part's own words count,
        not the topic a follow-up part borrows («…目标是多少？实际完成了多少？»)."""
        own = part.text
        while question and own and own not in question:
            own = own.rsplit(" ", 1)[0] if " " in own else ""
        own = own or part.text
        if has(own, self.words.outcome):  # "outcome": explicitly the year's result, not the review part
            return "plan" if has(own, self.plan_words) else "outcome"
        return part.scope

    def focus(self, part: QueryPart, question: str) -> QueryPart:
        """The part as asked of one report: comparison words («高还是低») mean nothing inside any
        one report, so they leave its topic."""
        if not has(question, self.words.compare):
            return part
        pieces = set(self.words.compare_pieces)
        topic = " ".join(w for w in part.topic.split() if w not in pieces)
        return dataclasses.replace(part, topic=topic or part.topic)

    def dated(self, part: QueryPart, question: str) -> QueryPart:
        """A part that names no year asks about the question's year («…目标是多少？实际收了多少？»):
        with it, retrieval and the composer look in the review of that year, not the next plan."""
        if part.year is not None:  # «2023年报告说的…»: the year chose the report
            only = self.selector.names_report(part.text) and len(self.selector.years_named(part.text)) == 1
            return dataclasses.replace(part, year=None) if only else part
        intent = self.intent(part, question)
        if part.scope is not None and intent != "outcome":
            return part  # «过去五年…» has its own span
        years = self.selector.years_named(question)
        if len(years) != 1:
            return part
        return dataclasses.replace(part, year=years[0], scope="review" if intent == "outcome" else part.scope)

    def neighbour(self, doc: str, step: int) -> str | None:
        """The same place's report ``step`` years after ``doc`` (-1: the year before), if there is one."""
        r = self.selector.reports.get(doc)
        if r is None or not r.region or not r.year:
            return None
        year = r.year + step
        return next((i for i, x in self.selector.reports.items() if x.region == r.region and x.year == year), None)

    def blocked(self, question: str, selections: Sequence[Selection]) -> Answer | None:
        """The refusal when no report can answer: a place none covers, or a year none reports on."""
        unknown = [u for s in selections for u in s.unknown]
        if unknown and not any(s.regions for s in selections):
            return self.refusal(question, list(dict.fromkeys(unknown)))
        gap = next((s for s in selections if s.gap), None)
        if gap is not None:
            return Answer(question=question, answer=gap.gap, found=False, composer="scope",
                          scope_reports=self.selector.offered(gap.regions))
        return None

    def refusal(self, question: str, unknown: Sequence[str]) -> Answer:
        places = "、".join(unknown)
        text = (f"报告库中没有关于{places}的政府工作报告，无法回答。现有报告：{self.selector.available()}。"
                f" / No report in the corpus covers {places}.")
        return Answer(question=question, answer=text, found=False, composer="scope",
                      scope_reports=self.selector.offered())

    def label(self, answer: Answer, *, always: bool = True) -> Answer:
        """Each run of sentences citing one report starts with that report's name; with ``always``
        off, only when the citations come from more than one report."""
        if not answer.citations:
            return answer
        doc_of = {c.n: c.doc for c in answer.citations}
        docs = list(dict.fromkeys(c.doc for c in answer.citations))
        if len(docs) == 1 and not always:
            return answer
        text = answer.answer
        out, pos, after, current = [], 0, 0, None  # ``after``: where the text after the last marker starts
        for m in CITATION_MARK.finditer(text):
            doc = doc_of.get(int(m.group(1)))
            if doc is not None and doc != current:
                start = after
                while start < m.start() and text[start] in " ；;，,。":
                    start += 1
                out.append(text[pos:start])
                out.append(f"【{self.selector.label(doc)}】")
                pos, current = start, doc
            after = m.end()
        out.append(text[pos:])
        return dataclasses.replace(answer, answer="".join(out))
