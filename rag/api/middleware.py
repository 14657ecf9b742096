"""Pure-ASGI guards around the app: body limits, security headers, per-client rate limit.

Pure ASGI (not ``BaseHTTPMiddleware``) so that streaming responses pass through untouched and
a client that disconnects mid-request costs nothing but its own task.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import stat
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from fastapi import FastAPI, HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.api.errors import OPENAI_PREFIX, UNAUTHORIZED, UPLOADS_DISABLED, error_response
from rag.core.settings import Settings

#: Only these paths are JSON API endpoints (the product's own, and OpenAI's dialect); the Gradio page
#: and its assets live elsewhere.
API_PREFIX = "/api/"
API_PREFIXES = (API_PREFIX, OPENAI_PREFIX)
_BODY_METHODS = {"POST", "PUT", "PATCH"}


def _is_api(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["path"].startswith(API_PREFIXES)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class _BodyTooLarge(HTTPException):
    """An ``HTTPException`` so that FastAPI's body reader passes it on to the 413 handler."""

    def __init__(self) -> None:
        super().__init__(413)


async def _limited(app: ASGIApp, max_bytes: int, scope: Scope, receive: Receive, send: Send) -> None:
    """Runs ``app`` with the request body capped at ``max_bytes``: 413 before it reads more."""
    length = _header(scope, b"content-length")
    if length is not None and (not length.isdigit() or int(length) > max_bytes):
        await error_response(413 if length.isdigit() else 400, path=scope["path"])(scope, receive, send)
        return
    received = 0
    started = False

    async def limited_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > max_bytes:  # chunked bodies announce no length
                raise _BodyTooLarge
        return message

    async def tracking_send(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, limited_receive, tracking_send)
    except _BodyTooLarge:
        if not started:
            await error_response(413, path=scope["path"])(scope, receive, send)


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
        announced_ok = length is None or (length.isdigit() and int(length) <= self.max_bytes)  # else 413/400 below
        media = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if announced_ok and media != "application/json" and not media.endswith("+json") and length != "0":
            await error_response(415, path=scope["path"])(scope, receive, send)
            return
        await _limited(self.app, self.max_bytes, scope, receive, send)


