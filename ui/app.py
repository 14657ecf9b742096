"""The public chat page: Gradio Blocks mounted at ``/`` of the API's FastAPI app, one process.

The conversation is rendered by ``ui.render`` (escaped HTML) rather than ``gr.Chatbot`` so that
citation numbers inside an answer are real buttons that open the cited section."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
from fastapi import FastAPI

from rag.api.errors import DEFAULTS, QUESTION_INVALID, SERVICE_ERRORS
from rag.api.middleware import RateLimiter
from rag.api.schemas import CONTROL_CHARS, MAX_HISTORY, clean_question
from rag.pipeline import Pipeline
from rag.settings import Settings, get_settings
from ui.commitments_tab import build_commitments_tab
from ui.files import private_dir
from ui.render import chat_html, document_html, header_html, source_html, source_notice, t

log = logging.getLogger(__name__)

PipelineGetter = Callable[[], Pipeline]
LANGS = {"中文": "zh", "English": "en"}
#: Uploads are refused before Gradio sees them (``PageGuardMiddleware``); this is its own cap behind that.
MAX_UPLOAD_BYTES = 1024
SHOWN_CHARS = 200  # a refused question is repeated in the chat up to this length
ALL_REPORTS = ""  # the report picker's value for every report

CSS = """
.rag-header h1 { font-size: 1.5rem; margin: 0 0 .2rem; }
.rag-header p { margin: 0; color: var(--body-text-color-subdued); }
.rag-header .rag-in-view { color: var(--body-text-color); font-size: .9em; }
.rag-chat { display: flex; flex-direction: column; gap: .8rem; max-height: 62vh; overflow-y: auto;
  padding: .25rem; }
