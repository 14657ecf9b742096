"""Reads a question the way the genre is written: colloquial terms mapped to the report's
terms, time words mapped to the review or plan part, question words to figures or rankings,
and two-part or follow-up questions split and completed from their context.

All vocabulary lives in ``rag/data`` so that it can be extended without touching code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.core.cache import get_or_make
from rag.genre.lexicon import Lexicon, Scope, pattern
from rag.genre.paraphrase import Paraphrases, default_paraphrases
from rag.genre.text import HAN_RUN, PUNCT, SENTENCE_ENDS, YEAR, YEAR_PHRASE, chinese_number, contains_word, words

_TOPICS_KEPT = 4096  # topics a QueryAnalyzer remembers
_QUESTION_END = re.compile(f"(?<=[{SENTENCE_ENDS}；;])")  # where one asked question ends and the next begins


@dataclass
class QueryPart:
    """One sub-question, ready for retrieval."""

    text: str  # as asked (after follow-up completion)
    search_text: str  # with the report's own terms appended
    topic: str  # content left after time words, question words and fillers are removed
    scope: Scope | None = None
    year: int | None = None
    kinds: frozenset[str] = frozenset()  # what it asks for: names of the lexicon's [kinds.*]
    chapter: int | None = None  # "第三部分" → 3: a numbered top-level chapter of the report
    measure: str | None = None  # "多少公里" → "公里": the unit the figure must carry
    last_year: bool = False  # "去年": the year before the plan year
    expansions: list[str] = field(default_factory=list)

    @property
    def wants_number(self) -> bool:  # the two kinds retrieval priors and follow-ups use by name
        return "number" in self.kinds

    @property
    def wants_rank(self) -> bool:
        return "rank" in self.kinds


def _without(text: str, phrases: list[str]) -> str:
    """``text`` with each of ``phrases`` (longest first) blanked out."""
    for w in phrases:
        text = text.replace(w, " ")
    return text


class QueryAnalyzer:
    """Turns a raw question (and the conversation so far) into retrieval-ready parts."""

    def __init__(self, lexicon: Lexicon | None = None, paraphrases: Paraphrases | None = None) -> None:
        self.lexicon = lexicon or Lexicon.default()
        self.paraphrases = paraphrases or default_paraphrases()
        scope, q = self.lexicon.table("scope"), self.lexicon.table("question")
        self._plan_time, self._review_time = scope["plan_time"], scope["review_time"]
        self._plan = self._plan_time + scope["plan"]
        self._review = self._review_time + scope["last_year"] + scope["review"]
        self._kinds = self.lexicon.kinds
        self._asked = [w for k in self._kinds.values() for w in k.asks]  # question words, not topic
        self._chapter_re = pattern(q["chapter_pattern"])
        self._count_re = re.compile(q["count_pattern"])
        units = "|".join(map(re.escape, sorted(q["measure_words"], key=len, reverse=True)))
        self._measure_re = pattern(q["measure_pattern"].replace("{units}", units))
        self._joins = re.compile("|".join(map(re.escape, q["part_joins"])))
        self._percent = q["percent_ask"]
        self._last_year = scope["last_year"]
        self._measure_alias = q["measure_alias"]
        self._fillers = set(q["fillers"])
        self._list_asks = sorted(q["list_asks"], key=len, reverse=True)
        #: words that say which part a question is about but little about its subject
        self.intent_words = frozenset(scope["plan"] + scope["review"])
        self._followup = self.lexicon.table("followup")
        # per-question work done once here: the longest-first word lists and their patterns
        asked = self._plan_time + self._review_time + self._last_year + self._percent + self._asked + q["scene_words"]
        self._topic_words = [(w, None if not w.isascii() else re.compile(rf"(?i)\b{re.escape(w)}\b"))
                             for w in sorted(asked, key=len, reverse=True)]
        self._time_words = sorted(self._plan_time + self._review_time + self._last_year, key=len, reverse=True)
        self._split_words = [(s, w, re.compile(re.escape(w)))
                             for s, ws in (("review", self._review), ("plan", self._plan))
                             for w in ws if not w.isascii() and len(w) >= 2]
        #: (short, full, short lower-cased if ASCII): the cheap test ``expand`` runs first
        self._abbreviations = [(s, f, s.lower() if s.isascii() else None) for s, f in self.lexicon.abbreviations]
        self._topics: dict[str, str] = {}  # text -> topic: a question's is read twice, a history's every turn

    # --- pieces -------------------------------------------------------------------------
    def scope(self, text: str) -> Scope | None:
        """The part a question points to. Time words (今年, 过去五年) decide before intent words
        (目标, 累计); among one kind, the longer phrase wins ("过去五年" over "目标")."""
        tiers = ((self._plan_time, self._review_time + self._last_year), (self._plan, self._review))
        for plan_words, review_words in tiers:
            plan = [w for w in plan_words if contains_word(text, w)]
            review = [w for w in review_words if contains_word(text, w)]
            if review and plan:
                return "review" if max(map(len, review)) >= max(map(len, plan)) else "plan"
            if review or plan:
                return "review" if review else "plan"
        return None

    def topic(self, text: str) -> str:
        """What the question is about: time words, question words and fillers removed. Kept per
        text (bounded): a question is read by ``_follow_mode`` and ``_part``, a conversation's
        earlier turns on every turn."""
        return get_or_make(self._topics, text, self._topic, _TOPICS_KEPT)

    def _topic(self, text: str) -> str:
        t = self._measure_re.sub(" ", self._count_re.sub(" ", self._chapter_re.sub(" ", text)))
        for w, ascii_word in self._topic_words:
            t = t.replace(w, " ") if ascii_word is None else ascii_word.sub(" ", t)
        t = YEAR_PHRASE.sub(" ", t)
        return " ".join(w for w in words(t) if w.lower() not in self._fillers)

    def expand(self, text: str) -> list[str]:
        found: list[str] = []
        rest = text
        low = rest.lower()
        for short, full, short_low in self._abbreviations:
            if not (short_low in low if short_low is not None else short in rest):
                continue  # contains_word's own first test, without a call per lexicon word
            if contains_word(rest, short) and full not in text:
                found.append(full)
                rest = re.sub(re.escape(short), " ", rest, flags=re.IGNORECASE)
                low = rest.lower()
        return found

    def glossed(self, text: str) -> list[str]:
        """The report's Chinese words for an English question's glossary phrases (rag/data/glossary_en.tsv),
        the first two of each: a report is searched in its own words, and an English question without
        them finds its sentence by meaning alone (a question with Chinese in it has its own words)."""
        if HAN_RUN.search(text):
            return []
        return list(dict.fromkeys(t for _, terms in self.paraphrases.english_terms(text) for t in terms[:2]))

    def _split(self, question: str) -> list[str]:
        parts = [p.strip() for p in _QUESTION_END.split(question) if p.strip()]
        out: list[str] = []
        for p in parts:  # "过去五年…，今年…" asks two things in one sentence
            marks = sorted((m.start(), s) for s, w, found in self._split_words if w in p for m in found.finditer(p))
            cut = next((pos for (pos, s), (_, s0) in zip(marks[1:], marks, strict=False) if s != s0 and pos > 0
                        and self._joins.search(p[:pos][-3:] if pos >= 3 else p[:pos])), None)
            if cut:
                out.extend([p[:cut].strip(), p[cut:].strip()])
            else:
                out.append(p)
        return [p for p in out if len(PUNCT.sub("", p)) >= 2] or [question.strip()]

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
        years = [int(y) for y in YEAR.findall(full)]
        untimed = self._without_time(full)
        part = QueryPart(
            text=full,
            search_text=" ".join([full, *expansions, *(g for g in self.glossed(full) if g not in expansions)]),
            topic=self.topic(full),
            scope=self.scope(full),
            year=years[0] if years else None,
            kinds=self._kinds_in(untimed),
            chapter=self._chapter(full),
            measure=self._measure(untimed),
            last_year=any(contains_word(full, w) for w in self._last_year),
            expansions=expansions,
        )
        if context and mode:
            part.scope = part.scope or context.scope
            if not (part.wants_number or part.wants_rank):  # "那过去五年呢？" asks what the last one did
                part.kinds = part.kinds | (context.kinds & {"number", "rank"})
        return part

    def _without_time(self, text: str) -> str:
        """The question minus its time words, whose 几 ("这几年") asks for no figure."""
        return _without(text, self._time_words)

    def _kinds_in(self, text: str) -> frozenset[str]:
        """The kinds a question asks for. A list ask's 几 ("哪几种") asks which ones, not how many:
        it counts only for a kind that names it."""
        bare = _without(text, self._list_asks)
        return frozenset(name for name, kind in self._kinds.items()
                         if kind.asked_in(bare) or any(w in kind.asks and w in text for w in self._list_asks))

    def _measure(self, text: str) -> str | None:
        if any(contains_word(text, w) for w in self._percent):
            return "%"
        m = self._measure_re.search(text)
        return self._measure_alias.get(m.group(1), m.group(1)) if m else None

    def _chapter(self, text: str) -> int | None:
        m = self._chapter_re.search(text)
        if not m:
            return None
        return chinese_number(m.group(1))

    # --- entry point --------------------------------------------------------------------
    def follows_up(self, question: str) -> bool:
        """Whether the question leans on the turn before («那过去五年呢？», «这个排第几？», «失业率呢？»):
        only such a question inherits that turn's place; «买车还有补贴吗» asks afresh."""
        return self._follow_mode(self._split(question)[0]) is not None

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
