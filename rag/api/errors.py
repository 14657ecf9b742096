"""One error shape for every failure: ``{"error": {"code": str, "message": str}}``.

Clients (the web page, scripts, the fuzz tests) branch on ``code`` and show ``message``, which
is always Chinese and English. Nothing internal leaks: no stack traces, no echoed input.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import HTTPExceptionHandler

from rag.core.errors import RagError

log = logging.getLogger("rag.api")

#: status → (code, bilingual message) used when a handler has nothing more specific to say.
DEFAULTS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求无效。 / Bad request."),
    401: ("unauthorized", "缺少或错误的访问令牌。 / Missing or wrong access token."),
    403: ("forbidden", "不允许此操作。 / Forbidden."),
    404: ("not_found", "未找到该资源。 / Not found."),
    405: ("method_not_allowed", "不支持该请求方法。 / Method not allowed."),
    413: ("payload_too_large", "请求体过大。 / Request body too large."),
    415: ("unsupported_media_type", "请求体须为 JSON（Content-Type: application/json）。 / "
                                    "The body must be JSON (Content-Type: application/json)."),
    422: ("invalid_request", "请求参数无效。 / Invalid request."),
    429: ("rate_limited", "请求过于频繁，请稍后再试。 / Too many requests; try again later."),
    500: ("internal_error", "服务器内部错误，已记录。 / Internal server error; it has been logged."),
    503: ("unavailable", "服务暂不可用。 / Service unavailable."),
}


#: What the page says when a question fails the API's own rules (``QuestionText``).
QUESTION_INVALID = ("问题须为 1–1000 个字符（不含控制字符）。 / The question must be 1–1,000 characters long "
                    "(control characters aside).")
#: Failures of the service rather than of the request: 503 with the details in the log. Routes map the
#: product's errors that are the request's fault (an unknown report) themselves; whatever ``RagError``
#: is left (no index, no model, a build holding the lock) is the service's. No builtin joins it: an
#: ``OSError`` or ``TimeoutError`` that gets here was wrapped by no one, a bug, so it stays a logged 500.
SERVICE_ERRORS: tuple[type[Exception], ...] = (RagError,)

#: A ``/v1/`` request without the server's bearer token (``RAG_API_TOKEN``).
UNAUTHORIZED = ("缺少或错误的访问令牌：请以 Authorization: Bearer <RAG_API_TOKEN> 发送。"
                " / Missing or wrong access token: send Authorization: Bearer <RAG_API_TOKEN>.")

#: The page takes no files: every upload route and multipart body gets this (403).
UPLOADS_DISABLED = "本服务不接受上传文件。 / This service accepts no uploads."


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    """The body of every non-2xx response."""

    error: ErrorBody


#: For ``FastAPI(responses=...)``: documents the shape in the OpenAPI schema of every route.
ERROR_RESPONSES: dict[int | str, dict] = {
    status: {"model": ErrorOut, "description": DEFAULTS[status][1]} for status in (404, 413, 415, 422, 429, 500)
}


class ApiError(StarletteHTTPException):
    """Raised by routes for an expected failure with its own code and bilingual message; ``param``
    names the request field at fault, for protocols that report it (OpenAI's)."""

    def __init__(self, status_code: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(status_code, message)
        self.code, self.param = code, param


#: Paths that speak OpenAI's protocol: their errors take its shape, ``{"error": {"message", "type",
#: "param", "code"}}``, which its client libraries parse into typed exceptions.
OPENAI_PREFIX = "/v1/"
_OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                 404: "not_found_error", 405: "invalid_request_error", 413: "invalid_request_error",
                 415: "invalid_request_error", 422: "invalid_request_error", 429: "rate_limit_error"}


def error_response(status: int, code: str | None = None, message: str | None = None,
                   headers: dict[str, str] | None = None, *, path: str = "", param: str | None = None) -> JSONResponse:
    """The error body for ``status``; ``path`` picks the protocol's shape (OpenAI's under ``/v1/``)."""
    default_code, default_message = DEFAULTS.get(status, ("error", f"HTTP {status}"))
    error: dict[str, str | None] = {"code": code or default_code, "message": message or default_message}
    if path.startswith(OPENAI_PREFIX):
        error = {"message": error["message"], "type": _OPENAI_TYPES.get(status, "api_error"), "param": param,
                 "code": error["code"]}
    return JSONResponse({"error": error}, status_code=status, headers=headers)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """A route's own string detail is its message; Starlette's bare status phrases get ours."""
    path = request.url.path
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):  # FastAPI's body reader: bad UTF-8
        return error_response(422, "invalid_request", "请求体不是有效的 JSON。 / The body is not valid JSON.",
                              path=path)
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = None
    message = exc.detail if isinstance(exc.detail, str) and exc.detail != phrase else None
    return error_response(exc.status_code, getattr(exc, "code", None), message, headers=getattr(exc, "headers", None),
                          path=path, param=getattr(exc, "param", None))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """Names each bad field and what is wrong with it, never the submitted value; a body that is
    no JSON says where the parser stopped and why."""
    problems = []
    for err in exc.errors()[:5]:
        loc = [p for p in err.get("loc", ()) if p != "body"]
        if err.get("type") == "json_invalid":
            at = f"第 {loc[0]} 个字符 / character {loc[0]}" if loc else "?"
            why = (err.get("ctx") or {}).get("error", "invalid JSON")
            detail = (f"请求体不是有效的 JSON（{at}：{why}） / The body is not valid JSON "
                      f"(at character {loc[0] if loc else '?'}: {why})")
            return error_response(422, "invalid_request", detail, path=request.url.path)
        problems.append(f"{'.'.join(str(p) for p in loc) or 'body'}: {err.get('msg', 'invalid')}")
    detail = "; ".join(problems)
    first = exc.errors()[0].get("loc", ()) if exc.errors() else ()
    param = ".".join(str(p) for p in first if p != "body") or None
    return error_response(422, "invalid_request", f"请求参数无效：{detail} / Invalid request: {detail}",
                          path=request.url.path, param=param)


