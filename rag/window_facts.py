"""Candidate answer windows described as ``WindowFacts``, and the composer that picks among them
with the learned scorer (``rag.scoring``) instead of hand-set weights.

``collect_examples`` turns a question set with gold answers into training examples: every
candidate window of every question part, labelled by whether its answer sentence would be
judged correct.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from rag.answering import (
    _CJK_OR_DIGIT,
    _CLAUSE,
    _DIGIT,
    _QUOTED,
    _TRIM,
    ExtractiveComposer,
    Term,
    Window,
    _answers_form,
    _is_english,
    horizon,
)
from rag.chunking import strip_span
from rag.paraphrase import Paraphrases, bigram_coverage, default_paraphrases
from rag.query import QueryPart
from rag.scoring import Example, WindowFacts, WindowScorer
from rag.types import ScoredUnit

if TYPE_CHECKING:
    from rag.evaluation.datasets import EvalItem
    from rag.pipeline import Pipeline


class ScoredComposer(ExtractiveComposer):
    """The extractive composer with paraphrase-tolerant coverage and, when ``scorer`` is set, the
    learned window scorer deciding the window and the refusal."""

    def __init__(self, *args, scorer: WindowScorer | None = None, paraphrases: Paraphrases | None = None,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.paraphrases = paraphrases or default_paraphrases()
        self.hand_threshold = self.refusal_threshold
        self.set_scorer(scorer)

    def set_scorer(self, scorer: WindowScorer | None) -> None:
        """Swap the window scorer (``None``: the hand-set score and coverage threshold)."""
        self.scorer = scorer
        self.refusal_threshold = scorer.threshold if scorer else self.hand_threshold

    # --- paraphrase-tolerant terms --------------------------------------------------------
    def _terms(self, part: QueryPart) -> list[Term]:
        """The question's terms, each also covered by its paraphrases; an English question's
        glossary phrases become terms in the report's Chinese."""
        out = []
        for t in super()._terms(part):
            word = t.alternatives[0]
            if len(t.alternatives) == 1 and not word.isascii() and word in part.topic.lower():  # the asker's own word
                t = Term(tuple(a.lower() for a in self.paraphrases.alternatives(
                    word, inside=word not in self.weights.df)), t.weight, t.parts)
            out.append(t)
        if _is_english(part.text):
            have = {a for t in out for a in t.alternatives}
            for _, zh in self.paraphrases.english_terms(part.text):
                alts = tuple(z.lower() for z in zh)
                if not have.intersection(alts):
                    out.append(Term(alts, max(self.weights.idf(a) for a in alts), ()))
                    have |= set(alts)
        return out

    # --- candidate windows ----------------------------------------------------------------
    def _spans(self, hit: ScoredUnit) -> Iterator[tuple[int, int]]:
        """Clause windows of a hit's sentence that overlap the hit, shortest-first per start."""
        u = hit.unit
        text = self.docs[u.doc_id].text
        lo, hi = self._sentence_span(u)
        pieces = [(lo + m.start(), lo + m.end()) for m in _CLAUSE.finditer(text[lo:hi]) if m.end() > m.start()]
        for i in range(len(pieces)):
            for j in range(i, len(pieces)):
                a, b = strip_span(text, pieces[i][0], pieces[j][1], _TRIM)
                if b <= u.start or a >= u.end:
                    continue
                if b - a > self.max_window_chars and j > i:
                    break
                yield a, b

    def candidates(self, part: QueryPart, hits: list[ScoredUnit],
                   terms: list[Term] | None = None) -> list[tuple[Window, WindowFacts]]:
        """Every candidate window of the hits with its facts."""
        terms = self._terms(part) if terms is None else terms
        if part.part_ordinal:
            hits = [h for h in hits if h.unit.section_id.split(".")[0] == str(part.part_ordinal)]
        if not hits:
            return []
        top = hits[0].score or 1.0
        best_bm25 = max((h.bm25 or 0.0) for h in hits) or 1.0
        english = _is_english(part.text)
        gloss = self.paraphrases.english_terms(part.text) if english else []
        topic = part.topic.replace(" ", "")
        planned_year = None
        out = []
        for rank, hit in enumerate(hits):
            u = hit.unit
            text = self.docs[u.doc_id].text
            context = " ".join(u.section_path)
            cov_context = self._coverage(terms, context)
            scope = self.lexicon.heading_scope(u.section_path)
            planned_year = self.plan_years.get(u.doc_id)
            year = part.year or (planned_year - 1 if part.last_year and planned_year else None)
            dense = float(hit.dense or 0.0)
            for a, b in self._spans(hit):
                span = text[a:b]
                whole = span + " " + context
                rest = span
                for term in terms:
                    for alt in term.alternatives:
                        rest = rest.replace(alt, "")
                form_asked = bool(part.measure or part.wants_when or part.wants_who)
                form_ok = _answers_form(span, part)
                digit = bool(_DIGIT.search(rest))
                facts = WindowFacts(
                    coverage=self._coverage(terms, span),
                    coverage_context=cov_context,
                    coverage_all=self._coverage(terms, whole),
                    bigrams=bigram_coverage(topic, whole),
                    bigrams_window=bigram_coverage(topic, span),
                    novel=min(len(_CJK_OR_DIGIT.findall(rest)), 12) / 12,
                    length=len(span) / self.max_window_chars,
                    figure_wanted_found=float(part.wants_number and digit),
                    figure_wanted_missing=float(part.wants_number and not digit),
                    figure_other_metric=float(part.wants_number and not part.wants_rank
                                              and not (part.measure and form_ok)
                                              and not self._figure_is_about(span, terms)),
                    form_ok=float(form_asked and form_ok),
                    form_missing=float(not form_ok),
                    rank_ok=float(part.wants_rank and self.lexicon.has_rank(span)),
                    name_ok=float(part.wants_name and bool(_QUOTED.search(rest))),
                    year_missing=float(bool(year and year != planned_year and str(year) not in whole)),
                    scope_match=float(bool(part.scope and scope and part.scope == scope)),
                    scope_mismatch=float(bool(part.scope and scope and part.scope != scope)),
                    heading=float(u.kind == "heading"),
                    part_heading=float(bool(part.part_ordinal and u.kind == "heading"
                                            and u.section_id == str(part.part_ordinal))),
                    retrieval=hit.score / top,
                    rank=rank / max(len(hits), 1),
                    dense=dense,
                    bm25=(hit.bm25 or 0.0) / best_bm25,
                    english=float(english),
                    english_dense=dense if english else 0.0,
                    glossary=(sum(any(z.lower() in whole.lower() for z in zh) for _, zh in gloss) / len(gloss))
                    if gloss else 0.0,
                    no_terms=float(not terms),
                )
                window = Window(u, a, b, span, facts.coverage_all, 0.0)
                out.append((window, facts))
        return out

    def _answer_part(self, part: QueryPart, hits: list[ScoredUnit],
                     used: frozenset[tuple[str, int, int]] = frozenset()) -> tuple[Window | None, float]:
        if self.scorer is None:
            return super()._answer_part(part, hits, used)
        cands = [(w, f) for w, f in self.candidates(part, hits) if (w.unit.doc_id, w.start, w.end) not in used]
        if not cands:
            return None, 0.0
        probs = self.scorer.probabilities([f for _, f in cands])
        i = int(probs.argmax())
        return cands[i][0], float(probs[i])


