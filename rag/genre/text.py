"""How the genre's text is written, without its vocabulary: punctuation classes, Chinese
numerals, years, figures with units, offset-keeping span trimming and the search tokenizer.

Every module that cuts, trims or reads figures uses these, so a report that writes a full-width
mark or a numeral another way is read the same way by retrieval, composers, tracker and
evaluation. Words (units, time phrases, heading vocabulary) live in ``rag/data`` and are loaded
by ``rag.genre.lexicon``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# --- punctuation classes ---------------------------------------------------------------------
SENTENCE_ENDS = "。！？!?"  # a sentence ends here; "…" and "；" do not end one
LINE_ENDS = SENTENCE_ENDS + "\n"  # sentence ends, or a line break (headings, list lines)
CLAUSE_ENDS = "，,；;：:"  # a comma clause ends here; "、" joins list items and never cuts
SPACES = " \t\u3000\n"
#: everything trimmed off the ends of a quoted clause
TRIM = SPACES + CLAUSE_ENDS + "、" + SENTENCE_ENDS

# --- numerals --------------------------------------------------------------------------------
CN_DIGITS = "零〇一二两三四五六七八九"
#: every character a Chinese numeral is written with ("十二", "三百零五", "二〇二三")
CN_NUMERAL = CN_DIGITS + "十百千"
_CN_VALUE = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2} | {str(i): i for i in range(10)}
_CN_MULTIPLIER = {"十": 10, "百": 100, "千": 1000}
CN_NUMERAL_RUN = re.compile(f"[{CN_NUMERAL}]+")

#: A decimal number written in digits, whole (not the tail of a longer one): «5.5» in «增长5.5%»
NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?")
#: An HTML comment (photo captions, editor notes in web-page reports): never report text.
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
#: a four-digit year of this era, not part of a longer number; group 1 is the year
YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
#: a year as a question or heading says it: "2023年", "2023"
YEAR_PHRASE = re.compile(YEAR.pattern + r"\s*年?")
DIGIT = re.compile(r"\d")
#: a run of Chinese characters
HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
WHITESPACE = re.compile(r"\s+")

#: a figure in digits, or a count in Chinese numerals with its classifier («三件», «两项»)
_FIGURE_MARK = re.compile(r"\d|[一二三四五六七八九十两百千万]+[件项个条所家类方座批名位次倍成]")


def states_figure(text: str) -> bool:
    """Whether ``text`` states any figure: a digit, or a count in Chinese numerals (三件, 两项)."""
    return _FIGURE_MARK.search(text) is not None


def char_bigrams(text: str) -> set[str]:
    """Every pair of neighbouring characters: the unit of the genre's fuzzy matching of names,
    which sees 贸易往来 in 经贸往来 and one metric under two verbs."""
    return {text[i : i + 2] for i in range(len(text) - 1)}


def chinese_number(s: str) -> int:
    """``四`` → 4, ``十二`` → 12, ``三百零五`` → 305, ``二〇二三`` → 2023 (digit by digit when no
    十/百/千), ``3`` → 3: reports and questions write ordinals and figures either way."""
    if s.isdigit():
        return int(s)
    if not any(c in _CN_MULTIPLIER for c in s):
        return int("".join(str(_CN_VALUE.get(c, 0)) for c in s) or 0)
    total, cur = 0, 0
    for ch in s:
        if ch in _CN_MULTIPLIER:
            total += (cur or 1) * _CN_MULTIPLIER[ch]
            cur = 0
        else:
            cur = _CN_VALUE.get(ch, 0)
    return total + cur


def normalize_figures(text: str) -> str:
    """Full-width forms folded (``７％`` → ``7%``), spaces and thousands separators dropped."""
    text = WHITESPACE.sub("", unicodedata.normalize("NFKC", text))
    return re.sub(r"(?<=\d),(?=\d{3})", "", text)


@lru_cache(maxsize=256)
def _figure_in(measure: str) -> re.Pattern[str]:
    if measure == "%":
        return re.compile(r"\d\s*(?:%|％|个百分点)")
    # a counted noun may sit between figure and measure: "10.73万农村贫困人口" counts 人
    names = measure.split("|")  # interchangeable classifiers: "个|条|项"
    between = "" if max(map(len, names)) > 1 else r"[\u4e00-\u9fff]{0,4}?"
    numerals = CN_DIGITS[2:] + "十"  # a figure does not start with 零/〇/百/千
    figure = rf"[\d{numerals}][\d.,{numerals}]*\s*(?:余|多)?(?:[万亿千百])?"
    unit = "|".join(map(re.escape, names))
    return re.compile(rf"{figure}\s*{between}(?:{unit})")


@lru_cache(maxsize=256)
def _measure_marks(measure: str) -> tuple[str, ...]:
    """What every match of ``_figure_in(measure)`` ends with: one of these is in the text."""
    return ("%", "％", "个百分点") if measure == "%" else tuple(measure.split("|"))


def has_figure_in(text: str, measure: str) -> bool:
    """Whether ``text`` states a figure counted in ``measure`` ("6782公里", "九方面", "8%");
    ``measure`` may list interchangeable classifiers as ``"个|条|项"``. Most texts lack the
    measure word itself, and a substring test says so faster than the pattern."""
    return any(m in text for m in _measure_marks(measure)) and _figure_in(measure).search(text) is not None


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure of a report's clause: ``超300亿元``, ``6万人以上``, ``170余个``; offsets into the text."""

    start: int  # including a pre-qualifier (超, 不低于)
    num_start: int
    end: int  # including a post-qualifier (以上, 左右)
    value: str
    unit: str
    qualifier: str | None


