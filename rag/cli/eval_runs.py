"""The kinds of evaluation ``rag eval`` runs: question sets against retrievers and other systems,
the real reports, published formats, leave one report out, the catalogue check and the promise
tracker. Each prints its table and writes its report files."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from rag.cli.context import fail
from rag.core.errors import RagError

if TYPE_CHECKING:
    from rag.core.settings import Settings
    from rag.evaluation.datasets import EvalDataset
    from rag.evaluation.systems import QASystem


def other_systems(specs: list[str], settings: Settings) -> list[QASystem]:
    """The ``--system`` specs parsed, with names that are unique and not a retriever's."""
    from rag.evaluation.baseline import LangchainStyleBaseline
    from rag.evaluation.systems import RefusalPhrases, SystemSpecError, parse_system
    from rag.pipeline import RETRIEVERS

    try:
        refusals = RefusalPhrases.load(settings.eval_refusal_phrases)
        others = [parse_system(s, refusals, timeout_s=settings.eval_system_timeout_s) for s in specs]
    except SystemSpecError as exc:  # a usage error
        fail(str(exc), 2)
    names = [s.name for s in others]
    taken = {*RETRIEVERS, LangchainStyleBaseline.name}
    clash = sorted({n for n in names if n in taken or names.count(n) > 1})
    if clash:
        fail(f"系统名称重复或已被占用：{', '.join(clash)} / System name(s) repeated or reserved: {', '.join(clash)}", 2)
    return others


def run_eval(dataset: Path, settings: Settings, retrievers: list[str], others: list[QASystem], k: int,
             out: Path) -> None:
    """Loads the dataset and pipeline, runs retrievers, baseline and other systems, writes the report."""
    from rag.evaluation.baseline import LangchainStyleBaseline
    from rag.evaluation.datasets import load_dataset
    from rag.evaluation.report import breakdown_tables, comparison_table, write_report
    from rag.evaluation.runner import EvalRunner, open_pipeline

    try:
        data = load_dataset(dataset)
        if not data.items:
            fail(f"数据集中没有可评测的问题：{dataset} / No questions to evaluate in {dataset}")
        with open_pipeline(data, settings, progress=sys.stderr.isatty()) as (pipeline, doc_keys):
            runner = EvalRunner(pipeline, k=k, doc_keys=doc_keys, min_overlap=settings.eval_min_overlap,
                                bootstrap_samples=settings.eval_bootstrap_samples, seed=settings.eval_seed)
            if settings.eval_baseline:
                others.insert(0, LangchainStyleBaseline(pipeline.store.documents, pipeline.embedder, depth=k,
                                                        min_overlap=settings.eval_min_overlap))
            report = runner.run_all(data, retrievers, others)
    except RagError as exc:
        fail(str(exc))
    typer.echo(comparison_table(report))
    if breakdown := breakdown_tables(report):
        typer.echo("\n" + breakdown)
    files = write_report(report, out)
    typer.echo(f"报告已写入 / Report written: {', '.join(str(f) for f in files)}")


def eval_formats(dataset: Path, settings: Settings, formats: str, out: Path | None) -> None:
    """``rag eval --formats``: the corpus as text and as each published format, one run, one table."""
    import tempfile

    from rag.evaluation.datasets import load_dataset
    from rag.evaluation.variants import FORMATS, chromium, compare_formats, formats_table

    wanted = [f.strip().lower() for f in formats.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if not wanted or unknown:
        fail(f"未知格式 {', '.join(unknown) or formats!r}（可选 {','.join(FORMATS)}） / Unknown format(s); "
             f"use {','.join(FORMATS)}", 2)
    if "pdf" in wanted and chromium() is None:
        fail("打印 PDF 需要 Chromium（make system-deps）。 / Printing PDFs needs Chromium (make system-deps).", 2)
    try:
        data = load_dataset(dataset)
        with tempfile.TemporaryDirectory(prefix="rag-eval-formats-") as tmp:
            rows = compare_formats(data, settings, wanted, Path(tmp), progress=sys.stderr.isatty())
    except (RagError, RuntimeError, OSError) as exc:  # a converter that fails or cannot write is a message too
        fail(str(exc))
    table = formats_table(rows)
    typer.echo(table)
    folder = out or Path("eval/reports") / f"{data.name}-formats"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "formats.json").write_text(json.dumps(rows, ensure_ascii=False, indent=2), "utf-8")
    (folder / "formats.md").write_text(
        f"# Answers by published format\n\nDataset `{dataset}`, corpus `{settings.corpus_dir}`, "
        f"hybrid retriever.\n\n{table}\n", "utf-8")
    typer.echo(f"报告已写入 / Report written: {folder / 'formats.md'}, {folder / 'formats.json'}")


