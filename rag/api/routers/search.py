"""Ranked retrieval units, for clients that compose their own answers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from rag.api.deps import PipelineDep, ReportIdsDep
from rag.api.schemas import SearchHit, SearchOut, SearchText

router = APIRouter(prefix="/api", tags=["search"])


@router.get("/search", response_model=SearchOut, summary="检索原文句子 / Search report sentences")
async def search(
    pipeline: PipelineDep,
    docs: ReportIdsDep,
    q: Annotated[SearchText, Query(description="查询（1–500 字） / the query (1–500 characters)")],
    k: Annotated[int, Query(ge=1, le=50, description="返回条数 / number of hits")] = 10,
    retriever: Annotated[Literal["hybrid", "bm25", "dense"], Query(description="检索方式 / retriever")] = "hybrid",
) -> SearchOut:
    scored = await run_in_threadpool(pipeline.search, q, k, retriever=retriever, documents=docs)
    hits = [
        SearchHit(rank=i, score=s.score, dense=s.dense, bm25=s.bm25, unit_id=s.unit.id, doc=s.unit.doc_id,
                  section_id=s.unit.section_id, section_path=" › ".join(s.unit.section_path), text=s.unit.text,
                  start=s.unit.start, end=s.unit.end)
        for i, s in enumerate(scored, 1)
    ]
    return SearchOut(query=q, retriever=retriever, hits=hits)
