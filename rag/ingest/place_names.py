"""How reports and questions write place names: administrative endings and levels, stems and
short forms (through the gazetteer of China's divisions), and the place a text names most when a
report never says whose it is."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from rag.genre.gazetteer import Gazetteer
from rag.genre.text import HAN_RUN as _HAN
from rag.genre.text import _jieba
from rag.ingest.catalogue_rules import EDGE, CatalogueRules


@lru_cache(maxsize=1)
def _place_tags() -> dict[str, str]:
    """jieba's word → part-of-speech table (loaded on first use: a report without any place line)."""
    import jieba.posseg

    _jieba()
    jieba.posseg.dt.initialize()
    return jieba.posseg.dt.word_tag_tab


class PlaceNames:
    """Place names under the catalogue's rules: what a name's ending, stem, level and short forms
    are, whether a word is a name at all, and which place a report means."""

    def __init__(self, rules: CatalogueRules, gazetteer: Gazetteer) -> None:
        self.rules = rules
        self.gazetteer = gazetteer

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

    def as_place(self, text: str) -> str:
        """``text`` if it reads as one place name (Han characters ending in a place suffix)."""
        text = text.strip(EDGE)
        if not _HAN.fullmatch(text or "-") or text.startswith(self.rules.not_first):
            return ""
        return text if self.suffix_of(text) else ""

    def is_common_word(self, word: str) -> bool:
        """A word jieba's dictionary counts as ordinary vocabulary («示范», «建成»), not a name."""
        return _jieba().dt.FREQ.get(word, 0) >= self.rules.common_word_freq

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
        stems = {name: div.stems() for name, n in known.items() if n and (div := self.gazetteer.get(name))}
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

    def resolve(self, raw: str, anchored: bool = True) -> tuple[str, str]:
        """(place, ending) of what a report calls itself: the full division for a name or short
        form the gazetteer knows (克州 → 克孜勒苏柯尔克孜自治州, even run together with what
        precedes it), the name as written for a place it does not know, or only the ending when
        the report names none («自治区», «州»). A name the gazetteer does not know counts only
        ``anchored`` (after 在 or a date): «较好完成了市十五届人大…确定的目标» names no place."""
        r = self.rules
        raw = r.term.sub("", raw.strip(EDGE))
        if raw in r.suffixes or raw in r.ending_kinds:
            return "", raw
        known = self.gazetteer.get(raw) or self.gazetteer.ending_in(raw)
        if known:
            return known.name, ""
        for noise in r.title_noise:
            raw = raw.rpartition(noise)[2]
        if anchored and len(raw) <= r.max_place_chars and (place := self.as_place(raw)):
            return place, ""
        return "", ""
