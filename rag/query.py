"""Reads a question the way the genre is written: colloquial terms mapped to the report's
terms, time words mapped to the review or plan part, question words to figures or rankings,
and two-part or follow-up questions split and completed from their context.

All vocabulary lives in ``rag/data`` so that it can be extended without touching code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from rag.corpus import chinese_number

DATA_DIR = Path(__file__).parent / "data"
_PUNCT = re.compile(r"[\s\u3000，。、；：？！,.;:?!“”‘’\"'（）()《》〈〉【】\[\]·…—\-–/+*&%#@~`|<>=^_{}]+")
_YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")
_HAS_DIGIT = re.compile(r"\d")


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


_CN_DIGITS = "一二三四五六七八九十两"


def has_figure_in(text: str, measure: str) -> bool:
    """Whether ``text`` states a figure counted in ``measure`` ("6782公里", "九方面", "8%");
    ``measure`` may list interchangeable classifiers as ``"个|条|项"``."""
    if measure == "%":
        return re.search(r"\d\s*(?:%|％|个百分点)", text) is not None
    # a counted noun may sit between figure and measure: "10.73万农村贫困人口" counts 人
    names = measure.split("|")  # interchangeable classifiers: "个|条|项"
    between = "" if max(map(len, names)) > 1 else r"[\u4e00-\u9fff]{0,4}?"
    figure = rf"[\d{_CN_DIGITS}][\d.,{_CN_DIGITS}]*\s*(?:余|多)?(?:[万亿千百])?"
    unit = "|".join(map(re.escape, names))
    return re.search(rf"{figure}\s*{between}(?:{unit})", text) is not None


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens (long words plus their parts), lower-cased, no punctuation."""
    return [t.lower() for t in _jieba().lcut_for_search(text) if t.strip() and not _PUNCT.fullmatch(t)]


