"""The page's HTML without a browser: text from visitors and reports is escaped, citation markers
become buttons only for real citations, and the cited span is the highlighted one."""

from __future__ import annotations

import re

import pytest

from rag.ingest.corpus import parse_document
from ui.render import chat_html, document_html, source_html

EVIL = '<img src=x onerror="alert(1)"> {{this}} ${1+1} **b** [x](javascript:alert(2)) &amp;'


@pytest.fixture(scope="module")
def doc():
    return parse_document("一、总体要求\n<script>alert(1)</script>今年增长7%左右。\n二、重点工作\n办好民生实事。\n",
                          doc_id="d<1>", source="x.txt")


def _answer(text: str, quote: str, start: int, end: int) -> dict:
    return {"answer": text, "found": True, "citations": [
        {"n": 1, "doc": "d", "section_id": "1", "section_path": "一、总体要求 <b>", "quote": quote,
         "start": start, "end": end, "score": 1.0}]}


def test_visitor_and_report_text_is_escaped_everywhere():
    html = chat_html([{"q": EVIL, "answer": _answer(EVIL + "[1]", EVIL, 0, 1)}], "zh")
    assert "<img" not in html and "<b>" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html
    assert "&amp;amp;" in html  # already-escaped text is shown as typed, not decoded


def test_only_real_citations_become_buttons():
    html = chat_html([{"q": "q", "answer": _answer("增长7%[1]，另见[2]。", "增长7%", 0, 1)}], "zh")
    assert html.count('class="rag-cite"') == 1 and 'data-turn="0" data-n="1"' in html
    assert "[2]" in html and 'data-n="2"' not in html


def test_pending_and_failed_turns():
    pending = chat_html([{"q": "q", "answer": None, "partial": "<i>半"}], "zh")
    assert 'aria-busy="true"' in pending and "&lt;i&gt;半" in pending and "data-found" not in pending
    failed = chat_html([{"q": "q", "answer": None, "error": "出错了 <x>"}], "en")
    assert 'role="alert"' in failed and "&lt;x&gt;" in failed


def test_source_marks_exactly_the_cited_span(doc):
    section = doc.section("1")
    start = doc.text.index("今年")
    end = doc.text.index("左右") + 2
    html = source_html(doc, section, start, end, 1, "zh")
    assert '<mark class="rag-mark" data-n="1">今年增长7%左右</mark>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_full_text_anchors_are_safe_ids_and_text_is_escaped(doc):
    html = document_html(doc, "zh")
    anchors = re.findall(r'data-target="([^"]*)"', html)
    assert "d<1>" not in html and anchors and all(re.fullmatch(r"rag-sec-[0-9A-Za-z-]+", a) for a in anchors)
    assert all(f'id="{a}"' in html for a in anchors)
    assert "<script>" not in html and "办好民生实事" in html


def test_guard_replies_follow_the_interface_language():
    """Markup or a Latin greeting in 中文 mode is answered in Chinese, and 你好 in English mode in English."""
    from rag.answer.guard import ConversationGuard
    from ui.app import localize_refusal

    guard = ConversationGuard(["今年经济增长的预期目标是多少？"])
    for question in ("<img src=x onerror=alert(1)>", "hello", "你好"):
        answer = guard.run(question).to_dict()
        zh = localize_refusal(answer, "zh", guard)["answer"]
        en = localize_refusal(answer, "en", guard)["answer"]
        assert any("\u4e00" <= c <= "\u9fff" for c in zh[:10]), zh  # the reply itself, before the examples
        assert en[:40].isascii(), en


def test_the_page_words_a_refusal_from_its_topics_not_from_its_sentence():
    """The topics come as data (``Answer.refusal``): a closest section whose title holds quotes, or
    an English question in 中文 mode, still gets the page's wording, without the closest sections
    (the page shows them as buttons); an answer without the data is shown as the pipeline said it."""
    from ui.app import localize_refusal

    answer = {"question": "Where is the zoo?", "found": False, "citations": [], "composer": "extractive",
              "answer": "The report does not say anything about “zoo”. Closest sections: （3）打造“江城样板”.",
              "related_sections": ["（3）打造“江城样板”"], "refusal": {"reason": "not_in_report", "topics": ["zoo"]}}
    assert localize_refusal(answer, "zh")["answer"] == "报告中没有找到关于“zoo”的相关内容。"
    assert localize_refusal(answer, "en")["answer"] == "The report does not say anything about “zoo”."
    again = localize_refusal(localize_refusal(answer, "en"), "zh")  # switched there and back
    assert again["answer"] == "报告中没有找到关于“zoo”的相关内容。" and again["refusal"] == answer["refusal"]
    assert localize_refusal({**answer, "refusal": None}, "zh")["answer"] == answer["answer"]


