"""The ``rag`` command. Heavy modules are imported inside commands so ``rag --help`` is instant."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from rag.core.paths import GOV_REPORTS_DIR

if TYPE_CHECKING:
    from rag.core.settings import Settings

app = typer.Typer(
    name="rag",
    help="政府工作报告问答：带引用的离线问答。 / Cited, offline question answering over government work reports.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


def _fail(message: str, code: int = 1) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(code)


@app.callback()
def main(
    ctx: typer.Context,
    corpus_dir: Annotated[Optional[Path], typer.Option("--corpus", help="语料目录 / corpus folder (RAG_CORPUS_DIR)")] = None,
    index_dir: Annotated[Optional[Path], typer.Option("--index-dir", help="索引目录 / index folder (RAG_INDEX_DIR)")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="sentence-transformers 模型名或路径 / model name or path (RAG_MODEL)")] = None,
    encoder: Annotated[Optional[str], typer.Option("--encoder", help="onnx | torch：内置模型的编码器 / encoder of the built-in model (RAG_ENCODER, default onnx)")] = None,
) -> None:
    """Global options override ``RAG_*`` environment settings for every command."""
    if encoder not in (None, "onnx", "torch"):
        _fail(f"未知编码器 {encoder!r}（可选 onnx/torch） / Unknown encoder {encoder!r} (onnx or torch)", 2)
    overrides = {k: v for k, v in {"corpus_dir": corpus_dir, "index_dir": index_dir, "model": model,
                                   "encoder": encoder}.items() if v}
    ctx.obj = overrides


StoreOpt = Annotated[Optional[str], typer.Option("--store", help="faiss（进程内）| milvus / where units and vectors live (RAG_STORE)")]
MilvusUriOpt = Annotated[Optional[str], typer.Option(
    "--milvus-uri", help="Milvus Lite 文件（.db）或 http://host:19530 / a Milvus Lite file or server URI (RAG_MILVUS_URI; token: RAG_MILVUS_TOKEN)")]
MilvusCollectionOpt = Annotated[Optional[str], typer.Option("--milvus-collection", help="集合名 / collection (RAG_MILVUS_COLLECTION)")]
CandidateKOpt = Annotated[Optional[int], typer.Option("--candidate-k", min=1, help="每路候选数 / candidates per retriever (RAG_CANDIDATE_K)")]


def use_store(ctx: typer.Context, store: str | None, milvus_uri: str | None = None,
              milvus_collection: str | None = None, candidate_k: int | None = None) -> None:
    """Adds a command's store options to the overrides every later step (and ``--workers``) reads."""
    if store not in (None, "faiss", "milvus"):
        _fail(f"未知存储 {store!r}（可选 faiss/milvus） / Unknown store {store!r}: use faiss or milvus", 2)
    more = {"store": store, "milvus_uri": milvus_uri, "milvus_collection": milvus_collection, "candidate_k": candidate_k}
    ctx.obj = {**(ctx.obj or {}), **{k: v for k, v in more.items() if v is not None}}


def settings_from(ctx: typer.Context, **more: object) -> Settings:
    from pydantic import ValidationError

    from rag.core.settings import Settings

    try:
        return Settings(**{**(ctx.obj or {}), **{k: v for k, v in more.items() if v is not None}})
    except ValidationError as exc:  # e.g. RAG_ENCODER=gpu: a clear message, not a traceback
        bad = "; ".join(f"RAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        _fail(f"设置无效：{bad} / Invalid settings: {bad}", 2)


def load_pipeline(ctx: typer.Context, **more: object):
    """The pipeline, or a clean bilingual error instead of a traceback."""
    from rag.answer.window_scorer import ScorerError
    from rag.core.locking import IndexBusy
    from rag.embed.embedder import ModelLoadError
    from rag.ingest.corpus import CorpusError
    from rag.pipeline import Pipeline
    from rag.stores.index import IndexUnavailable

    try:
        return Pipeline.load(settings_from(ctx, **more), progress=sys.stderr.isatty())
    except (CorpusError, IndexUnavailable, IndexBusy, ModelLoadError, ScorerError) as exc:
        _fail(str(exc))


def _built(store) -> None:
    """What a build indexed, and every file it could not (never skipped silently)."""
    from rag.ingest.corpus import skipped_lines

    m = store.manifest
    typer.echo(f"已建索引 / Index built: {m.n_documents} documents, {m.n_sections} sections, {m.n_units} units -> {store.path}")
    if m.embedded >= 0:
        typer.echo(f"已嵌入 {m.embedded} 个单元，沿用 {m.n_units - m.embedded} 个 / Embedded {m.embedded} units, "
                   f"reused {m.n_units - m.embedded} from the previous build")
    if m.skipped:
        typer.echo(f"未索引的文件 / Files not indexed ({len(m.skipped)}):\n{skipped_lines(m.skipped)}")
    if getattr(store, "changes", None):  # Milvus: what this incremental update wrote
        c, where = store.changes, store.describe()
        typer.echo(f"Milvus {where['uri']} / {where['collection']}: {c['written']} reports written "
                   f"({c['units_written']} units), {c['kept']} unchanged, {c['removed']} removed"
                   + (" (collection rebuilt)" if c["rebuilt"] else ""))


@app.command()
def index(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="即使未过期也重建 / rebuild even if current")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="有文件无法读取时失败（退出码 1），保留原索引 / fail (exit 1) if any file cannot be read, keeping the previous index")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只列出将索引的报告及其目录条目，不嵌入 / list the reports that would be indexed, with their catalogue entries, embedding nothing")] = False,
    shard: Annotated[Optional[str], typer.Option("--shard", help="只建第 i 片（共 n 片，Milvus）；全部建完才发布 / build slice i of n into one Milvus collection; published when every slice is in")] = None,
    store: StoreOpt = None, milvus_uri: MilvusUriOpt = None, milvus_collection: MilvusCollectionOpt = None,
) -> None:
    """构建或更新索引 / Build the index (only when the corpus or model changed, unless --force).

    The corpus folder is read recursively. Units of reports that did not change keep their vectors
    (FAISS and Milvus alike): adding one report embeds that report only."""
    from rag.core.locking import IndexBusy
    from rag.embed.embedder import Embedder, ModelLoadError
    from rag.ingest.corpus import CorpusError, skipped_lines
    from rag.pipeline import build_index, stale_reasons
    from rag.stores.index import IndexUnavailable

    use_store(ctx, store, milvus_uri, milvus_collection)
    settings = settings_from(ctx)
    if dry_run:
        _dry_run(settings)
        return
    if shard is not None:
        _index_shard(settings, shard, strict=strict, force=force)
        return
    try:
        embedder = Embedder.from_settings(settings)
        loaded, reasons = stale_reasons(settings, embedder)
        if loaded is not None and not reasons and not force:
            skipped = loaded.manifest.skipped
            if skipped:
                typer.echo(f"未索引的文件 / Files not indexed ({len(skipped)}):\n{skipped_lines(skipped)}", err=strict)
                if strict:
                    _fail(f"严格模式：{len(skipped)} 个文件无法索引。 / Strict mode: {len(skipped)} file(s) cannot be indexed.")
            typer.echo(f"索引已是最新 / Index is up to date: {loaded.path}")
            return
        # waits while another build runs; on Milvus --force rewrites the collection
        loaded = build_index(settings, embedder, progress=True, strict=strict, full=force)
    except (CorpusError, IndexBusy, IndexUnavailable, ModelLoadError) as exc:
        _fail(str(exc))
    _built(loaded)


