"""The commitments table as people read it: filtered, labelled, and written as a terminal
table, CSV (for spreadsheets), JSON or Markdown.

The CSV's first columns are the page's table, same names, same order, same text; JSON and the API
keep the record's field names and codes.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Collection, Mapping
from functools import cache
from typing import cast

from rag.commitments.labels import KIND_LABELS, promise_label
from rag.commitments.record import Commitment
from rag.genre.lexicon import Lexicon
from rag.genre.text import NUMBER


def paired_text(c: Commitment, by_id: Mapping[str, Commitment]) -> str:
    """The paired record as shown beside this one: ``过去五年：33.16万人``, ``2023年目标：6万人以上``."""
    p = by_id.get(c.paired_with or "")
    if p is None or not p.figure:
        return ""
    return f"{p.horizon_label}{KIND_LABELS['target'] if p.kind == 'target' else ''}：{p.figure}"


def filter_commitments(items: list[Commitment], *, q: str | None = None, kind: str | None = None,
                       section: str | None = None, documents: Collection[str] | None = None,
                       promise: str | None = None) -> list[Commitment]:
    """``q`` matches metric, clause or section path; ``section`` is an id prefix (``2.2`` → 2.2.x);
    ``documents`` keeps those reports' records; ``promise`` targets with that fate."""
    out = []
    for c in items:
        if kind and c.kind != kind:
            continue
        if (documents is not None and c.doc not in documents) or (promise and c.promise != promise):
            continue
        if section:
            sid = section.split(":", 1)[1] if ":" in section else section
            doc_ok = ":" not in section or section.split(":", 1)[0] == c.doc
            if not doc_ok or not (c.section_id == sid or c.section_id.startswith(sid + ".")):
                continue
        if q:
            needle = q.lower()
            if not any(needle in (f or "").lower() for f in (c.metric, c.clause, c.section_path)):
                continue
        out.append(c)
    return out


#: The CSV: first the table's own columns, same names, same order, same text (数值 is the figure as
#: shown, «6万人以上»), then what a spreadsheet needs besides, under names of their own (数字 is the
#: bare number, 单位 its unit). JSON and the API keep the record's field names.
TABLE_FIELDS = ["kind", "metric", "figure", "paired", "promise", "horizon", "clause", "section_path"]
EXTRA_FIELDS = ["promise_rule", "outcome_figure", "doc", "id", "section_id", "start", "end", "value", "unit",
                "qualifier", "main_target", "paired_with", "outcome_with"]
CSV_COLUMNS = TABLE_FIELDS + EXTRA_FIELDS


@cache
def _horizons_en() -> dict[str, str]:
    """Periods in English («过去五年» → «Past five years», «今年» → «This year»), as English answers frame them."""
    lexicon = Lexicon.default()
    english = lexicon.table("english")
    return {**english["review"], lexicon.plan_default: english["plan_default"]}


def horizon_text(c: Commitment, lang: str = "zh") -> str:
    """``2023年`` / ``过去五年`` in Chinese; ``2023`` / ``Past five years`` in English (a period with no
    English name stays as the report writes it)."""
    if lang != "en":
        return c.horizon_label
    return c.horizon if c.horizon.isdigit() else _horizons_en().get(c.horizon, c.horizon)


def promise_text(c: Commitment, lang: str = "zh") -> str:
    """``未完成（实际5.8%）`` (``Missed (outcome 5.8%)``); "" for records no next report judges."""
    if not c.promise:
        return ""
    label = promise_label(c.promise, lang)
    if lang == "en":
        return f"{label} (outcome {c.outcome_figure})" if c.outcome_figure else label
    return f"{label}（实际{c.outcome_figure}）" if c.outcome_figure else label


#: CSV headers: the table's names (``ui/render.py`` col_*, checked by a test), then the rest.
CSV_HEADERS: dict[str, dict[str, str]] = {
    "zh": {"kind": "类型", "metric": "指标", "figure": "数值", "paired": "对照（五年 / 今年）", "promise": "兑现情况",
           "horizon": "期限", "clause": "原文", "section_path": "章节", "promise_rule": "兑现依据",
           "outcome_figure": "实际", "doc": "报告", "id": "编号", "section_id": "章节编号", "start": "起点",
           "end": "终点", "value": "数字", "unit": "单位", "qualifier": "限定", "main_target": "主要目标",
           "paired_with": "对照编号", "outcome_with": "实际编号"},
    "en": {"kind": "Kind", "metric": "Metric", "figure": "Figure", "paired": "Compare (5 years / this year)",
           "promise": "Kept?", "horizon": "Horizon", "clause": "Clause", "section_path": "Section",
           "promise_rule": "Rule", "outcome_figure": "Outcome", "doc": "Report", "id": "ID",
           "section_id": "Section no.", "start": "Start", "end": "End", "value": "Number", "unit": "Unit",
           "qualifier": "Qualifier", "main_target": "Main target", "paired_with": "Compared ID",
           "outcome_with": "Outcome ID"},
}
#: how the CSV writes the coded values in each language
_CSV_VALUES: dict[str, dict[object, str]] = {
    "zh": {**cast("dict[object, str]", KIND_LABELS), True: "是", False: "否"},
    "en": {"target": "target", "achievement": "achievement", True: "yes", False: "no"},
}


