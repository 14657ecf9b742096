"""The 「承诺清单」 tab: every target of the plan part beside its five-year record (and each
achievement beside this year's target), searchable and filterable, downloadable as CSV, and
each row opening its section of the report with the clause highlighted.

The page calls ``build_commitments_tab(get_pipeline)`` inside its ``gr.Blocks`` (inside its
``gr.Tabs`` if it has one). The records are those the pipeline extracted when it loaded
(``pipeline.commitments.items``), so the tab, the API and the chat show the same list.
"""

from __future__ import annotations

import hashlib
from html import escape
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from rag.commitments import PROMISE_LABELS, Commitment, filter_commitments, promise_text, to_csv_bytes
from rag.pipeline import Pipeline
from ui.files import write_private
from ui.render import source_html, t

KINDS: dict[str, str | None] = {"全部": None, "目标": "target", "成绩": "achievement"}
#: 兑现情况 filter: a target's fate in the same place's next report (label → code)
PROMISES: dict[str, str | None] = {"全部": None, **{label: code for code, label in PROMISE_LABELS.items()}}
ALL_SECTIONS = ""
ALL_REPORTS = ""
COLUMNS = ["类型", "指标", "数值", "对照（五年 / 今年）", "兑现情况", "期限", "原文", "章节", "编号"]
_ID_COL = COLUMNS.index("编号")
_HINT = "点击表格中的一行，在这里查看原文并高亮该条。 / Click a row to read its section with the clause highlighted."
_GONE = "该条已不在清单中，请刷新页面。 / This record is no longer listed; please reload the page."


def _notice(text: str) -> str:
    return f'<div class="rag-source-panel"><p class="rag-muted">{escape(text)}</p></div>'


def _pipeline(get_pipeline: Callable[[], Pipeline | None]) -> Pipeline:
    pipeline = get_pipeline()
    if pipeline is None:
        raise gr.Error("报告仍在加载，请稍候再试。 / The reports are still loading, please try again shortly.")
    return pipeline


def section_choices(pipeline: Pipeline) -> list[tuple[str, str]]:
    """Sections holding at least one record, with their ancestors, as ``doc:section`` prefixes."""
    used = {(c.doc, c.section_id) for c in pipeline.commitments.items}
    several = len(pipeline.store.documents) > 1
    choices = [("全部章节 / all sections", ALL_SECTIONS)]
    for doc in pipeline.store.documents:
        for s in doc.sections:
            if any(d == doc.id and (sid == s.id or sid.startswith(s.id + ".")) for d, sid in used):
                label = f"{s.id} {s.title}" + (f" · {doc.title}" if several else "")
                choices.append((label, f"{doc.id}:{s.id}"))
    return choices


def table_rows(pipeline: Pipeline, items: list[Commitment]) -> list[list[str]]:
    return [
        ["目标" if c.kind == "target" else "成绩", c.metric, c.figure or "—", pipeline.commitments.paired_text(c),
         promise_text(c), f"{c.horizon}年" if c.horizon.isdigit() else c.horizon, c.clause,
         f"{c.section_id} {c.section_path}", c.id]
        for c in items
    ]


def csv_file(items: list[Commitment], directory: Path) -> str:
    """The rows as a CSV with a BOM in the page's private ``directory``; named by content, so
    repeated filters reuse one file (``ui.files.write_private``: atomic, never through a symlink)."""
    data = to_csv_bytes(items)
    return str(write_private(directory, hashlib.sha1(data).hexdigest()[:16], "承诺清单.csv", data))


def report_choices(pipeline: Pipeline) -> list[tuple[str, str]]:
    return [("全部报告 / all reports", ALL_REPORTS),
            *((pipeline.scoper.label(d.id), d.id) for d in pipeline.store.documents)]


