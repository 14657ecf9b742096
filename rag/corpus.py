"""Turns report files into ``Document``s with a section tree and exact offsets.

Government work reports are written in Word and exported with a handful of numbering
conventions (``第一部分``, ``一、``, ``（一）``, ``1.``, ``（1）``, Markdown ``#``) nested in
whatever order the drafting office chose, plus in-paragraph enumerations (``一是……二是……``).
Nesting is therefore inferred from the order styles appear in, not from a fixed ranking; Markdown
``#`` headings are the exception: their level is written down, so they nest by it (``## 一、`` is a
level-2 heading whatever its numbering says) and numbered lines without ``#`` nest inside them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rag.catalogue import CatalogueError, default_catalogue
from rag.genre.text import CN_NUMERAL, YEAR, chinese_number
from rag.types import Document, Section, SkippedFile

_BOOKMARK = re.compile(r"\[bookmark: [^\]\n]*\]")

#: (style, pattern); the pattern matches the numbering marker at a line start.
HEADING_STYLES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("md", re.compile(r"#{1,6}[ \t]+")),
    ("part", re.compile(rf"第[{CN_NUMERAL}\d]+(?:部分|章|篇|节)[ \t　:：、]*")),
    ("cn", re.compile(rf"[{CN_NUMERAL}]+[、.．][ \t　]*")),
    ("cn_paren", re.compile(rf"[（(][{CN_NUMERAL}]+[）)][ \t　]*")),
    ("num", re.compile(r"\d{1,2}[.．、](?!\d)[ \t　]*")),
    ("num_paren", re.compile(r"[（(]\d{1,2}[）)][ \t　]*")),
)
_ENUM_ITEM = re.compile(rf"(?:^|(?<=[。；;！!？?：:\n]))[ \t　]*([{CN_NUMERAL}]{{1,3}})是")
_TITLE_END = "。！？!?："
_CLAUSE_END = "，；;,"
MAX_TITLE_CHARS = 40


class CorpusError(ValueError):
    """A corpus problem a user must fix; the message is bilingual and names the file."""


@dataclass(frozen=True, slots=True)
class _Heading:
    style: str
    start: int  # line start
    heading_end: int  # end of the title (end of line, or of the first sentence if inline)
    title: str


def clean_text(raw: str) -> str:
    """Remove Word export debris while keeping every character of the report itself."""
    text = raw.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return _BOOKMARK.sub("", text)


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """``---`` blocks or a single leading ``title:``/``标题：`` line carry metadata, not report text."""
    meta: dict[str, str] = {}
    if text.startswith("---\n"):
        end = text.find("\n---", 4)
        if end != -1:
            for line in text[4:end].splitlines():
                key, sep, value = line.partition(":")
                if sep:
                    meta[key.strip().lower()] = value.strip().strip("\"'")
            rest = text[end + 4 :]
            return meta, rest[1:] if rest.startswith("\n") else rest
    m = re.match(r"(?:title|标题)[ \t]*[:：][ \t]*(.+)\n", text, flags=re.IGNORECASE)
    if m:
        meta["title"] = m.group(1).strip()
        return meta, text[m.end() :]
    return meta, text


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


def _find_headings(text: str, marked: Mapping[int, str] | None = None) -> list[_Heading]:
    """Headings by numbering marker; ``marked`` lines (line offset → style label) are headings the
    file itself declares (a Word heading style, ``<h3>``, ``<p><strong>``) even without a marker."""
    headings: list[_Heading] = []
    marked = marked or {}
    pos = 0
    for line in text.splitlines(keepends=True):
        content = line.rstrip("\n")
        lead = len(content) - len(content.lstrip(" \t　"))
        body = content[lead:]
        for style, pattern in HEADING_STYLES:
            m = pattern.match(body)
            if m and m.end() < len(body.rstrip()):
                end = _title_span(body, m.end())
                if style == "md":  # the level is part of the style: ``#`` and ``##`` are different styles
                    style = f"md{len(m.group().rstrip())}"
                headings.append(
                    _Heading(style, pos, pos + lead + end, _display_title(body, m.end(), end))
                )
                break
        else:
            if pos in marked and body.strip():
                title = body.rstrip()
                headings.append(_Heading(marked[pos], pos, pos + lead + len(title), title))
        pos += len(line)
    return headings


class _TreeBuilder:
    """Assigns dotted ids and parents; a style seen again closes everything opened after it."""

    def __init__(self, doc_id: str, text: str) -> None:
        self.doc_id, self.text = doc_id, text
        self.nodes: list[dict] = []

    def build(self, headings: list[_Heading]) -> list[Section]:
        stack: list[tuple[str, int]] = []  # (style, node index)
        counters: dict[str | None, int] = {}
        first = headings[0].start if headings else len(self.text)
        if self.text[:first].strip():
            self._add("0", "前言" if headings else "全文", None, 0, 0, "preamble")
        elif headings:  # leading blank lines belong to the first heading
            headings[0] = _Heading(headings[0].style, 0, headings[0].heading_end, headings[0].title)
        for h in headings:
            styles = [s for s, _ in stack]
            level = _md_level(h.style)
            if level is not None:  # closes everything opened since the nearest shallower ``#`` heading
                while stack and (_md_level(stack[-1][0]) or level) >= level:
                    stack.pop()
            elif h.style in styles:
                del stack[styles.index(h.style) :]
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

        def path(n: dict) -> tuple[str, ...]:
            return (*path(by_id[n["parent"]]), n["title"]) if n["parent"] else (n["title"],)

        out = [
            Section(
                doc_id=self.doc_id, id=n["id"], title=n["title"], path=path(n),
                level=n["id"].count(".") + 1, start=n["start"], heading_end=n["heading_end"],
                end=n["end"], parent=n["parent"], children=tuple(children.get(n["id"], ())),
            )
            for n in self.nodes
        ]
        return sorted(out, key=lambda s: (s.start, s.level))


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


def plan_year(doc: Document) -> int | None:
    """The year a report plans for: its catalogue entry's, else the latest year its headings
    name, else its title's."""
    if doc.report.year:
        return doc.report.year
    years = [int(y) for sec in doc.sections for y in YEAR.findall(sec.title)]
    years = years or [int(y) for y in YEAR.findall(doc.title)]
    return max(years) if years else None


