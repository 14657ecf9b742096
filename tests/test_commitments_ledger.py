"""The promise ledger of a place (every year's targets, one row per metric, years side by side),
its CSV, and one metric drawn as target against outcome, each mark linked to its citation."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

MULTI_DIR = Path(__file__).parent / "fixtures" / "multi"
LC22, LC23 = "101_linchuan_2022", "102_linchuan_2023"


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    from rag.core.settings import Settings
    from rag.pipeline import Pipeline

    return Pipeline.load(Settings(corpus_dir=MULTI_DIR, index_dir=tmp_path_factory.mktemp("ledger-index")))


@pytest.fixture(scope="module")
def api(multi):
    from fastapi.testclient import TestClient

    from rag.api.app import create_app

    with TestClient(create_app(multi.settings, multi)) as c:
        yield c


def test_ledger_rows_hold_both_years_with_status_and_rule(api):
    data = api.get("/api/commitments/ledger", params={"region": "临川"}).json()
    assert data["region"] == "临川市" and data["years"] == [2022, 2023] and "临川市" in data["places"]
    gdp = next(r for r in data["rows"] if r["metric"] == "地区生产总值")
    assert set(gdp["cells"]) == {"2022", "2023"}  # one row, the years side by side
    judged = gdp["cells"]["2022"]
    assert judged["status"] == "missed" and judged["outcome_doc"] == LC23
    assert judged["rule"].startswith(f"目标{judged['figure']}，实际{judged['outcome_figure']}：")
    assert gdp["cells"]["2023"]["status"] is None  # no 2024 report: nothing judges it
    missed = api.get("/api/commitments/ledger", params={"region": "临川", "promise": "missed"}).json()["rows"]
    assert missed and all(any(c["status"] == "missed" for c in r["cells"].values()) for r in missed)
    assert len(missed) < len(data["rows"])


def test_ledger_csv_and_unknown_place(api):
    r = api.get("/api/commitments/ledger", params={"region": "临川", "format": "csv"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["指标", "2022年目标", "2022年兑现情况", "2022年依据"]
    assert any(row[0] == "地区生产总值" and row[2] == "未完成" for row in rows[1:])
    bad = api.get("/api/commitments/ledger", params={"region": "不存在市"})
    assert bad.status_code == 404 and "error" in bad.json()


def test_chart_svg_links_each_mark_to_its_citation_and_png_renders(api, multi):
    svg = api.get("/api/commitments/chart.svg", params={"metric": "地区生产总值"})
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    gdp = next(c for c in multi.commitments.items if c.doc == LC22 and c.metric == "地区生产总值" and c.promise)
    outcome = next(c for c in multi.commitments.items if c.id == gdp.outcome_with)
    for c in (gdp, outcome):  # both citations, by their section and offsets
        assert f"sections/{c.section_id}#{c.start}-{c.end}" in svg.text
    png = api.get("/api/commitments/chart.png", params={"metric": "地区生产总值", "region": "临川"})
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert api.get("/api/commitments/chart.svg", params={"metric": "没有的指标"}).status_code == 404
    assert api.get("/api/commitments/chart.gif").status_code == 422
