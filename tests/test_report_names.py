"""A corpus laid out by folder, as real collections are (``<level>/<place>/<year>``): each report
keeps its path as its id through the API's URLs, and people see the catalogue's name for it
(«临川市2023年政府工作报告»), never a file name, in the CLI, the answer JSON and the page."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

MULTI = Path(__file__).parent / "fixtures" / "multi"
LAYOUT = {"其他地市/临川市/2022.txt": "101_linchuan_2022.txt", "其他地市/临川市/2023.txt": "102_linchuan_2023.txt",
          "县/云溪县/2023.md": "201_yunxi_county_2023.md"}
LC23 = "其他地市/临川市/2023"


@pytest.fixture(scope="module")
def foldered(tmp_path_factory):
    from rag.core.settings import Settings
    from rag.pipeline import Pipeline

    root = tmp_path_factory.mktemp("foldered")
    for rel, name in LAYOUT.items():
        (root / "corpus" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(MULTI / name, root / "corpus" / rel)
    settings = Settings(corpus_dir=root / "corpus", index_dir=root / "index")
    return settings, Pipeline.load(settings)


@pytest.fixture(scope="module")
def api(foldered):
    from fastapi.testclient import TestClient

    from rag.api.app import create_app

    settings, pipeline = foldered
    with TestClient(create_app(settings, pipeline)) as c:
        yield c


def test_documents_are_listed_by_path_id_with_their_names(api):
    listed = {d["id"]: d for d in api.get("/api/documents").json()}
    assert set(listed) == {"其他地市/临川市/2022", LC23, "县/云溪县/2023"}
    assert listed[LC23]["name"] == "临川市2023年政府工作报告"
    assert listed["县/云溪县/2023"]["name"] == "云溪县2023年政府工作报告"
    parts = {s["part"] for s in listed[LC23]["sections"]}
    assert {"review", "plan"} <= parts


def test_path_ids_work_in_urls(api):
    full = api.get(f"/api/documents/{LC23}")
    assert full.status_code == 200 and full.json()["name"] == "临川市2023年政府工作报告"
    section = api.get(f"/api/documents/{LC23}/sections/1")
    assert section.status_code == 200 and section.json()["doc"] == LC23
    assert api.get("/api/documents/其他地市/临川市/2024").status_code == 404
    assert api.get("/api/documents/其他地市/../临川市/2023").status_code in (404, 422)


def test_citations_name_the_report_not_its_file(api, foldered):
    _, pipeline = foldered
    answer = api.post("/api/ask", json={"question": "临川今年新增养老床位多少张？"}).json()
    assert answer["found"] and answer["citations"]
    for c in answer["citations"]:
        doc = pipeline.store.document(c["doc"])
        assert c["report"] == "临川市2023年政府工作报告" and c["doc"] == LC23
        assert doc.text[c["start"]:c["end"]] == c["quote"]


def test_cli_citation_lines_show_the_name(foldered):
    from typer.testing import CliRunner

    from rag.cli.main import app

    settings, _ = foldered
    out = CliRunner().invoke(app, ["--corpus", str(settings.corpus_dir), "--index-dir", str(settings.index_dir),
                                   "ask", "临川今年新增养老床位多少张？"])
    assert out.exit_code == 0, out.output
    cited = [line for line in out.output.splitlines() if line.strip().startswith("[1]")]
    assert cited and "临川市2023年政府工作报告" in cited[0] and "102_linchuan" not in out.output


def test_the_page_names_the_report_in_citations_and_full_text(foldered):
    from ui.render import answer_html, document_html

    _, pipeline = foldered
    answer = pipeline.ask("临川今年新增养老床位多少张？").to_dict()
    html = answer_html(0, answer, "zh")
    assert "临川市2023年政府工作报告 › " in html
    full = document_html(pipeline.store.document(LC23), "zh")
    assert "临川市2023年政府工作报告" in full and "2023.txt" not in full


def test_provenance_is_a_link_only_for_a_web_address():
    from ui.render import _link

    link = _link("https://www.example.gov.cn/zfgzbg/1.html?a=1&b=2", "zh")
    assert 'href="https://www.example.gov.cn/zfgzbg/1.html?a=1&amp;b=2"' in link and 'rel="noopener noreferrer"' in link
    assert _link("javascript:alert(1)", "zh") == "" and _link("", "en") == "" and _link(None, "zh") == ""


def test_a_front_matter_source_is_shown_with_the_report():
    from rag.ingest.corpus import parse_document, source_url
    from ui.render import document_html, source_html

    doc = parse_document("---\nsource: https://www.example.gov.cn/zfgzbg/2025.html\ntitle: 白云市2025年政府工作报告\n---\n"
                         "**一、2024年工作回顾**\n全市地区生产总值增长5%。\n", doc_id="其他地市/白云市/2025")
    assert source_url(doc) == "https://www.example.gov.cn/zfgzbg/2025.html"
    link = 'href="https://www.example.gov.cn/zfgzbg/2025.html"'
    assert link in document_html(doc, "zh")
    section = doc.section("1")
    assert link in source_html(doc, section, section.heading_end, section.end, 1, "zh")
