"""The generative composer against a scripted OpenAI-compatible server on a loopback port: what
it sends, what it lets through, and the extractive fallback for everything it must not."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from rag.answer.composers.generative import REFUSAL, GenerativeComposer, figures, verify
from rag.answer.query import QueryPart
from rag.core.settings import Settings
from rag.core.types import Answer, ScoredUnit
from rag.ingest.chunking import SentenceChunker, count_tokens

Reply = str | Callable[[dict], str]


@dataclass
class FakeLLM:
    """Serves ``POST /v1/chat/completions``, whole or as SSE chunks, with the scripted ``reply``."""

    reply: Reply = ""
    delay_s: float = 0.0
    status: int = 200
    raw: list[str] | None = None  # when set, sent verbatim: the SSE data lines, or (joined) the JSON body
    requests: list[dict] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def text(self, body: dict) -> str:
        return self.reply(body) if callable(self.reply) else self.reply

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                time.sleep(fake.delay_s)
                try:
                    if fake.status != 200 or self.path != "/v1/chat/completions":
                        self.send_response(fake.status if fake.status != 200 else 404)
                        self.end_headers()
                    elif fake.raw is not None:
                        self._raw(body.get("stream"))
                    elif body.get("stream"):
                        self._sse(fake.text(body))
                    else:
                        self._json({"choices": [{"index": 0, "message": {"role": "assistant",
                                                                         "content": fake.text(body)}}]})
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

            def _raw(self, stream: bool) -> None:
                data = ("".join(f"data: {line}\n\n" for line in fake.raw) if stream else "".join(fake.raw)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream" if stream else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _json(self, payload: dict) -> None:
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _sse(self, text: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                chunks = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
                chunks += [{"choices": [{"index": 0, "delta": {"content": text[i:i + 3]}}]} for i in range(0, len(text), 3)]
                chunks += [{"choices": []}]  # a usage-only chunk, as some servers send
                for chunk in chunks:
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")

        return Handler


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLM]:
    fake = FakeLLM()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    server.daemon_threads = True
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture()
def llm(fake_llm: FakeLLM) -> FakeLLM:
    fake_llm.reply, fake_llm.delay_s, fake_llm.status, fake_llm.raw = "", 0.0, 200, None
    fake_llm.requests.clear()
    return fake_llm


@pytest.fixture(scope="module")
def sample(synthetic_docs):
    """The synthetic report cut into clause-sized units, so that widening to a sentence shows."""
    doc = next(d for d in synthetic_docs if "青川市" in d.title or "青川市" in d.text[:50])
    units = [u for u in SentenceChunker(max_chars=20, min_chars=4).run([doc]) if u.doc_id == doc.id]
    return doc, units


def _unit(units, needle: str):
    return next(u for u in units if needle in u.text)


QUESTION = "去年经济和就业情况怎么样？"
PARTS = [QueryPart(text=QUESTION, search_text=QUESTION, topic="经济 就业")]
FALLBACK = Answer(question=QUESTION, answer="（抽取式回答）", found=True)


class Fixed:
    """A stand-in for the extractive composer: the same answer whatever is asked."""

    name = "extractive"

    def run(self, question, parts, hits) -> Answer:
        return FALLBACK


def _composer(docs, fake: FakeLLM, fallback=None, **kw) -> GenerativeComposer:
    kw = {"base_url": fake.url, "model": "qwen-test", "api_key": "sk-test", "timeout_s": 5.0} | kw
    return GenerativeComposer(docs, fallback or Fixed(), **kw)


@pytest.fixture(scope="module")
def hits(sample):
    """Source [1]: the jobs sentence; source [2]: the GDP sentence (hit through its middle clause)."""
    _, units = sample
    return [[ScoredUnit(_unit(units, "5.2万人"), 0.9), ScoredUnit(_unit(units, "1860亿元"), 0.8),
             ScoredUnit(_unit(units, "6.5%"), 0.7)]]


# --- prompt and context -------------------------------------------------------------------
def test_sources_are_whole_sentences_with_exact_spans_deduplicated(sample, hits):
    doc, _ = sample
    sources = GenerativeComposer([doc], Fixed(), base_url="http://127.0.0.1:9/v1", model="m").sources(hits)
    assert [s.n for s in sources] == [1, 2]  # the "6.5%" hit is the same sentence as "1860亿元"
    assert sources[1].text == "过去一年，全市生产总值增长6.5%，达到1860亿元，居全省第3位。"
    assert sources[0].text.startswith("城镇新增就业5.2万人")
    for s in sources:
        assert doc.text[s.start:s.end] == s.text
    assert sources[1].path.startswith("第一部分")


def test_prompt_is_chinese_numbered_with_paths_and_refusal_phrase(sample, hits):
    doc, _ = sample
    composer = GenerativeComposer([doc], Fixed(), base_url="http://127.0.0.1:9/v1", model="m")
    sources = composer.sources(hits)
    follow_up = [QueryPart(text="2023年的就业情况怎么样？", search_text="", topic="就业")]
    system, user = composer.messages("那就业呢？", follow_up, sources)
    assert REFUSAL in system["content"] and "[1]" in system["content"]
    assert f"[2] 出处：{doc.title} › {sources[1].path}\n{sources[1].text}" in user["content"]
    assert user["content"].index("[1] 出处") < user["content"].index("[2] 出处")
    assert user["content"].endswith("问题：那就业呢？（即：2023年的就业情况怎么样？）")


def test_context_budget_counts_tokens_and_keeps_rank_order(sample, hits):
    doc, _ = sample
    full = GenerativeComposer([doc], Fixed(), base_url="http://127.0.0.1:9/v1", model="m").sources(hits)
    first = count_tokens(full[0].block)
    tight = GenerativeComposer([doc], Fixed(), base_url="http://127.0.0.1:9/v1", model="m", context_tokens=first)
    assert [s.text for s in tight.sources(hits)] == [full[0].text]
    assert GenerativeComposer([doc], Fixed(), base_url="x", model="m", context_tokens=first - 1).sources(hits) == []


# --- verification -------------------------------------------------------------------------
def test_figures_keep_units_and_normalise_full_width_and_chinese_ranks():
    assert figures("增长６.５％［1］，达到1,860亿元，居全省第四位；新增33.16万人[2]。\n1. 2024年") == \
        ["6.5%", "1860亿元", "第4位", "33.16万人", "2024年"]


def test_verify_checks_figures_against_the_sources_their_sentence_cites(sample, hits):
    doc, _ = sample
    sources = GenerativeComposer([doc], Fixed(), base_url="x", model="m").sources(hits)
    assert verify("全市生产总值增长6.5%[2]。城镇新增就业5.2万人[1]。", sources) is False
    with pytest.raises(ValueError, match=r"invented figure: 5\.2万人"):
        verify("城镇新增就业5.2万人[2]。全市生产总值增长6.5%[1]。", sources)  # true, but not in [2]
    with pytest.raises(ValueError, match="invented figure: 6%"):
        verify("全市生产总值增长6%[2]。", sources)  # "6%" is not "6.5%"
    assert verify(f"{REFUSAL}。", sources) is True
    assert verify("青川市2024年的报告说，全市生产总值增长6.5%[2]。", sources) is False  # the report's title
    with pytest.raises(ValueError, match="invented figure: 2019年"):
        verify("2019年全市生产总值增长6.5%[2]。", sources)


def test_a_file_name_standing_in_for_a_title_is_not_shown_as_the_report(synthetic_docs):
    doc = next(d for d in synthetic_docs if d.title == d.id)  # a file without a title line
    unit = SentenceChunker().run([doc])[0]
    (source,) = GenerativeComposer([doc], Fixed(), base_url="x", model="m").sources([[ScoredUnit(unit, 1.0)]])
    assert source.report == "" and doc.id not in source.block


# --- whole answers ------------------------------------------------------------------------
def test_correct_answer_is_verified_renumbered_and_cited_exactly(sample, hits, llm):
    doc, _ = sample
    llm.reply = "全市生产总值增长6.5%，达到1860亿元[2]；城镇新增就业5.2万人[1]，居全省第三位[2]。"
    answer = _composer([doc], llm).run(QUESTION, PARTS, hits)
    assert (answer.composer, answer.found, answer.fallback_reason) == ("llm", True, None)
    assert answer.answer == "全市生产总值增长6.5%，达到1860亿元[1]；城镇新增就业5.2万人[2]，居全省第三位[1]。"
    assert [c.n for c in answer.citations] == [1, 2]
    assert "1860亿元" in answer.citations[0].quote and "5.2万人" in answer.citations[1].quote
    for c in answer.citations:
        assert doc.text[c.start:c.end] == c.quote and c.doc == doc.id and c.section_path
    (request,) = llm.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test"
    assert request["body"]["model"] == "qwen-test" and request["body"]["stream"] is False
    assert "[2] 出处：" in request["body"]["messages"][1]["content"]


def test_full_width_figures_and_brackets_are_accepted(sample, hits, llm):
    doc, _ = sample
    llm.reply = "全市生产总值增长６.５％［2］。"
    answer = _composer([doc], llm).run(QUESTION, PARTS, hits)
    assert answer.composer == "llm" and answer.answer == "全市生产总值增长６.５％[1]。"


@pytest.mark.parametrize(("reply", "reason"), [
    ("全市生产总值增长9%[2]。", "invented figure: 9%"),
    ("全市生产总值增长6.5%[7]。", "unknown citation [7]"),
    ("全市生产总值增长6.5%。", "no citation"),
    ("", "empty answer"),
])
def test_rejected_answers_fall_back_to_the_extractive_one(sample, hits, llm, reply, reason):
    doc, _ = sample
    llm.reply = reply
    answer = _composer([doc], llm).run(QUESTION, PARTS, hits)
    assert answer == replace(FALLBACK, fallback_reason=reason)


def test_refusal_maps_to_not_found(sample, hits, llm):
    doc, _ = sample
    llm.reply = f"{REFUSAL}。"
    answer = _composer([doc], llm).run("市里有多少只大熊猫？", PARTS, hits)
    assert (answer.found, answer.composer, answer.citations) == (False, "llm", [])
    assert answer.answer.startswith("报告中没有找到关于“经济就业”的相关内容。") and answer.related_sections


def test_timeout_falls_back(sample, hits, llm):
    doc, _ = sample
    llm.reply, llm.delay_s = "全市生产总值增长6.5%[2]。", 1.5
    composer = _composer([doc], llm, timeout_s=0.3)
    assert composer.run(QUESTION, PARTS, hits).fallback_reason == "timeout"
    events, answer = _drain(composer.stream(QUESTION, PARTS, hits))
    assert events == [] and answer == replace(FALLBACK, fallback_reason="timeout")


def test_server_errors_fall_back_with_the_reason(sample, hits, llm):
    doc, _ = sample
    llm.status = 500
    assert _composer([doc], llm).run(QUESTION, PARTS, hits).fallback_reason == "llm error: HTTP 500"
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    unreachable = _composer([doc], llm, base_url=f"http://127.0.0.1:{closed}/v1")
    assert unreachable.run(QUESTION, PARTS, hits).fallback_reason == "llm unreachable: ConnectError"


def _drain(gen) -> tuple[list[dict], Answer]:
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as done:
            return events, done.value


def test_stream_yields_renumbered_tokens_then_the_verified_answer(sample, hits, llm):
    doc, _ = sample
    llm.reply = "<think>先看资料</think>\n全市生产总值增长6.5%[2]；城镇新增就业5.2万人[1]。"
    events, answer = _drain(_composer([doc], llm).stream(QUESTION, PARTS, hits))
    assert len(events) > 3 and all(e["type"] == "delta" for e in events)
    assert "".join(e["text"] for e in events) == answer.answer == "全市生产总值增长6.5%[1]；城镇新增就业5.2万人[2]。"
    assert answer.composer == "llm" and llm.requests[-1]["body"]["stream"] is True


def test_stream_with_invented_figure_returns_the_fallback(sample, hits, llm):
    doc, _ = sample
    llm.reply = "全市生产总值增长9.9%[2]。"
    events, answer = _drain(_composer([doc], llm).stream(QUESTION, PARTS, hits))
    assert events and answer == replace(FALLBACK, fallback_reason="invented figure: 9.9%")


# --- the pipeline -------------------------------------------------------------------------
def test_no_llm_configured_keeps_the_extractive_composer(pipeline):
    assert GenerativeComposer.from_settings(Settings(llm_base_url=None, llm_model=None), [], Fixed()) is None
    assert GenerativeComposer.from_settings(Settings(llm_base_url="http://127.0.0.1:9/v1", llm_model=None), [], Fixed()) is None
    assert pipeline.generative is None
    answer = pipeline.ask("2023年地区生产总值增长多少？")
    assert answer.composer == "extractive" and answer.fallback_reason is None


def _quote_first_source(body: dict) -> str:
    """A faithful model: repeats source [1] verbatim and cites it."""
    return "根据报告，" + re.search(r"\[1\] 出处：[^\n]*\n([^\n]+)", body["messages"][1]["content"]).group(1) + "[1]"


def test_pipeline_uses_the_llm_when_configured_and_streams_its_tokens(pipeline, llm):
    llm.reply = _quote_first_source
    generative = _composer(pipeline.store.documents, llm, pipeline.composer)
    with_llm = replace(pipeline, generative=generative)
    answer = with_llm.ask("2023年地区生产总值增长多少？")
    assert answer.composer == "llm" and answer.found and answer.answer.startswith("根据报告，")
    doc = {d.id: d for d in pipeline.store.documents}[answer.citations[0].doc]
    assert doc.text[answer.citations[0].start:answer.citations[0].end] == answer.citations[0].quote
    assert set(answer.timings_ms) == {"retrieve", "compose", "total"}

    events = list(with_llm.ask_stream("2023年地区生产总值增长多少？"))
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "final" and "reset" not in kinds and kinds.count("delta") > 3
    final = events[-1]["answer"]
    assert final["composer"] == "llm" and "".join(e["text"] for e in events[:-1]) == final["answer"]


def test_pipeline_stream_resets_to_the_fallback_when_verification_fails(pipeline, llm):
    llm.reply = "地区生产总值增长99.9%[1]。"
    events = list(replace(pipeline, generative=_composer(pipeline.store.documents, llm, pipeline.composer))
                  .ask_stream("2023年地区生产总值增长多少？"))
    kinds = [e["type"] for e in events]
    assert "reset" in kinds and kinds[-1] == "final"
    final = events[-1]["answer"]
    assert final["composer"] == "extractive" and final["fallback_reason"] == "invented figure: 99.9%"
    after_reset = events[kinds.index("reset") + 1:-1]
    assert after_reset and "".join(e["text"] for e in after_reset) == final["answer"]


def test_sse_api_carries_llm_answers_and_the_reset_event(settings, pipeline, llm):
    from fastapi.testclient import TestClient

    from ui.server import create_server

    with TestClient(create_server(settings, replace(pipeline, generative=_composer(pipeline.store.documents, llm)))) as c:
        llm.reply = _quote_first_source
        assert c.post("/api/ask", json={"question": "2023年地区生产总值增长多少？"}).json()["composer"] == "llm"
        llm.reply = "地区生产总值增长99.9%[1]。"
        with c.stream("POST", "/api/ask/stream", json={"question": "2023年地区生产总值增长多少？"}) as r:
            names = [line[len("event: "):] for line in "".join(r.iter_text()).splitlines() if line.startswith("event: ")]
    assert names[0] == "delta" and names[-1] == "final" and names.count("reset") == 1


def test_the_page_says_which_composer_answered():
    from ui.render import answer_html

    base = {"answer": "增长6.5%[1]", "found": True, "citations": []}
    assert "大模型生成" in answer_html(0, base | {"composer": "llm"}, "zh")
    assert "rag-composer" not in answer_html(0, base | {"composer": "extractive"}, "zh")
    fallback = answer_html(0, base | {"composer": "extractive", "fallback_reason": "invented figure: <9%>"}, "en")
    assert "failed verification" in fallback and 'title="invented figure: &lt;9%&gt;"' in fallback


# --- replies that are not what the API returns ----------------------------------------------
def _chunk(content: object) -> str:
    return json.dumps({"choices": [{"index": 0, "delta": {"content": content}}]}, ensure_ascii=False)


#: Streams a server might send that break the OpenAI shape; each must end in the extractive answer.
MALFORMED_STREAMS = {
    "5,000-digit citation": [_chunk("全市生产总值增长6.5%"), _chunk("[" + "9" * 5000 + "]。"), "[DONE]"],
    "non-string content": [_chunk("全市生产总值增长"), _chunk(6.5), "[DONE]"],
    "non-dict chunk": [_chunk("全市生产总值增长6.5%[2]"), "[1, 2, 3]", "[DONE]"],
    "non-dict choice": [_chunk("全市"), '{"choices": ["增长"]}', "[DONE]"],
    "lone surrogate": [_chunk("全市生产总值增长6.5%[2]"), '{"choices": [{"delta": {"content": "\\ud800"}}]}', "[DONE]"],
    "not JSON": [_chunk("全市"), "{\"choices\": [", "[DONE]"],
}
MALFORMED_BODIES = {
    "5,000-digit citation": ['{"choices": [{"message": {"content": "增长6.5%[' + "9" * 5000 + ']"}}]}'],
    "non-string content": ['{"choices": [{"message": {"content": 6.5}}]}'],
    "non-dict body": ['[1, 2, 3]'],
    "no choices": ['{"choices": []}'],
    "lone surrogate": ['{"choices": [{"message": {"content": "\\ud800[2]"}}]}'],
}


@pytest.mark.parametrize("case", MALFORMED_STREAMS)
def test_malformed_streams_fall_back_cleanly(sample, hits, llm, case):
    doc, _ = sample
    llm.raw = MALFORMED_STREAMS[case]
    events, answer = _drain(_composer([doc], llm).stream(QUESTION, PARTS, hits))
    assert all(e["type"] == "delta" and isinstance(e["text"], str) for e in events)
    assert answer.answer == FALLBACK.answer and answer.fallback_reason, answer
    if case != "5,000-digit citation":  # that one is well-formed JSON whose text fails verification
        assert answer.fallback_reason.startswith("malformed llm response")


@pytest.mark.parametrize("case", MALFORMED_BODIES)
def test_malformed_replies_fall_back_cleanly(sample, hits, llm, case):
    doc, _ = sample
    llm.raw = MALFORMED_BODIES[case]
    answer = _composer([doc], llm).run(QUESTION, PARTS, hits)
    assert answer.answer == FALLBACK.answer and answer.fallback_reason, answer


def test_reply_size_and_total_time_are_capped(sample, hits, llm):
    doc, _ = sample
    llm.reply = "全市生产总值增长6.5%[2]。" * 200
    assert _composer([doc], llm, max_reply_bytes=2000).run(QUESTION, PARTS, hits).fallback_reason == \
        "malformed llm response: reply over 2000 bytes"
    events, answer = _drain(_composer([doc], llm, max_reply_bytes=2000).stream(QUESTION, PARTS, hits))
    assert answer.fallback_reason == "malformed llm response: reply over 2000 bytes"
    llm.reply = "全市生产总值增长6.5%[2]。"
    late = _composer([doc], llm, deadline_s=0.0).run(QUESTION, PARTS, hits)
    assert late.fallback_reason == "malformed llm response: reply not complete after 0 s"


def test_requests_past_the_stream_limit_get_the_fallback_at_once(sample, hits, llm):
    doc, _ = sample
    llm.reply = "全市生产总值增长6.5%[2]。"
    composer = _composer([doc], llm, max_streams=1)
    assert composer._slots.acquire(blocking=False)  # one request already waiting on the server
    assert composer.run(QUESTION, PARTS, hits).fallback_reason == "llm busy"
    assert _drain(composer.stream(QUESTION, PARTS, hits))[1].fallback_reason == "llm busy"
    assert not llm.requests
    composer._slots.release()
    assert composer.run(QUESTION, PARTS, hits).composer == "llm"  # and the slot is given back after each
    assert _drain(composer.stream(QUESTION, PARTS, hits))[1].composer == "llm"
    assert composer._slots.acquire(blocking=False)


def test_a_malformed_llm_stream_ends_in_a_clean_fallback_over_http(settings, pipeline, llm):
    """The real server on loopback: every malformed stream ends with a ``final`` event carrying
    the extractive answer, never a 500, an ``error`` event or a cut-off stream."""
    import httpx
    from test_reliability import serve

    from ui.server import create_server

    with_llm = replace(pipeline, generative=_composer(pipeline.store.documents, llm, pipeline.composer))
    question = {"question": "2023年地区生产总值增长多少？"}
    with serve(create_server(settings, with_llm)) as (base, _, _), httpx.Client(base_url=base, timeout=60) as http:
        for case, lines in MALFORMED_STREAMS.items():
            llm.raw = lines
            r = http.post("/api/ask/stream", json=question)
            assert r.status_code == 200, case
            events = [json.loads(line[len("data: "):]) for line in r.text.splitlines() if line.startswith("data: ")]
            final = events[-1]
            assert final["type"] == "final", (case, events[-3:])
            assert final["answer"]["composer"] == "extractive" and final["answer"]["fallback_reason"], case
            assert not [e for e in events if e["type"] == "error"]
        for case, body in MALFORMED_BODIES.items():
            llm.raw = body
            r = http.post("/api/ask", json=question)
            assert r.status_code == 200 and r.json()["composer"] == "extractive", (case, r.text[:200])
