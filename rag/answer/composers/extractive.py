"""The extractive composer: answers with the clause that answers, cites it verbatim, and
refuses when the retrieved text does not cover what was asked.

A member of the public wants "地区生产总值增长7%", not the 300-character section around it, so
the composer picks the smallest window of clauses that covers the question's topic (and its
figure or ranking when one is asked for), inside the best few retrieved units.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from rag.answer.composers.base import (Citations, Hits, PartDocs, is_english, refusal_of, refusal_wording,
                                       related_sections)
from rag.answer.query import QueryPart
from rag.answer.window_scorer import WindowFacts, WindowScorer
from rag.core.cache import kept
from rag.core.types import Answer, Document, ScoredUnit, Unit
from rag.genre.lexicon import Lexicon
from rag.genre.paraphrase import Paraphrases, bigram_coverage, default_paraphrases
from rag.genre.text import (
    CLAUSE_ENDS,
    DIGIT,
    LINE_ENDS,
    NUMBER,
    SENTENCE_ENDS,
    TRIM,
    has_figure_in,
    strip_ends,
    strip_span,
    tokenize,
)
from rag.ingest.corpus import plan_year

_CLAUSE = re.compile(f"[^{CLAUSE_ENDS}{LINE_ENDS}]*[{CLAUSE_ENDS}{LINE_ENDS}]*")  # "、" joins list items, never splits
_CLAUSE_CUT = re.compile(f"[{CLAUSE_ENDS}。]")  # the clause a figure sits in
_ITEM_CUT = re.compile(f"[{CLAUSE_ENDS}。、]")  # ... or its list item
_CJK_OR_DIGIT = re.compile(r"[\u4e00-\u9fff\d]")
_NOT_CJK_OR_DIGIT = re.compile(r"[^\u4e00-\u9fff\d]+")
_QUALIFIED_ITEM = re.compile(f"[{CLAUSE_ENDS}。、：:]")  # a qualifier qualifies the metric of its own item
_SPAN_CACHE_UNITS = 20_000  # units whose candidate windows a composer keeps (a few hundred bytes each)


def _novel_chars(rest: str) -> int:
    """How many Chinese characters and digits ``rest`` has (what a window says beyond the
    question): deleting the others is several times faster than listing these."""
    return len(_NOT_CJK_OR_DIGIT.sub("", rest))


@lru_cache(maxsize=256)
def _found(pattern: re.Pattern[str], text: str) -> bool:
    """A question's own pattern tests, which every candidate window asks again: remembered."""
    return pattern.search(text) is not None


def _answers_form(span: str, part: QueryPart, lexicon: Lexicon) -> bool:
    """Whether a span has the kind of answer asked for: a figure in the asked unit, a date, a name."""
    if part.measure and not has_figure_in(span, part.measure):
        return False
    return all(lexicon.has_form(k, span) for k in part.kinds if lexicon.kinds[k].required)


@dataclass(frozen=True)
class WindowWeights:
    """How a candidate window of clauses is scored; tuned on the dev set."""

    coverage: float = 2.0  # share of the question's terms the window itself contains
    context_coverage: float = 0.5  # ... that its heading path contains
    novelty: float = 0.3  # saying something beyond the question's own words
    novelty_chars: int = 12  # characters of novelty that earn it fully
    length_penalty: float = 0.004  # per character beyond free_chars: the shortest answer wins
    free_chars: int = 25
    measure: float = 0.4  # a figure in the unit asked for ("多少公里" → 公里); kinds earn theirs from data
    chapter_heading: float = 1.0  # "第三部分讲什么" answered by that chapter's own heading
    heading: float = -0.4  # any other heading: it names a topic, it does not answer
    max_chars: int = 80  # a window of several clauses stays within this
    proximity: float = 0.2  # a figure asked: its terms close together, as asked (城镇新增就业 before 新增农村…就业)
    other_metric: float = 0.5  # a figure asked, and the window's only figures are changes (比去年提高0.2万人)
    other_year: float = 1.0  # a question naming a year other than the report's: a window not naming it


