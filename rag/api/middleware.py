"""Pure-ASGI guards around the app: body limits, security headers, per-client rate limit.

Pure ASGI (not ``BaseHTTPMiddleware``) so that streaming responses pass through untouched and
a client that disconnects mid-request costs nothing but its own task.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping

from fastapi import FastAPI, HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.api.errors import error_response
from rag.settings import Settings

#: Only these paths are JSON API endpoints; the Gradio page and its assets live elsewhere.
API_PREFIX = "/api/"
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _is_api(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["path"].startswith(API_PREFIX)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class _BodyTooLarge(HTTPException):
    """An ``HTTPException`` so that FastAPI's body reader passes it on to the 413 handler."""

    def __init__(self) -> None:
        super().__init__(413)


class BodyGuardMiddleware:
    """API bodies are JSON and at most ``max_bytes``: 415 and 413 before any route reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_api(scope) or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        length = _header(scope, b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await error_response(413 if length.isdigit() else 400)(scope, receive, send)
            return
        media = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json") and length != "0":
            await error_response(415)(scope, receive, send)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:  # chunked bodies announce no length
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await error_response(413)(scope, receive, send)


class SecurityHeadersMiddleware:
    """Adds CSP, nosniff, referrer and framing headers to every HTTP response."""

    HEADERS = {
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",
        "x-frame-options": "SAMEORIGIN",
    }

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = {**self.HEADERS, "content-security-policy": content_security_policy(scope["path"])}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.decode("latin-1").lower() for k, _ in message.get("headers", ())}
                message["headers"] = [*message.get("headers", ()),
                                      *((k.encode(), v.encode()) for k, v in extra.items() if k not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RateLimitMiddleware:
    """At most ``per_minute`` API requests per client address in each fixed one-minute window.

    In-process and per worker: a guard against one noisy client, not a distributed quota.
    """

    def __init__(self, app: ASGIApp, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self.per_minute = per_minute
        self.clock = clock
        self.windows: MutableMapping[str, tuple[int, int]] = {}  # client → (minute, count)

    def _admit(self, client: str) -> int:
        """0 when admitted, else the seconds until the client's window resets."""
        now = self.clock()
        minute = int(now // 60)
        if len(self.windows) > 10_000:  # forget finished windows so memory stays bounded
            self.windows = {c: w for c, w in self.windows.items() if w[0] == minute}
        start, count = self.windows.get(client, (minute, 0))
        if start != minute:
            start, count = minute, 0
        if count >= self.per_minute:
            return max(1, int(60 - now % 60))
        self.windows[client] = (start, count + 1)
        return 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_api(scope):
            client = scope.get("client")
            wait = self._admit(client[0] if client else "unknown")
            if wait:
                await error_response(429, headers={"Retry-After": str(wait)})(scope, receive, send)
                return
        await self.app(scope, receive, send)


def content_security_policy(path: str) -> str:
    """Gradio needs inline scripts and styles and talks to its own origin over fetch/websocket;
    the API docs pages additionally load Swagger UI / ReDoc from their CDN."""
    docs = path in ("/docs", "/redoc")
    cdn = " https://cdn.jsdelivr.net" if docs else ""
    logo = " https://fastapi.tiangolo.com" if docs else ""
    return (
        f"default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'{cdn}; "
        f"style-src 'self' 'unsafe-inline'{cdn}; img-src 'self' data: blob:{cdn}{logo}; "
        "font-src 'self' data:; connect-src 'self' ws: wss:; media-src 'self' blob: data:; "
        "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
    )


def install(app: FastAPI, settings: Settings) -> None:
    """Outermost first: security headers on every response (errors too), then CORS, the rate
    limit and the body guard, so a rejected request never reaches a route."""
    app.add_middleware(BodyGuardMiddleware, max_bytes=settings.max_body_bytes)
    if settings.rate_limit_per_minute > 0:
        app.add_middleware(RateLimitMiddleware, per_minute=settings.rate_limit_per_minute)
    # Always installed, even with no origins (CORS off: the page and the API share one origin):
    # Gradio otherwise adds its own CORS layer that echoes any origin, with credentials, on any
    # host that is not localhost, and it stands down only when the parent app has this one.
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                       allow_headers=["Content-Type"], max_age=600)
    app.add_middleware(SecurityHeadersMiddleware)