def is_figure_number(text: str, m: re.Match[str]) -> bool:
    """Whether a ``NUMBER`` match is a figure's number, not a name's or an ordinal's: not right
    after a Latin letter (PM2.5, G20) or 第 (第3批)."""
    before = text[m.start() - 1] if m.start() else ""
    return not (before == "第" or (before.isascii() and before.isalpha()))


class FigureReader:
    """Figures with their units as the genre writes them, compiled once from the lexicon's
    ``[figures]`` table: as an answer states them (``7%``, ``33.16万人``, ``第4位``: ``find`` and
    ``source_text``, so a generated figure can be looked up in its source), and as a report's
    clause does (number, approximation mark, magnitude, unit and qualifiers: ``figures``, which
    the commitments tracker and the promise tracker read)."""

    def __init__(self, table: Mapping[str, Any]) -> None:
        answer = [*table["units"], *table["answer_units"]]
        measure = "|".join(map(re.escape, sorted(set(answer), key=len, reverse=True)))
        self.figure = re.compile(rf"第?\d+(?:\.\d+)?(?:[万亿千]*(?:{measure}))?")
        self.cn_figure = re.compile(rf"(第?)([{CN_NUMERAL}]+)(?=[万亿千]*(?:{measure}))")
        self.cn_rank = re.compile(rf"第([{CN_NUMERAL}]+)(?=[位名])")
        #: qualifiers before the number (longest first) with their display form: 超过 → 超, 不低于 → 以上
        self.pre_qualifiers: list[tuple[str, str]] = sorted(table["pre_qualifiers"].items(), key=lambda kv: -len(kv[0]))
        self.post_qualifiers: list[str] = sorted(table["post_qualifiers"], key=len, reverse=True)
        self.units: list[str] = table["units"]
        self.magnitudes = "".join(table["magnitudes"])
        self.percent_units = frozenset(table["percent_units"])
        self.approx_marks = frozenset(table["approx_marks"])
        #: qualifiers displayed before the figure (超300亿元), not after it (6万人以上)
        self.shown_before = frozenset(table["pre_qualifiers"].values()) - set(table["post_qualifiers"])
        units = "|".join(map(re.escape, sorted(table["units"], key=len, reverse=True)))
        bare = "|".join(map(re.escape, table["bare_magnitudes"]))
        posts = "|".join(map(re.escape, self.post_qualifiers))
        self.tail = re.compile(rf"(?P<approx>[{''.join(table['approx_marks'])}])?"
                               rf"(?P<unit>[{self.magnitudes}]{{0,2}}(?:{units})|{bare})(?P<post>{posts})?")

    # --- as an answer states them -------------------------------------------------------------
    def source_text(self, text: str) -> str:
        """A source as figures are looked up in it: normalised, Chinese numerals before a unit as digits."""
        return self.cn_figure.sub(lambda m: m.group(1) + str(chinese_number(m.group(2))), normalize_figures(text))

    def find(self, text: str) -> list[str]:
        """The figures of normalised text, each once in first-occurrence order; a rank written in
        Chinese numerals (``第四位``) counts as ``第4位``."""
        text = self.cn_rank.sub(lambda m: f"第{chinese_number(m.group(1))}", text)
        return list(dict.fromkeys(m.group() for m in self.figure.finditer(text)))

    # --- as a report's clause writes them -----------------------------------------------------
    def numbers(self, text: str, a: int = 0, b: int | None = None) -> Iterator[re.Match[str]]:
        """The figure numbers of ``text[a:b]`` (``is_figure_number``)."""
        return (m for m in NUMBER.finditer(text, a, len(text) if b is None else b) if is_figure_number(text, m))

    def figures(self, text: str, a: int, b: int) -> list[Figure]:
        """Every number of ``text[a:b]`` with a unit after it, read with its qualifiers; a number
        inside quotes or a title opened in the clause (“…”, 《…》) names something, it is no figure."""
        out: list[Figure] = []
        for m in self.numbers(text, a, b):
            t = self.tail.match(text, m.end(), b)
            if not t or _inside_quotes(text, a, m.start()):
                continue
            start, qualifier = m.start(), None
            for word, shown in self.pre_qualifiers:
                if text[max(a, m.start() - len(word)) : m.start()] == word:
                    start, qualifier = m.start() - len(word), shown
                    break
            if t.group("post"):
                qualifier = t.group("post")
            elif t.group("approx") and qualifier is None:
                qualifier = t.group("approx")
            out.append(Figure(start, m.start(), t.end(), m.group(), t.group("unit"), qualifier))
        return out

    def first(self, text: str) -> Figure | None:
        """The first number with a unit in ``text`` (a cited clause), qualifiers left out."""
        for m in NUMBER.finditer(text):
            t = self.tail.match(text, m.end())
            if t:
                return Figure(m.start(), m.start(), t.end(), m.group(), t.group("unit"), None)
        return None

    def before_final(self, text: str) -> str:
        """``text`` without the figure it ends with, pre-qualifier included: ``工业企业营收超100亿元``
        → ``工业企业营收``; ``text`` itself when it ends with none."""
        for m in self.numbers(text):
            tail = self.tail.match(text, m.end())
            if tail and tail.end() == len(text):
                head = text[: m.start()]
                for w, _ in self.pre_qualifiers:
                    if head.endswith(w):
                        return head[: -len(w)]
                return head
        return text

    def only_wording(self, text: str) -> bool:
        """Whether ``text`` is only a figure's wording (``超亿元``, ``超50亿元``): it names no thing."""
        rest = "".join(text[i:j] for i, j in _gaps(text, self.numbers(text)))
        for w in sorted([*(w for w, _ in self.pre_qualifiers), *self.post_qualifiers, *self.units],
                        key=len, reverse=True):
            rest = rest.replace(w, "")
        return not rest.strip(TRIM + self.magnitudes)

    def unit_base(self, unit: str | None) -> str:
        """The unit without its magnitude, every percentage as "%": what makes two figures comparable."""
        if not unit:
            return ""
        return "%" if unit in self.percent_units else unit.lstrip(self.magnitudes)

    def written(self, value: str | None, unit: str | None, qualifier: str | None) -> str:
        """A figure as the report writes it: ``6万人以上``, ``超300亿元``, ``170余个`` (the mark
        between number and unit); without a number, the qualitative qualifier (两位数)."""
        if value is None:
            return qualifier or ""
        q = qualifier or ""
        if q in self.approx_marks:
            return f"{value}{q}{unit or ''}"
        pre = q if q in self.shown_before else ""
        post = "" if pre else q
        return f"{pre}{value}{unit or ''}{post}"