def _dry_run(settings: Settings) -> None:
    """``rag index --dry-run``: every report with its catalogue entry and every file that would not
    be indexed, with why; nothing is embedded, no model is loaded, the index is not touched."""
    from rag.ingest.corpus import CorpusError, CorpusLoader, skipped_lines

    try:
        got = CorpusLoader(settings.corpus_dir).read(progress=sys.stderr.isatty())
    except CorpusError as exc:
        _fail(str(exc))
    typer.echo("编号 id\t名称 name\t地区 place\t级别 level\t年份 year")
    for d in got.documents:
        r = d.report
        typer.echo(f"{d.id}\t{r.title or d.title}\t{r.region or '?'}\t{r.level or '?'}\t{r.year or '?'}")
    if got.skipped:
        typer.echo(f"未索引的文件 / Files not indexed ({len(got.skipped)}):\n{skipped_lines(got.skipped)}")
    typer.echo(f"将索引 {len(got.documents)} 份报告，未嵌入任何内容 / Would index {len(got.documents)} reports "
               f"({len(got.skipped)} files not indexed); nothing was embedded")


def _index_shard(settings: Settings, text: str, *, strict: bool, force: bool) -> None:
    """``rag index --shard i/n``: one slice into the Milvus collection; says what is still missing."""
    from rag.core.locking import IndexBusy
    from rag.embed.embedder import Embedder, ModelLoadError
    from rag.ingest.corpus import CorpusError
    from rag.pipeline import build_shard
    from rag.stores.index import IndexUnavailable
    from rag.stores.shards import Shard, ShardError

    if settings.store != "milvus":
        _fail("分片构建需要 Milvus：请加 --store milvus。 / Sharded builds go into Milvus: add --store milvus.", 2)
    try:
        shard = Shard.parse(text)
        store, changes = build_shard(settings, Embedder.from_settings(settings), shard, progress=True,
                                     strict=strict, full=force)
    except ShardError as exc:
        _fail(str(exc), 2)
    except (CorpusError, IndexBusy, IndexUnavailable, ModelLoadError) as exc:
        _fail(str(exc))
    typer.echo(f"分片 {shard} 已写入 / Shard {shard} written: {changes['written']} reports, "
               f"{changes['units_written']} units ({changes['shards_done']} of {changes['shards']} shards in)")
    if store is None:
        typer.echo("已发布的索引未变，等待其余分片 / The published index is unchanged until every shard is in.")
    else:
        _built(store)


def _report_files(paths: list[Path]) -> list[tuple[Path, Path, Path]]:
    """(file, the folder it was given under, where it goes in the corpus) for every file named or
    found in a named folder, recursively; hidden files (``.gitkeep``) are no reports, as in the corpus."""
    out: list[tuple[Path, Path, Path]] = []
    for p in paths:
        if p.is_dir():
            found = [(f, p, f.relative_to(p)) for f in sorted(p.rglob("*"))
                     if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)]
            if not found:
                _fail(f"文件夹中没有文件：{p} / No files in the folder {p}", 2)
            out += found
        elif p.is_file():
            out.append((p, p.parent, Path(p.name)))
        else:
            _fail(f"找不到文件：{p} / File not found: {p}", 2)
    return out


def _check_reports(files: list[tuple[Path, Path, Path]], corpus: Path) -> list[str]:
    """Why each file cannot join the corpus (unreadable, empty, no report, or an id another file
    has): the whole list, so one run names every problem."""
    from rag.core.progress import stage
    from rag.ingest.corpus import CorpusError, CorpusLoader, doc_id_for
    from rag.ingest.loaders import LoadError

    taken = {doc_id_for(f, corpus): f.relative_to(corpus).as_posix()
             for f in CorpusLoader(corpus).files()} if corpus.is_dir() else {}
    problems = []
    for src, root, rel in stage("check", files, enabled=sys.stderr.isatty() and len(files) > 1, total=len(files)):
        try:
            CorpusLoader(root).read_file(src)  # what ``rag index`` will do with it, before any copy
        except (LoadError, CorpusError) as exc:
            problems.append(str(exc))
            continue
        new_id = doc_id_for(corpus / rel, corpus)
        other = taken.setdefault(new_id, rel.as_posix())
        if other != rel.as_posix():
            problems.append(f"语料中已有同名报告 {other}（编号 {new_id}），请改名后再加入。"
                            f" / The corpus already has {other} with id {new_id}; rename the file first.")
    return problems


