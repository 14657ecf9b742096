"""The store protocol on both engines: Milvus Lite (an embedded file, in the normal test run)
answers like in-process FAISS, filters reports inside the engine, updates one report without
touching the others, and a bad URI fails with a clear bilingual message."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SEED_DIR
from store_contract import StoreContract
from typer.testing import CliRunner

from rag.cli.main import app as cli
from rag.core.types import Report
from rag.ingest.corpus import CorpusLoader
from rag.pipeline import Pipeline, build_index, load_store
from rag.stores import StoreUnavailable
from rag.stores.milvus import MilvusIndexer, connect, version_tag

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC_DIR = ROOT / "tests" / "fixtures" / "synthetic"
SAMPLE = [json.loads(line)["question"] for line in (ROOT / "eval" / "dev.jsonl").read_text("utf-8").splitlines()
          if line.strip()][::8]  # every 8th dev question: ~32, all types


def _site(root: Path) -> Path:
    (root / "corpus").mkdir(parents=True)
    for src in [*SEED_DIR.iterdir(), *SYNTHETIC_DIR.iterdir()]:
        shutil.copy(src, root / "corpus" / src.name)
    return root


def _conf(base, root: Path, store: str, **more):
    return base.model_copy(update={"corpus_dir": root / "corpus", "index_dir": root / "index", "store": store,
                                   "query_cache_size": 0, **more})


@pytest.fixture(scope="module")
def stores(tmp_path_factory, settings, pipeline):
    """The seed and the synthetic reports indexed in both stores; two loaded pipelines."""
    root = _site(tmp_path_factory.mktemp("stores"))
    out = {}
    for store in ("faiss", "milvus"):
        conf = _conf(settings, root, store)
        build_index(conf, pipeline.embedder, progress=False)
        out[store] = Pipeline.load(conf)
    return out


@pytest.fixture(scope="module")
def vector_of(stores):
    embedder = stores["faiss"].embedder
    return lambda text: embedder.encode_queries([text])[0]


class TestFaissStore(StoreContract):
    @pytest.fixture
    def store(self, stores):
        return stores["faiss"].store


class TestMilvusLiteStore(StoreContract):
    @pytest.fixture
    def store(self, stores):
        return stores["milvus"].store


def test_milvus_lite_answers_like_faiss(stores):
    faiss, milvus = stores["faiss"], stores["milvus"]
    assert milvus.store.describe()["store"] == "milvus" and milvus.store.describe()["mode"] == "lite"
    assert [u.text for u in milvus.store.units] == [u.text for u in faiss.store.units]
    same_answer = same_dense = same_bm25_top = 0
    for q in SAMPLE:
        part = faiss.analyzer.analyze(q)[0]
        vec = faiss.embedder.encode_queries([part.search_text])[0]
        d_f, d_m = faiss.store.dense_candidates(vec, 50), milvus.store.dense_candidates(vec, 50)
        # the same candidates with the same scores (two BLAS may swap near-ties)
        same_dense += set(d_f.ids.tolist()) == set(d_m.ids.tolist()) and np.allclose(d_f.scores, d_m.scores, atol=1e-4)
        b_f, b_m = faiss.store.bm25_candidates(part.search_text, 5), milvus.store.bm25_candidates(part.search_text, 5)
        same_bm25_top += b_f.ids[:1].tolist() == b_m.ids[:1].tolist()
        a_f, a_m = faiss.ask(q), milvus.ask(q)
        same_answer += (a_f.answer, [(c.doc, c.start) for c in a_f.citations]) == \
                       (a_m.answer, [(c.doc, c.start) for c in a_m.citations])
    n = len(SAMPLE)
    assert same_dense == n  # exact inner product in both engines
    assert same_bm25_top >= 0.9 * n  # one jieba, two BM25 implementations
    assert same_answer >= n - 1


def test_report_filters_run_inside_each_store(stores):
    docs = [d.id for d in stores["faiss"].store.documents]
    assert len(docs) == 3
    for p in stores.values():
        part = p.analyzer.analyze("今年经济增长的目标是多少？")[0]
        for name, retriever in p.retrievers.items():
            for doc in docs:
                hits = retriever.retrieve(part, 5, doc_ids={doc})
                assert hits and {h.unit.doc_id for h in hits} == {doc}, (name, doc)
            assert {h.unit.doc_id for h in retriever.retrieve(part, 50, doc_ids=docs[:2])} == set(docs[:2])
            assert retriever.retrieve(part, 5, doc_ids=[]) == []
            assert retriever.retrieve(part, 5, doc_ids=["no-such-report"]) == []
    # the engines filter alike: the same units, in the same order, for one report
    f, m = (stores[s].retrievers["dense"].retrieve(part, 10, doc_ids={docs[1]}) for s in ("faiss", "milvus"))
    assert [h.unit.id for h in f] == [h.unit.id for h in m]


def test_catalogue_scalars_are_filterable_in_milvus(stores):
    """Region, level and plan year of each report's catalogue entry are row scalars (year 0: unknown)."""
    store = stores["milvus"].store
    docs = store.documents
    assert any(d.report.region and d.report.year for d in docs)
    for doc in docs:
        r = doc.report
        expected = {d.id for d in docs if (d.report.region, d.report.level, d.report.year or 0) ==
                    (r.region, r.level, r.year or 0)}
        where = f'region == "{r.region}" and level == "{r.level}" and year == {r.year or 0}'
        rows = store.client.query(store.collection, filter=where, output_fields=["doc_id"])
        assert {row["doc_id"] for row in rows} == expected, where


