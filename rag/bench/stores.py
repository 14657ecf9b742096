"""``rag bench --store milvus``: a store against the in-process FAISS store, through the same
``Store`` protocol, at today's corpus (whole answers) and at ``n`` synthetic units (candidate
searches alone, with and without a one-report filter).

Each question is asked of both stores in turn, each first half the time, so load on a shared
machine hits both alike."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.bench.scale import scale_vectors
from rag.bench.stats import load_questions, ratio, summary
from rag.core.types import Document, Unit
from rag.genre.text import tokenize
from rag.stores.index import Manifest

if TYPE_CHECKING:
    from rag.core.settings import Settings
    from rag.stores.base import Store
    from rag.stores.milvus import MilvusStore

Log = Callable[[str], None]
UNITS_PER_REPORT = 100  # synthetic reports, so a one-report filter has something to select


def _ms(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> float:
    """Milliseconds of one call ``fn(*args, **kwargs)``."""
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return (time.perf_counter() - t0) * 1000


def _candidates(store: Store, vec: np.ndarray, text: str, k: int) -> None:
    """Both candidate searches of one question, as one answer runs them."""
    store.dense_candidates(vec, k)
    store.bm25_candidates(text, k)


def corpus_phase(settings: Settings, store: str, questions: list[str], log: Log) -> dict:
    """``Pipeline.ask`` p50/p95 on both stores over the same questions (query cache off), the
    stores' candidate searches alone, and how many answers agree."""
    from rag.pipeline import Pipeline

    pipes = {name: Pipeline.load(settings.model_copy(update={"store": name, "query_cache_size": 0}))
             for name in ("faiss", store)}
    for p in pipes.values():  # warm: first calls load lazily
        for q in questions[:3]:
            p.ask(q)
    ask: dict[str, list[float]] = {n: [] for n in pipes}
    search: dict[str, list[float]] = {n: [] for n in pipes}
    answers: dict[str, list[str]] = {n: [] for n in pipes}
    for i, q in enumerate(questions):
        part = pipes["faiss"].analyzer.analyze(q)[0]
        vec = pipes["faiss"].embedder.encode_queries([part.search_text])[0]
        for name in (("faiss", store) if i % 2 else (store, "faiss")):  # each goes first half the time
            p = pipes[name]
            k = settings.candidate_k
            search[name].append(_ms(_candidates, p.store, vec, part.search_text, k))
            t0 = time.perf_counter()
            answers[name].append(p.ask(q).answer)
            ask[name].append((time.perf_counter() - t0) * 1000)
    log(f"  corpus: {len(questions)} questions asked of faiss and {store}")
    rows: dict[str, dict[str, Any]] = {
        n: {"ask_ms": summary(ask[n]), "candidates_ms": summary(search[n]), "units": len(pipes[n].store.units),
            "store": pipes[n].store.describe()} for n in pipes}
    same = sum(a == b for a, b in zip(answers["faiss"], answers[store], strict=True))
    return {"stores": rows, "same_answers": same, "questions": len(questions),
            "ask_p50_ratio": ratio(rows[store]["ask_ms"]["p50"], rows["faiss"]["ask_ms"]["p50"])}


def _synthetic_units(n: int, base: list[Unit]) -> tuple[list[Document], list[Unit]]:
    """``n`` units cycling the real units' texts (so BM25 has real words), in reports of 100."""
    units = []
    for i in range(n):
        u = base[i % len(base)]
        units.append(Unit(i, f"r{i // UNITS_PER_REPORT:05d}", u.section_id, u.section_path, u.start, u.end,
                          u.text, u.tokens, u.kind))
    docs = [Document(d, d, d, "") for d in dict.fromkeys(u.doc_id for u in units)]
    return docs, units


