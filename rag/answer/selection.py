"""Which reports a question is about: the place and year it names, resolved against the catalogue.

A corpus of many reports answers «江城2022年定的GDP目标» only from 江城's 2022 report, and
«临海市今年GDP目标» not at all when no report covers 临海. The places are read by
``rag.answer.places``; the years here (``YearReader``): explicit («2023年报告») or relative to a
place's newest report (今年/明年 = its plan year, 去年 = the year before).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from rag.answer.places import PlaceReader
from rag.core.errors import RagError
from rag.core.types import Document, Report
from rag.genre.text import YEAR
from rag.ingest.catalogue import ReportCatalogue, default_catalogue, report_label


class UnknownReport(RagError, LookupError):
    """A filter (document id, region or year) that no report in the corpus matches."""


@dataclass(frozen=True)
class Selection:
    """The reports a question may be answered from; ``doc_ids`` None means every report."""

    doc_ids: tuple[str, ...] | None = None
    regions: tuple[str, ...] = ()  # catalogue regions the question names
    unknown: tuple[str, ...] = ()  # places it names that no report covers
    years: tuple[int, ...] = ()  # plan years of the reports it was narrowed to by a year
    gap: str = ""  # why no report can answer although the place is covered («2023年的完成情况»)
    notes: list[str] = field(default_factory=list)  # how the selection was decided, for debugging


@dataclass(frozen=True)
class YearWords:
    """The genre's relative time words (from the question lexicon): each means a year relative to
    the plan year of the newest report of the place asked about."""

    this_year: tuple[str, ...] = ()  # 今年, 明年 (as the report's reader says it), 本年
    last_year: tuple[str, ...] = ()  # 去年, 上一年
    periods: tuple[str, ...] = ()  # 过去五年, 五年来: a span of its own, not a year lent by the question
    report: tuple[str, ...] = ("报告",)  # «2023年报告»: the year names a report, not a period


class YearReader:
    """Which of a place's reports the years of a question point to, and why none may answer."""

    def __init__(self, documents: Iterable[Document], words: YearWords, deadline_words: tuple[str, ...]) -> None:
        self.words = words
        self.reports: Mapping[str, Report] = {d.id: d.report for d in documents}
        self._texts = {d.id: d.text for d in documents}
        self._deadline_words = deadline_words

    def years_named(self, question: str) -> list[int]:
        """The years the question writes, in order of first mention."""
        return self.years_of(question)[0]

    def names_report(self, question: str) -> bool:
        """Whether the question's first year names a report («2023年报告说的…»), not a period."""
        return self.years_of(question)[1]

    def years_of(self, question: str) -> tuple[list[int], bool]:
        """Explicit years, and whether the first names a report («2023年报告», «2023年的政府工作报告»)."""
        found = list(YEAR.finditer(question))
        if not found:
            return [], False
        after = question[found[0].end() : found[0].end() + 12]
        names_report = any(re.match(rf"年?(?:的|版)?[\u4e00-\u9fff]{{0,6}}{re.escape(w)}", after)
                           for w in self.words.report)
        return list(dict.fromkeys(int(m.group(1)) for m in found)), names_report

    def gap(self, pool: list[str], year: int, intent: str | None, question: str) -> str:
        """Why none of a place's reports answers for ``year`` (bilingual), naming the years it has:
        a year's targets need that year's report, its outcome the next year's («2023年GDP增长多少»
        is the 2024 report's review). Empty for a long-range goal the newest report sets («到2026年»)."""
        region = self.reports[pool[0]].region
        have = sorted({y for i in pool if (y := self.reports[i].year)})
        if year > max(have, default=0) and self._deadline(question, year) \
                and any(f"{year}年" in self._texts[i] for i in pool):
            return ""
        if intent == "plan":
            zh, en = f"语料中没有{region}{year}年的政府工作报告，无法给出该年的目标", \
                f"The corpus has no {year} work report of {region}, so it cannot give that year's targets"
        elif intent in ("review", "outcome"):
            zh = f"{region}{year}年的实际完成情况要在{year + 1}年的政府工作报告中才会公布，语料中没有这份报告"
            en = f"{region}'s {year} results are given in its {year + 1} work report, which the corpus does not have"
        else:
            zh = f"语料中没有{region}{year}年或{year + 1}年的政府工作报告，无法回答{year}年的情况"
            en = f"The corpus has neither the {year} nor the {year + 1} work report of {region}"
        return (f"{zh}。语料中{region}的报告年份：{'、'.join(map(str, have))}。"
                f" / {en}; it has {region}'s reports of {', '.join(map(str, have))}.")

    def _deadline(self, question: str, year: int) -> bool:
        """«到2026年»: the year is a deadline a report sets, not the report's own year."""
        at = question.find(f"{year}年")
        return at > 0 and question[:at].rstrip().endswith(self._deadline_words)

    def own_time(self, question: str) -> bool:
        """Whether the question names a time of its own (a year, 今年, 过去五年), so it lends none."""
        return bool(self.years_of(question)[0]) or self.relative(question) \
            or any(w in question for w in self.words.periods)

    def relative(self, text: str) -> bool:
        """Whether ``text`` names a year relative to the newest report (今年, 去年…)."""
        return any(w in text for w in (*self.words.this_year, *self.words.last_year))

    def narrow(self, pool: list[str], years: list[int], names_report: bool, intent: str | None,
               question: str, notes: list[str]) -> list[str]:
        """Reports of each place that a year answers from: «2023年报告» that report; a year's target
        its own report, its outcome the next year's review; two years («2023年比2022年») their own
        reports; 今年 the newest, 去年's targets the one before it. Empty when no report fits (the
        caller then keeps them all)."""
        def year_of(i: str) -> int:
            return self.reports[i].year or 0

        if years:
            if len(years) > 1 or names_report or intent == "plan":
                wanted = set(years)
            elif intent in ("review", "outcome"):
                wanted = {years[0] + 1}
            else:
                wanted = {years[0], years[0] + 1}
            notes.append(f"years {years} -> reports of {sorted(wanted)}")
            return [i for i in pool if year_of(i) in wanted]
        relative_last = any(w in question for w in self.words.last_year)
        relative_this = self.relative(question) and not relative_last
        if not (relative_last or relative_this):
            return []
        out = []
        for region in dict.fromkeys(self.reports[i].region for i in pool):
            mine = sorted((i for i in pool if self.reports[i].region == region), key=year_of, reverse=True)
            newest = mine[0]
            if relative_last and intent == "plan":  # «去年定的目标»: set by the report before the newest
                before = [i for i in mine if year_of(i) == year_of(newest) - 1]
                out.extend(before or [newest])
            else:
                out.append(newest)
        notes.append("relative year -> newest report per place")
        return out


