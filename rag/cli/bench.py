"""``rag bench``: every stage against its physical floor, or one store against the in-process one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rag.cli.context import fail, load_pipeline, settings_from
from rag.cli.options import CandidateKOpt, MilvusCollectionOpt, MilvusUriOpt, StoreOpt, use_store
from rag.core.errors import RagError

OutOpt = Annotated[Path, typer.Option("--out", help="报告目录 / report folder")]
DatasetOpt = Annotated[Path, typer.Option("--dataset", help="问题来源 JSONL / JSONL with `question` fields")]
QueriesOpt = Annotated[int, typer.Option("--queries", min=1, help="每阶段问题数 / questions per latency phase")]
SecondsOpt = Annotated[float, typer.Option(
    "--seconds", min=0.1, help="每档吞吐测试秒数 / seconds per throughput level")]
ColdRunsOpt = Annotated[int, typer.Option("--cold-runs", min=1, help="冷启动次数 / cold starts")]
SkipOpt = Annotated[str | None, typer.Option(
    "--skip", help="跳过阶段，逗号分隔 / phases to skip: startup,cold,build,inprocess,http,pdf")]
ScaleOpt = Annotated[bool, typer.Option("--scale", help="另做合成规模测试 / also run the synthetic scale benchmark")]
ScaleNOpt = Annotated[int, typer.Option(
    "--scale-n", min=1000, help="规模测试向量/单元数 / vectors and units at scale")]
SampleOpt = Annotated[int, typer.Option(
    "--sample", min=0, help="建索引阶段只取语料中均匀分布的 N 份报告（0 = 全部） / the build phase indexes N reports "
                            "of --corpus at even steps (0 = all)")]
PassagesOpt = Annotated[int, typer.Option(
    "--passages", min=10, help="torch 与 ONNX 批量编码对比的段落数 / passages of the torch vs ONNX batched encode")]


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
    from rag.bench.serving import BenchConfig, Benchmark, load_questions, scale_benchmark, write_report

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
