"""The OpenAI chat-completions dialect: request and response shapes, scopes as «models», and an
answer rendered the way chat clients show sources.

Chat front-ends (Open WebUI, LobeChat, ChatBox) and SDKs speak this protocol; the product keeps its
reason to exist in it: every answer's citations travel as a short sources list inside the message,
and as structured data in an extra ``citations`` field that clients which do not know it ignore.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from rag.api.schemas import MAX_HISTORY, MAX_QUESTION_CHARS
from rag.core.types import Answer, Citation, Document

#: The model that answers from every report; scoped models add «:<place>» or «:<place><year>».
BASE_MODEL = "gov-report-rag"
OWNER = "gov-report-rag"
#: A message may be a long pasted context; the question itself is checked against the API's limit.
MAX_MESSAGE_CHARS = 8000


class TextPart(BaseModel):
    """One part of a multi-part message; only text parts are understood."""

    model_config = ConfigDict(extra="ignore")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Annotated[str, StringConstraints(max_length=MAX_MESSAGE_CHARS)] | list[TextPart] | None = None

    def text(self) -> str:
        """The message's text; a non-text part (an image) is a request this product cannot honour."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        if any(p.type != "text" for p in self.content):
            raise Unsupported("content", "只支持文本消息。 / Only text message parts are supported.")
        return "".join(p.text or "" for p in self.content)[:MAX_MESSAGE_CHARS]


class ChatRequest(BaseModel):
    """What OpenAI's clients send. Sampling parameters (temperature, max_tokens, …) mean nothing to
    an extractive answerer and are accepted and ignored; ``n`` > 1 and tools are refused."""

    model_config = ConfigDict(extra="ignore")
    model: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    messages: list[ChatMessage] = Field(..., min_length=1, max_length=2 * MAX_HISTORY + 2)
    stream: bool = False
    n: int | None = None
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    user: str | None = None

    def refusal(self) -> Unsupported | None:
        """The first parameter the product cannot honour, as the error to give."""
        if self.n not in (None, 1):
            return Unsupported("n", "只支持 n=1。 / Only n=1 is supported.")
        if self.tools or self.functions or self.tool_choice not in (None, "none", "auto"):
            return Unsupported("tools", "不支持工具调用；请改用 MCP 服务（rag mcp）。"
                                        " / Tool calls are not supported; use the MCP server (rag mcp) instead.")
        if self.response_format and self.response_format.get("type") not in (None, "text"):
            return Unsupported("response_format", "只支持文本回答。 / Only text responses are supported.")
        return None

    def question_and_history(self) -> tuple[str, list[str]]:
        """The last message is the question and must be the user's; earlier user turns are the
        history a follow-up leans on, as on the page."""
        last = self.messages[-1]
        if last.role != "user":
            raise Unsupported("messages", "最后一条消息须为用户提问。 / The last message must be the user's question.")
        question = last.text().strip()
        if not question or len(question) > MAX_QUESTION_CHARS:
            raise Unsupported("messages", f"问题须为 1–{MAX_QUESTION_CHARS} 个字符。"
                                          f" / The question must be 1–{MAX_QUESTION_CHARS:,} characters long.")
        history = [m.text() for m in self.messages[:-1] if m.role == "user"][-MAX_HISTORY:]
        return question, history


class OpenAIErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorOut(BaseModel):
    """Every ``/v1/`` error: OpenAI's shape, so its clients raise their typed exceptions."""

    error: OpenAIErrorBody


#: For the routes' ``responses=``: the OpenAPI schema documents OpenAI's error shape under ``/v1/``.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": OpenAIErrorOut} for status in (400, 401, 404, 413, 415, 422, 429, 500)
}


class Unsupported(ValueError):
    """A request the protocol allows but this product cannot honour: a 400 naming the parameter."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class Scope:
    """One «model»: a name clients pick from, and the reports it answers from (None: all)."""

    id: str
    documents: tuple[str, ...] | None
    description: str


def scopes(documents: Sequence[Document]) -> list[Scope]:
    """Every report, then each place with its reports, then each report alone, in catalogue order."""
    out = [Scope(BASE_MODEL, None, "所有报告 / every report")]
    places: dict[str, list[str]] = {}
    for d in documents:
        if d.report.region:
            places.setdefault(d.report.region, []).append(d.id)
    out += [Scope(f"{BASE_MODEL}:{place}", tuple(ids), f"{place}的报告 / reports of {place}")
            for place, ids in places.items() if len(ids) > 1]
    seen = {s.id for s in out}
    for d in documents:
        name = f"{d.report.region}{d.report.year or ''}" if d.report.region else d.id
        sid = f"{BASE_MODEL}:{name}"
        if sid in seen:  # two reports of one place and year: the id tells them apart
            sid = f"{BASE_MODEL}:{d.id}"
        seen.add(sid)
        out.append(Scope(sid, (d.id,), d.title or d.id))
    return out


def model_list(all_scopes: Iterable[Scope], created: int) -> dict:
    return {"object": "list",
            "data": [{"id": s.id, "object": "model", "created": created, "owned_by": OWNER,
                      "description": s.description} for s in all_scopes]}


def sources(citations: Sequence[Citation]) -> str:
    """The sources list under an answer: number, report, section, the verbatim quote, and where the
    report was published when its front matter says."""
    if not citations:
        return ""
    lines = ["", "", "来源 / Sources:"]
    for c in citations:
        page = f"，第{c.page}页" if c.page else ""
        url = f" <{c.source_url}>" if c.source_url else ""
        lines.append(f"[{c.n}] {c.report or c.doc} · {c.section_path}{page}：「{c.quote}」{url}")
    return "\n".join(lines)


def message_text(answer: Answer) -> str:
    """The assistant message: the answer sentence (a refusal is one too), then its sources."""
    return answer.answer + sources(answer.citations)


def rag_fields(answer: Answer) -> dict:
    """The structured answer beside the message: what ``/api/ask`` gives, for clients that look."""
    payload = answer.to_dict()
    return {"citations": payload["citations"], "found": answer.found, "answer": answer.answer,
            "related_refs": payload.get("related_refs", [])}


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def completion(model: str, text: str, extra: dict, cid: str | None = None) -> dict:
    return {"id": cid or completion_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop",
                         "logprobs": None}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            **extra}


def chunk(cid: str, model: str, created: int, delta: dict, finish: str | None = None,
          extra: dict | None = None) -> dict:
    return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **(extra or {})}
