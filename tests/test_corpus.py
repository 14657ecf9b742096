from __future__ import annotations

import pytest

from conftest import SEED_DIR
from rag.corpus import CorpusError, CorpusLoader, clean_text, own_segments, parse_document


def _tiles(doc) -> str:
    pieces = [(s.start, s.heading_end) for s in doc.sections]
    pieces += [(a, b) for _, a, b in own_segments(doc)]
    pieces.sort()
    for (a1, b1), (a2, _) in zip(pieces, pieces[1:]):
        assert b1 == a2, f"gap or overlap at {b1}/{a2}"
    return "".join(doc.text[a:b] for a, b in pieces)


def test_seed_loses_nothing(seed_docs):
    (doc,) = seed_docs
    raw = (SEED_DIR / doc.source).read_text("utf-8")
    assert "[bookmark:" not in doc.text
    assert doc.text == clean_text(raw)
    assert _tiles(doc) == doc.text
    # every non-marker character of the file survives, in order
    assert "".join(doc.text.split()) == "".join(clean_text(raw).split())


def test_seed_tree_ids_titles_paths(seed_docs):
    (doc,) = seed_docs
    ids = [s.id for s in doc.sections]
    assert ids[:3] == ["1", "1.1", "1.2"]
    assert {"2", "2.1", "2.2", "2.2.1", "2.2.9", "3", "3.3", "3.4"} <= set(ids)
    target = doc.section("2.1")
    assert target.path == ("二、2023年工作总体要求和主要目标", "1. 主要预期目标")
    assert doc.section("3.3").title == "3. 持续改进作风"  # "3.持续改进作风" without a space
    assert doc.section("2.2").children == tuple(f"2.2.{i}" for i in range(1, 10))
    for s in doc.sections:
        assert doc.text[s.start:s.end].strip()
        assert s.start <= s.heading_end <= s.end


def test_offsets_point_into_cleaned_text(seed_docs):
    (doc,) = seed_docs
    s = doc.section("2.1")
    assert "地区生产总值增长7%" in doc.text[s.heading_end:s.end]


def test_synthetic_other_conventions(synthetic_docs):
    sample = next(d for d in synthetic_docs if d.id == "001_sample")
    assert sample.title == "青川市2024年政府工作报告"  # from the front-matter line
    titles = {s.id: s.title for s in sample.sections}
    assert titles["0"] == "前言"
    assert titles["1"] == "第一部分 2023年工作回顾"
    assert titles["1.1"] == "（一）着力稳增长"
    assert titles["1.1.2"] == "二是提振消费"
    assert titles["2.1.1"] == "一是稳定投资"
    assert titles["3"] == "第三部分 加强政府自身建设"
    assert sample.section("1.1.3").path[-2:] == ("（一）着力稳增长", "三是稳住外贸")
    # an inline heading's sentence is its title; the rest of the line is body
    s = sample.section("2.2")
    assert sample.text[s.heading_end:s.end].startswith("确保新增公办学位8000个")
    for doc in synthetic_docs:
        assert _tiles(doc) == doc.text


def test_plain_text_without_headings(synthetic_docs):
    plain = next(d for d in synthetic_docs if d.id == "002_plain")
    assert [s.id for s in plain.sections] == ["0"]
    assert plain.sections[0].end == len(plain.text)


@pytest.mark.parametrize(
    "text",
    ["", "只有一行", "一、\n二、标题\n", "（一）甲。一是乙，二是丙。\n", "\n\n1.\n1.1\n3.5万人\n", "# 标题\n正文\n## 小节\n内容"],
)
def test_edge_cases_tile(text):
    doc = parse_document(text, doc_id="x")
    assert _tiles(doc) == doc.text


def test_numbers_are_not_headings():
    doc = parse_document("一、总体\n3.5万人参加。\n2023年目标如下。\n", doc_id="x")
    assert [s.id for s in doc.sections] == ["1"]


