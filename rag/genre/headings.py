"""How the genre numbers its headings: 第一部分 › 一、 › （一） › 1. › （1）, and Markdown titles.

Read by the section tree (``rag.ingest.corpus``), the PDF loader's heading test and the commitment
reader's marker strip, which must agree on what a heading is."""

from __future__ import annotations

import re

from rag.genre.text import CN_NUMERAL

#: (style, pattern); the pattern matches the numbering marker at a line start.
HEADING_STYLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("md", re.compile(r"#{1,6}[ \t]+")),
    ("part", re.compile(rf"第[{CN_NUMERAL}\d]+(?:部分|章|篇|节)[ \t　:：、]*")),
    ("cn", re.compile(rf"[{CN_NUMERAL}]+[、.．][ \t　]*")),
    ("cn_paren", re.compile(rf"[（(][{CN_NUMERAL}]+[）)][ \t　]*")),
    ("num", re.compile(r"\d{1,2}[.．、](?!\d)[ \t　]*")),
    ("num_paren", re.compile(r"[（(]\d{1,2}[）)][ \t　]*")),
)
#: the style of an unnumbered line that heads a part («2024年工作回顾», «名词解释»)
UNNUMBERED_PART = "part_line"
#: how the genre ranks its numberings, outermost first: 第一部分 › 一、 › （一） › 1. › （1）
HEADING_RANK = {style: i for i, (style, _) in enumerate(HEADING_STYLES) if style != "md"}