@app.command()
def add(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="报告文件或文件夹（.txt .md .docx .pdf .html） / report files or folders")],
) -> None:
    """加入报告并重建索引 / Copy report files (or folders of them, recursively) into the corpus and update the index.

    Every file is read first: a missing, unsupported, empty or unreadable file stops the command
    before anything is copied, so the corpus never holds a file the index would skip. A folder's
    layout is kept (``DIR/省/2025.md`` goes to ``corpus/省/2025.md``). Only the new reports are embedded."""
    import shutil

    from rag.core.progress import stage
    from rag.embed.embedder import Embedder, ModelLoadError
    from rag.ingest.corpus import CorpusError
    from rag.pipeline import build_index
    from rag.stores.index import IndexUnavailable

    settings = settings_from(ctx)
    corpus = Path(settings.corpus_dir)
    files = _report_files(paths)
    problems = _check_reports(files, corpus)
    if problems:
        _fail(f"未复制任何文件，{len(problems)} 个文件有问题 / Nothing was copied; {len(problems)} file(s) cannot be added:\n"
              + "\n".join(f"  - {p}" for p in problems), 2)
    replaced = 0
    for src, _, rel in stage("copy", files, enabled=sys.stderr.isatty() and len(files) > 1, total=len(files)):
        target = corpus / rel
        was = target.exists()
        replaced += was
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
        if len(files) <= 20:
            typer.echo(f"{'已替换' if was else '已加入'} / {'Replaced' if was else 'Added'}: {src} -> {target}")
    added = len(files) - replaced
    typer.echo(f"已加入 {added} 个、替换 {replaced} 个文件 / Added {added}, replaced {replaced} file(s) in {corpus}")
    try:
        store = build_index(settings, Embedder.from_settings(settings), progress=True)
    except (CorpusError, IndexUnavailable, ModelLoadError) as exc:
        _fail(str(exc))
    _built(store)


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="问题 / the question")],
    top_k: Annotated[int | None, typer.Option("--top-k", "-k", min=1, max=20,
                                              help="检索条数，默认 RAG_TOP_K（8） / units retrieved (default RAG_TOP_K, 8)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / print the answer JSON")] = False,
    store: StoreOpt = None, milvus_uri: MilvusUriOpt = None, milvus_collection: MilvusCollectionOpt = None,
    candidate_k: CandidateKOpt = None,
) -> None:
    """提问并得到带引用的回答 / Ask a question and get a cited answer."""
    use_store(ctx, store, milvus_uri, milvus_collection, candidate_k)
    question = question.strip()
    if not question:
        _fail("问题不能为空。 / The question must not be empty.", 2)
    answer = load_pipeline(ctx).ask(question, top_k=top_k)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    typer.echo(answer.answer)
    for c in answer.citations:
        page = f" p.{c.page}" if c.page is not None else ""
        typer.echo(f"  [{c.n}] {c.report or c.doc}{page} §{c.section_id} {c.section_path}\n      “{c.quote}” ({c.start}-{c.end})")
        if c.source_url:
            typer.echo(f"      {c.source_url}")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[Optional[str], typer.Option(help="监听地址 / bind address")] = None,
    port: Annotated[Optional[int], typer.Option(help="端口 / port")] = None,
    workers: Annotated[int, typer.Option(help="进程数 / worker processes")] = 1,
    store: StoreOpt = None, milvus_uri: MilvusUriOpt = None, milvus_collection: MilvusCollectionOpt = None,
    candidate_k: CandidateKOpt = None,
) -> None:
    """启动网页与 API 服务 / Serve the web page and the HTTP API."""
    import uvicorn

    from rag.api.transport import protocol

    use_store(ctx, store, milvus_uri, milvus_collection, candidate_k)
    settings = settings_from(ctx, host=host, port=port)
    if workers > 1 and settings.store == "milvus":
        from rag.stores.milvus import is_lite

        if is_lite(settings.milvus_target):
            _fail(f"Milvus Lite（{settings.milvus_target}）只能由一个进程打开：请用 --workers 1，或连接 Milvus 服务器。"
                  f" / Milvus Lite ({settings.milvus_target}) is opened by one process only: use --workers 1, "
                  "or a Milvus server URI.", 2)
    settings = _v1_token(settings)
    opened = f"打开 / Open http://{settings.host}:{settings.port}/  (API docs: /docs)"
    # slow or too many clients: see SECURITY.md («Limits and defences») for each setting
    limits = dict(limit_concurrency=settings.limit_concurrency or None, timeout_keep_alive=settings.timeout_keep_alive_s,
                  forwarded_allow_ips=settings.forwarded_allow_ips, log_level="info")
    if workers == 1:  # serve the pipeline loaded here, so the model is in memory once
        from ui.server import create_server  # the CLI alone joins API and page

        app_ = create_server(settings, load_pipeline(ctx))
        typer.echo(opened)
        uvicorn.run(app_, host=settings.host, port=settings.port, http=protocol(settings.header_timeout_s), **limits)
        return
    from rag.core.locking import IndexBusy
    from rag.embed.embedder import Embedder, ModelLoadError
    from rag.ingest.corpus import CorpusError
    from rag.pipeline import open_index
    from rag.stores.index import IndexUnavailable

    try:  # build or check the index once, before any worker starts; only workers load the model
        open_index(settings, Embedder.from_settings(settings), progress=sys.stderr.isatty())
    except (CorpusError, IndexUnavailable, IndexBusy, ModelLoadError) as exc:
        _fail(str(exc))
    typer.echo(opened)
    # workers build their own app from the environment, so global options travel through it
    os.environ.update({f"RAG_{k.upper()}": str(v) for k, v in (ctx.obj or {}).items()}, RAG_WORKERS=str(workers))
    uvicorn.run("ui.server:create_server", factory=True, host=settings.host, port=settings.port,
                workers=workers, http="rag.api.transport:GuardedH11Protocol", **limits)


def _v1_token(settings: Settings) -> Settings:
    """Off the loopback interface, the OpenAI-compatible ``/v1/`` needs a bearer token: one is made up
    and printed when ``RAG_API_TOKEN`` is unset (workers read it from the environment)."""
    import ipaddress
    import secrets

    try:
        loopback = settings.host == "localhost" or ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = False
    if settings.api_token or loopback:
        return settings
    token = secrets.token_urlsafe(24)
    os.environ["RAG_API_TOKEN"] = token
    typer.echo(f"/v1 接口的访问令牌（设置 RAG_API_TOKEN 可固定） / Bearer token for /v1 (set RAG_API_TOKEN to fix it): {token}")
    return settings.model_copy(update={"api_token": token})


@app.command()
def mcp(
    ctx: typer.Context,
    transport: Annotated[str, typer.Option(help="stdio（默认，供代理程序启动）| streamable-http / how hosts connect")] = "stdio",
    host: Annotated[str, typer.Option(help="streamable-http 的监听地址 / bind address for streamable-http")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="streamable-http 的端口 / port for streamable-http")] = 8001,
    store: StoreOpt = None, milvus_uri: MilvusUriOpt = None, milvus_collection: MilvusCollectionOpt = None,
) -> None:
    """MCP 服务：ask / search / list_reports / commitments 四个工具 / Serve the Model Context Protocol tools.

    An agent host starts it as a subprocess (stdio). The index is checked and the model loaded before
    the protocol starts, so a host gets a working server or a clear error on standard error."""
    import contextlib

    from rag.api.mcp import build_server

    if transport not in ("stdio", "streamable-http"):
        _fail(f"未知传输方式 {transport!r}（可选 stdio / streamable-http） / Unknown transport {transport!r}", 2)
    use_store(ctx, store, milvus_uri, milvus_collection, None)
    with contextlib.redirect_stdout(sys.stderr):  # standard output is the protocol's channel
        pipeline = load_pipeline(ctx)
    server = build_server(pipeline)
    if transport == "stdio":
        server.run("stdio")
    else:
        typer.echo(f"MCP (streamable HTTP): http://{host}:{port}/mcp", err=True)
        server.run("streamable-http", host=host, port=port)


