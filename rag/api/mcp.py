"""The Model Context Protocol server (``rag mcp``): the product's answers as tools an agent host calls.

Four tools, over the same pipeline as the HTTP API, so an agent gets exactly ``/api/ask``'s answers
and citations. Their descriptions are written for a model choosing among tools: English, with the
Chinese terms it will meet in questions. Standard output is the protocol's channel: nothing else
may print there (progress and logs go to standard error).
"""

from __future__ import annotations

from typing import Any, Literal

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from rag.answer.selection import UnknownReport
from rag.commitments.labels import PROMISE_LABELS
from rag.commitments.render import filter_commitments
from rag.pipeline import Pipeline

INSTRUCTIONS = (
    "Cited question answering over Chinese government work reports (政府工作报告). Answers are one short "
    "sentence with numbered citations quoting the report verbatim; a refusal (found=false) means the reports "
    "do not say. Call list_reports first to see which places (地区) and plan years (年度) are loaded."
)
ASK = (
    "Answer a question about the loaded government work reports (政府工作报告), in Chinese or English, e.g. "
    "«今年GDP增长目标是多少？» or «How many urban jobs were added last year?». Returns a short answer, whether "
    "the reports answer it (found), and citations quoting the report verbatim with report and section. "
    "Optionally restrict to one report (its id from list_reports), a place (地区, e.g. 江西省 or 江西) or a plan "
    "year. Use this for facts, figures, targets (目标) and achievements (成绩)."
)
SEARCH = (
    "Search the reports' sentences (检索报告原文) and return the best-matching passages ranked, with report, section "
    "and character offsets. "
    "Use it to read around a topic or to gather evidence yourself; prefer ask for a direct answer."
)
LIST_REPORTS = (
    "List the loaded reports (报告目录): id, title, place (地区), level (级别: 国务院/省/市/县), plan year (年度) "
    "and delivery date. Use the ids and places with the other tools."
)
COMMITMENTS = (
    "List quantified targets (目标) and achievements (成绩) extracted from the reports (承诺清单), each with its "
    "figure, metric, section and verbatim clause; a target also carries its promise status (兑现情况) from the "
    "same place's next-year report: met (已完成), missed (未完成) or not_reported (未报告). Filter by place, "
    "plan year, report id, kind, status, or a keyword (e.g. 地区生产总值)."
)
MAX_ITEMS = 200


class RagTools:
    """The tools' bodies, apart from the protocol: plain methods over one loaded pipeline."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def scope(self, report: str | None, place: str | None, year: int | None) -> tuple[str, ...] | None:
        try:
            return self.pipeline.selector.resolve([report] if report else None, (place or "").strip() or None, year)
        except UnknownReport as exc:
            raise ToolError(str(exc)) from None

    def ask(self, question: str, report: str | None = None, place: str | None = None,
            year: int | None = None) -> dict[str, Any]:
        question = question.strip()
        if not question:
            raise ToolError("问题不能为空。 / The question is empty.")
        answer = self.pipeline.ask(question[:1000], documents=self.scope(report, place, year))
        payload = answer.to_dict()
        return {k: payload[k] for k in ("answer", "found", "citations", "related_sections")}

    def search(self, query: str, k: int = 10, report: str | None = None, place: str | None = None,
               year: int | None = None) -> dict[str, Any]:
        if not query.strip():
            raise ToolError("查询不能为空。 / The query is empty.")
        hits = self.pipeline.search(query.strip()[:500], max(1, min(k, 50)), documents=self.scope(report, place, year))
        return {"hits": [{"rank": i, "score": round(s.score, 4), "doc": s.unit.doc_id, "section_id": s.unit.section_id,
                          "section_path": " › ".join(s.unit.section_path), "text": s.unit.text,
                          "start": s.unit.start, "end": s.unit.end} for i, s in enumerate(hits, 1)]}

    def list_reports(self) -> dict[str, Any]:
        return {"reports": [{"id": d.id, "title": d.title, "region": d.report.region, "level": d.report.level,
                             "year": d.report.year, "delivered": d.report.delivered}
                            for d in self.pipeline.store.documents]}

    def commitments(self, place: str | None = None, year: int | None = None, report: str | None = None,
                    kind: Literal["target", "achievement"] | None = None,
                    status: Literal["met", "missed", "not_reported"] | None = None,
                    keyword: str | None = None, limit: int = 50) -> dict[str, Any]:
        items = filter_commitments(self.pipeline.commitments.items, q=(keyword or "").strip() or None, kind=kind,
                                   documents=self.scope(report, place, year), promise=status)
        shown = items[: max(1, min(limit, MAX_ITEMS))]
        rows = []
        for c in shown:
            row = {k: v for k, v in c.to_dict().items() if k not in ("paired_value", "paired_unit")}
            row["figure"] = c.figure
            row["promise_label"] = PROMISE_LABELS.get(c.promise or "", None)
            rows.append(row)
        return {"total": len(items), "shown": len(rows), "items": rows}


def build_server(pipeline: Pipeline) -> MCPServer:
    """An MCP server whose tools answer from ``pipeline``."""
    tools = RagTools(pipeline)
    server: MCPServer = MCPServer("gov-report-rag", instructions=INSTRUCTIONS)
    server.tool(name="ask", description=ASK)(tools.ask)
    server.tool(name="search", description=SEARCH)(tools.search)
    server.tool(name="list_reports", description=LIST_REPORTS)(tools.list_reports)
    server.tool(name="commitments", description=COMMITMENTS)(tools.commitments)
    return server
