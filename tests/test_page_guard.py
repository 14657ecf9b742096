"""The page's own routes (Gradio, mounted at ``/``) against a real server on loopback: the same
limits as ``/api/`` — question length, rate limit, body size — no uploads, no files served but
the page's own, no symlink followed, security headers on every response, 500s included."""

from __future__ import annotations

import json
import os
import socket
import threading
from pathlib import Path

import httpx
import pytest
from test_reliability import app, assert_error, live_server, serve  # noqa: F401 (fixtures)

LONG = 30  # seconds: a generous bound for requests that must be refused at once (the old code took minutes)


@pytest.fixture(scope="module")
def page_app(app):
    return app


@pytest.fixture(scope="module")
def live(live_server):
    return live_server[0]


def call(http: httpx.Client, api: str, *data: object) -> httpx.Response | str:
    """One call of a page function through Gradio's HTTP API: the error response, or its SSE text."""
    body = json.dumps({"data": list(data)}, ensure_ascii=False).encode()
    r = http.post(f"/gradio_api/call/{api}", content=body, headers={"content-type": "application/json"})
    if r.status_code != 200:
        return r
    return http.get(f"/gradio_api/call/{api}/{r.json()['event_id']}").text


def _outputs(sse: str) -> list:
    """The data of the last event of a call's stream."""
    data = [line[len("data:"):].strip() for line in sse.splitlines() if line.startswith("data:")]
    return json.loads(data[-1])


# --------------------------------------------------------------------------- the question path


@pytest.mark.parametrize("length", [20_000, 200_000])
def test_long_questions_are_refused_while_health_keeps_answering(live, length):
    """The long question runs in a thread; /api/health is asked while it is in flight and after."""
    from rag.api.errors import QUESTION_INVALID

    result: dict[str, object] = {}

    def long_question() -> None:
        with httpx.Client(base_url=live, timeout=LONG) as http:
            result["reply"] = call(http, "respond", "报" * length, [], "zh", "")

    thread = threading.Thread(target=long_question)
    health = []
    with httpx.Client(base_url=live, timeout=LONG) as http:
        thread.start()
        while thread.is_alive() or len(health) < 3:
            health.append(http.get("/api/health").status_code)
        thread.join(LONG)
    assert set(health) == {200}
    reply = result["reply"]
    if isinstance(reply, httpx.Response):  # 200,000 characters: over the body limit, refused unread
        assert length == 200_000
        assert_error(reply, 413, "payload_too_large")
    else:  # 20,000 characters (60 KB): the page answers with the API's bilingual message
        assert length == 20_000
        chat = _outputs(reply)[0]
        assert QUESTION_INVALID.split(" / ")[1] in chat and "rag-error" in chat
        assert "报" * 300 not in chat  # repeated only in part


@pytest.mark.parametrize("question", ["\x00\x01\x02", 42])
def test_questions_the_api_would_refuse_get_a_message_not_a_crash(live, question):
    from rag.api.errors import QUESTION_INVALID

    with httpx.Client(base_url=live, timeout=LONG) as http:
        reply = call(http, "respond", question, [], "zh", "")
    assert isinstance(reply, str) and "event: error" not in reply, reply
    chat = _outputs(reply)[0]
    if question == 42:  # Gradio's textbox hands the function the string "42": a question like any other
        assert "rag-a" in chat
    else:
        assert QUESTION_INVALID.split(" / ")[0] in chat


def test_page_questions_share_the_api_rate_limit(settings, pipeline):
    from ui.server import create_server

    app = create_server(settings.model_copy(update={"rate_limit_per_minute": 2}), pipeline)
    with serve(app) as (base, _, _), httpx.Client(base_url=base, timeout=LONG) as http:
        replies = [call(http, "respond", "今年GDP要涨多少？", [], "zh", "") for _ in range(5)]
    assert all(isinstance(r, str) and "event: error" not in r for r in replies)
    # 5 questions span at most two one-minute windows of 2: at least one gets the API's 429 message
    refused = [_outputs(r)[0] for r in replies if "Too many requests" in r]
    assert refused and all("请求过于频繁" in chat and "rag-error" in chat for chat in refused)


