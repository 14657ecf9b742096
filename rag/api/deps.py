"""Dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from rag.answer.selection import UnknownReport
from rag.api.errors import ApiError
from rag.commitments.record import Commitment
from rag.pipeline import Pipeline


async def get_pipeline(request: Request) -> Pipeline:
    """``async`` although it does not wait: a plain ``def`` dependency costs every request a
    thread-pool round trip just to read an attribute."""
    return request.app.state.pipeline


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]

#: Ids only ever name in-memory documents and sections. A report id is its path inside the corpus
#: (``主要城市/成都市/2025``, ``rag.ingest.corpus.doc_id_for``): folder names joined by "/"; the strict form
#: still keeps "..", "\\", a leading "/" and control characters from reaching a handler or a log line.
DocId = Annotated[str, Path(pattern=r"^[\w\-]+(\.[\w\-]+)*(/[\w\-]+(\.[\w\-]+)*)*$", max_length=160,
                            description="文档编号，即语料中的相对路径（不含扩展名）"
                                        " / document id: its path in the corpus, without suffix")]
SectionId = Annotated[str, Path(pattern=r"^\d+(\.\d+)*$", max_length=64, description="章节编号，如 2.1 / section id")]


async def get_commitments(pipeline: PipelineDep) -> list[Commitment]:
    """Extracted once when the pipeline loads, not per request."""
    return pipeline.commitments.items


CommitmentsDep = Annotated[list[Commitment], Depends(get_commitments)]


#: Report filters shared by ask, search and commitments: a bad year is a 422, an unknown report a 404.
YEAR_RANGE = {"ge": 1949, "le": 2100}


def report_ids(pipeline: Pipeline, documents: list[str] | None, region: str | None,
               year: int | None) -> tuple[str, ...] | None:
    """The doc ids a request restricts itself to (None: every report), or a 404 naming the reports."""
    if not documents and not (region or "").strip() and year is None:
        return None
    try:
        return pipeline.selector.resolve(documents or None, (region or "").strip() or None, year)
    except UnknownReport as exc:
        raise ApiError(404, "unknown_report", str(exc)) from None


def query_report_ids(
    pipeline: PipelineDep,
    documents: Annotated[list[str] | None,
                         Query(max_length=50, description="报告编号，可重复 / report ids, repeatable")] = None,
    region: Annotated[str | None, Query(max_length=40, description="地区，如 江城 或 江城市 / place")] = None,
    year: Annotated[int | None,
                    Query(**YEAR_RANGE, description="报告年份（计划年度） / the report's plan year")] = None,
) -> tuple[str, ...] | None:
    return report_ids(pipeline, documents, region, year)


ReportIdsDep = Annotated[tuple[str, ...] | None, Depends(query_report_ids)]
