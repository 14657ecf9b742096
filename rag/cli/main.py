"""The ``rag`` command: the global options, then each command from the module of its group.

Heavy modules are imported inside commands, so ``rag --help`` is instant (and loads no torch)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rag.cli import ask, bench, evaluate, index, info, serve, train
from rag.cli.context import fail
from rag.cli.options import option

app = typer.Typer(
    name="rag",
    help="政府工作报告问答：带引用的离线问答。 / Cited, offline question answering over government work reports.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

CorpusDirOpt = Annotated[Path | None, option("rag", "--corpus")]
IndexDirOpt = Annotated[Path | None, option("rag", "--index-dir")]
ModelOpt = Annotated[str | None, option("rag", "--model")]
EncoderOpt = Annotated[str | None, option("rag", "--encoder")]


@app.callback()
def main(ctx: typer.Context, corpus_dir: CorpusDirOpt = None, index_dir: IndexDirOpt = None, model: ModelOpt = None,
         encoder: EncoderOpt = None) -> None:
    """Global options override ``RAG_*`` environment settings for every command."""
    if encoder not in (None, "onnx", "torch"):
        fail(f"未知编码器 {encoder!r}（可选 onnx/torch） / Unknown encoder {encoder!r} (onnx or torch)", 2)
    given = {"corpus_dir": corpus_dir, "index_dir": index_dir, "model": model, "encoder": encoder}
    ctx.obj = {k: v for k, v in given.items() if v}


# in the order ``rag --help`` lists them
app.command()(index.index)
app.command()(index.add)
app.command()(ask.ask)
app.command()(serve.serve)
app.command()(serve.mcp)
app.command()(info.info)
app.command()(ask.commitments)
app.command("eval")(evaluate.evaluate)
app.command()(train.train)
app.command("export-beir")(train.export_beir)
app.command()(bench.bench)


if __name__ == "__main__":
    app()
