"""What a command gets from its context: the settings (environment, then the global options, then
its own), the pipeline, and one way to fail. Nothing heavy is imported here, so ``rag --help`` stays instant."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

import typer

from rag.core.errors import RagError

if TYPE_CHECKING:
    from rag.core.settings import Settings
    from rag.pipeline import Pipeline


def fail(message: str, code: int = 1) -> NoReturn:
    """Prints the bilingual message on standard error and exits: 2 for a usage error, 1 otherwise."""
    typer.echo(message, err=True)
    raise typer.Exit(code)


def settings_from(ctx: typer.Context, **more: object) -> Settings:
    """The settings: environment, then the global options, then ``more`` (a command's own, where given);
    an invalid value is a usage error naming its variable, not a traceback."""
    from pydantic import ValidationError

    from rag.core.settings import Settings

    try:
        return Settings(**{**(ctx.obj or {}), **{k: v for k, v in more.items() if v is not None}})
    except ValidationError as exc:  # e.g. RAG_ENCODER=gpu: a clear message, not a traceback
        bad = "; ".join(f"RAG_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors())
        fail(f"设置无效：{bad} / Invalid settings: {bad}", 2)


def load_pipeline(ctx: typer.Context, **more: object) -> Pipeline:
    """The pipeline, or a clean bilingual error instead of a traceback."""
    from rag.pipeline import Pipeline

    try:
        return Pipeline.load(settings_from(ctx, **more), progress=sys.stderr.isatty())
    except RagError as exc:
        fail(str(exc))
