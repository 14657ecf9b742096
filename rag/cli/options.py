"""The store options that every command touching the index takes, and how they reach the settings."""

from __future__ import annotations

from typing import Annotated

import typer

from rag.cli.context import fail

StoreOpt = Annotated[str | None, typer.Option(
    "--store", help="faiss（进程内）| milvus / where units and vectors live (RAG_STORE)")]
MilvusUriOpt = Annotated[str | None, typer.Option(
    "--milvus-uri", help="Milvus Lite 文件（.db）或 http://host:19530 / a Milvus Lite file or server URI "
                         "(RAG_MILVUS_URI; token: RAG_MILVUS_TOKEN)")]
MilvusCollectionOpt = Annotated[str | None, typer.Option(
    "--milvus-collection", help="集合名 / collection (RAG_MILVUS_COLLECTION)")]
CandidateKOpt = Annotated[int | None, typer.Option(
    "--candidate-k", min=1, help="每路候选数 / candidates per retriever (RAG_CANDIDATE_K)")]


def use_store(ctx: typer.Context, store: str | None, milvus_uri: str | None = None,
              milvus_collection: str | None = None, candidate_k: int | None = None) -> None:
    """Adds a command's store options to the overrides every later step (and ``--workers``) reads."""
    if store not in (None, "faiss", "milvus"):
        fail(f"未知存储 {store!r}（可选 faiss/milvus） / Unknown store {store!r}: use faiss or milvus", 2)
    more = {"store": store, "milvus_uri": milvus_uri, "milvus_collection": milvus_collection,
            "candidate_k": candidate_k}
    ctx.obj = {**(ctx.obj or {}), **{k: v for k, v in more.items() if v is not None}}