def test_page_settings(page_app, settings):
    blocks = next(r.app for r in page_app.routes if getattr(r, "path", None) == "").get_blocks()
    assert blocks.show_error is False and blocks._queue.max_size == settings.ui_queue_size
    assert blocks.max_file_size == 1024


# --------------------------------------------------------------------------- uploads and files


def test_upload_is_refused_and_nothing_is_served_back(live, page_app):
    five_mb = b"x" * 5_000_000
    with httpx.Client(base_url=live, timeout=LONG) as http:
        for path in ("/gradio_api/upload", "/gradio_api/upload?upload_id=abc", "/gradio_api/component_server",
                     "/gradio_api/process_recording", "/"):
            r = http.post(path, files={"files": ("report.txt", five_mb, "text/plain")})
            assert_error(r, 403, "uploads_disabled")
        served = [p for d in page_app.state.served_dirs for p in Path(d).rglob("*")]
        assert not [p for p in served if p.is_file() and p.stat().st_size >= 5_000_000]
        for path in ("/etc/passwd", "/tmp", str(Path(page_app.state.served_dirs[0]) / "report.txt"),
                     "http://127.0.0.1:1/x", "../../../etc/passwd", str(Path(__file__))):
            for route in ("/gradio_api/file=", "/gradio_api/file/"):
                r = http.get(route + path)  # (httpx folds "file=../.." away: that one is Gradio's own 404)
                assert r.status_code == 404 and path not in r.text and "root:" not in r.text


def test_private_folder_is_private(page_app):
    private = Path(page_app.state.private_dir)
    assert private.stat().st_mode & 0o777 == 0o700
    assert all(Path(d).stat().st_mode & 0o777 == 0o700 for d in page_app.state.served_dirs)


def test_planted_symlinks_are_not_followed(live, page_app, pipeline, tmp_path):
    """A link planted where the next CSV will be written is replaced, its target untouched; a
    link planted in the served folder is not served."""
    import hashlib

    from rag.commitments.render import to_csv_bytes
    from ui.commitments_tab import filtered

    victim = tmp_path / "victim.txt"
    victim.write_text("not yours", "utf-8")
    data = to_csv_bytes(filtered(pipeline, "就业", "全部", ""))
    folder = Path(page_app.state.private_dir) / "csv" / hashlib.sha1(data).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    planted = folder / "承诺清单.csv"
    planted.symlink_to(victim)
    served_link = Path(page_app.state.served_dirs[0]) / "link.csv"
    served_link.symlink_to(victim)

    with httpx.Client(base_url=live, timeout=LONG) as http:
        outputs = _outputs(call(http, "refresh", "就业", "全部", "", "", "全部", "zh"))
        download = next(o for o in outputs if isinstance(o, dict) and o.get("__type__") == "update")["value"]
        got = http.get(download["url"].split(live, 1)[-1])
        linked = http.get(f"/gradio_api/file={served_link}")
    assert victim.read_text("utf-8") == "not yours"
    assert not planted.is_symlink() and planted.read_bytes() == data
    assert got.status_code == 200 and got.content == data
    assert_error(linked, 404, "not_found")


# --------------------------------------------------------------------------- errors and slow clients


def test_a_500_carries_the_security_headers(settings):
    from ui.server import create_server

    class Broken:
        def ask(self, *args, **kwargs):
            raise RuntimeError("secret internal detail")

    with serve(create_server(settings, Broken())) as (base, _, _), httpx.Client(base_url=base, timeout=LONG) as http:
        r = http.post("/api/ask", json={"question": "今年GDP要涨多少？"})
    assert_error(r, 500, "internal_error")
    assert "secret" not in r.text
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "SAMEORIGIN"
    assert "object-src 'none'" in r.headers["content-security-policy"] and r.headers["referrer-policy"]


