"""The HTTP edge under bad input, hostile input and load: every failure is a bilingual
``{"error": {"code", "message"}}`` without internals, and the server keeps serving."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from rag.api.middleware import RateLimiter

CJK = range(0x4E00, 0xA000)


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict:
    """The one error contract: shape, both languages, no stack trace."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    if code:
        assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert any(ord(c) in CJK for c in message) and any(c.isascii() and c.isalpha() for c in message), message
    assert "Traceback" not in r.text and 'File "' not in r.text
    return body["error"]


@pytest.fixture(scope="module")
def app(settings, pipeline):
    from ui.server import create_server

    return create_server(settings, pipeline)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


# --------------------------------------------------------------------------- input limits


def ask(client: TestClient, **body) -> httpx.Response:
    return client.post("/api/ask", json=body)


def test_question_is_trimmed_and_stripped_of_control_characters(client):
    r = ask(client, question="  \x00今年\x07GDP\x1b要涨多少？\x7f  \r\n")
    assert r.status_code == 200, r.text
    assert r.json()["question"] == "今年GDP要涨多少？"


@pytest.mark.parametrize("question", ["", "   ", "\x00\x01\x02", "\u3000\n\t"])
def test_empty_question_is_rejected(client, question):
    assert_error(ask(client, question=question), 422, "invalid_request")


def test_question_length_counts_after_trimming(client, pipeline):
    assert ask(client, question="   " + "报" * 1000 + "\x00  ").status_code == 200
    error = assert_error(ask(client, question="报" * 1001), 422, "invalid_request")
    assert "question" in error["message"]
    assert "报报报" not in error["message"]  # the submitted value is never echoed


@pytest.mark.parametrize("top_k, ok", [(1, True), (20, True), (0, False), (21, False), (-3, False), ("many", False)])
def test_top_k_bounds(client, top_k, ok):
    r = ask(client, question="今年GDP要涨多少？", top_k=top_k)
    if ok:
        assert r.status_code == 200, r.text
    else:
        assert_error(r, 422, "invalid_request")


def test_history_limits(client):
    turn = {"role": "user", "content": "今年GDP要涨多少？"}
    assert ask(client, question="那过去五年呢？", history=[turn] * 20).status_code == 200
    assert_error(ask(client, question="那过去五年呢？", history=[turn] * 21), 422)
    assert ask(client, question="那过去五年呢？", history=[{"role": "user", "content": "报" * 2000}]).status_code == 200
    assert_error(ask(client, question="那过去五年呢？", history=[{"role": "user", "content": "报" * 2001}]), 422)
    assert_error(ask(client, question="那过去五年呢？", history=[{"role": "system", "content": "x"}]), 422)


def test_body_over_64_kb_is_413(client):
    big = json.dumps({"question": "今年GDP要涨多少？", "history": [{"role": "user", "content": "x" * 70_000}]})
    assert_error(client.post("/api/ask", content=big, headers={"content-type": "application/json"}), 413,
                 "payload_too_large")


def test_chunked_body_over_64_kb_is_413(client):
    """A body without Content-Length is counted as it arrives."""
    def chunks():
        yield b'{"question": "'
        for _ in range(80):
            yield b"x" * 1024
        yield b'"}'

    assert_error(client.post("/api/ask", content=chunks(), headers={"content-type": "application/json"}), 413)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_wrong_content_type_is_415(client, content_type):
    r = client.post("/api/ask", content='{"question": "今年GDP要涨多少？"}', headers={"content-type": content_type})
    assert_error(r, 415, "unsupported_media_type")


@pytest.mark.parametrize("raw", [b'{"question": ', b"not json", b"\xff\xfe\x00", b"[]", b'"just a string"', b"null"])
def test_malformed_json_is_422(client, raw):
    assert_error(client.post("/api/ask", content=raw, headers={"content-type": "application/json"}), 422,
                 "invalid_request")


def test_search_query_is_cleaned_and_bounded(client):
    r = client.get("/api/search", params={"q": " \x00就业\x07 "})
    assert r.status_code == 200 and r.json()["query"] == "就业"
    assert_error(client.get("/api/search", params={"q": " \x01\t"}), 422, "invalid_request")
    assert_error(client.get("/api/search", params={"q": "报" * 501}), 422, "invalid_request")


def test_unknown_api_path_and_method(client):
    assert_error(client.get("/api/no-such-thing"), 404, "not_found")
    assert_error(client.delete("/api/ask"), 405, "method_not_allowed")  # the route exists: 405, not 404
    assert_error(client.get("/api/ask"), 405, "method_not_allowed")


