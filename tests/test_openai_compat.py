"""The OpenAI-compatible endpoint, driven by the official ``openai`` client against a running server:
the same answers and citations as ``/api/ask``, streamed or not, with OpenAI's error shapes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from conftest import serve_in_thread
from fastapi.testclient import TestClient

from rag.api import openai_compat as oa
from rag.core.types import Document, Report

ROOT = Path(__file__).resolve().parents[1]
MODEL = oa.BASE_MODEL


def _serve(app) -> Iterator[str]:
    for port in serve_in_thread(app):
        yield f"http://127.0.0.1:{port}/v1"


@pytest.fixture(scope="module")
def app(settings, pipeline):
    from rag.api.app import create_app

    return create_app(settings, pipeline)


@pytest.fixture(scope="module")
def base_url(app) -> Iterator[str]:
    yield from _serve(app)


@pytest.fixture(scope="module")
def client(base_url) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key="unused", max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def api(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def dev_questions() -> list[str]:
    """Every eighth dev question: 32 of all kinds, answerable and not."""
    from rag.evaluation.datasets import load_jsonl

    items = load_jsonl(ROOT / "eval" / "dev.jsonl").items
    return [item.question for item in items[::8]]


def _extra(obj) -> dict:
    return obj.model_extra or {}


def test_answers_and_citations_equal_api_ask(client, api, dev_questions):
    assert len(dev_questions) >= 30
    for question in dev_questions:
        expected = api.post("/api/ask", json={"question": question}).json()
        got = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}],
                                             temperature=0.3, max_tokens=50)
        message = got.choices[0].message
        assert got.object == "chat.completion" and got.choices[0].finish_reason == "stop"
        assert message.role == "assistant" and message.content.startswith(expected["answer"]), question
        assert _extra(got)["citations"] == expected["citations"], question
        assert _extra(got)["found"] == expected["found"]
        for c in expected["citations"]:  # the sources list a chat client renders under the answer
            assert f"[{c['n']}] {c['report']} · {c['section_path']}" in message.content
            assert f"「{c['quote']}」" in message.content


def test_streamed_answers_equal_the_whole_ones(client, api, dev_questions):
    for question in dev_questions:
        expected = api.post("/api/ask", json={"question": question}).json()
        whole = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}])
        chunks = list(client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}],
                                                     stream=True))
        assert all(c.object == "chat.completion.chunk" for c in chunks)
        assert chunks[0].choices[0].delta.role == "assistant"
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        assert text == whole.choices[0].message.content, question
        last = chunks[-1]
        assert last.choices[0].finish_reason == "stop"
        assert _extra(last)["citations"] == expected["citations"], question


def test_a_refusal_is_an_ordinary_assistant_message(client, api):
    question = "焦作的地铁什么时候通车？"
    expected = api.post("/api/ask", json={"question": question}).json()
    assert not expected["found"]
    got = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": question}])
    assert got.choices[0].message.role == "assistant" and got.choices[0].finish_reason == "stop"
    assert got.choices[0].message.content.startswith(expected["answer"])
    assert _extra(got)["found"] is False and _extra(got)["citations"] == []


def test_a_follow_up_leans_on_the_history(client, api):
    history = [{"role": "system", "content": "你是助手"},
               {"role": "user", "content": "今年城镇新增就业目标是多少？"},
               {"role": "assistant", "content": "2023年：城镇新增就业6万人以上。[1]"}]
    follow_up = "那过去五年呢？"
    expected = api.post("/api/ask", json={"question": follow_up, "history": [
        {"role": m["role"], "content": m["content"]} for m in history if m["role"] != "system"]}).json()
    alone = api.post("/api/ask", json={"question": follow_up}).json()
    got = client.chat.completions.create(model=MODEL, messages=[*history, {"role": "user", "content": follow_up}])
    assert got.choices[0].message.content.startswith(expected["answer"])
    assert _extra(got)["citations"] == expected["citations"]
    assert expected["answer"] != alone["answer"]  # the history is what answered it


def test_models_name_every_scope_and_a_scoped_model_answers_from_its_reports(client, pipeline):
    ids = [m.id for m in client.models.list()]
    assert ids[0] == MODEL
    doc = pipeline.store.documents[0]
    scoped = f"{MODEL}:{doc.report.region}{doc.report.year}"
    assert scoped in ids
    got = client.chat.completions.create(model=scoped, messages=[{"role": "user", "content": "今年GDP要涨多少？"}])
    assert {c["doc"] for c in _extra(got)["citations"]} == {doc.id}
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model=f"{MODEL}:没有这个地方", messages=[{"role": "user", "content": "GDP"}])
    assert err.value.code == "model_not_found" and "/v1/models" in err.value.message


def test_scopes_group_places_and_tell_same_named_reports_apart():
    docs = [Document(id=i, title=f"{r}{y}年政府工作报告", source="", text="", report=Report(region=r, year=y))
            for i, r, y in (("a/2023", "江城市", 2023), ("a/2024", "江城市", 2024), ("b/2024", "江城市", 2024),
                            ("c", "", None))]
    by_id = {s.id: s.documents for s in oa.scopes(docs)}
    assert by_id[MODEL] is None
    assert by_id[f"{MODEL}:江城市"] == ("a/2023", "a/2024", "b/2024")
    assert by_id[f"{MODEL}:江城市2023"] == ("a/2023",)
    assert by_id[f"{MODEL}:江城市2024"] == ("a/2024",) and by_id[f"{MODEL}:b/2024"] == ("b/2024",)
    assert by_id[f"{MODEL}:c"] == ("c",)


@pytest.mark.parametrize("extra, param", [({"n": 2}, "n"),
                                          ({"tools": [{"type": "function", "function": {"name": "f"}}]}, "tools"),
                                          ({"response_format": {"type": "json_object"}}, "response_format")])
def test_parameters_it_cannot_honour_are_refused_clearly(client, extra, param):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "GDP"}], **extra)
    assert err.value.param == param and " / " in err.value.message  # bilingual


def test_bad_requests_get_openai_error_shapes(client, base_url):
    import httpx

    with pytest.raises(openai.BadRequestError) as err:  # the last turn must be the user's question
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "GDP"},
                                                              {"role": "assistant", "content": "7%"}])
    assert err.value.code == "unsupported_messages"
    with pytest.raises(openai.UnprocessableEntityError) as err:
        client.chat.completions.create(model=MODEL, messages=[])
    assert err.value.param == "messages"
    for body, status in ((b"{not json", 422), (b'{"model": 1, "messages": "x"}', 422)):
        r = httpx.post(f"{base_url}/chat/completions", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == status
        assert set(r.json()["error"]) == {"message", "type", "param", "code"}
        assert r.json()["error"]["type"] == "invalid_request_error" and "Traceback" not in r.text
    r = httpx.get(f"{base_url}/no/such/route")
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"


def test_an_oversized_request_is_refused_before_it_is_read(client, settings):
    huge = "问" * (settings.max_body_bytes // 2)
    with pytest.raises(openai.APIStatusError) as err:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "GDP"},
                                                              {"role": "user", "content": huge}])
    assert err.value.status_code == 413 and err.value.body["type"] == "invalid_request_error"


def test_a_set_token_is_required(settings, pipeline):
    from rag.api.app import create_app

    app = create_app(settings.model_copy(update={"api_token": "s3cret"}), pipeline)
    for url in _serve(app):
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url, api_key="wrong", max_retries=0).models.list()
        ok = openai.OpenAI(base_url=url, api_key="s3cret", max_retries=0)
        assert ok.models.list().data[0].id == MODEL
        with TestClient(app) as c:  # the product's own API is unchanged by the token
            assert c.get("/api/health").status_code == 200


def test_the_rate_limit_covers_v1(settings, pipeline):
    from rag.api.app import create_app

    app = create_app(settings.model_copy(update={"rate_limit_per_minute": 2}), pipeline)
    with TestClient(app) as c:
        statuses = [c.get("/v1/models").status_code for _ in range(3)]
    assert statuses[:2] == [200, 200] and statuses[2] == 429