def test_milvus_updates_one_report_and_deletes_a_removed_one(tmp_path, settings, pipeline):
    root = _site(tmp_path)
    conf = _conf(settings, root, "milvus")
    first = build_index(conf, pipeline.embedder, progress=False)
    assert first.changes["written"] == 3 and first.changes["rebuilt"] == 1
    target = sorted((root / "corpus").iterdir())[1]
    doc_id = target.stem
    phrase = "新建青川量子计算产业园一座"
    target.write_text(target.read_text("utf-8").rstrip() + f"\n今年还将{phrase}。\n", "utf-8")

    second = build_index(conf, pipeline.embedder, progress=False)
    assert second.changes == {"written": 1, "kept": 2, "removed": 0, "units_written": sum(
        u.doc_id == doc_id for u in second.units), "rebuilt": 0}
    hits = Pipeline.load(conf).search(phrase, 3, retriever="bm25")
    assert hits and phrase in hits[0].unit.text
    client = connect(conf)
    versions = {r["doc_ver"] for r in client.query(conf.milvus_collection, filter=f'doc_id == "{doc_id}"',
                                                   output_fields=["doc_ver"])}
    assert versions == {version_tag(doc_id, second.manifest.report_hashes[doc_id])}  # the old version's rows are gone

    target.unlink()
    third = build_index(conf, pipeline.embedder, progress=False)
    assert third.changes["removed"] == 1 and third.changes["written"] == 0
    assert not client.query(conf.milvus_collection, filter=f'doc_id == "{doc_id}"', output_fields=["pk"])
    assert doc_id not in {u.doc_id for u in third.units}
    assert load_store(conf).manifest.n_units == len(third.units)


def test_a_reader_sees_only_its_versions_while_an_update_writes(stores):
    """Rows of a version not yet published (an update under way) never reach a reader."""
    store = stores["milvus"].store
    client, doc = store.client, store.documents[0]
    rows = client.query(store.collection, filter=f'doc_id == "{doc.id}"', output_fields=["*"])
    phrase = "城镇新增就业"
    before = set(store.bm25_candidates(phrase, 500).ids.tolist())
    staged = [{**r, "pk": r["pk"].replace("@", "@next-"), "doc_ver": r["doc_ver"] + "-next",
               "search_text": phrase, "text": phrase} for r in rows]  # the best possible BM25 matches
    for r in staged:
        r.pop("sparse", None)
    client.upsert(store.collection, staged)
    try:
        assert set(store.bm25_candidates(phrase, 500).ids.tolist()) == before
        dense = store.dense_candidates(np.asarray(rows[0]["dense"], dtype=np.float32), 1000)
        assert len(dense) == len(store.units) and len(set(dense.ids.tolist())) == len(store.units)
    finally:
        client.delete(store.collection, filter=f'doc_ver == "{staged[0]["doc_ver"]}"')


def test_bad_milvus_uri_is_a_clear_error_without_traceback(tmp_path, settings):
    runner = CliRunner()
    env = {"RAG_CORPUS_DIR": str(SYNTHETIC_DIR), "RAG_INDEX_DIR": str(tmp_path / "index"), "RAG_MILVUS_TIMEOUT_S": "2"}
    for command in (["index"], ["serve"], ["ask", "今年GDP要涨多少？"]):
        for uri in ("http://127.0.0.1:1", str(tmp_path / "milvus.txt")):
            result = runner.invoke(cli, [*command, "--store", "milvus", "--milvus-uri", uri], env=env)
            assert result.exit_code != 0, (command, uri)
            assert uri in result.output and "Milvus" in result.output, result.output
            assert "Traceback" not in result.output and not isinstance(result.exception, StoreUnavailable)
    result = runner.invoke(cli, ["serve", "--store", "milvus", "--workers", "2"], env=env)
    assert result.exit_code == 2 and "Milvus Lite" in result.output
    result = runner.invoke(cli, ["index", "--store", "cassandra"], env=env)
    assert result.exit_code == 2 and "faiss" in result.output


