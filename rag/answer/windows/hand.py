"""The hand-set window scorer: which candidate window answers a question part, and how well it
supports an answer (below the refusal threshold it is a refusal). Its weights are named and
documented here, at the top, where tuning reads and changes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.answer.composers.base import is_english
from rag.answer.query import QueryPart
from rag.answer.windows.checks import WindowChecks
from rag.answer.windows.cutting import Window, WindowCutter
from rag.answer.windows.terms import QueryTerms, Term, novel_chars, proximity, without
from rag.core.types import ScoredUnit, Unit
from rag.genre.text import has_figure_in


@dataclass(frozen=True)
class WindowWeights:
    """How a candidate window of clauses is scored; tuned on the dev set."""

    coverage: float = 2.0  # share of the question's terms the window itself contains
    context_coverage: float = 0.5  # ... that its heading path contains
    novelty: float = 0.3  # saying something beyond the question's own words
    novelty_chars: int = 12  # characters of novelty that earn it fully
    length_penalty: float = 0.004  # per character beyond free_chars: the shortest answer wins
    free_chars: int = 25
    measure: float = 0.4  # a figure in the unit asked for ("多少公里" → 公里); kinds earn theirs from data
    chapter_heading: float = 1.0  # "第三部分讲什么" answered by that chapter's own heading
    heading: float = -0.4  # any other heading: it names a topic, it does not answer
    max_chars: int = 80  # a window of several clauses stays within this
    proximity: float = 0.2  # a figure asked: its terms close together, as asked (城镇新增就业 before 新增农村…就业)
    other_metric: float = 0.5  # a figure asked, and the window's only figures are changes (比去年提高0.2万人)
    other_year: float = 1.0  # a question naming a year other than the report's: a window not naming it


@dataclass(frozen=True)
class SupportWeights:
    """How well the chosen window supports an answer; below the refusal threshold it is a refusal."""

    retrieval: float = 1.0  # the hit's retrieval score relative to the best, added to the window score
    rank_decay: float = 0.05  # per rank position
    intent_term: float = 0.3  # weight of intent words ("计划", "目标") among the topic's terms
    partial_term: float = 0.7  # credit of a long term found only through its parts
    english_dense_floor: float = 0.80  # an English question is judged by meaning: cosine at 0 support
    english_dense_span: float = 0.12  # ... and the cosine range to full support
    other_metric: float = 0.5  # the window's figure measures another metric
    missing_form: float = 0.3  # "多少公里" answered without any distance
    other_year: float = 0.4  # a question about one named year answered without that year
    # soft matching by meaning: the question words the window misses count partly covered when the
    # embedding model finds the window's unit very close to the question (dense cosine from floor to
    # floor+span earns up to ``meaning_share`` of the missing coverage). Chosen by grid on the tuning
    # report's parts only (eval/dev.jsonl + the made-up refusals of tests/test_generalisation.py):
    # best part accuracy, then the highest floor and smallest share (notes/issue-12c.md). Cosines of
    # this model are compressed (unanswerables reach 0.92), so the credit is small and the share stays
    # far below the refusal threshold: closeness alone, with few words of the question, never answers.
    meaning_floor: float = 0.875
    meaning_span: float = 0.02
    meaning_share: float = 0.15


class HandScorer:
    """Picks a part's window by the hand-set weights and gates it by its support."""

    def __init__(self, terms: QueryTerms, cutter: WindowCutter, checks: WindowChecks, *,
                 window: WindowWeights, support: SupportWeights) -> None:
        self.terms, self.cutter, self.checks = terms, cutter, checks
        self.w, self.s = window, support

    def answer(self, part: QueryPart, hits: list[ScoredUnit],
               used: frozenset[tuple[str, int, int]]) -> tuple[Window | None, float]:
        """The best window among the hits (none of ``used``) and its support."""
        terms = self.terms.of(part)
        if part.chapter:  # "第三部分讲什么" is answered inside that chapter
            hits = [h for h in hits if h.unit.section_id.split(".")[0] == str(part.chapter)]
        picked = self._pick(part, hits, terms, used) if hits else None
        if picked is None:
            return None, 0.0
        window, hit = picked
        return window, self.support(window, hit, part, terms)

    def _pick(self, part: QueryPart, hits: list[ScoredUnit], terms: list[Term],
              used: frozenset[tuple[str, int, int]]) -> tuple[Window, ScoredUnit] | None:
        """The best window among the hits, weighing its own score with its hit's retrieval rank."""
        top = hits[0].score or 1.0
        scored = []
        for rank, hit in enumerate(hits):
            w = self.best_window(hit, part, terms)
            if (w.unit.doc_id, w.start, w.end) not in used:
                scored.append((w.score + self.s.retrieval * hit.score / top - self.s.rank_decay * rank, w, hit))
        if not scored:
            return None
        _, window, hit = max(scored, key=lambda x: x[0])
        return window, hit

    def best_window(self, hit: ScoredUnit, part: QueryPart, terms: list[Term]) -> Window:
        """The best-scoring run of whole clauses of the hit's sentence that overlaps the hit."""
        u = hit.unit
        context = " ".join(u.section_path)
        text = self.cutter.source(u)
        context_coverage = self.terms.coverage(terms, context)  # one heading path for all the hit's windows
        best: tuple[float, int, int] | None = None  # score, start, end: the Window is built for the winner only
        for a, b in self.cutter.spans(u):
            score = self._window_score(text[a:b], context, u, part, terms, context_coverage)
            if best is None or score > best[0]:
                best = (score, a, b)
        if best is None:  # a unit with no clause text (cannot happen for stripped units)
            return Window(u, u.start, u.end, u.text, self.terms.coverage(terms, u.text + " " + context), 0.0)
        score, a, b = best
        return Window(u, a, b, text[a:b], self.terms.coverage(terms, text[a:b] + " " + context), score)

    def _window_score(self, span: str, context: str, u: Unit, part: QueryPart, terms: list[Term],
                      context_coverage: float) -> float:
        """``context_coverage`` is the terms' coverage of ``context``, the same for all of a hit's windows."""
        w, checks = self.w, self.checks
        score = w.coverage * self.terms.coverage(terms, span) + w.context_coverage * context_coverage
        rest = without(span, terms)
        novel = novel_chars(rest)  # what the window says beyond the question
        score += w.novelty * min(novel, w.novelty_chars) / w.novelty_chars \
            - w.length_penalty * max(len(span) - w.free_chars, 0)
        if checks.misses_year(span + " " + context, u, part):  # «到2026年…» before this year's targets
            score -= w.other_year
        score += checks.kind_bonus(span, rest, part, measure=w.measure)
        if part.wants_number:  # which of several figures: the one whose metric reads as asked
            score += w.proximity * proximity(span, terms)
        if checks.only_changes(rest, against=part.wants_number, increments=not checks.asks_change(part)):
            score -= w.other_metric
        if part.chapter and u.kind == "heading" and u.section_id == str(part.chapter):
            score += w.chapter_heading  # "第三部分讲什么" is answered by that chapter's own heading
        elif u.kind == "heading" and not (part.measure and checks.answers_form(span, part)):
            score += w.heading  # a heading names a topic; it answers only questions about the report's parts
        return score

    def support(self, window: Window, hit: ScoredUnit, part: QueryPart, terms: list[Term]) -> float:
        """How well a window supports an answer (the hand-set gate): its coverage of the question,
        cut when its figure measures another metric, the asked form is missing or the year differs."""
        s, checks = self.s, self.checks
        if part.chapter and window.unit.section_id.split(".")[0] == str(part.chapter):
            support = 1.0  # the chapter asked about exists; its heading answers what it is about
        elif terms:
            support = self.soft_coverage(window.coverage, hit)
        elif is_english(part.text) and hit.dense is not None:  # no report wording: judge by meaning
            support = (hit.dense - s.english_dense_floor) / s.english_dense_span
        else:
            support = 0.0  # "那过去五年呢？" with nothing to follow up on has no topic to answer
        if part.wants_number and not part.wants_rank and not (part.measure and checks.answers_form(window.text, part)) \
                and not checks.figure_is_about(window.text, terms):
            support *= s.other_metric  # the figure measures something else ("常住人口城镇化率提高1个百分点")
        support *= self._form_penalty(window.text, part)
        if checks.misses_year(window.text + " ".join(window.unit.section_path), window.unit, part):
            support *= s.other_year  # a question about one named year is not answered by a five-year total
        return support * checks.qualified(part, window, terms)

    def soft_coverage(self, coverage: float, hit: ScoredUnit) -> float:
        """Coverage with the missed words partly credited when the unit means what was asked:
        «孩子上学的位置» is not spelled «学位», but the passage about it is the closest one.
        Costs nothing per question: the cosine is the retriever's."""
        if hit.dense is None:
            return coverage
        s = self.s
        close = min(1.0, max(0.0, (hit.dense - s.meaning_floor) / s.meaning_span)) if s.meaning_span > 0 else 0.0
        return coverage + (1.0 - coverage) * s.meaning_share * close

    def _form_penalty(self, span: str, part: QueryPart) -> float:
        """"多少公里" answered without any distance, "什么时候" without a date, is no answer."""
        factor = self.s.missing_form if part.measure and not has_figure_in(span, part.measure) else 1.0
        for name in sorted(part.kinds):  # a set's order varies by process: the product must not
            kind = self.checks.lexicon.kinds[name]
            if kind.required and not kind.form.search(span):
                factor *= kind.penalty
        return factor