@dataclass(frozen=True)
class SupportWeights:
    """How well the chosen window supports an answer; below the refusal threshold it is a refusal."""

    retrieval: float = 1.0  # the hit's retrieval score relative to the best, added to the window score
    rank_decay: float = 0.05  # per rank position
    intent_term: float = 0.3  # weight of intent words ("计划", "目标") among the topic's terms
    partial_term: float = 0.7  # credit of a long term found only through its parts
    english_dense_floor: float = 0.80  # an English question is judged by meaning: cosine at 0 support
    english_dense_span: float = 0.12  # ... and the cosine range to full support
    other_metric: float = 0.5  # the window's figure measures another metric
    missing_form: float = 0.3  # "多少公里" answered without any distance
    other_year: float = 0.4  # a question about one named year answered without that year
    # soft matching by meaning: the question words the window misses count partly covered when the
    # embedding model finds the window's unit very close to the question (dense cosine from floor to
    # floor+span earns up to ``meaning_share`` of the missing coverage). Chosen by grid on the tuning
    # report's parts only (eval/dev.jsonl + the made-up refusals of tests/test_generalisation.py):
    # best part accuracy, then the highest floor and smallest share (notes/issue-12c.md). Cosines of
    # this model are compressed (unanswerables reach 0.92), so the credit is small and the share stays
    # far below the refusal threshold: closeness alone, with few words of the question, never answers.
    meaning_floor: float = 0.875
    meaning_span: float = 0.02
    meaning_share: float = 0.15


@dataclass(frozen=True)
class Qualifiers:
    """What tells a metric from its neighbour (rag/data/qualifiers.toml): 人均 vs the total,
    2号线 vs 1号线, 总额 vs 每辆; and placeholders («另行公布») that stand where a figure would."""

    classes: dict[str, tuple[tuple[str, ...], bool, tuple[str, ...]]]  # name -> (words, required, conflicts)
    designators: tuple[re.Pattern[str], ...]
    placeholders: tuple[str, ...]
    penalty: float
    continuations: tuple[str, ...] = ()  # an item opening with one (达到, 提高到) has no subject of its own

    @classmethod
    def from_table(cls, table: dict) -> Qualifiers:
        classes = {name: (tuple(c["words"]), bool(c.get("required", False)), tuple(c.get("conflicts", ())))
                   for name, c in table.get("classes", {}).items()}
        return cls(classes, tuple(re.compile(p) for p in table.get("designators", {}).get("patterns", ())),
                   tuple(table.get("placeholders", {}).get("words", ())), float(table.get("penalty", 0.3)),
                   tuple(table.get("continuations", ())))

    def items(self, window_text: str) -> list[str]:
        """The window's clauses and list items; one opening with a link («…标准提高20元，达到每人
        每月250元») still speaks of the item before it, so the two count as one."""
        out: list[str] = []
        for item in _QUALIFIED_ITEM.split(window_text):
            if out and self.continuations and item.startswith(self.continuations):
                out[-1] += item
            else:
                out.append(item)
        return out

    def missing(self, question: str, items: list[str], metrics: list[tuple[str, ...]]) -> bool:
        """Whether the question's distinguishing qualifier is absent from the window's metric
        text: a class word counts only in an item (a clause or list item of the window, or a
        heading) that also names one of the question's ``metrics`` (人均 of 人均可支配收入 does
        not qualify a 地区生产总值 listed beside it)."""
        q = question.lower()
        items = [i.lower() for i in items if i]
        whole = " ".join(items)
        for words, required, conflicts in self.classes.values():
            if not any(x in q for x in words):
                continue
            others = [m for m in metrics if not any(x in a for a in m for x in words)]
            if any(any(x in i for x in words) and (not others or any(a in i for m in others for a in m))
                   for i in items):
                continue
            if required or any(x in whole for c in conflicts for x in self.classes.get(c, ((), False, ()))[0]):
                return True
        for pattern in self.designators:
            asked = {m.group(0).replace(" ", "") for m in pattern.finditer(q)}
            if asked and not asked & {m.group(0).replace(" ", "") for m in pattern.finditer(whole)}:
                return True
        return False

    def words(self) -> tuple[str, ...]:
        """Every Chinese qualifier word of every class."""
        return tuple(w for words, _, _ in self.classes.values() for w in words if not w.isascii())

    def placeholder(self, text: str) -> bool:
        """Whether the window says its figure is still to come («另行公布»): that is no figure."""
        return any(p in text for p in self.placeholders)

    def factor(self, question: str, window_text: str, path: tuple[str, ...], metrics: list[tuple[str, ...]]) -> float:
        """The support cut for a window: ``penalty`` per failed check, 1.0 when it holds up."""
        items = [*self.items(window_text), *path]
        f = self.penalty if self.missing(question, items, metrics) else 1.0
        return f * (self.penalty if self.placeholder(window_text) else 1.0)