def _inside_quotes(text: str, lo: int, pos: int) -> bool:
    seg = text[lo:pos]
    return seg.count("“") > seg.count("”") or seg.count("《") > seg.count("》")


def _gaps(text: str, matches: Iterable[re.Match[str]]) -> Iterator[tuple[int, int]]:
    """The spans of ``text`` between ``matches``."""
    cur = 0
    for m in matches:
        yield cur, m.start()
        cur = m.end()
    yield cur, len(text)


# --- spans -----------------------------------------------------------------------------------
def strip_span(text: str, a: int, b: int, chars: str = SPACES) -> tuple[int, int]:
    """Narrows ``text[a:b]`` past ``chars`` at both ends; offsets, unlike ``str.strip``, survive."""
    while a < b and text[a] in chars:
        a += 1
    while b > a and text[b - 1] in chars:
        b -= 1
    return a, b


def strip_ends(text: str, ends: Sequence[str], *, keep: int = 0) -> str:
    """``text`` without the words of ``ends`` it ends with, again until none is left, keeping at
    least ``keep`` characters: «动力电池产能达到» → «动力电池产能» (links before a figure)."""
    changed = True
    while changed:
        changed = False
        for w in ends:
            if text.endswith(w) and len(text) - len(w) >= keep:
                text, changed = text[: -len(w)], True
                break
    return text


@lru_cache(maxsize=4096)
def _ascii_word(word: str) -> re.Pattern[str]:
    """One compiled pattern per lexicon word: hundreds of words per question would otherwise
    thrash ``re``'s own 512-entry cache and recompile on every answer."""
    return re.compile(rf"(?<![a-z]){re.escape(word)}(?![a-z])")


def contains_word(text: str, word: str) -> bool:
    """Substring for Chinese; a whole word, case-insensitive, for ASCII ("rate" not in "separate")."""
    if word.isascii():
        word, text = word.lower(), text.lower()
        # the substring test is the cheap necessary condition; the pattern only checks the edges
        return word in text and _ascii_word(word).search(text) is not None
    return word in text


# --- tokens ----------------------------------------------------------------------------------
#: Bump when ``tokenize`` returns other tokens for the same text: the BM25 index records it in
#: its manifest, so an index built with another tokenizer counts as stale and is rebuilt.
TOKENIZER_VERSION = "jieba-search-1"
PUNCT = re.compile(r"[\s\u3000，。、；：？！,.;:?!“”‘’\"'（）()《》〈〉【】\[\]·…—\-–/+*&%#@~`|<>=^_{}]+")


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens (long words plus their parts), lower-cased, no punctuation."""
    return list(_tokens(text))


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    """Kept per text: a question's topic, search text and the lexicon's words are cut again by
    the analyzer, both retrievers' callers and the composer (per report, across reports)."""
    return tuple(t.lower() for t in _jieba().lcut_for_search(text) if t.strip() and not PUNCT.fullmatch(t))


def words(text: str) -> list[str]:
    """Plain jieba words (no search-mode parts), punctuation dropped, case kept."""
    return [w for w in _jieba().lcut(text) if w.strip() and not PUNCT.fullmatch(w)]