def _manifest(docs: list[Document], units: list[Unit], dim: int, **more: Any) -> Manifest:
    return Manifest(model_id="synthetic", dim=dim, corpus_hash="synthetic", chunker={}, n_documents=len(docs),
                    n_sections=0, n_units=len(units), built_at="", report_hashes={d.id: "0" * 16 for d in docs}, **more)


def _faiss_store(docs: list[Document], units: list[Unit], xb: np.ndarray) -> tuple[Store, float]:
    import bm25s

    from rag.stores.faiss import FaissStore
    from rag.stores.index import bm25_tokens, search_index

    t0 = time.perf_counter()
    index: Any = search_index(xb.shape[1])  # a faiss.Index
    index.add(xb)
    bm25 = bm25s.BM25()
    bm25.index([bm25_tokens(u) for u in units], show_progress=False)
    built = time.perf_counter() - t0
    return FaissStore(Path("synthetic"), _manifest(docs, units, xb.shape[1]), docs, units, index, bm25, xb), built


def _milvus_store(settings: Settings, docs: list[Document], units: list[Unit], xb: np.ndarray,
                  log: Log) -> tuple[MilvusStore, float]:
    from rag.stores.milvus import MilvusIndexer, MilvusStore, connect, engine_config, version_tag

    indexer = MilvusIndexer(settings, embedder=None)  # type: ignore[arg-type]  # rows come embedded
    client = connect(settings)
    t0 = time.perf_counter()
    indexer._create(client, xb.shape[1])
    rows: list[dict] = []
    for d in docs:
        mine = [u for u in units[int(d.id[1:]) * UNITS_PER_REPORT:][:UNITS_PER_REPORT]]
        rows += indexer._rows(d, mine, xb[mine[0].id:mine[0].id + len(mine)], version_tag(d.id, "0" * 16))
        if len(rows) >= 2000 or d is docs[-1]:
            client.insert(settings.milvus_collection, rows)
            rows = []
            log(f"    inserted up to report {d.id}")
    client.flush(settings.milvus_collection)
    client.load_collection(settings.milvus_collection)
    built = time.perf_counter() - t0
    manifest = _manifest(docs, units, xb.shape[1], store="milvus", engine=engine_config(settings))
    return MilvusStore(Path("synthetic"), manifest, docs, units, client, settings), built


def _timings(stores: dict[str, Store], xq: np.ndarray, texts: list[str], k: int, doc: str) -> dict:
    out = {}
    for name, s in stores.items():
        rows: dict[str, list[float]] = {"dense": [], "bm25": [], "dense_one_report": [], "bm25_one_report": []}
        for vec, text in zip(xq, texts, strict=True):
            rows["dense"].append(_ms(s.dense_candidates, vec, k))
            rows["bm25"].append(_ms(s.bm25_candidates, text, k))
            rows["dense_one_report"].append(_ms(s.dense_candidates, vec, k, doc_ids=[doc]))
            rows["bm25_one_report"].append(_ms(s.bm25_candidates, text, k, doc_ids=[doc]))
        out[name] = {key: summary(v) for key, v in rows.items()}
    return out


