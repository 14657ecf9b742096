"""The commitments tracker: every target and achievement, filterable, as JSON or a CSV download."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Response

from rag.api.deps import CommitmentsDep, ReportIdsDep
from rag.api.schemas import CommitmentOut, CommitmentRecord, PromiseOut
from rag.commitments import PROMISE_LABELS, Commitment, filter_commitments, to_csv_bytes

router = APIRouter(prefix="/api", tags=["commitments"])

KINDS = ("target", "achievement")


def _record(c: Commitment) -> dict:
    return {**c.to_dict(), "figure": c.figure}


@router.get(
    "/commitments",
    response_model=list[CommitmentOut],
    summary="承诺清单 / Targets and achievements",
    responses={200: {"content": {"text/csv": {}},
                     "description": "JSON 列表；format=csv 时为带 BOM 的 CSV 下载 / a JSON list, or a CSV download (UTF-8 BOM)"}},
)
def commitments(
    items: CommitmentsDep,
    docs: ReportIdsDep,
    q: str | None = Query(None, description="按指标/原文/章节筛选 / filter on metric, clause or section path"),
    kind: str | None = Query(None, description="target（目标）或 achievement（成绩）"),
    section: str | None = Query(None, description="章节编号前缀，如 2.2 或 doc:2.2 / section id prefix"),
    promise: Literal["met", "missed", "not_reported"] | None = Query(
        None, description="兑现情况：met（已完成）、missed（未完成）、not_reported（未报告） / a target's fate in the next year's report"),
    format: Literal["json", "csv"] = Query("json", description="json | csv"),
    lang: Literal["zh", "en"] = Query("zh", description="CSV 表头语言 / CSV header language (JSON keeps its keys)"),
) -> list[CommitmentOut] | Response:
    if kind not in (None, "", *KINDS):
        raise HTTPException(422, "未知类型（可选 target/achievement） / Unknown kind (use target or achievement)")
    found = filter_commitments(items, q=q or None, kind=kind or None, section=section or None, documents=docs,
                               promise=promise)
    by_id = {c.id: c for c in items}
    if format == "csv":
        return Response(to_csv_bytes(found, lang, by_id), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="commitments.csv"'})
    return [
        CommitmentOut(**{**_record(c), "promise": _promise(c)},
                      paired=CommitmentRecord(**_record(by_id[c.paired_with])) if c.paired_with in by_id else None)
        for c in found
    ]


def _promise(c: Commitment) -> PromiseOut | None:
    if not c.promise:
        return None
    outcome = c.outcome_with
    return PromiseOut(status=c.promise, label=PROMISE_LABELS[c.promise], outcome=outcome,
                      outcome_doc=outcome.split(":", 1)[0] if outcome else None, outcome_figure=c.outcome_figure or "",
                      rule=c.promise_rule or "")
