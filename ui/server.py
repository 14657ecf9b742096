"""The one ASGI app the CLI serves: the HTTP API under ``/api`` and the web page at ``/``.

Composed here, outside ``rag/``, so the library and its API never depend on the page."""

from __future__ import annotations

from fastapi import FastAPI

from rag.api.app import create_app
from rag.core.settings import Settings, get_settings
from rag.pipeline import Pipeline
from ui.app import mount_ui


def create_server(settings: Settings | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    """The API with the page mounted last (it owns ``/``); ``pipeline`` as in ``create_app``."""
    settings = settings or get_settings()
    app = create_app(settings, pipeline)
    return mount_ui(app, lambda: app.state.pipeline, settings, limiter=app.state.rate_limiter)