def own_segments(doc: Document) -> list[tuple[str, int, int]]:
    """The text each section owns outside its heading and its children, as (section id, start, end).

    Headings plus these segments tile the document exactly: the basis of the no-loss guarantee.
    """
    by_id = {s.id: s for s in doc.sections}
    out: list[tuple[str, int, int]] = []
    for s in doc.sections:
        cursor = s.heading_end
        for child in sorted((by_id[c] for c in s.children), key=lambda c: c.start):
            if child.start > cursor:
                out.append((s.id, cursor, child.start))
            cursor = max(cursor, child.end)
        if s.end > cursor:
            out.append((s.id, cursor, s.end))
    return out


def parse_document(raw: str, *, doc_id: str, source: str = "", title: str | None = None,
                   front_matter: bool = True, marked: Mapping[int, str] | None = None) -> Document:
    """Parse one report's text; any text form works, including text with no headings at all.

    ``front_matter=False`` takes text a loader extracted as it is: it is clean already, and its
    offsets (a PDF's page map, ``marked``) must not move. ``marked`` names lines the file declares
    as headings (line offset → style label)."""
    meta, body = _split_front_matter(clean_text(raw)) if front_matter else ({}, raw)
    doc_id = meta.get("id", doc_id)
    headings = _find_headings(body, marked)
    sections = _TreeBuilder(doc_id, body).build(headings)
    doc = Document(id=doc_id, title="", source=source, text=body, sections=sections)
    try:
        doc.report = default_catalogue().run(doc, meta, title or "")  # a file's title is a hint, not front matter
    except CatalogueError as exc:
        raise CorpusError(str(exc)) from None
    doc.title = doc.report.title or title or (headings[0].title if headings else "") or doc_id
    return doc


