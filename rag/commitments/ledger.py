"""The promise ledger of a place: every year's targets with their fate, one row per metric, the
years side by side; and one metric across places or years as a chart (target against outcome).

Staff ask «what did we promise, year after year, and did we deliver?». The tracker
(``rag.commitments.promises``) judges each target against the next report; this module lays the judged
targets of one place out as a table a reader scans across years, and draws one metric. Rows are
joined across years like with like only: the same unit, a change with a change, and metrics that
the tracker itself would call the same indicator.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from rag.commitments.labels import PROMISE_LABELS
from rag.commitments.promises import PromiseTracker
from rag.commitments.record import Commitment
from rag.core.types import Report
from rag.genre.paraphrase import similarity

#: metrics of two years join one ledger row at this likeness (bigram similarity, with or without verbs)
ROW_SIMILARITY = 0.6


@dataclass(frozen=True, slots=True)
class LedgerCell:
    """One year of a ledger row: that year's target record, which carries the tracker's verdict
    (``promise``: met | missed | not_reported, None when no next report judges it; ``promise_rule``;
    ``outcome_with``; ``outcome_figure``)."""

    year: int
    record: Commitment

    def to_dict(self) -> dict[str, Any]:
        """The cell as the API gives it: the target's id, figure and fate, and where its outcome is."""
        c = self.record
        return {"year": self.year, "doc": c.doc, "target": c.id, "figure": c.figure, "status": c.promise,
                "rule": c.promise_rule or "", "outcome": c.outcome_with,
                "outcome_doc": (c.outcome_with or "").rsplit(":", 2)[0] or None, "outcome_figure": c.outcome_figure}


@dataclass(slots=True)
class LedgerRow:
    metric: str
    main_target: bool
    cells: dict[int, LedgerCell] = field(default_factory=dict)
    unit: str = ""
    change: bool = False

    def to_dict(self) -> dict:
        return {"metric": self.metric, "main_target": self.main_target,
                "cells": {str(y): c.to_dict() for y, c in sorted(self.cells.items())}}


@dataclass(slots=True)
class Ledger:
    region: str
    years: list[int]
    rows: list[LedgerRow]

    def to_dict(self) -> dict:
        return {"region": self.region, "years": self.years, "rows": [r.to_dict() for r in self.rows]}


class LedgerBuilder:
    """Lays the tracker's judged targets out per place; reads like-ness through the tracker."""

    def __init__(self, tracker: PromiseTracker | None = None) -> None:
        self.tracker = tracker or PromiseTracker()

    def places(self, reports: Mapping[str, Report]) -> list[str]:
        """Places with a report, those with most years first."""
        years: dict[str, set[int]] = {}
        for r in reports.values():
            if r.region and r.year:
                years.setdefault(r.region, set()).add(r.year)
        return sorted(years, key=lambda p: (-len(years[p]), p))

    def build(self, items: Sequence[Commitment], reports: Mapping[str, Report], region: str,
              promise: str | None = None) -> Ledger:
        """Every quantified plan-year target of ``region``'s reports, one row per metric."""
        docs = {d: r for d, r in reports.items() if r.region == region and r.year}
        targets = [c for c in items if c.doc in docs and c.kind == "target" and c.value is not None
                   and self.tracker.amount(c) is not None and not self.tracker.long_range(c)]
        targets.sort(key=lambda c: (not c.main_target, docs[c.doc].year, c.start))
        rows: list[LedgerRow] = []
        for c in targets:
            year, amount = docs[c.doc].year, self.tracker.amount(c)
            if year is None or amount is None:  # both kept above; said again for the type checker
                continue
            row = self._row_for(rows, c, year, amount.unit, amount.change)
            if row is None:
                row = LedgerRow(c.metric, c.main_target, unit=amount.unit, change=amount.change)
                rows.append(row)
            row.cells[year] = LedgerCell(year, c)
        if promise:
            rows = [r for r in rows if any(cell.record.promise == promise for cell in r.cells.values())]
        return Ledger(region, sorted({r.year for r in docs.values() if r.year}), rows)

    def _row_for(self, rows: list[LedgerRow], c: Commitment, year: int, unit: str, change: bool) -> LedgerRow | None:
        best, score = None, ROW_SIMILARITY
        for row in rows:
            if year in row.cells or row.unit != unit or row.change != change:
                continue
            s = max(similarity(row.metric, c.metric),
                    similarity(self.tracker.object_of(row.metric), self.tracker.object_of(c.metric)))
            if s >= score:
                best, score = row, s
        return best


