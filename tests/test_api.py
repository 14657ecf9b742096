"""The HTTP contract: shapes of every endpoint, the SSE stream, follow-ups through ``history``,
404s, and the docs and page served by the same app."""

from __future__ import annotations

import json

import pytest

GDP_Q = "今年GDP要涨多少？"
FOLLOW_UP = "那过去五年呢？"
ANSWER_KEYS = {"question", "answer", "found", "citations", "timings_ms", "composer", "fallback_reason",
               "related_sections", "related_refs", "refusal"}
CITATION_KEYS = {"n", "doc", "section_id", "section_path", "quote", "start", "end", "score"}


def _ask(client, question: str, history: list[dict] | None = None, **extra) -> dict:
    r = client.post("/api/ask", json={"question": question, "history": history or [], **extra})
    assert r.status_code == 200, r.text
    return r.json()


def _events(client, body: dict) -> list[tuple[str, dict]]:
    """The SSE stream as (event name, data) pairs, checked to be well formed."""
    with client.stream("POST", "/api/ask/stream", json=body) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = "".join(r.iter_text())
    events = []
    for block in filter(None, raw.split("\n\n")):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        data = json.loads(fields["data"])
        assert fields["event"] == data["type"]
        events.append((fields["event"], data))
    return events


def test_ask_returns_the_answer_contract_with_verbatim_citations(client, docs):
    a = _ask(client, GDP_Q, top_k=5)
    assert set(a) >= ANSWER_KEYS and a["question"] == GDP_Q
    assert a["found"] and "7%" in a["answer"]
    assert a["citations"] and [c["n"] for c in a["citations"]] == list(range(1, len(a["citations"]) + 1))
    for c in a["citations"]:
        assert set(c) >= CITATION_KEYS
        assert docs[c["doc"]].text[c["start"]:c["end"]] == c["quote"]
        assert f"[{c['n']}]" in a["answer"]


def test_ask_sends_the_pipelines_answer_field_for_field(client, pipeline):
    """The response is the pipeline's answer as ``Answer.to_dict`` (= ``dataclasses.asdict``)
    gives it, keys in the same order, timings aside."""
    from dataclasses import asdict

    for question in (GDP_Q, "市里有多少只大熊猫？"):
        expected = pipeline.ask(question, 5)
        assert expected.to_dict() == asdict(expected) and list(expected.to_dict()) == list(asdict(expected))
        got = _ask(client, question, top_k=5)
        assert list(got) == list(asdict(expected))
        assert {**got, "timings_ms": {}} == {**json.loads(json.dumps(asdict(expected))), "timings_ms": {}}


def test_a_refusal_carries_its_topics_as_data(client):
    """What the sentence names, a client can word in its own language without parsing it."""
    refused = _ask(client, "市里有多少只大熊猫？")
    assert not refused["found"] and refused["refusal"]["reason"] == "not_in_report"
    assert refused["refusal"]["topics"] and all(f"“{t}”" in refused["answer"] for t in refused["refusal"]["topics"])
    assert _ask(client, GDP_Q)["refusal"] is None


@pytest.mark.parametrize("top_k", [0, 21])
def test_ask_rejects_top_k_out_of_range(client, top_k):
    assert client.post("/api/ask", json={"question": GDP_Q, "top_k": top_k}).status_code == 422


def test_follow_up_is_resolved_from_history(client):
    first = _ask(client, GDP_Q)
    history = [{"role": "user", "content": GDP_Q}, {"role": "assistant", "content": first["answer"]}]
    follow = _ask(client, FOLLOW_UP, history)
    assert follow["found"] and "2280亿元" in follow["answer"]
    assert any("2280亿元" in c["quote"] for c in follow["citations"])


def test_history_decides_what_the_follow_up_is_about(client):
    """The same follow-up gets the topic of the earlier user question; assistant turns are not questions."""
    jobs = "今年城镇新增就业目标是多少？"
    with_user = _ask(client, FOLLOW_UP, [{"role": "user", "content": jobs}])
    assistant_only = _ask(client, FOLLOW_UP, [{"role": "assistant", "content": jobs}])
    alone = _ask(client, FOLLOW_UP)
    assert "33.16万人" in with_user["answer"]
    assert "33.16万人" not in alone["answer"]
    assert assistant_only["answer"] == alone["answer"]


def test_stream_yields_deltas_then_one_final_answer(client, docs):
    events = _events(client, {"question": GDP_Q})
    names = [name for name, _ in events]
    assert names[-1] == "final" and names.count("final") == 1
    assert "delta" in names and names.index("delta") < names.index("final")
    assert "".join(d["text"] for name, d in events if name == "delta").strip()
    final = events[-1][1]["answer"]
    assert set(final) >= ANSWER_KEYS and final["found"] and "7%" in final["answer"]
    for c in final["citations"]:
        assert docs[c["doc"]].text[c["start"]:c["end"]] == c["quote"]


