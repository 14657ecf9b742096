"""A running server follows a rebuilt index (issue 25): when ``CURRENT`` names a new build, the
server switches to it with no request failing, and ``/api/health`` says which build it serves and
whether that build is stale."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import httpx
from conftest import serve_in_thread

from rag.pipeline import Pipeline, build_index
from rag.stores.index import POINTER

SYNTHETIC_DIR = Path(__file__).parent / "fixtures" / "synthetic"
NEW_REPORT = ("标题：白河县2024年政府工作报告\n一、2023年工作回顾\n白河县粮食产量达到88万吨。\n"
              "二、2024年工作安排\n新建白河县第二水厂，日供水能力达到5万吨。\n")
WAIT_S = 120  # bound on every wait below; the loops end as soon as the condition holds


def _site(root: Path, settings, embedder, interval: float):
    """A corpus of the synthetic reports, its index, and settings that watch it every ``interval`` s."""
    shutil.copytree(SYNTHETIC_DIR, root / "corpus")
    conf = settings.model_copy(update={"corpus_dir": root / "corpus", "index_dir": root / "index",
                                       "reload_interval_s": interval})
    build_index(conf, embedder, progress=False)
    return conf


def _current(conf) -> str:
    return (conf.index_dir / POINTER).read_text("utf-8").strip()


def _publish_new_report(conf, embedder) -> str:
    """What ``rag add`` does: the file into the corpus, a new build published."""
    (conf.corpus_dir / "003_baihe.txt").write_text(NEW_REPORT, "utf-8")
    build_index(conf, embedder, progress=False)
    return _current(conf)


def test_health_says_the_served_build_is_stale_once_another_is_published(tmp_path, settings, pipeline):
    from fastapi.testclient import TestClient

    from rag.api.app import create_app

    conf = _site(tmp_path, settings, pipeline.embedder, interval=0)  # no watcher: the switch never comes
    served = Pipeline.load(conf, embedder=pipeline.embedder)
    with TestClient(create_app(conf, served)) as client:
        before = client.get("/api/health").json()
        assert before["status"] == "ok" and not before["stale"]
        assert before["build"] == before["published_build"] == _current(conf)
        new = _publish_new_report(conf, pipeline.embedder)
        after = client.get("/api/health").json()
        assert after["status"] == "stale" and after["stale"]
        assert after["build"] == before["build"] != new and after["published_build"] == new
        assert not (conf.index_dir / before["build"]).exists()  # the folder it names is gone: say so


def test_a_running_server_switches_to_the_new_build_without_failing_a_request(tmp_path, settings, pipeline):
    from rag.api.app import create_app

    conf = _site(tmp_path, settings, pipeline.embedder, interval=0.2)
    app = create_app(conf, Pipeline.load(conf, embedder=pipeline.embedder))
    serving = serve_in_thread(app)
    base = f"http://127.0.0.1:{next(serving)}"
    failures: list[str] = []
    seen: list[int] = []  # how many reports each /api/documents answer listed, in order
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for _ in range(20_000):  # bounded; ends when told to
                if stop.is_set():
                    return
                try:
                    asked = http.post("/api/ask", json={"question": "粮食产量是多少？"})
                    listed = http.get("/api/documents")
                    if asked.status_code != 200 or listed.status_code != 200:
                        failures.append(f"{asked.status_code} {listed.status_code} {asked.text[:200]}")
                    else:
                        seen.append(len(listed.json()))
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    loop = threading.Thread(target=hammer)
    try:
        loop.start()
        deadline = time.monotonic() + WAIT_S
        while len(seen) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        new = _publish_new_report(conf, pipeline.embedder)
        with httpx.Client(base_url=base, timeout=60) as http:
            while http.get("/api/health").json()["build"] != new and time.monotonic() < deadline:
                time.sleep(0.1)
            health = http.get("/api/health").json()
            after = len(seen)
            while len(seen) < after + 5 and time.monotonic() < deadline:
                time.sleep(0.05)
            answer = http.post("/api/ask", json={"question": "白河县第二水厂日供水能力是多少？"}).json()
    finally:
        stop.set()
        loop.join(timeout=WAIT_S)
        next(serving, None)  # stops the server
    assert not failures, failures[:5]
    assert health["build"] == new and health["status"] == "ok" and not health["stale"]
    old_count = len(list(SYNTHETIC_DIR.iterdir()))
    assert seen[0] == old_count and seen[-1] == old_count + 1  # the loop ran through the switch
    assert seen == sorted(seen)  # never back to the old build once the new one served
    assert answer["found"] and "5万吨" in answer["answer"]
