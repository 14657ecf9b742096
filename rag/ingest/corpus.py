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
from functools import lru_cache
from pathlib import Path

from rag.core.errors import RagError
from rag.core.types import Document, Section, SkippedFile
from rag.genre.headings import HEADING_RANK, HEADING_STYLES, UNNUMBERED_PART
from rag.genre.lexicon import Lexicon
from rag.genre.parts import default_parts
from rag.genre.text import CN_NUMERAL, YEAR, chinese_number
from rag.ingest.catalogue import CatalogueError, default_catalogue, report_label

_BOOKMARK = re.compile(r"\[bookmark: [^\]\n]*\]")
#: what a report id keeps of a file path: word characters, ``-`` and ``.`` inside each folder name
_ID_UNSAFE = re.compile(r"[^\w\-.]+|\.{2,}|^\.|\.$")

#: numberings that head a report's parts (第一部分, 一、), as opposed to the sections inside them
_PART_STYLES = frozenset({"part", "cn"})
#: styles an unnumbered part heading sits inside (``第一部分``, ``#`` titles), not beside
_PART_CONTAINERS = frozenset({"part"})
_ORDINAL = re.compile(rf"[{CN_NUMERAL}\d]+")
_ENUM_ITEM = re.compile(rf"(?:^|(?<=[。；;！!？?：:\n]))[ \t　]*([{CN_NUMERAL}]{{1,3}})是")
_TITLE_END = "。！？!?："
_CLAUSE_END = "，；;,"
MAX_TITLE_CHARS = 40


class CorpusError(RagError, ValueError):
    """A corpus problem a user must fix; the message is bilingual and names the file."""


@dataclass(frozen=True, slots=True)
class _Heading:
    style: str
    start: int  # line start
    heading_end: int  # end of the title (end of line, or of the first sentence if inline)
    title: str
    number: int | None = None  # the ordinal its marker writes (二 of 「二、」), None without one


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


def _find_headings(text: str, marked: Mapping[int, str] | None = None) -> list[_Heading]:
    """Headings by numbering marker; ``marked`` lines (line offset → style label) are headings the
    file itself declares (a Word heading style, ``<h3>``, ``<p><strong>``) even without a marker.
    A heading a page break split over two lines («一、2020年和“十三五”» / «工作回顾») is one heading."""
    headings: list[_Heading] = []
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
        headings.append(_Heading(style, start, end, title, ordinal))
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

    def build(self, headings: list[_Heading]) -> list[Section]:
        stack: list[tuple[str, int]] = []  # (style, node index)
        counters: dict[str | None, int] = {}
        depth_of: dict[str, int] = {}  # the depth each style was first used at
        first = headings[0].start if headings else len(self.text)
        if self.text[:first].strip():
            self._add("0", "前言" if headings else "全文", None, 0, 0, "preamble")
        elif headings:  # leading blank lines belong to the first heading
            headings[0] = _Heading(headings[0].style, 0, headings[0].heading_end, headings[0].title, headings[0].number)
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


def _close(stack: list[tuple[str, int]], h: _Heading, depth_of: Mapping[str, int]) -> None:
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


def plan_year(doc: Document) -> int | None:
    """The year a report plans for: its catalogue entry's, else what its parts say
    (``parts_plan_year``), else the latest year its headings name, else its title's."""
    if doc.report.year:
        return doc.report.year
    planned = parts_plan_year(doc)
    if planned:
        return planned
    years = [int(y) for sec in doc.sections for y in YEAR.findall(sec.title)]
    years = years or [int(y) for y in YEAR.findall(doc.title)]
    return max(years) if years else None


def part_heads(doc: Document) -> list[Section]:
    """The sections that head the report's parts (``Section.part`` says which kind each is)."""
    by_id = {s.id: s for s in doc.sections}
    return [s for s in doc.sections if s.part and (s.parent is None or not by_id[s.parent].part)]


