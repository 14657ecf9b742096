"""Shared fixtures: the shipped seed report and a synthetic report with other heading conventions.

Tests never read the user's ``corpus/`` or ``index/`` as they are: ``rag add`` puts reports there,
and a test that expects the seed alone would then fail. The shipped seed is copied into a test
corpus of its own (``index/tests/corpus``, kept between runs so its index need not be rebuilt)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_DIR = ROOT / "corpus"
#: The files the repository ships in ``corpus/`` (the seed); anything else there is the user's.
SHIPPED_FILES = ("000_95e50edaf71b7d1c.txt",)
TEST_SITE = ROOT / "index" / "tests"
SEED_DIR = TEST_SITE / "corpus"
SEED_INDEX_DIR = TEST_SITE / "index"


def _copy_seed() -> None:
    """``SEED_DIR`` holds exactly the shipped files, byte for byte (rewritten only when they differ)."""
    SEED_DIR.mkdir(parents=True, exist_ok=True)
    for extra in set(p.name for p in SEED_DIR.iterdir()) - set(SHIPPED_FILES):
        (SEED_DIR / extra).unlink()
    for name in SHIPPED_FILES:
        src, dst = SHIPPED_DIR / name, SEED_DIR / name
        if not dst.exists() or dst.read_bytes() != src.read_bytes():
            shutil.copyfile(src, dst)


_copy_seed()
# Whatever reads the settings from the environment (the CLI without --corpus, ``get_settings()``)
# sees the test corpus too; subprocesses inherit it.
os.environ["RAG_CORPUS_DIR"] = str(SEED_DIR)
os.environ["RAG_INDEX_DIR"] = str(SEED_INDEX_DIR)
SYNTHETIC_DIR = Path(__file__).parent / "fixtures" / "synthetic"
#: Outside data beside the checkout (never copied into it): the real collection and its question sets.
SHARED_DIR = ROOT.parent / "shared"
GOV_REPORTS = SHARED_DIR / "corpora" / "gov-reports"
REAL_DEV = SHARED_DIR / "eval" / "real-dev"


@pytest.fixture(scope="session")
def gov_reports() -> Path:
    """The real collection (``../shared/corpora/gov-reports``); tests that need it skip without it."""
    if not GOV_REPORTS.is_dir():
        pytest.skip(f"the real collection is not beside this checkout ({GOV_REPORTS} is absent)")
    return GOV_REPORTS


@pytest.fixture(scope="session")
def real_dev() -> Path:
    """The shared real development questions (``../shared/eval/real-dev``); skipped without them."""
    if not REAL_DEV.is_dir():
        pytest.skip(f"the real development questions are not beside this checkout ({REAL_DEV} is absent)")
    return REAL_DEV


@pytest.fixture(scope="session")
def seed_docs():
    from rag.ingest.corpus import CorpusLoader

    return CorpusLoader(SEED_DIR).load()


@pytest.fixture(scope="session")
def synthetic_docs():
    from rag.ingest.corpus import CorpusLoader

    return CorpusLoader(SYNTHETIC_DIR).load()


@pytest.fixture(scope="session")
def settings():
    from rag.core.settings import Settings

    return Settings(corpus_dir=SEED_DIR, index_dir=SEED_INDEX_DIR)


@pytest.fixture(scope="session")
def pipeline(settings):
    """One loaded pipeline for the whole session: loading the model takes seconds."""
    from rag.pipeline import Pipeline

    return Pipeline.load(settings)


@pytest.fixture(scope="module")
def client(settings, pipeline):
    """The whole app (API and page) in-process, sharing the session's pipeline."""
    from fastapi.testclient import TestClient

    from ui.server import create_server

    with TestClient(create_server(settings, pipeline)) as c:
        yield c


@pytest.fixture(scope="session")
def docs(pipeline):
    return {d.id: d for d in pipeline.store.documents}


@pytest.fixture(scope="session")
def dev_sample():
    """A few dev questions of every kind, chosen by type so the sample follows the dev set."""
    from rag.evaluation.datasets import EvalDataset, load_jsonl

    picked, seen = [], {}
    for item in load_jsonl(ROOT / "eval" / "dev.jsonl").items:
        if seen.get(item.type, 0) < 2:
            picked.append(item)
            seen[item.type] = seen.get(item.type, 0) + 1
    return EvalDataset("sample", "jsonl", picked)


def serve_in_thread(app) -> Iterator[int]:
    """``app`` on a free loopback port in a thread, for as long as the generator runs; yields the port."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(timeout=30)
