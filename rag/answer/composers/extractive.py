"""The extractive composer: answers with the clause that answers, cites it verbatim, and
refuses when the retrieved text does not cover what was asked.

A member of the public wants "地区生产总值增长7%", not the 300-character section around it, so
the composer picks the smallest window of clauses that covers the question's topic (and its
figure or ranking when one is asked for), inside the best few retrieved units. Its parts live in
``rag.answer.windows``: the question's terms, the window cutting, the checks of a window, the
hand-set scorer with its named weights, and the learned scorer's view.
"""

from __future__ import annotations

from rag.answer.composers.base import (
    Citations,
    Hits,
    PartDocs,
    is_english,
    refusal_of,
    refusal_wording,
    related_sections,
)
from rag.answer.query import QueryPart
from rag.answer.window_scorer import WindowScorer
from rag.answer.windows.checks import WindowChecks
from rag.answer.windows.cutting import Window, WindowCutter
from rag.answer.windows.hand import HandScorer, SupportWeights, WindowWeights
from rag.answer.windows.learned import LearnedView
from rag.answer.windows.terms import QueryTerms, TermWeights
from rag.core.types import Answer, Document, ScoredUnit, Unit
from rag.genre.lexicon import Lexicon, Period
from rag.genre.paraphrase import Paraphrases, default_paraphrases
from rag.ingest.corpus import plan_year

_WINDOW, _SUPPORT = WindowWeights(), SupportWeights()  # the tuned weights (frozen): the default of every composer


class ExtractiveComposer:
    """Builds an ``Answer`` from retrieval hits for each question part; always answers (a refusal
    when the hits do not cover the question), so it ends the pipeline's chain."""

    name = "extractive"

    def __init__(self, documents: list[Document], units: list[Unit], weights: TermWeights, lexicon: Lexicon, *,
                 refusal_threshold: float, intent_words: frozenset[str] = frozenset(),
                 window: WindowWeights = _WINDOW, support: SupportWeights = _SUPPORT,
                 scorer: WindowScorer | None = None, paraphrases: Paraphrases | None = None) -> None:
        self.docs = {d.id: d for d in documents}
        self.lexicon = lexicon
        self.plan_years = {d.id: plan_year(d) for d in documents}
        paraphrases = paraphrases or default_paraphrases()
        #: place names of the loaded reports (江城市 and 江城): they choose the report, and are no
        #: topic a passage must repeat
        self.places = frozenset(n for d in documents if d.report.region
                                for n in (d.report.region, d.report.region.rstrip("市省县区州盟旗")))
        self.terms = QueryTerms(weights, lexicon, paraphrases, places=self.places, intent_words=intent_words,
                                intent_term=support.intent_term, partial_term=support.partial_term)
        self.cutter = WindowCutter(self.docs, units, max_chars=window.max_chars)
        self.checks = WindowChecks(lexicon, self.plan_years, self.places)
        self.hand = HandScorer(self.terms, self.cutter, self.checks, window=window, support=support)
        self.learned = LearnedView(self.terms, self.cutter, self.checks, paraphrases, window=window)
        self.hand_threshold = refusal_threshold
        self.set_scorer(scorer)

    def set_scorer(self, scorer: WindowScorer | None) -> None:
        """Swap the window scorer: ``None`` for the hand-set weights and the coverage threshold, or
        a learned ``WindowScorer`` that picks the window and refuses below its own threshold."""
        self.scorer = scorer
        self.refusal_threshold = scorer.threshold if scorer else self.hand_threshold

    def answer_part(self, part: QueryPart, hits: list[ScoredUnit],
                    used: frozenset[tuple[str, int, int]] = frozenset()) -> tuple[Window | None, float]:
        """The best window among the top hits and how well it supports an answer (compared with
        ``refusal_threshold``); ``used`` holds windows that answered earlier parts of the
        question, which this part must not repeat. Training data reads it too."""
        if self.scorer is not None:
            return self.learned.answer(part, hits, used, self.scorer)
        return self.hand.answer(part, hits, used)

    def period(self, window: Window) -> Period:
        """The part of its report a window stands in, and the period that part speaks of."""
        u = window.unit
        return self.lexicon.section_period(u.section_path, self.plan_years.get(u.doc_id))

    def framed(self, window: Window, body: str | None = None) -> str:
        """``body`` (the window's text) after the period its section speaks of («2023年：»), unless
        the window names it: the answer sentence without its citation marker."""
        when = self.period(window).label
        body = window.text if body is None else body
        return f"{when}：{body}" if when and when not in window.text else body

    def _sentence(self, window: Window, n: int, *, english: bool) -> str:
        """The answer sentence for a window: the quote after the period it speaks of ("2023年："),
        or after a short English frame for an English question ("2023 target: ")."""
        if not english:
            text = window.text
            return f"{self.framed(window, text if text.endswith(tuple('。！？')) else text + '。')}[{n}]"
        planned = self.plan_years.get(window.unit.doc_id)
        period = self.period(window)
        words = self.lexicon.table("english")
        if period.scope == "plan":
            frame = words["plan"].format(year=planned) if planned else words["plan_no_year"]
        elif period.scope == "review":
            frame = words["review"].get(period.horizon) or (
                words["review_year"].format(year=period.horizon) if period.horizon.isdigit()
                else words["review_default"])
        else:
            frame = ""
        return f"{frame}: {window.text}[{n}]" if frame else f"{window.text}[{n}]"

    def run(self, question: str, parts: list[QueryPart], hits: Hits, *, documents: PartDocs = ()) -> Answer:
        """One sentence per answered part, citing its window; a refusal sentence per part the
        hits do not cover (they come from ``documents`` already)."""
        citations = Citations()
        sentences: list[str] = []
        missing: list[tuple[QueryPart, list[ScoredUnit]]] = []
        used: set[tuple[str, int, int]] = set()
        for part, part_hits in zip(parts, hits, strict=False):
            window, support = self.answer_part(part, list(part_hits), frozenset(used))
            if window is None or support < self.refusal_threshold:
                missing.append((part, list(part_hits)))
                continue
            u = window.unit
            used.add((u.doc_id, window.start, window.end))
            n = citations.add(u.doc_id, u.section_id, " › ".join(u.section_path), window.text, window.start,
                              window.end, part_hits[0].score)
            sentences.append(self._sentence(window, n, english=is_english(question)))
        topics = ["".join(w for w in p.topic.split() if w not in self.places) for p, _ in missing]  # 焦作 is no topic
        related = related_sections([h for _, h in missing], topics=topics) if missing else []
        titles = [r.title for r in related]
        refused = refusal_of([p for p, _ in missing], shared=parts[0]) if missing else None
        if refused is not None:  # one refusal for everything not covered, however many clauses asked
            sentences.append(refusal_wording(refused.topics, titles, english=is_english(question),
                                             closest=not citations.items))
        return Answer(question=question, answer=" ".join(sentences), found=bool(citations.items),
                      citations=citations.items, related_sections=titles, related_refs=related, composer=self.name,
                      refusal=refused)
