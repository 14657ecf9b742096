"""The 「承诺清单」 tab: every target of the plan part beside its five-year record (and each
achievement beside this year's target), searchable and filterable, downloadable as CSV, and
each row opening its section of the report with the clause highlighted.

The table is our own escaped HTML (``table_html``), not a data grid: on a phone every row
becomes a card whose cells keep the full width, internal ids never reach the page (a row is
known by its position in the filtered list the server keeps), and a row click scrolls to and
focuses its source. ``build_commitments_tab`` runs inside the page's ``gr.Blocks`` (inside its
``gr.Tabs``); the records are those the pipeline extracted when it loaded
(``pipeline.commitments.items``), so the tab, the API and the chat show the same list.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from html import escape
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr

from rag.commitments.labels import KIND_LABELS, PROMISE_LABELS
from rag.commitments.ledger import LedgerBuilder, chart_points, chart_summary, render_chart
from rag.commitments.record import Commitment
from rag.commitments.render import filter_commitments, horizon_text, promise_text, to_csv_bytes
from rag.pipeline import Pipeline
from ui.assets import script
from ui.files import write_private
from ui.render import source_html, t

KINDS: dict[str, str | None] = {"全部": None, **{label: code for code, label in KIND_LABELS.items()}}
_KIND_KEYS = {"全部": "kind_all", **{label: f"kind_{code}" for code, label in KIND_LABELS.items()}}
#: 兑现情况 filter: a target's fate in the same place's next report (label → code)
PROMISES: dict[str, str | None] = {"全部": None, **{label: code for code, label in PROMISE_LABELS.items()}}
_PROMISE_KEYS = {"全部": "kind_all", **{label: f"promise_{code}" for code, label in PROMISE_LABELS.items()}}
ALL_SECTIONS = ""
ALL_REPORTS = ""
#: the table's columns (interface-text keys); the CSV has the same Chinese headers
COLUMN_KEYS = ["col_kind", "col_metric", "col_figure", "col_paired", "col_promise", "col_horizon", "col_clause",
               "col_section"]
COLUMNS = [t("zh", k) for k in COLUMN_KEYS]
_BY_NUMBER = {"col_figure", "col_paired", "col_horizon"}  # sorted by their figure, not as text
_OPTIONAL = {"col_promise"}  # left out when no shown record has one (a single report: no next year to judge)

TABLE_JS = script("table")
VIEWER_JS = script("viewer")


def _notice(text: str) -> str:
    return f'<div class="rag-source-panel" tabindex="-1"><p class="rag-muted">{escape(text)}</p></div>'


def _pipeline(get_pipeline: Callable[[], Pipeline | None]) -> Pipeline:
    pipeline = get_pipeline()
    if pipeline is None:
        raise gr.Error("报告仍在加载，请稍候再试。 / The reports are still loading, please try again shortly.")
    return pipeline


def section_choices(pipeline: Pipeline, lang: str = "zh") -> list[tuple[str, str]]:
    """Sections holding at least one record, with their ancestors, as ``doc:section`` prefixes."""
    used = {(c.doc, c.section_id) for c in pipeline.commitments.items}
    several = len(pipeline.store.documents) > 1
    choices = [(t(lang, "all_sections"), ALL_SECTIONS)]
    for doc in pipeline.store.documents:
        for s in doc.sections:
            if any(d == doc.id and (sid == s.id or sid.startswith(s.id + ".")) for d, sid in used):
                label = f"{s.title}" + (f" · {doc.title}" if several else "")
                choices.append((label, f"{doc.id}:{s.id}"))
    return choices


def kind_choices(lang: str) -> list[tuple[str, str]]:
    return [(t(lang, _KIND_KEYS[k]), k) for k in KINDS]


def promise_choices(lang: str) -> list[tuple[str, str]]:
    return [(t(lang, _PROMISE_KEYS[k]), k) for k in PROMISES]


def report_choices(pipeline: Pipeline, lang: str = "zh") -> list[tuple[str, str]]:
    return [(t(lang, "all_reports"), ALL_REPORTS),
            *((pipeline.selector.label(d.id), d.id) for d in pipeline.store.documents)]


def table_rows(pipeline: Pipeline, items: list[Commitment], lang: str = "zh") -> list[list[str]]:
    """One row per record, in ``COLUMNS`` order; no internal id is shown."""
    return [
        [t(lang, "kind_target") if c.kind == "target" else t(lang, "kind_achievement"), c.metric, c.figure or "—",
         pipeline.commitments.paired_text(c), promise_text(c, lang), horizon_text(c, lang),
         c.clause, c.section_path]
        for c in items
    ]


def _head_cell(k: int, label: str, hint: str) -> str:
    """A column header whose name is a button that sorts the rows (``TABLE_JS``)."""
    by = ' data-sort="number"' if COLUMN_KEYS[k] in _BY_NUMBER else ""
    return (f'<th scope="col" class="rag-c{k}"{by}><button type="button" class="rag-sort" title="{escape(hint)}">'
            f'{escape(label)}</button></th>')


def table_html(rows: list[list[str]], lang: str) -> str:
    """A real table (caption, sortable column headers) whose rows are focusable and open their source;
    ``data-label`` names each cell for the phone's card layout."""
    keep = [i for i in range(len(COLUMN_KEYS)) if any(row[i] for row in rows) or COLUMN_KEYS[i] not in _OPTIONAL]
    rows = [[row[i] for i in keep] for row in rows]
    heads = [t(lang, COLUMN_KEYS[i]) for i in keep]
    head = "".join(_head_cell(k, h, t(lang, "sort_by")) for k, h in zip(keep, heads, strict=True))
    body = "".join(
        f'<tr data-row="{r}" tabindex="0" aria-label="{escape(t(lang, "open_row"))}：{escape(row[1])}">'
        + "".join(f'<td class="rag-c{k}" data-label="{escape(h)}"><div class="rag-cell">{escape(v)}</div></td>'
                  for k, h, v in zip(keep, heads, row, strict=True)) + "</tr>"
        for r, row in enumerate(rows))
    caption = escape(t(lang, "table_caption").format(n=len(rows)))
    if not rows:  # issue 25 #18: an empty search says so, and how to widen it
        body = f'<tr><td colspan="{len(keep)}" class="rag-empty" role="status">{escape(t(lang, "no_match"))}</td></tr>'
    return (f'<div class="rag-ctable-wrap" tabindex="0" role="region" aria-label="{caption}">'
            f'<table class="rag-ctable"><caption>{caption}</caption><thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table></div>')