def csv_headers(lang: str = "zh") -> list[str]:
    names = CSV_HEADERS.get(lang, CSV_HEADERS["zh"])
    return [names.get(k, k) for k in CSV_COLUMNS]


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, w: int) -> str:
    return s + " " * (w - _width(s))


def _cut(s: str, w: int) -> str:
    out, n = "", 0
    for ch in s:
        cw = _width(ch)
        if n + cw > w - 1:
            return out + "…"
        out, n = out + ch, n + cw
    return out


#: the terminal table's and Markdown's columns: the page's, by their CSV names in each language
_SHORT_FIELDS = ["kind", "metric", "figure", "paired", "promise", "horizon", "section_id", "clause"]


def _short_row(c: Commitment, by_id: Mapping[str, Commitment], lang: str, width: bool) -> list[str]:
    values = _CSV_VALUES.get(lang, _CSV_VALUES["zh"])
    return [values[c.kind], _cut(c.metric, 24) if width else c.metric, c.figure or "—", paired_text(c, by_id),
            promise_text(c, lang), horizon_text(c, lang), c.section_id, _cut(c.clause, 40) if width else c.clause]


def _table(items: list[Commitment], lang: str = "zh", by_id: Mapping[str, Commitment] | None = None) -> str:
    names = CSV_HEADERS.get(lang, CSV_HEADERS["zh"])
    head = [names[k] for k in _SHORT_FIELDS]
    by_id = by_id if by_id is not None else {c.id: c for c in items}
    rows = [_short_row(c, by_id, lang, True) for c in items]
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(_pad(v, w) for v, w in zip(r, widths, strict=True)).rstrip() for r in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"({len(items)} 条 / rows)")
    return "\n".join(lines) + "\n"


#: A cell starting with one of these is a formula (or a DDE call) to Excel and LibreOffice; a
#: report's Markdown bullet «- 就业…» would be one. Plain numbers («-0.5») are left as they are.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """The cell as text a spreadsheet shows but never evaluates: a leading ``'`` when needed."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) and not _plain_number(text) else text


def _plain_number(text: str) -> bool:
    """«-0.5», «+3»: a signed number a spreadsheet may read as one."""
    return NUMBER.fullmatch(text[1:] if text[:1] in "+-" else text) is not None


def csv_row(c: Commitment, by_id: Mapping[str, Commitment], lang: str = "zh") -> list[object]:
    """One CSV row in ``CSV_COLUMNS`` order: the table's cells as the page shows them, then the rest."""
    values = _CSV_VALUES.get(lang, _CSV_VALUES["zh"])
    shown = {"figure": c.figure or "—", "paired": paired_text(c, by_id), "promise": promise_text(c, lang),
             "horizon": horizon_text(c, lang)}
    d = c.to_dict()
    return [shown[k] if k in shown else values.get(d[k], d[k]) if k in ("kind", "main_target") else d[k]
            for k in CSV_COLUMNS]


def _csv(items: list[Commitment], lang: str = "zh", by_id: Mapping[str, Commitment] | None = None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(csv_headers(lang))
    by_id = by_id if by_id is not None else {c.id: c for c in items}
    for c in items:
        w.writerow([csv_cell(v) for v in csv_row(c, by_id, lang)])
    return buf.getvalue()


def _md(items: list[Commitment], lang: str = "zh", by_id: Mapping[str, Commitment] | None = None) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    names = CSV_HEADERS.get(lang, CSV_HEADERS["zh"])
    by_id = by_id if by_id is not None else {c.id: c for c in items}
    lines = ["| " + " | ".join(names[k] for k in _SHORT_FIELDS) + " |", "|" + "---|" * len(_SHORT_FIELDS)]
    for c in items:
        lines.append("| " + " | ".join(esc(v) for v in _short_row(c, by_id, lang, False)) + " |")
    return "\n".join(lines) + "\n"


def render(items: list[Commitment], fmt: str, lang: str = "zh",
           by_id: Mapping[str, Commitment] | None = None) -> str:
    """``table`` (aligned terminal text), ``csv`` (headers in ``lang``), ``json`` or ``md``."""
    if fmt == "table":
        return _table(items, lang, by_id)
    if fmt == "csv":
        return _csv(items, lang, by_id)
    if fmt == "json":
        return json.dumps([c.to_dict() for c in items], ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return _md(items, lang, by_id)
    raise ValueError(f"未知格式 {fmt!r}（可选 table/csv/json/md） / Unknown format {fmt!r} (table, csv, json, md)")


def to_csv_bytes(items: list[Commitment], lang: str = "zh", by_id: Mapping[str, Commitment] | None = None) -> bytes:
    """CSV with a UTF-8 BOM so spreadsheet programs read the Chinese text correctly; ``by_id``
    (every record) names the paired records that the filter left out."""
    return b"\xef\xbb\xbf" + _csv(items, lang, by_id).encode("utf-8")
