"""Liveness and what is being served: the readiness probe of a load balancer."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Request

from rag.api.deps import PipelineDep
from rag.api.errors import ApiError
from rag.api.reload import BuildStatus, served_build
from rag.api.schemas import Health, SkippedOut
from rag.stores import StoreUnavailable

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health, summary="服务状态 / Service status",
            responses={503: {"description": "存储不可用 / the store (e.g. Milvus) does not answer"}})
def health(pipeline: PipelineDep, request: Request) -> Health:
    """503 with the reason when the store stopped answering, so a balancer takes the replica out.
    ``status`` is «stale» while a newly published build is not served yet (or could not be loaded:
    ``reload_error``); ``build`` names the build folder the answers come from."""
    try:
        pipeline.store.check()
    except StoreUnavailable as exc:
        raise ApiError(503, "store_unavailable", str(exc)) from exc
    manifest = pipeline.store.manifest
    watcher = getattr(request.app.state, "index_watcher", None)
    build = watcher.status() if watcher is not None else BuildStatus(served_build(pipeline), None)
    return Health(status="stale" if build.stale else "ok", model=pipeline.embedder.model_id,
                  store=pipeline.store.describe(), manifest=asdict(manifest),
                  skipped=[SkippedOut(**f) for f in manifest.skipped], build=build.served,
                  published_build=build.published, stale=build.stale, reload_error=build.error)
