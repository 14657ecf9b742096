"""``rag bench``: every stage against its physical floor, or one store against the in-process one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rag.cli.context import fail, load_pipeline, settings_from
from rag.cli.options import CandidateKOpt, MilvusCollectionOpt, MilvusUriOpt, StoreOpt, option, use_store
from rag.core.errors import RagError

OutOpt = Annotated[Path, option("bench", "--out")]
DatasetOpt = Annotated[Path, option("bench", "--dataset")]
QueriesOpt = Annotated[int, option("bench", "--queries", min=1)]
SecondsOpt = Annotated[float, option("bench", "--seconds", min=0.1)]
ColdRunsOpt = Annotated[int, option("bench", "--cold-runs", min=1)]
SkipOpt = Annotated[str | None, option("bench", "--skip")]
ScaleOpt = Annotated[bool, option("bench", "--scale")]
ScaleNOpt = Annotated[int, option("bench", "--scale-n", min=1000)]
SampleOpt = Annotated[int, option("bench", "--sample", min=0)]
PassagesOpt = Annotated[int, option("bench", "--passages", min=10)]


def bench(
    ctx: typer.Context, out: OutOpt = Path("eval/reports/bench"), dataset: DatasetOpt = Path("eval/dev.jsonl"),
    queries: QueriesOpt = 30, seconds: SecondsOpt = 4.0, cold_runs: ColdRunsOpt = 1, skip: SkipOpt = None,
    scale: ScaleOpt = False, scale_n: ScaleNOpt = 100_000, sample: SampleOpt = 0, passages: PassagesOpt = 400,
    store: StoreOpt = None, milvus_uri: MilvusUriOpt = None, milvus_collection: MilvusCollectionOpt = None,
    candidate_k: CandidateKOpt = None,
) -> None:
    """性能基准：与物理下限（查询编码）对比 / Benchmark every stage against its physical floor.

    With --store milvus: that store against the in-process FAISS store instead (ask latency on
    the corpus; with --scale, candidate searches over --scale-n synthetic units)."""
    use_store(ctx, store, milvus_uri, milvus_collection, candidate_k)
    if store not in (None, "faiss"):
        _bench_store(ctx, store, dataset, queries, scale_n if scale else None, out)
        return
    from rag.bench.context import BenchConfig
    from rag.bench.report import write_report
    from rag.bench.scale import scale_benchmark
    from rag.bench.serving import Benchmark
    from rag.bench.stats import load_questions

    phases = BenchConfig.phases
    unknown = set((skip or "").split(",")) - set(phases) - {""}
    if unknown:
        fail(f"未知阶段 {', '.join(sorted(unknown))}（可选 {','.join(phases)}） / Unknown phase(s); "
             f"use {','.join(phases)}", 2)
    if not dataset.is_file():
        fail(f"找不到问题集：{dataset} / Question file not found: {dataset}", 2)
    config = BenchConfig(dataset=dataset, queries=queries, seconds=seconds, cold_runs=cold_runs, sample=sample,
                         passages=passages, phases=tuple(p for p in phases if p not in (skip or "").split(",")))

    def log(msg: str) -> None:
        typer.echo(msg, err=True)

    try:
        report = Benchmark(settings_from(ctx), config, log=log).run()
        files = list(write_report(report, out))
        if scale:
            from rag.genre.text import tokenize

            pipeline = load_pipeline(ctx)
            units = [tokenize(u.text) for u in pipeline.store.units]
            asked = [tokenize(q) for q in load_questions(dataset, 100)]
            at_scale = scale_benchmark(scale_n, unit_tokens=units, query_tokens=asked, log=log)
            files += write_report(at_scale, out, "scale")
    except (RagError, RuntimeError, TimeoutError, OSError) as exc:  # a server that did not start or answer in time
        fail(f"基准测试失败：{exc} / Benchmark failed: {exc}")
    for name, c in report["acceptance"].items():
        mark = {True: "ok ", False: "NO ", None: "-- "}[c["met"]]
        typer.echo(f"{mark} {name}: {c['value']} (limit {c['limit']})")
    typer.echo(f"报告已写入 / Report written: {', '.join(str(f) for f in files)}")


def _bench_store(ctx: typer.Context, store: str, dataset: Path, queries: int, scale_n: int | None, out: Path) -> None:
    """``rag bench --store milvus``: ask latency and candidate searches of that store beside FAISS."""
    from rag.bench.stores import store_benchmark, write_report

    if not dataset.is_file():
        fail(f"找不到问题集：{dataset} / Question file not found: {dataset}", 2)
    try:
        report = store_benchmark(settings_from(ctx), store, dataset, queries=queries, scale_n=scale_n,
                                 log=lambda msg: typer.echo(msg, err=True))
    except (RagError, OSError) as exc:  # OSError: a report folder that cannot be written
        fail(f"基准测试失败：{exc} / Benchmark failed: {exc}")
    c = report["corpus"]
    typer.echo(f"ask p50 {store} / faiss: {c['ask_p50_ratio']} "
               f"({c['stores'][store]['ask_ms']['p50']} / {c['stores']['faiss']['ask_ms']['p50']} ms)")
    typer.echo(f"报告已写入 / Report written: {', '.join(str(f) for f in write_report(report, out))}")