async def _service_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The details (paths, what to run) go to the operator's log, not to the client."""
    log.error("service unavailable: %s", exc)
    return error_response(503, path=request.url.path)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, path=request.url.path)


async def _api_not_found(request: Request) -> JSONResponse:
    """404 for a path no route has; 405 with ``Allow`` for a route asked with another method
    (``GET /api/ask``): this catch-all would otherwise answer every method it lists."""
    path = request.url.path
    allowed = sorted({m for pattern, methods in _routes(request.app) if pattern.match(path) for m in methods})
    if allowed:
        return error_response(405, headers={"allow": ", ".join(allowed)}, path=path)
    return error_response(404, path=path)


def _routes(app: FastAPI) -> list[tuple[re.Pattern[str], tuple[str, ...]]]:
    """Each documented path as a pattern, with its methods (from the OpenAPI schema, made once)."""
    routes = getattr(app.state, "api_routes", None)
    if routes is None:
        routes = [(compile_path(path)[0], tuple(m.upper() for m in ops))
                  for path, ops in app.openapi().get("paths", {}).items()]
        app.state.api_routes = routes
    return routes


def install(app: FastAPI) -> None:
    """Registers the handlers (the catch-all sits in Starlette's outermost error middleware) and,
    called after the routers are included, answers unknown ``/api/`` paths in the error shape
    before the web page mounted at ``/`` would."""
    for prefix in ("/api", OPENAI_PREFIX.rstrip("/")):
        app.add_api_route(f"{prefix}/{{rest:path}}", _api_not_found, include_in_schema=False,
                          methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    # each handler is registered for its own class only, narrower than Starlette's signature says
    app.add_exception_handler(StarletteHTTPException, cast(HTTPExceptionHandler, _http_error))
    app.add_exception_handler(RequestValidationError, cast(HTTPExceptionHandler, _validation_error))
    for exc_type in SERVICE_ERRORS:
        app.add_exception_handler(exc_type, _service_unavailable)
    app.add_exception_handler(Exception, _unexpected)
