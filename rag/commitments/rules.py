"""The tracker's slice of the lexicon (``rag/data/commitments.toml``), prepared once, and the
two cuts every part of the tracker makes: a clause's leading marker and spans cut at end marks.

How figures are written (units, qualifiers, magnitudes) is not here: the tracker reads figures
through the genre's ``FigureReader`` (``Lexicon.figures``).
"""

from __future__ import annotations

import re

from rag.genre.headings import HEADING_STYLES
from rag.genre.lexicon import Lexicon
from rag.genre.text import CN_NUMERAL, TRIM, strip_span

#: a heading's numbering (the corpus's styles) or an enumeration item's 一是/二是, at a clause start
MARKER = re.compile("^(?:" + "|".join(p.pattern for _, p in HEADING_STYLES) + rf"|[{CN_NUMERAL}]{{1,3}}是)\s*")


def split_at(text: str, a: int, b: int, ends: str) -> list[tuple[int, int]]:
    """``text[a:b]`` cut after each character of ``ends``, each piece trimmed; empty pieces dropped."""
    out, cur = [], a
    for i in range(a, b):
        if text[i] in ends:
            out.append((cur, i + 1))
            cur = i + 1
    if cur < b:
        out.append((cur, b))
    return [s for s in (strip_span(text, x, y, TRIM) for x, y in out) if s[1] > s[0]]


def longest_first(words: list[str]) -> list[str]:
    """Words sorted so a longer one is tried before its prefix (保持在 before 保持)."""
    return sorted(words, key=len, reverse=True)


class TrackerRules:
    """Word lists of the main-targets list, clauses and pairing, sorted once for matching."""

    def __init__(self, lexicon: Lexicon) -> None:
        main, cl = lexicon.table("main_targets"), lexicon.table("clauses")
        self.plan_context: list[str] = cl["plan_context_words"]
        self.main_headings: list[str] = main["headings"]
        self.max_line_chars: int = main["max_line_chars"]
        self.main_lead = re.compile(
            "(?:" + "|".join(map(re.escape, main["leads"])) + r")[^。！？\n：:]{0,8}[：:]"
        )
        self.max_parts: int = main["max_parts"]
        self.first_markers: tuple[str, ...] = tuple(main["first_markers"])
        self.qualitative_qualifiers: list[str] = lexicon.table("figures")["qualitative_qualifiers"]
        self.promise: list[str] = cl["promise_words"]
        self.lead_words = longest_first(cl["promise_words"] + cl["scope_words"] + cl["adverbs"])
        self.link_words = longest_first(cl["link_words"])
        self.qualitative_link_words = longest_first(cl["qualitative_link_words"])
        self.conjunctions = longest_first(cl["conjunctions"])
        self.qualitative_verbs: list[str] = cl["qualitative_verbs"]
        self.min_qualitative: int = cl["min_qualitative_chars"]
        self.references: list[str] = cl["reference_words"]
        self.bare_chars: int = cl["bare_metric_chars"]
        self.predicate_verbs: list[str] = cl["predicate_verbs"]
        self.respectively: str = cl["respectively"]
        self.min_similarity: float = lexicon.table("pairing")["min_similarity"]
