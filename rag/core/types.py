"""Plain data passed between components. Offsets are always into ``Document.text``,
the cleaned text, so any quote can be checked as ``doc.text[start:end]``."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field, fields
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Section:
    """A node of a document's heading tree.

    ``start``/``end`` span the whole section (its heading line through the end of its last
    descendant); ``body_start`` is where the text after the heading line begins. A section
    with no heading (the preamble, or a document without headings) has ``heading_end ==
    start``.
    """

    doc_id: str
    id: str  # stable dotted id, e.g. "2.2.4"; "0" is the preamble before the first heading
    title: str
    path: tuple[str, ...]  # heading titles from the top level down to this section
    level: int
    start: int
    heading_end: int
    end: int
    parent: str | None = None
    children: tuple[str, ...] = ()
    #: the kind of the report part this section is in (``[parts]`` of ``rag/data/sections.toml``):
    #: review | plan | government | glossary | appendix, "" where no part heading says
    part: str = ""

    @property
    def path_str(self) -> str:
        return " › ".join(self.path)


@dataclass(frozen=True, slots=True)
class Report:
    """A report's place in the catalogue: who delivered it, for which plan year.

    Read from the text (title line, 「在…人民代表大会…上」, 「我代表…人民政府」, plan headings)
    and overridden by front matter (``region:``, ``level:``, ``year:``, ``title:``)."""

    region: str = ""  # 焦作市, 江城市, 某某县; "" when the text does not say
    level: str = ""  # 国务院 | 省 (省, 自治区, 直辖市) | 市 (地级市, 自治州, 盟, 地区) | 县 (县, 区, 县级市) | ""
    year: int | None = None  # the plan year the report sets targets for
    title: str = ""
    delivered: str | None = None  # delivery date when stated, as written
    source_url: str = ""  # where the report was published (front matter ``source:``), its provenance


@dataclass(slots=True)
class Document:
    id: str
    title: str
    source: str  # file path relative to the corpus directory
    text: str  # cleaned text; every offset in the system points into it
    sections: list[Section] = field(default_factory=list)
    report: Report = field(default_factory=Report)
    format: str = "txt"  # txt | md | docx | pdf | html: how the report was published
    original_name: str = ""  # the file name as the user gave it
    pages: tuple[int, ...] = ()  # offset in ``text`` where each page starts (PDF only); empty = no pages

    def section(self, section_id: str) -> Section | None:
        return next((s for s in self.sections if s.id == section_id), None)

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding ``text[offset]``, so a PDF citation can say where to look."""
        return bisect_right(self.pages, offset) if self.pages else None


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A corpus file that was not indexed, and why (bilingual): never skipped silently."""

    source: str  # path relative to the corpus folder
    reason: str


@dataclass(frozen=True, slots=True)
class Unit:
    """A retrieval unit: about a sentence, never crossing a section boundary."""

    id: int
    doc_id: str
    section_id: str
    section_path: tuple[str, ...]
    start: int
    end: int
    text: str
    tokens: int
    kind: str = "text"  # "heading" for a heading line, "text" for body sentences

    @property
    def embed_text(self) -> str:
        """The unit prefixed with its heading path, so that terms in the heading match too."""
        return " › ".join(self.section_path) + "：" + self.text if self.section_path else self.text


@dataclass(frozen=True, slots=True)
class ScoredUnit:
    unit: Unit
    score: float
    dense: float | None = None
    bm25: float | None = None


@dataclass(slots=True)
class Citation:
    n: int
    doc: str
    section_id: str
    section_path: str
    quote: str
    start: int
    end: int
    score: float
    page: int | None = None  # 1-based PDF page of ``start``; None for formats without pages
    report: str = ""  # the report's name as the catalogue gives it («焦作市2023年政府工作报告»), never a file name
    source_url: str | None = None  # where the report was published (front matter ``source:``), when known


@dataclass(slots=True, frozen=True)
class SectionRef:
    """A section a refusal points to: its report and id say which one, since two reports may
    share a heading («一、2023年工作回顾»)."""

    doc: str
    section_id: str
    title: str


#: why topics are refused (see ``Refusal``)
RefusalReason = Literal["not_in_report", "no_figure", "other_measure"]


@dataclass(slots=True)
class Refusal:
    """What an answer says the report does not cover, as data, so that each client words it in its
    own language instead of reading the topics back out of the sentence. ``reason``: not_in_report
    (nothing in the report supports it), no_figure (asked how much; the text found gives no figure),
    other_measure (the figures found measure something else)."""

    reason: RefusalReason
    topics: list[str]  # named as the sentence names them: short, in the question's own words


@dataclass(slots=True)
class Answer:
    question: str
    answer: str
    found: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    composer: str = "extractive"
    fallback_reason: str | None = None
    related_sections: list[str] = field(default_factory=list)  # titles, as the refusal names them
    related_refs: list[SectionRef] = field(default_factory=list)  # the same sections, to open
    #: a refusal for the place or year asked (composer "scope"): the reports there are instead, as
    #: data for the page ({"doc", "label", "region", "year"}; a place's every year, else the first 20)
    scope_reports: list[dict[str, Any]] = field(default_factory=list)
    #: the topics refused (found=False), or on a partial answer those of the parts it could not answer
    refusal: Refusal | None = None

    def to_dict(self) -> dict[str, Any]:
        """What ``dataclasses.asdict`` gives, built directly: its recursive deep copy cost more
        than the JSON encoding of an answer, which every API response and eval row makes."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["citations"] = [{f.name: getattr(c, f.name) for f in fields(c)} for c in self.citations]
        out["timings_ms"], out["related_sections"] = dict(self.timings_ms), list(self.related_sections)
        out["related_refs"] = [{f.name: getattr(r, f.name) for f in fields(r)} for r in self.related_refs]
        out["scope_reports"] = [dict(r) for r in self.scope_reports]
        out["refusal"] = self.refusal and {"reason": self.refusal.reason, "topics": list(self.refusal.topics)}
        return out
