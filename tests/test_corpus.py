from __future__ import annotations

import pytest
from conftest import SEED_DIR

from rag.ingest.corpus import CorpusError, CorpusLoader, clean_text, own_segments, parse_document


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
    from rag.ingest.corpus import plan_year

    assert plan_year(seed_docs[0]) == 2023
    by_id = {d.id: d for d in synthetic_docs}
    assert plan_year(by_id["001_sample"]) == 2024
    assert plan_year(by_id["002_plain"]) is None


# ---- part headings in every form real reports use (made-up texts) ---------------------------

def _tree(text: str) -> dict[str, tuple[str, str | None, str]]:
    doc = parse_document(text, doc_id="x")
    assert _tiles(doc) == doc.text
    return {s.id: (s.title, s.parent, s.part) for s in doc.sections if s.id != "0"}


def test_bold_markdown_parts_are_parts_and_their_markers_leave_the_text():
    text = ("各位代表：\n\n**一、2024年工作回顾**\n\n回顾正文。\n\n**（一）工业稳中有进**\n\n工业正文。\n\n"
            "**二、2025年工作安排**\n\n**（一）扩大有效投资**\n\n**项目建设。**新开工项目100个。\n\n"
            "**三、全面加强政府自身建设**\n\n自身建设正文。\n")
    doc = parse_document(text, doc_id="x")
    assert "*" not in doc.text
    assert {s.id: (s.title, s.parent, s.part) for s in doc.sections if s.id != "0"} == {
        "1": ("一、2024年工作回顾", None, "review"), "1.1": ("（一）工业稳中有进", "1", "review"),
        "2": ("二、2025年工作安排", None, "plan"), "2.1": ("（一）扩大有效投资", "2", "plan"),
        "3": ("三、全面加强政府自身建设", None, "government")}
    s = doc.section("2.1")
    assert doc.text[s.heading_end:s.end].strip() == "项目建设。新开工项目100个。"  # a bold lead phrase is text


def test_plain_and_chapter_parts():
    plain = _tree("一、2023年工作回顾\n正文。\n（一）农业\n正文。\n二、2024年重点工作\n（一）工业\n正文。\n")
    assert [(k, v[1]) for k, v in plain.items()] == [("1", None), ("1.1", "1"), ("2", None), ("2.1", "2")]
    chapters = _tree("第一部分 2023年工作回顾\n一、农业\n正文。\n第二部分 2024年主要任务\n一、工业\n正文。\n")
    assert chapters["1"][2] == "review" and chapters["2"][2] == "plan" and chapters["2.1"][1] == "2"


def test_unnumbered_part_lines_bold_or_plain_head_parts():
    got = _tree("各位代表：\n**2024年工作回顾**\n过去一年，我们做了以下工作。\n（一）工业\n正文。\n"
                "2025年工作安排\n重点抓好以下工作。\n一、扩大内需\n正文。\n（一）消费\n正文。\n二、深化改革\n正文。\n"
                "**全面加强政府自身建设**\n正文。\n名词解释\n1. 两新：新基建和新型城镇化。\n")
    assert {k: v for k, v in got.items() if "." not in k} == {
        "1": ("2024年工作回顾", None, "review"), "2": ("2025年工作安排", None, "plan"),
        "3": ("全面加强政府自身建设", None, "government"), "4": ("名词解释", None, "glossary")}
    assert got["2.1"][:2] == ("一、扩大内需", "2") and got["2.1.1"][1] == "2.1" and got["2.2"][1] == "2"
    assert got["4.1"][1] == "4"


def test_a_sentence_or_a_bold_sentence_is_no_part_heading():
    got = _tree("**——经济运行稳中向好。**\n一年来，我们主要做了以下工作\n**政府工作报告**\n一、总体要求\n正文。\n")
    assert list(got) == ["1"]


def test_glossary_after_numbered_parts_is_a_part_of_its_own():
    got = _tree("一、2023年工作回顾\n正文。\n二、2024年工作安排\n（一）工业\n正文。\n三、加强政府自身建设\n正文。\n"
                "名词解释：\n1. 六稳：稳就业等。\n2. 六保：保就业等。\n")
    assert got["4"] == ("名词解释：", None, "glossary") and got["4.2"][1] == "4"


def test_appendix_items_restart_numbering_inside_the_appendix():
    got = _tree("一、2023年工作回顾\n正文。\n二、2024年工作安排\n正文。\n2024年十件民生实事\n一、交通出行\n正文。\n"
                "二、教育\n正文。\n")
    assert got["3"] == ("2024年十件民生实事", None, "appendix") and got["3.1"][1] == "3" and got["3.2"][1] == "3"


def test_a_list_of_numbered_items_closes_before_the_next_higher_numbering():
    got = _tree("2024年工作安排\n今年要办好十件实事。\n1. 建学校\n正文。\n2. 修道路\n正文。\n我们将重点抓好两方面工作。\n"
                "一、坚持工业强市\n正文。\n二、坚持以人为本\n正文。\n")
    assert got["1.3"][:2] == ("一、坚持工业强市", "1") and got["1.4"][1] == "1"


