"""Liveness and what is being served."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from rag.api.deps import PipelineDep
from rag.api.schemas import Health, SkippedOut

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health, summary="服务状态 / Service status")
def health(pipeline: PipelineDep) -> Health:
    manifest = pipeline.store.manifest
    return Health(status="ok", model=pipeline.embedder.model_id, manifest=asdict(manifest),
                  skipped=[SkippedOut(**f) for f in manifest.skipped])
