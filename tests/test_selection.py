"""Report selection: the place and year a question names restrict it to matching reports."""

from __future__ import annotations

import pytest

from rag.answer.selection import ReportSelector, UnknownReport, YearWords
from rag.ingest.corpus import parse_document

WORDS = YearWords(this_year=("今年", "明年"), last_year=("去年",))


def _report(place: str, year: int, doc_id: str, body: str = "地区生产总值增长6%。") -> object:
    return parse_document(f"{place}{year}年政府工作报告\n一、{year - 1}年工作回顾\n{body}\n二、{year}年工作安排\n增长。\n",
                          doc_id=doc_id)


@pytest.fixture(scope="module")
def selector():
    docs = [_report("江城市", 2022, "jc22"), _report("江城市", 2023, "jc23", "开通至北京的高铁。"),
            _report("云溪县", 2024, "yx")]
    return ReportSelector(docs, WORDS)


@pytest.mark.parametrize(("question", "intent", "expected"), [
    ("江城2022年定的GDP增长目标是多少？", "plan", ("jc22",)),
    ("江城2022年GDP实际增长了多少？", "review", ("jc23",)),  # year N's outcome: the N+1 report
    ("江城2022年GDP增长多少？", None, ("jc22", "jc23")),
    ("江城市今年GDP目标？", "plan", ("jc23",)),  # 今年: the place's newest report
    ("江城去年定的目标哪些没完成？", "plan", ("jc22",)),  # 去年's targets: the report before it
    ("江城去年GDP增长了多少？", "review", ("jc23",)),  # 去年's outcome: the newest report's review
    ("云溪县的就业目标", "plan", ("yx",)),
    ("2023年报告里的GDP目标", None, ("jc23",)),  # a year naming a report
    ("江城2023年的就业目标比2022年高还是低？", None, ("jc22", "jc23")),  # two years: both reports
    ("What was Jiangcheng's GDP growth target for 2022?", "plan", ("jc22",)),  # pinyin
    ("How many new school places will Yunxi County add?", None, ("yx",)),
])
def test_named_place_and_year_restrict_the_reports(selector, question, intent, expected):
    assert selector.run(question, intent).doc_ids == expected


def test_no_place_named_leaves_every_report(selector):
    selection = selector.run("过去五年城镇新增就业多少？")
    assert selection.doc_ids is None and not selection.unknown
    assert selector.run("到北京的高铁开通了吗？").unknown == ()  # where a line a report builds goes: its topic


@pytest.mark.parametrize("question", ["北京的高铁开通了吗？", "北京今年GDP要涨多少", "北京的GDP增长目标是多少"])
def test_a_place_a_report_only_mentions_is_not_a_report(selector, question):
    """江城's report names 北京, but no report is 北京's: the question is not about 江城."""
    assert selector.run(question).unknown == ("北京",)


def test_a_place_inside_a_reports_area_is_that_report():
    """A county a city's report writes with its ending lies in that city: its questions go to the
    city's report; a city of the same level that the report names does not."""
    docs = [_report("江城市", 2023, "jc23", "支持青石县、白沙县建设产业园，对接临海市，融入海州都市圈。")]
    selector = ReportSelector(docs, WORDS)
    for question in ("青石县今年建什么？", "白沙今年建什么？", "融入海州都市圈有哪些举措？"):
        assert selector.run(question).unknown == (), question
    for question in ("临海市今年GDP目标是多少？", "海州今年GDP目标是多少？"):
        assert selector.run(question).unknown != (), question


@pytest.mark.parametrize("question", ["临海市今年GDP目标是多少？", "杭州今年GDP增长目标", "青石县2023年的财政收入",
                                      "北京市今年GDP目标是多少？",  # a report mentions 北京, none is 北京市's
                                      "国务院2024年政府工作报告提出的GDP增长目标是多少？",
                                      "What is Shanghai's GDP growth target for 2024?"])
def test_a_place_no_report_covers_is_unknown(selector, question):
    selection = selector.run(question)
    assert selection.doc_ids == () and selection.unknown


def test_unknown_places_are_remembered_per_selector_and_question(monkeypatch):
    """Asked twice, the same answer (a fresh list each time); a selector over other reports, or
    the same question after the memory is full, is read afresh."""
    import rag.answer.places

    without = ReportSelector([_report("江城市", 2023, "jc23")], WORDS)
    with_beijing = ReportSelector([_report("江城市", 2023, "jc23", "开通至北京的高铁。")], WORDS)
    question = "到北京的高铁开通了吗？"
    first = without.unknown_places(question)
    assert first == ["北京"] and without.unknown_places(question) == first
    first.append("changed")
    assert without.unknown_places(question) == ["北京"]
    assert with_beijing.unknown_places(question) == [] and without.unknown_places(question) == ["北京"]
    monkeypatch.setattr(rag.answer.places, "_KEPT", 1)
    for q in ("杭州今年GDP增长目标", question, "青石县2023年的财政收入"):
        assert without.unknown_places(q) == without.place_reader._unknown_places(q)
        assert len(without.place_reader._unknown) <= 1 and len(without.place_reader._mentioned) <= 1


def test_words_ending_like_places_are_not_places(selector):
    for question in ("楼市今年啥态度？", "哪两个县开展试点？", "What revenue target is set for Longbai Group?",
                     "How many China-Europe Railway Express trains ran?"):
        assert selector.run(question).unknown == (), question


def test_api_filters_resolve_or_fail(selector):
    assert selector.resolve() is None
    assert selector.resolve(region="江城", year=2023) == ("jc23",)
    assert selector.resolve(documents=["yx", "jc22"]) == ("jc22", "yx")
    for bad in ({"documents": ["nope"]}, {"region": "临海市"}, {"year": 2019}):
        with pytest.raises(UnknownReport, match="江城市2022年政府工作报告"):
            selector.resolve(**bad)
    assert selector.label("jc23") == "江城市2023年政府工作报告"


@pytest.mark.parametrize(("question", "expected"), [
    ("What is Inner Mongolia's target for the surveyed urban unemployment rate?", "nm"),  # an atlas name
    ("By how much did rural residents' income grow in Guangxi in 2025?", "gx"),  # pinyin of the alias 广西
    ("What was the share of good air days in Qiandongnan's cities?", "qdn"),  # pinyin of 黔东南州's stem
])
def test_an_english_name_of_a_division_picks_its_report(question, expected):
    """A division goes by its alias's pinyin (Guangxi, not guangxizhuangzu) or by an English name
    that is no pinyin at all (rag/data/english.toml [english.places]); neither is an unknown place."""
    docs = [_report("内蒙古自治区", 2022, "nm"), _report("广西壮族自治区", 2026, "gx"),
            _report("黔东南苗族侗族自治州", 2025, "qdn"), _report("江城市", 2023, "jc23")]
    selection = ReportSelector(docs, WORDS).run(question)
    assert selection.doc_ids == (expected,) and not selection.unknown


def test_china_in_an_english_question_is_no_unknown_place(selector):
    """«China's total exports» is the country a province measures itself by, as «全国» is."""
    assert selector.run("What share of China's total exports does the province aim to keep?").unknown == ()


def test_things_are_no_place(selector):
    """«东西» (things) is tagged a place word by jieba; «东西会不会涨价» names no place."""
    assert selector.run("今年东西会不会涨价很厉害？").unknown == ()
