"""The HTTP API under ``/api``. The page is mounted on it by ``ui.server``, which the CLI starts:
``rag/`` never imports ``ui/``."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp

from rag.api import docs, errors, middleware, reload
from rag.api.routers import ask, chat, commitments, documents, health, search
from rag.core.settings import Settings, get_settings
from rag.pipeline import Pipeline


class App(FastAPI):
    """FastAPI whose security headers wrap even the error middleware that answers 500s
    (Starlette puts that one outside every middleware added with ``add_middleware``)."""

    def build_middleware_stack(self) -> ASGIApp:
        return middleware.SecurityHeadersMiddleware(super().build_middleware_stack())


def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    """``pipeline`` lets tests share one loaded pipeline; otherwise it loads at start-up."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if getattr(app.state, "pipeline", None) is None:
            app.state.pipeline = Pipeline.load(settings)
        task = asyncio.create_task(app.state.index_watcher.run()) if settings.reload_interval_s > 0 else None
        yield
        if task is not None:
            task.cancel()

    app = App(title="政府工作报告问答 API", version="0.1.0", lifespan=lifespan, responses=errors.ERROR_RESPONSES,
              description="Cited answers from government work reports. 带引用的政府工作报告问答。",
              docs_url=None, redoc_url=None)  # served from local files by ``docs``
    docs.install(app)
    app.state.settings = settings
    app.state.pipeline = pipeline
    app.state.index_watcher = reload.IndexWatcher(app, settings.reload_interval_s)
    limiter = middleware.RateLimiter(settings.rate_limit_per_minute) if settings.rate_limit_per_minute > 0 else None
    middleware.install(app, settings, limiter)
    for module in (ask, search, documents, commitments, health, chat):
        app.include_router(module.router)
    errors.install(app)  # after the routers: it adds the /api/ catch-all
    app.state.rate_limiter = limiter  # the page's question path shares it (ui.server)
    return app