@pytest.mark.parametrize("question", ["市里有多少只大熊猫？", "Where is the zoo?", "今年GDP要涨多少？那大熊猫呢？"])
def test_a_refusals_data_is_what_its_sentence_says(pipeline, question):
    """``Answer.refusal`` holds the topics the sentence names, in the order it names them: the
    page's wording and the pipeline's cannot drift apart."""
    from rag.answer.composers.base import is_english, refusal_wording

    a = pipeline.ask(question)
    assert a.refusal is not None and a.refusal.topics, a.answer
    said = refusal_wording(a.refusal.topics, a.related_sections, english=is_english(question), closest=not a.found)
    assert said in a.answer and (a.found or said == a.answer)


def test_report_picker_groups_a_large_collection_by_level_and_year():
    """Hundreds of reports: grouped by level (province first), then year (newest first); each
    label starts with its level and year and names the place, which the picker filters by."""
    from types import SimpleNamespace

    from rag.answer.selection import ReportSelector
    from ui.app import grouped_reports, report_choices

    docs = [parse_document(f"{place}{year}年政府工作报告\n一、工作回顾\n增长。\n", doc_id=f"{place}/{year}")
            for place in ("江城市", "南岭省", "青禾县", "白河市") for year in range(2019, 2027)] * 1
    docs += [parse_document(f"{a}{b}市{y}年政府工作报告\n一、工作回顾\n增长。\n", doc_id=f"{a}{b}/{y}")
             for a in "青白赤金银铜玉石松竹" for b in "山河湖海林田泉岭" for y in (2023, 2024, 2025, 2026)]
    pipeline = SimpleNamespace(selector=ReportSelector(docs))
    rows = grouped_reports(pipeline)
    assert len(rows) == len(docs) and {i for _, i in rows} == {d.id for d in docs}
    levels = [pipeline.selector.reports[i].level for _, i in rows]
    assert levels == sorted(levels, key=["省", "市", "县"].index)  # grouped by level, province first
    city_years = [pipeline.selector.reports[i].year for _, i in rows if pipeline.selector.reports[i].level == "市"]
    assert city_years == sorted(city_years, reverse=True)  # then by year, newest first
    label = dict((i, label) for label, i in rows)["江城市/2021"]
    assert label.startswith("市 · 2021 · ") and "江城市" in label
    assert [i for label, i in rows if "江城" in label] == [f"江城市/{y}" for y in range(2026, 2018, -1)]
    assert report_choices(pipeline, "en")[0] == ("All reports", "")


def test_a_refusal_of_a_long_paste_repeats_its_opening_not_its_keywords_run_together(pipeline):
    from ui.app import localize_refusal

    pasted = "请问政府工作报告里关于促消费的内容，" + "还有加快建设现代化产业体系的安排和政府工作的其他方面，" * 20
    a = pipeline.ask(pasted[:1000])
    if a.found:
        pytest.skip("the pasted text was answered")
    named = a.answer.split("“")[1].split("”")[0]
    assert len(named) <= 25 and named.endswith("…") and pasted.startswith(named[:-1]), a.answer
    again = localize_refusal(a.to_dict(), "en")["answer"]
    assert again.startswith("The report does not say") and named in again  # the page still says it in English


def test_anchors_of_path_ids_stay_distinct():
    """Two places' ``2025`` reports have ids that differ only in Chinese characters."""
    a = parse_document("一、总体要求\n正文。\n", doc_id="主要城市/成都市/2025")
    b = parse_document("一、总体要求\n正文。\n", doc_id="主要城市/重庆市/2025")
    ids = [re.findall(r'id="(rag-sec-[^"]*)"', document_html(d, "zh")) for d in (a, b)]
    assert ids[0] and ids[1] and not set(ids[0]) & set(ids[1])