def test_slow_request_headers_are_cut_off(page_app):
    """A client that never finishes its headers is disconnected; others are served meanwhile."""
    from rag.api.transport import protocol

    with serve(page_app, http=protocol(1.0)) as (base, address, _):
        with socket.create_connection(address, timeout=LONG) as slow:
            slow.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
            with httpx.Client(base_url=base, timeout=LONG) as http:
                assert http.get("/api/health").status_code == 200
            assert slow.recv(100) == b""  # closed by the server, no response
        with socket.create_connection(address, timeout=LONG) as silent:  # connects and sends nothing
            assert silent.recv(100) == b""


def test_messages_do_not_echo_input(live):
    with httpx.Client(base_url=live, timeout=LONG) as http:
        for r in (http.get("/api/commitments", params={"kind": "<script>kind"}),
                  http.get("/api/documents/nosuchdoc/sections/1"),
                  http.get("/api/documents/nosuchdoc/sections/999.999")):
            assert r.status_code in (404, 422)
            assert "<script>" not in r.text and "nosuchdoc" not in r.text and "999.999" not in r.text


def test_stale_private_folders_of_dead_processes_are_removed(tmp_path):
    from ui.files import PREFIX, remove_stale

    dead = tmp_path / f"{PREFIX}{2**30}-abc"  # no such pid
    alive = tmp_path / f"{PREFIX}{os.getpid()}-abc"
    other = tmp_path / "someone-else"
    for d in (dead, alive, other):
        d.mkdir()
    link = tmp_path / f"{PREFIX}{2**30 + 1}-link"
    link.symlink_to(other)
    assert remove_stale(tmp_path) == [dead]
    assert alive.exists() and other.exists() and link.is_symlink()


def test_a_lone_surrogate_in_a_question_is_dropped_like_a_control_character(live):
    """JSON may carry "\\ud800", which no UTF-8 response could echo back: cleaned, not a 500."""
    with httpx.Client(base_url=live, timeout=LONG) as http:
        raw = b'{"question": "\\ud800\xe4\xbb\x8a\xe5\xb9\xb4GDP\xe8\xa6\x81\xe6\xb6\xa8\xe5\xa4\x9a\xe5\xb0\x91\xef\xbc\x9f\\udfff"}'
        r = http.post("/api/ask", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 200 and r.json()["question"] == "今年GDP要涨多少？"
        stream = http.post("/api/ask/stream", content=raw, headers={"content-type": "application/json"})
        assert stream.status_code == 200 and "event: final" in stream.text and "event: error" not in stream.text


def test_csv_cells_a_spreadsheet_would_evaluate_are_quoted():
    from rag.commitments.render import csv_cell

    for formula in ("=1+1", "+SUM(A1)", "- 就业优先", "@cmd", "\tx", "\rx", "-1+2"):
        assert csv_cell(formula) == "'" + formula
    for plain in ("就业", "-0.5", "+3", "12", "", None, 7, "a=b"):
        assert csv_cell(plain) == ("" if plain is None else str(plain))


def test_the_page_keeps_20_turns_and_sends_at_most_20_questions_as_history(settings):
    from ui.app import _Handlers

    seen: list[list[str]] = []

    class Stub:
        def ask_stream(self, question, history=None, documents=None):
            seen.append(history)
            yield {"type": "final", "answer": {"answer": "答", "found": True, "citations": []}}

    handlers = _Handlers(lambda: Stub(), settings)
    turns = [{"q": f"问题{i}", "answer": {"answer": "答", "found": True, "citations": []}} for i in range(30)]
    *_, last = handlers.respond("今年GDP要涨多少？", turns, "zh", "", None)
    kept = last[1]
    assert len(kept) == 20 and kept[-1]["q"] == "今年GDP要涨多少？" and kept[0]["q"] == "问题11"
    assert len(seen[0]) == 19 and seen[0][-1] == "问题29"
