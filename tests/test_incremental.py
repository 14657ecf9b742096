"""Many reports in: ``rag add`` takes folders recursively and checks every file before copying
any, ``rag index --dry-run`` lists catalogue entries without embedding, and a rebuild embeds only
the units it has no vector for (FAISS and Milvus alike), counted at the encoder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rag.cli.main import app as cli
from rag.pipeline import build_index

ROOT = Path(__file__).resolve().parents[1]
EVAL_CORPUS = ROOT / "eval" / "corpus"


class CountingEmbedder:
    """The session's embedder, counting the passages it is asked to encode."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.passages = 0

    def encode_passages(self, texts, **kw):
        self.passages += len(texts)
        return self._inner.encode_passages(texts, **kw)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def _nested_corpus(root: Path) -> Path:
    """The multi-report evaluation corpus laid out in folders, as real collections are."""
    corpus = root / "corpus"
    for i, src in enumerate(sorted(EVAL_CORPUS.iterdir())):
        target = corpus / f"level{i % 2}" / f"place{i}" / src.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, target)
    return corpus


@pytest.mark.parametrize("store", ["faiss", "milvus"])
def test_adding_one_report_embeds_only_that_report(tmp_path, settings, pipeline, store):
    corpus = _nested_corpus(tmp_path)
    newcomer = sorted(corpus.rglob("*.txt"))[-1]
    held = tmp_path / newcomer.name
    shutil.move(newcomer, held)
    conf = settings.model_copy(update={"corpus_dir": corpus, "index_dir": tmp_path / "index", "store": store,
                                       "milvus_uri": str(tmp_path / "milvus.db")})
    embedder = CountingEmbedder(pipeline.embedder)
    first = build_index(conf, embedder, progress=False)
    # a text two units share (a heading line, «各位代表：») is embedded once
    assert embedder.passages == len({u.embed_text for u in first.units}) == first.manifest.embedded
    shutil.move(held, newcomer)
    embedder.passages = 0
    second = build_index(conf, embedder, progress=False)
    added = [d.id for d in second.documents if d.id not in {x.id for x in first.documents}]
    assert len(added) == 1
    own = [u.embed_text for u in second.units if u.doc_id == added[0]]
    # FAISS reuses any unit's vector by its text; Milvus keeps unchanged reports' rows as they are
    new_texts = set(own) - {u.embed_text for u in first.units} if store == "faiss" else set(own)
    assert embedder.passages == len(new_texts) == second.manifest.embedded > 0.9 * len(own)
    assert second.manifest.n_units == first.manifest.n_units + len(own)
    if store == "faiss":  # reused rows are the vectors the first build stored for the same units
        old = {u.embed_text: first.exact[i] for i, u in enumerate(first.units)}
        for i, u in enumerate(second.units):
            if u.doc_id != added[0]:
                assert np.array_equal(second.exact[i], old[u.embed_text])


def test_a_new_model_or_encoder_reuses_nothing(tmp_path, settings, pipeline, monkeypatch):
    corpus = _nested_corpus(tmp_path)
    conf = settings.model_copy(update={"corpus_dir": corpus, "index_dir": tmp_path / "index"})
    build_index(conf, pipeline.embedder, progress=False)
    embedder = CountingEmbedder(pipeline.embedder)
    monkeypatch.setattr(CountingEmbedder, "encoder_id", property(lambda self: "other-encoder"), raising=False)
    again = build_index(conf, embedder, progress=False)
    assert embedder.passages == len({u.embed_text for u in again.units})


def test_rag_add_refuses_an_empty_file_before_copying(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(next(EVAL_CORPUS.glob("101_*")), corpus)
    (tmp_path / "empty.txt").write_text("", "utf-8")
    (tmp_path / "blank.md").write_text("  \n\n", "utf-8")
    got = CliRunner().invoke(cli, ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "add",
                                   str(tmp_path / "empty.txt"), str(tmp_path / "blank.md")])
    assert got.exit_code == 2, got.output
    assert "empty.txt" in got.output and "blank.md" in got.output  # every problem named, not just the first
    assert "Nothing was copied" in got.output and "未复制任何文件" in got.output
    assert "Traceback" not in got.output
    assert sorted(p.name for p in corpus.iterdir()) == ["101_jiangcheng_2022.txt"]
    assert not (tmp_path / "index").exists()


def test_rag_add_takes_a_folder_recursively_and_keeps_its_layout(tmp_path):
    source = _nested_corpus(tmp_path / "src")
    corpus = tmp_path / "corpus"
    (source / ".hidden").mkdir()
    (source / ".hidden" / "notes.txt").write_text("not a report", "utf-8")
    got = CliRunner().invoke(cli, ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "add",
                                   str(source)])
    assert got.exit_code == 0, got.output
    wanted = sorted(p.relative_to(source) for p in source.rglob("*") if p.is_file() and ".hidden" not in p.parts)
    assert sorted(p.relative_to(corpus) for p in corpus.rglob("*") if p.is_file()) == wanted
    assert f"{len(wanted)} documents" in got.output and f"Added {len(wanted)}, replaced 0" in got.output


def test_rag_add_folder_with_one_bad_file_copies_nothing(tmp_path):
    source = _nested_corpus(tmp_path / "src")
    (source / "level0" / "broken.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00" * 40)
    corpus = tmp_path / "corpus"
    got = CliRunner().invoke(cli, ["--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "add",
                                   str(source)])
    assert got.exit_code == 2 and "broken.pdf" in got.output and "Traceback" not in got.output
    assert not corpus.exists() or not any(corpus.rglob("*"))


def test_dry_run_lists_catalogue_entries_and_embeds_nothing(tmp_path, seed_docs):
    corpus = _nested_corpus(tmp_path)
    (corpus / "minutes.wps").write_bytes(b"WPS")
    index = tmp_path / "index"
    got = CliRunner().invoke(cli, ["--corpus", str(corpus), "--index-dir", str(index), "index", "--dry-run"])
    assert got.exit_code == 0, got.output
    rows = [line.split("\t") for line in got.output.splitlines() if line.count("\t") == 4][1:]
    from rag.ingest.corpus import CorpusLoader

    docs = CorpusLoader(corpus).load()
    assert [r[0] for r in rows] == [d.id for d in docs]
    for row, d in zip(rows, docs):
        assert row[1:] == [d.report.title or d.title, d.report.region or "?", d.report.level or "?",
                           str(d.report.year or "?")]
    assert "minutes.wps" in got.output and f"Would index {len(docs)} reports (1 files not indexed)" in got.output
    assert not index.exists()  # nothing built, nothing embedded


def test_dry_run_over_the_real_collection_lists_every_report(gov_reports):
    files = [p for p in gov_reports.rglob("*.md") if p.name != "README.md"]
    got = CliRunner().invoke(cli, ["--corpus", str(gov_reports), "--index-dir", "/nonexistent/index",
                                   "index", "--dry-run"])
    assert got.exit_code == 0, got.output
    rows = [line.split("\t") for line in got.output.splitlines() if line.count("\t") == 4][1:]
    listed = len(rows)
    assert "Duplicate document id" not in got.output
    assert listed >= len(files) == 1467
