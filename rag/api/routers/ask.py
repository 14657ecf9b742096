"""Question answering."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from rag.api.deps import PipelineDep
from rag.api.schemas import AnswerOut, AskRequest

router = APIRouter(prefix="/api", tags=["ask"])


@router.post("/ask", response_model=AnswerOut, summary="提问 / Ask a question")
async def ask(req: AskRequest, pipeline: PipelineDep) -> AnswerOut:
    history = [t.content for t in req.history if t.role == "user"]
    answer = await run_in_threadpool(pipeline.ask, req.question, req.top_k, history=history)
    return AnswerOut(**answer.to_dict())
