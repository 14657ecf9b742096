"""Markup in plain-text reports is structure, never text.

Reports copied from web pages arrive as Markdown: bold headings (``**一、2024年工作回顾**``), ``#``
headings, HTML comments holding photo captions, tables, block quotes, list bullets, footnote marks
and HTML entities. A reader never sees those characters, so neither may a quote: this module
removes them and says which lines the markup declared as headings (``md2`` for ``##``, ``bold``
for a line that is one bold span), so the heading parser can use what the markers meant. Every
character of the report itself is kept, in order; nothing is added except the space between the
cells of a table row.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from rag.genre.text import HTML_COMMENT

#: over the whole text, before it is cut into lines: entities, and <br> as a line break
_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#\d{2,6}|#x[0-9A-Fa-f]{2,5});")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)

#: lines that are markup only: a horizontal rule, a table's rule, or white space once marks are gone
_RULE = re.compile(r"(?:-{3,}|\*{3,}|_{3,})")
_TABLE_RULE = re.compile(r"\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+(?:[ \t]*:?-{3,}:?[ \t]*)?")
_EMPTY_LINE = re.compile(r"[ \t\u3000]*")

#: what a line may open with, read in this order: a block quote, ``#`` or a bullet, a footnote's label
_QUOTE = re.compile(r"(?:>[ \t]?)+")
_HASHES = re.compile(r"(#{1,6})[ \t]+")
_BULLET = re.compile(r"[-*+][ \t]+")
_FOOTNOTE_DEF = re.compile(r"\[\^[^\]\s]{1,8}\]:[ \t]*")

#: marks inside a line, removed in this order, with what stays of each: footnote references and
#: images go, a link leaves its text
_INLINE = (
    (re.compile(r"\[\^[^\]\s]{1,8}\]"), ""),
    (re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)"), ""),
    (re.compile(r"\[([^\]\n]+)\]\((?:https?://|/|\.)[^)\n]*\)"), r"\1"),
)
#: bold, which a line may be nothing but (a heading)
_BOLD = re.compile(r"\*\*")
_WHOLE_BOLD = re.compile(r"\*\*([^*\n]+)\*\*[ \t]*")


@dataclass(frozen=True, slots=True)
class Cleaned:
    """Text without markup, and the lines the markup declared as headings (line offset → label)."""

    text: str
    marks: dict[int, str]


def table_row(cells: list[str]) -> str:
    """One table row as one line, its cells apart by a space: «城镇新增就业 3200人以上» stays one
    clause, so a figure keeps the metric its row names."""
    return " ".join(c for c in cells if c)


def _table_cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return [" ".join(_BREAK.sub(" ", _BOLD.sub("", c)).split()) for c in inner.split("|")]


def _is_table_row(line: str) -> bool:
    body = line.strip()
    return body.startswith("|") and body.count("|") >= 2


def _line(line: str) -> tuple[str | None, str | None]:
    """One source line without its markup, and the heading label the markup gives it;
    None for a line that was only markup (a table rule, a horizontal rule)."""
    body = line.strip()
    if _is_table_row(line):
        return (None, None) if _TABLE_RULE.fullmatch(body) else (table_row(_table_cells(body)), None)
    if _RULE.fullmatch(body):
        return None, None
    lead = line[: len(line) - len(line.lstrip(" \t\u3000"))]
    rest = line[len(lead):]
    label = None
    if m := _QUOTE.match(rest):
        rest = rest[m.end():]
    if m := _HASHES.match(rest):
        label, rest = f"md{len(m.group(1))}", rest[m.end():]
    elif m := _BULLET.match(rest):
        rest = rest[m.end():]
    if m := _FOOTNOTE_DEF.match(rest):
        rest = rest[m.end():]
    for mark, kept in _INLINE:
        rest = mark.sub(kept, rest)
    if label is None and _WHOLE_BOLD.fullmatch(rest):
        label = "bold"
    return lead + _BOLD.sub("", rest), label


def strip_markup(text: str) -> Cleaned:
    """``text`` without Markdown/HTML markup; see the module docstring for what counts."""
    text = HTML_COMMENT.sub("", text)
    text = _ENTITY.sub(lambda m: html.unescape(m.group()), text)
    lines: list[str] = []
    marks: dict[int, str] = {}
    pos = 0
    for source in text.split("\n"):
        for raw in [source] if _is_table_row(source) else _BREAK.split(source):
            line, label = _line(raw)
            if line is None:
                continue
            if label and not _EMPTY_LINE.fullmatch(line):
                marks[pos] = label
            lines.append(line)
            pos += len(line) + 1
    out = "\n".join(lines)
    return Cleaned(out, marks)
