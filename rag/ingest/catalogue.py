"""The catalogue of reports: which place delivered a report, at which level, for which plan year.

A corpus holds many reports, and every answer must say which one it comes from. Reports say
who they are in a handful of genre conventions, read here in order of how explicit they are:
front matter (``region:``, ``level:``, ``year:``, ``title:``) overrides everything; then the
title line (「江城市2023年政府工作报告」), the delivery line (「——2023年1月10日在江城市第十六届
人民代表大会第二次会议上」), the delegation sentence (「我代表江城市人民政府」), and, for a report
that states none of these (the seed is such a text), the place name it repeats most. Short
self-names («克州», «我代表自治区人民政府») resolve through the gazetteer of China's divisions
(``rag/data/gazetteer.tsv``) to the full place and its level; a place it does not know is read as
the text writes it. A front-matter title that names no place («政府工作报告») is only a hint.

The plan year is the delivery date's year (the next one for a December session), else the year
after the reviewed year (「一、2023年工作回顾」), else the plan part's headings and sentences
(「二、2024年工作安排」, «做好2024年政府工作», «今年是…»), never a long-range goal year (2035).
All vocabulary and patterns live in ``rag/data/catalogue.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from rag.core.errors import RagError
from rag.core.types import Document, Report
from rag.genre.gazetteer import Gazetteer, default_gazetteer
from rag.genre.lexicon import Lexicon
from rag.genre.text import YEAR
from rag.ingest.catalogue_rules import EDGE, CatalogueRules, flat
from rag.ingest.place_names import PlaceNames
from rag.ingest.plan_year import PlanYearReader

_URL = re.compile(r"https?://\S+")


def _url(value: str) -> str:
    """A front matter ``source:`` as a URL, "" when it is none."""
    m = _URL.fullmatch(value.strip())
    return m.group() if m else ""


@dataclass(frozen=True, slots=True)
class SelfNaming:
    """What a report says about itself, most explicit first."""

    places: tuple[str, ...]  # places it names as its own: title, delivery line, delegation sentence
    ending: str  # the ending it names itself by without a name («我代表省人民政府»: 省), else ""
    delivered: str | None  # the delivery date as written
    national: bool  # «我代表国务院»


class CatalogueError(RagError, ValueError):
    """Front matter that cannot be read (a year that is not a year); bilingual, names the file."""


class ReportCatalogue:
    """Infers a document's ``Report`` from its text; ``meta`` (front matter) overrides it.

    Its parts: ``place_names`` (endings, stems, the gazetteer, the place a text names most) and
    ``years`` (the plan year's readings); what the report says about itself is read here."""

    def __init__(self, lexicon: Lexicon | None = None, gazetteer: Gazetteer | None = None) -> None:
        self.lexicon = lexicon or Lexicon.default()
        self.rules = CatalogueRules.load(self.lexicon)
        self.gazetteer = gazetteer or default_gazetteer()
        self.place_names = PlaceNames(self.rules, self.gazetteer)
        self.years = PlanYearReader(self.rules)

    # ---- what a report says about itself

    def _head(self, doc: Document) -> list[str]:
        """The lines before the first section's body: where titles and delivery lines sit."""
        first_body = min((s.heading_end for s in doc.sections if s.heading_end > s.start), default=len(doc.text))
        head = doc.text[: max(first_body, 0)]
        lines = [ln.strip() for ln in head.splitlines() if ln.strip()]
        return lines[: self.rules.head_lines]

    def as_title(self, line: str) -> str:
        """``line`` as a report title when it reads as one (short, and naming the genre), else "":
        a web page's ``<title>`` or a Word file's properties often name the site or the template."""
        r = self.rules
        shown = line.strip().strip(EDGE)
        return shown if len(shown) <= r.title_max_chars and any(w in shown for w in r.title_words) else ""

    def title_line(self, doc: Document) -> str:
        return next((t for t in map(self.as_title, self._head(doc)) if t), "")

    def _title_place(self, title: str) -> tuple[str, str]:
        """(place, ending) a title names: a division it writes, its delivery line, else its words."""
        known = self.gazetteer.first_in(title)
        if known:
            return known.name, ""
        congress = self.rules.congress_flat.search(flat(title))
        if congress:
            return self.place_names.resolve(congress.group("place"))
        rest = YEAR.sub(" ", title)
        for w in self.rules.title_noise:
            rest = rest.replace(w, " ")
        rest = re.sub(r"(?<=\s)年|^年", " ", rest)
        found = [self.place_names.resolve(x) for x in rest.split()]
        return next((f for f in found if f[0]), next((f for f in found if f[1]), ("", "")))

    def self_naming(self, doc: Document, title: str) -> SelfNaming:
        """What the report says about itself: its title, delivery line and delegation sentence, read
        from the text with markup and line breaks removed (a delivery line is often broken in two)."""
        r = self.rules
        text = doc.text  # markup already left it (rag.ingest.loaders.markup): only line breaks are flattened here
        salute = text.find(r.salutation, 0, r.head_chars)
        head = flat(text[: salute if salute != -1 else r.head_chars])
        opening = flat(text[: r.head_chars * 2])
        lines = [*r.congress_flat.finditer(flat(title)), *r.congress_flat.finditer(head)]
        delegate = r.delegate.search(opening)
        named = [self._title_place(title) if title else ("", "")]
        named += [self.place_names.resolve(m.group("place"), bool(m.group("at") or m.group("date"))) for m in lines]
        named.append(self.place_names.resolve(delegate.group("place")) if delegate else ("", ""))
        own = r.delegate_level.search(opening)
        endings = [e for _, e in named if e] + ([own.group("suffix")] if own else [])
        date = next((m.group("date") for m in lines if m.group("date")), None)
        if not date and (dated := r.title_date.search(title)):
            date = dated.group("date")
        return SelfNaming(places=tuple(p for p, _ in named if p), ending=endings[0] if endings else "",
                          delivered=date,
                          national=bool(delegate and delegate.group("place") in r.national_bodies))

    # ---- entry point

    def run(self, doc: Document, meta: Mapping[str, str] | None = None, declared_title: str = "") -> Report:
        """``meta`` is front matter and overrides what the text says; ``declared_title`` is the title
        the file declares (``<title>``, document properties), used only when it reads as a report's.
        A title that names no place («政府工作报告») is a hint the text's own naming overrides."""
        meta = {k: v.strip() for k, v in (meta or {}).items() if isinstance(v, str) and v.strip()}
        r = self.rules
        title = meta.get("title") or self.title_line(doc) or self.as_title(declared_title)
        said = self.self_naming(doc, title)
        region = meta.get("region") or (said.places[0] if said.places else "")
        if not region:
            region = r.national_region if said.national else self.place_names.most_named(doc.text, said.ending or None)
        division = self.gazetteer.get(region)
        level = meta.get("level") or (r.national_level if said.national and region == r.national_region
                                      else division.level if division else self.place_names.level_of(region))
        year = self._meta_year(meta, doc) if "year" in meta else (
            self.years.delivered_plan_year(said.delivered) or self.years.plan_year(doc)
            or self.years.phrase_year(doc.text) or self.years.this_year(doc.text)
            or next((int(y) for y in YEAR.findall(title)), None)
        )
        return Report(region=region, level=level, year=year, title=self._display_title(title, region, year),
                      delivered=said.delivered, source_url=_url(meta.get("source", "")))

    def _display_title(self, title: str, region: str, year: int | None) -> str:
        """«<place><year>年政府工作报告», unless the report's own title names both its place and its
        plan year and no date («临川市政府工作报告（2025年）»)."""
        r = self.rules
        if not (region and year):
            return title
        own = title and self.place_names.stem(region) in title and f"{year}年" in title \
            and not r.title_date.search(title)
        return title if own else r.title_template.format(region=region, year=year)

    @staticmethod
    def _meta_year(meta: Mapping[str, str], doc: Document) -> int:
        m = re.fullmatch(r"((?:19|20)\d{2})\s*年?", meta["year"])
        if not m:
            where = doc.source or doc.id
            raise CatalogueError(
                f"{where} 的 year 应为四位年份，如 2023，而不是 {meta['year']!r}。"
                f" / year in {where} must be a four-digit year such as 2023, not {meta['year']!r}."
            )
        return int(m.group(1))


@lru_cache(maxsize=1)
def default_catalogue() -> ReportCatalogue:
    """One catalogue with the shipped rules, shared by every loader."""
    return ReportCatalogue()


def report_label(report: Report | None, fallback: str) -> str:
    """How answers and the page name a report: «江城市2023年政府工作报告», else its title."""
    if report is None:
        return fallback
    if report.region and report.year:
        return f"{report.region}{report.year}年政府工作报告"
    return report.title or fallback
