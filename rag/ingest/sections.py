"""The section tree of one report's text: which lines head sections, and how they nest.

Government work reports are written in Word and exported with a handful of numbering
conventions (``第一部分``, ``一、``, ``（一）``, ``1.``, ``（1）``, Markdown ``#``) nested in
whatever order the drafting office chose, plus in-paragraph enumerations (``一是……二是……``).
Nesting is therefore inferred from the order styles appear in, not from a fixed ranking; Markdown
``#`` headings are the exception: their level is written down, so they nest by it (``## 一、`` is a
level-2 heading whatever its numbering says) and numbered lines without ``#`` nest inside them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rag.core.types import Section
from rag.genre.headings import HEADING_RANK, HEADING_STYLES, UNNUMBERED_PART
from rag.genre.lexicon import Lexicon
from rag.genre.parts import default_parts
from rag.genre.text import CN_NUMERAL, chinese_number

#: numberings that head a report's parts (第一部分, 一、), as opposed to the sections inside them
_PART_STYLES = frozenset({"part", "cn"})
#: styles an unnumbered part heading sits inside (``第一部分``, ``#`` titles), not beside
_PART_CONTAINERS = frozenset({"part"})
_ORDINAL = re.compile(rf"[{CN_NUMERAL}\d]+")
_ENUM_ITEM = re.compile(rf"(?:^|(?<=[。；;！!？?：:\n]))[ \t　]*([{CN_NUMERAL}]{{1,3}})是")
_TITLE_END = "。！？!?："
_CLAUSE_END = "，；;,"
MAX_TITLE_CHARS = 40


@dataclass(frozen=True, slots=True)
class Heading:
    """One line (or two, split by a page break) that heads a section, with its style and offsets."""

    style: str
    start: int  # line start
    heading_end: int  # end of the title (end of line, or of the first sentence if inline)
    title: str
    number: int | None = None  # the ordinal its marker writes (二 of 「二、」), None without one


def _title_span(line: str, marker_end: int) -> int:
    """Where a heading's title ends within its line; long lines carry body text after it."""
    rest = line[marker_end:]
    stripped = rest.rstrip()
    if len(stripped) <= MAX_TITLE_CHARS and not any(c in stripped[:-1] for c in _TITLE_END):
        return marker_end + len(stripped)
    for ends in (_TITLE_END, _CLAUSE_END):
        idx = [i for i, c in enumerate(rest[: MAX_TITLE_CHARS + 1]) if c in ends]
        if idx:
            return marker_end + idx[0] + 1
    return marker_end + len(stripped)


def _display_title(line: str, marker_end: int, title_end: int) -> str:
    """Normalises ``3.持续改进作风`` to ``3. 持续改进作风`` for display only; offsets are untouched."""
    raw_marker = line[:marker_end]
    marker = raw_marker.strip()
    body = line[marker_end:title_end].strip().rstrip(_TITLE_END + _CLAUSE_END + "。")
    if marker.startswith("#"):
        return body
    spaced = raw_marker != raw_marker.rstrip() or re.fullmatch(r"\d{1,2}[.．]", marker)
    return f"{marker} {body}" if spaced and body else marker + body


def _line_heading(body: str, label: str | None) -> tuple[str, int, str, int | None] | None:
    """(style, title end, display title, ordinal) when a line (without its indent) heads a section.

    A ``#`` heading keeps the level its markup wrote; else a numbering marker decides; else an
    unnumbered line that reads as a part heading («2024年工作回顾», «名词解释») is one; else a line
    the file marks as a heading (a Word heading style, ``<h3>``, ``<p><strong>``) is one. A line
    that is only bold (``bold``) is a heading by its numbering or its words, not by being bold:
    web pages bold whole sentences too."""
    if label and _md_level(label) is not None:
        end = _title_span(body, 0)
        return label, end, _display_title(body, 0, end), None
    for style, pattern in HEADING_STYLES:
        m = pattern.match(body)
        if m and m.end() < len(body.rstrip()):
            end = _title_span(body, m.end())
            if style == "md":  # the level is part of the style: ``#`` and ``##`` are different styles
                style = f"md{len(m.group().rstrip())}"
            ordinal = _ORDINAL.search(m.group())
            return style, end, _display_title(body, m.end(), end), ordinal and chinese_number(ordinal.group())
    title = body.rstrip()
    if title and default_parts().is_part_line(title):
        return UNNUMBERED_PART, len(title), title.strip(), None
    if label and label != "bold" and title:
        return label, len(title), title, None
    return None