class ReportSelector:
    """Resolves questions and API filters to the reports they concern."""

    def __init__(self, documents: Iterable[Document], words: YearWords = YearWords(),
                 catalogue: ReportCatalogue | None = None) -> None:
        self.catalogue = catalogue or default_catalogue()
        self.words = words
        self.documents = list(documents)
        self.reports: dict[str, Report] = {d.id: d.report for d in self.documents}
        self.place_reader = PlaceReader(self.documents, self.catalogue)
        table = self.catalogue.lexicon.table("selection")
        self.year_reader = YearReader(self.documents, words, tuple(table["deadline_before"]))

    # ---- catalogue views

    def section_of(self, doc_id: str) -> list:
        """The report's sections in reading order (for citing a line of it)."""
        doc = next((d for d in self.documents if d.id == doc_id), None)
        return list(doc.sections) if doc else []

    @property
    def names(self) -> list[tuple[str, str]]:
        """(name as a question may write it, region): full names and stems, longest first."""
        return list(self.place_reader.names)

    @property
    def places(self) -> list[str]:
        return list(dict.fromkeys(r.region for r in self.reports.values() if r.region))

    def of_region(self, region: str) -> list[str]:
        """Doc ids of ``region`` (full name or stem), newest plan year first."""
        wanted = dict(self.place_reader.names).get(region, region)
        ids = [i for i, r in self.reports.items() if r.region == wanted]
        return sorted(ids, key=lambda i: -(self.reports[i].year or 0))

    def label(self, doc_id: str) -> str:
        """How an answer names a report: «江城市2023年政府工作报告»."""
        return report_label(self.reports.get(doc_id), doc_id)

    def available(self, limit: int = 12) -> str:
        """The reports, for a refusal that says what can be asked about: the first ``limit`` and
        how many more (a national collection has over a thousand)."""
        shown = "、".join(f"《{self.label(i)}》" for i in list(self.reports)[:limit])
        more = len(self.reports) - limit
        return f"{shown}等{len(self.reports)}份报告" if more > 0 else shown

    def _ids(self, limit: int = 12) -> str:
        """Report ids for an English message, cut like ``available``."""
        ids = list(self.reports)
        return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")

    def offered(self, regions: Iterable[str] = (), limit: int = 20) -> list[dict]:
        """The reports a scope refusal offers instead, as data for the page: those of ``regions``
        (every year the corpus has of that place), else the first ``limit`` of the corpus."""
        ids = [i for r in regions for i in self.of_region(r)][::-1] or list(self.reports)[:limit]
        return [{"doc": i, "label": self.label(i), "region": self.reports[i].region, "year": self.reports[i].year}
                for i in ids]

    # ---- API filters

    def resolve(self, documents: Collection[str] | None = None, region: str | None = None,
                year: int | None = None) -> tuple[str, ...] | None:
        """The doc ids an API request restricts itself to; None when it names no filter.
        Raises ``UnknownReport`` for an id, region or year that no report matches."""
        if not documents and not region and year is None:
            return None
        ids = list(self.reports)
        if documents:
            unknown = [d for d in documents if d not in self.reports]
            if unknown:
                raise UnknownReport(
                    f"未找到报告 {', '.join(unknown)}；可用的报告：{self.available()}"
                    f" / Unknown document(s) {', '.join(unknown)}; available: {self._ids()}")
            ids = [i for i in ids if i in documents]
        if region:
            of = set(self.of_region(region.strip()))
            if not of:
                raise UnknownReport(f"没有关于“{region}”的报告；可用的报告：{self.available()}"
                                    f" / No report covers {region!r}; available: {', '.join(self.places)}")
            ids = [i for i in ids if i in of]
        if year is not None:
            ids = [i for i in ids if self.reports[i].year == year]
        if not ids:
            raise UnknownReport(f"没有符合条件的报告；可用的报告：{self.available()}"
                                f" / No report matches these filters; available: {self._ids()}")
        return tuple(ids)

    # ---- questions: what the readers find, for the report router and the pipeline

    def named_regions(self, question: str) -> list[str]:
        """Catalogue regions the question names, in order of first mention (``PlaceReader``)."""
        return self.place_reader.named_regions(question)

    def unknown_places(self, question: str) -> list[str]:
        """Places the question names that no report is about (``PlaceReader``)."""
        return self.place_reader.unknown_places(question)

    def naming(self, question: str, doc_ids: Collection[str]) -> list[str]:
        """Of ``doc_ids``, the reports naming the most of the question's proper names (``PlaceReader``)."""
        return self.place_reader.naming(question, doc_ids)

    def strip_places(self, text: str) -> str:
        """``text`` without the catalogue's place names (``PlaceReader``)."""
        return self.place_reader.strip_places(text)

    def years_named(self, question: str) -> list[int]:
        """The years the question writes (``YearReader``)."""
        return self.year_reader.years_named(question)

    def names_report(self, question: str) -> bool:
        """Whether the question's first year names a report (``YearReader``)."""
        return self.year_reader.names_report(question)

    def run(self, question: str, intent: str | None = None, *, restrict: Collection[str] | None = None,
            context: str = "") -> Selection:
        """The reports ``question`` is about. ``intent`` is the part it asks about ("plan" for
        targets, "review" for outcomes, None); ``restrict`` the API's own filter, which wins;
        ``context`` the whole question (or conversation) a part comes from, which lends the part
        its place and year when it names none."""
        pool = [i for i in self.reports if restrict is None or i in restrict]
        regions = self.named_regions(question) or (self.named_regions(context) if context else [])
        notes: list[str] = []
        if regions:
            pool = [i for i in pool if self.reports[i].region in regions]
            notes.append(f"place: {'/'.join(regions)}")
        else:
            unknown = self.unknown_places(context or question)
            if unknown:
                return Selection((), (), tuple(unknown), notes=[f"unknown place: {'/'.join(unknown)}"])
        timed = question if self.year_reader.own_time(question) or not context else context
        years, names_report = self.year_reader.years_of(timed)
        by_year = self.year_reader.narrow(pool, years, names_report, intent, timed, notes)
        if by_year:
            pool = by_year
        elif regions and len(years) == 1 and pool:
            gap = self.year_reader.gap(pool, years[0], intent, timed)
            if gap:
                return Selection((), tuple(regions), (), (), gap=gap, notes=notes)
        if restrict is None and not regions and len(pool) == len(self.reports):
            return Selection(None, (), (), (), notes=notes)
        plan_years = tuple(sorted({y for i in pool if (y := self.reports[i].year)}))
        return Selection(tuple(pool), tuple(regions), (), plan_years, notes=notes)
