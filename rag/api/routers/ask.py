"""Question answering, whole or as a server-sent-event stream."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from fastapi.responses import StreamingResponse

from rag.api.deps import PipelineDep, report_ids
from rag.api.errors import DEFAULTS
from rag.api.schemas import AnswerOut, AskRequest

router = APIRouter(prefix="/api", tags=["ask"])
log = logging.getLogger("rag.api")


@router.post("/ask", response_model=AnswerOut, summary="提问 / Ask a question")
async def ask(req: AskRequest, pipeline: PipelineDep) -> AnswerOut:
    docs = report_ids(pipeline, req.documents, req.region, req.year)
    answer = await run_in_threadpool(pipeline.ask, req.question, req.top_k, history=req.user_history(),
                                     documents=docs)
    # validated from the answer's own attributes: no intermediate dict to build and validate again
    return AnswerOut.model_validate(answer, from_attributes=True)


async def _sse(events: AsyncIterator[dict]) -> AsyncIterator[str]:
    """Each pipeline event as one SSE message named by its ``type``; the pipeline decides what events exist.
    A failure after the response started cannot become a 500: it ends the stream with an
    ``error`` event in the error shape, and the details go to the log."""
    try:
        async for event in events:
            yield f"event: {event.get('type', 'message')}\ndata: {json.dumps(event, ensure_ascii=False)}\n\n"
    except Exception:
        log.exception("answer stream failed")
        code, message = DEFAULTS[500]
        yield f"event: error\ndata: {json.dumps({'type': 'error', 'error': {'code': code, 'message': message}})}\n\n"


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
