"""Question answering, whole or as a server-sent-event stream."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from fastapi.responses import StreamingResponse

from rag.api.deps import PipelineDep, report_ids
from rag.api.schemas import AnswerOut, AskRequest
from rag.api.streaming import guarded_sse

router = APIRouter(prefix="/api", tags=["ask"])


@router.post("/ask", response_model=AnswerOut, summary="提问 / Ask a question")
async def ask(req: AskRequest, pipeline: PipelineDep) -> AnswerOut:
    docs = report_ids(pipeline, req.documents, req.region, req.year)
    answer = await run_in_threadpool(pipeline.ask, req.question, req.top_k, history=req.user_history(),
                                     documents=docs)
    # validated from the answer's own attributes: no intermediate dict to build and validate again
    return AnswerOut.model_validate(answer, from_attributes=True)


def _event(event: dict) -> str:
    """Each pipeline event as one SSE message named by its ``type``; the pipeline decides what events exist."""
    return f"event: {event.get('type', 'message')}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"


def _error_event(code: str, message: str) -> str:
    return f"event: error\ndata: {json.dumps({'type': 'error', 'error': {'code': code, 'message': message}})}\n\n"


def _sse(events: AsyncIterator[dict]) -> AsyncIterator[str]:
    """A failure after the response started ends the stream with an ``error`` event in the error shape."""
    return guarded_sse(events, _event, _error_event, "answer stream")


@router.post(
    "/ask/stream",
    summary="流式提问 / Ask, streamed as server-sent events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "`delta` 事件为回答片段，最后一个 `final` 事件为完整回答 JSON / "
                                    "`delta` events carry answer text, the last `final` event the full answer JSON"}},
)
async def ask_stream(req: AskRequest, pipeline: PipelineDep) -> StreamingResponse:
    docs = report_ids(pipeline, req.documents, req.region, req.year)
    events = pipeline.ask_stream(req.question, req.top_k, history=req.user_history(), documents=docs)
    return StreamingResponse(_sse(iterate_in_threadpool(events)), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
