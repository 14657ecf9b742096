"""``rag serve`` and ``rag mcp``: the product as a web page and HTTP API, or as MCP tools."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rag.cli.context import fail, load_pipeline, settings_from
from rag.cli.options import CandidateKOpt, MilvusCollectionOpt, MilvusUriOpt, StoreOpt, option, use_store
from rag.core.errors import RagError

if TYPE_CHECKING:
    from rag.core.settings import Settings

HostOpt = Annotated[str | None, option("serve", "--host")]
PortOpt = Annotated[int | None, option("serve", "--port")]
WorkersOpt = Annotated[int, option("serve", "--workers")]


def serve(
    ctx: typer.Context,
    host: HostOpt = None,
    port: PortOpt = None,
    workers: WorkersOpt = 1,
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
            fail(f"Milvus Lite（{settings.milvus_target}）只能由一个进程打开：请用 --workers 1，或连接 Milvus 服务器。"
                 f" / Milvus Lite ({settings.milvus_target}) is opened by one process only: use --workers 1, "
                 "or a Milvus server URI.", 2)
    settings = _v1_token(settings)
    opened = f"打开 / Open http://{settings.host}:{settings.port}/  (API docs: /docs)"
    if workers == 1:  # serve the pipeline loaded here, so the model is in memory once
        from ui.server import create_server  # the CLI alone joins API and page

        app_ = create_server(settings, load_pipeline(ctx))
        typer.echo(opened)
        uvicorn.run(app_, host=settings.host, port=settings.port, http=protocol(settings.header_timeout_s),
                    **_limits(settings))
        return
    from rag.embed.embedder import Embedder
    from rag.pipeline import open_index

    try:  # build or check the index once, before any worker starts; only workers load the model
        open_index(settings, Embedder.from_settings(settings), progress=sys.stderr.isatty())
    except RagError as exc:
        fail(str(exc))
    typer.echo(opened)
    # workers build their own app from the environment, so global options travel through it
    os.environ.update({f"RAG_{k.upper()}": str(v) for k, v in (ctx.obj or {}).items()}, RAG_WORKERS=str(workers))
    uvicorn.run("ui.server:create_server", factory=True, host=settings.host, port=settings.port,
                workers=workers, http="rag.api.transport:GuardedH11Protocol", **_limits(settings))


def _limits(settings: Settings) -> dict[str, Any]:
    """uvicorn's limits on slow or too many clients: see SECURITY.md («Limits and defences») for each."""
    return dict(limit_concurrency=settings.limit_concurrency or None, timeout_keep_alive=settings.timeout_keep_alive_s,
                forwarded_allow_ips=settings.forwarded_allow_ips, log_level="info")


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
    typer.echo(f"/v1 接口的访问令牌（设置 RAG_API_TOKEN 可固定） / Bearer token for /v1 (set RAG_API_TOKEN to fix it): "
               f"{token}")
    return settings.model_copy(update={"api_token": token})


TransportOpt = Annotated[str, option("mcp", "--transport")]
McpHostOpt = Annotated[str, option("mcp", "--host")]
McpPortOpt = Annotated[int, option("mcp", "--port")]


def mcp(
    ctx: typer.Context,
    transport: TransportOpt = "stdio",
    host: McpHostOpt = "127.0.0.1",
    port: McpPortOpt = 8001,
    store: StoreOpt = None, milvus_uri: MilvusUriOpt = None, milvus_collection: MilvusCollectionOpt = None,
) -> None:
    """MCP 服务：ask / search / list_reports / commitments 四个工具 / Serve the Model Context Protocol tools.

    An agent host starts it as a subprocess (stdio). The index is checked and the model loaded before
    the protocol starts, so a host gets a working server or a clear error on standard error."""
    import contextlib

    from rag.api.mcp import build_server

    if transport not in ("stdio", "streamable-http"):
        fail(f"未知传输方式 {transport!r}（可选 stdio / streamable-http） / Unknown transport {transport!r}", 2)
    use_store(ctx, store, milvus_uri, milvus_collection, None)
    with contextlib.redirect_stdout(sys.stderr):  # standard output is the protocol's channel
        pipeline = load_pipeline(ctx)
    server = build_server(pipeline)
    if transport == "stdio":
        server.run("stdio")
    else:
        typer.echo(f"MCP (streamable HTTP): http://{host}:{port}/mcp", err=True)
        server.run("streamable-http", host=host, port=port)