.rag-turn { display: flex; flex-direction: column; gap: .4rem; }
.rag-q { align-self: flex-end; max-width: 88%; background: var(--color-accent-soft); border-radius: 12px;
  padding: .5rem .8rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.rag-a, .rag-welcome { align-self: flex-start; max-width: 100%; background: var(--background-fill-secondary);
  border: 1px solid var(--border-color-primary); border-radius: 12px; padding: .6rem .8rem; overflow-wrap: anywhere; }
.rag-text { white-space: pre-wrap; line-height: 1.7; }
.rag-error { border-color: var(--error-border-color, #f87171); }
.rag-cite { border: 0; border-radius: 6px; padding: 0 .3rem; margin: 0 .1rem; cursor: pointer; font-size: .8em;
  background: var(--color-accent); color: white; vertical-align: super; line-height: 1.2; }
.rag-sources-label { margin-top: .5rem; font-weight: 600; font-size: .9em; }
.rag-sources { margin: .2rem 0 0; padding: 0; list-style: none; display: flex; flex-direction: column; gap: .3rem; }
.rag-source { width: 100%; text-align: left; cursor: pointer; border: 1px solid var(--border-color-primary);
  border-radius: 8px; padding: .35rem .5rem; background: var(--background-fill-primary); font-size: .9em; }
.rag-source:hover, .rag-cite:hover { filter: brightness(.92); }
.rag-n { font-weight: 700; color: var(--color-accent); }
.rag-path { color: var(--body-text-color-subdued); font-size: .9em; }
.rag-quote { display: block; font-weight: 400; }
.rag-muted { color: var(--body-text-color-subdued); font-size: .9em; }
.rag-spinner { display: inline-flex; align-items: center; gap: .4rem; color: var(--body-text-color-subdued); }
.rag-spin { width: 1em; height: 1em; border: 2px solid currentColor; border-right-color: transparent;
  border-radius: 50%; animation: rag-spin .8s linear infinite; }
@keyframes rag-spin { to { transform: rotate(360deg); } }
.rag-source-panel { max-height: 70vh; overflow-y: auto; }
.rag-source-head { font-weight: 600; margin-bottom: .4rem; }
.rag-section-text { white-space: pre-wrap; line-height: 1.8; overflow-wrap: anywhere; }
mark.rag-mark { background: #ffe066; color: inherit; padding: .1em 0; border-radius: 2px; }
.rag-doc { display: flex; gap: 1rem; align-items: flex-start; }
.rag-toc { flex: 0 0 16rem; max-height: 75vh; overflow-y: auto; position: sticky; top: 0; }
.rag-toc ul { list-style: none; margin: 0; padding: 0; }
.rag-toc button { text-align: left; border: 0; background: none; cursor: pointer; padding: .15rem 0;
  color: var(--link-text-color, var(--color-accent)); }
.rag-toc .rag-lvl2 { padding-left: 1rem; } .rag-toc .rag-lvl3 { padding-left: 2rem; } .rag-toc .rag-lvl4 { padding-left: 3rem; }
.rag-doc-text { flex: 1; min-width: 0; }
#rag-examples { flex-wrap: wrap; gap: .4rem; }
#rag-examples > button { flex: 0 1 auto !important; width: auto !important; min-width: 0 !important; }
@media (max-width: 640px) {
  .rag-header h1 { font-size: 1.2rem; }
  .rag-chat { max-height: none; }
  .rag-doc { flex-direction: column; }
  .rag-toc { position: static; flex-basis: auto; max-height: 40vh; width: 100%; }
}
"""

# Clicks on citation buttons become a Gradio "click" event carrying which citation; the listener
# is on the component root, so it survives every re-render of the conversation.
CHAT_JS = """
element.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-n]');
  if (b) trigger('click', {turn: Number(b.dataset.turn), n: Number(b.dataset.n)});
});
watch('value', () => { const c = element.querySelector('.rag-chat'); if (c) c.scrollTop = c.scrollHeight; });
"""
SOURCE_JS = """
watch('value', () => {
  const m = element.querySelector('mark');
  if (m) m.scrollIntoView({block: 'center', behavior: 'smooth'});
});
"""
DOC_JS = """
element.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-target]');
  const h = b && element.querySelector('#' + CSS.escape(b.dataset.target));
  if (h) h.scrollIntoView({block: 'start', behavior: 'smooth'});
});
"""


def _open_citation(pipeline: Pipeline, turns: list[dict], turn: int, n: int, lang: str) -> str:
    """The section behind citation ``n`` of answer ``turn``; the indices come from the browser, so check them."""
    answer = turns[turn].get("answer") if 0 <= turn < len(turns) else None
    cite = next((c for c in (answer or {}).get("citations", []) if c["n"] == n), None)
    doc = pipeline.store.document(cite["doc"]) if cite else None
    section = doc.section(cite["section_id"]) if doc else None
    if section is None:
        return source_notice(lang, "missing")
    return source_html(doc, section, cite["start"], cite["end"], n, lang)


def _shown(question: object) -> str:
    """A refused question as the chat repeats it: cleaned and cut short, never 200,000 characters."""
    text = CONTROL_CHARS.sub("", question).strip() if isinstance(question, str) else ""
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def report_choices(pipeline: Pipeline, lang: str) -> list[tuple[str, str]]:
    """全部报告, then each report by place and year (its catalogue label)."""
    return [(t(lang, "all_reports"), ALL_REPORTS),
            *((pipeline.scoper.label(d.id), d.id) for d in pipeline.store.documents)]


def picked(pipeline: Pipeline, report: object) -> tuple[str, ...] | None:
    """The picked report as a filter; the value comes from the browser, so an unknown one means all."""
    return (report,) if isinstance(report, str) and pipeline.store.document(report) else None


def in_view(pipeline: Pipeline, report: object) -> list[str]:
    ids = picked(pipeline, report) or [d.id for d in pipeline.store.documents]
    return [pipeline.scoper.label(i) for i in ids]


class _Handlers:
    """What the page does on each event; ``pipeline_getter`` is called per request, because the
    pipeline is loaded after the app is built."""

    def __init__(self, pipeline_getter: PipelineGetter, settings: Settings, limiter: RateLimiter | None = None) -> None:
        self.pipeline = pipeline_getter
        self.n_controls = 2 + len(settings.ui_examples)  # question box, send button, example buttons
        self.limiter = limiter  # the API's: the page's questions draw on the same budget

    def controls(self, enabled: bool) -> tuple[Any, ...]:
        """Everything that asks is disabled while a question is answered: one question at a time."""
        return tuple(gr.update(interactive=enabled) for _ in range(self.n_controls))

    def respond(self, question: object, turns: list[dict], lang: str, report: object,
                request: gr.Request) -> Iterator[tuple[Any, ...]]:
        """The page's door to the pipeline, guarded like ``/api/ask``: the same cleaning and
        length limit, the same rate limit, at most ``MAX_HISTORY`` turns kept."""
        if isinstance(question, str) and not question.strip():
            yield gr.skip(), gr.skip(), *(gr.skip(),) * self.n_controls
            return
        turns = list(turns or [])[-(MAX_HISTORY - 1):]
        refusal = self.refuse(question, request)
        if refusal:  # answered at once: nothing reaches the pipeline
            turns.append({"q": _shown(question), "answer": None, "error": refusal})
            yield chat_html(turns, lang), turns, *self.controls(True)
            return
        question = clean_question(question)
        history = [turn["q"] for turn in turns if turn.get("answer")]
        turn: dict = {"q": question, "answer": None, "partial": ""}
        turns = [*turns, turn]
        yield chat_html(turns, lang), turns, gr.update(value="", interactive=False), *self.controls(False)[1:]
        try:
            pipeline = self.pipeline()
            for event in pipeline.ask_stream(question, history=history, documents=picked(pipeline, report)):
                kind = event.get("type")
                if kind == "final":
                    turn["answer"] = event["answer"]
                elif kind in ("delta", "reset"):  # reset: verification dropped the text streamed so far
                    turn["partial"] = turn["partial"] + event.get("text", "") if kind == "delta" else ""
                    yield chat_html(turns, lang), turns, *(gr.skip(),) * self.n_controls
        except SERVICE_ERRORS:  # the operator's log gets the details, the visitor the API's message
            log.exception("answering failed (service unavailable): %r", question)
            turn["error"] = DEFAULTS[503][1]
        except Exception:  # the page must answer with a message, never a traceback
            log.exception("answering failed: %r", question)
            turn["error"] = DEFAULTS[500][1]
        if turn["answer"] is None and "error" not in turn:
            turn["error"] = DEFAULTS[500][1]
        yield chat_html(turns, lang), turns, *self.controls(True)

    def refuse(self, question: object, request: gr.Request | None) -> str | None:
        """The bilingual reason a question is not answered, or None."""
        if self.limiter is not None:
            client = getattr(request, "client", None)
            if self.limiter.admit(self.limiter.key(getattr(client, "host", None))):
                return DEFAULTS[429][1]
        try:
            clean_question(question)
        except ValueError:  # pydantic's ValidationError included
            return QUESTION_INVALID
        return None

    def open_citation(self, turns: list[dict], lang: str, evt: gr.EventData) -> tuple[str, tuple[int, int] | None]:
        data = getattr(evt, "_data", None) or {}
        try:
            turn, n = int(data["turn"]), int(data["n"])
        except (KeyError, TypeError, ValueError, OverflowError):  # the browser sends them: 1e400 too
            return gr.skip(), gr.skip()
        return _open_citation(self.pipeline(), turns, turn, n, lang), (turn, n)

    def show_document(self, doc_id: str | None, lang: str) -> str:
        store = self.pipeline().store
        doc = (store.document(doc_id) if doc_id else None) or (store.documents[0] if store.documents else None)
        return document_html(doc, lang) if doc else ""

    def on_load(self, lang: str) -> tuple[Any, ...]:
        pipeline = self.pipeline()
        docs = pipeline.store.documents
        choices = [(f"{d.title}（{d.source}）", d.id) for d in docs]
        first = docs[0].id if docs else None
        return (gr.update(choices=choices, value=first, visible=len(docs) > 1), self.show_document(first, lang),
                gr.update(choices=report_choices(pipeline, lang), value=ALL_REPORTS, visible=len(docs) > 1),
                header_html(lang, in_view(pipeline, None)))

    def pick_report(self, report: object, doc_id: str | None, lang: str) -> tuple[Any, ...]:
        """One report in view: the header names it and 全文 opens it; 全部报告 keeps the open one."""
        pipeline = self.pipeline()
        shown = picked(pipeline, report)
        doc_id = shown[0] if shown else doc_id
        return header_html(lang, in_view(pipeline, report)), gr.update(value=doc_id), self.show_document(doc_id, lang)

    def switch_language(self, label: str, turns: list[dict], opened: tuple[int, int] | None, doc_id: str | None,
                        report: object):
        lang = LANGS.get(label, "zh")
        pipeline = self.pipeline()
        source = (_open_citation(pipeline, turns, *opened, lang) if opened else source_notice(lang))
        return (lang, header_html(lang, in_view(pipeline, report)), chat_html(turns, lang), source,
                gr.update(placeholder=t(lang, "placeholder")), gr.update(value=t(lang, "send")),
                gr.update(value=t(lang, "clear")), gr.update(value=t(lang, "examples")),
                gr.update(label=t(lang, "tab_chat")), gr.update(label=t(lang, "tab_full")),
                gr.update(label=t(lang, "report")), self.show_document(doc_id, lang),
                gr.update(choices=report_choices(pipeline, lang), value=report if picked(pipeline, report) else ALL_REPORTS))

    @staticmethod
    def clear(lang: str) -> tuple[list, str, str, None]:
        return [], chat_html([], lang), source_notice(lang), None


def _chat_tab(settings: Settings) -> SimpleNamespace:
    """The conversation column, the example questions and the cited-section panel."""
    c = SimpleNamespace()
    with gr.Tab(t("zh", "tab_chat"), id="chat") as c.chat_tab, gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            c.chat = gr.HTML(chat_html([], "zh"), elem_id="rag-chat", js_on_load=CHAT_JS)
            c.examples_label = gr.Markdown(t("zh", "examples"))
            with gr.Row(elem_id="rag-examples"):
                c.example_buttons = [gr.Button(q, size="sm", variant="secondary", min_width=0)
                                     for q in settings.ui_examples]
            with gr.Row(equal_height=True):
                c.question = gr.Textbox(show_label=False, placeholder=t("zh", "placeholder"), max_length=500,
                                        scale=5, container=False, elem_id="rag-question", autofocus=True)
                c.send = gr.Button(t("zh", "send"), variant="primary", scale=1, min_width=80, elem_id="rag-send")
            c.clear = gr.Button(t("zh", "clear"), size="sm", variant="secondary", elem_id="rag-clear")
        with gr.Column(scale=2, min_width=320):
            c.source = gr.HTML(source_notice("zh"), elem_id="rag-source", js_on_load=SOURCE_JS)
    return c


def _wire(h: _Handlers, c: SimpleNamespace, settings: Settings, demo: gr.Blocks) -> None:
    """Connects the components in ``c`` to the handlers."""
    ask_out = dict(outputs=[c.chat, c.turns, c.question, c.send, *c.example_buttons], show_progress="hidden",
                   concurrency_id="ask", concurrency_limit=settings.ui_concurrency)
    c.question.submit(h.respond, inputs=[c.question, c.turns, c.lang, c.report_pick], **ask_out)
    c.send.click(h.respond, inputs=[c.question, c.turns, c.lang, c.report_pick], **ask_out)
    for button in c.example_buttons:
        button.click(h.respond, inputs=[button, c.turns, c.lang, c.report_pick], **ask_out)
    c.chat.click(h.open_citation, inputs=[c.turns, c.lang], outputs=[c.source, c.opened], show_progress="minimal")
    c.clear.click(h.clear, inputs=[c.lang], outputs=[c.turns, c.chat, c.source, c.opened], show_progress="hidden")
    c.doc_pick.change(h.show_document, inputs=[c.doc_pick, c.lang], outputs=[c.document])
    c.report_pick.change(h.pick_report, inputs=[c.report_pick, c.doc_pick, c.lang],
                         outputs=[c.header, c.doc_pick, c.document])
    c.lang_pick.change(h.switch_language, inputs=[c.lang_pick, c.turns, c.opened, c.doc_pick, c.report_pick],
                       outputs=[c.lang, c.header, c.chat, c.source, c.question, c.send, c.clear, c.examples_label,
                                c.chat_tab, c.full_tab, c.doc_pick, c.document, c.report_pick])
    demo.load(h.on_load, inputs=[c.lang], outputs=[c.doc_pick, c.document, c.report_pick, c.header])


def build_ui(pipeline_getter: PipelineGetter, settings: Settings | None = None, *, limiter: RateLimiter | None = None,
             download_dir: Path | None = None) -> gr.Blocks:
    """``pipeline_getter`` is called per request: the pipeline is loaded after the app is built.
    ``limiter`` is the API's rate limiter, so the page's questions draw on the same budget;
    ``download_dir`` is the private folder the commitments tab writes its CSV files to."""
    settings = settings or get_settings()
    with gr.Blocks(title=t("zh", "title"), analytics_enabled=False) as demo:
        states = dict(lang=gr.State("zh"), turns=gr.State([]), opened=gr.State(None))
        with gr.Row(equal_height=True):
            header = gr.HTML(header_html("zh"), scale=4)
            report_pick = gr.Dropdown([(t("zh", "all_reports"), ALL_REPORTS)], value=ALL_REPORTS, show_label=False,
                                      container=False, scale=1, min_width=220, visible=False, elem_id="rag-report-pick")
            lang_pick = gr.Radio(list(LANGS), value="中文", show_label=False, container=False, scale=0,
                                 min_width=170, elem_id="rag-lang")
        with gr.Tabs():
            c = _chat_tab(settings)
            with gr.Tab(t("zh", "tab_full"), id="full") as c.full_tab:
                c.doc_pick = gr.Dropdown(label=t("zh", "report"), choices=[], visible=False, elem_id="rag-doc-pick")
                c.document = gr.HTML("", elem_id="rag-document", js_on_load=DOC_JS)
            build_commitments_tab(pipeline_getter, download_dir=download_dir or private_dir() / "csv")
        vars(c).update(states, header=header, lang_pick=lang_pick, report_pick=report_pick)
        _wire(_Handlers(pipeline_getter, settings, limiter), c, settings, demo)
    demo.queue(max_size=settings.ui_queue_size)  # past it, Gradio answers "queue full" at once
    return demo


def mount_ui(app: FastAPI, pipeline_getter: PipelineGetter, settings: Settings | None = None, *,
             limiter: RateLimiter | None = None) -> FastAPI:
    """Mount last: the page owns ``/``, so every API route must already be registered.

    Gradio keeps the files it serves in a private folder made for this process (its cache is
    thus empty at every start); ``app.state.served_dirs`` tells the page guard that only that
    folder may be served. Errors reach the browser as the handlers' bilingual messages only
    (``show_error=False``); their details go to the log."""
    theme = gr.themes.Default(font=("Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "system-ui", "sans-serif"))
    runtime = private_dir()
    gradio_dir = runtime / "gradio"
    gradio_dir.mkdir(mode=0o700)
    os.environ["GRADIO_TEMP_DIR"] = str(gradio_dir)  # read by Gradio as each component and app is made
    app.state.served_dirs = (gradio_dir,)
    app.state.private_dir = runtime
    demo = build_ui(pipeline_getter, settings, limiter=limiter, download_dir=runtime / "csv")
    return gr.mount_gradio_app(app, demo, path="/", css=CSS, theme=theme, ssr_mode=False, footer_links=["api"],
                               show_error=False, max_file_size=MAX_UPLOAD_BYTES)