def test_unknown_document_or_section_is_404(client, pipeline):
    doc = pipeline.store.documents[0]
    assert client.get(f"/api/documents/{doc.id}/sections/{doc.sections[0].id}").status_code == 200
    assert_error(client.get("/api/documents/no_such_doc/sections/1"), 404, "not_found")
    assert_error(client.get(f"/api/documents/{doc.id}/sections/999.999"), 404, "not_found")


@pytest.mark.parametrize("path", [
    "/api/documents/..%2F..%2Fetc%2Fpasswd/sections/1",
    "/api/documents/..%5C..%5Cindex/sections/1",
    "/api/documents/%2E%2E/sections/1",
    "/api/documents/..%2Fcorpus/sections/1",
    "/api/documents/x%00y/sections/1",
    "/api/documents/CURRENT/sections/..%2F..%2Fmanifest.json",
    "/api/documents/a/sections/1%2F..%2F..",
])
def test_ids_cannot_name_files(client, path):
    """Traversal attempts are refused (404 or 422) and never return a file's contents."""
    r = client.get(path)
    assert r.status_code in (404, 422), r.text
    assert_error(r, r.status_code)
    assert "root:" not in r.text and "corpus_hash" not in r.text


def test_unexpected_and_service_errors_keep_internals_in_the_log(settings, caplog):
    """A bug (500) or an unusable index (503) is logged for the operator, reported to the client without details."""
    from rag.stores.index import IndexUnavailable
    from ui.server import create_server

    class Broken:
        def ask(self, *args, **kwargs):
            raise RuntimeError("secret internal detail /srv/index")

        def search(self, *args, **kwargs):
            raise IndexUnavailable("index in /srv/index is inconsistent; run `rag index`")

    with TestClient(create_server(settings, Broken()), raise_server_exceptions=False) as c:
        r = c.post("/api/ask", json={"question": "今年GDP要涨多少？"})
        unavailable = c.get("/api/search", params={"q": "就业"})
    assert_error(r, 500, "internal_error")
    assert "secret" not in r.text and "/srv" not in r.text
    assert "secret internal detail" in caplog.text
    assert_error(unavailable, 503, "unavailable")
    assert "/srv" not in unavailable.text and "/srv/index is inconsistent" in caplog.text


# --------------------------------------------------------------------------- hardening


def test_security_headers_on_page_api_and_errors(client):
    for r in (client.get("/"), client.get("/api/health"), client.post("/api/ask", json={})):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"]
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "object-src 'none'" in csp and "frame-ancestors" in csp
        assert "connect-src 'self'" in csp


@pytest.mark.parametrize("path", ["/api/health", "/api/ask", "/", "/gradio_api/info", "/config"])
def test_cors_is_off_by_default(client, path):
    """No origin is granted anywhere, the Gradio page included (it would echo any origin on a public host)."""
    for host in ("testserver", "rag.example.org", "127.0.0.1:8000"):
        headers = {"origin": "https://evil.example", "host": host}
        assert "access-control-allow-origin" not in client.get(path, headers=headers).headers
        pre = client.options(path, headers={**headers, "access-control-request-method": "POST"})
        assert "access-control-allow-origin" not in pre.headers


@pytest.fixture(scope="module")
def guarded_app(settings, pipeline):
    """CORS for one origin and a small rate limit, as an operator would configure them."""
    from ui.server import create_server

    return create_server(settings.model_copy(update={"cors_origins": ["https://ok.example"], "rate_limit_per_minute": 3}),
                      pipeline)


def test_cors_allows_only_configured_origins(guarded_app):
    with TestClient(guarded_app, client=("cors-client", 1)) as c:
        pre = c.options("/api/ask", headers={"origin": "https://ok.example", "access-control-request-method": "POST"})
        assert pre.headers["access-control-allow-origin"] == "https://ok.example"
        bad = c.options("/api/ask", headers={"origin": "https://evil.example", "access-control-request-method": "POST"})
        assert "access-control-allow-origin" not in bad.headers


def test_rate_limit_returns_429_per_client(guarded_app):
    """7 requests span at most two one-minute windows of 3, so at least one is refused."""
    with TestClient(guarded_app, client=("noisy-client", 1)) as noisy:
        statuses = [noisy.get("/api/health") for _ in range(7)]
    refused = [r for r in statuses if r.status_code == 429]
    assert refused and all(r.status_code in (200, 429) for r in statuses)
    assert_error(refused[0], 429, "rate_limited")
    assert int(refused[0].headers["retry-after"]) >= 1
    with TestClient(guarded_app, client=("quiet-client", 1)) as quiet:  # others are unaffected
        assert quiet.get("/api/health").status_code == 200
    with TestClient(guarded_app, client=("page-client", 1)) as page:  # the page and its assets are not limited
        assert all(page.get("/").status_code == 200 for _ in range(7))