@app.command()
def info(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
         store: StoreOpt = None, milvus_uri: MilvusUriOpt = None, milvus_collection: MilvusCollectionOpt = None) -> None:
    """模型与索引信息 / Model and index details, without loading the model."""
    from rag.embed.embedder import Embedder
    from rag.stores import catalogue_dir, describe_settings
    from rag.stores.index import IndexUnavailable, read_manifest

    use_store(ctx, store, milvus_uri, milvus_collection)
    settings = settings_from(ctx)
    embedder = Embedder.from_settings(settings)
    data: dict = {"model": settings.model, "model_id": embedder.model_id, "model_path": embedder.model_path,
                  "encoder": embedder.planned_encoder, "corpus_dir": str(settings.corpus_dir),
                  "index_dir": str(settings.index_dir), "store": describe_settings(settings)}
    try:
        m = read_manifest(catalogue_dir(settings))
        data |= {"dimension": m.dim, "documents": m.n_documents, "sections": m.n_sections, "units": m.n_units,
                 "reports": m.reports, "manifest": m.__dict__}
    except IndexUnavailable as exc:
        data |= {"dimension": None, "documents": None, "sections": None, "units": None, "reports": [],
                 "manifest": None, "index_error": str(exc)}
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        for k, v in data.items():
            if k not in ("manifest", "reports"):
                typer.echo(f"{k}: {v}")
        for r in data["reports"]:
            typer.echo(f"report: {r['id']}  {r['title'] or '—'}  ({r['region'] or '?'} · {r['level'] or '?'} · {r['year'] or '?'})")


