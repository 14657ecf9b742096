"""Answers that need no retrieval: the report's own opening lines (when it was delivered, who
delivered it), and the tracker's record of a target asked for by its metric."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.answer.composers.base import Citations
from rag.answer.query import QueryPart
from rag.answer.routing.figures import within
from rag.answer.routing.scope import ReportScope
from rag.answer.routing.words import RouterWords, has
from rag.answer.selection import ReportSelector
from rag.commitments.record import Commitment
from rag.core.types import Answer, Citation
from rag.genre.paraphrase import similarity

#: how far into a report its opening lines (title, date, speaker) may reach, and how many there are
_HEAD_CHARS, _HEAD_LINES = 1500, 8


class DirectAnswers:
    """Answers one part about one report from its opening lines or its tracker records."""

    def __init__(self, scope: ReportScope, commitments: Sequence[Commitment], words: RouterWords,
                 plan_words: Sequence[str]) -> None:
        self.scope = scope
        self.selector: ReportSelector = scope.selector
        self.commitments = list(commitments)
        self.words = words
        self.plan_words = tuple(plan_words)
        self.texts = {d.id: d.text for d in self.selector.documents}

    def known(self, question: str, parts: Sequence[QueryPart], docs: Sequence[str]) -> Answer | None:
        """The opening fact or the target record that answers a one-part question, else None."""
        if len(parts) != 1:
            return None
        part, doc = parts[0], docs[0]
        return self.opening_fact(question, part, doc) or self.target_record(question, part, doc)

    def _head_lines(self, doc: str) -> list[tuple[int, int]]:
        """(start, end) of the report's first lines, before its first section."""
        text = self.texts.get(doc, "")
        out, pos = [], 0
        for line in text[:_HEAD_CHARS].splitlines(keepends=True):
            a, b = pos + len(line) - len(line.lstrip()), pos + len(line.rstrip())
            if b > a:
                out.append((a, b))
            pos += len(line)
            if len(out) >= _HEAD_LINES:
                break
        return out

    def opening_fact(self, question: str, part: QueryPart, doc: str) -> Answer | None:
        """«报告是什么时候作的», «市长是谁»: the opening line that gives the congress or the office."""
        w, text = self.words, self.texts.get(doc, "")
        wanted = None
        if "when" in part.kinds and has(question.lower(), w.report_words):
            wanted = self.selector.catalogue.rules.congress
        office = next((o for o in w.offices if o in part.search_text), None)
        if office and ("who" in part.kinds or "name" in part.kinds):
            wanted = re.compile(re.escape(office) + r"[ \t\u3000]*[\u4e00-\u9fff]{2,4}$")
        if wanted is None:
            return None
        for a, b in self._head_lines(doc):
            if wanted.search(text[a:b]):
                section = next((s for s in reversed(self.selector.section_of(doc)) if s.start <= a), None)
                cite = Citation(1, doc, section.id if section else "0", section.path_str if section else "",
                                text[a:b], a, b, 1.0)
                return Answer(question=question, answer=f"{text[a:b]}[1]", found=True, citations=[cite],
                              composer="catalogue")
        return None

    def target_record(self, question: str, part: QueryPart, doc: str) -> Answer | None:
        """«江城2023年城镇新增就业目标是多少»: the main target of that metric, cited from the tracker."""
        asks_figure = "number" in part.kinds or has(question, self.words.compare)
        year = self.selector.reports[doc].year
        if self.scope.intent(part, question) != "plan" or not asks_figure or part.year not in (None, year):
            return None  # «到2026年…» is not this year's target
        topic = "".join(w for w in part.topic.split() if w not in self.plan_words)
        for w in self.words.outcome:
            topic = topic.replace(w, "")
        names = [t for t in (topic, *(e.replace(" ", "") for e in part.expansions)) if t]
        if not names:
            return None  # the report's own terms an English or colloquial question maps to count too
        best = self._best_target(doc, names)
        if best is None:
            return None
        citations = Citations()
        citations.record(best)
        return Answer(question=question, answer=f"{year}年：{best.clause}[1]" if year else f"{best.clause}[1]",
                      found=True, citations=citations.items, composer="commitments")

    def _best_target(self, doc: str, names: Sequence[str]) -> Commitment | None:
        """The report's target whose metric is closest to one of ``names`` (main targets and the
        earliest first on a tie), when close enough."""
        def fit(metric: str) -> tuple[float, bool]:
            return max(((similarity(metric, n), within(metric, n)) for n in names), key=lambda x: x[0])

        scored = [(*fit(c.metric), c.main_target, -c.start, c) for c in self.commitments
                  if c.doc == doc and c.kind == "target" and c.value is not None]
        close = [(sim, main, start, c) for sim, is_within, main, start, c in scored
                 if sim >= self.words.lookup_similarity or (sim >= self.words.figure_similarity and is_within)]
        return max(close, key=lambda x: x[:3])[3] if close else None