@dataclass(frozen=True)
class Term:
    alternatives: tuple[str, ...]  # any one of them in a span covers the term
    weight: float
    parts: tuple[str, ...]  # shorter words inside it, for partial credit


@dataclass(frozen=True)
class Window:
    unit: Unit
    start: int  # absolute offsets into the document text
    end: int
    text: str
    coverage: float
    score: float


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
        value = self._idf.get(term)
        if value is None:
            if len(self._idf) >= 100_000:
                self._idf.clear()
            value = self._idf[term] = math.log(1 + (self.n - self.df.get(term, 0) + 0.5) / (self.df.get(term, 0) + 0.5))
        return value


class ExtractiveComposer:
    """Builds an ``Answer`` from retrieval hits for each question part; always answers (a refusal
    when the hits do not cover the question), so it ends the pipeline's chain."""

    name = "extractive"

    def __init__(self, documents: list[Document], units: list[Unit], weights: TermWeights, lexicon: Lexicon, *,
                 refusal_threshold: float, intent_words: frozenset[str] = frozenset(),
                 window: WindowWeights = WindowWeights(), support: SupportWeights = SupportWeights(),
                 scorer: WindowScorer | None = None, paraphrases: Paraphrases | None = None) -> None:
        self.docs = {d.id: d for d in documents}
        self.units = units
        self.weights = weights
        self.lexicon = lexicon
        self.refusal_threshold = refusal_threshold
        self.plan_years = {d.id: plan_year(d) for d in documents}
        self.intent_words = intent_words
        self._links = sorted(lexicon.table("figures")["metric_links"], key=len, reverse=True)
        self.qualifiers = Qualifiers.from_table(lexicon.table("qualifiers"))
        #: what may stand between a metric and its figure: links, and the figure's own qualifier
        #: («提高到每人每年640元»: 每人每年 qualifies 640元, the metric is before 提高)
        self._before_figure = tuple(sorted({*self._links, *self.qualifiers.words()}, key=len, reverse=True))
        self._comparisons = tuple(lexicon.table("figures")["comparison_marks"])
        self._increments = tuple(sorted(lexicon.table("figures")["increment_links"], key=len, reverse=True))
        self._change_ask = re.compile(lexicon.table("question")["change_pattern"], re.IGNORECASE)
        self.w, self.s = window, support
        self.paraphrases = paraphrases or default_paraphrases()
        #: place names of the loaded reports (江城市 and 江城): they choose the report, and are no
        #: topic a passage must repeat
        self.places = frozenset(n for d in documents if d.report.region
                                for n in (d.report.region, d.report.region.rstrip("市省县区州盟旗")))
        self.hand_threshold = refusal_threshold
        #: each unit's candidate windows (``_spans``): the same for every question over this index
        self._span_cache: dict[tuple[int, str, int, int], tuple[tuple[int, int], ...]] = {}
        self.set_scorer(scorer)

    def set_scorer(self, scorer: WindowScorer | None) -> None:
        """Swap the window scorer: ``None`` for the hand-set weights and the coverage threshold, or
        a learned ``WindowScorer`` that picks the window and refuses below its own threshold."""
        self.scorer = scorer
        self.refusal_threshold = scorer.threshold if scorer else self.hand_threshold

    # --- coverage -------------------------------------------------------------------------
    def _terms(self, part: QueryPart, *, places: bool = True) -> list[Term]:
        """Topic terms with weights, each also covered by its paraphrases (rag/data/synonyms.tsv:
        看病 is covered by 医保); an English question's glossary phrases become terms in the
        report's Chinese. ``places=False`` leaves out the loaded reports' place names (the
        hand-set threshold was calibrated with them in; the learned scorer goes without)."""
        out = []
        for t in self._word_terms(part):
            word = t.alternatives[0]
            if len(t.alternatives) == 1 and word in self.places and not places:
                continue
            if len(t.alternatives) == 1 and not word.isascii() and word in part.topic.lower():  # the asker's own word
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
                if all(t.alternatives[:len(alternatives)] != alternatives for t in terms):  # GDP and GDP总量 name one term, counted once
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
            weight = self.weights.idf(t) * (self.s.intent_term if t in self.intent_words else 1.0)  # "计划新增" is about 新增
            terms.append(Term((t,), weight, parts))
        return terms

    def _coverage(self, terms: list[Term], text: str) -> float:
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
                    part_total = sum(self.weights.idf(p) for p in t.parts)
                    got += self.s.partial_term * t.weight * sum(self.weights.idf(p) for p in t.parts if p in text) / part_total
        return got / total if total else 0.0

    # --- windows --------------------------------------------------------------------------
    def _sentence_span(self, unit: Unit) -> tuple[int, int]:
        """The unit plus neighbours cut from the same sentence, so a window can cross the cut."""
        lo, hi = unit.start, unit.end
        i = unit.id
        while i > 0 and self._joins(self.units[i - 1], self.units[i]):
            i -= 1
            lo = self.units[i].start
        j = unit.id
        while j + 1 < len(self.units) and self._joins(self.units[j], self.units[j + 1]):
            j += 1
            hi = self.units[j].end
        return lo, hi

    def _joins(self, a: Unit, b: Unit) -> bool:
        """Two units are one sentence cut in two: same section, no sentence end or line break between."""
        return (a.doc_id, a.section_id, a.kind, b.kind) == (b.doc_id, b.section_id, "text", "text") and \
            not a.text.endswith(tuple(SENTENCE_ENDS)) and "\n" not in self.docs[a.doc_id].text[a.end:b.start]

    def _spans(self, unit: Unit) -> tuple[tuple[int, int], ...]:
        """Runs of whole clauses of the unit's sentence that overlap the unit, within the length
        cap; cut once per unit, since the same units answer many questions (the cache is bounded)."""
        return kept(self._span_cache, (unit.id, unit.doc_id, unit.start, unit.end),
                    lambda _: tuple(self._clause_runs(unit)), _SPAN_CACHE_UNITS)

    def _clause_runs(self, unit: Unit) -> Iterator[tuple[int, int]]:
        text = self.docs[unit.doc_id].text
        lo, hi = self._sentence_span(unit)
        pieces = [(lo + m.start(), lo + m.end()) for m in _CLAUSE.finditer(text[lo:hi]) if m.end() > m.start()]
        for i in range(len(pieces)):
            for j in range(i, len(pieces)):
                a, b = strip_span(text, pieces[i][0], pieces[j][1], TRIM)
                if b <= unit.start or a >= unit.end:
                    continue  # a window must overlap the retrieved unit itself
                if b - a > self.w.max_chars and j > i:
                    break
                yield a, b

    def _best_window(self, hit: ScoredUnit, part: QueryPart, terms: list[Term]) -> Window:
        """The best-scoring run of whole clauses of the hit's sentence that overlaps the hit."""
        u = hit.unit
        context = " ".join(u.section_path)
        text = self.docs[u.doc_id].text
        context_coverage = self._coverage(terms, context)  # one heading path for all the hit's windows
        best: tuple[float, int, int] | None = None  # score, start, end: the Window is built for the winner only
        for a, b in self._spans(u):
            score = self._window_score(text[a:b], context, u, part, terms, context_coverage)
            if best is None or score > best[0]:
                best = (score, a, b)
        if best is None:  # a unit with no clause text (cannot happen for stripped units)
            return Window(u, u.start, u.end, u.text, self._coverage(terms, u.text + " " + context), 0.0)
        score, a, b = best
        return Window(u, a, b, text[a:b], self._coverage(terms, text[a:b] + " " + context), score)

    def _window_score(self, span: str, context: str, u: Unit, part: QueryPart, terms: list[Term],
                      context_coverage: float | None = None) -> float:
        """``context_coverage`` is ``self._coverage(terms, context)`` when the caller has it already."""
        w = self.w
        if context_coverage is None:
            context_coverage = self._coverage(terms, context)
        score = w.coverage * self._coverage(terms, span) + w.context_coverage * context_coverage
        rest = span
        for term in terms:
            for alt in term.alternatives:
                rest = rest.replace(alt, "")
        novel = _novel_chars(rest)  # what the window says beyond the question
        score += w.novelty * min(novel, w.novelty_chars) / w.novelty_chars - w.length_penalty * max(len(span) - w.free_chars, 0)
        if self._misses_year(span + " " + context, u, part):  # «到2026年…» before this year's targets
            score -= w.other_year
        score += self._kind_bonus(span, rest, part)
        if part.wants_number:  # which of several figures: the one whose metric reads as asked
            score += w.proximity * self._proximity(span, terms)
        if self._only_changes(rest, against=part.wants_number, increments=not _found(self._change_ask, part.text)):
            score -= w.other_metric
        if part.chapter and u.kind == "heading" and u.section_id == str(part.chapter):
            score += w.chapter_heading  # "第三部分讲什么" is answered by that chapter's own heading
        elif u.kind == "heading" and not (part.measure and _answers_form(span, part, self.lexicon)):
            score += w.heading  # a heading names a topic; it answers only questions about the report's parts
        return score

    def _only_changes(self, text: str, *, against: bool = True, increments: bool = False) -> bool:
        """Whether every figure of ``text`` states a change, not the metric's level: with
        ``against``, a figure after a comparison mark in its clause (比去年, 同比); with
        ``increments``, one right after an increment link («标准提高30元», where «提高到670元» is
        the level). A question asking for the level («标准是多少») wants the other window."""
        figures = list(NUMBER.finditer(text))
        if not figures or not (against or increments):
            return False
        clauses = (_CLAUSE_CUT.split(text[: m.start()])[-1] for m in figures)  # each figure's clause, cut once
        return all((against and any(mark in clause for mark in self._comparisons))
                   or (increments and clause.rstrip().removesuffix("了").endswith(self._increments)) for clause in clauses)

    @staticmethod
    def _proximity(span: str, terms: list[Term]) -> float:
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

    def _kind_bonus(self, span: str, rest: str, part: QueryPart) -> float:
        """What the asked kinds earn a window that has their answer's form ([kinds.*] in the data);
        ``rest`` is the span without the question's own words."""
        bonus = self.w.measure if part.measure and has_figure_in(span, part.measure) else 0.0
        for name in part.kinds:
            kind = self.lexicon.kinds[name]
            if kind.bonus and kind.form.search(rest if kind.on_rest else span):
                bonus += kind.bonus
        return bonus

    def _pick(self, part: QueryPart, hits: list[ScoredUnit], terms: list[Term],
              used: frozenset[tuple[str, int, int]]) -> tuple[Window, ScoredUnit] | None:
        """The best window among the hits, weighing its own score with its hit's retrieval rank."""
        top = hits[0].score or 1.0
        scored = []
        for rank, hit in enumerate(hits):
            w = self._best_window(hit, part, terms)
            if (w.unit.doc_id, w.start, w.end) not in used:
                scored.append((w.score + self.s.retrieval * hit.score / top - self.s.rank_decay * rank, w, hit))
        if not scored:
            return None
        _, window, hit = max(scored, key=lambda x: x[0])
        return window, hit

    # --- the learned scorer's view of a window ---------------------------------------------
    def candidates(self, part: QueryPart, hits: list[ScoredUnit]) -> list[tuple[Window, WindowFacts]]:
        """Every candidate window of the hits with the facts the learned scorer weighs."""
        terms = self._terms(part, places=False)
        if part.chapter:
            hits = [h for h in hits if h.unit.section_id.split(".")[0] == str(part.chapter)]
        if not hits:
            return []
        gloss = self.paraphrases.english_terms(part.text) if is_english(part.text) else []
        top, best_bm25 = hits[0].score or 1.0, max((h.bm25 or 0.0) for h in hits) or 1.0
        out = []
        for rank, hit in enumerate(hits):
            u = hit.unit
            base = WindowFacts(
                coverage_context=self._coverage(terms, " ".join(u.section_path)), retrieval=hit.score / top,
                rank=rank / len(hits), dense=float(hit.dense or 0.0), bm25=(hit.bm25 or 0.0) / best_bm25,
                english=float(is_english(part.text)), heading=float(u.kind == "heading"),
                part_heading=float(bool(part.chapter and u.kind == "heading" and u.section_id == str(part.chapter))),
                no_terms=float(not terms))
            base.english_dense = base.dense * base.english
            context, text = " ".join(u.section_path), self.docs[u.doc_id].text
            for a, b in self._spans(u):
                facts = self._facts(text[a:b], u, part, terms, gloss, base)
                out.append((Window(u, a, b, text[a:b], facts.coverage_all, 0.0), facts))
        return out

    def _facts(self, span: str, u: Unit, part: QueryPart, terms: list[Term],
               gloss: list[tuple[str, tuple[str, ...]]], base: WindowFacts) -> WindowFacts:
        """One window's facts: ``base`` holds those of its hit."""
        context = " ".join(u.section_path)
        whole = span + " " + context
        rest = span
        for term in terms:
            for alt in term.alternatives:
                rest = rest.replace(alt, "")
        scope = self.lexicon.section_scope(u.section_path, self.plan_years.get(u.doc_id))
        form_ok = _answers_form(span, part, self.lexicon)
        digit = bool(DIGIT.search(rest))
        topic = part.topic.replace(" ", "")
        return dataclasses.replace(
            base, coverage=self._coverage(terms, span), coverage_all=self._coverage(terms, whole),
            bigrams=bigram_coverage(topic, whole), bigrams_window=bigram_coverage(topic, span),
            novel=min(_novel_chars(rest), self.w.novelty_chars) / self.w.novelty_chars,
            proximity=self._proximity(span, terms),
            length=len(span) / self.w.max_chars,
            figure_wanted_found=float(part.wants_number and digit),
            figure_wanted_missing=float(part.wants_number and not digit),
            figure_other_metric=float(part.wants_number and not part.wants_rank and not (part.measure and form_ok)
                                      and not self._figure_is_about(span, terms)),
            form_ok=float(form_ok and (bool(part.measure) or any(self.lexicon.kinds[k].required for k in part.kinds))),
            form_missing=float(not form_ok), kind_bonus=self._kind_bonus(span, rest, part),
            year_missing=float(self._misses_year(whole, u, part)),
            scope_match=float(bool(part.scope and scope and part.scope == scope)),
            scope_mismatch=float(bool(part.scope and scope and part.scope != scope)),
            glossary=sum(any(z.lower() in whole.lower() for z in zh) for _, zh in gloss) / len(gloss) if gloss else 0.0)

    def _learned_part(self, part: QueryPart, hits: list[ScoredUnit],
                      used: frozenset[tuple[str, int, int]]) -> tuple[Window | None, float]:
        """The window the learned scorer finds most probable to answer, and that probability."""
        assert self.scorer is not None
        cands = [(w, f) for w, f in self.candidates(part, hits) if (w.unit.doc_id, w.start, w.end) not in used]
        terms = self._terms(part, places=False)
        if not cands:
            return None, 0.0
        probs = self.scorer.probabilities([f for _, f in cands]) * [self._qualified(part, w, terms) for w, _ in cands]
        i = int(probs.argmax())
        return cands[i][0], float(probs[i])

    def _answer_part(self, part: QueryPart, hits: list[ScoredUnit],
                     used: frozenset[tuple[str, int, int]] = frozenset()) -> tuple[Window | None, float]:
        """The best window among the top hits and how well it supports an answer; ``used`` holds
        windows that answered earlier parts of the question, which this part must not repeat."""
        if self.scorer is not None:
            return self._learned_part(part, hits, used)
        terms = self._terms(part)
        if part.chapter:  # "第三部分讲什么" is answered inside that chapter
            hits = [h for h in hits if h.unit.section_id.split(".")[0] == str(part.chapter)]
        picked = self._pick(part, hits, terms, used) if hits else None
        if picked is None:
            return None, 0.0
        window, hit = picked
        return window, self._support(window, hit, part, terms)

    def _support(self, window: Window, hit: ScoredUnit, part: QueryPart, terms: list[Term]) -> float:
        """How well a window supports an answer (the hand-set gate): its coverage of the question,
        cut when its figure measures another metric, the asked form is missing or the year differs."""
        s = self.s
        if part.chapter and window.unit.section_id.split(".")[0] == str(part.chapter):
            support = 1.0  # the chapter asked about exists; its heading answers what it is about
        elif terms:
            support = self._soft_coverage(window.coverage, hit)
        elif is_english(part.text) and hit.dense is not None:  # no report wording: judge by meaning
            support = (hit.dense - s.english_dense_floor) / s.english_dense_span
        else:
            support = 0.0  # "那过去五年呢？" with nothing to follow up on has no topic to answer
        if part.wants_number and not part.wants_rank and not (part.measure and _answers_form(window.text, part, self.lexicon)) \
                and not self._figure_is_about(window.text, terms):
            support *= s.other_metric  # the figure measures something else ("常住人口城镇化率提高1个百分点")
        support *= self._form_penalty(window.text, part)
        if self._misses_year(window.text + " ".join(window.unit.section_path), window.unit, part):
            support *= s.other_year  # a question about one named year is not answered by a five-year total
        return support * self._qualified(part, window, terms)

    def _misses_year(self, text: str, u: Unit, part: QueryPart) -> bool:
        """Whether ``text`` (of unit ``u``, with its heading path) leaves out the year the part asks
        about, when that year is not its report's own plan year. The year before the plan year is
        the one the review part speaks of, named or not («2024年…多少» of a 2025 report)."""
        planned = self.plan_years.get(u.doc_id)
        year = part.year or (planned - 1 if part.last_year and planned else None)
        if not year or year == planned or str(year) in text:
            return False
        if not planned or year != planned - 1:
            return True
        period = self.lexicon.section_period(u.section_path, planned)  # a five-year review is no one year's
        return period.scope == "plan" or (period.scope == "review" and not period.horizon.isdigit()
                                          and period.horizon != self.lexicon.review_default)

    def _soft_coverage(self, coverage: float, hit: ScoredUnit) -> float:
        """Coverage with the missed words partly credited when the unit means what was asked:
        «孩子上学的位置» is not spelled «学位», but the passage about it is the closest one.
        Costs nothing per question: the cosine is the retriever's."""
        if hit.dense is None:
            return coverage
        s = self.s
        close = min(1.0, max(0.0, (hit.dense - s.meaning_floor) / s.meaning_span)) if s.meaning_span > 0 else 0.0
        return coverage + (1.0 - coverage) * s.meaning_share * close

    def _qualified(self, part: QueryPart, window: Window, terms: list[Term]) -> float:
        """1.0, or the cut for a window missing the question's distinguishing qualifier or
        holding only a placeholder (rag/data/qualifiers.toml)."""
        return self.qualifiers.factor(part.text, window.text, window.unit.section_path,
                                      [t.alternatives for t in terms if t.alternatives[0] not in self.places])

    def _form_penalty(self, span: str, part: QueryPart) -> float:
        """"多少公里" answered without any distance, "什么时候" without a date, is no answer."""
        factor = self.s.missing_form if part.measure and not has_figure_in(span, part.measure) else 1.0
        for name in part.kinds:
            kind = self.lexicon.kinds[name]
            if kind.required and not kind.form.search(span):
                factor *= kind.penalty
        return factor

    def _figure_is_about(self, span: str, terms: list[Term]) -> bool:
        """Whether some figure in the span belongs to a metric the question names: the word
        before it once links like 提高/达 are stripped (each item of a 、 list), or the noun
        counted after it ("833个省市重点项目")."""
        words = [a for t in terms for a in t.alternatives if a not in self._links]
        masked = span
        for w in words:
            masked = masked.replace(w, "\0" * len(w))  # a figure inside a term (PM2.5) is no figure
        figures = list(NUMBER.finditer(masked))
        if not figures or not words:
            return True
        for m in figures:
            heads = [self._head(item) for item in _CLAUSE_CUT.split(span[: m.start()])[-1].split("、")]
            after = _ITEM_CUT.split(span[m.end():])[0]
            heads += [t for t in tokenize(after) if len(t) > 1]  # the noun a count counts
            if any(h and (h in w or w in h) for h in heads for w in words):
                return True
        return False

    def _head(self, text: str) -> str:
        """The last word of ``text`` after trailing links (提高, 达, 分别 …) and the figure's
        qualifiers (每人每年) are stripped."""
        tokens = [t for t in tokenize(strip_ends(text, self._before_figure)) if len(t) > 1]
        return tokens[-1] if tokens else ""

    def _sentence(self, window: Window, n: int, *, english: bool) -> str:
        """The answer sentence for a window: the quote after the period it speaks of ("2023年："),
        or after a short English frame for an English question ("2023 target: ")."""
        u = window.unit
        planned = self.plan_years.get(u.doc_id)
        period = self.lexicon.section_period(u.section_path, planned)
        if english:
            words = self.lexicon.table("english")
            if period.scope == "plan":
                frame = words["plan"].format(year=planned) if planned else words["plan_no_year"]
            elif period.scope == "review":
                frame = words["review"].get(period.horizon) or (
                    words["review_year"].format(year=period.horizon) if period.horizon.isdigit() else words["review_default"])
            else:
                frame = ""
            return f"{frame}: {window.text}[{n}]" if frame else f"{window.text}[{n}]"
        body = window.text if window.text.endswith(tuple("。！？")) else window.text + "。"
        when = period.label
        return f"{when}：{body}[{n}]" if when and when not in window.text else f"{body}[{n}]"

    # --- entry point ----------------------------------------------------------------------
    def run(self, question: str, parts: list[QueryPart], hits: Hits, *, documents: PartDocs = ()) -> Answer:
        """One sentence per answered part, citing its window; a refusal sentence per part the
        hits do not cover (they come from ``documents`` already)."""
        citations = Citations()
        sentences: list[str] = []
        missing: list[tuple[QueryPart, list[ScoredUnit]]] = []
        used: set[tuple[str, int, int]] = set()
        for part, part_hits in zip(parts, hits):
            window, support = self._answer_part(part, list(part_hits), frozenset(used))
            if window is None or support < self.refusal_threshold:
                missing.append((part, list(part_hits)))
                continue
            u = window.unit
            used.add((u.doc_id, window.start, window.end))
            n = citations.add(u.doc_id, u.section_id, " › ".join(u.section_path), window.text, window.start,
                              window.end, part_hits[0].score)
            sentences.append(self._sentence(window, n, english=is_english(question)))
        topics = ["".join(w for w in p.topic.split() if w not in self.places) for p, _ in missing]  # 焦作 is no topic
        related = related_sections([h for _, h in missing], topics=topics) if missing else []
        titles = [r.title for r in related]
        refused = refusal_of([p for p, _ in missing], shared=parts[0]) if missing else None
        if refused is not None:  # one refusal for everything not covered, however many clauses asked
            sentences.append(refusal_wording(refused.topics, titles, english=is_english(question),
                                             closest=not citations.items))
        return Answer(question=question, answer=" ".join(sentences), found=bool(citations.items),
                      citations=citations.items, related_sections=titles, related_refs=related, composer=self.name,
                      refusal=refused)
