"""Liveness and what is being served."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from rag.api.deps import PipelineDep
from rag.api.schemas import Health

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health, summary="服务状态 / Service status")
def health(pipeline: PipelineDep) -> Health:
    return Health(status="ok", model=pipeline.embedder.model_id, manifest=asdict(pipeline.store.manifest))
