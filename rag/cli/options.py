"""Every option's help, read from ``rag/data/cli_help.toml`` (one table per command, "中文 / English", so
that the interface's wording is in one file and not wrapped through the code), and the store options
that every command touching the index takes."""

from __future__ import annotations

import tomllib
from functools import cache
from typing import Annotated, Any

import typer

from rag.cli.context import fail
from rag.core.paths import DATA_DIR

HELP_FILE = DATA_DIR / "cli_help.toml"


@cache
def _helps() -> dict[str, dict[str, str]]:
    return tomllib.loads(HELP_FILE.read_text("utf-8"))


def option(command: str, *flags: str, **limits: Any) -> Any:
    """``typer.Option(*flags, help=..., **limits)`` with the help of ``flags[0]`` in ``command``'s table."""
    return typer.Option(*flags, help=_helps()[command][flags[0]], **limits)


def argument(command: str, name: str, **limits: Any) -> Any:
    """``typer.Argument(help=...)`` with the help of the argument ``name`` in ``command``'s table."""
    return typer.Argument(help=_helps()[command][name], **limits)


StoreOpt = Annotated[str | None, option("store", "--store")]
MilvusUriOpt = Annotated[str | None, option("store", "--milvus-uri")]
MilvusCollectionOpt = Annotated[str | None, option("store", "--milvus-collection")]
CandidateKOpt = Annotated[int | None, option("store", "--candidate-k", min=1)]


def use_store(ctx: typer.Context, store: str | None, milvus_uri: str | None = None,
              milvus_collection: str | None = None, candidate_k: int | None = None) -> None:
    """Adds a command's store options to the overrides every later step (and ``--workers``) reads."""
    if store not in (None, "faiss", "milvus"):
        fail(f"未知存储 {store!r}（可选 faiss/milvus） / Unknown store {store!r}: use faiss or milvus", 2)
    more = {"store": store, "milvus_uri": milvus_uri, "milvus_collection": milvus_collection,
            "candidate_k": candidate_k}
    ctx.obj = {**(ctx.obj or {}), **{k: v for k, v in more.items() if v is not None}}