def test_stream_follows_up_through_history(client):
    events = _events(client, {"question": FOLLOW_UP, "history": [{"role": "user", "content": "今年城镇新增就业目标是多少？"}]})
    assert "33.16万人" in events[-1][1]["answer"]["answer"]


def test_search_ranks_units_with_scores(client, docs):
    r = client.get("/api/search", params={"q": "地区生产总值", "k": 4})
    assert r.status_code == 200, r.text
    body = r.json()
    hits = body["hits"]
    assert body["query"] == "地区生产总值" and body["retriever"] == "hybrid"
    assert 0 < len(hits) <= 4 and [h["rank"] for h in hits] == list(range(1, len(hits) + 1))
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    for h in hits:
        assert docs[h["doc"]].text[h["start"]:h["end"]] == h["text"]
    assert any("地区生产总值" in h["text"] for h in hits)


def test_search_other_retrievers_and_bad_parameters(client):
    bm25 = client.get("/api/search", params={"q": "地区生产总值", "retriever": "bm25", "k": 3}).json()
    assert bm25["retriever"] == "bm25" and all(h["bm25"] is not None for h in bm25["hits"])
    assert client.get("/api/search", params={"q": "x", "retriever": "magic"}).status_code == 422
    assert client.get("/api/search", params={"q": "x", "k": 0}).status_code == 422
    assert client.get("/api/search").status_code == 422


def test_documents_list_outlines(client, docs):
    r = client.get("/api/documents")
    assert r.status_code == 200
    listed = {d["id"]: d for d in r.json()}
    assert set(listed) == set(docs)
    for doc_id, d in listed.items():
        assert d["chars"] == len(docs[doc_id].text)
        assert [s["id"] for s in d["sections"]] == [s.id for s in docs[doc_id].sections]
    seed = next(d for d in listed.values() if d["report"]["region"] == "焦作市")  # the catalogue entry
    assert seed["report"]["level"] == "市" and seed["report"]["year"] == 2023
    assert seed["title"] == seed["report"]["title"] == "焦作市2023年政府工作报告"


def test_section_has_full_text_and_children(client, docs):
    doc = next(iter(docs.values()))
    parent = next(s for s in doc.sections if s.children)
    r = client.get(f"/api/documents/{doc.id}/sections/{parent.id}")
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["text"] == doc.text[parent.start:parent.end] and s["title"] == parent.title
    assert [c["id"] for c in s["children"]] == list(parent.children)
    child = doc.section(parent.children[0])
    assert doc.text[child.start:child.end] in s["text"]
    assert all(c["parent"] == parent.id for c in s["children"])


@pytest.mark.parametrize("path", ["/api/documents/no-such-doc/sections/1", "/api/documents/{doc}/sections/99.99"])
def test_unknown_document_or_section_is_404(client, docs, path):
    r = client.get(path.format(doc=next(iter(docs))))
    assert r.status_code == 404
    assert "application/json" in r.headers["content-type"]


def test_health_reports_model_and_manifest(client, pipeline):
    h = client.get("/api/health").json()
    assert h["status"] == "ok" and h["model"] == pipeline.embedder.model_id
    assert h["manifest"]["n_units"] == len(pipeline.store.units)


def test_docs_and_openapi_are_served(client):
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    for path in ("/api/ask", "/api/ask/stream", "/api/search", "/api/documents",
                 "/api/documents/{doc}/sections/{section_id}", "/api/health"):
        assert path in spec["paths"], path


def test_page_is_served_at_root_by_the_same_app(client):
    r = client.get("/")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "政府工作报告问答" in r.text


@pytest.mark.parametrize("path, asset", [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")])
def test_docs_pages_load_only_files_of_this_server(client, path, asset):
    """Offline, a page that loads Swagger UI or ReDoc from a CDN is blank: every script, style
    sheet and icon the page names is on this origin, and served."""
    import re

    page = client.get(path)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\s*['"]([^'"]+)['"]""", page.text)
    urls = [a or b for a, b in urls]
    assert any(u.endswith(asset) for u in urls), urls
    for url in urls:
        assert not re.match(r"(?i)(https?:)?//", url), url
        assert client.get(url).status_code == 200, url
    csp = page.headers["content-security-policy"]
    assert "http" not in csp  # nothing from elsewhere may load


def test_malformed_json_says_where_and_why(client):
    r = client.post("/api/ask", content=b'{"question": "\xe4\xbb\x8a", top_k: 3}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert "JSON" in message and "character" in message and "字符" in message
    assert "decode error" not in message  # pydantic's bare phrase said nothing


@pytest.mark.parametrize("method, path, allow", [("GET", "/api/ask", "POST"), ("POST", "/api/health", "GET"),
                                                ("DELETE", "/api/documents", "GET")])
def test_a_route_asked_with_another_method_is_405(client, method, path, allow):
    r = client.request(method, path)
    assert r.status_code == 405 and r.headers["allow"] == allow
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert client.get("/api/no-such-route").status_code == 404
