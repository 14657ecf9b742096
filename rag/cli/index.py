"""``rag index`` and ``rag add``: the corpus into the index, whole, by slice, or a few new reports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.cli.context import fail, settings_from
from rag.cli.options import MilvusCollectionOpt, MilvusUriOpt, StoreOpt, argument, option, use_store
from rag.core.errors import RagError

if TYPE_CHECKING:
    from rag.core.settings import Settings
    from rag.stores.base import Store

ForceOpt = Annotated[bool, option("index", "--force")]
StrictOpt = Annotated[bool, option("index", "--strict")]
DryRunOpt = Annotated[bool, option("index", "--dry-run")]
ShardOpt = Annotated[str | None, option("index", "--shard")]
PathsArg = Annotated[list[Path], argument("add", "paths")]


def built(store: Store) -> None:
    """What a build indexed, and every file it could not (never skipped silently)."""
    from rag.ingest.corpus import skipped_lines

    m = store.manifest
    typer.echo(f"已建索引 / Index built: {m.n_documents} documents, {m.n_sections} sections, "
               f"{m.n_units} units -> {store.path}")
    if m.embedded >= 0:
        typer.echo(f"已嵌入 {m.embedded} 个单元，沿用 {m.n_units - m.embedded} 个 / Embedded {m.embedded} units, "
                   f"reused {m.n_units - m.embedded} from the previous build")
    if m.skipped:
        typer.echo(f"未索引的文件 / Files not indexed ({len(m.skipped)}):\n{skipped_lines(m.skipped)}")
    c = getattr(store, "changes", None)  # Milvus: what this incremental update wrote
    if c:
        where = store.describe()
        typer.echo(f"Milvus {where['uri']} / {where['collection']}: {c['written']} reports written "
                   f"({c['units_written']} units), {c['kept']} unchanged, {c['removed']} removed"
                   + (" (collection rebuilt)" if c["rebuilt"] else ""))


def index(
    ctx: typer.Context, force: ForceOpt = False, strict: StrictOpt = False, dry_run: DryRunOpt = False,
    shard: ShardOpt = None,
    store: StoreOpt = None, milvus_uri: MilvusUriOpt = None, milvus_collection: MilvusCollectionOpt = None,
) -> None:
    """构建或更新索引 / Build the index (only when the corpus or model changed, unless --force).

    The corpus folder is read recursively. Units of reports that did not change keep their vectors
    (FAISS and Milvus alike): adding one report embeds that report only."""
    from rag.embed.embedder import Embedder
    from rag.ingest.corpus import skipped_lines
    from rag.pipeline import build_index, stale_reasons

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
                    fail(f"严格模式：{len(skipped)} 个文件无法索引。 / Strict mode: {len(skipped)} file(s) "
                         "cannot be indexed.")
            typer.echo(f"索引已是最新 / Index is up to date: {loaded.path}")
            return
        # waits while another build runs; on Milvus --force rewrites the collection
        loaded = build_index(settings, embedder, progress=True, strict=strict, full=force)
    except RagError as exc:
        fail(str(exc))
    built(loaded)


def _dry_run(settings: Settings) -> None:
    """``rag index --dry-run``: every report with its catalogue entry and every file that would not
    be indexed, with why; nothing is embedded, no model is loaded, the index is not touched."""
    from rag.ingest.corpus import CorpusLoader, skipped_lines

    try:
        got = CorpusLoader(settings.corpus_dir).read(progress=sys.stderr.isatty())
    except RagError as exc:
        fail(str(exc))
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
    from rag.embed.embedder import Embedder
    from rag.pipeline import build_shard
    from rag.stores.shards import Shard, ShardError

    if settings.store != "milvus":
        fail("分片构建需要 Milvus：请加 --store milvus。 / Sharded builds go into Milvus: add --store milvus.", 2)
    try:
        shard = Shard.parse(text)
        store, changes = build_shard(settings, Embedder.from_settings(settings), shard, progress=True,
                                     strict=strict, full=force)
    except ShardError as exc:  # a usage error, before anything is read
        fail(str(exc), 2)
    except RagError as exc:
        fail(str(exc))
    typer.echo(f"分片 {shard} 已写入 / Shard {shard} written: {changes['written']} reports, "
               f"{changes['units_written']} units ({changes['shards_done']} of {changes['shards']} shards in)")
    if store is None:
        typer.echo("已发布的索引未变，等待其余分片 / The published index is unchanged until every shard is in.")
    else:
        built(store)


def _report_files(paths: list[Path]) -> list[tuple[Path, Path, Path]]:
    """(file, the folder it was given under, where it goes in the corpus) for every file named or
    found in a named folder, recursively; hidden files (``.gitkeep``) are no reports, as in the corpus."""
    out: list[tuple[Path, Path, Path]] = []
    for p in paths:
        if p.is_dir():
            found = [(f, p, f.relative_to(p)) for f in sorted(p.rglob("*"))
                     if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)]
            if not found:
                fail(f"文件夹中没有文件：{p} / No files in the folder {p}", 2)
            out += found
        elif p.is_file():
            out.append((p, p.parent, Path(p.name)))
        else:
            fail(f"找不到文件：{p} / File not found: {p}", 2)
    return out


def _check_reports(files: list[tuple[Path, Path, Path]], corpus: Path) -> list[str]:
    """Why each file cannot join the corpus (unreadable, empty, no report, or an id another file
    has): the whole list, so one run names every problem."""
    from rag.core.progress import stage
    from rag.ingest.corpus import CorpusLoader, doc_id_for

    taken = {doc_id_for(f, corpus): f.relative_to(corpus).as_posix()
             for f in CorpusLoader(corpus).files()} if corpus.is_dir() else {}
    problems = []
    for src, root, rel in stage("check", files, enabled=sys.stderr.isatty() and len(files) > 1, total=len(files)):
        try:
            CorpusLoader(root).read_file(src)  # what ``rag index`` will do with it, before any copy
        except RagError as exc:
            problems.append(str(exc))
            continue
        new_id = doc_id_for(corpus / rel, corpus)
        other = taken.setdefault(new_id, rel.as_posix())
        if other != rel.as_posix():
            problems.append(f"语料中已有同名报告 {other}（编号 {new_id}），请改名后再加入。"
                            f" / The corpus already has {other} with id {new_id}; rename the file first.")
    return problems


def add(ctx: typer.Context, paths: PathsArg) -> None:
    """加入报告并重建索引 / Copy report files (or folders of them, recursively) into the corpus and update the index.

    Every file is read first: a missing, unsupported, empty or unreadable file stops the command
    before anything is copied, so the corpus never holds a file the index would skip. A folder's
    layout is kept (``DIR/省/2025.md`` goes to ``corpus/省/2025.md``). Only the new reports are embedded."""
    import shutil

    from rag.core.progress import stage
    from rag.embed.embedder import Embedder
    from rag.pipeline import build_index

    settings = settings_from(ctx)
    corpus = Path(settings.corpus_dir)
    files = _report_files(paths)
    problems = _check_reports(files, corpus)
    if problems:
        fail(f"未复制任何文件，{len(problems)} 个文件有问题 / Nothing was copied; {len(problems)} file(s) cannot "
             "be added:\n" + "\n".join(f"  - {p}" for p in problems), 2)
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
    except RagError as exc:
        fail(str(exc))
    built(store)