@dataclass(slots=True)
class CorpusRead:
    """What a corpus folder yielded: the reports, and every file that was not one, with why."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


def skipped_lines(skipped: Sequence[SkippedFile | Mapping[str, str]]) -> str:
    """One line per skipped file; accepts the dataclass or its manifest dict."""
    rows = (s if isinstance(s, Mapping) else {"source": s.source, "reason": s.reason} for s in skipped)
    return "\n".join(f"  - {r['source']}: {r['reason']}" for r in rows)


class CorpusLoader:
    """Every file under a directory is one report (id'd by its file stem) or a named skip.

    Files whose names start with ``.`` (``.gitkeep``, editor swap files) are not reports."""

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = Path(corpus_dir)

    def files(self) -> list[Path]:
        if not self.corpus_dir.is_dir():
            raise CorpusError(
                f"语料目录不存在：{self.corpus_dir} / Corpus directory not found: {self.corpus_dir}"
            )
        return sorted(p for p in self.corpus_dir.rglob("*")
                      if p.is_file() and not any(part.startswith(".") for part in p.relative_to(self.corpus_dir).parts))

    def fingerprint(self) -> str:
        """Hash of names and bytes of every file, skipped ones too: fixing or removing a bad file
        must rebuild the index as surely as editing a good one."""
        h = hashlib.sha256()
        for p in self.files():
            h.update(str(p.relative_to(self.corpus_dir)).encode() + b"\0" + p.read_bytes() + b"\0")
        return h.hexdigest()

    def read_file(self, path: Path) -> Document:
        """One file as a ``Document``; a ``LoadError`` names the file and the reason it is no report."""
        from rag.loaders import extract, fail

        got = extract(path)
        doc = parse_document(got.text, doc_id=path.stem, source=str(path.relative_to(self.corpus_dir)),
                             title=got.title, front_matter=got.front_matter, marked=dict(got.headings))
        if not doc.text.strip():
            raise fail(path, "文件为空", "File is empty")
        doc.format, doc.original_name, doc.pages = got.format, path.name, got.pages
        return doc

    def read(self, *, progress: bool = False) -> CorpusRead:
        """Every file in order; ``progress`` shows the read/parse stage's bar (``rag index``)."""
        from rag.loaders import LoadError
        from rag.progress import stage

        out = CorpusRead()
        seen: dict[str, str] = {}
        files = self.files()
        for p in stage("read", files, enabled=progress, total=len(files)):
            source = str(p.relative_to(self.corpus_dir))
            try:
                doc = self.read_file(p)
            except LoadError as exc:
                out.skipped.append(SkippedFile(source, exc.reason))
                continue
            except CorpusError as exc:  # e.g. front matter the catalogue cannot read
                out.skipped.append(SkippedFile(source, str(exc)))
                continue
            if doc.id in seen:
                out.skipped.append(SkippedFile(source, (
                    f"文档编号重复：{doc.id}（已由 {seen[doc.id]} 使用），请改文件名"
                    f" / Duplicate document id {doc.id} (already used by {seen[doc.id]}); rename the file")))
                continue
            seen[doc.id] = source
            out.documents.append(doc)
        return out

    def load(self) -> list[Document]:
        """The reports; a corpus with none is an error that names every skipped file and why."""
        return self.require(self.read())

    def require(self, got: CorpusRead, *, strict: bool = False) -> list[Document]:
        """``got``'s reports, or a ``CorpusError`` when there are none (or, with ``strict``, when
        any file was skipped) that lists every skipped file with its reason."""
        from rag.loaders import SUFFIXES

        listed = f"\n{skipped_lines(got.skipped)}" if got.skipped else ""
        if strict and got.skipped:
            raise CorpusError(
                f"严格模式：{len(got.skipped)} 个文件无法索引，索引未更新。"
                f" / Strict mode: {len(got.skipped)} file(s) cannot be indexed; the index was not changed.{listed}"
            )
        if not got.documents:
            raise CorpusError(
                f"语料目录 {self.corpus_dir} 中没有可用的报告文件（支持 {'、'.join(SUFFIXES)}）。"
                f" / No usable report files ({', '.join(SUFFIXES)}) in {self.corpus_dir}.{listed}"
            )
        return got.documents
