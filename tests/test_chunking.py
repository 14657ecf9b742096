from __future__ import annotations

from rag.ingest.chunking import SentenceChunker, count_tokens


def test_units_are_verbatim_and_within_sections(seed_docs):
    units = SentenceChunker().run(seed_docs)
    doc = seed_docs[0]
    spans = {s.id: (s.start, s.end) for s in doc.sections}
    for u in units:
        assert doc.text[u.start:u.end] == u.text
        a, b = spans[u.section_id]
        assert a <= u.start < u.end <= b
        assert u.section_path == doc.section(u.section_id).path
        assert u.tokens == count_tokens(u.text) > 0


def test_units_cover_all_text_once(seed_docs, synthetic_docs):
    from rag.ingest.corpus import own_segments

    for docs in (seed_docs, synthetic_docs):
        units = SentenceChunker().run(docs)
        for doc in docs:
            own = [(a, b) for _, a, b in own_segments(doc)] + [(s.start, s.heading_end) for s in doc.sections]
            text = "".join(doc.text[a:b] for a, b in sorted(own))
            covered = "".join(u.text for u in units if u.doc_id == doc.id)
            assert "".join(text.split()) == "".join(covered.split())
            ends = [(u.start, u.end) for u in units if u.doc_id == doc.id]
            assert all(b1 <= a2 for (_, b1), (a2, _) in zip(ends, ends[1:])), "units overlap"


def test_long_sentences_split_at_semicolons_then_clauses():
    from rag.ingest.corpus import parse_document

    clause = "推进重点项目建设并完成年度投资任务，"
    text = "一、总体\n" + "甲" * 10 + "；" + clause * 12 + "。\n"
    units = SentenceChunker(max_chars=60).run([parse_document(text, doc_id="d")])[1:]  # [0] is the heading
    assert len(units) > 2
    assert all(len(u.text) <= 60 for u in units)
    assert units[0].text.endswith("；")


def test_each_target_line_is_its_own_unit(seed_docs):
    units = [u for u in SentenceChunker().run(seed_docs) if u.section_id == "2.1"]
    assert "地区生产总值增长7%" in [u.text for u in units]


def test_headings_are_units_of_their_section(seed_docs):
    units = SentenceChunker().run(seed_docs)
    heading = next(u for u in units if u.section_id == "3" and u.text.startswith("三、"))
    assert heading.text == "三、加强政府自身建设"


def test_units_of_a_markdown_report_quote_the_cleaned_text():
    from rag.ingest.corpus import parse_document

    doc = parse_document("**一、2024年工作回顾**\n\n**主要指标保持前列。**地区生产总值增长6%。\n\n<!-- 图片说明 -->\n"
                         "**二、2025年工作安排**\n\n今年增长5%左右。\n", doc_id="d")
    units = SentenceChunker().run([doc])
    texts = [u.text for u in units]
    assert "主要指标保持前列。" in texts and all("*" not in t and "<!--" not in t for t in texts)
    assert all(doc.text[u.start:u.end] == u.text for u in units)