def ledger_html(pipeline: Pipeline, place: str, lang: str = "zh") -> str:
    """One place's targets, one row per metric, a column per year: figure, then status with its rule."""
    if not place:
        return ""
    built = LedgerBuilder().build(pipeline.commitments.items, pipeline.selector.reports, place)
    if not built.rows:
        return _notice(t(lang, "ledger_empty"))
    caption = escape(t(lang, "ledger_caption").format(place=place, n=len(built.rows)))
    head = f'<th scope="col">{escape(t(lang, "ledger_metric"))}</th>' + "".join(
        f'<th scope="col">{y}</th>' for y in built.years)

    def cell(row, y: int) -> str:
        c = row.cells.get(y)
        if c is None:
            return "<td></td>"
        status, rule_text = promise_text(c.record, lang), c.record.promise_rule or ""
        rule = f'<div class="rag-muted">{escape(rule_text)}</div>' if rule_text else ""
        return (f'<td data-status="{escape(c.record.promise or "")}"><div class="rag-cell">{escape(c.record.figure)}'
                f'{"：" + escape(status) if status else ""}</div>{rule}</td>')

    body = "".join(f'<tr><th scope="row">{escape(r.metric)}</th>{"".join(cell(r, y) for y in built.years)}</tr>'
                   for r in built.rows)
    return (f'<div class="rag-ctable-wrap" tabindex="0" role="region" aria-label="{caption}">'
            f'<table class="rag-ctable rag-ledger"><caption>{caption}</caption><thead><tr>{head}</tr></thead>'
            f'<tbody>{body}</tbody></table></div>')


def chart_html(pipeline: Pipeline, place: str, metric: str = "地区生产总值") -> str:
    """The metric's target against outcome for the place's years (every place when it has only one
    judged year), as an image whose alternative text states every figure and status."""
    points = chart_points(pipeline.commitments.items, pipeline.selector.reports, metric, place or None)
    if len(points) < 2 and place:
        points = chart_points(pipeline.commitments.items, pipeline.selector.reports, metric)
    if not points:
        return ""
    data = base64.b64encode(render_chart(points, metric, "svg")).decode()
    summary = escape(chart_summary(points, metric))
    return (f'<figure class="rag-chart"><img src="data:image/svg+xml;base64,{data}" alt="{escape(metric)}">'
            f'<figcaption class="rag-muted">{summary}</figcaption></figure>')


