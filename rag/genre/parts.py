"""The parts of a government work report: which lines head them, and what kind each part is.

A report is a handful of parts (the review of past work, the plan ahead, the government's own
conduct, and after the speech a glossary or appendices), headed in whatever form the drafting office
or the web page chose: 「一、2024年工作回顾」, 「第一部分」, or an unnumbered line 「2024年工作回顾」.
The vocabulary is the ``[parts]`` table of ``rag/data/sections.toml``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from rag.genre.lexicon import Lexicon, pattern
from rag.genre.text import YEAR


@dataclass(frozen=True)
class _Kind:
    name: str
    words: tuple[str, ...]
    lines: tuple[re.Pattern[str], ...]


class PartReader:
    """Tells an unnumbered part heading from a sentence, and a part's kind from its heading."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        table = (lexicon or Lexicon.default()).table("parts")
        self.kinds = tuple(_Kind(name, tuple(table[name]["words"]), tuple(pattern(p) for p in table[name]["lines"]))
                           for name in table["order"])
        self.max_line_chars: int = table["max_line_chars"]
        self.no_line_chars: str = table["no_line_chars"]
        self.follows: str = table["follows"]
        self.opens: tuple[str, ...] = tuple(table["opens"])
        self.joins: tuple[str, ...] = tuple(table["split_joins"])
        self.max_fragment_chars: int = table["max_fragment_chars"]

    def is_part_line(self, line: str) -> bool:
        """Whether a whole line with no numbering heads a part («2024年工作回顾», «名词解释»)."""
        line = line.strip()
        if not line or len(line) > self.max_line_chars or any(c in self.no_line_chars for c in line):
            return False
        return any(p.fullmatch(line) for k in self.kinds for p in k.lines)

    def split_before(self, line: str, part_line: str) -> bool:
        """Whether ``part_line`` («和2020年工作回顾») ends a heading a page break split, whose
        first half is ``line`` («“十三五”发展成就»): it opens with a joining word."""
        return part_line.strip().startswith(self.joins) and self._fragment(line)

    def split_after(self, title: str, line: str, *, part: bool = True) -> bool:
        """Whether ``line`` («工作回顾») is the rest of a heading line a page break split after
        ``title`` («一、2020年和“十三五”», as written): the title ends with a joining word, or, for a
        ``part`` heading, only the two together name a kind of part; a title that ends with
        punctuation is complete."""
        if not self._fragment(line) or title.rstrip()[-1:] in self.no_line_chars + "：:":
            return False
        return title.rstrip().endswith(self.joins) or (
            part and not self.kind_of(title) and bool(self.kind_of(title + line)))

    def _fragment(self, line: str) -> bool:
        line = line.strip()
        return 0 < len(line) <= self.max_fragment_chars and not any(c in self.no_line_chars + "：:" for c in line)

    def kind_of(self, title: str) -> str:
        """The kind one part heading names, "" when it names none."""
        return next((k.name for k in self.kinds if any(w in title for w in k.words)), "")

    def kinds_of(self, titles: list[str]) -> list[str]:
        """The kinds of a report's top-level parts, in order. A part that names no kind takes
        ``follows`` after a part of the ``opens`` kinds (task headings of the plan), the kind of
        the part before it after any other (the items of an appendix), and a plan part
        whose latest year is the year before another plan part's is the review («2018年主要工作»
        before «2019年工作安排»; «2023年工作安排» beside «2035年远景目标» stays the plan)."""
        kinds = [self.kind_of(t) for t in titles]
        plan_years = [int(y) for t, k in zip(titles, kinds, strict=True) if k == "plan" for y in YEAR.findall(t)]
        for i, (title, kind) in enumerate(zip(titles, kinds, strict=True)):
            years = [int(y) for y in YEAR.findall(title)]
            before = kinds[i - 1] if i else ""
            if kind == "plan" and years and max(years) + 1 in plan_years:
                kinds[i] = "review"
            elif not kind and before:
                kinds[i] = self.follows if before in self.opens else before
        return kinds


@cache
def default_parts() -> PartReader:
    return PartReader()