@app.command()
def commitments(
    ctx: typer.Context,
    q: Annotated[Optional[str], typer.Option("--q", help="按指标/原文/章节筛选 / filter on metric, clause or section path")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", help="target（目标）或 achievement（成绩）")] = None,
    section: Annotated[Optional[str], typer.Option("--section", help="章节编号前缀，如 2.2 / section id prefix")] = None,
    promise: Annotated[Optional[str], typer.Option("--promise", help="兑现情况 met | missed | not_reported / a target's fate in the next year's report")] = None,
    document: Annotated[Optional[list[str]], typer.Option("--document", help="报告编号，可重复 / report id, repeatable")] = None,
    region: Annotated[Optional[str], typer.Option("--region", help="地区，如 江城 / place")] = None,
    year: Annotated[Optional[int], typer.Option("--year", min=1949, max=2100, help="报告年份 / the report's plan year")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table | csv | json | md")] = "table",
    out: Annotated[Optional[Path], typer.Option("--out", help="写入文件 / write to a file (CSV gets a UTF-8 BOM)")] = None,
    lang: Annotated[str, typer.Option("--lang", help="CSV 表头语言 zh | en / CSV header language")] = "zh",
) -> None:
    """目标与承诺清单 / Every target and achievement of the reports, linked to its place in the text;
    a target whose place has the next year's report too is marked met, missed or not reported."""
    from rag.answer.selection import ReportSelector, UnknownReport
    from rag.commitments.extract import CommitmentExtractor
    from rag.commitments.promises import STATUSES, track
    from rag.commitments.render import filter_commitments, render, to_csv_bytes
    from rag.ingest.corpus import CorpusError, CorpusLoader, skipped_lines

    if fmt not in ("table", "csv", "json", "md") or lang not in ("zh", "en"):
        _fail(f"未知格式或语言 {fmt!r}/{lang!r}（可选 table/csv/json/md，zh/en） / Unknown format or language "
              f"{fmt!r}/{lang!r} (table, csv, json, md; zh, en)", 2)
    if kind not in (None, "target", "achievement"):
        _fail(f"未知类型 {kind!r}（可选 target/achievement） / Unknown kind {kind!r} (target, achievement)", 2)
    if promise not in (None, *STATUSES):
        _fail(f"未知兑现情况 {promise!r}（可选 {'/'.join(STATUSES)}） / Unknown promise status {promise!r}", 2)
    try:
        loader = CorpusLoader(settings_from(ctx).corpus_dir)
        got = loader.read()
        docs = loader.require(got)
        if got.skipped:
            typer.echo("未读取的文件 / Files not read:\n" + skipped_lines(got.skipped), err=True)
        ids = ReportSelector(docs).resolve(document, region, year)
    except (CorpusError, UnknownReport) as exc:
        _fail(str(exc))
    everything = CommitmentExtractor().run(docs)
    track(everything, docs)
    items = filter_commitments(everything, q=q, kind=kind, section=section, documents=ids, promise=promise)
    by_id = {c.id: c for c in everything}
    if out is None:
        typer.echo(render(items, fmt, lang, by_id), nl=False)
        return
    out.write_bytes(to_csv_bytes(items, lang, by_id) if fmt == "csv" else render(items, fmt, lang, by_id).encode("utf-8"))
    typer.echo(f"已写入 {len(items)} 条 / Wrote {len(items)} rows -> {out}")


def _eval_index_dir(ctx: typer.Context, settings: Settings, corpus: Path) -> Path:
    """An evaluation corpus gets an index of its own (``<index_dir>/eval/<name>-<hash>``, rebuilt
    only when that corpus changes), so evaluating it never rebuilds the served index over it."""
    import hashlib

    if (ctx.obj or {}).get("index_dir"):
        return settings.index_dir
    digest = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:10]
    return settings.index_dir / "eval" / f"{corpus.resolve().name}-{digest}"


def _corpus_settings(ctx: typer.Context, settings: Settings, corpus: Optional[Path]) -> Settings:
    """Settings for evaluating (or training on) a corpus folder: another corpus than the served one
    gets an index (and, on a shared Milvus server, a collection) of its own."""
    from rag.core.settings import Settings

    if corpus is not None and not corpus.is_dir():
        _fail(f"找不到语料目录：{corpus} / Corpus folder not found: {corpus}", 2)
    if settings.corpus_dir.resolve() != Settings().corpus_dir.resolve():  # another corpus than the served one
        settings = settings.model_copy(update={"index_dir": _eval_index_dir(ctx, settings, settings.corpus_dir)})
        if settings.store == "milvus" and settings.milvus_uri:  # a shared server: never the served collection
            settings = settings.model_copy(update={"milvus_collection": f"{settings.milvus_collection}_eval"})
    return settings


CatalogueOpt = Annotated[Optional[Path], typer.Option("--catalogue", help="目录检查：逐份报告核对地区、级别、年份与目录布局 / check the catalogue's place, level and plan year of every report in this folder against its layout")]
LayoutOpt = Annotated[str, typer.Option("--layout", help="--catalogue 的目录布局（rag/data/catalogue_check.toml） / the folder layout giving the truth")]
StripOpt = Annotated[Optional[bool], typer.Option("--strip-front-matter/--published", help="--catalogue：只查去掉前置元数据的文本，或只查原样文本（默认两者都查） / only the text without its front matter, or only as published (default: both)")]


@app.command("eval")
def evaluate(
    ctx: typer.Context,
    dataset: Annotated[Optional[Path], typer.Option("--dataset", help="JSONL、BEIR 目录或 SQuAD/CMRC JSON / own JSONL, BEIR folder or SQuAD/CMRC JSON")] = None,
    promises: Annotated[Optional[Path], typer.Option("--promises", help="承诺兑现标准答案（文件或目录），给出每对报告的得分 / promise gold (file or folder): scores each pair of reports")] = None,
    real: Annotated[Optional[list[Path]], typer.Option("--real", help="真实报告问题集（JSONL 文件或目录，doc 为集合内路径），可重复 / real-report question sets (JSONL file or folder; doc = path in the collection), repeatable")] = None,
    reports_root: Annotated[Optional[Path], typer.Option("--reports-root", help="--real 与 --promises 中报告路径的根目录 / the real report collection the paths of --real and --promises are under (default ../shared/corpora/gov-reports)")] = None,
    loro: Annotated[bool, typer.Option("--loro/--no-loro", help="--real：留一报告评测（留出集用 --no-loro） / --real: leave one report out too (--no-loro for a held-out set)")] = True,
    retriever: Annotated[str, typer.Option("--retriever", help="bm25 | dense | hybrid | all")] = "hybrid",
    model: Annotated[Optional[str], typer.Option("--model", help="模型名或路径 / model name or path")] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="检索评测深度 / retrieval depth for R@k, MRR, nDCG")] = 10,
    out: Annotated[Optional[Path], typer.Option("--out", help="报告目录 / report folder (default eval/reports/<dataset>)")] = None,
    corpus: Annotated[Optional[Path], typer.Option("--corpus", help="评测语料目录（另建索引） / evaluate on this corpus folder (own index, e.g. eval/corpus)")] = None,
    system: Annotated[Optional[list[str]], typer.Option("--system", help="另一问答系统 NAME=SPEC，可重复（见上） / another QA system, repeatable (see above)")] = None,
    baseline: Annotated[Optional[bool], typer.Option("--baseline/--no-baseline", help="langchain-style 基线行 / the langchain-style baseline row (default on)")] = None,
    refusal_phrases: Annotated[Optional[Path], typer.Option("--refusal-phrases", help="拒答短语表（每行一条） / refusal phrases, one a line (RAG_EVAL_REFUSAL_PHRASES)")] = None,
    system_timeout: Annotated[Optional[float], typer.Option("--system-timeout", min=0.1, help="每题超时秒数 / seconds per question before a system's answer counts as wrong")] = None,
    formats: Annotated[Optional[str], typer.Option("--formats", help="把语料转为这些格式再评测并与纯文本对比，如 docx,pdf,html / publish the corpus as these formats and compare each with the plain text")] = None,
    leave_one_out: Annotated[bool, typer.Option("--leave-one-out", help="留一报告评测：在其余报告上拟合评分器，在留出的报告上测 / fit the answer scorer on all reports but one, report on the held-out one")] = False,
    extra: Annotated[Optional[list[Path]], typer.Option("--extra-dataset", help="留一评测的更多问题集，可重复 / more question sets for --leave-one-out, repeatable")] = None,
    gold_scope: Annotated[bool, typer.Option("--gold-scope/--pipeline-scope", help="留一评测：检索限于问题所问的报告，或由系统自行判断 / --leave-one-out: retrieve from the question's own report, or let the pipeline's scoping choose")] = True,
    catalogue: CatalogueOpt = None, layout: LayoutOpt = "gov-reports", strip_front_matter: StripOpt = None,
    store: StoreOpt = None, milvus_uri: MilvusUriOpt = None, milvus_collection: MilvusCollectionOpt = None,
    candidate_k: CandidateKOpt = None,
) -> None:
    """评测检索与回答 / Evaluate retrieval and answers, the product beside other systems.

    \b
    Writes report.json, report.md, PNG charts, run.<retriever>.trec, qrels and
    predictions.jsonl. The langchain-style baseline (recursive 500-character chunks,
    dense top-1, the chunk as the answer) is always a column unless --no-baseline.
    \b
    --system NAME=SPEC, repeatable; SPEC is one of:
      openai:<base_url>#<model>[?context=retrieved|none&timeout=S&key_env=VAR]
          OpenAI-compatible chat endpoint, given the product's retrieved passages
          (default) or none; the API key is read from $VAR
      http:<template.json>[?timeout=S]
          JSON template: {"url": ..., "body": {"q": "{question}", "ctx": "{context}"},
          "answer": "data.answer", "found": "data.found"}  (see README)
      py:<module>:<callable>[?context=retrieved|none&timeout=S]
          f(question) or f(question, context=[...]) -> str | dict | Answer
    Nothing leaves the machine unless a URL is given. Refusals: empty answers and
    answers containing a phrase of rag/data/refusal_phrases.txt (or --refusal-phrases);
    timeouts and errors count as wrong.
    \b
    Example:
      rag eval --dataset eval/dev.jsonl --retriever all \\
        --system 'qwen=openai:http://127.0.0.1:11434/v1#qwen2.5:7b?context=none'
    """
    if promises is not None:
        return _eval_promises(promises, reports_root, out)
    if catalogue is not None or (dataset is None and not real):  # no question set: the catalogue check, or a usage error
        return _eval_catalogue(catalogue, layout, strip_front_matter, out)
    use_store(ctx, store, milvus_uri, milvus_collection, candidate_k)
    _check_eval_options(dataset, real, leave_one_out, formats, retriever)
    settings = settings_from(ctx, model=model, corpus_dir=corpus, eval_refusal_phrases=refusal_phrases,
                             eval_system_timeout_s=system_timeout, eval_baseline=baseline)
    settings = _corpus_settings(ctx, settings, corpus)
    _dispatch_eval(settings, dataset, (real or [], loro), reports_root, retriever, others=system or [], k=k, out=out,
                   leave_one_out=[dataset, *(extra or [])] if leave_one_out and dataset else None,
                   formats=formats, gold_scope=gold_scope)


def _check_eval_options(dataset: Optional[Path], real: Optional[list[Path]], leave_one_out: bool,
                        formats: Optional[str], retriever: str) -> None:
    """Usage errors, before anything loads."""
    from rag.pipeline import RETRIEVERS

    if dataset is None and (not real or leave_one_out or formats is not None):
        _fail("需要 --dataset（或只用 --real） / Give --dataset (or --real alone)", 2)
    if retriever not in (*RETRIEVERS, "all"):
        _fail(f"未知检索器 {retriever!r}（可选 bm25/dense/hybrid/all） / Unknown retriever {retriever!r}", 2)