@dataclass(frozen=True)
class Lexicon:
    """The genre's vocabulary: abbreviations and the phrasing rules of ``questions.toml``."""

    abbreviations: tuple[tuple[str, str], ...]
    rules: dict

    @classmethod
    def load(cls, data_dir: Path = DATA_DIR) -> Lexicon:
        pairs = []
        for line in (data_dir / "abbreviations.tsv").read_text("utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                short, _, full = line.partition("\t")
                pairs.append((short.strip(), full.strip()))
        pairs.sort(key=lambda p: -len(p[0]))  # longest first, so "fixed asset investment" beats "investment"
        rules = tomllib.loads((data_dir / "questions.toml").read_text("utf-8"))
        return cls(tuple(pairs), rules)

    @cached_property
    def _rank_re(self) -> re.Pattern[str]:
        return re.compile("|".join(self.rules["question"]["rank_patterns"]))

    def has_rank(self, text: str) -> bool:
        return bool(self._rank_re.search(text))

    def heading_scope(self, path: tuple[str, ...]) -> str | None:
        """Review or plan, from the nearest heading that says which; None when none does."""
        for title in reversed(path):
            review = any(w in title for w in self.rules["scope"]["heading_review"])
            plan = any(w in title for w in self.rules["scope"]["heading_plan"])
            if plan != review:
                return "plan" if plan else "review"
        return None


@dataclass
class QueryPart:
    """One sub-question, ready for retrieval."""

    text: str  # as asked (after follow-up completion)
    search_text: str  # with the report's own terms appended
    topic: str  # content left after time words, question words and fillers are removed
    scope: str | None = None  # "review" | "plan" | None
    year: int | None = None
    wants_number: bool = False
    wants_rank: bool = False
    wants_name: bool = False
    part_ordinal: int | None = None  # "第三部分" → 3
    measure: str | None = None  # "多少公里" → "公里": the unit the figure must carry
    last_year: bool = False  # "去年": the year before the plan year
    wants_when: bool = False
    wants_who: bool = False
    expansions: list[str] = field(default_factory=list)


def _contains(text: str, word: str) -> bool:
    if word.isascii():
        return re.search(rf"(?<![a-z]){re.escape(word.lower())}(?![a-z])", text.lower()) is not None
    return word in text


class QueryAnalyzer:
    """Turns a raw question (and the conversation so far) into retrieval-ready parts."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon.load()
        r = self.lexicon.rules
        self._plan_time, self._review_time = r["scope"]["plan_time"], r["scope"]["review_time"]
        self._plan = self._plan_time + r["scope"]["plan"]
        self._review = self._review_time + r["scope"]["last_year"] + r["scope"]["review"]
        q = r["question"]
        self._number_ask, self._number, self._rank = q["number_ask"], q["number"], q["rank"]
        self._name, self._when, self._who = q["name"], q["when"], q["who"]
        self._part_re = re.compile(q["part_pattern"])
        self._count_re = re.compile(q["count_pattern"])
        units = sorted(q["measure_words"], key=len, reverse=True)
        self._measure_re = re.compile(
            rf"(?<![哪这那近前去])(?:多少|几)\s*(?:[十百千万亿]+)?(?:个(?=方面|大类|领域))?({'|'.join(map(re.escape, units))})"
        )
        self._percent = q["percent_ask"]
        self._last_year = r["scope"]["last_year"]
        self._measure_alias = q["measure_alias"]
        self._fillers = set(q["fillers"])
        #: words that say which part a question is about but little about its subject
        self.intent_words = frozenset(r["scope"]["plan"] + r["scope"]["review"])
        self._followup = r["followup"]

    # --- pieces -------------------------------------------------------------------------
    def scope(self, text: str) -> str | None:
        """The part a question points to. Time words (今年, 过去五年) decide before intent words
        (目标, 累计); among one kind, the longer phrase wins ("过去五年" over "目标")."""
        tiers = ((self._plan_time, self._review_time + self._last_year), (self._plan, self._review))
        for plan_words, review_words in tiers:
            plan = [w for w in plan_words if _contains(text, w)]
            review = [w for w in review_words if _contains(text, w)]
            if review and plan:
                return "review" if max(map(len, review)) >= max(map(len, plan)) else "plan"
            if review or plan:
                return "review" if review else "plan"
        return None

    def topic(self, text: str) -> str:
        """What the question is about: time words, question words and fillers removed."""
        t = self._measure_re.sub(" ", self._count_re.sub(" ", self._part_re.sub(" ", text)))
        asked = self._plan_time + self._review_time + self._last_year + self._percent + self._number_ask + self._rank + self._when + self._who
        for w in sorted(asked, key=len, reverse=True):
            t = t.replace(w, " ") if not w.isascii() else re.sub(rf"(?i)\b{re.escape(w)}\b", " ", t)
        t = re.sub(r"(?<!\d)(?:19|20)\d{2}\s*年?", " ", t)
        words = [w for w in _jieba().lcut(t) if w.strip() and not _PUNCT.fullmatch(w) and w.lower() not in self._fillers]
        return " ".join(words)

    def expand(self, text: str) -> list[str]:
        found: list[str] = []
        rest = text
        for short, full in self.lexicon.abbreviations:
            if _contains(rest, short) and full not in text:
                found.append(full)
                rest = re.sub(re.escape(short), " ", rest, flags=re.IGNORECASE)
        return found

    def _split(self, question: str) -> list[str]:
        parts = [p.strip() for p in re.split(r"(?<=[？?；;])|(?<=[。！!])", question) if p.strip()]
        out: list[str] = []
        for p in parts:  # "过去五年…，今年…" asks two things in one sentence
            marks = sorted(
                (m.start(), s)
                for s, words in (("review", self._review), ("plan", self._plan))
                for w in words
                if not w.isascii() and len(w) >= 2
                for m in re.finditer(re.escape(w), p)
            )
            cut = next((pos for (pos, s), (_, s0) in zip(marks[1:], marks) if s != s0 and pos > 0
                        and re.search(r"[，,、]|还有|以及|和|与", p[:pos][-3:] if pos >= 3 else p[:pos])), None)
            if cut:
                out.extend([p[:cut].strip(), p[cut:].strip()])
            else:
                out.append(p)
        return [p for p in out if len(_PUNCT.sub("", p)) >= 2] or [question.strip()]

    def _follow_mode(self, text: str) -> str | None:
        """How a question leans on the one before: "topic" borrows its subject, "frame" only
        its time and question kind, None not at all."""
        topic = self.topic(text).replace(" ", "")
        head, tail = text.lstrip().lower(), text.rstrip("？?。 ").lower()
        if not topic or any(head.startswith(w) for w in self._followup["anaphora"]):
            return "topic"
        if len(topic) <= self._followup["max_topic_chars"] and any(
            head.startswith(w) or tail.endswith(w) for w in self._followup["leads"]
        ):
            return "frame"
        return None

    def _part(self, text: str, context: QueryPart | None = None, mode: str | None = "topic") -> QueryPart:
        """``context`` is the part this one follows up on: it lends its topic (``mode="topic"``),
        and its scope and question kind where this one states none."""
        if context and mode == "topic":
            full = f"{text} {context.topic}".strip()
        elif context and mode == "frame":  # keep what the previous question was after ("承诺", "计划")
            intent = [w for w in context.topic.split() if w in self.intent_words]
            full = " ".join([text, *intent])
        else:
            full = text
        expansions = self.expand(full)
        years = [int(m.group()) for m in _YEAR.finditer(full)]
        part = QueryPart(
            text=full,
            search_text=" ".join([full, *expansions]),
            topic=self.topic(full),
            scope=self.scope(full),
            year=years[0] if years else None,
            wants_number=any(_contains(self._without_time(full), w) for w in self._number_ask + self._number),
            wants_rank=any(_contains(full, w) for w in self._rank),
            wants_name=any(_contains(full, w) for w in self._name),
            part_ordinal=self._ordinal(full),
            measure=self._measure(self._without_time(full)),
            last_year=any(_contains(full, w) for w in self._last_year),
            wants_when=any(_contains(full, w) for w in self._when),
            wants_who=any(_contains(full, w) for w in self._who),
            expansions=expansions,
        )
        if context and mode:
            part.scope = part.scope or context.scope
            if not (part.wants_number or part.wants_rank):
                part.wants_number, part.wants_rank = context.wants_number, context.wants_rank
        return part

    def _without_time(self, text: str) -> str:
        """The question minus its time words, whose 几 ("这几年") asks for no figure."""
        for w in sorted(self._plan_time + self._review_time + self._last_year, key=len, reverse=True):
            text = text.replace(w, " ")
        return text

    def _measure(self, text: str) -> str | None:
        if any(_contains(text, w) for w in self._percent):
            return "%"
        m = self._measure_re.search(text)
        return self._measure_alias.get(m.group(1), m.group(1)) if m else None

    def _ordinal(self, text: str) -> int | None:
        m = self._part_re.search(text)
        if not m:
            return None
        return chinese_number(m.group(1))

    # --- entry point --------------------------------------------------------------------
    def analyze(self, question: str, history: list[str] | None = None) -> list[QueryPart]:
        """Sub-questions completed from their context: a later part of the same question always
        shares the first part's topic ("过去五年…多少？今年计划多少？"); the first part leans on
        the last user turn in ``history`` only when it reads as a follow-up ("那今年呢？")."""
        context = next((p for p in (self._part(h) for h in reversed(history or [])) if p.topic), None)
        parts: list[QueryPart] = []
        for i, text in enumerate(self._split(question)):
            mode = "topic" if i > 0 else self._follow_mode(text)
            part = self._part(text, context if mode else None, mode)
            parts.append(part)
            if i == 0 and mode != "topic":
                context = part
        return parts
