"""The catalogue's rules for real reports, one made-up text each: plan years from December
sessions and long-range goals, places from short self-names and the gazetteer, levels of 自治州,
盟 and 地区, and the front matter's source URL kept as provenance."""

from __future__ import annotations

import pytest

from rag.genre.gazetteer import default_gazetteer
from rag.ingest.corpus import parse_document
from rag.stores.index import _doc_from_json, _doc_to_json

SPEECH = "各位代表：\n现在，我代表{who}人民政府向大会报告工作，请予审议。\n"


def read(text: str):
    return parse_document(text, doc_id="report", source="report.md").report


def test_a_december_session_plans_the_next_year():
    text = ("政府工作报告\n——2022年12月26日在临江市第九届人民代表大会第三次会议上\n" + SPEECH.format(who="市")
            + "一、过去一年工作回顾\n成绩。\n二、今年工作安排\n安排。\n")
    report = read(text)
    assert (report.region, report.year, report.delivered) == ("临江市", 2023, "2022年12月26日")
    assert report.title == "临江市2023年政府工作报告"


def test_long_range_goals_are_not_the_plan_year():
    text = ("临江市政府工作报告\n" + SPEECH.format(who="临江市")
            + "二、2035年远景目标和“十四五”规划\n远景。\n三、2024年主要预期目标\n增长5%。\n四、2050年展望\n展望。\n")
    assert read(text).year == 2024


def test_a_review_heading_or_a_plan_sentence_gives_the_year_when_no_date_does():
    review = SPEECH.format(who="临江市") + "**一、2023年工作回顾**\n成绩。\n**二、今年工作安排**\n安排。\n"
    assert read(review).year == 2024
    phrase = SPEECH.format(who="临江市") + "一、攻坚克难，成绩显著\n做好2025年政府工作，意义重大。\n"
    assert read(phrase).year == 2025
    anniversary = SPEECH.format(who="临江市") + "今年是新中国成立75周年，做好工作意义重大。\n"
    assert read(anniversary).year == 2024
    period = SPEECH.format(who="临江市") + "今年是“十四五”规划收官之年。\n"
    assert read(period).year == 2025


def test_a_delivery_line_broken_across_lines_and_in_chinese_numerals():
    broken = "**政府工作报告**\n——2024年1月10日在临江市第十八届人民代表\n\n大会第三次会议上\n" + SPEECH.format(who="市")
    assert (read(broken).region, read(broken).year) == ("临江市", 2024)
    numerals = "二〇二三年一月十五日在临江市第十六届人民代表大会第一次会议上\n" + SPEECH.format(who="市")
    assert read(numerals).year == 2023


def test_a_placeless_title_is_only_a_hint():
    text = "---\ntitle: 2026年自治州政府工作报告\n---\n——2026年1月8日在克孜勒苏柯尔克孜自治州第十五届人民代表大会第五次会议上\n" \
           + SPEECH.format(who="自治州")
    report = read(text)
    assert (report.region, report.level, report.year) == ("克孜勒苏柯尔克孜自治州", "市", 2026)
    assert report.title == "克孜勒苏柯尔克孜自治州2026年政府工作报告"


def test_short_self_names_resolve_to_the_full_division():
    assert read("克州政府工作报告\n" + SPEECH.format(who="州")).region == "克孜勒苏柯尔克孜自治州"
    assert read("黔西南州政府工作报告（2021年3月29日 某某）\n" + SPEECH.format(who="州")).region \
        == "黔西南布依族苗族自治州"
    assert read("——2021年1月12日在州八届人大五次会议上\n" + SPEECH.format(who="州")
                + "黔西南经济回升，黔西南州全力以赴。兴义市发展，兴义市建设，兴义市改革。").region \
        == "黔西南布依族苗族自治州"  # the capital it names is not its place


def test_a_province_that_says_only_we_the_provincial_government_is_not_a_city_it_names():
    text = ("---\ntitle: 政府工作报告\n---\n" + SPEECH.format(who="省")
            + "一、2024年工作回顾\n河南经济回升向好。支持焦作、新乡、鹤壁加快发展，鹤壁建设，鹤壁改革。河南全省上下。海河治理。\n"
            "二、2025年工作安排\n河南将加快发展。\n")
    report = read(text)
    assert (report.region, report.level, report.year) == ("河南省", "省", 2025)


