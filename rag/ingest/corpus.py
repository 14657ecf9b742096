"""Turns report files into ``Document``s with a section tree and exact offsets.

A corpus folder is read file by file (``CorpusLoader``): the loaders extract each file's text,
front matter and markup become metadata and structure, ``rag.ingest.sections`` builds the
section tree, and the catalogue names the report. What a parsed document's tree says (its plan
year, its parts, the text each section owns) is read here too.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from rag.core.errors import RagError
from rag.core.progress import stage
from rag.core.types import Document, Section, SkippedFile
from rag.genre.lexicon import Lexicon
from rag.genre.text import YEAR
from rag.ingest.catalogue import CatalogueError, default_catalogue, report_label
from rag.ingest.loaders import SUFFIXES, LoadError, extract, fail
from rag.ingest.loaders.markup import strip_markup
from rag.ingest.sections import build_sections, find_headings

_BOOKMARK = re.compile(r"\[bookmark: [^\]\n]*\]")
#: what a report id keeps of a file path: word characters, ``-`` and ``.`` inside each folder name
_ID_UNSAFE = re.compile(r"[^\w\-.]+|\.{2,}|^\.|\.$")


class CorpusError(RagError, ValueError):
    """A corpus problem a user must fix; the message is bilingual and names the file."""


def clean_text(raw: str) -> str:
    """Remove Word export debris while keeping every character of the report itself."""
    text = raw.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return _BOOKMARK.sub("", text)


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
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
    meta: dict[str, str] = {}
    body = raw
    if front_matter:
        meta, body = split_front_matter(clean_text(raw))
        cleaned = strip_markup(body)
        body, marked = cleaned.text, {**cleaned.marks, **(marked or {})}
    doc_id = meta.get("id", doc_id)
    headings = find_headings(body, marked)
    sections = build_sections(doc_id, body, headings)
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
