"""``rag bench --scale``: synthetic figures behind ``docs/scaling.md`` for a corpus of ~10,000
reports (FAISS index types, BM25 at 100k units), measured at ``n`` vectors and units."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from rag.bench.stats import fmt, summary


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def scale_vectors(n: int, dim: int, queries: int, rng: Any) -> tuple[Any, Any]:
    """``n`` unit vectors clustered around ``n / 100`` centres, and ``queries`` noisy copies of them.

    Public because the store benchmark (``rag.bench.stores``) measures its stores on the same vectors."""
    import faiss
    import numpy as np

    centres = rng.standard_normal((max(1, n // 100), dim), dtype=np.float32)
    xb = centres[rng.integers(len(centres), size=n)] + rng.standard_normal((n, dim), dtype=np.float32)
    faiss.normalize_L2(xb)
    xq = xb[rng.choice(n, queries, replace=False)] + rng.standard_normal((queries, dim), dtype=np.float32) * 0.02
    xq = np.ascontiguousarray(xq, dtype=np.float32)
    faiss.normalize_L2(xq)
    return xb, xq


def _faiss_indexes(xb: Any, dim: int, pq_m: int, pq_bits: int) -> dict[str, Callable[[], Any]]:
    """Builders of the compared FAISS indexes, exact (flat) first: it is the recall reference."""
    import faiss
    import numpy as np

    def ivfpq() -> Any:
        nlist = max(16, int(4 * np.sqrt(len(xb))))
        index = faiss.IndexIVFPQ(faiss.IndexFlatIP(dim), dim, nlist, pq_m, pq_bits, faiss.METRIC_INNER_PRODUCT)
        index.train(xb)
        index.add(xb)
        index.nprobe = 16
        return index

    def hnsw() -> Any:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
        index.add(xb)
        index.hnsw.efSearch = 64
        return index

    def flat() -> Any:
        index = faiss.IndexFlatIP(dim)
        index.add(xb)
        return index

    return {"flat": flat, "hnsw32": hnsw, f"ivf_pq{pq_m}": ivfpq}


def _scale_faiss(xb: Any, xq: Any, k: int, pq_m: int, pq_bits: int, log: Callable[[str], None]) -> dict[str, dict]:
    """Build time, memory, per-query search time and recall@k of each index, on one thread."""
    import faiss
    import numpy as np

    def per_query_ms(index: Any) -> tuple[dict, np.ndarray]:
        ids, times = [], []
        for q in xq:
            t0 = time.perf_counter()
            _, i = index.search(q[None, :], k)
            times.append((time.perf_counter() - t0) * 1000)
            ids.append(i[0])
        return summary(times), np.array(ids)

    rows: dict[str, dict] = {}
    truth = None
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        for name, make in _faiss_indexes(xb, xb.shape[1], pq_m, pq_bits).items():
            log(f"  faiss {name}")
            index, build_s = _timed(make)
            search, ids = per_query_ms(index)
            if truth is None:
                truth = ids
            recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, truth, strict=True)]))
            memory_mb = round(len(faiss.serialize_index(index)) / 2**20, 2)
            rows[name] = {"build_s": round(build_s, 3), "memory_mb": memory_mb,
                          "search_ms": search, f"recall_at_{k}": round(recall, 4)}
            del index
    finally:
        faiss.omp_set_num_threads(threads)
    return rows


def _scale_bm25(n: int, k: int, queries: int, unit_tokens: list[list[str]] | None,
                query_tokens: list[list[str]] | None, rng: Any) -> dict:
    """BM25 over ``n`` units made from real units' tokens with random drops and a unique tag each."""
    import bm25s

    base = unit_tokens or [["政府", "工作", "报告"]]
    corpus = []
    for i in range(n):
        toks = base[i % len(base)]
        keep = rng.random(len(toks)) > 0.2
        corpus.append([t for t, kept in zip(toks, keep, strict=True) if kept] + [f"u{i}"])
    bm25 = bm25s.BM25()
    _, bm25_build = _timed(lambda: bm25.index(corpus, show_progress=False))
    vocab = bm25.vocab_dict
    asked = [[t for t in q if t in vocab] for q in (query_tokens or base)]
    qtoks = [q for q in asked if q][:queries] or [[next(iter(vocab))]]
    full, topk = [], []
    for q in qtoks:
        t0 = time.perf_counter()
        bm25.get_scores(q)
        full.append((time.perf_counter() - t0) * 1000)
    for q in qtoks:
        t0 = time.perf_counter()
        bm25.retrieve([q], k=k, show_progress=False, n_threads=1)
        topk.append((time.perf_counter() - t0) * 1000)
    bm25_mb = sum(a.nbytes for a in bm25.scores.values() if hasattr(a, "nbytes")) / 2**20
    return {"units": n, "build_s": round(bm25_build, 3), "memory_mb": round(bm25_mb, 2),
            "vocab": len(vocab), "get_scores_ms": summary(full), "retrieve_topk_ms": summary(topk)}


