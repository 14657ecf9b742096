"""A running server follows the published index: when ``rag index`` or ``rag add`` publishes a new
build (``index/CURRENT`` names another folder), the new build is loaded beside the one being
served and then takes its place in one assignment, so no request fails during the switch.

Requests that started before the switch finish on the pipeline they began with (they hold it);
the old one is freed when the last of them ends. A build that cannot be loaded leaves the old one
serving, and ``/api/health`` says why and that what it serves is stale.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from rag.pipeline import Pipeline, load_store
from rag.stores.index import POINTER

log = logging.getLogger("rag.api")


@dataclass
class BuildStatus:
    """What ``/api/health`` says about the build: the one served, the one published, and why a
    published one is not served yet."""

    served: str | None  # the build folder the answers come from (None: a store without builds)
    published: str | None  # the folder ``CURRENT`` names now
    error: str | None = None  # why the published build could not be loaded

    @property
    def stale(self) -> bool:
        return self.published is not None and self.served != self.published


def served_build(pipeline: Pipeline) -> str | None:
    """The build folder of the pipeline's store; None for a store that keeps no build folders (Milvus)."""
    path = getattr(pipeline.store, "path", None)
    return Path(path).name if path is not None and pipeline.settings.store == "faiss" else None


def published_build(index_dir: Path) -> str | None:
    """The folder ``CURRENT`` names, or None when there is no pointer (yet)."""
    try:
        return (Path(index_dir) / POINTER).read_text("utf-8").strip() or None
    except OSError:
        return None


class IndexWatcher:
    """Polls ``CURRENT`` every ``interval_s`` seconds and swaps ``app.state.pipeline`` when it moves."""

    def __init__(self, app: FastAPI, interval_s: float) -> None:
        self.app = app
        self.interval_s = interval_s
        self._failed: tuple[str, str] | None = None  # (build, reason) of the last build that did not load
        self._lock = asyncio.Lock()

    def status(self) -> BuildStatus:
        pipeline: Pipeline = self.app.state.pipeline
        served = served_build(pipeline)
        published = published_build(pipeline.settings.index_dir) if served is not None else None
        error = self._failed[1] if self._failed and self._failed[0] == published else None
        return BuildStatus(served, published, error)

    async def check(self) -> bool:
        """Load and serve the published build if it is not the one served; True when it switched."""
        async with self._lock:  # one load at a time: a second would only load the same build again
            status = self.status()
            if not status.stale or (self._failed and self._failed[0] == status.published):
                return False
            old: Pipeline = self.app.state.pipeline
            try:
                new = await asyncio.to_thread(self._load, old)
            except Exception as exc:  # a half-written or vanished build: keep serving the old one
                log.warning("index build %s not loaded, still serving %s: %s", status.published, status.served, exc)
                self._failed = (status.published or "", f"{type(exc).__name__}: {exc}")
                return False
            self.app.state.pipeline = new  # the switch: one assignment, seen by the next request
            self._failed = None
            log.info("now serving index build %s (was %s)", served_build(new), status.served)
            return True

    @staticmethod
    def _load(old: Pipeline) -> Pipeline:
        """The published build as it is (no rebuild from the server), with the model already loaded."""
        settings = old.settings
        return Pipeline.load(settings, embedder=old.embedder, store=load_store(settings))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check()
            except Exception:  # the watcher must outlive any one failure
                log.exception("index watcher")
