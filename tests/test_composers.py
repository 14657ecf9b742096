"""The composers and their chain without the embedding model: hits come from a word-overlap
stand-in for retrieval, so these run in a second and pin down what a composer does with them."""

from __future__ import annotations

import pytest

from rag.answer.composers.base import Citations, Composer, ComposerChain, refusal
from rag.answer.composers.commitments import CommitmentComposer
from rag.answer.composers.extractive import ExtractiveComposer
from rag.answer.query import QueryAnalyzer, QueryPart
from rag.answer.windows.terms import TermWeights
from rag.commitments.extract import CommitmentExtractor
from rag.core.types import Answer, Citation, ScoredUnit
from rag.genre.lexicon import Lexicon
from rag.genre.text import tokenize
from rag.ingest.chunking import SentenceChunker


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


def test_renumbering_joins_answers_in_one_numbering():
    book = Citations()
    book.add("a", "1", "一", "甲", 0, 1, 0.5)
    cite = Citation(1, "b", "1", "一", "乙", 3, 4, 0.5)
    again = Citation(2, "a", "1", "一", "甲", 0, 1, 0.5)  # the span numbered 1 already
    text = book.renumber(Answer(question="q", answer="乙[1]，甲[2]。", found=True, citations=[cite, again]))
    assert text == "乙[2]，甲[1]。" and [(c.doc, c.n) for c in book.items] == [("a", 1), ("b", 2)]


class _Passes:
    name = "passes"

    def run(self, question, parts, hits, *, documents=()):
        return None


class _Streams:
    """Streams two pieces, then answers; ``run`` answers without streaming."""

    name = "streams"

    def __init__(self) -> None:
        self.documents = None

    def run(self, question, parts, hits, *, documents=()):
        self.documents = documents
        return Answer(question=question, answer="甲。乙。", found=True, composer=self.name)

    def stream(self, question, parts, hits, *, documents=()):
        yield {"type": "delta", "text": "甲。"}
        yield {"type": "delta", "text": "乙。"}
        return self.run(question, parts, hits, documents=documents)


def test_the_chain_answers_with_the_first_composer_that_answers(world):
    *_, analyzer, _ = world
    parts = analyzer.analyze("市里有多少只大熊猫？")
    streams = _Streams()
    chain = ComposerChain((_Passes(), streams))
    assert isinstance(chain, Composer)
    answer = chain.run("市里有多少只大熊猫？", parts, [[]], documents=[("d1",)])
    assert answer.composer == "streams" and streams.documents == [("d1",)]
    events = chain.stream("市里有多少只大熊猫？", parts, [[]])
    deltas = []
    try:
        while True:
            deltas.append(next(events)["text"])
    except StopIteration as done:
        assert done.value.composer == "streams"
    assert deltas == ["甲。", "乙。"]
    nobody = ComposerChain((_Passes(),)).run("市里有多少只大熊猫？", parts, [[]])
    assert not nobody.found and nobody.composer == "none" and "大熊猫" in nobody.answer


def test_commitments_composer_passes_what_is_not_a_listing_question(world, synthetic_docs):
    *_, analyzer, _ = world
    lister = CommitmentComposer(CommitmentExtractor().run(synthetic_docs))
    question = "2024年城镇新增就业目标是多少？"
    assert lister.run(question, analyzer.analyze(question), []) is None
    listing = "明年就业方面有哪些目标？"
    answer = lister.run(listing, analyzer.analyze(listing), [])
    assert answer is not None and answer.composer == "commitments" and answer.citations


_REPORT = """标题：白鹭市2024年政府工作报告

第一部分 2023年工作回顾
过去一年，全市地区生产总值达到860亿元，增长5.2%，城乡居民人均可支配收入达到3.1万元。
"""


def _composer_over(folder, text: str) -> tuple[ExtractiveComposer, list]:
    from rag.ingest.corpus import CorpusLoader

    folder.mkdir()
    (folder / "001_bailu.txt").write_text(text, "utf-8")
    docs = CorpusLoader(folder).load()
    units = SentenceChunker().run(docs)
    return ExtractiveComposer(docs, units, TermWeights(units), Lexicon.default(), refusal_threshold=0.35), units


def test_windows_are_cut_once_per_unit_and_each_index_cuts_its_own(tmp_path):
    """The candidate windows of a unit are kept by its composer; a composer over a re-indexed,
    edited report (same unit ids, other clauses) cuts the new text, never the old windows."""
    old, old_units = _composer_over(tmp_path / "old", _REPORT)
    new, new_units = _composer_over(tmp_path / "new", _REPORT.replace("，增长5.2%，", "、增长5.2%、"))
    u_old = next(u for u in old_units if "860亿元" in u.text)
    u_new = next(u for u in new_units if "860亿元" in u.text)
    assert u_old.id == u_new.id
    first = old.cutter.spans(u_old)
    assert first == tuple(old.cutter.clause_runs(u_old)) and old.cutter.spans(u_old) is first  # cut once, kept
    assert new.cutter.spans(u_new) == tuple(new.cutter.clause_runs(u_new)) != first
    text = new.docs[u_new.doc_id].text
    assert any("增长5.2%、城乡" in text[a:b] for a, b in new.cutter.spans(u_new))  # windows of the edited text


def test_units_figure_in_a_measure_is_read_once_and_per_index(tmp_path):
    """Retrieval's measure prior reads each candidate once per measure and keeps the answer; an
    index over an edited report reads its own texts."""
    import numpy as np

    from rag.answer.retrieval import UnitFeatures
    from rag.genre.text import has_figure_in

    def features(folder, text):
        composer, units = _composer_over(folder, text)
        return UnitFeatures(units, Lexicon.default(), list(composer.docs.values())), units

    old, units = features(tmp_path / "old", _REPORT)
    new, new_units = features(tmp_path / "new", _REPORT.replace("860亿元", "八百多亿"))
    ids = np.arange(len(units))
    for measure in ("亿元", "%", "万元", "公里"):
        expected = [has_figure_in(u.text, measure) for u in units]
        assert old.figure_in(measure, ids[::-1]).tolist() == expected[::-1]
        assert old.figure_in(measure, ids).tolist() == expected  # kept, and the same
    assert new.figure_in("亿元", ids).tolist() == [has_figure_in(u.text, "亿元") for u in new_units]
    assert new.figure_in("亿元", ids).tolist() != old.figure_in("亿元", ids).tolist()


def test_training_data_reads_what_the_composer_answers(world):
    """The learned scorer's training data (rag/evaluation/window_data.py) judges the sentence the
    composer writes: ``framed`` is the answer without its marker, and the window ``answer_part``
    picks is one of the learned view's candidates."""
    docs, units, analyzer, extractive = world
    question = "2024年城镇新增就业目标是多少？"
    (part,) = analyzer.analyze(question)
    hits = _hits(units, part)
    window, support = extractive.answer_part(part, hits)
    assert window is not None and support >= extractive.refusal_threshold
    answer = extractive.run(question, [part], [hits])
    assert answer.answer.startswith(extractive.framed(window)) and answer.answer.endswith("[1]")
    assert "5万人" in extractive.framed(window)
    cut = {(w.unit.id, w.start, w.end) for w, _ in extractive.learned.candidates(part, hits)}
    assert (window.unit.id, window.start, window.end) in cut
