"""``rag ask`` and ``rag commitments``: what the reports say, as a cited answer or as the ledger."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from rag.cli.context import fail, load_pipeline, settings_from
from rag.cli.options import CandidateKOpt, MilvusCollectionOpt, MilvusUriOpt, StoreOpt, argument, option, use_store
from rag.core.errors import RagError

QuestionArg = Annotated[str, argument("ask", "question")]
TopKOpt = Annotated[int | None, option("ask", "--top-k", "-k", min=1, max=20)]
JsonOpt = Annotated[bool, option("ask", "--json")]


def ask(
    ctx: typer.Context,
    question: QuestionArg,
    top_k: TopKOpt = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None, milvus_uri: MilvusUriOpt = None, milvus_collection: MilvusCollectionOpt = None,
    candidate_k: CandidateKOpt = None,
) -> None:
    """提问并得到带引用的回答 / Ask a question and get a cited answer."""
    use_store(ctx, store, milvus_uri, milvus_collection, candidate_k)
    question = question.strip()
    if not question:
        fail("问题不能为空。 / The question must not be empty.", 2)
    answer = load_pipeline(ctx).ask(question, top_k=top_k)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(answer.answer)
    for c in answer.citations:
        page = f" p.{c.page}" if c.page is not None else ""
        typer.echo(f"  [{c.n}] {c.report or c.doc}{page} §{c.section_id} {c.section_path}\n"
                   f"      “{c.quote}” ({c.start}-{c.end})")
        if c.source_url:
            typer.echo(f"      {c.source_url}")


QOpt = Annotated[str | None, option("commitments", "--q")]
KindOpt = Annotated[str | None, option("commitments", "--kind")]
SectionOpt = Annotated[str | None, option("commitments", "--section")]
PromiseOpt = Annotated[str | None, option("commitments", "--promise")]
DocumentOpt = Annotated[list[str] | None, option("commitments", "--document")]
RegionOpt = Annotated[str | None, option("commitments", "--region")]
YearOpt = Annotated[int | None, option("commitments", "--year", min=1949, max=2100)]
FormatOpt = Annotated[str, option("commitments", "--format")]
OutOpt = Annotated[Path | None, option("commitments", "--out")]
LangOpt = Annotated[str, option("commitments", "--lang")]


def commitments(
    ctx: typer.Context,
    q: QOpt = None, kind: KindOpt = None, section: SectionOpt = None, promise: PromiseOpt = None,
    document: DocumentOpt = None, region: RegionOpt = None, year: YearOpt = None,
    fmt: FormatOpt = "table", out: OutOpt = None, lang: LangOpt = "zh",
) -> None:
    """目标与承诺清单 / Every target and achievement of the reports, linked to its place in the text;
    a target whose place has the next year's report too is marked met, missed or not reported."""
    from rag.answer.selection import ReportSelector
    from rag.commitments.extract import CommitmentExtractor
    from rag.commitments.promises import STATUSES, track
    from rag.commitments.render import filter_commitments, render, to_csv_bytes
    from rag.ingest.corpus import CorpusLoader, skipped_lines

    if fmt not in ("table", "csv", "json", "md") or lang not in ("zh", "en"):
        fail(f"未知格式或语言 {fmt!r}/{lang!r}（可选 table/csv/json/md，zh/en） / Unknown format or language "
             f"{fmt!r}/{lang!r} (table, csv, json, md; zh, en)", 2)
    if kind not in (None, "target", "achievement"):
        fail(f"未知类型 {kind!r}（可选 target/achievement） / Unknown kind {kind!r} (target, achievement)", 2)
    if promise not in (None, *STATUSES):
        fail(f"未知兑现情况 {promise!r}（可选 {'/'.join(STATUSES)}） / Unknown promise status {promise!r}", 2)
    try:
        loader = CorpusLoader(settings_from(ctx).corpus_dir)
        got = loader.read()
        docs = loader.require(got)
        if got.skipped:
            typer.echo("未读取的文件 / Files not read:\n" + skipped_lines(got.skipped), err=True)
        ids = ReportSelector(docs).resolve(document, region, year)
    except RagError as exc:
        fail(str(exc))
    everything = CommitmentExtractor().run(docs)
    track(everything, docs)
    items = filter_commitments(everything, q=q, kind=kind, section=section, documents=ids, promise=promise)
    by_id = {c.id: c for c in everything}
    if out is None:
        typer.echo(render(items, fmt, lang, by_id), nl=False)
        return
    data = to_csv_bytes(items, lang, by_id) if fmt == "csv" else render(items, fmt, lang, by_id).encode("utf-8")
    out.write_bytes(data)
    typer.echo(f"已写入 {len(items)} 条 / Wrote {len(items)} rows -> {out}")