def test_a_part_heading_split_by_a_page_break_is_one_heading():
    got = _tree("一、2020年和“十三五”\n\n工作回顾\n（一）疫情防控\n正文。\n二、2021年主要工作\n正文。\n")
    assert got["1"] == ("一、2020年和“十三五”工作回顾", None, "review") and got["1.1"][1] == "1"
    before = _tree("“十三五”发展成就\n和2020年工作回顾\n正文。\n2021年工作安排\n正文。\n")
    assert before["1"][0] == "“十三五”发展成就和2020年工作回顾" and before["2"][2] == "plan"


def test_plan_year_reads_the_plan_part():
    from rag.ingest.corpus import part_heads, parts_plan_year, plan_year

    doc = parse_document("一、过去五年工作回顾\n正文。\n二、今后五年目标和2035年远景\n正文。\n三、2023年工作安排\n正文。\n",
                         doc_id="x")
    assert [(s.id, s.part) for s in part_heads(doc)] == [("1", "review"), ("2", "plan"), ("3", "plan")]
    assert parts_plan_year(doc) == 2023  # the plan part's year, not the long-range goal's
    reviewed = parse_document("**2022年工作回顾**\n正文。\n**今后五年目标任务**\n正文。\n", doc_id="y")
    assert parts_plan_year(reviewed) == 2023  # the year after the year reviewed
    assert plan_year(reviewed) == (reviewed.report.year or 2023)  # the catalogue's entry comes first


# ---- markup is structure, never text -------------------------------------------------------

MARKED = ("---\ntitle: 江城市2024年政府工作报告\nsource: https://example.gov.cn/a.html\n---\n"
          "<!-- 市长作政府工作报告。记者 摄 -->\n\n# 政府工作报告\n\n> 各位代表：\n\n"
          "## 一、2023年工作回顾\n\n全市地区生产总值**增长6%**，城镇新增就业5万人[^1]。\n\n"
          "| 指标 | 目标 |\n| --- | --- |\n| **地区生产总值增长** | 6%左右 |\n\n"
          "- 建成学校10所&mdash;全部投用\n\n---\n\n[^1]: 城镇新增就业：指新增就业人数。\n")


def test_markup_leaves_the_text_and_keeps_every_character_of_the_report():
    doc = parse_document(MARKED, doc_id="x")
    for marker in ("**", "<!--", "# ", "> ", "| ", "[^1]", "&mdash;", "\n- ", "\n---"):
        assert marker not in doc.text, marker
    assert "市长作政府工作报告" not in doc.text  # a photo caption is a comment, not report text
    for kept in ("全市地区生产总值增长6%，城镇新增就业5万人。", "指标 目标", "地区生产总值增长 6%左右",
                 "建成学校10所—全部投用", "城镇新增就业：指新增就业人数。", "各位代表："):
        assert kept in doc.text, kept
    assert [s.title for s in doc.sections] == ["政府工作报告", "一、2023年工作回顾"]
    assert doc.section("1.1").parent == "1" and doc.section("1.1").part == "review"


def test_quotes_of_marked_up_text_are_exact(tmp_path):
    from rag.ingest.chunking import SentenceChunker

    doc = parse_document(MARKED, doc_id="x")
    units = SentenceChunker().run([doc])
    assert units and all(doc.text[u.start:u.end] == u.text and "*" not in u.text for u in units)
    start = doc.text.index("增长6%")
    assert doc.text[start:start + 4] == "增长6%"


def test_plain_text_keeps_half_width_punctuation_and_what_precedes_the_report():
    text = "关于政府工作报告的决议\n会议同意这个报告。\n一、2023年工作回顾\n增长6%,好于预期;就业稳定.\n二、2024年目标\n"
    doc = parse_document(text, doc_id="x")
    assert doc.text == text and doc.section("0").title == "前言"


# ---- report ids survive folders ----------------------------------------------------------

def test_two_places_2023_reports_both_load_with_path_ids(tmp_path):
    for place in ("江城市", "临川市"):
        folder = tmp_path / "其他地市" / place
        folder.mkdir(parents=True)
        (folder / "2023.md").write_text(f"**一、2022年工作回顾**\n{place}正文。\n**二、2023年工作安排**\n正文。\n", "utf-8")
    (tmp_path / "README.md").write_text("# A collection\n", "utf-8")
    (tmp_path / "000_flat.txt").write_text("一、总体要求\n正文。\n", "utf-8")
    got = CorpusLoader(tmp_path).read()
    assert sorted(d.id for d in got.documents) == ["000_flat", "其他地市/临川市/2023", "其他地市/江城市/2023"]
    assert [(s.source, "not a report" in s.reason) for s in got.skipped] == [("README.md", True)]
    assert {d.source for d in got.documents} >= {"其他地市/江城市/2023.md"}


def test_ids_keep_only_characters_a_url_and_a_run_file_can_carry(tmp_path):
    from rag.ingest.corpus import doc_id_for

    assert doc_id_for(tmp_path / "a b" / "x#1.md", tmp_path) == "a_b/x_1"
    assert doc_id_for(tmp_path / "主要城市" / "南昌市" / "2021-10.md", tmp_path) == "主要城市/南昌市/2021-10"
