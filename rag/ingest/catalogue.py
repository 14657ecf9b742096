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
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from rag.core.errors import RagError
from rag.core.types import Document, Report
from rag.genre.gazetteer import Gazetteer, default_gazetteer
from rag.genre.lexicon import Lexicon
from rag.genre.text import HAN_RUN as _HAN
from rag.genre.text import YEAR, _jieba, chinese_number

_EDGE = " \t\u3000#*《》<>「」“”\"'（）()—-－:：，,。"
_MARKUP = re.compile(r"<!--.*?-->|[\s*#]+|^[-+>]+", re.S | re.M)
_DATE = re.compile(r"(.+?)年(.+?)月")
_URL = re.compile(r"https?://\S+")
_NOT_HEADING = "，；,;"


def _flat(text: str) -> str:
    """``text`` without markup, HTML comments and white space: how a delivery line reads once the
    page's line breaks and bold markers are gone («在济南市第十八届人民代表\\n\\n大会»)."""
    return _MARKUP.sub("", text)


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


@lru_cache(maxsize=1)
def _place_tags() -> dict[str, str]:
    """jieba's word → part-of-speech table (loaded on first use: a report without any place line)."""
    import jieba.posseg

    _jieba()
    jieba.posseg.dt.initialize()
    return jieba.posseg.dt.word_tag_tab


class CatalogueError(RagError, ValueError):
    """Front matter that cannot be read (a year that is not a year); bilingual, names the file."""


@dataclass(frozen=True)
class _Rules:
    suffixes: tuple[str, ...]
    levels: dict[str, str]
    not_first: tuple[str, ...]
    place_types: frozenset[str]
    compound_next: str
    common_word_freq: int
    stem_lengths: tuple[int, ...]
    place_tag: str
    name_tags: frozenset[str]
    national_bodies: tuple[str, ...]
    national_region: str
    national_level: str
    title_words: tuple[str, ...]
    title_max_chars: int
    head_lines: int
    congress: re.Pattern[str]
    congress_flat: re.Pattern[str]
    title_date: re.Pattern[str]
    salutation: str
    head_chars: int
    max_place_chars: int
    delegate: re.Pattern[str]
    delegate_level: re.Pattern[str]
    title_noise: tuple[str, ...]
    plan_words: tuple[str, ...]
    review_words: tuple[str, ...]
    long_range_words: tuple[str, ...]
    heading_max_chars: int
    next_year_months: frozenset[int]
    plan_phrases: tuple[re.Pattern[str], ...]
    this_year: str
    anniversaries: dict[str, int]
    anniversary: re.Pattern[str]
    periods: dict[str, int]
    period_positions: dict[str, int]
    ending_kinds: dict[str, tuple[str, ...]]
    known_place_weight: float
    term: re.Pattern[str]
    title_template: str
    english_places: tuple[re.Pattern[str], ...]
    english_not_places: frozenset[str]

    @classmethod
    def load(cls, lexicon: Lexicon) -> _Rules:
        d = lexicon.table("catalogue")
        place, lines, year = d["place"], d["lines"], d["year"]
        return cls(
            suffixes=tuple(sorted(place["suffixes"], key=len, reverse=True)), levels=dict(place["levels"]),
            not_first=tuple(place["not_first"]),
            place_types=frozenset(place["place_types"]), compound_next=place["compound_next"],
            common_word_freq=int(place["common_word_freq"]), stem_lengths=tuple(place["stem_lengths"]),
            place_tag=place["place_tag"], name_tags=frozenset(place["name_tags"]),
            national_bodies=tuple(d["national"]["bodies"]), national_region=d["national"]["region"],
            national_level=d["national"]["level"], title_words=tuple(lines["title_words"]),
            title_max_chars=int(lines["title_max_chars"]), head_lines=int(lines["head_lines"]),
            congress=re.compile(lines["congress"]), congress_flat=re.compile(lines["congress_flat"]),
            title_date=re.compile(lines["title_date"]), salutation=lines["salutation"],
            head_chars=int(lines["head_chars"]), max_place_chars=int(lines["max_place_chars"]),
            delegate=re.compile(lines["delegate"]), delegate_level=re.compile(lines["delegate_level"]),
            title_noise=tuple(sorted(lines["title_noise"], key=len, reverse=True)),
            plan_words=tuple(year["plan_heading_words"]), review_words=tuple(year["review_heading_words"]),
            long_range_words=tuple(year["long_range_words"]), heading_max_chars=int(year["heading_max_chars"]),
            next_year_months=frozenset(year["next_year_months"]), this_year=year["this_year"],
            plan_phrases=tuple(re.compile(p) for p in year["plan_phrases"]),
            anniversaries=dict(year["anniversaries"]), anniversary=re.compile(year["anniversary"]),
            periods=dict(year["periods"]), period_positions=dict(year["period_positions"]),
            ending_kinds={k: tuple(v) for k, v in place["ending_kinds"].items()},
            known_place_weight=float(place["known_place_weight"]),
            term=re.compile(place["term"]),
            title_template=d["title"]["template"],
            english_places=tuple(re.compile(p) for p in d["english"]["place_patterns"]),
            english_not_places=frozenset(d["english"]["not_places"]),
        )