class BearerTokenMiddleware:
    """``/v1/`` requests must carry ``Authorization: Bearer <token>`` when a token is set: OpenAI's
    clients send their ``api_key`` so. Compared in constant time; 401 in OpenAI's error shape."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(OPENAI_PREFIX):
            given = (_header(scope, b"authorization") or "").encode("latin-1")
            if not hmac.compare_digest(given, self.expected):
                await error_response(401, "invalid_api_key", UNAUTHORIZED, path=scope["path"],
                                     headers={"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
        extra = {**self.HEADERS, "content-security-policy": CONTENT_SECURITY_POLICY}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.decode("latin-1").lower() for k, _ in message.get("headers", ())}
                message["headers"] = [*message.get("headers", ()),
                                      *((k.encode(), v.encode()) for k, v in extra.items() if k not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RateLimiter:
    """At most ``per_minute`` requests per client in each fixed one-minute window.

    Shared by the API middleware and the page's question path, so both doors draw on one budget.
    In-process and per worker: a guard against one noisy client, not a distributed quota. Only
    the current minute is kept (a fixed window needs nothing older), so the table is dropped
    whole when the minute turns instead of being filtered on every request; within a minute it
    holds at most ``max_clients`` entries, and clients past that share one bucket.
    """

    OVERFLOW = "(overflow)"

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 max_clients: int = 100_000) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.max_clients = max_clients
        self.minute = -1
        self.counts: dict[str, int] = {}  # client → requests in ``minute``
        self._lock = threading.Lock()  # the page's handlers run in worker threads

    @staticmethod
    def key(host: str | None) -> str:
        """An IPv6 client is one /64 (what one subscriber usually gets), an IPv4 one its address."""
        if not host:
            return "unknown"
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return host[:64]
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped:
                return str(address.ipv4_mapped)
            return str(ipaddress.IPv6Network((address, 64), strict=False))
        return str(address)

    def admit(self, client: str) -> int:
        """0 when admitted, else the seconds until the client's window resets."""
        now = self.clock()
        minute = int(now // 60)
        with self._lock:
            if minute != self.minute:
                self.minute, self.counts = minute, {}
            if client not in self.counts and len(self.counts) >= self.max_clients:
                client = self.OVERFLOW
            count = self.counts.get(client, 0)
            if count >= self.per_minute:
                return max(1, int(60 - now % 60))
            self.counts[client] = count + 1
            return 0


class RateLimitMiddleware:
    """429 with ``Retry-After`` for API requests past the client's budget."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _is_api(scope):
            client = scope.get("client")
            wait = self.limiter.admit(self.limiter.key(client[0] if client else None))
            if wait:
                await error_response(429, headers={"Retry-After": str(wait)}, path=scope["path"])(scope, receive, send)
                return
        await self.app(scope, receive, send)


class PageGuardMiddleware:
    """The page's own routes (everything outside ``/api/``) get the API's limits.

    - Uploads are refused: the page has no upload component, and Gradio would otherwise keep
      and serve back any file of any size (``/gradio_api/upload``, multipart bodies anywhere).
    - Request bodies are capped like the API's, counted even without ``Content-Length``.
    - ``/gradio_api/file=…`` serves only files inside ``served_dirs()`` (the page's own output
      folder), resolved with symlinks refused; everything else, URLs included, is 404.
    """

    UPLOAD_PATHS = ("/gradio_api/upload", "/gradio_api/process_recording", "/gradio_api/upload_progress",
                    "/gradio_api/proxy=")
    FILE_PATHS = ("/gradio_api/file=", "/gradio_api/file/")

    def __init__(self, app: ASGIApp, max_bytes: int, served_dirs: Callable[[], Sequence[Path]]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.served_dirs = served_dirs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_api(scope):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        media = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if path.startswith(self.UPLOAD_PATHS) or media == "multipart/form-data":
            await error_response(403, "uploads_disabled", UPLOADS_DISABLED)(scope, receive, send)
            return
        if path.startswith(self.FILE_PATHS) and not self._servable(path):
            await error_response(404)(scope, receive, send)
            return
        if scope["method"] in _BODY_METHODS:
            await _limited(self.app, self.max_bytes, scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _servable(self, path: str) -> bool:
        """Inside one of the served folders, every component a real folder or file, no symlink."""
        # the same string Gradio's route takes (``scope["path"]`` is already percent-decoded)
        raw = path.split("=", 1)[1] if path.startswith(self.FILE_PATHS[0]) else path[len(self.FILE_PATHS[1]):]
        if "\0" in raw or "://" in raw:
            return False
        target = Path(os.path.abspath(raw))
        for root in self.served_dirs():
            root = Path(os.path.abspath(root))
            if target == root or root not in target.parents:
                continue
            probe = root
            try:
                for part in target.relative_to(root).parts:
                    probe = probe / part
                    if stat.S_ISLNK(os.lstat(probe).st_mode):
                        return False
                return stat.S_ISREG(os.lstat(target).st_mode)
            except (OSError, ValueError):
                return False
        return False


#: Gradio needs inline scripts and styles and talks to its own origin over fetch/websocket; the API
#: docs pages load Swagger UI / ReDoc from this origin too (``rag.api.docs``): nothing from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self' ws: wss:; media-src 'self' blob: data:; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)


def install(app: FastAPI, settings: Settings, limiter: RateLimiter | None) -> None:
    """Outermost first: CORS, the rate limit, the page guard and the API body guard, so a
    rejected request never reaches a route. The security headers wrap even the error handler
    that answers 500s (see ``rag.api.app.App``)."""
    app.add_middleware(BodyGuardMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(PageGuardMiddleware, max_bytes=settings.max_body_bytes,
                       served_dirs=lambda: getattr(app.state, "served_dirs", ()))
    if settings.api_token:
        app.add_middleware(BearerTokenMiddleware, token=settings.api_token)
    if limiter is not None:
        app.add_middleware(RateLimitMiddleware, limiter=limiter)
    # Always installed, even with no origins (CORS off: the page and the API share one origin):
    # Gradio otherwise adds its own CORS layer that echoes any origin, with credentials, on any
    # host that is not localhost, and it stands down only when the parent app has this one.
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                       allow_headers=["Content-Type", "Authorization"], max_age=600)
