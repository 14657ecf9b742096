"""Candidate answer windows: runs of whole clauses of a retrieved unit's sentence.

A member of the public wants "地区生产总值增长7%", not the 300-character section around it, so
every run of whole clauses that overlaps the unit, within a length cap, is a candidate. A
sentence the chunker cut in two is joined again first, so a window can cross the cut.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from rag.core.cache import get_or_make
from rag.core.types import Document, Unit
from rag.genre.text import CLAUSE_ENDS, LINE_ENDS, SENTENCE_ENDS, TRIM, strip_span

_CLAUSE = re.compile(f"[^{CLAUSE_ENDS}{LINE_ENDS}]*[{CLAUSE_ENDS}{LINE_ENDS}]*")  # "、" joins list items, never splits
_SPAN_CACHE_UNITS = 20_000  # units whose candidate windows a cutter keeps (a few hundred bytes each)


@dataclass(frozen=True)
class Window:
    """A run of clauses that may answer, with what its scorer found."""

    unit: Unit
    start: int  # absolute offsets into the document text
    end: int
    text: str
    coverage: float
    score: float


class WindowCutter:
    """Cuts each unit's candidate windows once: the same for every question over this index."""

    def __init__(self, docs: dict[str, Document], units: list[Unit], *, max_chars: int) -> None:
        """``max_chars``: a window of several clauses stays within this (``WindowWeights``)."""
        self.docs, self.units, self.max_chars = docs, units, max_chars
        self._spans: dict[tuple[int, str, int, int], tuple[tuple[int, int], ...]] = {}

    def source(self, unit: Unit) -> str:
        """The text of the unit's report, which window offsets index."""
        return self.docs[unit.doc_id].text

    def spans(self, unit: Unit) -> tuple[tuple[int, int], ...]:
        """Runs of whole clauses of the unit's sentence that overlap the unit, within the length
        cap; cut once per unit, since the same units answer many questions (the cache is bounded)."""
        return get_or_make(self._spans, (unit.id, unit.doc_id, unit.start, unit.end),
                    lambda _: tuple(self.clause_runs(unit)), _SPAN_CACHE_UNITS)

    def clause_runs(self, unit: Unit) -> Iterator[tuple[int, int]]:
        """The candidate windows of ``unit``, cut afresh (``spans`` keeps them)."""
        text = self.docs[unit.doc_id].text
        lo, hi = self._sentence_span(unit)
        pieces = [(lo + m.start(), lo + m.end()) for m in _CLAUSE.finditer(text[lo:hi]) if m.end() > m.start()]
        for i in range(len(pieces)):
            for j in range(i, len(pieces)):
                a, b = strip_span(text, pieces[i][0], pieces[j][1], TRIM)
                if b <= unit.start or a >= unit.end:
                    continue  # a window must overlap the retrieved unit itself
                if b - a > self.max_chars and j > i:
                    break
                yield a, b

    def _sentence_span(self, unit: Unit) -> tuple[int, int]:
        """The unit plus neighbours cut from the same sentence, so a window can cross the cut."""
        lo, hi = unit.start, unit.end
        i = unit.id
        while i > 0 and self._joins(self.units[i - 1], self.units[i]):
            i -= 1
            lo = self.units[i].start
        j = unit.id
        while j + 1 < len(self.units) and self._joins(self.units[j], self.units[j + 1]):
            j += 1
            hi = self.units[j].end
        return lo, hi

    def _joins(self, a: Unit, b: Unit) -> bool:
        """Two units are one sentence cut in two: same section, no sentence end or line break between."""
        return (a.doc_id, a.section_id, a.kind, b.kind) == (b.doc_id, b.section_id, "text", "text") and \
            not a.text.endswith(tuple(SENTENCE_ENDS)) and "\n" not in self.docs[a.doc_id].text[a.end:b.start]