def test_rate_limit_window_resets():
    now = [120.0]
    limiter = RateLimiter(per_minute=2, clock=lambda: now[0])
    assert [limiter.admit("a"), limiter.admit("a")] == [0, 0]
    assert limiter.admit("a") == 60  # refused until the next minute starts
    assert limiter.admit("b") == 0
    now[0] = 150.0
    assert limiter.admit("a") == 30
    now[0] = 180.0
    assert limiter.admit("a") == 0


def test_rate_limit_keys_ipv6_clients_on_their_64():
    key = RateLimiter.key
    assert key("2001:db8:1:2:aaaa::1") == key("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert key("2001:db8:1:3::1") != key("2001:db8:1:2::1")
    assert key("::ffff:192.0.2.7") == key("192.0.2.7") == "192.0.2.7"
    assert key("192.0.2.7") != key("192.0.2.8")
    assert key(None) == "unknown" and key("testclient") == "testclient"


def test_rate_limit_table_is_not_rebuilt_per_request_past_10_000_clients():
    """Only the current minute is kept: 30,000 clients cost one entry each, the table object
    stays the same while the minute lasts and is dropped whole when it turns."""
    now = [60.0]
    limiter = RateLimiter(per_minute=1, clock=lambda: now[0], max_clients=20_000)
    limiter.admit("first")
    table = limiter.counts
    assert all(limiter.admit(f"c{i}") == 0 for i in range(19_999))
    assert limiter.counts is table and len(table) == 20_000
    assert limiter.admit("late-1") == 0 and limiter.admit("late-2") > 0  # past the cap, newcomers share one bucket
    assert limiter.admit("c5") > 0 and limiter.counts is table
    now[0] = 120.0
    assert limiter.admit("c5") == 0 and limiter.counts is not table and len(limiter.counts) == 1


# --------------------------------------------------------------------------- a real server


@contextmanager
def serve(app, **config) -> Iterator[tuple[str, tuple[str, int], threading.Thread]]:
    """uvicorn on a free loopback port, in a thread of this process; ``config`` goes to ``uvicorn.Config``."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    server = uvicorn.Server(uvicorn.Config(app, **{"log_level": "warning", "timeout_keep_alive": 5, **config}))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://{host}:{port}", (host, port), thread
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture(scope="module")
def live_server(app):
    with serve(app) as server:
        yield server


#: 40 distinct questions (each asked 5 times below), so that load also reaches the pipeline, not a cache.
QUESTIONS = [form.format(topic) for topic in ("GDP", "就业", "乡村振兴", "民生实事", "教育", "医疗", "生态环境",
                                              "营商环境", "科技创新", "<b>粮食</b>")
             for form in ("今年{}的目标是多少？", "过去五年{}取得了哪些成绩？", "如何推进{}？", "{}")]
N_CLIENTS, PER_CLIENT = 20, 10


def test_concurrent_clients_all_succeed_with_identical_answers(live_server):
    base, _, _ = live_server

    def one_client(i: int) -> list[tuple[str, int, dict | None]]:
        out = []
        with httpx.Client(base_url=base, timeout=120) as http:
            for j in range(PER_CLIENT):
                q = QUESTIONS[(i * PER_CLIENT + j) % len(QUESTIONS)]
                r = http.post("/api/ask", json={"question": q})
                out.append((q, r.status_code, r.json() if r.status_code == 200 else None))
        return out

    started = time.monotonic()
    with ThreadPoolExecutor(N_CLIENTS) as pool:
        results = [x for batch in pool.map(one_client, range(N_CLIENTS)) for x in batch]
    assert len(results) == N_CLIENTS * PER_CLIENT == 200
    assert [s for _, s, _ in results if s != 200] == []
    answers: dict[str, set[str]] = defaultdict(set)
    for q, _, body in results:
        answers[q].add(json.dumps({k: body[k] for k in ("answer", "found", "citations")}, ensure_ascii=False))
    assert {q: len(a) for q, a in answers.items()} == {q: 1 for q in QUESTIONS}
    assert time.monotonic() - started < 600


def _raw(address: tuple[str, int], data: bytes, *, read: bool = False) -> bytes:
    with socket.create_connection(address, timeout=10) as s:
        s.sendall(data)
        return s.recv(200) if read else b""


def test_disconnecting_clients_do_not_hurt_the_server(live_server):
    base, address, thread = live_server
    body = json.dumps({"question": "今年GDP要涨多少？"}, ensure_ascii=False).encode()
    head = b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    _raw(address, head % (len(body) + 50) + body[:10])  # gone halfway through the body
    _raw(address, head % len(body) + body)  # gone before the answer
    stream = b"POST /api/ask/stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
    assert _raw(address, stream % len(body) + body, read=True).startswith(b"HTTP/1.1 200")  # gone mid-stream
    _raw(address, b"GET /api/hea")  # gone mid-request-line
    _raw(address, b"\x16\x03\x01\x02\x00garbage\r\n\r\n", read=True)  # TLS hello / junk on a plain port
    time.sleep(0.5)
    assert thread.is_alive()
    with httpx.Client(base_url=base, timeout=60) as http:
        assert http.get("/api/health").status_code == 200
        assert http.post("/api/ask", json={"question": "今年GDP要涨多少？"}).json()["found"] is True


# --------------------------------------------------------------------------- XSS in a real browser

#: A report whose own text carries markup, script and Markdown: the page must show it as text.
HOSTILE_REPORT = """一、总体要求
今年全市经济增长的预期目标是<img src=x onerror="window.__xss='corpus-img'">地区生产总值增长5%左右<script>window.__xss='corpus-script'</script>。
二、重点工作
**加粗** [点我](javascript:window.__xss='corpus-md') <a href="javascript:window.__xss='corpus-a'">链接</a>，推进<svg onload="window.__xss='corpus-svg'">城市更新，新建<b onmouseover="window.__xss='corpus-b'">口袋公园</b>30个。
"""
HOSTILE_QUESTION = """<img src=x onerror="window.__xss='question'">今年经济增长的预期目标是多少？"""


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory, settings, pipeline):
    """The real app over the hostile report, reusing the session's loaded model."""
    from rag.embed.embedder import Embedder
    from rag.pipeline import Pipeline
    from ui.server import create_server

    root = tmp_path_factory.mktemp("hostile")
    (root / "corpus").mkdir()
    (root / "corpus" / "report.txt").write_text(HOSTILE_REPORT, "utf-8")
    conf = settings.model_copy(update={"corpus_dir": root / "corpus", "index_dir": root / "index"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Embedder, "from_settings", classmethod(lambda cls, s: pipeline.embedder))
        hostile = Pipeline.load(conf)
    with serve(create_server(conf, hostile)) as server:
        yield server[0]


@pytest.mark.browser
def test_markup_from_questions_and_reports_stays_text(hostile_server):
    from test_browser import ARGS, CHROMIUM, TIMEOUT_MS, _ask

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (make system-deps installs it)")
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
        page.on("console", lambda m: "Content Security Policy" in m.text and problems.append(m.text))
        page.goto(hostile_server + "/")
        page.locator("#rag-question textarea").wait_for()

        _ask(page, HOSTILE_QUESTION)  # the question shows literally (``_ask`` compares its text)
        refusal = page.locator("#rag-chat .rag-a").last  # markup in a question is refused, never run
        assert "未在报告中找到依据" in refusal.inner_text(), refusal.inner_text()
        _ask(page, HOSTILE_QUESTION.split(">", 1)[1])  # the same question without its markup
        answer = page.locator("#rag-chat .rag-a").last  # quotes the report's own markup as text
        assert "<script>" in answer.inner_text() or "<img" in answer.inner_text(), answer.inner_text()
        page.locator("#rag-chat .rag-turn").last.locator(".rag-cite").first.click()
        page.locator("#rag-source mark").wait_for(state="visible")
        page.get_by_role("tab", name="全文").click()
        # Markdown bold is structure (its markers leave the text); a link to script stays literal text
        page.locator("#rag-document").get_by_text("加粗 [点我](javascript:").first.wait_for()
        page.get_by_role("tab", name="承诺清单").click()  # records quote the report too
        page.locator("#rag-commitments tr[data-row]", has_text="口袋公园</b>30个").last.click()
        page.locator("#rag-commitment-source mark").wait_for(state="visible")
        page.mouse.move(0, 0)
        page.wait_for_timeout(500)  # give any injected handler its chance to run

        assert page.evaluate("window.__xss") is None
        shown = page.locator("#rag-document").inner_text()
        assert '<script>window.__xss=\'corpus-script\'</script>' in shown
        assert "[点我](javascript:" in shown
        # nothing from the payloads became an element or a script anywhere on the page
        assert page.locator("[onerror], [onload], [onmouseover], a[href^='javascript'], img[src='x']").count() == 0
        assert not page.evaluate("[...document.scripts].some(s => s.text.includes('__xss'))")
        browser.close()
    assert not problems, problems