def _dispatch_eval(settings: Settings, dataset: Optional[Path], real: tuple[list[Path], bool], reports_root: Optional[Path],
                   retriever: str, *, others: list[str], k: int, out: Optional[Path], leave_one_out: Optional[list[Path]],
                   formats: Optional[str], gold_scope: bool) -> None:
    """The one kind of evaluation ``rag eval``'s options ask for."""
    from rag.pipeline import RETRIEVERS

    if leave_one_out:
        _leave_one_out(settings, leave_one_out, retriever if retriever != "all" else "hybrid", out, gold_scope)
        return
    if formats is not None and dataset is not None:
        _eval_formats(dataset, settings, formats, out)
        return
    systems = _other_systems(others, settings)  # checked before the model loads: a typo fails in a second
    target = out or Path("eval/reports") / (dataset.stem if dataset else "real")
    if dataset is not None:
        _run_eval(dataset, settings, list(RETRIEVERS) if retriever == "all" else [retriever], systems, k, target)
    if real[0]:
        _real_eval(settings, real, reports_root, retriever if retriever != "all" else "hybrid", target)


def _real_eval(settings: Settings, real: tuple[list[Path], bool], root: Optional[Path], retriever: str, out: Path) -> None:
    """``rag eval --real``: the real sets on an index of their own reports, appended to the report
    (``real.md`` and ``real.json`` beside the synthetic set's ``report.md``)."""
    from rag.embed.embedder import ModelLoadError
    from rag.evaluation.datasets import DatasetError
    from rag.evaluation.real import bind_reports, load_real_sets, real_settings, real_tables, run_real
    from rag.ingest.corpus import CorpusError
    from rag.pipeline import Pipeline
    from rag.stores.index import IndexUnavailable

    try:
        data = load_real_sets(real[0], root)
        pipeline = Pipeline.load(real_settings(settings, data.reports or {}), progress=sys.stderr.isatty())
        result = run_real(pipeline, bind_reports(data, pipeline), retriever=retriever, progress=sys.stderr.isatty(),
                          loro=real[1])
    except (DatasetError, CorpusError, IndexUnavailable, ModelLoadError, OSError) as exc:
        _fail(str(exc))
    tables = real_tables(result)
    typer.echo("\n" + tables)
    out.mkdir(parents=True, exist_ok=True)
    (out / "real.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), "utf-8")
    (out / "real.md").write_text(f"# Real reports: {data.name}\n\n{len(data.items)} questions over "
                                 f"{len(data.reports or {})} reports.\n\n{tables}\n", "utf-8")
    report = out / "report.md"
    if report.is_file():  # one report: the synthetic set's figures, then the real set's beside them
        text = report.read_text("utf-8").split("\n## Real reports", 1)[0].rstrip()
        report.write_text(f"{text}\n\n## Real reports: {data.name}\n\n{tables}\n", "utf-8")
    typer.echo(f"报告已写入 / Report written: {out / 'real.md'}, {out / 'real.json'}")


def _eval_catalogue(folder: Optional[Path], layout: str, stripped: Optional[bool], out: Optional[Path]) -> None:
    """``rag eval --catalogue DIR``: accuracy of place, level and plan year, and every miss."""
    from rag.evaluation.catalogue_check import MODES, CatalogueCheck, CatalogueCheckError, FolderLayout, check_table

    if folder is None:
        _fail("请给出 --dataset、--catalogue DIR 或 --promises / Give --dataset, --catalogue DIR or --promises", 2)
    modes = MODES if stripped is None else ("stripped",) if stripped else ("published",)
    try:
        check = CatalogueCheck(FolderLayout.named(layout), modes=modes)
    except CatalogueCheckError as exc:
        _fail(str(exc), 2)
    try:
        result = check.run(folder, progress=sys.stderr.isatty())
    except CatalogueCheckError as exc:
        _fail(str(exc))
    if not any(result.checked.values()):
        _fail(f"{folder} 中没有符合布局 {layout} 的报告 / No report in {folder} fits layout {layout}\n"
              + check_table(result))
    typer.echo(check_table(result))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "catalogue-check.json").write_text(json.dumps(result.as_json(), ensure_ascii=False, indent=1), "utf-8")
        typer.echo(f"报告已写入 / Report written: {out / 'catalogue-check.json'}")


def _eval_promises(gold: Path, root: Optional[Path], out: Optional[Path]) -> None:
    """Scores the promise tracker on gold pairs of consecutive reports (``rag.evaluation.promises``)."""
    from rag.evaluation.promises import GoldError, PromiseScorer, load_gold, summary_table

    root = root or GOV_REPORTS_DIR
    try:
        scores = PromiseScorer(root).run(load_gold(gold))
    except GoldError as exc:
        _fail(str(exc))
    typer.echo(summary_table(scores))
    for s in scores:
        for problem in s.problems:
            typer.echo(f"  {s.doc}: {problem}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "promises.json").write_text(json.dumps([s.to_dict() for s in scores], ensure_ascii=False, indent=2),
                                           encoding="utf-8")
        typer.echo(f"报告已写入 / Report written: {out / 'promises.json'}")


def _other_systems(specs: list[str], settings: Settings) -> list:
    """The ``--system`` specs parsed, with names that are unique and not a retriever's."""
    from rag.evaluation.baseline import LangchainStyleBaseline
    from rag.evaluation.systems import RefusalPhrases, SystemSpecError, parse_system
    from rag.pipeline import RETRIEVERS

    try:
        refusals = RefusalPhrases.load(settings.eval_refusal_phrases)
        others = [parse_system(s, refusals, timeout_s=settings.eval_system_timeout_s) for s in specs]
    except SystemSpecError as exc:
        _fail(str(exc), 2)
    names = [s.name for s in others]
    taken = {*RETRIEVERS, LangchainStyleBaseline.name}
    clash = sorted({n for n in names if n in taken or names.count(n) > 1})
    if clash:
        _fail(f"系统名称重复或已被占用：{', '.join(clash)} / System name(s) repeated or reserved: {', '.join(clash)}", 2)
    return others