def scale_phase(settings: Settings, base: list[Unit], questions: list[str], n: int, queries: int, log: Log) -> dict:
    """Both stores over ``n`` synthetic units: build time and candidate searches (k = candidate_k)."""
    import faiss

    faiss.omp_set_num_threads(1)  # one request, one thread, as served
    rng = np.random.default_rng(0)
    xb, xq = scale_vectors(n, 384, queries, rng)
    docs, units = _synthetic_units(n, base)
    with tempfile.TemporaryDirectory(prefix="rag-store-bench-") as tmp:
        conf = settings.model_copy(update={"milvus_collection": "bench_synthetic", "milvus_uri":
                                           settings.milvus_uri or str(Path(tmp) / "bench.db")})
        log(f"  scale: FAISS + bm25s over {n} units")
        fs, f_built = _faiss_store(docs, units, xb)
        log(f"  scale: Milvus ({conf.milvus_target}) over {n} units")
        ms, m_built = _milvus_store(conf, docs, units, xb, log)
        texts = [(questions * (queries // max(1, len(questions)) + 1))[i] for i in range(queries)]
        report = {"units": n, "reports": len(docs), "queries": queries, "k": settings.candidate_k,
                  "build_s": {"faiss": round(f_built, 2), "milvus": round(m_built, 2)},
                  "search_ms": _timings({"faiss": fs, "milvus": ms}, xq, texts, settings.candidate_k,
                                        docs[len(docs) // 2].id),
                  "milvus": ms.describe()}
        ms.client.drop_collection(conf.milvus_collection)
    return report


def store_benchmark(settings: Settings, store: str, dataset: Path, *, queries: int = 30, scale_n: int | None = None,
                    log: Log | None = None) -> dict:
    """The JSON report of ``rag bench --store``: corpus phase always, scale phase with ``scale_n``."""
    from rag.pipeline import load_store

    log = log or (lambda msg: None)
    questions = load_questions(dataset, queries)
    report: dict = {"meta": {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
                             "load_avg": [round(x, 2) for x in os.getloadavg()], "store": store,
                             "candidate_k": settings.candidate_k, "dataset": str(dataset)}}
    report["corpus"] = corpus_phase(settings, store, questions, log)
    if scale_n:
        base = load_store(settings.model_copy(update={"store": "faiss"})).units
        report["scale"] = scale_phase(settings.model_copy(update={"store": store}), base,
                                      [" ".join(tokenize(q)) for q in questions], scale_n, min(100, 3 * queries), log)
    return report


def write_report(report: dict, out_dir: Path) -> tuple[Path, Path]:
    import json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / "stores.json", out_dir / "stores.md"
    js.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
    md.write_text(render_markdown(report), "utf-8")
    return js, md


def render_markdown(report: dict) -> str:
    m, c = report["meta"], report["corpus"]
    store = m["store"]
    lines = [f"# Store benchmark: {store} against faiss", "",
             f"{m['started']}, {m['cpus']} CPUs, load {m['load_avg']}, candidate_k {m['candidate_k']}, "
             f"questions from {m['dataset']}.", "",
             f"## Today's corpus ({c['stores']['faiss']['units']} units, {c['questions']} questions, "
             "each asked once per store)", "",
             "| store | ask p50 ms | ask p95 ms | candidates p50 ms | candidates p95 ms |", "|---|---|---|---|---|"]
    for name, row in c["stores"].items():
        lines.append(f"| {name} | {row['ask_ms']['p50']} | {row['ask_ms']['p95']} | "
                     f"{row['candidates_ms']['p50']} | {row['candidates_ms']['p95']} |")
    same = f"same answer text: {c['same_answers']}/{c['questions']}"
    lines += ["", f"ask p50 {store} / faiss: **{c['ask_p50_ratio']}**; {same}."]
    if "scale" in report:
        s = report["scale"]
        lines += ["", f"## {s['units']:,} synthetic units ({s['reports']} reports of {UNITS_PER_REPORT}), "
                      f"{s['queries']} queries, k = {s['k']}", "",
                  f"Build: faiss + bm25s {s['build_s']['faiss']} s, {store} {s['build_s']['milvus']} s.", "",
                  "| store | dense p50 | dense p95 | BM25 p50 | BM25 p95 | dense, one report p50 "
                  "| BM25, one report p50 |",
                  "|---|---|---|---|---|---|---|"]
        for name, row in s["search_ms"].items():
            lines.append(f"| {name} | {row['dense']['p50']} | {row['dense']['p95']} | {row['bm25']['p50']} | "
                         f"{row['bm25']['p95']} | {row['dense_one_report']['p50']} | {row['bm25_one_report']['p50']} |")
        lines.append("\n(milliseconds per candidate search)")
    return "\n".join(lines) + "\n"
