"""Which reports a question is about: the place and year it names, resolved against the catalogue.

A corpus of many reports answers «江城2022年定的GDP目标» only from 江城's 2022 report, and
«临海市今年GDP目标» not at all when no report covers 临海. Places are matched by their full
name or their stem (江城市 → «江城»); a place the catalogue lacks is recognised by its ending
(«临海市», «青石县») or as a place word of jieba's dictionary («杭州»), and counts as unknown only
when no report's text mentions it. Years are explicit («2023年报告») or relative to a place's
newest report (今年/明年 = its plan year, 去年 = the year before).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from rag.catalogue import ReportCatalogue, default_catalogue
from rag.types import Document, Report

_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_HAN = re.compile(r"[\u4e00-\u9fff]{2,}")


class UnknownReport(LookupError):
    """A filter (document id, region or year) that no report in the corpus matches."""


@lru_cache(maxsize=1)
def _posseg():
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


@dataclass(frozen=True)
class ReportScope:
    """The reports a question may be answered from; ``doc_ids`` None means every report."""

    doc_ids: tuple[str, ...] | None = None
    regions: tuple[str, ...] = ()  # catalogue regions the question names
    unknown: tuple[str, ...] = ()  # places it names that no report covers
    years: tuple[int, ...] = ()  # plan years of the reports it was narrowed to by a year
    notes: list[str] = field(default_factory=list)  # how the scope was decided, for debugging


@dataclass(frozen=True)
class YearWords:
    """The genre's relative time words (from the question lexicon): each means a year relative to
    the plan year of the newest report of the place asked about."""

    this_year: tuple[str, ...] = ()  # 今年, 明年 (as the report's reader says it), 本年
    last_year: tuple[str, ...] = ()  # 去年, 上一年
    report: tuple[str, ...] = ("报告",)  # «2023年报告»: the year names a report, not a period


class ReportScoper:
    """Resolves questions and API filters to the reports they concern."""

    def __init__(self, documents: Iterable[Document], words: YearWords = YearWords(),
                 catalogue: ReportCatalogue | None = None) -> None:
        self.catalogue = catalogue or default_catalogue()
        self.words = words
        self.documents = list(documents)
        self.reports: dict[str, Report] = {d.id: d.report for d in self.documents}
        self._texts = [d.text for d in self.documents]
        names: dict[str, str] = {}
        for r in self.reports.values():
            if r.region:
                names.setdefault(r.region, r.region)
                names.setdefault(self.catalogue.stem(r.region), r.region)
        self._names = sorted(names.items(), key=lambda kv: -len(kv[0]))  # (name as written, region)

    # ---- catalogue views

    @property
    def places(self) -> list[str]:
        return list(dict.fromkeys(r.region for r in self.reports.values() if r.region))

    def of_region(self, region: str) -> list[str]:
        """Doc ids of ``region`` (full name or stem), newest plan year first."""
        wanted = dict(self._names).get(region, region)
        ids = [i for i, r in self.reports.items() if r.region == wanted]
        return sorted(ids, key=lambda i: -(self.reports[i].year or 0))

    def label(self, doc_id: str) -> str:
        """How an answer names a report: «江城市2023年政府工作报告»."""
        r = self.reports.get(doc_id)
        if r is None:
            return doc_id
        if r.region and r.year:
            return f"{r.region}{r.year}年政府工作报告"
        return r.title or doc_id

    def available(self) -> str:
        """Every report, for a refusal that says what can be asked about."""
        return "、".join(f"《{self.label(i)}》" for i in self.reports)

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
                    f" / Unknown document(s) {', '.join(unknown)}; available: {', '.join(self.reports)}")
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
                                f" / No report matches these filters; available: {', '.join(self.reports)}")
        return tuple(ids)

    # ---- questions

    def named_regions(self, question: str) -> list[str]:
        """Catalogue regions the question names, in order of first mention."""
        found: list[tuple[int, str]] = []
        taken: list[tuple[int, int]] = []
        for name, region in self._names:  # longest first, so «江城市» is not also read as «江城»
            for m in re.finditer(re.escape(name), question):
                if any(a < m.end() and m.start() < b for a, b in taken):
                    continue
                taken.append((m.start(), m.end()))
                found.append((m.start(), region))
        return list(dict.fromkeys(r for _, r in sorted(found)))

    def unknown_places(self, question: str) -> list[str]:
        """Places named in the question that no report is about and no report's text mentions."""
        cat = self.catalogue
        words = [(w.word, w.flag) for w in _posseg().cut(question)]
        out: list[str] = []
        for i, (word, flag) in enumerate(words):
            nxt = words[i + 1][0] if i + 1 < len(words) else ""
            if cat.suffix_of(word) and _HAN.fullmatch(word):
                name = word
            elif nxt in cat.rules.suffixes and _HAN.fullmatch(word):
                name = word + nxt  # «青石» «县»
            elif flag == "ns" and _HAN.fullmatch(word):
                name = word
            else:
                continue
            stem = cat.stem(name)
            if (stem == name and flag != "ns") or name.startswith(cat.rules.not_first) \
                    or name in cat.rules.place_types or any(n in name for n, _ in self._names):
                continue  # «楼市»: an ending after one character is a word, not a place
            if not any(stem in t for t in self._texts):
                out.append(name)
        return list(dict.fromkeys(out))

    def _year_of(self, question: str) -> tuple[int | None, bool]:
        """An explicit year, and whether it names a report («2023年报告», «2023年的政府工作报告»)."""
        m = _YEAR.search(question)
        if not m:
            return None, False
        after = question[m.end() : m.end() + 12]
        names_report = any(re.match(rf"年?(?:的|版)?[\u4e00-\u9fff]{{0,6}}{re.escape(w)}", after)
                           for w in self.words.report)
        return int(m.group(1)), names_report

    def run(self, question: str, intent: str | None = None, *,
            restrict: Collection[str] | None = None) -> ReportScope:
        """The reports ``question`` is about. ``intent`` is the part it asks about ("plan" for
        targets, "review" for outcomes, None); ``restrict`` the API's own filter, which wins."""
        pool = [i for i in self.reports if restrict is None or i in restrict]
        regions = self.named_regions(question)
        notes: list[str] = []
        if regions:
            pool = [i for i in pool if self.reports[i].region in regions]
            notes.append(f"place: {'/'.join(regions)}")
        else:
            unknown = self.unknown_places(question)
            if unknown:
                return ReportScope((), (), tuple(unknown), notes=[f"unknown place: {'/'.join(unknown)}"])
        year, names_report = self._year_of(question)
        by_year = self._narrow_by_year(pool, year, names_report, intent, question, notes)
        if by_year:
            pool = by_year
        if restrict is None and not regions and len(pool) == len(self.reports):
            return ReportScope(None, (), (), (), notes)
        years = tuple(sorted({self.reports[i].year for i in pool if self.reports[i].year}))
        return ReportScope(tuple(pool), tuple(regions), (), years, notes)

    def _narrow_by_year(self, pool: list[str], year: int | None, names_report: bool, intent: str | None,
                        question: str, notes: list[str]) -> list[str]:
        """Reports of each place that a year answers from: «2023年报告» that report; a year's target
        its own report, its outcome the next year's review; 今年 the newest, 去年's targets the one
        before it. Empty when no report fits (the caller then keeps them all)."""
        def year_of(i: str) -> int:
            return self.reports[i].year or 0

        if year is not None:
            if names_report or intent == "plan":
                wanted = {year}
            elif intent == "review":
                wanted = {year + 1}
            else:
                wanted = {year, year + 1}
            notes.append(f"year {year} -> reports of {sorted(wanted)}")
            return [i for i in pool if year_of(i) in wanted]
        relative_last = any(w in question for w in self.words.last_year)
        relative_this = any(w in question for w in self.words.this_year)
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
