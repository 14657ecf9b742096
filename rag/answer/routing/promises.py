"""Answers from the promise tracker: a target followed by what became of it, and the list of a
report's targets the next report judges missed (or kept)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from rag.answer.composers.base import Citations, ComposerChain
from rag.answer.query import QueryPart
from rag.answer.routing.scope import ReportScope, Retrieve
from rag.answer.routing.words import RouterWords, has
from rag.answer.selection import Selection
from rag.commitments.promises import PromiseCheck
from rag.commitments.record import Commitment
from rag.core.types import Answer
from rag.genre.paraphrase import similarity


class PromiseAnswers:
    """A target's outcome and the missed or kept targets, from the tracker's checks."""

    def __init__(self, scope: ReportScope, commitments: Sequence[Commitment], checks: dict[str, PromiseCheck],
                 words: RouterWords) -> None:
        self.scope = scope
        self.commitments = list(commitments)
        self.by_id = {c.id: c for c in self.commitments}
        self.checks = checks
        self.words = words

    def with_outcome(self, question: str, part: QueryPart, doc: str, answer: Answer, retrieve: Retrieve,
                     compose: ComposerChain) -> Answer:
        """A target's answer followed by what the next year's report says became of it: the
        tracker's paired outcome when it has one, else the next report's own answer."""
        later = self.scope.neighbour(doc, 1)
        if later is None:
            return answer
        cited = answer.citations[0]
        targets = [c for c in self.commitments if c.doc == doc and c.kind == "target"
                   and c.start < cited.end and cited.start < c.end]
        targets.sort(key=lambda c: -similarity(c.metric, part.topic or question))
        check = next((self.checks[t.id] for t in targets if t.id in self.checks), None)
        citations = Citations(answer.citations)
        if check is not None and check.outcome and check.outcome in self.by_id:
            n = citations.record(self.by_id[check.outcome], cited.score)
            text = f"{answer.answer} 实际：{self.by_id[check.outcome].clause}[{n}]，{self.words.status[check.status]}。"
            return dataclasses.replace(answer, answer=text, citations=citations.items)
        review = dataclasses.replace(part, scope="review")
        later_answer = compose.run(question, [review], [retrieve(review, (later,))], documents=[(later,)])
        if later_answer.found:
            text = f"{answer.answer} {citations.renumber(later_answer)}"
            return dataclasses.replace(answer, answer=text, citations=citations.items)
        return answer

    def promise_list(self, question: str, selections: Sequence[Selection]) -> Answer | None:
        """«江城去年定的目标哪些没完成？»: the tracker's missed (or kept) targets of one report; a
        report with no successor stands for the targets its own review judges (its predecessor's)."""
        w = self.words
        missed, met = has(question, w.missed), has(question, w.met)
        if not (missed or met) or not has(question, w.listing) or len(selections) != 1:
            return None
        ids = selections[0].doc_ids
        judged = (d if self.scope.neighbour(d, 1) else self.scope.neighbour(d, -1) for d in (ids or ()))
        docs = [d for d in dict.fromkeys(judged) if d]
        if len(docs) != 1:
            return None
        doc = docs[0]
        wanted = "missed" if missed else "met"
        main_only = has(question, w.main)
        rows = [(self.by_id[t], c) for t, c in self.checks.items()
                if c.status == wanted and self.by_id[t].doc == doc and (self.by_id[t].main_target or not main_only)]
        rows.sort(key=lambda r: (not r[0].main_target, r[0].start))
        label = self.scope.selector.label
        later, head = label(self.scope.neighbour(doc, 1) or ""), f"【{label(doc)}】"
        if not rows:
            return Answer(question=question, found=False, composer="promises",
                          answer=f"{head}据{later}，没有找到{w.status[wanted]}的目标。")
        citations = Citations()
        items = []
        for t, c in rows[: w.max_listed]:
            o = self.by_id.get(c.outcome or "")
            nt = citations.record(t)
            no = citations.record(o) if o else None
            items.append(f"{t.metric}目标{t.figure}[{nt}]，实际{c.outcome_figure}" + (f"[{no}]" if no else ""))
        more = f"；另有{len(rows) - w.max_listed}项，见“承诺清单”" if len(rows) > w.max_listed else ""
        text = f"{head}定的目标中，据{later}，{w.status[wanted]}的有{len(rows)}项：{'；'.join(items)}{more}。"
        return Answer(question=question, answer=text, found=True, citations=citations.items, composer="promises")
