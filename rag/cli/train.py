"""``rag train`` and ``rag export-beir``: question sets turned into files, the answer scorer's
weights or a BEIR folder for other tools."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.cli.context import fail, settings_from
from rag.cli.eval_runs import jsonl_sets
from rag.cli.evaluate import corpus_settings
from rag.cli.options import argument, option
from rag.core.errors import RagError

if TYPE_CHECKING:
    from rag.answer.window_scorer import Example

DatasetsOpt = Annotated[list[Path] | None, option("train", "--dataset")]
CorpusOpt = Annotated[Path | None, option("train", "--corpus")]
RealOpt = Annotated[list[Path] | None, option("train", "--real")]
ReportsRootOpt = Annotated[Path | None, option("train", "--reports-root")]
GenerateOpt = Annotated[int, option("train", "--generate", min=0)]
COpt = Annotated[float, option("train", "--c", min=0.0001)]
WeightsOpt = Annotated[Path | None, option("train", "--out")]


def train(
    ctx: typer.Context, dataset: DatasetsOpt = None, corpus: CorpusOpt = None, real: RealOpt = None,
    reports_root: ReportsRootOpt = None, generate: GenerateOpt = 40, c: COpt = 1.0, out: WeightsOpt = None,
) -> None:
    """拟合回答窗口评分器 / Fit the answer-window scorer on question sets and write its weights.

    \b
    Questions people wrote set the refusal threshold; questions generated from the real
    reports' own figures (--generate) only shape the weights.
    """
    from rag.answer.window_scorer import WEIGHTS_PATH, fit
    from rag.evaluation.leave_one_out import LeaveOneReportOut
    from rag.evaluation.real import load_real_sets, real_examples
    from rag.pipeline import Pipeline

    if not dataset and not real:
        fail("需要 --dataset 或 --real / Give --dataset or --real", 2)
    settings = corpus_settings(ctx, settings_from(ctx, corpus_dir=corpus), corpus)
    try:
        written: list[Example] = []
        generated: list[Example] = []
        names: list[str] = []
        if dataset:
            sets = jsonl_sets(dataset)
            pipeline = Pipeline.load(settings.model_copy(update={"answer_scorer": "hand"}),
                                     progress=sys.stderr.isatty())
            written += LeaveOneReportOut(pipeline, c=c).collect(sets)
            names += [s.name for s in sets]
        if real:
            data = load_real_sets(real, reports_root)
            more, generated = real_examples(settings, data, per_report=generate)
            written += more
            names.append(data.name)
        weights = fit(written + generated, c=c, trained_on=names, calibrate=written)
    except RagError as exc:
        fail(str(exc))
    target = out or WEIGHTS_PATH
    weights.save(target)
    typer.echo(f"已写入 / Wrote {target}: {weights.fit}, threshold {weights.threshold}")


BeirOutArg = Annotated[Path, argument("export-beir", "out")]
BeirDatasetOpt = Annotated[Path, option("export-beir", "--dataset")]


def export_beir(ctx: typer.Context, out: BeirOutArg, dataset: BeirDatasetOpt = Path("eval/dev.jsonl")) -> None:
    """导出 BEIR 格式（语料单元、问题、qrels） / Export units, questions and qrels as a BEIR folder."""
    from rag.embed.embedder import Embedder
    from rag.evaluation import datasets
    from rag.pipeline import open_index

    settings = settings_from(ctx)
    try:
        if dataset.is_dir() or dataset.suffix.lower() == ".json":
            raise datasets.DatasetError(f"导出需要带 evidence 的 JSONL 问题集：{dataset} / Export needs a JSONL "
                                        f"question set with evidence: {dataset}")
        data = datasets.load_jsonl(dataset)
        store = open_index(settings, Embedder.from_settings(settings), progress=sys.stderr.isatty())
        counts = datasets.export_beir(store.documents, store.units, data, out, min_overlap=settings.eval_min_overlap)
    except (RagError, OSError) as exc:  # OSError: an output folder that cannot be written
        fail(str(exc))
    typer.echo(f"已导出 / Exported {counts['corpus']} units, {counts['queries']} queries, {counts['qrels']} qrels "
               f"-> {out}")