def test_health_names_the_store_and_answers_503_when_it_stops(stores, settings):
    from fastapi.testclient import TestClient

    from rag.api.app import create_app

    milvus = stores["milvus"]
    with TestClient(create_app(settings, milvus)) as c:
        h = c.get("/api/health")
        assert h.status_code == 200 and h.json()["store"]["store"] == "milvus"
        broken = dataclasses.replace(milvus.store, client=_Down())
        c.app.state.pipeline = dataclasses.replace(milvus, store=broken)
        h = c.get("/api/health")
        assert h.status_code == 503
        err = h.json()["error"]
        assert err["code"] == "store_unavailable" and "Milvus" in err["message"] and "/" in err["message"]
    with TestClient(create_app(settings, stores["faiss"])) as c:
        assert c.get("/api/health").json()["store"]["store"] == "faiss"


def test_store_bench_compares_both_stores_through_the_protocol(stores, tmp_path):
    from rag.bench.stores import render_markdown, store_benchmark, write_report

    conf = stores["milvus"].settings
    report = store_benchmark(conf, "milvus", ROOT / "eval" / "dev.jsonl", queries=3, scale_n=1000)
    corpus, scale = report["corpus"], report["scale"]
    assert set(corpus["stores"]) == {"faiss", "milvus"} and corpus["questions"] == 3
    assert corpus["same_answers"] <= 3 and corpus["stores"]["milvus"]["ask_ms"]["n"] == 3
    assert scale["units"] == 1000 and scale["reports"] == 10
    assert set(scale["search_ms"]["milvus"]) == {"dense", "bm25", "dense_one_report", "bm25_one_report"}
    assert "| milvus |" in render_markdown(report)
    assert all(f.exists() for f in write_report(report, tmp_path))


class _Down:
    """A Milvus client whose server went away after start-up."""

    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("server unavailable")
        return fail


def test_two_shards_into_one_collection_answer_like_one_build(tmp_path, settings, pipeline, stores):
    """``rag index --shard i/n``: slices are a deterministic partition; nothing is published until
    every slice is in; then the collection answers exactly as a one-pass build."""
    from rag.pipeline import build_shard
    from rag.stores import builds_dir
    from rag.stores.index import IndexUnavailable, read_manifest
    from rag.stores.shards import Shard, ShardError

    root = _site(tmp_path)
    conf = _conf(settings, root, "milvus")
    ids = [d.id for d in CorpusLoader(conf.corpus_dir).load()]
    halves = [{d for d in ids if Shard(i, 2).holds(d)} for i in (1, 2)]
    assert halves[0].isdisjoint(halves[1]) and halves[0] | halves[1] == set(ids)
    assert [Shard.parse("2/2").holds(d) for d in ids] == [Shard(2, 2).holds(d) for d in ids]
    for bad in ("0/2", "3/2", "a/b", "2"):
        with pytest.raises(ShardError):
            Shard.parse(bad)

    store, changes = build_shard(conf, pipeline.embedder, Shard(1, 2), progress=False)
    assert store is None and changes["written"] == len(halves[0]) and changes["shards_done"] == 1
    with pytest.raises(IndexUnavailable):
        read_manifest(builds_dir(conf))  # no version flips with one slice in
    store, changes = build_shard(conf, pipeline.embedder, Shard(2, 2), progress=False)
    assert store is not None and changes["written"] == len(halves[1]) and changes["rebuilt"] == 0
    sharded, whole = Pipeline.load(conf), stores["milvus"]
    assert [u.text for u in sharded.store.units] == [u.text for u in whole.store.units]
    for q in SAMPLE:
        a, b = sharded.ask(q), whole.ask(q)
        assert (a.answer, [(c.doc, c.start) for c in a.citations]) == (b.answer, [(c.doc, c.start) for c in b.citations]), q


def test_shard_needs_milvus_and_a_valid_slice(tmp_path, settings):
    base = ["--corpus", str(SEED_DIR), "--index-dir", str(tmp_path / "index"), "index"]
    got = CliRunner().invoke(cli, [*base, "--shard", "1/2"])
    assert got.exit_code == 2 and "--store milvus" in got.output and "Traceback" not in got.output
    got = CliRunner().invoke(cli, [*base, "--shard", "3/2", "--store", "milvus",
                                   "--milvus-uri", str(tmp_path / "m.db")])
    assert got.exit_code == 2 and "i/n" in got.output and "Traceback" not in got.output