def find_headings(text: str, marked: Mapping[int, str] | None = None) -> list[Heading]:
    """Headings by numbering marker; ``marked`` lines (line offset → style label) are headings the
    file itself declares (a Word heading style, ``<h3>``, ``<p><strong>``) even without a marker.
    A heading a page break split over two lines («一、2020年和“十三五”» / «工作回顾») is one heading."""
    headings: list[Heading] = []
    marked = marked or {}
    lines = _lines(text)
    parts = default_parts()
    for i, (pos, content) in enumerate(lines):
        lead = len(content) - len(content.lstrip(" \t　"))
        found = _line_heading(content[lead:], marked.get(pos))
        if not found:
            continue
        style, end, title, ordinal = found
        start, end = pos, pos + lead + end
        before, after = (lines[i - 1] if i else None), (lines[i + 1] if i + 1 < len(lines) else None)
        if style == UNNUMBERED_PART and before and parts.split_before(before[1], title) \
                and not (headings and headings[-1].start == before[0]):
            start, title = before[0], before[1].strip() + title
        elif end == pos + len(content.rstrip()) and after and marked.get(after[0], "bold") == "bold" \
                and parts.split_after(content.strip(), after[1], part=style in _PART_STYLES) \
                and not any(p.match(after[1].strip()) for _, p in HEADING_STYLES):
            end, title = after[0] + len(after[1].rstrip()), title + after[1].strip()
        if headings and start < headings[-1].heading_end:  # the line ended the previous heading
            continue
        headings.append(Heading(style, start, end, title, ordinal))
    return headings


def _lines(text: str) -> list[tuple[int, str]]:
    """The text's non-blank lines with their offsets."""
    out, pos = [], 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            out.append((pos, line.rstrip("\n")))
        pos += len(line)
    return out


class _TreeBuilder:
    """Assigns dotted ids and parents; a style seen again closes everything opened after it."""

    def __init__(self, doc_id: str, text: str) -> None:
        self.doc_id, self.text = doc_id, text
        self.nodes: list[dict] = []

    def build(self, headings: list[Heading]) -> list[Section]:
        stack: list[tuple[str, int]] = []  # (style, node index)
        counters: dict[str | None, int] = {}
        depth_of: dict[str, int] = {}  # the depth each style was first used at
        first = headings[0].start if headings else len(self.text)
        if self.text[:first].strip():
            self._add("0", "前言" if headings else "全文", None, 0, 0, "preamble")
        elif headings:  # leading blank lines belong to the first heading
            headings[0] = Heading(headings[0].style, 0, headings[0].heading_end, headings[0].title, headings[0].number)
        for h in headings:
            _close(stack, h, depth_of)
            depth_of.setdefault(h.style, len(stack))
            parent = self.nodes[stack[-1][1]]["id"] if stack else None
            counters[parent] = counters.get(parent, 0) + 1
            sid = f"{parent}.{counters[parent]}" if parent else str(counters[parent])
            stack.append((h.style, self._add(sid, h.title, parent, h.start, h.heading_end, h.style)))
        self._close_spans()
        self._add_enumerations()
        return self._freeze()

    def _add(self, sid: str, title: str, parent: str | None, start: int, heading_end: int, style: str) -> int:
        self.nodes.append(
            {"id": sid, "title": title, "parent": parent, "start": start,
             "heading_end": heading_end, "end": len(self.text), "style": style}
        )
        return len(self.nodes) - 1

    def _close_spans(self) -> None:
        """A section ends where the next heading at its depth or above begins."""
        depth = {n["id"]: n["id"].count(".") for n in self.nodes}
        for i, node in enumerate(self.nodes):
            for later in self.nodes[i + 1 :]:
                if depth[later["id"]] <= depth[node["id"]]:
                    node["end"] = later["start"]
                    break

    def _add_enumerations(self) -> None:
        """``一是……二是……`` runs inside a leaf section's body become its children."""
        parents = {n["parent"] for n in self.nodes}
        for node in list(self.nodes):
            if node["id"] in parents or node["style"] == "enum":
                continue
            items = self._enum_items(node["heading_end"], node["end"])
            for i, (start, end, title_end) in enumerate(items, 1):
                title = self.text[start:title_end].strip().rstrip(_TITLE_END + _CLAUSE_END)
                self.nodes.append(
                    {"id": f"{node['id']}.{i}", "title": title, "parent": node["id"], "start": start,
                     "heading_end": start, "end": end, "style": "enum"}
                )

    def _enum_items(self, lo: int, hi: int) -> list[tuple[int, int, int]]:
        body = self.text[lo:hi]
        expected, marks = 1, []
        for m in _ENUM_ITEM.finditer(body):
            if chinese_number(m.group(1)) == expected:
                marks.append(m.start(1))
                expected += 1
        if len(marks) < 2:
            return []
        items = []
        for i, start in enumerate(marks):
            end = marks[i + 1] if i + 1 < len(marks) else _paragraph_end(body, start)
            items.append((lo + start, lo + end, lo + _clause_end(body, start, end)))
        return items

    def _freeze(self) -> list[Section]:
        by_id = {n["id"]: n for n in self.nodes}
        children: dict[str, list[str]] = {}
        for n in self.nodes:
            if n["parent"]:
                children.setdefault(n["parent"], []).append(n["id"])
        kinds = self._part_kinds(children)

        def path(n: dict) -> tuple[str, ...]:
            return (*path(by_id[n["parent"]]), n["title"]) if n["parent"] else (n["title"],)

        def part(n: dict) -> str:
            return kinds[n["id"]] if n["id"] in kinds else part(by_id[n["parent"]]) if n["parent"] else ""

        out = [
            Section(
                doc_id=self.doc_id, id=n["id"], title=n["title"], path=path(n),
                level=n["id"].count(".") + 1, start=n["start"], heading_end=n["heading_end"],
                end=n["end"], parent=n["parent"], children=tuple(children.get(n["id"], ())), part=part(n),
            )
            for n in self.nodes
        ]
        return sorted(out, key=lambda s: (s.start, s.level))

    def _part_kinds(self, children: Mapping[str, list[str]]) -> dict[str, str]:
        """The kind of each of the report's parts: its top-level sections, or the children of the
        one top-level heading that names the whole report (a Markdown ``#`` title)."""
        tops = [n for n in self.nodes if n["parent"] is None and n["style"] != "preamble"]
        if len(tops) == 1 and children.get(tops[0]["id"]) and Lexicon.default().names_report(tops[0]["title"]):
            by_id = {n["id"]: n for n in self.nodes}
            tops = [by_id[c] for c in children[tops[0]["id"]]]
        return dict(zip((n["id"] for n in tops), default_parts().kinds_of([n["title"] for n in tops]), strict=True))


