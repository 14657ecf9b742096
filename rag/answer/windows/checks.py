"""What a candidate window says about the asked part, beyond its words: whether its figure
measures the metric asked, states a level or only a change, has the asked form (a unit, a date,
a name), names the asked year and carries the question's distinguishing qualifier. The hand-set
scorer and the learned scorer's facts read the same checks.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rag.answer.query import QueryPart
from rag.answer.windows.cutting import Window
from rag.answer.windows.qualifiers import Qualifiers
from rag.answer.windows.terms import Term
from rag.core.types import Unit
from rag.genre.lexicon import Lexicon
from rag.genre.text import CLAUSE_ENDS, NUMBER, has_figure_in, strip_ends, tokenize

_CLAUSE_CUT = re.compile(f"[{CLAUSE_ENDS}。]")  # the clause a figure sits in
_ITEM_CUT = re.compile(f"[{CLAUSE_ENDS}。、]")  # ... or its list item


@lru_cache(maxsize=256)
def _found(pattern: re.Pattern[str], text: str) -> bool:
    """A question's own pattern tests, which every candidate window asks again: remembered."""
    return pattern.search(text) is not None


class WindowChecks:
    """The checks of a window against a question part, with the genre words they need."""

    def __init__(self, lexicon: Lexicon, plan_years: dict[str, int | None], places: frozenset[str]) -> None:
        """``plan_years``: each report's plan year; ``places``: the loaded reports' place names."""
        self.lexicon, self.plan_years, self.places = lexicon, plan_years, places
        figures = lexicon.table("figures")
        self._links = sorted(figures["metric_links"], key=len, reverse=True)
        self.qualifiers = Qualifiers.from_table(lexicon.table("qualifiers"))
        #: what may stand between a metric and its figure: links, and the figure's own qualifier
        #: («提高到每人每年640元»: 每人每年 qualifies 640元, the metric is before 提高)
        self._before_figure = tuple(sorted({*self._links, *self.qualifiers.words()}, key=len, reverse=True))
        self._comparisons = tuple(figures["comparison_marks"])
        self._increments = tuple(sorted(figures["increment_links"], key=len, reverse=True))
        self._change_ask = re.compile(lexicon.table("question")["change_pattern"], re.IGNORECASE)

    def answers_form(self, span: str, part: QueryPart) -> bool:
        """Whether a span has the kind of answer asked for: a figure in the asked unit, a date, a name."""
        if part.measure and not has_figure_in(span, part.measure):
            return False
        return all(self.lexicon.has_form(k, span) for k in part.kinds if self.lexicon.kinds[k].required)

    def asks_change(self, part: QueryPart) -> bool:
        """Whether the part asks how much a figure changed («提高了多少»), not its level."""
        return _found(self._change_ask, part.text)

    def kind_bonus(self, span: str, rest: str, part: QueryPart, *, measure: float) -> float:
        """What the asked kinds earn a window that has their answer's form ([kinds.*] in the data),
        plus ``measure`` for a figure in the asked unit; ``rest`` is the span without the
        question's own words."""
        bonus = measure if part.measure and has_figure_in(span, part.measure) else 0.0
        for name in sorted(part.kinds):  # a set's order varies by process: the sum must not
            kind = self.lexicon.kinds[name]
            if kind.bonus and kind.form.search(rest if kind.on_rest else span):
                bonus += kind.bonus
        return bonus

    def misses_year(self, text: str, u: Unit, part: QueryPart) -> bool:
        """Whether ``text`` (of unit ``u``, with its heading path) leaves out the year the part asks
        about, when that year is not its report's own plan year. The year before the plan year is
        the one the review part speaks of, named or not («2024年…多少» of a 2025 report)."""
        planned = self.plan_years.get(u.doc_id)
        year = part.year or (planned - 1 if part.last_year and planned else None)
        if not year or year == planned or str(year) in text:
            return False
        if not planned or year != planned - 1:
            return True
        period = self.lexicon.section_period(u.section_path, planned)  # a five-year review is no one year's
        return period.scope == "plan" or (period.scope == "review" and not period.horizon.isdigit()
                                          and period.horizon != self.lexicon.review_default)

    def only_changes(self, text: str, *, against: bool = True, increments: bool = False) -> bool:
        """Whether every figure of ``text`` states a change, not the metric's level: with
        ``against``, a figure after a comparison mark in its clause (比去年, 同比); with
        ``increments``, one right after an increment link («标准提高30元», where «提高到670元» is
        the level). A question asking for the level («标准是多少») wants the other window."""
        figures = list(NUMBER.finditer(text))
        if not figures or not (against or increments):
            return False
        clauses = (_CLAUSE_CUT.split(text[: m.start()])[-1] for m in figures)  # each figure's clause, cut once
        return all((against and any(mark in clause for mark in self._comparisons))
                   or (increments and clause.rstrip().removesuffix("了").endswith(self._increments))
                   for clause in clauses)

    def figure_is_about(self, span: str, terms: list[Term]) -> bool:
        """Whether some figure in the span belongs to a metric the question names: the word
        before it once links like 提高/达 are stripped (each item of a 、 list), or the noun
        counted after it ("833个省市重点项目")."""
        words = [a for t in terms for a in t.alternatives if a not in self._links]
        masked = span
        for w in words:
            masked = masked.replace(w, "\0" * len(w))  # a figure inside a term (PM2.5) is no figure
        figures = list(NUMBER.finditer(masked))
        if not figures or not words:
            return True
        for m in figures:
            heads = [self._head(item) for item in _CLAUSE_CUT.split(span[: m.start()])[-1].split("、")]
            after = _ITEM_CUT.split(span[m.end():])[0]
            heads += [t for t in tokenize(after) if len(t) > 1]  # the noun a count counts
            if any(h and (h in w or w in h) for h in heads for w in words):
                return True
        return False

    def _head(self, text: str) -> str:
        """The last word of ``text`` after trailing links (提高, 达, 分别 …) and the figure's
        qualifiers (每人每年) are stripped."""
        tokens = [t for t in tokenize(strip_ends(text, self._before_figure)) if len(t) > 1]
        return tokens[-1] if tokens else ""

    def qualified(self, part: QueryPart, window: Window, terms: list[Term]) -> float:
        """1.0, or the cut for a window missing the question's distinguishing qualifier or
        holding only a placeholder (rag/data/qualifiers.toml)."""
        return self.qualifiers.factor(part.text, window.text, window.unit.section_path,
                                      [t.alternatives for t in terms if t.alternatives[0] not in self.places])