class ReportCatalogue:
    """Infers a document's ``Report`` from its text; ``meta`` (front matter) overrides it."""

    def __init__(self, lexicon: Lexicon | None = None, gazetteer: Gazetteer | None = None) -> None:
        self.lexicon = lexicon or Lexicon.default()
        self.rules = _Rules.load(self.lexicon)
        self.gazetteer = gazetteer or default_gazetteer()

    # ---- places

    def suffix_of(self, name: str) -> str | None:
        """The administrative ending of ``name`` (``市`` of 焦作市), None when it has none."""
        if not name.endswith(self.rules.suffixes):  # one C call rules out most words of a question
            return None
        return next((s for s in self.rules.suffixes if name.endswith(s) and len(name) > len(s)), None)

    def stem(self, region: str) -> str:
        """The name without its ending, as questions write it (江城市 → 江城)."""
        suffix = self.suffix_of(region)
        stem = region[: -len(suffix)] if suffix else region
        return stem if len(stem) >= 2 else region

    def names_of(self, region: str) -> tuple[str, ...]:
        """The names a question may use for ``region``: its stem (江城 of 江城市) and, for a
        division the gazetteer knows, its short forms (克州, 克孜勒苏; 广西 of 广西壮族自治区)."""
        d = self.gazetteer.get(region)
        return tuple(dict.fromkeys([self.stem(region), *((*d.aliases, *d.stems()) if d else ())]))

    def level_of(self, region: str) -> str:
        suffix = self.suffix_of(region)
        return self.rules.levels.get(suffix, "") if suffix else ""

    def _as_place(self, text: str) -> str:
        """``text`` if it reads as one place name (Han characters ending in a place suffix)."""
        text = text.strip(_EDGE)
        if not _HAN.fullmatch(text or "-") or text.startswith(self.rules.not_first):
            return ""
        return text if self.suffix_of(text) else ""

    def is_common_word(self, word: str) -> bool:
        """A word jieba's dictionary counts as ordinary vocabulary («示范», «建成»), not a name."""
        return _jieba().dt.FREQ.get(word, 0) >= self.rules.common_word_freq

    def frequent_place(self, text: str, suffix: str | None = None) -> str:
        """The place a text names most, for reports that never say whose they are (see ``most_named``)."""
        return self.most_named(text, suffix)

    def _text_places(self, text: str, suffix: str | None, counts: Counter[str]) -> list[tuple[int, int, str]]:
        """(mentions, length, name) of names the text writes with a place ending, for places the
        gazetteer does not know (a synthetic corpus's 江城市, 南岭省).

        Candidates are the characters before a place ending («焦作» of 焦作市) that jieba also
        reads as a word of their own somewhere in the text and that are not common words of its
        dictionary; compound words (市级, 县域) and collective words (全市, 本县) are not names.
        With the report's own ending known (``suffix``, from «我代表省人民政府»), only names with
        that ending count (a 州 report's 兴义市 does not), and jieba's place words the text repeats
        count too (南岭 → 南岭省); a word the gazetteer knows (鹤壁, a city) is never one of them.
        """
        r = self.rules
        endings = {suffix, *r.ending_kinds.get(suffix, ())} if suffix else set()
        ends = "|".join(map(re.escape, r.suffixes))
        candidates: dict[str, str] = {}
        for m in re.finditer(rf"(?:{ends})(?![{re.escape(r.compound_next)}])", text):
            for n in r.stem_lengths:
                stem = text[max(0, m.start() - n) : m.start()]
                if len(stem) == n and _HAN.fullmatch(stem) and not stem.startswith(r.not_first):
                    candidates.setdefault(stem, m.group())
        if suffix:
            candidates = {s: x for s, x in candidates.items() if x in endings}
            tags = _place_tags()
            for word in counts:
                if tags.get(word) == r.place_tag and _HAN.fullmatch(word) and not self.suffix_of(word) \
                        and word not in r.place_types:
                    candidates.setdefault(word, suffix or "")
        scored = []
        for stem, end in candidates.items():
            if self.is_common_word(stem) or stem.startswith(r.not_first) or self.gazetteer.known(stem) \
                    or self.gazetteer.known(stem + end):
                continue
            n = counts[stem] + counts[stem + end]
            if n:
                scored.append((n, len(stem), stem + end))
        return scored

    def most_named(self, text: str, suffix: str | None = None) -> str:
        """The place a text names most: the divisions of the gazetteer by how often the text writes
        any of their names (with the report's own ending, when known, only divisions of that kind:
        «我代表省人民政府» and «支持焦作、新乡» make a province, not 焦作), against names the
        text itself writes, which must be named ``known_place_weight`` times as often to win. A
        name inside a division's name counts for that division (龙江 for 黑龙江)."""
        endings = {suffix, *self.rules.ending_kinds.get(suffix or "", ())} if suffix else None
        named = self.gazetteer.mentions(text)
        known = {d.name: named[d.name] for d in self.gazetteer.divisions if endings is None or d.ending in endings}
        stems = {name: self.gazetteer.get(name).stems() for name, n in known.items() if n}
        own: list[tuple[int, int, str]] = []
        for cand in self._text_places(text, suffix, Counter(_jieba().lcut(text))):
            inside = next((name for name, ss in stems.items() if any(self.stem(cand[2]) in s for s in ss)), None)
            if inside:
                known[inside] += cand[0]
            else:
                own.append(cand)
        best = max(known.items(), key=lambda kv: kv[1], default=("", 0))
        top = max(own, default=(0, 0, ""))
        if top[0] > self.rules.known_place_weight * best[1]:
            return top[2]
        return best[0] if best[1] else ""

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
        shown = line.strip().strip(_EDGE)
        return shown if len(shown) <= r.title_max_chars and any(w in shown for w in r.title_words) else ""

    def title_line(self, doc: Document) -> str:
        return next((t for t in map(self.as_title, self._head(doc)) if t), "")

    def resolve(self, raw: str, anchored: bool = True) -> tuple[str, str]:
        """(place, ending) of what a report calls itself: the full division for a name or short
        form the gazetteer knows (克州 → 克孜勒苏柯尔克孜自治州, even run together with what
        precedes it), the name as written for a place it does not know, or only the ending when
        the report names none («自治区», «州»). A name the gazetteer does not know counts only
        ``anchored`` (after 在 or a date): «较好完成了市十五届人大…确定的目标» names no place."""
        r = self.rules
        raw = r.term.sub("", raw.strip(_EDGE))
        if raw in r.suffixes or raw in r.ending_kinds:
            return "", raw
        known = self.gazetteer.get(raw) or self.gazetteer.ending_in(raw)
        if known:
            return known.name, ""
        for noise in r.title_noise:
            raw = raw.rpartition(noise)[2]
        if anchored and len(raw) <= r.max_place_chars and (place := self._as_place(raw)):
            return place, ""
        return "", ""

    def _title_place(self, title: str) -> tuple[str, str]:
        """(place, ending) a title names: a division it writes, its delivery line, else its words."""
        known = self.gazetteer.first_in(title)
        if known:
            return known.name, ""
        congress = self.rules.congress_flat.search(_flat(title))
        if congress:
            return self.resolve(congress.group("place"))
        rest = YEAR.sub(" ", title)
        for w in self.rules.title_noise:
            rest = rest.replace(w, " ")
        rest = re.sub(r"(?<=\s)年|^年", " ", rest)
        found = [self.resolve(x) for x in rest.split()]
        return next((f for f in found if f[0]), next((f for f in found if f[1]), ("", "")))

    def self_naming(self, doc: Document, title: str) -> SelfNaming:
        """What the report says about itself: its title, delivery line and delegation sentence, read
        from the text with markup and line breaks removed (a delivery line is often broken in two)."""
        r = self.rules
        text = doc.text  # markup already left it (rag.ingest.loaders.markup): only line breaks are flattened here
        salute = text.find(r.salutation, 0, r.head_chars)
        head = _flat(text[: salute if salute != -1 else r.head_chars])
        opening = _flat(text[: r.head_chars * 2])
        lines = [*r.congress_flat.finditer(_flat(title)), *r.congress_flat.finditer(head)]
        delegate = r.delegate.search(opening)
        named = [self._title_place(title) if title else ("", "")]
        named += [self.resolve(m.group("place"), bool(m.group("at") or m.group("date"))) for m in lines]
        named.append(self.resolve(delegate.group("place")) if delegate else ("", ""))
        own = r.delegate_level.search(opening)
        endings = [e for _, e in named if e] + ([own.group("suffix")] if own else [])
        date = next((m.group("date") for m in lines if m.group("date")), None)
        if not date and (dated := r.title_date.search(title)):
            date = dated.group("date")
        return SelfNaming(places=tuple(p for p, _ in named if p), ending=endings[0] if endings else "",
                          delivered=date,
                          national=bool(delegate and delegate.group("place") in r.national_bodies))

    # ---- the plan year

    def _headings(self, doc: Document) -> list[str]:
        """Heading-like lines: the section tree's titles, and every short line of the text without its
        white space (markup never reaches ``doc.text``: the loaders read it as structure)."""
        limit = self.rules.heading_max_chars
        out = [s.title for s in doc.sections]
        for line in doc.text.splitlines():
            cand = _flat(line)
            if cand and len(cand) <= limit and not any(c in cand for c in _NOT_HEADING):
                out.append(cand)
        return out

    def plan_year(self, doc: Document) -> int | None:
        """From the headings: the year after the latest reviewed year («一、2023年工作回顾»); else
        the latest year a plan heading names («二、2024年工作安排»), long-range goals (2035年远景
        目标) and five-year plans aside."""
        r = self.rules
        plan, review = [], []
        for h in self._headings(doc):
            years = [int(y) for y in YEAR.findall(h)]
            if not years:
                continue
            if any(w in h for w in r.review_words):
                review.append(max(years))
            elif any(w in h for w in r.plan_words) and not any(w in h for w in r.long_range_words):
                plan.append(max(years))
        if review:
            return max(review) + 1
        return max(plan) if plan else None

    def delivered_plan_year(self, delivered: str | None) -> int | None:
        """The plan year of a report delivered on ``delivered``: its year, or the next one for a
        December session (2022年12月26日 plans 2023); two-digit and Chinese-numeral years too."""
        m = _DATE.match(delivered or "")
        if not m:
            return None
        year, month = chinese_number(m.group(1)), chinese_number(m.group(2))
        year += 2000 if year < 100 else 0
        if not 1949 <= year <= 2100:
            return None
        return year + 1 if month in self.rules.next_year_months else year

    def phrase_year(self, text: str) -> int | None:
        """The year the plan part's own sentences name most («做好2024年政府工作»)."""
        years = Counter(int(m.group("year")) for p in self.rules.plan_phrases for m in p.finditer(text))
        return years.most_common(1)[0][0] if years else None

    def this_year(self, text: str) -> int | None:
        """«今年是新中国成立75周年» (1949 + 75), «今年是“十四五”规划收官之年» (2025): the plan
        year from what the speech says the year is."""
        r = self.rules
        for m in re.finditer(re.escape(r.this_year), text):
            clause = re.split(r"[，。；！,;]", text[m.end() : m.end() + 60])[0]
            n = r.anniversary.search(clause)
            base = next((y for w, y in r.anniversaries.items() if w in clause), None)
            if n and base:
                return base + chinese_number(n.group("n"))
            start = next((y for w, y in r.periods.items() if w in clause), None)
            step = next((k for w, k in r.period_positions.items() if w in clause), None)
            if start and step is not None:
                return start + step
        return None

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
            region = r.national_region if said.national else self.most_named(doc.text, said.ending or None)
        division = self.gazetteer.get(region)
        level = meta.get("level") or (r.national_level if said.national and region == r.national_region
                                      else division.level if division else self.level_of(region))
        year = self._meta_year(meta, doc) if "year" in meta else (
            self.delivered_plan_year(said.delivered) or self.plan_year(doc) or self.phrase_year(doc.text)
            or self.this_year(doc.text)
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
        own = title and self.stem(region) in title and f"{year}年" in title and not r.title_date.search(title)
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