def scale_benchmark(n: int = 100_000, dim: int = 384, queries: int = 100, k: int = 10, *,
                    pq_m: int = 48, pq_bits: int = 8, unit_tokens: list[list[str]] | None = None,
                    query_tokens: list[list[str]] | None = None, seed: int = 0,
                    log: Callable[[str], None] | None = None) -> dict:
    """Synthetic figures for ~10,000 reports (about a million units, measured here at ``n``).

    Vectors are random normal around ``n / 100`` random-normal centres (embeddings of a corpus
    cluster by topic; without clusters every neighbour is a near-tie and recall@k means nothing),
    L2-normalised; queries are noisy copies of stored vectors, and recall@k is measured against
    the exact (flat) search. BM25 indexes ``n``
    units made by duplicating real units' tokens with random drops and a unique tag each.
    FAISS runs on one thread, as one request does, so shared-machine load skews it least.
    """
    import numpy as np

    log = log or (lambda msg: None)
    rng = np.random.default_rng(seed)
    xb, xq = scale_vectors(n, dim, queries, rng)
    faiss_rows = _scale_faiss(xb, xq, k, pq_m, pq_bits, log)
    log("  bm25s")
    bm25 = _scale_bm25(n, k, queries, unit_tokens, query_tokens, rng)
    return {
        "meta": {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
                 "load_avg": [round(x, 2) for x in os.getloadavg()], "n": n, "dim": dim, "queries": len(xq), "k": k},
        "faiss": faiss_rows,
        "bm25": bm25,
    }


def render_scale_markdown(report: dict) -> str:
    """A human summary of the scale report: each FAISS index, then BM25."""
    m = report["meta"]
    lines = [f"# rag bench --scale — {m['started']}", "",
             f"{m['n']:,} {m['dim']}-d vectors (random normal around {m['n'] // 100:,} random-normal centres), "
             f"{m['queries']} single-vector queries (noisy copies of stored vectors), k={m['k']}, "
             f"{m['cpus']} CPUs (load average {m['load_avg']}).", "",
             f"| FAISS index | build s | memory MB | search p50 ms | search p95 ms | recall@{m['k']} |",
             "|---|---|---|---|---|---|"]
    recall = f"recall_at_{m['k']}"
    for name, r in report["faiss"].items():
        lines.append(f"| {name} | {fmt(r['build_s'])} | {fmt(r['memory_mb'])} | {fmt(r['search_ms']['p50'])} | "
                     f"{fmt(r['search_ms']['p95'])} | {fmt(r[recall])} |")
    b = report["bm25"]
    lines += ["", f"BM25 (bm25s) over {b['units']:,} duplicated-and-perturbed units, vocabulary {b['vocab']:,}:", "",
              "| build s | memory MB | all scores p50 ms | all scores p95 ms | top-k p50 ms | top-k p95 ms |",
              "|---|---|---|---|---|---|",
              f"| {fmt(b['build_s'])} | {fmt(b['memory_mb'])} | {fmt(b['get_scores_ms']['p50'])} | "
              f"{fmt(b['get_scores_ms']['p95'])} | {fmt(b['retrieve_topk_ms']['p50'])} | "
              f"{fmt(b['retrieve_topk_ms']['p95'])} |"]
    return "\n".join(lines) + "\n"