def test_the_governments_term_is_no_part_of_its_name():
    text = "各位代表：\n我代表市第十六届人民政府向大会报告工作。\n乌鲁木齐发展，乌鲁木齐建设。新疆维吾尔自治区。新疆，新疆，新疆。\n"
    assert read(text).region == "乌鲁木齐市"  # 市: a city, not the region it names more


def test_a_nickname_inside_the_division_name_counts_for_it():
    text = SPEECH.format(who="省") + "黑龙江经济向好。龙江振兴，龙江发展，龙江建设，龙江开放。\n"
    assert read(text).region == "黑龙江省"
    text = SPEECH.format(who="市") + "马鞍山经济向好。马鞍山发展。鞍山路改造。\n"
    assert read(text).region == "马鞍山市"  # 鞍山 inside 马鞍山 is not 鞍山市


@pytest.mark.parametrize(("who", "region", "level"), [
    ("兴安盟", "兴安盟", "市"), ("阿克苏地区", "阿克苏地区", "市"), ("延边朝鲜族自治州", "延边朝鲜族自治州", "市"),
    ("广西壮族自治区", "广西壮族自治区", "省"), ("上海市", "上海市", "省"), ("本溪市", "本溪市", "市"),
    ("青禾县", "青禾县", "县"),
])
def test_levels_follow_the_administrative_divisions(who, region, level):
    report = read(SPEECH.format(who=who))
    assert (report.region, report.level) == (region, level)


def test_an_autonomous_region_that_calls_itself_only_the_region():
    text = SPEECH.format(who="自治区") + "广西经济向好，广西发展。南宁建设。\n"
    assert (read(text).region, read(text).level) == ("广西壮族自治区", "省")


def test_a_made_up_place_is_still_read_from_its_text():
    text = "——2023年1月12日在柘原市第十六届人民代表大会第二次会议上\n" + SPEECH.format(who="柘原市")
    assert (read(text).region, read(text).level) == ("柘原市", "市")
    unanchored = "一、2022年工作回顾\n较好完成了市十五届人大一次会议确定的目标任务。\n" + SPEECH.format(who="市")
    assert "完成" not in read(unanchored).region  # a clause of the speech names no place


def test_the_source_url_is_kept_as_provenance():
    text = "---\nsource: https://www.example.gov.cn/zfgzbg/2024.html\ntitle: 2024年政府工作报告\n---\n" \
           + SPEECH.format(who="临江市")
    doc = parse_document(text, doc_id="report", source="report.md")
    assert doc.report.source_url == "https://www.example.gov.cn/zfgzbg/2024.html"
    assert _doc_from_json(_doc_to_json(doc)).report.source_url == doc.report.source_url
    assert read("---\nsource: 网上\n---\n" + SPEECH.format(who="临江市")).source_url == ""


def test_the_gazetteer_holds_every_prefecture_level_division():
    g = default_gazetteer()
    assert sum(d.level == "市" for d in g.divisions) == 333  # 293 cities, 30 自治州, 7 地区, 3 盟
    assert sum(d.level == "省" for d in g.divisions) == 34
    assert g.lookup("广西").name == "广西壮族自治区" and g.lookup("吉林") is None  # a province and a city
    assert g.get("克州").province == "新疆维吾尔自治区"


def test_questions_name_a_division_by_its_short_forms():
    from rag.answer.selection import ReportSelector

    docs = [parse_document("——2024年1月8日在克孜勒苏柯尔克孜自治州第十五届人民代表大会第四次会议上\n" + SPEECH.format(who="州"),
                           doc_id="kz"),
            parse_document("——2024年1月20日在广西壮族自治区第十四届人民代表大会第二次会议上\n" + SPEECH.format(who="自治区"),
                           doc_id="gx")]
    selector = ReportSelector(docs)
    assert selector.named_regions("克州今年的目标是什么？") == ["克孜勒苏柯尔克孜自治州"]
    assert selector.named_regions("广西今年GDP增长多少？") == ["广西壮族自治区"]
