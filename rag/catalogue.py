"""The catalogue of reports: which place delivered a report, at which level, for which plan year.

A corpus holds many reports, and every answer must say which one it comes from. Reports say
who they are in a handful of genre conventions, read here in order of how explicit they are:
front matter (``region:``, ``level:``, ``year:``, ``title:``) overrides everything; then the
title line (「江城市2023年政府工作报告」), the delivery line (「——2023年1月10日在江城市第十六届
人民代表大会第二次会议上」), the delegation sentence (「我代表江城市人民政府」), and, for a report
that states none of these (the seed is such a text), the place name it repeats most. The plan
year comes from the plan part's headings (「二、2023年工作总体要求」). All vocabulary and patterns
live in ``rag/data/catalogue.toml``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from rag.genre.lexicon import Lexicon
from rag.genre.text import HAN_RUN as _HAN
from rag.genre.text import YEAR, _jieba
from rag.types import Document, Report

_EDGE = " \t\u3000#*《》<>「」“”\"'（）()—-－:：，,。"


@lru_cache(maxsize=1)
def _place_tags() -> dict[str, str]:
    """jieba's word → part-of-speech table (loaded on first use: a report without any place line)."""
    import jieba.posseg

    _jieba()
    jieba.posseg.dt.initialize()
    return jieba.posseg.dt.word_tag_tab


class CatalogueError(ValueError):
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
    delegate: re.Pattern[str]
    delegate_level: re.Pattern[str]
    title_noise: tuple[str, ...]
    plan_words: tuple[str, ...]
    review_words: tuple[str, ...]
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
            congress=re.compile(lines["congress"]), delegate=re.compile(lines["delegate"]),
            delegate_level=re.compile(lines["delegate_level"]),
            title_noise=tuple(sorted(lines["title_noise"], key=len, reverse=True)),
            plan_words=tuple(year["plan_heading_words"]), review_words=tuple(year["review_heading_words"]),
            title_template=d["title"]["template"],
            english_places=tuple(re.compile(p) for p in d["english"]["place_patterns"]),
            english_not_places=frozenset(d["english"]["not_places"]),
        )


class ReportCatalogue:
    """Infers a document's ``Report`` from its text; ``meta`` (front matter) overrides it."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon.default()
        self.rules = _Rules.load(self.lexicon)

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

    def level_of(self, region: str) -> str:
        suffix = self.suffix_of(region)
        return self.rules.levels.get(suffix, "") if suffix else ""

    def _as_place(self, text: str) -> str:
        """``text`` if it reads as one place name (Han characters ending in a place suffix)."""
        text = text.strip(_EDGE)
        if not _HAN.fullmatch(text or "-") or text.startswith(self.rules.not_first):
            return ""
        return text if self.suffix_of(text) else ""

    def _title_place(self, title: str) -> str:
        rest = YEAR.sub(" ", title)
        for w in self.rules.title_noise:
            rest = rest.replace(w, " ")
        rest = re.sub(r"(?<=\s)年|^年", " ", rest)
        return next((p for p in (self._as_place(x) for x in rest.split()) if p), "")

    def is_common_word(self, word: str) -> bool:
        """A word jieba's dictionary counts as ordinary vocabulary («示范», «建成»), not a name."""
        return _jieba().dt.FREQ.get(word, 0) >= self.rules.common_word_freq

    def frequent_place(self, text: str, suffix: str | None = None) -> str:
        """The place a text names most, for reports that never say whose they are.

        Candidates are the characters before a place ending («焦作» of 焦作市) that jieba also
        reads as a word of their own somewhere in the text and that are not common words of its
        dictionary; compound words (市级, 县域) and collective words (全市, 本县) are not names.
        With the report's own ending known (``suffix``, from «我代表省人民政府»), only names of
        that level count, and jieba's place words the text repeats count too (南岭 → 南岭省).
        """
        r = self.rules
        jieba = _jieba()
        counts = Counter(jieba.lcut(text))
        level = r.levels.get(suffix or "")
        ends = "|".join(map(re.escape, r.suffixes))
        candidates: dict[str, str] = {}
        for m in re.finditer(rf"(?:{ends})(?![{re.escape(r.compound_next)}])", text):
            for n in r.stem_lengths:
                stem = text[max(0, m.start() - n) : m.start()]
                if len(stem) == n and _HAN.fullmatch(stem) and not stem.startswith(r.not_first):
                    candidates.setdefault(stem, m.group())
        if level:
            candidates = {s: x for s, x in candidates.items() if r.levels.get(x) == level}
            tags = _place_tags()
            for word in counts:
                if tags.get(word) == r.place_tag and _HAN.fullmatch(word) and not self.suffix_of(word) \
                        and word not in r.place_types:
                    candidates.setdefault(word, suffix or "")
        scored = []
        for stem, end in candidates.items():
            if self.is_common_word(stem) or stem.startswith(r.not_first):
                continue
            n = counts[stem] + counts[stem + end]
            if n:
                scored.append((n, len(stem), stem + end))
        return max(scored)[2] if scored else ""

    # ---- lines

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

    def plan_year(self, doc: Document) -> int | None:
        """The latest year a plan heading names; else the year after the latest reviewed year."""
        r = self.rules
        plan, review = [], []
        for s in doc.sections:
            years = [int(y) for y in YEAR.findall(s.title)]
            if not years:
                continue
            if any(w in s.title for w in r.review_words):
                review.extend(years)
            elif any(w in s.title for w in r.plan_words):
                plan.extend(years)
        if plan:
            return max(plan)
        return max(review) + 1 if review else None

    # ---- entry point

    def run(self, doc: Document, meta: Mapping[str, str] | None = None, declared_title: str = "") -> Report:
        """``meta`` is front matter and overrides what the text says; ``declared_title`` is the title
        the file declares (``<title>``, document properties), used only when it reads as a report's."""
        meta = {k: v.strip() for k, v in (meta or {}).items() if isinstance(v, str) and v.strip()}
        r = self.rules
        title = meta.get("title") or self.title_line(doc) or self.as_title(declared_title)
        head = "\n".join(self._head(doc))
        search = head + "\n" + doc.text[:2000]  # the delegation sentence opens the review
        congress = r.congress.search(search)
        delegate = r.delegate.search(search)
        delivered = congress.group("date") if congress and congress.group("date") else None
        national = bool(delegate and delegate.group("place") in r.national_bodies)
        region = meta.get("region") or next(
            (p for p in (
                self._title_place(title) if title else "",
                self._as_place(delegate.group("place")) if delegate else "",
                self._as_place(congress.group("place")) if congress else "",
            ) if p),
            "",
        )
        if not region:
            own = r.delegate_level.search(search)
            region = r.national_region if national else self.frequent_place(
                doc.text, own.group("suffix") if own else None)
        level = meta.get("level") or (r.national_level if national and region == r.national_region
                                      else self.level_of(region))
        year = self._meta_year(meta, doc) if "year" in meta else (
            self.plan_year(doc)
            or (int(delivered[:4]) if delivered else None)
            or next((int(y) for y in YEAR.findall(title)), None)
        )
        if not title and region and year:
            title = r.title_template.format(region=region, year=year)
        return Report(region=region, level=level, year=year, title=title, delivered=delivered)

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