def csv_file(items: list[Commitment], directory: Path, lang: str = "zh",
             by_id: dict[str, Commitment] | None = None) -> str:
    """The rows as a CSV with a BOM in the page's private ``directory``; named by content, so
    repeated filters reuse one file (``ui.files.write_private``: atomic, never through a symlink)."""
    data = to_csv_bytes(items, lang, by_id)
    name = "承诺清单.csv" if lang == "zh" else "commitments.csv"
    return str(write_private(directory, hashlib.sha1(data).hexdigest()[:16], name, data))


def filtered(pipeline: Pipeline, q: str | None, kind: str | None, section: str | None,
             report: str | None = None, promise: str | None = None) -> list[Commitment]:
    """The tab's filters; every value comes from the browser, so unknown ones filter nothing."""
    documents = (report,) if isinstance(report, str) and pipeline.store.document(report) is not None else None
    return filter_commitments(pipeline.commitments.items, q=(q or "").strip() or None,
                              kind=KINDS.get(kind or "全部"), section=section or None,
                              documents=documents, promise=PROMISES.get(promise or "全部"))


def source_of(pipeline: Pipeline, commitment_id: str, row: int, lang: str) -> str:
    """The record's section in full, its clause marked (the page's own source viewer); the id
    comes from the server's list of shown rows, an unknown one gets a notice."""
    c = next((c for c in pipeline.commitments.items if c.id == commitment_id), None)
    doc = pipeline.store.document(c.doc) if c else None
    section = doc.section(c.section_id) if doc and c else None
    if c is None or doc is None or section is None:
        return _notice(t(lang, "gone"))
    return source_html(doc, section, c.start, c.end, None, lang, owner=f"{c.metric} {c.figure}".strip(),
                       back="table")


class _TabHandlers:
    """The tab's events; ``shown`` (a ``gr.State``) keeps the ids of the rows on screen, in order."""

    def __init__(self, get_pipeline: Callable[[], Pipeline | None], download_dir: Path) -> None:
        self.get_pipeline = get_pipeline
        self.download_dir = download_dir

    def refresh(self, q: str, kind: str, section: str, report: str, promise: str, lang: str) -> tuple[Any, ...]:
        p = _pipeline(self.get_pipeline)
        items = filtered(p, q, kind, section, report, promise)
        by_id = {c.id: c for c in p.commitments.items}
        download = gr.DownloadButton(value=csv_file(items, self.download_dir, lang, by_id),
                                     label=t(lang, "download").format(n=len(items)))
        return table_html(table_rows(p, items, lang), lang), [c.id for c in items], download

    def load(self, lang: str) -> tuple[Any, ...]:
        p = _pipeline(self.get_pipeline)
        return (gr.Dropdown(choices=section_choices(p, lang), value=ALL_SECTIONS),
                gr.Dropdown(choices=report_choices(p, lang), value=ALL_REPORTS, visible=len(p.store.documents) > 1),
                gr.Radio(visible=any(c.promise for c in p.commitments.items)),
                *self.refresh("", "全部", ALL_SECTIONS, ALL_REPORTS, "全部", lang))

    def places(self) -> list[str]:
        p = _pipeline(self.get_pipeline)
        return LedgerBuilder().places(p.selector.reports)

    def show_ledger(self, place: str, lang: str) -> tuple[str, str]:
        p = _pipeline(self.get_pipeline)
        place = place if place in self.places() else ""
        return ledger_html(p, place, lang), chart_html(p, place)

    def load_ledger(self, lang: str) -> tuple[Any, ...]:
        """The place picker, on the place with most years, its ledger and chart; hidden without
        a place that has two years (nothing to judge)."""
        p = _pipeline(self.get_pipeline)
        places = self.places()
        several = any(c.promise for c in p.commitments.items)
        first = places[0] if places and several else ""
        return (gr.Dropdown(choices=places, value=first or None, visible=several, label=t(lang, "ledger_place")),
                *self.show_ledger(first, lang))

    def open_row(self, shown: list[str], lang: str, evt: gr.EventData) -> str:
        data = getattr(evt, "_data", None) or {}
        try:  # the row number comes from the browser
            row = int(data["row"])
            commitment_id = shown[row] if 0 <= row < len(shown or []) else ""
        except (KeyError, TypeError, ValueError, OverflowError):
            return _notice(t(lang, "gone"))
        return source_of(_pipeline(self.get_pipeline), commitment_id, row + 1, lang)

    def relabel(self, q: str, kind: str, section: str, report: str, promise: str, lang: str) -> tuple[Any, ...]:
        """Every label of the tab in ``lang`` (the English switch), the table re-rendered."""
        p = _pipeline(self.get_pipeline)
        return (gr.update(label=t(lang, "tab_commitments")),
                gr.update(label=t(lang, "search"), placeholder=t(lang, "search_hint")),
                gr.update(label=t(lang, "kind"), choices=kind_choices(lang)),
                gr.update(label=t(lang, "section"), choices=section_choices(p, lang)),
                gr.update(label=t(lang, "report"), choices=report_choices(p, lang)),
                gr.update(label=t(lang, "col_promise"), choices=promise_choices(lang)),
                _notice(t(lang, "row_hint")), *self.refresh(q, kind, section, report, promise, lang))


