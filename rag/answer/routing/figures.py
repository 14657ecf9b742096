"""The figure check: a figure answer whose cited records measure something other than what was
asked is no answer («江城市常住人口有多少» is not «常住人口城镇化率63.1%»)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from rag.answer.composers.base import refusal_of, refusal_wording
from rag.answer.query import QueryPart
from rag.answer.routing.words import RouterWords, has
from rag.commitments.record import Commitment
from rag.core.types import Answer, Citation, RefusalReason
from rag.genre.lexicon import Lexicon
from rag.genre.paraphrase import default_paraphrases, similarity
from rag.genre.text import HAN_RUN, char_bigrams, states_figure, strip_ends


def head_of(words: Sequence[str]) -> str:
    """The end of the last word of two or more characters: what a noun phrase names («床位» of
    «养老院 床位 加», «往来» of «贸易往来»)."""
    return next((w[-2:] for w in reversed(words) if len(w) >= 2), "")


def within(metric: str, topic: str) -> bool:
    """One of the two names holds (nearly) every character pair of the other: «固定资产投资»
    in «固定资产投资实际增速分别»."""
    a, b = char_bigrams(metric), char_bigrams(topic)
    return bool(a and b) and max(len(a & b) / len(a), len(a & b) / len(b)) >= 0.9


def in_unit(unit: str | None, measure: str) -> bool:
    """Whether a record's ``unit`` is the ``measure`` asked for («%», «亿元|万元»)."""
    if not unit:
        return False
    if measure == "%":
        return unit in ("%", "％", "个百分点")
    return any(unit.endswith(m) for m in measure.split("|"))


def refused(answer: Answer, part: QueryPart, reason: RefusalReason) -> Answer:
    """``answer`` turned into the refusal of ``part``, in Chinese here (each edge words ``refusal`` itself)."""
    refusal = refusal_of([part], reason=reason)
    return dataclasses.replace(answer, found=False, citations=[], refusal=refusal,
                               answer=refusal_wording(refusal.topics, [], english=False))


def unrecorded(names: Sequence[str], citations: Sequence[Citation], records: Sequence[Commitment]) -> bool:
    """Whether one of ``names`` occurs in a citation outside every record's clause."""
    for cite in citations:
        for name in names:
            i = cite.quote.find(name)
            while i != -1:
                a = cite.start + i
                if not any(c.start <= a and a + len(name) <= c.end for c in records):
                    return True
                i = cite.quote.find(name, i + 1)
    return False


class FigureCheck:
    """Refuses one-part figure answers whose tracker records measure another quantity."""

    def __init__(self, commitments: Sequence[Commitment], words: RouterWords, plan_words: Sequence[str],
                 lexicon: Lexicon) -> None:
        self.commitments = list(commitments)
        self.words = words
        self.plan_words = tuple(plan_words)
        self.lexicon = lexicon
        self.paraphrases = default_paraphrases()  # the asker's words the composer widened, widened here too

    def checked(self, answer: Answer, parts: Sequence[QueryPart]) -> Answer:
        """A one-part figure answer whose citation holds tracker records, none of which measures
        what was asked, is no answer: «江城市常住人口有多少» is not «常住人口城镇化率63.1%»."""
        if not answer.found or len(parts) != 1 or "number" not in parts[0].kinds:
            return answer
        how_much = parts[0].measure or has(parts[0].text, self.words.how_much)
        if how_much and not any(states_figure(c.quote) for c in answer.citations):
            return refused(answer, parts[0], "no_figure")  # «另行公布»: asked how much, told no figure
        words = [w for w in parts[0].topic.split() if w not in self.plan_words]
        topic = "".join(words)
        if not HAN_RUN.fullmatch(topic or "-"):
            return answer
        quotes = " ".join(c.quote for c in answer.citations)
        wide = [self._widen(w, quotes) for w in words]  # 电动车 → 新能源汽车, 规上 → 规模以上
        names = [(topic, head_of(words)), *([("".join(wide), head_of(wide))] if wide != words else []),
                 *((e.replace(" ", ""), "") for e in parts[0].expansions)]
        names += [(bare, head) for name, head in names if (bare := self._bare(name)) != name]  # «产能达到» → «产能»
        records = [c for cite in answer.citations for c in self.commitments
                   if c.doc == cite.doc and cite.start <= c.start and c.end <= cite.end and c.value is not None]
        measure = parts[0].measure
        if measure:  # «多少亿元»: the records counted in that unit must measure what was asked
            records = [c for c in records if in_unit(c.unit, measure)]
        else:  # otherwise only when the citation uses the asked words themselves, inside a record's
            names = [(a, h) for a, h in names if a in quotes]  # clause: elsewhere the tracker read no
            if unrecorded([a for a, _ in names], answer.citations, records):  # figure of them
                return answer  # («连续5年调高城乡低保标准»: 5年 is no record) and cannot tell
        if not names or not records or any(self._covers(c.metric, a, h) if measure else self._measures(c.metric, a)
                                           for c in records for a, h in names):
            return answer
        return refused(answer, parts[0], "other_measure")

    def _widen(self, word: str, quotes: str) -> str:
        """The asker's word as the citation writes it: a synonym (电动车 → 新能源汽车) or the full
        form of an abbreviation (规上 → 规模以上) that the quote uses, else the word itself."""
        full = [f for short, f in self.lexicon.abbreviations if short.lower() == word.lower()]
        return next((a for a in (*self.paraphrases.alternatives(word), *full) if a in quotes), word)

    def _bare(self, name: str) -> str:
        """An asked name without the linking verbs it ends with («动力电池产能达到»): records name
        their metric without them."""
        return strip_ends(name, self.words.name_ends, keep=1)

    def _covers(self, metric: str, asked: str, head: str = "") -> bool:
        """Most of the asked words' character pairs are in the metric: lenient, for questions in
        everyday words («冬天取暖改造» for «冬季清洁取暖改造»). Fewer will do when the metric names
        the asked thing itself: ``head``, the end of the asked name's last word (a noun phrase
        ends on what it names: «…消费券», «…重点项目»), while the question's other words may sit
        elsewhere in the clause («聚焦农业农村现代化，…等54个重点项目»)."""
        pairs = char_bigrams(asked)
        if not pairs:
            return False
        share = sum(p in metric for p in pairs) / len(pairs)
        return share >= self.words.figure_similarity + 0.1 or (
            bool(head) and head in metric and share >= self.words.head_similarity)

    def _measures(self, metric: str, asked: str) -> bool:
        """The metric is the asked quantity: words after the asked name make another quantity
        («常住人口» → «常住人口城镇化率», «一般公共预算支出» → «…支出的比重») unless they are the
        verb linking it to its figure («低保标准分别提高到每人每月»); words before only qualify it."""
        if not asked:
            return False
        if asked in metric:
            tail = metric[metric.rindex(asked) + len(asked):]
            ends = [tail.find(w) for w in self.words.name_ends if w in tail]
            return min(ends, default=len(tail)) <= 2
        return metric in asked or similarity(metric, asked) >= self.words.figure_similarity
