"""OpenAI-compatible ``/v1/models`` and ``/v1/chat/completions``, over the same pipeline as ``/api/ask``.

The answer, its citations and its refusals are exactly ``/api/ask``'s; only the envelope differs. A
streamed answer sends the answer's pieces, then the sources list, then a last chunk that carries the
structured citations and ``finish_reason: stop``, then ``[DONE]``.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.concurrency import iterate_in_threadpool, run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from rag.api import openai_compat as oa
from rag.api.deps import PipelineDep
from rag.api.errors import ApiError
from rag.api.streaming import guarded_sse
from rag.core.types import Answer, Citation, SectionRef
from rag.pipeline import Pipeline

router = APIRouter(prefix="/v1", tags=["openai"])


def _scope(pipeline: Pipeline, model: str) -> oa.Scope:
    for scope in oa.scopes(pipeline.store.documents):
        if scope.id == model:
            return scope
    raise ApiError(404, "model_not_found",
                   f"没有名为“{model}”的模型；GET /v1/models 列出可用的模型。"
                   f" / The model {model!r} does not exist; GET /v1/models lists the available ones.")


@router.get("/models", summary="可选的报告范围（模型） / Scopes to answer from, as models",
            responses=oa.ERROR_RESPONSES)
async def models(pipeline: PipelineDep) -> JSONResponse:
    return JSONResponse(oa.model_list(oa.scopes(pipeline.store.documents), _created(pipeline)))


@router.get("/models/{model:path}", summary="一个模型 / One model", responses=oa.ERROR_RESPONSES)
async def model(model: Annotated[str, Path(min_length=1, max_length=200, description="模型编号 / model id")],
                pipeline: PipelineDep) -> JSONResponse:
    scope = _scope(pipeline, model)
    return JSONResponse(oa.model_list([scope], _created(pipeline))["data"][0])


def _created(pipeline: Pipeline) -> int:
    """A model's «created» is when its index was built (the manifest's ISO time)."""
    try:
        return int(datetime.fromisoformat(pipeline.store.manifest.built_at).timestamp())
    except (TypeError, ValueError):
        return 0


def _parsed(req: oa.ChatRequest) -> tuple[str, list[str]]:
    refusal = req.refusal()
    try:
        if refusal:
            raise refusal
        return req.question_and_history()
    except oa.Unsupported as exc:
        raise ApiError(400, f"unsupported_{exc.param}", str(exc), param=exc.param) from None


@router.post(
    "/chat/completions",
    response_model=None,
    summary="OpenAI 兼容的对话接口 / OpenAI-compatible chat completions",
    responses={**oa.ERROR_RESPONSES,
               200: {"content": {"application/json": {}, "text/event-stream": {}},
                     "description": "chat.completion；stream=true 时为 chat.completion.chunk 事件流，以 [DONE] 结束。"
                                    "citations 字段为结构化引用 / a chat.completion, or with stream=true a stream of "
                                    "chat.completion.chunk events ending in [DONE]; `citations` carries the structured "
                                    "citations"}},
)
async def chat_completions(req: oa.ChatRequest, pipeline: PipelineDep) -> JSONResponse | StreamingResponse:
    question, history = _parsed(req)
    scope = _scope(pipeline, req.model)
    if req.stream:
        events = _stream(pipeline, req.model, question, history, scope.documents)
        return StreamingResponse(_sse(iterate_in_threadpool(events)), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    answer: Answer = await run_in_threadpool(pipeline.ask, question, history=history, documents=scope.documents)
    return JSONResponse(oa.completion(req.model, oa.message_text(answer), oa.rag_fields(answer)))


def _stream(pipeline: Pipeline, model: str, question: str, history: list[str],
            documents: tuple[str, ...] | None) -> Iterator[dict]:
    """Chunks as the pipeline streams; a ``reset`` (a verified LLM answer rejected) cannot be undone in
    this protocol, so pieces are held back until the final answer is known when one could come."""
    cid, created = oa.completion_id(), int(time.time())
    yield oa.chunk(cid, model, created, {"role": "assistant", "content": ""})
    events = pipeline.ask_stream(question, history=history, documents=documents)
    held: list[str] = []
    final: Answer | dict | None = None
    for event in events:
        if event["type"] == "delta":
            held.append(event["text"])
        elif event["type"] == "reset":
            held.clear()
        elif event["type"] == "final":
            final = event["answer"]
    if final is None:  # the pipeline always ends with a final event; defensive for the protocol's sake
        raise RuntimeError("answer stream ended without a final answer")
    answer = _answer(final)
    for piece in held:
        yield oa.chunk(cid, model, created, {"content": piece})
    tail = oa.sources(answer.citations)
    if tail:
        yield oa.chunk(cid, model, created, {"content": tail})
    yield oa.chunk(cid, model, created, {}, "stop", oa.rag_fields(answer))


def _answer(payload: Answer | dict) -> Answer:
    if isinstance(payload, Answer):
        return payload
    return Answer(question=payload["question"], answer=payload["answer"], found=payload["found"],
                  citations=[Citation(**c) for c in payload["citations"]],
                  related_refs=[SectionRef(**r) for r in payload.get("related_refs", [])])


def _chunk_event(c: dict) -> str:
    return f"data: {json.dumps(c, ensure_ascii=False)}\n\n"


def _error_event(code: str, message: str) -> str:
    return f"data: {json.dumps({'error': {'message': message, 'type': 'api_error', 'param': None, 'code': code}})}\n\n"


async def _sse(chunks: AsyncIterator[dict]) -> AsyncIterator[str]:
    """OpenAI's framing: ``data: {chunk}`` lines, and ``data: [DONE]`` closing even a failed stream."""
    async for line in guarded_sse(chunks, _chunk_event, _error_event, "chat completion stream"):
        yield line
    yield "data: [DONE]\n\n"
