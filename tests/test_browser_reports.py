"""The page over several reports, in a real headless Chromium: the header names the reports in
view, a visitor picks one report, and the answer comes from it alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_browser import ARGS, CHROMIUM, TIMEOUT_MS, _ask, _axe, serving

pytestmark = pytest.mark.browser
MULTI_DIR = Path(__file__).parent / "fixtures" / "multi"


@pytest.fixture(scope="module")
def multi_url(tmp_path_factory) -> Iterator[str]:
    from rag.core.settings import Settings
    from rag.pipeline import Pipeline

    settings = Settings(corpus_dir=MULTI_DIR, index_dir=tmp_path_factory.mktemp("multi-index"))
    yield from serving(settings, Pipeline.load(settings))


@contextmanager
def _desktop_page(url: str):
    """A 1280 px page of the multi-report server, its page errors collected."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN").new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        page.locator("#rag-question textarea").wait_for()
        yield page, errors
        browser.close()


def test_pick_a_report_and_ask(multi_url):
    with _desktop_page(multi_url) as (page, errors):
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
    assert not errors, errors


def test_promises_tab_shows_a_places_years_with_statuses_and_says_when_a_search_finds_nothing(multi_url):
    """承诺清单 over two years of one place: the place picker, the ledger with both years side by side
    and each judged target's status with its rule, the chart; an empty search says so."""
    with _desktop_page(multi_url) as (page, errors):
        page.get_by_role("tab", name="承诺清单").click()
        page.locator("#rag-ledger-place input").click()
        page.get_by_role("option", name="临川市").click()
        ledger = page.locator("#rag-ledger table.rag-ledger")
        ledger.wait_for()
        heads = ledger.locator("thead th").all_inner_texts()
        assert heads[1:] == ["2022", "2023"]
        gdp = ledger.locator("tbody tr", has=page.locator("th", has_text="地区生产总值")).first
        cells = gdp.locator("td").all_inner_texts()
        assert "未完成" in cells[0] and "实际" in cells[0] and cells[1].strip()  # 2022 judged, 2023 listed
        assert ledger.locator("td[data-status=met]").count() >= 1
        page.locator("#rag-ledger-chart img").wait_for()
        serious = [v["id"] for v in _axe(page) if v.get("impact") in ("serious", "critical")]
        assert not serious, serious  # the ledger and its chart pass the page's axe checks
        page.locator("#rag-commitments-search textarea, #rag-commitments-search input").first.fill("没有这样的指标")
        page.locator("#rag-commitments .rag-empty").wait_for()
        assert "没有符合条件的记录" in page.locator("#rag-commitments").inner_text()
        page.screenshot(path=str(Path(__file__).parent / "artifacts" / "promises_ledger.png"), full_page=True)
    assert not errors, errors
