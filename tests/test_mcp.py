"""``rag mcp`` over stdio, driven by the official MCP SDK's client session: four tools whose answers
and citations are ``/api/ask``'s."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest
from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def api(settings, pipeline):
    from rag.api.app import create_app

    with TestClient(create_app(settings, pipeline)) as c:
        yield c


def _session_run(settings, body):
    """Starts ``rag mcp`` as an agent host would and runs ``body(session)`` in one session."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "rag.cli.main", "--corpus", str(settings.corpus_dir), "--index-dir", str(settings.index_dir), "mcp"],
        env={"PYTHONPATH": str(ROOT), "HOME": os.environ.get("HOME", "/root"),
             **{k: v for k, v in os.environ.items() if k.startswith(("RAG_", "XDG_"))}},
        cwd=str(ROOT))

    async def main():
        with open(os.devnull, "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await body(session)

    return anyio.run(main)


def test_tools_answer_as_the_api_does(settings, api, pipeline):
    from rag.evaluation.datasets import load_jsonl

    questions = [item.question for item in load_jsonl(ROOT / "eval" / "dev.jsonl").items[::25]]

    async def body(session):
        tools = {t.name: t for t in (await session.list_tools()).tools}
        answers = [(await session.call_tool("ask", {"question": q})).structured_content for q in questions]
        reports = (await session.call_tool("list_reports", {})).structured_content
        hits = (await session.call_tool("search", {"query": "城镇新增就业", "k": 3})).structured_content
        targets = (await session.call_tool("commitments", {"kind": "target", "keyword": "地区生产总值"})).structured_content
        unknown = await session.call_tool("ask", {"question": "GDP增长多少", "place": "没有这个地方"})
        return tools, answers, reports, hits, targets, unknown

    tools, answers, reports, hits, targets, unknown = _session_run(settings, body)
    assert set(tools) == {"ask", "search", "list_reports", "commitments"}
    assert all(len(t.description) > 80 and "报告" in t.description for t in tools.values())  # English with the Chinese terms
    for question, got in zip(questions, answers, strict=True):
        expected = api.post("/api/ask", json={"question": question}).json()
        assert got["answer"] == expected["answer"] and got["found"] == expected["found"], question
        assert got["citations"] == expected["citations"], question
    assert [r["id"] for r in reports["reports"]] == [d.id for d in pipeline.store.documents]
    assert len(hits["hits"]) == 3 and all(h["text"] for h in hits["hits"])
    assert targets["total"] >= 1 and all(i["kind"] == "target" for i in targets["items"])
    assert unknown.is_error and "没有这个地方" in unknown.content[0].text
