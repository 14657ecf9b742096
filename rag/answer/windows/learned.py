"""The learned scorer's view of the candidate windows: each described by the facts
``rag.answer.window_scorer`` weighs (the same readings the hand-set score adds up), so that one
fitted model picks the window and refuses below its threshold. Training data
(``rag.evaluation.window_data``) reads the same candidates.
"""

from __future__ import annotations

import dataclasses

from rag.answer.composers.base import is_english
from rag.answer.query import QueryPart
from rag.answer.window_scorer import WindowFacts, WindowScorer
from rag.answer.windows.checks import WindowChecks
from rag.answer.windows.cutting import Window, WindowCutter
from rag.answer.windows.hand import WindowWeights
from rag.answer.windows.terms import QueryTerms, Term, novel_chars, proximity, without
from rag.core.types import ScoredUnit, Unit
from rag.genre.paraphrase import Paraphrases, bigram_coverage
from rag.genre.text import DIGIT


class LearnedView:
    """Every candidate window of the hits with its facts, and the learned scorer's pick among them."""

    def __init__(self, terms: QueryTerms, cutter: WindowCutter, checks: WindowChecks, paraphrases: Paraphrases,
                 *, window: WindowWeights) -> None:
        """``window`` scales the length and novelty facts as the hand-set score does."""
        self.terms, self.cutter, self.checks, self.paraphrases = terms, cutter, checks, paraphrases
        self.w = window

    def candidates(self, part: QueryPart, hits: list[ScoredUnit]) -> list[tuple[Window, WindowFacts]]:
        """Every candidate window of the hits with the facts the learned scorer weighs."""
        terms = self.terms.of(part, places=False)
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
                coverage_context=self.terms.coverage(terms, " ".join(u.section_path)), retrieval=hit.score / top,
                rank=rank / len(hits), dense=float(hit.dense or 0.0), bm25=(hit.bm25 or 0.0) / best_bm25,
                english=float(is_english(part.text)), heading=float(u.kind == "heading"),
                part_heading=float(bool(part.chapter and u.kind == "heading" and u.section_id == str(part.chapter))),
                no_terms=float(not terms))
            base.english_dense = base.dense * base.english
            text = self.cutter.source(u)
            for a, b in self.cutter.spans(u):
                facts = self._facts(text[a:b], u, part, terms, gloss, base)
                out.append((Window(u, a, b, text[a:b], facts.coverage_all, 0.0), facts))
        return out

    def _facts(self, span: str, u: Unit, part: QueryPart, terms: list[Term],
               gloss: list[tuple[str, tuple[str, ...]]], base: WindowFacts) -> WindowFacts:
        """One window's facts: ``base`` holds those of its hit."""
        checks, lexicon = self.checks, self.checks.lexicon
        whole = span + " " + " ".join(u.section_path)
        rest = without(span, terms)
        scope = lexicon.section_scope(u.section_path, checks.plan_years.get(u.doc_id))
        form_ok = checks.answers_form(span, part)
        digit = bool(DIGIT.search(rest))
        topic = part.topic.replace(" ", "")
        return dataclasses.replace(
            base, coverage=self.terms.coverage(terms, span), coverage_all=self.terms.coverage(terms, whole),
            bigrams=bigram_coverage(topic, whole), bigrams_window=bigram_coverage(topic, span),
            novel=min(novel_chars(rest), self.w.novelty_chars) / self.w.novelty_chars,
            proximity=proximity(span, terms),
            length=len(span) / self.w.max_chars,
            figure_wanted_found=float(part.wants_number and digit),
            figure_wanted_missing=float(part.wants_number and not digit),
            figure_other_metric=float(part.wants_number and not part.wants_rank and not (part.measure and form_ok)
                                      and not checks.figure_is_about(span, terms)),
            form_ok=float(form_ok and (bool(part.measure) or any(lexicon.kinds[k].required for k in part.kinds))),
            form_missing=float(not form_ok), kind_bonus=checks.kind_bonus(span, rest, part, measure=self.w.measure),
            year_missing=float(checks.misses_year(whole, u, part)),
            scope_match=float(bool(part.scope and scope and part.scope == scope)),
            scope_mismatch=float(bool(part.scope and scope and part.scope != scope)),
            glossary=sum(any(z.lower() in whole.lower() for z in zh) for _, zh in gloss) / len(gloss) if gloss else 0.0)

    def answer(self, part: QueryPart, hits: list[ScoredUnit], used: frozenset[tuple[str, int, int]],
               scorer: WindowScorer) -> tuple[Window | None, float]:
        """The window ``scorer`` finds most probable to answer (none of ``used``), and that probability."""
        cands = [(w, f) for w, f in self.candidates(part, hits) if (w.unit.doc_id, w.start, w.end) not in used]
        terms = self.terms.of(part, places=False)
        if not cands:
            return None, 0.0
        probs = scorer.probabilities([f for _, f in cands]) * [self.checks.qualified(part, w, terms) for w, _ in cands]
        i = int(probs.argmax())
        return cands[i][0], float(probs[i])
