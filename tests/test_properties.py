"""Property tests: for any Unicode input the loader and chunker neither lose nor duplicate
text, and every citation the composer returns is verbatim at its span."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.ingest.chunking import SentenceChunker
from rag.ingest.corpus import clean_text, own_segments, parse_document, split_front_matter
from rag.ingest.loaders.markup import strip_markup

#: Characters some Markdown/HTML markup is made of; text without them has none to remove.
_MARKUP_CHARS = re.compile(r"[*#<>|&\[\]!_+\-]")

#: The pieces reports are made of (heading markers of every style, enumerations, sentence and
#: clause punctuation, line breaks, Word debris), mixed with arbitrary Unicode.
FRAGMENTS = [
    "一、", "二、", "十二、", "（一）", "（二）", "(三)", "1.", "2．", "3、", "12.", "（1）", "(2)", "第一部分", "第二章",
    "第3节", "# ", "## ", "###\t", "一是", "二是", "三是", "四是", "。", "；", ";", "，", ",", "、", "：", ":", "！",
    "？", "?", "”", "」", "）", "\n", "\n\n", " ", "\u3000", "\t", "\r\n", "\r", "\ufeff", "[bookmark: _Toc1]",
    "---\n", "id: x\n", "title: 报告\n", "标题：", "各位代表：", "发展经济", "GDP增长5%左右", "城镇新增就业6万人",
    "持续改进作风", "x" * 45, "稳" * 130,
]
report_text = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=12), st.text(alphabet="一二三是、。\n（）1.", max_size=8)),
    max_size=80,
).map("".join)

PROPERTY = settings(max_examples=1000, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _tiles(doc) -> list[tuple[int, int]]:
    """Heading spans plus own segments, in order."""
    heads = [(s.start, s.heading_end) for s in doc.sections if s.heading_end > s.start]
    return sorted(heads + [(a, b) for _, a, b in own_segments(doc)])


@PROPERTY
@given(raw=report_text)
def test_loader_keeps_every_character_once(raw):
    doc = parse_document(raw, doc_id="d")
    cleaned = clean_text(raw)
    _, body = split_front_matter(cleaned)
    # only front matter may be taken off the cleaned text, and only from its start; then only markup
    assert cleaned.endswith(body)
    if body != cleaned:
        assert cleaned.startswith("---\n") or re.match(r"(?:title|标题)[ \t]*[:：]", cleaned, re.IGNORECASE)
    assert doc.text == strip_markup(body).text
    if not _MARKUP_CHARS.search(body):  # text with no markup character keeps every character
        assert doc.text == body
    if not doc.sections:
        assert not doc.text.strip()
        return
    tiles = _tiles(doc)
    assert tiles[0][0] == 0 and tiles[-1][1] == len(doc.text)
    for (_, end), (start, _) in zip(tiles, tiles[1:]):
        assert start == end, (tiles, doc.text)  # no gap (lost text), no overlap (duplicated text)
    ids = [s.id for s in doc.sections]
    assert len(ids) == len(set(ids))
    by_id = {s.id: s for s in doc.sections}
    for s in doc.sections:
        assert 0 <= s.start <= s.heading_end <= s.end <= len(doc.text)
        for c in s.children:
            assert by_id[c].parent == s.id and s.start <= by_id[c].start and by_id[c].end <= s.end


@PROPERTY
@given(raw=report_text, max_chars=st.integers(4, 200), min_chars=st.integers(0, 12))
def test_chunker_units_are_verbatim_disjoint_and_cover_all_text(raw, max_chars, min_chars):
    doc = parse_document(raw, doc_id="d")
    units = SentenceChunker(max_chars=max_chars, min_chars=min_chars).run([doc])
    sections = {s.id: s for s in doc.sections}
    covered = [0] * len(doc.text)
    for u in units:
        assert doc.text[u.start:u.end] == u.text and u.end > u.start
        sec = sections[u.section_id]
        assert sec.start <= u.start and u.end <= sec.end
        for i in range(u.start, u.end):
            covered[i] += 1
    assert [u.start for u in units] == sorted(u.start for u in units)
    assert max(covered, default=0) <= 1, "overlapping units"
    lost = [i for i, c in enumerate(doc.text) if not covered[i] and c not in " \t\u3000\n"]
    assert not lost, f"text in no unit: {[doc.text[i] for i in lost]}"


def _questions(pipeline) -> st.SearchStrategy[str]:
    """Pieces of the report itself (so that answers are found and cite), question words, noise."""
    text = pipeline.store.documents[0].text
    slices = st.tuples(st.integers(0, len(text) - 1), st.integers(2, 30)).map(lambda p: text[p[0]:p[0] + p[1]])
    words = st.sampled_from(["今年", "过去五年", "多少", "目标", "怎么", "哪些", "？", "那", "呢", "GDP", "增长", "就业",
                             "<img src=x onerror=alert(1)>", "**", "[1]", " "])
    return st.lists(st.one_of(slices, words, st.text(max_size=6)), min_size=1, max_size=5).map("".join)


def test_composer_quotes_are_verbatim(pipeline):
    docs = {d.id: d for d in pipeline.store.documents}
    seen = {"answers": 0, "found": 0}

    @settings(max_examples=40, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(question=_questions(pipeline), previous=st.lists(_questions(pipeline), max_size=2),
           top_k=st.integers(1, 20), retriever=st.sampled_from(["hybrid", "bm25", "dense"]))
    def check(question, previous, top_k, retriever):
        answer = pipeline.ask(question, top_k, history=previous, retriever=retriever)
        seen["answers"] += 1
        seen["found"] += answer.found
        for c in answer.citations:
            assert docs[c.doc].text[c.start:c.end] == c.quote, (question, c)

    check()
    assert seen["found"] > 0  # the strategy does reach answers with citations