def _close(stack: list[tuple[str, int]], h: Heading, depth_of: Mapping[str, int]) -> None:
    """Closes the sections heading ``h`` ends.

    A ``#`` heading closes everything since the nearest shallower ``#`` heading; an unnumbered part
    heading everything inside the nearest ``第X部分`` or ``#`` heading (a part is a part, whatever
    numbering the others use). A style seen again closes everything opened after it; a style
    first used higher up than where the stack now is closes back to there («三、» after an
    unnumbered part that followed «二、»), unless its number starts a new run («一、» items under
    «2024年民生实事»); and a numbering the genre ranks above the open one closes it («一、» after
    a list of «1.»…«10.»: the list was inside the part, not above the next one)."""
    styles = [s for s, _ in stack]
    level = _md_level(h.style)
    if level is not None:
        while stack and (_md_level(stack[-1][0]) or level) >= level:
            stack.pop()
    elif h.style == UNNUMBERED_PART:
        while stack and stack[-1][0] not in _PART_CONTAINERS and _md_level(stack[-1][0]) is None:
            stack.pop()
    elif h.style in styles:
        del stack[styles.index(h.style):]
    else:
        if depth_of.get(h.style, len(stack)) < len(stack) and h.number != 1:
            del stack[depth_of[h.style]:]
        rank = HEADING_RANK.get(h.style)
        while stack and rank is not None and HEADING_RANK.get(stack[-1][0], -1) > rank:
            stack.pop()


def _md_level(style: str) -> int | None:
    """A Markdown heading's ``#`` count, from its style label (``md2`` → 2); None for other styles."""
    return int(style[2:]) if style.startswith("md") and style[2:].isdigit() else None


def _clause_end(text: str, start: int, end: int) -> int:
    """An enumeration item's title is its first clause (``一是扩大有效投资``)."""
    for i in range(start, min(end, start + MAX_TITLE_CHARS)):
        if text[i] in _TITLE_END + _CLAUSE_END + "\n":
            return i
    return min(end, start + MAX_TITLE_CHARS)


def _paragraph_end(body: str, start: int) -> int:
    nl = body.find("\n", start)
    return len(body) if nl == -1 else nl + 1


def build_sections(doc_id: str, text: str, headings: list[Heading]) -> list[Section]:
    """The sections ``headings`` open in ``text``, nested, spanned and in reading order, with the
    ``一是……二是……`` runs of leaf sections as their children."""
    return _TreeBuilder(doc_id, text).build(headings)
