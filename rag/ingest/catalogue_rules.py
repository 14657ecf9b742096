"""What the report catalogue knows of the genre, as data: place endings and levels, the lines a
report names itself in, the words of its plan year (all from ``rag/data/catalogue.toml``), and how
a line reads once markup and line breaks are gone."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.genre.lexicon import Lexicon

#: what surrounds a name or a title on its line without being part of it
EDGE = " \t\u3000#*《》<>「」“”\"'（）()—-－:：，,。"
_MARKUP = re.compile(r"<!--.*?-->|[\s*#]+|^[-+>]+", re.S | re.M)


def flat(text: str) -> str:
    """``text`` without markup, HTML comments and white space: how a delivery line reads once the
    page's line breaks and bold markers are gone («在济南市第十八届人民代表\\n\\n大会»)."""
    return _MARKUP.sub("", text)


@dataclass(frozen=True)
class CatalogueRules:
    """The catalogue's vocabulary and patterns, read once from ``rag/data/catalogue.toml``."""

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
    def load(cls, lexicon: Lexicon) -> CatalogueRules:
        """The ``catalogue`` table of ``lexicon``, its patterns compiled and its endings longest first."""
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