def parts_plan_year(doc: Document) -> int | None:
    """The plan year as the part headings give it: the earliest year a plan part names after every
    year the review names («今后五年目标和2035年远景» and «2023年工作安排» → 2023: a long-range goal
    is never the plan year), else the year after the latest year a review part names («2023年工作
    回顾» → 2024); None when no part heading names a year."""
    heads = part_heads(doc)
    reviewed = [int(y) for s in heads if s.part == "review" for y in YEAR.findall(s.title)]
    planned = [int(y) for s in heads if s.part == "plan" for y in YEAR.findall(s.title)]
    after = [y for y in planned if not reviewed or y > max(reviewed)]
    if after:
        return min(after)
    return max(reviewed) + 1 if reviewed else None


def report_name(doc: Document) -> str:
    """What users read for a report: the catalogue's name («成都市2025年政府工作报告»), else the
    title it declares; never its file name («000_95e50edaf71b7d1c.txt»)."""

    return report_label(doc.report, doc.title or doc.id)


def source_url(doc: Document) -> str | None:
    """Where the report was published (front matter ``source:``, ``Report.source_url``), if known."""
    return getattr(doc.report, "source_url", None) or None


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

    Plain text (``front_matter=True``) may open with front matter and carry Markdown or HTML
    markup: both are read as structure and removed, so every offset points into what a reader
    sees. ``front_matter=False`` takes text a loader extracted as it is: it is clean already, and
    its offsets (a PDF's page map, ``marked``) must not move. ``marked`` names lines the file
    declares as headings (line offset → style label)."""
    meta, body = ({}, raw)
    if front_matter:
        from rag.ingest.loaders.markup import strip_markup  # rag.ingest.loaders imports this module

        meta, body = _split_front_matter(clean_text(raw))
        cleaned = strip_markup(body)
        body, marked = cleaned.text, {**cleaned.marks, **(marked or {})}
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


def doc_id_for(path: Path, corpus_dir: Path) -> str:
    """A report's id: its path inside the corpus without the suffix, with ``/`` between folders
    (``主要城市/成都市/2025``), so a collection laid out by place keeps every year of every place,
    and a flat corpus keeps its file stems. Characters an id cannot carry in a URL or a TREC run
    (spaces, quotes, ``#``…) become ``_``."""
    rel = Path(path).relative_to(corpus_dir).with_suffix("")
    return "/".join(_ID_UNSAFE.sub("_", part) for part in rel.parts)


@dataclass(slots=True)
class CorpusRead:
    """What a corpus folder yielded: the reports, and every file that was not one, with why."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


@lru_cache(maxsize=1)
def _not_reports() -> frozenset[str]:
    """File names (without suffix, lower case) that document a collection rather than being a report."""
    return frozenset(n.lower() for n in Lexicon.default().table("corpus")["not_reports"])


def skipped_lines(skipped: Sequence[SkippedFile | Mapping[str, str]]) -> str:
    """One line per skipped file; accepts the dataclass or its manifest dict."""
    rows = (s if isinstance(s, Mapping) else {"source": s.source, "reason": s.reason} for s in skipped)
    return "\n".join(f"  - {r['source']}: {r['reason']}" for r in rows)


class CorpusLoader:
    """Every file under a directory (folders included) is one report, id'd by its path
    (``doc_id_for``), or a named skip.

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
        from rag.ingest.loaders import extract, fail

        got = extract(path)
        doc = parse_document(got.text, doc_id=doc_id_for(path, self.corpus_dir),
                             source=path.relative_to(self.corpus_dir).as_posix(),
                             title=got.title, front_matter=got.front_matter, marked=dict(got.headings))
        if not doc.text.strip():
            raise fail(path, "文件为空", "File is empty")
        doc.format, doc.original_name, doc.pages = got.format, path.name, got.pages
        return doc

    def read(self, *, progress: bool = False) -> CorpusRead:
        """Every file in order; ``progress`` shows the read/parse stage's bar (``rag index``)."""
        from rag.core.progress import stage
        from rag.ingest.loaders import LoadError

        out = CorpusRead()
        seen: dict[str, str] = {}
        files = self.files()
        for p in stage("read", files, enabled=progress, total=len(files)):
            source = p.relative_to(self.corpus_dir).as_posix()
            if p.stem.lower() in _not_reports():
                out.skipped.append(SkippedFile(source, "说明文件，不是报告 / a documentation file, not a report"))
                continue
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
        from rag.ingest.loaders import SUFFIXES

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