def _run_eval(dataset: Path, settings: Settings, retrievers: list[str], others: list, k: int,
              out: Path) -> None:
    """Loads the dataset and pipeline, runs retrievers, baseline and other systems, writes the report."""
    from rag.embed.embedder import ModelLoadError
    from rag.evaluation.baseline import LangchainStyleBaseline
    from rag.evaluation.datasets import DatasetError, load_dataset
    from rag.evaluation.report import breakdown_tables, comparison_table, write_report
    from rag.evaluation.runner import EvalRunner, open_pipeline
    from rag.ingest.corpus import CorpusError
    from rag.stores.index import IndexUnavailable

    try:
        data = load_dataset(dataset)
        if not data.items:
            _fail(f"数据集中没有可评测的问题：{dataset} / No questions to evaluate in {dataset}")
        with open_pipeline(data, settings, progress=sys.stderr.isatty()) as (pipeline, doc_keys):
            runner = EvalRunner(pipeline, k=k, doc_keys=doc_keys, min_overlap=settings.eval_min_overlap,
                                bootstrap_samples=settings.eval_bootstrap_samples, seed=settings.eval_seed)
            if settings.eval_baseline:
                others.insert(0, LangchainStyleBaseline(pipeline.store.documents, pipeline.embedder, depth=k,
                                                        min_overlap=settings.eval_min_overlap))
            report = runner.run_all(data, retrievers, others)
    except (DatasetError, CorpusError, IndexUnavailable, ModelLoadError) as exc:
        _fail(str(exc))
    typer.echo(comparison_table(report))
    if breakdown := breakdown_tables(report):
        typer.echo("\n" + breakdown)
    files = write_report(report, out)
    typer.echo(f"报告已写入 / Report written: {', '.join(str(f) for f in files)}")


