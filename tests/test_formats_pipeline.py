"""A printed PDF report end to end: indexed beside a file that cannot be, asked, cited with the
right page, and served by the API with its skipped file, format and original name."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SEED_DIR

from rag.evaluation.variants import chromium, page_check, publish

ROOT = Path(__file__).resolve().parents[1]
SEED = next(SEED_DIR.glob("*.txt"))
QUESTIONS = ["今年GDP要涨多少？", "城镇新增就业目标是多少？", "过去五年完成了多少老旧小区改造？",
             "焦作的政务服务品牌叫什么？", "单位生产总值能耗有什么要求？"]

needs_chromium = pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (make system-deps)")


@pytest.fixture(scope="module")
def pdf_site(tmp_path_factory):
    from rag.core.settings import Settings
    from rag.pipeline import Pipeline

    root = tmp_path_factory.mktemp("pdfsite")
    corpus = root / "corpus"
    corpus.mkdir()
    publish(SEED.read_text("utf-8"), "pdf", corpus / "jiaozuo.pdf")
    (corpus / "minutes.wps").write_bytes(b"WPS Office")
    settings = Settings(corpus_dir=corpus, index_dir=root / "index")
    return settings, Pipeline.load(settings)


@needs_chromium
def test_pdf_citations_carry_the_right_page_and_quote_the_served_text(pdf_site):
    settings, pipeline = pdf_site
    doc = pipeline.store.document("jiaozuo")
    assert doc.format == "pdf" and doc.original_name == "jiaozuo.pdf" and len(doc.pages) > 1
    pages_seen = set()
    for q in QUESTIONS:
        answer = pipeline.ask(q)
        assert answer.found, q
        for c in answer.citations:
            assert doc.text[c.start:c.end] == c.quote
            assert c.page == doc.page_at(c.start) and 1 <= c.page <= len(doc.pages)
            pages_seen.add(c.page)
    assert len(pages_seen) > 1  # the questions reach more than the first page
    check = page_check(pipeline, QUESTIONS, settings.corpus_dir)  # each page re-read from the PDF alone
    assert check["pdf_citations"] > 0 and check["right_page"] == check["pdf_citations"]


@needs_chromium
def test_api_names_skipped_files_and_serves_the_extracted_text(pdf_site):
    from fastapi.testclient import TestClient

    from rag.api.app import create_app

    settings, pipeline = pdf_site
    with TestClient(create_app(settings, pipeline)) as client:
        health = client.get("/api/health").json()
        assert [s["source"] for s in health["skipped"]] == ["minutes.wps"]
        assert "WPS" in health["skipped"][0]["reason"]
        listed = client.get("/api/documents").json()
        assert [(d["id"], d["format"], d["original_name"]) for d in listed] == [("jiaozuo", "pdf", "jiaozuo.pdf")]
        assert listed[0]["pages"] == len(pipeline.store.document("jiaozuo").pages)
        full = client.get("/api/documents/jiaozuo").json()
        assert full["text"] == pipeline.store.document("jiaozuo").text and full["page_starts"][0] == 0
        answer = client.post("/api/ask", json={"question": "今年GDP要涨多少？"}).json()
        assert answer["citations"] and all(isinstance(c["page"], int) for c in answer["citations"])


def test_rag_add_refuses_what_it_cannot_read_then_copies_and_indexes(tmp_path):
    from typer.testing import CliRunner

    from rag.cli.main import app

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    (corpus / "seed.txt").write_text(SEED.read_text("utf-8"), "utf-8")
    base = ["--corpus", str(corpus), "--index-dir", str(index), "add"]
    runner = CliRunner()
    missing = runner.invoke(app, [*base, str(tmp_path / "nope.pdf")])
    assert missing.exit_code == 2 and "File not found" in missing.output and "找不到文件" in missing.output
    (tmp_path / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 32)
    legacy = runner.invoke(app, [*base, str(tmp_path / "old.doc")])
    assert legacy.exit_code == 2 and ".docx" in legacy.output and "Traceback" not in legacy.output
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00" * 40)
    broken = runner.invoke(app, [*base, str(tmp_path / "broken.pdf")])
    assert broken.exit_code == 2 and "corrupt" in broken.output
    assert sorted(p.name for p in corpus.iterdir()) == ["seed.txt"]  # nothing copied by a failed add
    page = publish((Path(__file__).parent / "fixtures" / "synthetic" / "001_sample.txt").read_text("utf-8"),
                   "html", tmp_path / "qingchuan.html")
    added = runner.invoke(app, [*base, str(page)])
    assert added.exit_code == 0, added.output
    assert (corpus / "qingchuan.html").is_file() and "2 documents" in added.output
    strict = runner.invoke(app, ["--corpus", str(corpus), "--index-dir", str(index), "index", "--strict"])
    assert strict.exit_code == 0 and "up to date" in strict.output
    (corpus / "notes.wps").write_bytes(b"WPS")
    strict = runner.invoke(app, ["--corpus", str(corpus), "--index-dir", str(index), "index", "--strict"])
    assert strict.exit_code == 1 and "notes.wps" in strict.output
    from rag.stores.index import read_manifest

    assert read_manifest(index).skipped == []  # the previous index still serves
