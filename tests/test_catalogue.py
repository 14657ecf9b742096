"""The catalogue: place, level, plan year, title and delivery date read from a report's text,
with front matter overriding, and kept through the index."""

from __future__ import annotations

import pytest

from rag.core.types import Report
from rag.ingest.catalogue import ReportCatalogue
from rag.ingest.corpus import CorpusError, parse_document, plan_year
from rag.stores.index import _doc_from_json, _doc_to_json

TITLED = """江城市2023年政府工作报告
——2023年1月12日在江城市第十六届人民代表大会第二次会议上
各位代表：
现在，我代表江城市人民政府，向大会报告工作，请予审议。
一、2022年工作回顾
全年地区生产总值增长4.8%。
二、2023年工作安排
地区生产总值增长6%左右。
"""


def test_seed_without_title_line_is_jiaozuo_2023(seed_docs):
    (doc,) = seed_docs
    assert doc.report == Report(region="焦作市", level="市", year=2023, title="焦作市2023年政府工作报告",
                                delivered=None)
    assert doc.title == "焦作市2023年政府工作报告"  # not its first heading
    assert plan_year(doc) == 2023


def test_titled_report_reads_title_delivery_line_and_plan_headings():
    doc = parse_document(TITLED, doc_id="jc")
    assert doc.report == Report(region="江城市", level="市", year=2023, title="江城市2023年政府工作报告",
                                delivered="2023年1月12日")
    assert doc.title == "江城市2023年政府工作报告"


def test_place_from_delegation_or_congress_line_when_the_title_names_none():
    text = TITLED.replace("江城市2023年政府工作报告\n", "政府工作报告\n")
    assert parse_document(text, doc_id="a").report.region == "江城市"
    county = "各位代表：\n我代表云梦县人民政府向大会报告工作。\n一、2023年工作回顾\n二、2024年主要目标\n"
    report = parse_document(county, doc_id="b").report
    assert (report.region, report.level, report.year) == ("云梦县", "县", 2024)
    assert report.title == "云梦县2024年政府工作报告"


def test_markdown_title_heading_and_no_plan_year_heading():
    md = "# 河西县政府工作报告\n\n## 一、2023年工作回顾\n全县。\n## 二、今年工作安排\n| 指标 | 目标 |\n|---|---|\n"
    report = parse_document(md, doc_id="c").report
    assert (report.region, report.level, report.year) == ("河西县", "县", 2024)  # the year after the review


def test_front_matter_overrides_the_text(synthetic_docs):
    text = "---\nregion: 临川市\nyear: 2025\nlevel: 市\ntitle: 临川市政府工作报告（2025年）\n---\n" + TITLED
    doc = parse_document(text, doc_id="d")
    assert doc.report == Report(region="临川市", level="市", year=2025, title="临川市政府工作报告（2025年）",
                                delivered="2023年1月12日")
    assert doc.title == "临川市政府工作报告（2025年）"
    sample = next(d for d in synthetic_docs if d.id == "001_sample")  # a single 标题： line
    assert (sample.report.region, sample.report.year, sample.report.title) == ("青川市", 2024, "青川市2024年政府工作报告")


def test_bad_front_matter_year_is_a_bilingual_error():
    with pytest.raises(CorpusError, match="year.*four-digit"):
        parse_document("---\nyear: 去年\n---\n正文", doc_id="e", source="e.md")


def test_national_report_and_text_without_any_place():
    national = "各位代表：\n我代表国务院，向大会报告政府工作。\n一、2023年工作回顾\n二、2024年政府工作任务\n"
    report = parse_document(national, doc_id="f").report
    assert (report.region, report.level, report.year) == ("全国", "国务院", 2024)
    blank = parse_document("全市共有公园42个。", doc_id="g").report
    assert (blank.region, blank.level, blank.year) == ("", "", None)


def test_most_named_place_ignores_collective_and_compound_words():
    cat = ReportCatalogue()
    text = "全市推进建设市级重点项目。平安临川建设。临川港扩能。临川市新区。全省第一。县域经济。"
    assert cat.place_names.most_named(text) == "临川市"
    assert cat.place_names.stem("临川市") == "临川" and cat.place_names.level_of("临川市") == "市"


def test_report_survives_the_index_round_trip():
    doc = parse_document(TITLED, doc_id="jc")
    assert _doc_from_json(_doc_to_json(doc)).report == doc.report


def test_province_that_never_writes_its_ending():
    text = ("各位代表：\n现在，我代表省人民政府，向大会报告工作。\n1. 2023年工作回顾\n"
            "南岭经济回升向好，全省上下。南岭高铁建成，设区市全覆盖。\n2. 2024年工作安排\n南岭将加快发展。\n")
    report = parse_document(text, doc_id="h").report
    assert (report.region, report.level, report.year) == ("南岭省", "省", 2024)


def test_a_files_declared_title_counts_only_when_it_reads_as_a_report_title():
    """A web page's <title> or a Word file's properties often name the site: the text decides then."""
    text = "我代表临水市人民政府，向大会报告工作，请予审议。\n一、2024年工作回顾\n临水市地区生产总值增长5%。\n"
    site = parse_document(text, doc_id="a", title="白云市人民政府门户网站", front_matter=False)
    assert (site.report.region, site.title) == ("临水市", site.report.title)
    declared = parse_document(text, doc_id="b", title="临水市2025年政府工作报告", front_matter=False)
    assert (declared.report.title, declared.report.year) == ("临水市2025年政府工作报告", 2025)
