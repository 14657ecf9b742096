"""Dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from rag.commitments import Commitment
from rag.pipeline import Pipeline


def get_pipeline(request: Request) -> Pipeline:
    return request.app.state.pipeline


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]

#: Ids only ever name in-memory documents and sections; the strict forms also keep anything
#: path-like ("..", "/", "\\", control characters) from reaching a handler or a log line.
DocId = Annotated[str, Path(pattern=r"^[\w\-]+(\.[\w\-]+)*$", max_length=128, description="文档编号 / document id")]
SectionId = Annotated[str, Path(pattern=r"^\d+(\.\d+)*$", max_length=64, description="章节编号，如 2.1 / section id")]


def get_commitments(pipeline: PipelineDep) -> list[Commitment]:
    """Extracted once when the pipeline loads, not per request."""
    return pipeline.commitments.items


CommitmentsDep = Annotated[list[Commitment], Depends(get_commitments)]