def _eval_formats(dataset: Path, settings: Settings, formats: str, out: Optional[Path]) -> None:
    """``rag eval --formats``: the corpus as text and as each published format, one run, one table."""
    import tempfile

    from rag.embed.embedder import ModelLoadError
    from rag.evaluation.datasets import DatasetError, load_dataset
    from rag.evaluation.variants import FORMATS, chromium, compare_formats, formats_table
    from rag.ingest.corpus import CorpusError
    from rag.stores.index import IndexUnavailable

    wanted = [f.strip().lower() for f in formats.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if not wanted or unknown:
        _fail(f"未知格式 {', '.join(unknown) or formats!r}（可选 {','.join(FORMATS)}） / Unknown format(s); use {','.join(FORMATS)}", 2)
    if "pdf" in wanted and chromium() is None:
        _fail("打印 PDF 需要 Chromium（make system-deps）。 / Printing PDFs needs Chromium (make system-deps).", 2)
    try:
        data = load_dataset(dataset)
        with tempfile.TemporaryDirectory(prefix="rag-eval-formats-") as tmp:
            rows = compare_formats(data, settings, wanted, Path(tmp), progress=sys.stderr.isatty())
    except (DatasetError, CorpusError, IndexUnavailable, ModelLoadError, RuntimeError, OSError) as exc:
        _fail(str(exc))
    table = formats_table(rows)
    typer.echo(table)
    folder = out or Path("eval/reports") / f"{data.name}-formats"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "formats.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2), "utf-8")
    (folder / "formats.md").write_text(
        f"# Answers by published format\n\nDataset `{dataset}`, corpus `{settings.corpus_dir}`, hybrid retriever.\n\n{table}\n",
        "utf-8")
    typer.echo(f"报告已写入 / Report written: {folder / 'formats.md'}, {folder / 'formats.json'}")


def _jsonl_sets(paths: list[Path]) -> list:
    from rag.evaluation.datasets import DatasetError, load_jsonl

    for p in paths:
        if p.is_dir() or p.suffix.lower() == ".json" or not p.is_file():
            raise DatasetError(f"需要带标准答案的 JSONL 问题集：{p} / Needs a JSONL question set with gold answers: {p}")
    return [load_jsonl(p) for p in paths]


def _leave_one_out(settings: Settings, paths: list[Path], retriever: str, out: Optional[Path], gold_scope: bool) -> None:
    """``rag eval --leave-one-out``: per held-out report, hand-set and learned scorer side by side."""
    from rag.embed.embedder import ModelLoadError
    from rag.evaluation.datasets import DatasetError
    from rag.evaluation.leave_one_out import LeaveOneReportOut, loro_json, loro_table
    from rag.ingest.corpus import CorpusError
    from rag.pipeline import Pipeline
    from rag.stores.index import IndexUnavailable

    try:
        sets = _jsonl_sets(paths)
        pipeline = Pipeline.load(settings.model_copy(update={"query_cache_size": 0}), progress=sys.stderr.isatty())
        result = LeaveOneReportOut(pipeline, retriever=retriever, progress=sys.stderr.isatty(), gold_scope=gold_scope).run(sets)
    except (DatasetError, CorpusError, IndexUnavailable, ModelLoadError) as exc:
        _fail(str(exc))
    typer.echo(loro_table(result))
    target = out or Path("eval/reports") / "leave-one-out"
    target.mkdir(parents=True, exist_ok=True)
    (target / "loro.json").write_text(json.dumps(loro_json(result), ensure_ascii=False, indent=2), "utf-8")
    typer.echo(f"报告已写入 / Report written: {target / 'loro.json'}")


@app.command()
def train(
    ctx: typer.Context,
    dataset: Annotated[Optional[list[Path]], typer.Option("--dataset", help="带标准答案的 JSONL 问题集，可重复 / JSONL question sets with gold answers, repeatable")] = None,
    corpus: Annotated[Optional[Path], typer.Option("--corpus", help="这些问题所问的语料目录 / the corpus the questions ask about (own index, e.g. eval/corpus)")] = None,
    real: Annotated[Optional[list[Path]], typer.Option("--real", help="真实报告问题集，可重复 / real-report question sets, repeatable")] = None,
    reports_root: Annotated[Optional[Path], typer.Option("--reports-root", help="真实报告集合目录 / the real report collection")] = None,
    generate: Annotated[int, typer.Option("--generate", min=0, help="每份真实报告自动生成的训练问题数 / questions generated per real report from its own figures")] = 40,
    c: Annotated[float, typer.Option("--c", min=0.0001, help="逻辑回归正则强度倒数 / inverse regularisation strength")] = 1.0,
    out: Annotated[Optional[Path], typer.Option("--out", help="权重文件 / weights file (default rag/data/scorer.json)")] = None,
) -> None:
    """拟合回答窗口评分器 / Fit the answer-window scorer on question sets and write its weights.

    \b
    Questions people wrote set the refusal threshold; questions generated from the real
    reports' own figures (--generate) only shape the weights.
    """
    from rag.answer.window_scorer import WEIGHTS_PATH, ScorerError, fit
    from rag.embed.embedder import ModelLoadError
    from rag.evaluation.datasets import DatasetError
    from rag.evaluation.leave_one_out import LeaveOneReportOut
    from rag.evaluation.real import load_real_sets, real_examples
    from rag.ingest.corpus import CorpusError
    from rag.pipeline import Pipeline
    from rag.stores.index import IndexUnavailable

    if not dataset and not real:
        _fail("需要 --dataset 或 --real / Give --dataset or --real", 2)
    settings = _corpus_settings(ctx, settings_from(ctx, corpus_dir=corpus), corpus)
    try:
        written, generated, names = [], [], []
        if dataset:
            sets = _jsonl_sets(dataset)
            pipeline = Pipeline.load(settings.model_copy(update={"answer_scorer": "hand"}), progress=sys.stderr.isatty())
            written += LeaveOneReportOut(pipeline, c=c).collect(sets)
            names += [s.name for s in sets]
        if real:
            data = load_real_sets(real, reports_root)
            more, generated = real_examples(settings, data, per_report=generate)
            written += more
            names.append(data.name)
        weights = fit(written + generated, c=c, trained_on=names, calibrate=written)
    except (DatasetError, CorpusError, IndexUnavailable, ModelLoadError, ScorerError) as exc:
        _fail(str(exc))
    target = out or WEIGHTS_PATH
    weights.save(target)
    typer.echo(f"已写入 / Wrote {target}: {weights.fit}, threshold {weights.threshold}")


@app.command("export-beir")
def export_beir(
    ctx: typer.Context,
    out: Annotated[Path, typer.Argument(help="输出目录 / output folder")],
    dataset: Annotated[Path, typer.Option("--dataset", help="本项目 JSONL 问题集 / questions in the project's JSONL")] = Path("eval/dev.jsonl"),
) -> None:
    """导出 BEIR 格式（语料单元、问题、qrels） / Export units, questions and qrels as a BEIR folder."""
    from rag.embed.embedder import Embedder, ModelLoadError
    from rag.evaluation import datasets
    from rag.ingest.corpus import CorpusError
    from rag.pipeline import open_index
    from rag.stores.index import IndexUnavailable

    settings = settings_from(ctx)
    try:
        if dataset.is_dir() or dataset.suffix.lower() == ".json":
            raise datasets.DatasetError(
                f"导出需要带 evidence 的 JSONL 问题集：{dataset} / Export needs a JSONL question set with evidence: {dataset}")
        data = datasets.load_jsonl(dataset)
        store = open_index(settings, Embedder.from_settings(settings), progress=sys.stderr.isatty())
        counts = datasets.export_beir(store.documents, store.units, data, out, min_overlap=settings.eval_min_overlap)
    except (datasets.DatasetError, CorpusError, IndexUnavailable, ModelLoadError, OSError) as exc:
        _fail(str(exc))
    typer.echo(f"已导出 / Exported {counts['corpus']} units, {counts['queries']} queries, {counts['qrels']} qrels -> {out}")



@app.command()
def bench(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="报告目录 / report folder")] = Path("eval/reports/bench"),
    dataset: Annotated[Path, typer.Option("--dataset", help="问题来源 JSONL / JSONL with `question` fields")] = Path("eval/dev.jsonl"),
    queries: Annotated[int, typer.Option("--queries", min=1, help="每阶段问题数 / questions per latency phase")] = 30,
    seconds: Annotated[float, typer.Option("--seconds", min=0.1, help="每档吞吐测试秒数 / seconds per throughput level")] = 4.0,
    cold_runs: Annotated[int, typer.Option("--cold-runs", min=1, help="冷启动次数 / cold starts")] = 1,
    skip: Annotated[Optional[str], typer.Option("--skip", help="跳过阶段，逗号分隔 / phases to skip: startup,cold,build,inprocess,http,pdf")] = None,
    scale: Annotated[bool, typer.Option("--scale", help="另做合成规模测试 / also run the synthetic scale benchmark")] = False,
    scale_n: Annotated[int, typer.Option("--scale-n", min=1000, help="规模测试向量/单元数 / vectors and units at scale")] = 100_000,
    sample: Annotated[int, typer.Option("--sample", min=0, help="建索引阶段只取语料中均匀分布的 N 份报告（0 = 全部） / the build phase indexes N reports of --corpus at even steps (0 = all)")] = 0,
    passages: Annotated[int, typer.Option("--passages", min=10, help="torch 与 ONNX 批量编码对比的段落数 / passages of the torch vs ONNX batched encode")] = 400,
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
    from rag.embed.embedder import ModelLoadError
    from rag.ingest.corpus import CorpusError
    from rag.stores.index import IndexUnavailable

    phases = BenchConfig.phases
    unknown = set((skip or "").split(",")) - set(phases) - {""}
    if unknown:
        _fail(f"未知阶段 {', '.join(sorted(unknown))}（可选 {','.join(phases)}） / Unknown phase(s); use {','.join(phases)}", 2)
    if not dataset.is_file():
        _fail(f"找不到问题集：{dataset} / Question file not found: {dataset}", 2)
    config = BenchConfig(dataset=dataset, queries=queries, seconds=seconds, cold_runs=cold_runs, sample=sample,
                         passages=passages, phases=tuple(p for p in phases if p not in (skip or "").split(",")))

    def log(msg: str) -> None:
        typer.echo(msg, err=True)

    try:
        report = Benchmark(settings_from(ctx), config, log=log).run()
        files = write_report(report, out)
        if scale:
            from rag.genre.text import tokenize

            pipeline = load_pipeline(ctx)
            units = [tokenize(u.text) for u in pipeline.store.units]
            asked = [tokenize(q) for q in load_questions(dataset, 100)]
            files += write_report(scale_benchmark(scale_n, unit_tokens=units, query_tokens=asked, log=log), out, "scale")
    except (CorpusError, IndexUnavailable, ModelLoadError, RuntimeError, TimeoutError, OSError) as exc:
        _fail(f"基准测试失败：{exc} / Benchmark failed: {exc}")
    for name, c in report["acceptance"].items():
        mark = {True: "ok ", False: "NO ", None: "-- "}[c["met"]]
        typer.echo(f"{mark} {name}: {c['value']} (limit {c['limit']})")
    typer.echo(f"报告已写入 / Report written: {', '.join(str(f) for f in files)}")


def _bench_store(ctx: typer.Context, store: str, dataset: Path, queries: int, scale_n: int | None, out: Path) -> None:
    from rag.bench.stores import store_benchmark, write_report
    from rag.embed.embedder import ModelLoadError
    from rag.ingest.corpus import CorpusError
    from rag.stores.index import IndexUnavailable

    if not dataset.is_file():
        _fail(f"找不到问题集：{dataset} / Question file not found: {dataset}", 2)
    try:
        report = store_benchmark(settings_from(ctx), store, dataset, queries=queries, scale_n=scale_n,
                                 log=lambda msg: typer.echo(msg, err=True))
    except (CorpusError, IndexUnavailable, ModelLoadError, OSError) as exc:
        _fail(f"基准测试失败：{exc} / Benchmark failed: {exc}")
    c = report["corpus"]
    typer.echo(f"ask p50 {store} / faiss: {c['ask_p50_ratio']} "
               f"({c['stores'][store]['ask_ms']['p50']} / {c['stores']['faiss']['ask_ms']['p50']} ms)")
    typer.echo(f"报告已写入 / Report written: {', '.join(str(f) for f in write_report(report, out))}")


if __name__ == "__main__":
    app()
