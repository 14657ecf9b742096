"""What a new user meets (issue 25), in a real headless Chromium: the API docs with the network
off, and the newest exchange in view on a phone and on a desktop."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from test_browser import ARGS, CHROMIUM, TIMEOUT_MS, _ask, base_url, browser, open_page  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def _offline_page(browser, base_url):  # noqa: F811
    """A page whose every request off this server is aborted and recorded: the network is off."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    outside: list[str] = []
    here = urlsplit(base_url).netloc

    def route(r):
        if urlsplit(r.request.url).netloc == here or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort("internetdisconnected")

    page.route("**/*", route)
    return context, page, outside


@pytest.mark.parametrize("path, rendered", [
    ("docs", "#swagger-ui .opblock-summary-path"),  # Swagger UI built the operation list
    ("redoc", "redoc [role=navigation] li, .menu-content li"),  # ReDoc built its menu
])
def test_api_docs_render_with_the_network_off(browser, base_url, path, rendered):  # noqa: F811
    context, page, outside = _offline_page(browser, base_url)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(base_url + path)
        page.locator(rendered).first.wait_for(state="visible")
        text = page.locator("body").inner_text()
        assert "/api/ask" in text
    finally:
        context.close()
    assert not outside, outside
    assert not errors, errors


def _in_view(page, selector: str) -> bool:
    """The element's top is on screen, inside the visual viewport (and above a fixed question bar)."""
    return page.evaluate("""(sel) => { const el = [...document.querySelectorAll(sel)].pop(); if (!el) return false;
        const r = el.getBoundingClientRect(); const bar = document.querySelector('#rag-ask-row');
        const bottom = bar && getComputedStyle(bar).position === 'fixed' ? bar.getBoundingClientRect().top : window.innerHeight;
        return r.height > 0 && r.top >= 0 && r.top < bottom; }""", selector)


QUESTIONS = ["今年GDP要涨多少？", "城镇新增就业目标是多少？", "过去五年完成了多少老旧小区改造？",
             "焦作的政务服务品牌叫什么？", "单位生产总值能耗有什么要求？", "那过去五年呢？"]


def test_phone_keeps_the_newest_answer_in_view(open_page):  # noqa: F811
    page = open_page(390, 844)
    for i, question in enumerate(QUESTIONS):
        _ask(page, question)
        page.wait_for_function("(sel) => { const el = [...document.querySelectorAll(sel)].pop();"
                               " const r = el.getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight; }",
                               arg="#rag-chat .rag-turn:last-child .rag-a", timeout=10_000)
        assert _in_view(page, "#rag-chat .rag-turn:last-child .rag-a"), f"answer {i + 1} is off-screen"
    assert page.locator("#rag-chat .rag-a[data-found]").count() == 6
    assert page.locator("#rag-question textarea").is_visible()


def test_desktop_keeps_the_newest_answer_and_the_question_box_in_view(open_page):  # noqa: F811
    page = open_page(1280, 800)
    for question in QUESTIONS[:4]:
        _ask(page, question)
    page.wait_for_function("(sel) => { const el = [...document.querySelectorAll(sel)].pop();"
                           " const r = el.getBoundingClientRect(); return r.top >= 0 && r.top < window.innerHeight; }",
                           arg="#rag-chat .rag-turn:last-child .rag-a", timeout=10_000)
    box = page.locator("#rag-question textarea").bounding_box()
    assert box is not None and 0 <= box["y"] and box["y"] + box["height"] <= 800, box


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 800)])
def test_a_long_paste_keeps_the_box_small_and_its_cut_notice_on_screen(open_page, width, height):  # noqa: F811
    page = open_page(width, height)
    box = page.locator("#rag-question textarea")
    page.locator("#rag-question textarea[data-rag-hooked]").wait_for()  # the page's paste listener is on
    box.fill("长" * 1000)  # what the box keeps of a 2,000-character paste
    page.evaluate("""() => { const box = document.querySelector('#rag-question textarea');
        const data = new DataTransfer(); data.setData('text/plain', '长'.repeat(2000));
        box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true})); }""")
    notice = page.locator("#rag-counter .rag-cut")
    notice.wait_for(state="visible")
    notice.scroll_into_view_if_needed()
    shown = box.bounding_box()
    assert shown is not None and shown["height"] <= 160, shown  # four lines, then it scrolls
    for element in (notice, page.locator("#rag-send")):
        r = element.bounding_box()
        assert r is not None and r["y"] >= 0 and r["y"] + r["height"] <= height, r
    assert box.bounding_box()["y"] >= 0  # the box too: notice, box and button on one screen


def test_english_switch_renames_the_tab_and_the_api_link(open_page):  # noqa: F811
    page = open_page(1280, 900)
    assert page.title() == "政府工作报告问答"
    assert page.locator("text=Use via API").count() == 0  # Gradio's English-only footer link is gone
    link = page.locator("#rag-api-link a")
    assert link.inner_text() == "API 文档" and link.get_attribute("href") == "docs"
    page.get_by_text("English", exact=True).click()
    page.wait_for_function("document.title === 'Government Work Report Q&A'")
    page.wait_for_function("document.querySelector('#rag-api-link a').innerText.trim() === 'API documentation'")
    page.get_by_text("中文", exact=True).click()
    page.wait_for_function("document.title === '政府工作报告问答'")
