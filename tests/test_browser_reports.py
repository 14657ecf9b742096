"""The page over several reports, in a real headless Chromium: the header names the reports in
view, a visitor picks one report, and the answer comes from it alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from test_browser import ARGS, CHROMIUM, TIMEOUT_MS, _ask, serving

pytestmark = pytest.mark.browser
MULTI_DIR = Path(__file__).parent / "fixtures" / "multi"


@pytest.fixture(scope="module")
def multi_url(tmp_path_factory) -> Iterator[str]:
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    settings = Settings(corpus_dir=MULTI_DIR, index_dir=tmp_path_factory.mktemp("multi-index"))
    yield from serving(settings, Pipeline.load(settings))


def test_pick_a_report_and_ask(multi_url):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(multi_url)
        page.locator("#rag-question textarea").wait_for()
        header = page.locator(".rag-header .rag-in-view")
        header.wait_for()
        assert "（3）" in header.inner_text()  # all three reports in view

        page.locator("#rag-report-pick input").click()
        page.get_by_role("option", name="云溪县2023年政府工作报告").click()
        page.wait_for_function(
            "document.querySelector('.rag-header .rag-in-view').innerText.includes('云溪县2023年政府工作报告')"
            " && !document.querySelector('.rag-header .rag-in-view').innerText.includes('（')")

        answer = _ask(page, "今年新增学位多少个？")
        assert "900个" in answer and "云溪县" in answer and "临川" not in answer

        page.get_by_role("tab", name="全文").click()  # 全文 opens the picked report, and lists every one
        page.locator("#rag-document", has_text="云溪县2023年政府工作报告").wait_for()
        browser.close()
    assert not errors, errors
