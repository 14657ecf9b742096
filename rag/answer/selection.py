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
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rag.core.cache import kept
from rag.core.errors import RagError
from rag.core.types import Document, Report
from rag.genre.postag import tagger
from rag.genre.text import YEAR
from rag.ingest.catalogue import ReportCatalogue, default_catalogue, report_label

_HAN = re.compile(r"[\u4e00-\u9fff]{2,}")
_KEPT = 4096  # questions and words whose place checks a selector remembers



class UnknownReport(RagError, LookupError):
    """A filter (document id, region or year) that no report in the corpus matches."""


@lru_cache(maxsize=256)
def _pinyin(name: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(name)).lower() if name else ""


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


class ReportSelector:
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
                for name in self.catalogue.names_of(r.region):  # 江城 of 江城市; 克州, 广西 (gazetteer)
                    names.setdefault(name, r.region)
        self._names = sorted(names.items(), key=lambda kv: -len(kv[0]))  # (name as written, region)
        #: an English spelling of each name → its region: the pinyin of every name (guangxi of the alias
        #: 广西, qiandongnan of 黔东南州), then the atlas names that are no pinyin (Inner Mongolia)
        self._pinyin = {_pinyin(n): r for n, r in reversed(names.items())}  # the first name spelled so wins
        exonyms = self.catalogue.lexicon.table("english").get("places", {})
        self._pinyin |= {en.lower(): names[zh] for en, zh in exonyms.items() if zh in names}
        #: what named_regions looks for, compiled once: names longest first («江城市» is not also «江城»), then pinyin
        self._region_patterns = [(re.compile(re.escape(n)), r) for n, r in self._names]
        self._region_patterns += [(re.compile(rf"(?i)\b{re.escape(p)}\b"), r) for p, r in self._pinyin.items() if p]
        self._national = any(r.level == self.catalogue.rules.national_level for r in self.reports.values())
        #: question text -> its unknown places, and word -> whether a report mentions it; bounded,
        #: per selector (its reports never change): the parts of one question, the report router and
        #: a conversation's turns ask again, and place words recur across questions
        self._unknown: dict[str, tuple[str, ...]] = {}
        self._mentioned: dict[str, bool] = {}
        self._tags: dict[str, tuple[tuple[str, str], ...]] = {}  # text -> jieba's (word, tag) pairs
        self._within: dict[str, bool] = {}  # place -> whether it lies inside a report's area
        table = self.catalogue.lexicon.table("selection")
        self._rank = {level: i for i, level in enumerate(table["level_order"])}  # 0 = the top
        scope = self.catalogue.lexicon.table("scope")  # 今年, 去年 …, whatever ``words`` the caller gave
        times = frozenset(scope["plan_time"]) | frozenset(scope["last_year"])
        self._leads = frozenset(table["leads"]) | times
        self._deadline_words = tuple(table["deadline_before"])
        self._position = {d.id: n for n, d in enumerate(self.documents)}
        self._scope_marks = frozenset(table["scope_marks"]) | times

    # ---- catalogue views

    def section_of(self, doc_id: str) -> list:
        """The report's sections in reading order (for citing a line of it)."""
        doc = next((d for d in self.documents if d.id == doc_id), None)
        return list(doc.sections) if doc else []

    @property
    def names(self) -> list[tuple[str, str]]:
        """(name as a question may write it, region): full names and stems, longest first."""
        return list(self._names)

    @property
    def pinyin_names(self) -> list[str]:
        return [p for p in self._pinyin if p]

    @property
    def places(self) -> list[str]:
        return list(dict.fromkeys(r.region for r in self.reports.values() if r.region))

    def of_region(self, region: str) -> list[str]:
        """Doc ids of ``region`` (full name or stem), newest plan year first."""
        wanted = dict(self._names).get(region, region)
        ids = [i for i, r in self.reports.items() if r.region == wanted]
        return sorted(ids, key=lambda i: -(self.reports[i].year or 0))

    def strip_places(self, text: str) -> str:
        """``text`` without the catalogue's place names: inside its own report «江城城镇新增就业»
        is just «城镇新增就业», and the name would only favour sentences that repeat it."""
        for name, _ in self._names:  # longest first
            text = text.replace(name, "")
        for p in self.pinyin_names:
            text = re.sub(rf"(?i)\b{re.escape(p)}(?:'s)?(?:\s+(?:city|county|province|prefecture))?\b", " ", text)
        return re.sub(r"[ \t]{2,}", " ", text).strip()

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

    # ---- questions

    def named_regions(self, question: str) -> list[str]:
        """Catalogue regions the question names (in Chinese, or in pinyin: «Jiangcheng's»), in
        order of first mention."""
        found: list[tuple[int, str]] = []
        taken: list[tuple[int, int]] = []
        for pattern, region in self._region_patterns:
            for m in pattern.finditer(question):
                if any(a < m.end() and m.start() < b for a, b in taken):
                    continue
                taken.append((m.start(), m.end()))
                found.append((m.start(), region))
        return list(dict.fromkeys(r for _, r in sorted(found)))

    def naming(self, question: str, doc_ids: Collection[str]) -> list[str]:
        """Of ``doc_ids``, the reports that name the most of the proper names the question uses: a
        question about «东岭光伏电站» is about the report that names 东岭, not every report with 光伏电站.
        Only names count (jieba's name tags): ordinary words («物价», «正常») are everybody's."""
        names = {w for w, flag in self._tagged(question) if flag in self.catalogue.rules.name_tags and len(w) >= 2}
        texts = {d.id: d.text for d in self.documents if d.id in doc_ids}
        counts = {doc: sum(n in t for n in names) for doc, t in texts.items()}
        best = max(counts.values(), default=0)
        return [doc for doc in doc_ids if counts.get(doc) == best]

    def _scopes(self, words: Sequence[tuple[str, str]], i: int) -> bool:
        """Whether word ``i`` is the place the question asks about: it opens the question (after
        lead words and times only) and a time, 的 or a Latin term follows it («郑州今年…», «北京的…»,
        «洛阳GDP…»), where «河湖治理…» or «黄河交通学院…» open with a topic."""
        if not all(w in self._leads or YEAR.fullmatch(w) or not any("\u4e00" <= c <= "\u9fff" for c in w)
                   for w, _ in words[:i]):
            return False
        nxt = next((w for w, _ in words[i + 1:] if w.strip()), "")
        return nxt in self._scope_marks or bool(YEAR.fullmatch(nxt)) or nxt.isascii() and nxt.isalnum()

    def _inside(self, place: str) -> bool:
        """Whether a report writes ``place`` with an ending of a lower level than its own: «温县»
        in a 市's report lies in its area; «郑州市» in another 市's report, or «北京», does not."""
        return kept(self._within, place, self._reads_inside, _KEPT)

    def _reads_inside(self, place: str) -> bool:
        cat = self.catalogue
        if cat.suffix_of(place):
            forms = re.compile(re.escape(place) + f"(?![{re.escape(cat.rules.compound_next)}])")
        else:
            endings = "|".join(re.escape(s) for s in cat.rules.suffixes)
            forms = re.compile(f"{re.escape(place)}(?:{endings})(?![{re.escape(cat.rules.compound_next)}])")
        for doc in self.documents:
            own = self._rank.get(doc.report.level, len(self._rank))
            for m in forms.finditer(doc.text):
                if self._rank.get(cat.level_of(m.group()), -1) > own:
                    return True
        return False

    def _mentions(self, word: str) -> bool:
        """Whether any report's text has ``word`` (kept: each check reads every report)."""
        return kept(self._mentioned, word, lambda w: any(w in t for t in self._texts), _KEPT)

    def _tagged(self, text: str) -> tuple[tuple[str, str], ...]:
        """jieba's part-of-speech pairs, kept: the place check and the name check read the same question."""
        return kept(self._tags, text, lambda t: tuple((w.word, w.flag) for w in tagger().cut(t)), _KEPT)

    def unknown_places(self, question: str) -> list[str]:
        """Places the question names that no report is about (kept per question text).

        A name written with its ending («北京市», «青山县») is a place unless a report's text has
        that very name (the seed's «温县», «示范区»); a place word without one («杭州») unless a
        report's text mentions it at all («焦作至北京»); the national government unless a national
        report is in the corpus; in English, a capitalised name in a place position whose pinyin
        no report has («Shanghai's»).
        """
        return list(kept(self._unknown, question, lambda q: tuple(self._unknown_places(q)), _KEPT))

    def _unknown_places(self, question: str) -> list[str]:
        cat, rules = self.catalogue, self.catalogue.rules
        words = self._tagged(question)
        out: list[str] = []
        for i, (word, flag) in enumerate(words):
            if not _HAN.fullmatch(word):
                continue
            nxt = words[i + 1][0] if i + 1 < len(words) else ""
            ending = cat.suffix_of(word) or (nxt if nxt in rules.suffixes else "")
            name = word if cat.suffix_of(word) else word + ending
            stem = cat.stem(name)
            if name.startswith(rules.not_first) or name in rules.place_types or stem in rules.place_types \
                    or any(n in name for n, _ in self._names):
                continue
            if ending and stem != name and (flag == "ns" or not cat.is_common_word(stem)):
                place = name
            elif flag == "ns":
                place = word
            else:
                continue  # «楼市»: an ending after one character is a word, not a place
            if not self._mentions(place) or (self._scopes(words, i) and not self._inside(place)):
                out.append(name)
        if not self._national:
            out += [b for b in rules.national_bodies if b in question]
        for pattern in rules.english_places:
            for m in pattern.finditer(question):
                name = m.group(1)
                if name not in rules.english_not_places and name.lower() not in self._pinyin:
                    out.append(name)
        return list(dict.fromkeys(out))

    def years_named(self, question: str) -> list[int]:
        return self._years_of(question)[0]

    def names_report(self, question: str) -> bool:
        """Whether the question's first year names a report («2023年报告说的…»), not a period."""
        return self._years_of(question)[1]

    def _years_of(self, question: str) -> tuple[list[int], bool]:
        """Explicit years, and whether the first names a report («2023年报告», «2023年的政府工作报告»)."""
        found = list(YEAR.finditer(question))
        if not found:
            return [], False
        after = question[found[0].end() : found[0].end() + 12]
        names_report = any(re.match(rf"年?(?:的|版)?[\u4e00-\u9fff]{{0,6}}{re.escape(w)}", after)
                           for w in self.words.report)
        return list(dict.fromkeys(int(m.group(1)) for m in found)), names_report

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
        own_time = self._years_of(question)[0] or self._relative(question) or any(w in question for w in self.words.periods)
        timed = question if own_time or not context else context
        years, names_report = self._years_of(timed)
        by_year = self._narrow_by_year(pool, years, names_report, intent, timed, notes)
        if by_year:
            pool = by_year
        elif regions and len(years) == 1 and pool:
            gap = self._gap(pool, years[0], intent, timed)
            if gap:
                return Selection((), tuple(regions), (), (), gap=gap, notes=notes)
        if restrict is None and not regions and len(pool) == len(self.reports):
            return Selection(None, (), (), (), notes=notes)
        years = tuple(sorted({self.reports[i].year for i in pool if self.reports[i].year}))
        return Selection(tuple(pool), tuple(regions), (), years, notes=notes)

    def _gap(self, pool: list[str], year: int, intent: str | None, question: str) -> str:
        """Why none of a place's reports answers for ``year`` (bilingual), naming the years it has:
        a year's targets need that year's report, its outcome the next year's («2023年GDP增长多少»
        is the 2024 report's review). Empty for a long-range goal the newest report sets («到2026年»)."""
        region = self.reports[pool[0]].region
        have = sorted({y for i in pool if (y := self.reports[i].year)})
        if year > max(have, default=0) and self._deadline(question, year) \
                and any(f"{year}年" in self._texts[self._position[i]] for i in pool):
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
        return f"{zh}。语料中{region}的报告年份：{'、'.join(map(str, have))}。 / {en}; it has {region}'s reports of {', '.join(map(str, have))}."

    def _deadline(self, question: str, year: int) -> bool:
        """«到2026年»: the year is a deadline a report sets, not the report's own year."""
        at = question.find(f"{year}年")
        return at > 0 and question[:at].rstrip().endswith(self._deadline_words)

    def _relative(self, text: str) -> bool:
        return any(w in text for w in (*self.words.this_year, *self.words.last_year))

    def _narrow_by_year(self, pool: list[str], years: list[int], names_report: bool, intent: str | None,
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
        relative_this = self._relative(question) and not relative_last
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
