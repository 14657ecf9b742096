"""Browsing the reports themselves: every citation can be checked against its full section."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from rag.api.deps import DocId, PipelineDep, SectionId
from rag.api.schemas import DocumentOut, DocumentText, SectionOut, SectionRef
from rag.core.types import Document, Section
from rag.ingest.corpus import report_name, source_url

router = APIRouter(prefix="/api", tags=["documents"])


def _ref(s: Section) -> SectionRef:
    return SectionRef(id=s.id, title=s.title, level=s.level, parent=s.parent, part=s.part)


def _document(pipeline: PipelineDep, doc_id: str) -> Document:
    doc = pipeline.store.document(doc_id)
    if doc is None:
        raise HTTPException(404, "未找到该文档。 / Unknown document.")
    return doc


@router.get("/documents", response_model=list[DocumentOut], summary="报告列表与目录 / Reports and their outlines")
def documents(pipeline: PipelineDep) -> list[DocumentOut]:
    return [DocumentOut(id=d.id, name=report_name(d), source_url=source_url(d), title=d.title, source=d.source,
                        chars=len(d.text), format=d.format,
                        original_name=d.original_name or d.source, pages=len(d.pages) or None, report=d.report,
                        sections=[_ref(s) for s in d.sections])
            for d in pipeline.store.documents]


# Ids hold "/" (``主要城市/成都市/2025``): the section route comes first, so that
# ``…/sections/2.1`` is never read as part of a document id.
@router.get("/documents/{doc:path}/sections/{section_id}", response_model=SectionOut,
            summary="章节全文 / Full text of a section",
            responses={404: {"description": "未找到文档或章节 / Unknown document or section"}})
def section(doc: DocId, section_id: SectionId, pipeline: PipelineDep) -> SectionOut:
    document = _document(pipeline, doc)
    sec = document.section(section_id)
    if sec is None:
        raise HTTPException(404, "该文档中没有这一章节。 / No such section in this document.")
    children = [c for c in (document.section(cid) for cid in sec.children) if c is not None]
    return SectionOut(doc=doc, id=sec.id, title=sec.title, path=list(sec.path), level=sec.level, parent=sec.parent,
                      start=sec.start, heading_end=sec.heading_end, end=sec.end, text=document.text[sec.start:sec.end],
                      children=[_ref(c) for c in children])


@router.get("/documents/{doc:path}", response_model=DocumentText,
            summary="报告全文（提取后） / A report's extracted text",
            responses={404: {"description": "未找到文档 / Unknown document"}})
def document_text(doc: DocId, pipeline: PipelineDep) -> DocumentText:
    d = _document(pipeline, doc)
    return DocumentText(id=d.id, name=report_name(d), source_url=source_url(d), title=d.title, source=d.source,
                        format=d.format,
                        original_name=d.original_name or d.source, text=d.text, page_starts=list(d.pages))
