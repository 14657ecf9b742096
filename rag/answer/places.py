"""Which places a question names: the catalogue's regions, written in full, as stems or in pinyin,
and the places no report covers.

Places are matched by their full name or their stem (江城市 → «江城»); a place the catalogue lacks
is recognised by its ending («临海市», «青石县») or as a place word of jieba's dictionary («杭州»), and
counts as unknown only when no report's text mentions it (or only mentions it as lying outside its
own area). What a reader learns of one question is kept: the parts of a question, the report
router and a conversation's turns ask again.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from functools import lru_cache

from rag.core.cache import get_or_make
from rag.core.types import Document
from rag.genre.postag import tagger
from rag.genre.text import YEAR
from rag.ingest.catalogue import ReportCatalogue

_HAN = re.compile(r"[\u4e00-\u9fff]{2,}")
_KEPT = 4096  # questions and words whose place checks a reader remembers


@lru_cache(maxsize=256)
def _pinyin(name: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(name)).lower() if name else ""


class PlaceReader:
    """The places of questions, read against one set of reports (which never change)."""

    def __init__(self, documents: Sequence[Document], catalogue: ReportCatalogue) -> None:
        self.catalogue = catalogue
        self.documents = documents
        self._texts = [d.text for d in documents]
        names: dict[str, str] = {}
        for d in documents:
            if d.report.region:
                names.setdefault(d.report.region, d.report.region)
                for name in catalogue.place_names.names_of(d.report.region):  # 江城 of 江城市; 克州, 广西 (gazetteer)
                    names.setdefault(name, d.report.region)
        self.names = sorted(names.items(), key=lambda kv: -len(kv[0]))  # (name as written, region)
        #: an English spelling of each name → its region: the pinyin of every name (guangxi of the alias
        #: 广西, qiandongnan of 黔东南州), then the atlas names that are no pinyin (Inner Mongolia)
        self.pinyin = {_pinyin(n): r for n, r in reversed(names.items())}  # the first name spelled so wins
        exonyms = catalogue.lexicon.table("english").get("places", {})
        self.pinyin |= {en.lower(): names[zh] for en, zh in exonyms.items() if zh in names}
        #: what named_regions looks for, compiled once: names longest first («江城市» is not also «江城»), then pinyin
        self._region_patterns = [(re.compile(re.escape(n)), r) for n, r in self.names]
        self._region_patterns += [(re.compile(rf"(?i)\b{re.escape(p)}\b"), r) for p, r in self.pinyin.items() if p]
        self._national = any(d.report.level == catalogue.rules.national_level for d in documents)
        #: question text -> its unknown places, and word -> whether a report mentions it; bounded
        self._unknown: dict[str, tuple[str, ...]] = {}
        self._mentioned: dict[str, bool] = {}
        self._tags: dict[str, tuple[tuple[str, str], ...]] = {}  # text -> jieba's (word, tag) pairs
        self._within: dict[str, bool] = {}  # place -> whether it lies inside a report's area
        table = catalogue.lexicon.table("selection")
        self._rank = {level: i for i, level in enumerate(table["level_order"])}  # 0 = the top
        scope = catalogue.lexicon.table("scope")
        times = frozenset(scope["plan_time"]) | frozenset(scope["last_year"])
        self._leads = frozenset(table["leads"]) | times
        self._scope_marks = frozenset(table["scope_marks"]) | times

    @property
    def pinyin_names(self) -> list[str]:
        return [p for p in self.pinyin if p]

    def strip_places(self, text: str) -> str:
        """``text`` without the catalogue's place names: inside its own report «江城城镇新增就业»
        is just «城镇新增就业», and the name would only favour sentences that repeat it."""
        for name, _ in self.names:  # longest first
            text = text.replace(name, "")
        for p in self.pinyin_names:
            text = re.sub(rf"(?i)\b{re.escape(p)}(?:'s)?(?:\s+(?:city|county|province|prefecture))?\b", " ", text)
        return re.sub(r"[ \t]{2,}", " ", text).strip()

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
        return get_or_make(self._within, place, self._reads_inside, _KEPT)

    def _reads_inside(self, place: str) -> bool:
        cat = self.catalogue.place_names
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
        return get_or_make(self._mentioned, word, lambda w: any(w in t for t in self._texts), _KEPT)

    def _tagged(self, text: str) -> tuple[tuple[str, str], ...]:
        """jieba's part-of-speech pairs, kept: the place check and the name check read the same question."""
        return get_or_make(self._tags, text, lambda t: tuple((w.word, w.flag) for w in tagger().cut(t)), _KEPT)

    def unknown_places(self, question: str) -> list[str]:
        """Places the question names that no report is about (kept per question text).

        A name written with its ending («北京市», «青山县») is a place unless a report's text has
        that very name (the seed's «温县», «示范区»); a place word without one («杭州») unless a
        report's text mentions it at all («焦作至北京»); the national government unless a national
        report is in the corpus; in English, a capitalised name in a place position whose pinyin
        no report has («Shanghai's»).
        """
        found: tuple[str, ...] = get_or_make(self._unknown, question, lambda q: tuple(self._unknown_places(q)), _KEPT)
        return list(found)

    def _unknown_places(self, question: str) -> list[str]:
        cat, rules = self.catalogue.place_names, self.catalogue.rules
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
                    or any(n in name for n, _ in self.names):
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
                if name not in rules.english_not_places and name.lower() not in self.pinyin:
                    out.append(name)
        return list(dict.fromkeys(out))
