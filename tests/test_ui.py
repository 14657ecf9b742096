"""The page's HTML without a browser: text from visitors and reports is escaped, citation markers
become buttons only for real citations, and the cited span is the highlighted one."""

from __future__ import annotations

import re

import pytest

from rag.corpus import parse_document
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
    from rag.conversation import ConversationGuard
    from ui.app import localize_refusal

    guard = ConversationGuard(["今年经济增长的预期目标是多少？"])
    for question in ("<img src=x onerror=alert(1)>", "hello", "你好"):
        answer = guard.run(question).to_dict()
        zh = localize_refusal(answer, "zh", guard)["answer"]
        en = localize_refusal(answer, "en", guard)["answer"]
        assert any("\u4e00" <= c <= "\u9fff" for c in zh[:10]), zh  # the reply itself, before the examples
        assert en[:40].isascii(), en


def test_anchors_of_path_ids_stay_distinct():
    """Two places' ``2025`` reports have ids that differ only in Chinese characters."""
    a = parse_document("一、总体要求\n正文。\n", doc_id="主要城市/成都市/2025")
    b = parse_document("一、总体要求\n正文。\n", doc_id="主要城市/重庆市/2025")
    ids = [re.findall(r'id="(rag-sec-[^"]*)"', document_html(d, "zh")) for d in (a, b)]
    assert ids[0] and ids[1] and not set(ids[0]) & set(ids[1])