def build_commitments_tab(get_pipeline: Callable[[], Pipeline | None], lang: str = "zh", *,
                          download_dir: Path, lang_state: gr.State | None = None) -> SimpleNamespace:
    """Creates the tab and its events inside the current ``gr.Blocks`` context; CSV downloads
    are written to ``download_dir`` (private to the process, see ``ui.files``). The returned
    namespace has ``tab`` and, for the English switch, ``relabel`` with its inputs and outputs."""
    h = _TabHandlers(get_pipeline, download_dir)
    lang_state = lang_state if lang_state is not None else gr.State(lang)
    c = SimpleNamespace()
    with gr.Tab(t(lang, "tab_commitments"), id="commitments", elem_id="rag-commitments-tab") as c.tab:
        with gr.Row():
            c.search = gr.Textbox(label=t(lang, "search"), placeholder=t(lang, "search_hint"), scale=3,
                                  elem_id="rag-commitments-search")
            c.kind = gr.Radio(kind_choices(lang), value="全部", label=t(lang, "kind"), scale=2)
            c.section = gr.Dropdown([(t(lang, "all_sections"), ALL_SECTIONS)], value=ALL_SECTIONS,
                                    label=t(lang, "section"), scale=3)
        with gr.Row():
            c.report = gr.Dropdown([(t(lang, "all_reports"), ALL_REPORTS)], value=ALL_REPORTS, label=t(lang, "report"),
                                   scale=3, visible=False, elem_id="rag-commitments-report")
            c.promise = gr.Radio(promise_choices(lang), value="全部", label=t(lang, "col_promise"), scale=3,
                                 visible=False, elem_id="rag-commitments-promise")
        c.download = gr.DownloadButton(t(lang, "download").format(n=0), variant="secondary", size="sm")
        c.shown = gr.State([])
        c.table = gr.HTML("", elem_id="rag-commitments", js_on_load=TABLE_JS)
        c.viewer = gr.HTML(_notice(t(lang, "row_hint")), elem_id="rag-commitment-source", js_on_load=VIEWER_JS)
        gr.on(None, h.load, inputs=[lang_state], outputs=[c.section, c.report, c.promise, c.table, c.shown, c.download])
        filters = [c.search, c.kind, c.section, c.report, c.promise]
        gr.on([f.change for f in filters], h.refresh, inputs=[*filters, lang_state],
              outputs=[c.table, c.shown, c.download], show_progress="hidden")
        c.table.click(h.open_row, inputs=[c.shown, lang_state], outputs=c.viewer, show_progress="hidden")
        c.place = gr.Dropdown([], label=t(lang, "ledger_place"), visible=False, elem_id="rag-ledger-place")
        c.ledger = gr.HTML("", elem_id="rag-ledger")
        c.chart = gr.HTML("", elem_id="rag-ledger-chart")
        gr.on(None, h.load_ledger, inputs=[lang_state], outputs=[c.place, c.ledger, c.chart])
        c.place.change(h.show_ledger, inputs=[c.place, lang_state], outputs=[c.ledger, c.chart],
                       show_progress="hidden")
    c.relabel = h.relabel
    c.relabel_inputs = filters
    c.relabel_outputs = [c.tab, c.search, c.kind, c.section, c.report, c.promise, c.viewer, c.table, c.shown,
                         c.download]
    return c