def answer_text(window: Window) -> str:
    """The sentence the composer would write for a window (without the citation marker)."""
    when = horizon(window.unit.section_path)
    return f"{when}：{window.text}" if when and when not in window.text else window.text


def label(text: str, item: EvalItem, parts: int) -> int:
    """1 when a window's sentence answers: the whole gold for a one-part question, any gold
    string for one part of a multi-part question."""
    from rag.evaluation.metrics import answer_correct, contains_answer

    if not item.answerable:
        return 0
    if parts == 1:
        return int(answer_correct(text, item.answers, item.all_of))
    return int(any(contains_answer(text, a) for a in item.all_of or item.answers))


def collect_examples(pipeline: Pipeline, items: Sequence[EvalItem], *, retriever: str = "hybrid",
                     reports: dict[str, str] | None = None, progress: bool = False) -> list[Example]:
    """Training examples for ``rag.scoring.fit``: one per question part; ``reports`` maps item ids
    to the doc id of their evidence (for leave-one-report-out)."""
    composer = pipeline.composer
    if not isinstance(composer, ScoredComposer):
        raise TypeError("the pipeline's composer does not describe windows")
    from tqdm import tqdm

    out = []
    for item in tqdm(items, desc="windows", unit="q", disable=None if progress else True, leave=False):
        parts = pipeline.analyzer.analyze(item.question)
        for n, part in enumerate(parts):
            hits = pipeline.retrievers[retriever].retrieve(part, pipeline.settings.top_k)
            cands = composer.candidates(part, hits)
            out.append(Example(group=f"{item.id}#{n}", facts=[f for _, f in cands],
                               labels=[label(answer_text(w), item, len(parts)) for w, _ in cands],
                               answerable=item.answerable, report=(reports or {}).get(item.id, "")))
    return out