def ledger_csv(ledger: Ledger, lang: str = "zh") -> bytes:
    """The ledger as a spreadsheet: a metric a line, for each year its target, status and rule."""
    buf = io.StringIO()
    w = csv.writer(buf)
    if lang == "en":
        w.writerow(["Metric", *(f"{y} {h}" for y in ledger.years for h in ("target", "status", "rule"))])
    else:
        w.writerow(["指标", *(f"{y}年{h}" for y in ledger.years for h in ("目标", "兑现情况", "依据"))])
    for row in ledger.rows:
        cells = []
        for y in ledger.years:
            c = row.cells.get(y)
            status = c.record.promise or "" if c else ""
            cells += [c.record.figure, PROMISE_LABELS.get(status, "") if lang != "en" else status,
                      c.record.promise_rule or ""] if c else ["", "", ""]
        w.writerow([row.metric, *cells])
    return b"\xef\xbb\xbf" + buf.getvalue().encode("utf-8")


def citation_url(c: Commitment) -> str:
    """Where a record's citation opens: its section in the API, the clause's offsets as fragment."""
    return f"/api/documents/{quote(c.doc, safe='')}/sections/{quote(c.section_id, safe='')}#{c.start}-{c.end}"


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One place-year of a metric: its target and the outcome the next report gave."""

    label: str  # «江西省2024»
    target: Commitment
    outcome: Commitment
    target_value: float
    outcome_value: float
    status: str


def chart_points(items: Sequence[Commitment], reports: Mapping[str, Report], metric: str,
                 region: str | None = None, tracker: PromiseTracker | None = None) -> list[ChartPoint]:
    """The judged targets measuring ``metric`` (one per place and year, a main target first),
    across places or, with ``region``, across that place's years."""
    tracker = tracker or PromiseTracker()
    by_id = {c.id: c for c in items}
    best: dict[tuple[str, int], tuple[tuple, ChartPoint]] = {}
    for t in items:
        r = reports.get(t.doc)
        o = by_id.get(t.outcome_with or "")
        if t.kind != "target" or r is None or not r.year or o is None or (region and r.region != region):
            continue
        fit = similarity(metric, t.metric)
        if not (metric in t.metric or fit >= ROW_SIMILARITY):
            continue
        a, b = tracker.amount(t), tracker.amount(o)
        if a is None or b is None:
            continue
        point = ChartPoint(f"{r.region}{r.year}", t, o, a.value, b.value, t.promise or "")
        rank = (metric in t.metric, t.main_target, fit, -t.start)
        key = (r.region, r.year)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, point)
    return [p for _, (_, p) in sorted(best.items())]


#: fonts tried in order for Chinese labels (PNG); SVG keeps its text as text for the browser
_FONTS = ["Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "Source Han Sans SC", "DejaVu Sans"]
_COLOURS = {"target": "#4a4a4a", "met": "#1b6e3a", "missed": "#b3261e"}


def render_chart(points: Sequence[ChartPoint], metric: str, fmt: str = "svg") -> bytes:
    """Target (grey) against outcome (green when met, red when missed) for each place-year; in SVG
    each mark links to its citation and has a tooltip, so the chart is read, not only seen."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.sans-serif"] = _FONTS
    plt.rcParams["svg.fonttype"] = "none"
    fig, ax = plt.subplots(figsize=(max(4.0, 0.9 * len(points) + 2), 3.6), dpi=110)
    xs = range(len(points))
    for i, p in enumerate(points):
        t = ax.bar(i - 0.2, p.target_value, 0.38, color=_COLOURS["target"])[0]
        o = ax.bar(i + 0.2, p.outcome_value, 0.38, color=_COLOURS.get(p.status, _COLOURS["met"]))[0]
        t.set_url(citation_url(p.target))
        o.set_url(citation_url(p.outcome))
        t.set_gid(f"target-{i}")
        o.set_gid(f"outcome-{i}")
    crowded = len(points) > 6
    ax.set_xticks(list(xs), [p.label for p in points], rotation=30 if crowded else 0,
                  ha="right" if crowded else "center")
    ax.set_title(f"{metric}：目标与实际 / target and outcome")
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color=_COLOURS["target"], label="目标 target"),
                       Patch(color=_COLOURS["met"], label="完成 met"),
                       Patch(color=_COLOURS["missed"], label="未完成 missed")], fontsize="small", loc="best")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    plt.close(fig)
    return buf.getvalue()


def chart_summary(points: Sequence[ChartPoint], metric: str) -> str:
    """The chart in words (its alt text): «江西省2024：目标5%左右，实际5.1%：完成；…»."""
    if not points:
        return f"没有可对照的“{metric}”目标与实际 / no judged target for {metric}"
    return f"{metric}：" + "；".join(f"{p.label}：{p.target.promise_rule or p.target.figure}" for p in points)