def test_markdown_title_and_front_matter():
    doc = parse_document("---\ntitle: 测试报告\nid: demo\n---\n# 一级\n正文\n", doc_id="file")
    assert (doc.id, doc.title) == ("demo", "测试报告")
    assert doc.sections[0].title == "一级"


def test_markdown_headings_nest_by_level():
    text = ("# 某县2024年政府工作报告\n各位代表：\n## 一、2023年工作回顾\n回顾。\n### （一）工业\n工业。\n"
            "（1）细项\n细项。\n### （二）农业\n农业。\n## 二、2024年重点工作\n### （一）工业\n计划。\n")
    doc = parse_document(text, doc_id="x")
    got = {s.id: (s.title, s.parent) for s in doc.sections}
    assert got == {
        "1": ("某县2024年政府工作报告", None),
        "1.1": ("一、2023年工作回顾", "1"),
        "1.1.1": ("（一）工业", "1.1"),
        "1.1.1.1": ("（1）细项", "1.1.1"),  # a numbered line without ``#`` nests inside the ``#`` heading
        "1.1.2": ("（二）农业", "1.1"),  # a ``###`` closes the plain numbering opened under the last one
        "1.2": ("二、2024年重点工作", "1"),
        "1.2.1": ("（一）工业", "1.2"),
    }
    assert _tiles(doc) == doc.text == text.replace("### ", "").replace("## ", "").replace("# ", "")  # markers are structure


def test_markdown_report_title_as_root_is_neither_review_nor_plan():
    from rag.genre.lexicon import Lexicon

    lexicon = Lexicon.default()
    doc = parse_document("# 某县2024年政府工作报告\n——2024年1月5日\n## 一、2023年工作回顾\n### （一）工业\n"
                         "工业。\n## 二、2024年重点工作\n### （一）工业\n计划。\n", doc_id="x")
    periods = {s.id: lexicon.section_period(s.path, 2024) for s in doc.sections}
    assert [(p.scope, p.label) for p in periods.values()] == [
        (None, "2024年"), ("review", "2023年"), ("review", "2023年"), ("plan", "2024年"), ("plan", "2024年")]
    assert [lexicon.section_scope(s.path, 2024) for s in doc.sections] == [None, "review", "review", "plan", "plan"]


def test_invalid_utf8_names_file_and_offset(tmp_path):
    (tmp_path / "bad.txt").write_bytes("一、标题\n".encode() + b"\xff\xfe")
    with pytest.raises(CorpusError) as err:  # the only file is unreadable: no report at all
        CorpusLoader(tmp_path).load()
    assert "bad.txt" in str(err.value) and "13" in str(err.value)
    (tmp_path / "good.txt").write_text("一、标题\n正文。\n", "utf-8")
    got = CorpusLoader(tmp_path).read()  # with another report beside it, it is named and skipped
    assert [d.id for d in got.documents] == ["good"]
    assert [s.source for s in got.skipped] == ["bad.txt"] and "byte offset 13" in got.skipped[0].reason


def test_empty_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(CorpusError, match="No usable report files"):
        CorpusLoader(tmp_path).load()
    with pytest.raises(CorpusError, match="not found"):
        CorpusLoader(tmp_path / "missing").load()


def test_fingerprint_changes_with_content(tmp_path):
    (tmp_path / "a.txt").write_text("一、甲\n正文\n", "utf-8")
    loader = CorpusLoader(tmp_path)
    before = loader.fingerprint()
    (tmp_path / "a.txt").write_text("一、甲\n正文改\n", "utf-8")
    assert loader.fingerprint() != before


def test_plan_year_is_the_latest_year_a_heading_names(seed_docs, synthetic_docs):
    from rag.corpus import plan_year

    assert plan_year(seed_docs[0]) == 2023
    by_id = {d.id: d for d in synthetic_docs}
    assert plan_year(by_id["001_sample"]) == 2024
    assert plan_year(by_id["002_plain"]) is None
