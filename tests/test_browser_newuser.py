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
