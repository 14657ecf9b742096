"""The composers and their chain without the embedding model: hits come from a word-overlap
stand-in for retrieval, so these run in a second and pin down what a composer does with them."""

from __future__ import annotations

import pytest

from rag.chunking import SentenceChunker
from rag.commitments import CommitmentExtractor
from rag.composers.base import Citations, Composer, refusal
from rag.composers.commitments import CommitmentComposer
from rag.composers.extractive import ExtractiveComposer, TermWeights
from rag.genre.lexicon import Lexicon
from rag.genre.text import tokenize
from rag.query import QueryAnalyzer, QueryPart
from rag.types import ScoredUnit


@pytest.fixture(scope="module")
def world(synthetic_docs):
    docs = synthetic_docs
    units = SentenceChunker().run(docs)
    lexicon = Lexicon.default()
    analyzer = QueryAnalyzer(lexicon)
    extractive = ExtractiveComposer(docs, units, TermWeights(units), lexicon, refusal_threshold=0.35,
                                    intent_words=analyzer.intent_words)
    return docs, units, analyzer, extractive


def _hits(units, part: QueryPart, k: int = 8) -> list[ScoredUnit]:
    """Units ranked by the question words they share: enough retrieval for a composer test."""
    words = set(tokenize(part.search_text))
    scored = [(len(words & set(tokenize(u.text + " ".join(u.section_path)))), u) for u in units]
    ranked = sorted((s for s in scored if s[0]), key=lambda s: (-s[0], s[1].id))[:k]
    return [ScoredUnit(u, float(s)) for s, u in ranked]


def _ask(world, question: str):
    docs, units, analyzer, extractive = world
    parts = analyzer.analyze(question)
    return extractive.run(question, parts, [_hits(units, p) for p in parts])


def test_every_producer_speaks_the_protocol(world):
    *_, extractive = world
    assert isinstance(extractive, Composer) and isinstance(CommitmentComposer([]), Composer)


def test_extractive_answers_with_a_verbatim_clause(world):
    docs, *_ = world
    answer = _ask(world, "2024年城镇新增就业目标是多少？")
    assert answer.found and answer.composer == "extractive" and "5万人" in answer.answer
    text = {d.id: d.text for d in docs}
    assert all(text[c.doc][c.start:c.end] == c.quote for c in answer.citations)
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))


def test_extractive_refuses_what_the_report_does_not_say(world):
    answer = _ask(world, "市里有多少只大熊猫？")
    assert not answer.found and not answer.citations
    assert answer.answer.startswith("报告中没有找到关于“") and "大熊猫" in answer.answer


def test_refusal_names_each_part_and_the_closest_sections(world):
    *_, analyzer, _ = world
    parts = analyzer.analyze("Where is the zoo?")
    answer = refusal("Where is the zoo?", parts, [], composer="extractive")
    assert not answer.found and answer.answer.startswith("The report does not say anything about")


def test_citations_keep_one_number_per_span():
    book = Citations()
    assert book.add("d", "1", "一", "甲", 0, 1, 0.5) == 1
    assert book.add("d", "2", "二", "乙", 5, 6, 0.4) == 2
    assert book.add("d", "1", "一", "甲", 0, 1, 0.9) == 1
    assert [c.n for c in book.items] == [1, 2]


def test_commitments_composer_passes_what_is_not_a_listing_question(world, synthetic_docs):
    *_, analyzer, _ = world
    lister = CommitmentComposer(CommitmentExtractor().run(synthetic_docs))
    question = "2024年城镇新增就业目标是多少？"
    assert lister.run(question, analyzer.analyze(question), []) is None
    listing = "明年就业方面有哪些目标？"
    answer = lister.run(listing, analyzer.analyze(listing), [])
    assert answer is not None and answer.composer == "commitments" and answer.citations