def filtered(pipeline: Pipeline, q: str | None, kind: str | None, section: str | None,
             report: str | None = None, promise: str | None = None) -> list[Commitment]:
    """The tab's filters; every value comes from the browser, so unknown ones filter nothing."""
    return filter_commitments(pipeline.commitments.items, q=(q or "").strip() or None,
                              kind=KINDS.get(kind or "全部"), section=section or None,
                              documents=(report,) if isinstance(report, str) and pipeline.store.document(report) else None,
                              promise=PROMISES.get(promise or "全部"))


def source_of(pipeline: Pipeline, commitment_id: str, row: int, lang: str) -> str:
    """The record's section in full, its clause marked (the page's own source viewer); the id
    comes from the browser, so an unknown one gets a notice."""
    c = next((c for c in pipeline.commitments.items if c.id == commitment_id), None)
    doc = pipeline.store.document(c.doc) if c else None
    section = doc.section(c.section_id) if doc and c else None
    if section is None:
        return _notice(_GONE)
    return source_html(doc, section, c.start, c.end, row, lang)


def build_commitments_tab(get_pipeline: Callable[[], Pipeline | None], lang: str = "zh", *,
                          download_dir: Path) -> gr.Tab:
    """Creates the tab and its events inside the current ``gr.Blocks`` context; CSV downloads
    are written to ``download_dir`` (private to the process, see ``ui.files``)."""

    def refresh(q: str, kind: str, section: str, report: str = ALL_REPORTS, promise: str = "全部"):
        p = _pipeline(get_pipeline)
        items = filtered(p, q, kind, section, report, promise)
        return table_rows(p, items), gr.DownloadButton(value=csv_file(items, download_dir), label=f"下载 CSV（{len(items)} 条）")

    def load():
        p = _pipeline(get_pipeline)
        return (gr.Dropdown(choices=section_choices(p), value=ALL_SECTIONS),
                gr.Dropdown(choices=report_choices(p), value=ALL_REPORTS, visible=len(p.store.documents) > 1),
                gr.Radio(visible=any(c.promise for c in p.commitments.items)),
                *refresh("", "全部", ALL_SECTIONS))

    def open_row(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        try:  # both come from the browser
            number = int(index or 0) + 1
            commitment_id = str(row[_ID_COL]) if len(row) > _ID_COL else ""
        except (TypeError, ValueError, OverflowError):
            return _notice(_GONE)
        return source_of(_pipeline(get_pipeline), commitment_id, number, lang)

    with gr.Tab(t(lang, "tab_commitments")) as tab:
        with gr.Row():
            search = gr.Textbox(label="搜索 / Search", placeholder="指标、原文或章节，如 就业", scale=3)
            kind = gr.Radio(list(KINDS), value="全部", label="类型 / Kind", scale=2)
            section = gr.Dropdown([("全部章节 / all sections", ALL_SECTIONS)], value=ALL_SECTIONS,
                                  label="章节 / Section", scale=3)
        with gr.Row():
            report = gr.Dropdown([("全部报告 / all reports", ALL_REPORTS)], value=ALL_REPORTS, label="报告 / Report",
                                 scale=3, visible=False, elem_id="rag-commitments-report")
            promise = gr.Radio(list(PROMISES), value="全部", label="兑现情况 / Kept?", scale=3, visible=False,
                               elem_id="rag-commitments-promise")
        download = gr.DownloadButton("下载 CSV", variant="secondary", size="sm")
        table = gr.Dataframe(headers=COLUMNS, datatype="str", interactive=False, wrap=True, max_height=520,
                             column_widths=["6%", "14%", "9%", "12%", "10%", "7%", "22%", "12%", "8%"],
                             label="点击一行查看原文 / Click a row to open it in the report")
        viewer = gr.HTML(_notice(_HINT), elem_id="rag-commitment-source")
        gr.on(None, load, outputs=[section, report, promise, table, download])
        gr.on([search.change, kind.change, section.change, report.change, promise.change], refresh,
              inputs=[search, kind, section, report, promise], outputs=[table, download], show_progress="hidden")
        table.select(open_row, outputs=viewer)
    return tab
