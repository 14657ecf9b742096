"""The commitments tracker: every target and achievement, filterable, as JSON or a CSV download."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Response

from rag.answer.selection import UnknownReport
from rag.api.deps import CommitmentsDep, PipelineDep, ReportIdsDep
from rag.api.errors import ApiError
from rag.api.schemas import CommitmentOut, CommitmentRecord, PromiseOut, PromiseStatus
from rag.commitments.labels import PROMISE_LABELS
from rag.commitments.ledger import LedgerBuilder, chart_points, chart_summary, ledger_csv, render_chart
from rag.commitments.record import Commitment
from rag.commitments.render import filter_commitments, to_csv_bytes

router = APIRouter(prefix="/api", tags=["commitments"])

KINDS = ("target", "achievement")


def _record(c: Commitment) -> dict:
    return {**c.to_dict(), "figure": c.figure}


@router.get(
    "/commitments",
    response_model=list[CommitmentOut],
    summary="承诺清单 / Targets and achievements",
    responses={200: {"content": {"text/csv": {}},
                     "description": "JSON 列表；format=csv 时为带 BOM 的 CSV 下载 / "
                                    "a JSON list, or a CSV download (UTF-8 BOM)"}},
)
def commitments(
    items: CommitmentsDep,
    docs: ReportIdsDep,
    q: str | None = Query(None, description="按指标/原文/章节筛选 / filter on metric, clause or section path"),
    kind: str | None = Query(None, description="target（目标）或 achievement（成绩）"),
    section: str | None = Query(None, description="章节编号前缀，如 2.2 或 doc:2.2 / section id prefix"),
    promise: Annotated[PromiseStatus | None, Query(
        description="兑现情况：met（已完成）、missed（未完成）、not_reported（未报告） / "
                    "a target's fate in the next year's report")] = None,
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
    return PromiseOut.model_validate({  # the tracker's status, checked against the schema's three
        "status": c.promise, "label": PROMISE_LABELS[c.promise], "outcome": outcome,
        "outcome_doc": outcome.split(":", 1)[0] if outcome else None, "outcome_figure": c.outcome_figure or "",
        "rule": c.promise_rule or ""})


def _place(pipeline, region: str | None) -> str:
    """The catalogue's name for a place the user wrote («江西» → 江西省); 404 when no report covers it."""
    reports = pipeline.selector.reports
    region = (region or "").strip()
    if not region:
        places = LedgerBuilder().places(reports)
        if not places:
            raise ApiError(404, "unknown_report", "没有任何报告 / No reports")
        return places[0]
    try:
        ids = pipeline.selector.resolve(None, region, None)
    except UnknownReport as exc:
        raise ApiError(404, "unknown_report", str(exc)) from None
    names = [reports[i].region for i in ids or () if reports[i].region]
    if not names:
        raise ApiError(404, "unknown_report", f"没有“{region}”的报告 / No report of {region}")
    return names[0]


@router.get("/commitments/ledger", response_model=None, summary="各年承诺台账 / A place's targets, year by year",
            responses={200: {"content": {"text/csv": {}}}})
def ledger(
    pipeline: PipelineDep,
    region: str | None = Query(None, description="地区，如 江城；缺省为报告年份最多的地区 / "
                                                 "place (default: the one with most years)"),
    promise: Annotated[PromiseStatus | None,
                       Query(description="只看有此兑现情况的指标 / rows with this status")] = None,
    format: Literal["json", "csv"] = Query("json"),
    lang: Literal["zh", "en"] = Query("zh"),
) -> Response | dict:
    """Every year's quantified targets of one place with their fate in the next report: one row
    per metric, the years side by side, each status with its rule."""
    place = _place(pipeline, region)
    built = LedgerBuilder().build(pipeline.commitments.items, pipeline.selector.reports, place, promise)
    if format == "csv":
        return Response(ledger_csv(built, lang), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="ledger.csv"'})
    return {**built.to_dict(), "places": LedgerBuilder().places(pipeline.selector.reports)}


@router.get("/commitments/chart.{fmt}", summary="一个指标的目标与实际图 / One metric: target against outcome",
            responses={200: {"content": {"image/svg+xml": {}, "image/png": {}}}})
def chart(
    pipeline: PipelineDep,
    fmt: Literal["svg", "png"],
    metric: str = Query("地区生产总值", min_length=1, max_length=40, description="指标，如 地区生产总值 / metric"),
    region: str | None = Query(None, description="只画这一地区的各年 / one place's years (default: every place)"),
) -> Response:
    """For each place (or each year of ``region``) with both years loaded, the target and the
    outcome; in SVG each bar links to its citation."""
    place = _place(pipeline, region) if region else None
    points = chart_points(pipeline.commitments.items, pipeline.selector.reports, metric, place)
    if not points:
        raise ApiError(404, "no_data", f"没有可对照的“{metric}”目标与实际 / No judged target for {metric}")
    media = "image/svg+xml" if fmt == "svg" else "image/png"
    return Response(render_chart(points, metric, fmt), media_type=media,
                    headers={"X-Chart-Summary": quote(chart_summary(points, metric))})
