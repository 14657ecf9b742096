"""``rag info``: the model and the index as configured, read without loading the model."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from rag.cli.context import settings_from
from rag.cli.options import MilvusCollectionOpt, MilvusUriOpt, StoreOpt, option, use_store

InfoJsonOpt = Annotated[bool, option("info", "--json")]


def info(ctx: typer.Context, as_json: InfoJsonOpt = False, store: StoreOpt = None, milvus_uri: MilvusUriOpt = None,
         milvus_collection: MilvusCollectionOpt = None) -> None:
    """模型与索引信息 / Model and index details, without loading the model."""
    from rag.embed.embedder import Embedder
    from rag.stores import builds_dir, describe_settings
    from rag.stores.index import IndexUnavailable, read_manifest

    use_store(ctx, store, milvus_uri, milvus_collection)
    settings = settings_from(ctx)
    embedder = Embedder.from_settings(settings)
    data: dict[str, Any] = {
        "model": settings.model, "model_id": embedder.model_id, "model_path": embedder.model_path,
        "encoder": embedder.planned_encoder, "corpus_dir": str(settings.corpus_dir),
        "index_dir": str(settings.index_dir), "store": describe_settings(settings)}
    try:
        m = read_manifest(builds_dir(settings))
        data |= {"dimension": m.dim, "documents": m.n_documents, "sections": m.n_sections, "units": m.n_units,
                 "reports": m.reports, "manifest": m.__dict__}
    except IndexUnavailable as exc:  # no index yet is a fact to show, not a failure
        data |= {"dimension": None, "documents": None, "sections": None, "units": None, "reports": [],
                 "manifest": None, "index_error": str(exc)}
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
        return
    for k, v in data.items():
        if k not in ("manifest", "reports"):
            typer.echo(f"{k}: {v}")
    for r in data["reports"]:
        typer.echo(f"report: {r['id']}  {r['title'] or '—'}  "
                   f"({r['region'] or '?'} · {r['level'] or '?'} · {r['year'] or '?'})")
