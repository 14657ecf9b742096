"""Liveness and what is being served: the readiness probe of a load balancer."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from rag.api.deps import PipelineDep
from rag.api.errors import ApiError
from rag.api.schemas import Health, SkippedOut
from rag.stores import StoreUnavailable

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health, summary="服务状态 / Service status",
            responses={503: {"description": "存储不可用 / the store (e.g. Milvus) does not answer"}})
def health(pipeline: PipelineDep) -> Health:
    """503 with the reason when the store stopped answering, so a balancer takes the replica out."""
    try:
        pipeline.store.check()
    except StoreUnavailable as exc:
        raise ApiError(503, "store_unavailable", str(exc)) from exc
    manifest = pipeline.store.manifest
    return Health(status="ok", model=pipeline.embedder.model_id, store=pipeline.store.describe(),
                  manifest=asdict(manifest), skipped=[SkippedOut(**f) for f in manifest.skipped])
