"""The public chat page: Gradio Blocks mounted at ``/`` of the API's FastAPI app, one process.

The conversation is rendered by ``ui.render`` (escaped HTML) rather than ``gr.Chatbot`` so that
citation numbers inside an answer are real buttons that open the cited section."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import gradio as gr
from fastapi import FastAPI

from rag.answer.composers.base import refusal_wording
from rag.answer.guard import ConversationGuard
from rag.api.errors import DEFAULTS, QUESTION_INVALID, SERVICE_ERRORS
from rag.api.middleware import RateLimiter
from rag.api.schemas import CONTROL_CHARS, MAX_HISTORY, MAX_QUESTION_CHARS, clean_question
from rag.core.settings import Settings, get_settings
from rag.pipeline import Pipeline
from ui.assets import STYLESHEET, script
from ui.commitments_tab import build_commitments_tab
from ui.files import private_dir
from ui.render import (
    chat_html,
    counter_html,
    doc_label,
    document_html,
    header_html,
    skip_links_html,
    source_html,
    source_notice,
    source_of,
    t,
)

log = logging.getLogger(__name__)

PipelineGetter = Callable[[], Pipeline]
LANGS = {"中文": "zh", "English": "en"}
#: Uploads are refused before Gradio sees them (``PageGuardMiddleware``); this is its own cap behind that.
MAX_UPLOAD_BYTES = 1024
SHOWN_CHARS = 200  # a refused question is repeated in the chat up to this length
#: the question box grows to this many lines, then scrolls: a 2,000-character paste must not push
#: the box's own «cut at 1,000» notice (and the send button) off the screen
QUESTION_LINES = 4
ALL_REPORTS = ""  # the report picker's value for every report

#: Gradio's orange moved two steps darker, so white on the accent and the accent on white (send
#: button, the selected tab) reach 4.5:1.
ACCENT = gr.themes.Color(c50="#fff7ed", c100="#ffedd5", c200="#fed7aa", c300="#fdba74", c400="#ea580c",
                         c500="#c2410c", c600="#9a3412", c700="#7c2d12", c800="#6c2710", c900="#5a200d",
                         c950="#431407", name="accessible-orange")
#: each component's own script (``ui/static/*.js``), handed to ``js_on_load``
CHAT_JS = script("chat")
SOURCE_JS = script("source")
DOC_JS = script("document")
SKIP_JS = script("skip")
COUNTER_JS = script("counter")


#: The page's own link to the HTTP API's documentation, in the page's language (Gradio's «Use via
#: API» footer is English only, and documents Gradio's queue, not this API).
API_LINK = {"zh": ("API 文档", "接口说明（Swagger UI，离线可用）"),
            "en": ("API documentation", "the HTTP API (Swagger UI, works offline)")}
#: The browser tab's title follows the language switch (it runs before the server's handler).
TITLE_JS = (f"(...args) => {{ document.title = args[0] === 'English' ? {json.dumps(t('en', 'title'))} "
            f": {json.dumps(t('zh', 'title'))}; return args; }}")


def api_link_html(lang: str) -> str:
    text, about = API_LINK.get(lang, API_LINK["zh"])
    return f'<p class="rag-api-link rag-muted"><a href="docs" title="{about}">{text}</a> · {about}</p>'


def _open_citation(pipeline: Pipeline, turns: list[dict], opened: tuple, lang: str) -> str:
    """The section behind citation ``n`` (or related section ``i``, shown without a mark) of answer
    ``turn``, labelled with the answer it belongs to; the indices come from the browser, so check them."""
    turn, kind, index = opened
    entry = turns[turn] if 0 <= turn < len(turns) else {}
    answer = entry.get("answer") or {}
    if kind == "related":
        related = answer.get("related") or []
        ref = related[index] if 0 <= index < len(related) else None
    else:
        ref = next((c for c in answer.get("citations", []) if c["n"] == index), None)
    doc = pipeline.store.document(ref["doc"]) if ref else None
    section = doc.section(ref["section_id"]) if doc and ref else None
    if ref is None or doc is None or section is None:
        return source_notice(lang, "missing")
    start, end, n = (section.start, section.start, None) if kind == "related" else (ref["start"], ref["end"], index)
    return source_html(doc, section, start, end, n, lang, owner=source_of(lang, turn, entry["q"]))


def _shown(question: object) -> str:
    """A refused question as the chat repeats it: cleaned and cut short, never 200,000 characters."""
    text = CONTROL_CHARS.sub("", question).strip() if isinstance(question, str) else ""
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"


def localize_refusal(answer: dict, lang: str, guard: ConversationGuard | None = None) -> dict:
    """A refusal in the interface's language, whatever letters the question had: the topics it
    carries as data (``answer["refusal"]``) worded in ``lang``, without the list of closest
    sections, which the page shows as buttons instead; the guard's replies to greetings and junk
    are asked of the guard again in ``lang``; a refusal for a place or year shows its half."""
    if answer.get("found", True) or answer.get("citations"):
        return answer
    both = answer.get("bilingual", answer.get("answer", ""))
    if answer.get("composer") == "scope" and " / " in both:  # «zh / en»: the page's half, the whole kept
        zh, en = both.split(" / ", 1)
        return {**answer, "answer": en if lang == "en" else zh, "bilingual": both}
    if answer.get("composer") == "conversation" and guard is not None:
        again = guard.run(answer.get("question", ""), english=lang == "en")
        return {**answer, "answer": again.answer} if again else answer
    refused = answer.get("refusal") or {}
    if not refused.get("topics"):
        return answer
    return {**answer, "answer": refusal_wording(refused["topics"], (), english=lang == "en")}


def related_refs(pipeline: Pipeline, answer: dict) -> list[dict]:
    """The closest sections a refusal names, as sections the page can open (with their whole path).
    Each comes with its report and id, so a heading two reports share opens the right one."""
    refs: list[dict] = []
    for ref in [] if answer.get("found", True) else answer.get("related_refs") or []:
        doc = pipeline.store.document(ref["doc"])
        section = doc.section(ref["section_id"]) if doc else None
        if doc is not None and section is not None:
            refs.append({"doc": doc.id, "section_id": section.id,
                         "path": f"{doc_label(doc)} › {' › '.join(section.path)}"})
    return refs


#: the picker lists reports by level, from the top (a level the catalogue does not know comes last)
LEVEL_ORDER = ("国务院", "省", "市", "县")


def grouped_reports(pipeline: Pipeline) -> list[tuple[str, str]]:
    """Every report as (label, id), grouped by level and then by year, newest first, places in
    order within a year. The label starts with the level and year («市 · 2025 · 成都市2025年政府
    工作报告»), so the sorted list reads in groups, and typing a place in the picker (it filters
    as you type) finds that place's reports among a national collection's 1,467."""
    def key(doc_id: str) -> tuple:
        r = pipeline.selector.reports[doc_id]
        level = LEVEL_ORDER.index(r.level) if r.level in LEVEL_ORDER else len(LEVEL_ORDER)
        return level, -(r.year or 0), r.region or "", doc_id

    def label(doc_id: str) -> str:
        r = pipeline.selector.reports[doc_id]
        head = " · ".join(x for x in (r.level, str(r.year) if r.year else "") if x)
        return f"{head} · {pipeline.selector.label(doc_id)}" if head else pipeline.selector.label(doc_id)

    return [(label(i), i) for i in sorted(pipeline.selector.reports, key=key)]


def report_choices(pipeline: Pipeline, lang: str) -> list[tuple[str, str]]:
    """全部报告, then each report, grouped by level and year (``grouped_reports``)."""
    return [(t(lang, "all_reports"), ALL_REPORTS), *grouped_reports(pipeline)]


def picked(pipeline: Pipeline, report: object) -> tuple[str, ...] | None:
    """The picked report as a filter; the value comes from the browser, so an unknown one means all."""
    return (report,) if isinstance(report, str) and report and pipeline.store.document(report) else None


def in_view(pipeline: Pipeline, report: object) -> list[str]:
    ids = picked(pipeline, report) or [d.id for d in pipeline.store.documents]
    return [pipeline.selector.label(i) for i in ids]


class _Handlers:
    """What the page does on each event; ``pipeline_getter`` is called per request, because the
    pipeline is loaded after the app is built."""

    def __init__(self, pipeline_getter: PipelineGetter, settings: Settings, limiter: RateLimiter | None = None) -> None:
        self.pipeline = pipeline_getter
        self.examples = {"zh": list(settings.ui_examples), "en": list(settings.ui_examples_en)}
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
                    answer = event["answer"]
                    turn["answer"] = localize_refusal({**answer, "related": related_refs(pipeline, answer)}, lang,
                                                      pipeline.guard)
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

    def example(self, index: int) -> Callable[..., Iterator[tuple[Any, ...]]]:
        """Example button ``index`` asks its question in the interface language (the Chinese one
        when no English wording is set)."""

        def ask(turns: list[dict], lang: str, report: object, request: gr.Request) -> Iterator[tuple[Any, ...]]:
            wording = self.examples.get(lang) or []
            yield from self.respond(wording[index] if index < len(wording) else self.examples["zh"][index],
                                    turns, lang, report, request)
        return ask

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

    def open_citation(self, turns: list[dict], lang: str, evt: gr.EventData) -> tuple[str, tuple | None]:
        data = getattr(evt, "_data", None) or {}
        try:
            kind = "related" if "related" in data else "n"
            opened = (int(data["turn"]), kind, int(data[kind]))
        except (KeyError, TypeError, ValueError, OverflowError):  # the browser sends them: 1e400 too
            return gr.skip(), gr.skip()
        return _open_citation(self.pipeline(), turns, opened, lang), opened

    def show_document(self, doc_id: str | None, lang: str) -> str:
        store = self.pipeline().store
        doc = (store.document(doc_id) if doc_id else None) or (store.documents[0] if store.documents else None)
        return document_html(doc, lang) if doc else ""

    def on_load(self, lang: str) -> tuple[Any, ...]:
        pipeline = self.pipeline()
        docs = pipeline.store.documents
        choices = grouped_reports(pipeline)
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

    def switch_language(self, label: str, turns: list[dict], opened: tuple | None, doc_id: str | None,
                        report: object):
        lang = LANGS.get(label, "zh")
        pipeline = self.pipeline()
        turns = [{**x, "answer": localize_refusal(x["answer"], lang, pipeline.guard)} if x.get("answer") else x
                 for x in turns or []]
        source = _open_citation(pipeline, turns, tuple(opened), lang) if opened else source_notice(lang)
        examples = self.examples.get(lang) or self.examples["zh"]
        return (lang, header_html(lang, in_view(pipeline, report)), turns, chat_html(turns, lang), source,
                gr.update(placeholder=t(lang, "placeholder"), label=t(lang, "question_label")),
                gr.update(value=t(lang, "send")), gr.update(value=t(lang, "clear")),
                gr.update(value=t(lang, "examples")),
                gr.update(label=t(lang, "tab_chat")), gr.update(label=t(lang, "tab_full")),
                gr.update(label=t(lang, "report")), self.show_document(doc_id, lang),
                skip_links_html(lang), counter_html(lang, MAX_QUESTION_CHARS),
                gr.update(label=t(lang, "language")),
                gr.update(choices=report_choices(pipeline, lang),
                          value=report if picked(pipeline, report) else ALL_REPORTS),
                api_link_html(lang), *(gr.update(value=q) for q in examples[: self.n_controls - 2]))

    @staticmethod
    def clear(lang: str) -> tuple[list, str, str, None]:
        return [], chat_html([], lang), source_notice(lang), None


def _chat_tab(settings: Settings) -> SimpleNamespace:
    """The conversation column, the example questions and the cited-section panel."""
    c = SimpleNamespace()
    with gr.Tab(t("zh", "tab_chat"), id="chat", elem_id="rag-chat-tab") as c.chat_tab, gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=320):
            c.chat = gr.HTML(chat_html([], "zh"), elem_id="rag-chat", js_on_load=CHAT_JS)
            c.examples_label = gr.Markdown(t("zh", "examples"))
            with gr.Row(elem_id="rag-examples"):
                c.example_buttons = [gr.Button(q, size="sm", variant="secondary", min_width=0)
                                     for q in settings.ui_examples]
            with gr.Group(elem_id="rag-ask-row"):
                with gr.Row(equal_height=True):
                    c.question = gr.Textbox(label=t("zh", "question_label"), show_label=False,
                                            placeholder=t("zh", "placeholder"), max_length=MAX_QUESTION_CHARS,
                                            scale=5, container=False, elem_id="rag-question", autofocus=True,
                                            lines=1, max_lines=QUESTION_LINES)  # a long paste scrolls inside
                    c.send = gr.Button(t("zh", "send"), variant="primary", scale=1, min_width=80, elem_id="rag-send")
                c.counter = gr.HTML(counter_html("zh", MAX_QUESTION_CHARS), elem_id="rag-counter",
                                    js_on_load=COUNTER_JS)
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
    for i, button in enumerate(c.example_buttons):
        button.click(h.example(i), inputs=[c.turns, c.lang, c.report_pick], **ask_out)
    c.chat.click(h.open_citation, inputs=[c.turns, c.lang], outputs=[c.source, c.opened], show_progress="minimal")
    c.clear.click(h.clear, inputs=[c.lang], outputs=[c.turns, c.chat, c.source, c.opened], show_progress="hidden")
    c.doc_pick.change(h.show_document, inputs=[c.doc_pick, c.lang], outputs=[c.document])
    c.report_pick.change(h.pick_report, inputs=[c.report_pick, c.doc_pick, c.lang],
                         outputs=[c.header, c.doc_pick, c.document])
    c.lang_pick.change(h.switch_language, inputs=[c.lang_pick, c.turns, c.opened, c.doc_pick, c.report_pick],
                       outputs=[c.lang, c.header, c.turns, c.chat, c.source, c.question, c.send, c.clear,
                                c.examples_label, c.chat_tab, c.full_tab, c.doc_pick, c.document, c.skip, c.counter,
                                c.lang_pick, c.report_pick, c.api_link, *c.example_buttons], js=TITLE_JS
                       ).then(c.promises.relabel, inputs=[*c.promises.relabel_inputs, c.lang],
                              outputs=c.promises.relabel_outputs)
    demo.load(h.on_load, inputs=[c.lang], outputs=[c.doc_pick, c.document, c.report_pick, c.header])


def build_ui(pipeline_getter: PipelineGetter, settings: Settings | None = None, *, limiter: RateLimiter | None = None,
             download_dir: Path | None = None) -> gr.Blocks:
    """``pipeline_getter`` is called per request: the pipeline is loaded after the app is built.
    ``limiter`` is the API's rate limiter, so the page's questions draw on the same budget;
    ``download_dir`` is the private folder the commitments tab writes its CSV files to."""
    settings = settings or get_settings()
    with gr.Blocks(title=t("zh", "title"), analytics_enabled=False) as demo:
        states = dict(lang=gr.State("zh"), turns=gr.State([]), opened=gr.State(None))
        skip = gr.HTML(skip_links_html("zh"), elem_id="rag-skip", js_on_load=SKIP_JS, padding=False)
        with gr.Row(equal_height=True, elem_id="rag-top"):
            header = gr.HTML(header_html("zh"), scale=4)
            report_pick = gr.Dropdown([(t("zh", "all_reports"), ALL_REPORTS)], value=ALL_REPORTS,
                                      label=t("zh", "report"), show_label=False, container=False, scale=1,
                                      min_width=220, visible=False, elem_id="rag-report-pick", filterable=True)
            lang_pick = gr.Radio(list(LANGS), value="中文", label=t("zh", "language"), show_label=False,
                                 container=False, scale=0, min_width=210, elem_id="rag-lang")
        with gr.Tabs():
            c = _chat_tab(settings)
            with gr.Tab(t("zh", "tab_full"), id="full", elem_id="rag-full-tab") as c.full_tab:
                c.doc_pick = gr.Dropdown(label=t("zh", "report"), choices=[], visible=False, elem_id="rag-doc-pick",
                                         filterable=True)
                c.document = gr.HTML("", elem_id="rag-document", js_on_load=DOC_JS)
            c.promises = build_commitments_tab(pipeline_getter, download_dir=download_dir or private_dir() / "csv",
                                               lang_state=states["lang"])
        api_link = gr.HTML(api_link_html("zh"), elem_id="rag-api-link", padding=False)
        vars(c).update(states, header=header, lang_pick=lang_pick, skip=skip, report_pick=report_pick,
                       api_link=api_link)
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
    theme = gr.themes.Default(primary_hue=ACCENT,
                              font=("Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", "system-ui", "sans-serif"))
    runtime = private_dir()
    gradio_dir = runtime / "gradio"
    gradio_dir.mkdir(mode=0o700)
    os.environ["GRADIO_TEMP_DIR"] = str(gradio_dir)  # read by Gradio as each component and app is made
    app.state.served_dirs = (gradio_dir,)
    app.state.private_dir = runtime
    demo = build_ui(pipeline_getter, settings, limiter=limiter, download_dir=runtime / "csv")
    return gr.mount_gradio_app(app, demo, path="/", css_paths=[STYLESHEET], theme=theme, ssr_mode=False,
                               footer_links=[], show_error=False, max_file_size=MAX_UPLOAD_BYTES)
