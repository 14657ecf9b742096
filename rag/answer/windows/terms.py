"""A question part's topic terms, weighted by how rare they are in the index, and how much of them
a text covers: the composer's refusal rests on coverage, so the rare words of a question decide
whether a window speaks of what was asked.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from rag.answer.composers.base import is_english
from rag.answer.query import QueryPart
from rag.core.cache import get_or_make
from rag.core.types import Unit
from rag.genre.lexicon import Lexicon
from rag.genre.paraphrase import Paraphrases
from rag.genre.text import tokenize

_CJK_OR_DIGIT = re.compile(r"[\u4e00-\u9fff\d]")
_NOT_CJK_OR_DIGIT = re.compile(r"[^\u4e00-\u9fff\d]+")
_IDF_KEPT = 100_000  # terms whose weight a ``TermWeights`` keeps


@dataclass(frozen=True)
class Term:
    """One topic term of a question part."""

    alternatives: tuple[str, ...]  # any one of them in a span covers the term
    weight: float
    parts: tuple[str, ...]  # shorter words inside it, for partial credit


class TermWeights:
    """Inverse document frequencies over units, so that rare terms decide coverage."""

    def __init__(self, units: list[Unit]) -> None:
        df: Counter[str] = Counter()
        for u in units:
            df.update(set(tokenize(u.text + " " + " ".join(u.section_path))))
        self.n = max(len(units), 1)
        self.df = df
        self._idf: dict[str, float] = {}

    def idf(self, term: str) -> float:
        """Kept per term (bounded): every candidate window asks again for the same terms' weights."""
        return get_or_make(self._idf, term, self._weigh, _IDF_KEPT)

    def _weigh(self, term: str) -> float:
        df = self.df.get(term, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))


def without(span: str, terms: list[Term]) -> str:
    """``span`` without the question's own words: what a window says beyond the question."""
    rest = span
    for term in terms:
        for alt in term.alternatives:
            rest = rest.replace(alt, "")
    return rest


def novel_chars(rest: str) -> int:
    """How many Chinese characters and digits ``rest`` has (what a window says beyond the
    question): deleting the others is several times faster than listing these."""
    return len(_NOT_CJK_OR_DIGIT.sub("", rest))


def proximity(span: str, terms: list[Term]) -> float:
    """How tightly the question's terms sit together in the span: their length over the
    stretch from the first to the last one found (1 when adjacent, as in the question; 0 when
    fewer than two are found). Of two figures in one sentence, the one whose metric reads as
    the question names it is the salient one."""
    found = []
    low = span.lower()
    for t in terms:
        hits = [(low.find(a), a) for a in t.alternatives if a and a in low]
        if hits:
            i, a = min(hits)
            found.append((i, i + len(a)))
    if len(found) < 2:
        return 0.0
    stretch = max(e for _, e in found) - min(b for b, _ in found)
    return min(sum(e - b for b, e in found) / stretch, 1.0) if stretch else 0.0


class QueryTerms:
    """The weighted topic terms of a question part, and their coverage of a text."""

    def __init__(self, weights: TermWeights, lexicon: Lexicon, paraphrases: Paraphrases, *,
                 places: frozenset[str], intent_words: frozenset[str], intent_term: float,
                 partial_term: float) -> None:
        """``intent_term`` weighs intent words («计划», «目标») among the terms; ``partial_term`` is
        the credit of a long term found only through its parts (both ``SupportWeights``)."""
        self.weights, self.lexicon, self.paraphrases = weights, lexicon, paraphrases
        self.places, self.intent_words = places, intent_words
        self.intent_term, self.partial_term = intent_term, partial_term

    def of(self, part: QueryPart, *, places: bool = True) -> list[Term]:
        """Topic terms with weights, each also covered by its paraphrases (rag/data/synonyms.tsv:
        看病 is covered by 医保); an English question's glossary phrases become terms in the
        report's Chinese. ``places=False`` leaves out the loaded reports' place names (the
        hand-set threshold was calibrated with them in; the learned scorer goes without)."""
        out = []
        for t in self._word_terms(part):
            word = t.alternatives[0]
            if len(t.alternatives) == 1 and word in self.places and not places:
                continue
            if len(t.alternatives) == 1 and not word.isascii() and word in part.topic.lower():  # the asker's own
                widened = self.paraphrases.alternatives(word, inside=word not in self.weights.df)
                t = Term(tuple(a.lower() for a in widened), t.weight, t.parts)
            out.append(t)
        if is_english(part.text):
            have = {a for t in out for a in t.alternatives}
            for _, zh in self.paraphrases.english_terms(part.text):
                alts = tuple(z.lower() for z in zh)
                if not have.intersection(alts):
                    out.append(Term(alts, max(self.weights.idf(a) for a in alts), ()))
                    have |= set(alts)
        return out

    def _word_terms(self, part: QueryPart) -> list[Term]:
        """The topic's own terms. A colloquial word the lexicon maps ("空气好") is replaced by
        the report's words for it; a long word missing from a span earns partial credit from
        its parts ("贸易往来" vs "经贸往来")."""
        english = is_english(part.text)
        compact = part.topic.replace(" ", "").lower()
        terms: list[Term] = []
        mapped: set[str] = set()
        for short, full in self.lexicon.abbreviations if part.expansions else ():  # only expanded ones count
            if full in part.expansions and short.lower() in compact:
                alternatives = tuple(full.lower().split())
                # GDP and GDP总量 name one term, counted once
                if all(t.alternatives[:len(alternatives)] != alternatives for t in terms):
                    weight = max(self.weights.idf(a) for a in alternatives)
                    terms.append(Term((*alternatives, short.lower()), weight, ()))  # a report may write 医保 too
                mapped |= set(tokenize(short))
        tokens = [t for t in tokenize(part.topic) if t not in mapped]
        for t in dict.fromkeys(tokens):
            if t.isascii() and t not in self.weights.df and english:
                continue  # an untranslated English word: coverage is judged on the report's words
                # (in a Chinese question an unknown PM10 or 5A is a term the report must have)
            if not _CJK_OR_DIGIT.search(t) and not t.isascii():
                continue
            if any(t != o and t in o for o in tokens):
                continue  # search mode repeats parts of longer words; the longer word carries them
            parts = tuple(p for p in tokens if p != t and p in t)
            intent = self.intent_term if t in self.intent_words else 1.0  # "计划新增" is about 新增
            terms.append(Term((t,), self.weights.idf(t) * intent, parts))
        return terms

    def coverage(self, terms: list[Term], text: str) -> float:
        """The share of the terms' weight that ``text`` holds (lower-cased)."""
        text = text.lower()
        total = got = 0.0
        for t in terms:  # plain loops: this runs for every candidate window
            total += t.weight
            for a in t.alternatives:
                if a in text:
                    got += t.weight
                    break
            else:
                if t.parts:
                    idf = self.weights.idf
                    part_total = sum(idf(p) for p in t.parts)
                    got += self.partial_term * t.weight * sum(idf(p) for p in t.parts if p in text) / part_total
        return got / total if total else 0.0