def jsonl_sets(paths: list[Path]) -> list[EvalDataset]:
    """The question sets in the project's JSONL (with gold answers), or ``DatasetError`` for another kind."""
    from rag.evaluation.datasets import DatasetError, load_jsonl

    for p in paths:
        if p.is_dir() or p.suffix.lower() == ".json" or not p.is_file():
            raise DatasetError(f"需要带标准答案的 JSONL 问题集：{p} / Needs a JSONL question set with gold answers: "
                               f"{p}")
    return [load_jsonl(p) for p in paths]


def leave_one_out(settings: Settings, paths: list[Path], retriever: str, out: Path | None, gold_scope: bool) -> None:
    """``rag eval --leave-one-out``: per held-out report, hand-set and learned scorer side by side."""
    from rag.evaluation.leave_one_out import LeaveOneReportOut, loro_json, loro_table
    from rag.pipeline import Pipeline

    try:
        sets = jsonl_sets(paths)
        pipeline = Pipeline.load(settings.model_copy(update={"query_cache_size": 0}), progress=sys.stderr.isatty())
        result = LeaveOneReportOut(pipeline, retriever=retriever, progress=sys.stderr.isatty(),
                                   gold_scope=gold_scope).run(sets)
    except RagError as exc:
        fail(str(exc))
    typer.echo(loro_table(result))
    target = out or Path("eval/reports") / "leave-one-out"
    target.mkdir(parents=True, exist_ok=True)
    (target / "loro.json").write_text(json.dumps(loro_json(result), ensure_ascii=False, indent=2), "utf-8")
    typer.echo(f"报告已写入 / Report written: {target / 'loro.json'}")


def real_eval(settings: Settings, real: tuple[list[Path], bool], root: Path | None, retriever: str, out: Path) -> None:
    """``rag eval --real``: the real sets on an index of their own reports, appended to the report
    (``real.md`` and ``real.json`` beside the synthetic set's ``report.md``)."""
    from rag.evaluation.real import bind_reports, load_real_sets, real_settings, real_tables, run_real
    from rag.pipeline import Pipeline

    try:
        data = load_real_sets(real[0], root)
        pipeline = Pipeline.load(real_settings(settings, data.reports or {}), progress=sys.stderr.isatty())
        result = run_real(pipeline, bind_reports(data, pipeline), retriever=retriever, progress=sys.stderr.isatty(),
                          loro=real[1])
    except (RagError, OSError) as exc:  # OSError: a report of the set that cannot be read
        fail(str(exc))
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


def eval_catalogue(folder: Path | None, layout: str, stripped: bool | None, out: Path | None) -> None:
    """``rag eval --catalogue DIR``: accuracy of place, level and plan year, and every miss."""
    from rag.evaluation.catalogue_check import MODES, CatalogueCheck, CatalogueCheckError, FolderLayout, check_table

    if folder is None:
        fail("请给出 --dataset、--catalogue DIR 或 --promises / Give --dataset, --catalogue DIR or --promises", 2)
    modes = MODES if stripped is None else ("stripped",) if stripped else ("published",)
    try:
        check = CatalogueCheck(FolderLayout.named(layout), modes=modes)
    except CatalogueCheckError as exc:  # an unknown layout is a usage error
        fail(str(exc), 2)
    try:
        result = check.run(folder, progress=sys.stderr.isatty())
    except RagError as exc:
        fail(str(exc))
    if not any(result.checked.values()):
        fail(f"{folder} 中没有符合布局 {layout} 的报告 / No report in {folder} fits layout {layout}\n"
             + check_table(result))
    typer.echo(check_table(result))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "catalogue-check.json").write_text(json.dumps(result.as_json(), ensure_ascii=False, indent=1), "utf-8")
        typer.echo(f"报告已写入 / Report written: {out / 'catalogue-check.json'}")


def eval_promises(gold: Path, root: Path, out: Path | None) -> None:
    """Scores the promise tracker on gold pairs of consecutive reports (``rag.evaluation.promises``)."""
    from rag.evaluation.promises import PromiseScorer, load_gold, summary_table

    try:
        scores = PromiseScorer(root).run(load_gold(gold))
    except RagError as exc:
        fail(str(exc))
    typer.echo(summary_table(scores))
    for s in scores:
        for problem in s.problems:
            typer.echo(f"  {s.doc}: {problem}")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "promises.json").write_text(json.dumps([s.to_dict() for s in scores], ensure_ascii=False, indent=2),
                                           encoding="utf-8")
        typer.echo(f"报告已写入 / Report written: {out / 'promises.json'}")
