"""Dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rag.commitments import Commitment
from rag.pipeline import Pipeline


def get_pipeline(request: Request) -> Pipeline:
    return request.app.state.pipeline


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]


def get_commitments(pipeline: PipelineDep) -> list[Commitment]:
    """Extracted once when the pipeline loads, not per request."""
    return pipeline.commitments.items


CommitmentsDep = Annotated[list[Commitment], Depends(get_commitments)]
