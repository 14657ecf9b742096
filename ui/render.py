"""HTML for the page, built only here and safe by construction: every piece of text that comes
from a visitor or from a report goes through ``html.escape`` before it touches markup, and
the only attributes carrying data are integers and ids this module generates."""

from __future__ import annotations

import re
from html import escape

from rag.corpus import own_segments
from rag.types import Document, Section

#: Interface strings; the reports themselves stay in Chinese.
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "政府工作报告问答",
        "subtitle": "每个回答都标注出处，点击编号即可查看原文。",
        "welcome": "你好！可以问我报告里的目标、成绩和举措，例如下方的示例问题。可以接着追问，如「那过去五年呢？」。",
        "thinking": "正在查找原文…",
        "sources": "出处",
        "source_hint": "点击回答中的引用编号，在这里查看原文并高亮引用句。",
        "source_title": "原文",
        "not_found": "未在报告中找到依据",
        "error": "出错了，请稍后再试。",
        "missing": "该引用已不可用，请重新提问。",
        "tab_chat": "问答",
        "tab_full": "全文",
        "tab_commitments": "承诺清单",
        "placeholder": "输入问题，按回车提问",
        "send": "提问",
        "clear": "新对话",
        "examples": "试试这些问题：",
        "report": "报告",
        "contents": "目录",
        "preamble": "（开头）",
    },
    "en": {
        "title": "Government Work Report Q&A",
        "subtitle": "Every answer cites the report; click a number to read the source.",
        "welcome": "Hello! Ask about the report's targets, achievements and measures (questions in Chinese work best). "
                   "Follow-ups such as 「那过去五年呢？」 are understood.",
        "thinking": "Searching the report…",
        "sources": "Sources",
        "source_hint": "Click a citation number in an answer to read the source with the quote highlighted.",
        "source_title": "Source",
        "not_found": "No support found in the report",
        "error": "Something went wrong, please try again.",
        "missing": "That citation is no longer available; please ask again.",
        "tab_chat": "Ask",
        "tab_full": "Full text",
        "tab_commitments": "Commitments",
        "placeholder": "Type a question and press Enter",
        "send": "Ask",
        "clear": "New chat",
        "examples": "Try these questions:",
        "report": "Report",
        "contents": "Contents",
        "preamble": "(Opening)",
    },
}

_MARKER = re.compile(r"\[(\d+)\]")
_QUOTE_PREVIEW = 60


def t(lang: str, key: str) -> str:
    return TEXT.get(lang, TEXT["zh"])[key]


def header_html(lang: str) -> str:
    return f'<div class="rag-header"><h1>{escape(t(lang, "title"))}</h1><p>{escape(t(lang, "subtitle"))}</p></div>'


def _spinner(label: str) -> str:
    return f'<span class="rag-spinner" role="status"><span class="rag-spin"></span>{escape(label)}</span>'


def _answer_text(text: str, turn: int, numbers: set[int]) -> str:
    """Answer text with its ``[n]`` markers turned into citation buttons (only for real citations)."""
    out, pos = [], 0
    for m in _MARKER.finditer(text):
        out.append(escape(text[pos:m.start()]))
        n = int(m.group(1))
        out.append(f'<button type="button" class="rag-cite" data-turn="{turn}" data-n="{n}">[{n}]</button>'
                   if n in numbers else escape(m.group(0)))
        pos = m.end()
    out.append(escape(text[pos:]))
    return "".join(out)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE_PREVIEW else text[:_QUOTE_PREVIEW] + "…"


def answer_html(turn: int, answer: dict, lang: str) -> str:
    citations = answer.get("citations") or []
    numbers = {int(c["n"]) for c in citations}
    body = f'<div class="rag-text">{_answer_text(answer.get("answer", ""), turn, numbers)}</div>'
    if citations:
        items = "".join(
            f'<li><button type="button" class="rag-source" data-turn="{turn}" data-n="{int(c["n"])}">'
            f'<span class="rag-n">[{int(c["n"])}]</span> <span class="rag-path">{escape(c["section_path"])}</span>'
            f'<span class="rag-quote">“{escape(_short(c["quote"]))}”</span></button></li>'
            for c in citations)
        body += f'<div class="rag-sources-label">{escape(t(lang, "sources"))}</div><ol class="rag-sources">{items}</ol>'
    elif not answer.get("found", True):
        body += f'<div class="rag-muted">{escape(t(lang, "not_found"))}</div>'
    return f'<div class="rag-a" data-found="{"1" if answer.get("found") else "0"}">{body}</div>'


def chat_html(turns: list[dict], lang: str) -> str:
    """The conversation: each turn is ``{"q", "answer" (dict or None while pending), "partial", "error"}``."""
    if not turns:
        return f'<div class="rag-chat"><div class="rag-welcome">{escape(t(lang, "welcome"))}</div></div>'
    parts = []
    for i, turn in enumerate(turns):
        parts.append(f'<div class="rag-turn"><div class="rag-q">{escape(turn["q"])}</div>')
        if turn.get("error"):
            parts.append(f'<div class="rag-a rag-error" role="alert">{escape(turn["error"])}</div>')
        elif turn.get("answer") is None:
            partial = turn.get("partial") or ""
            parts.append(f'<div class="rag-a rag-pending" aria-busy="true"><div class="rag-text">{escape(partial)}</div>'
                         f'{_spinner(t(lang, "thinking"))}</div>')
        else:
            parts.append(answer_html(i, turn["answer"], lang))
        parts.append("</div>")
    return f'<div class="rag-chat" aria-live="polite">{"".join(parts)}</div>'


def source_notice(lang: str, key: str = "source_hint") -> str:
    """The source panel before any citation is opened, or when one cannot be."""
    return f'<div class="rag-source-panel"><p class="rag-muted">{escape(t(lang, key))}</p></div>'


def source_html(doc: Document, section: Section, start: int, end: int, n: int, lang: str) -> str:
    """The cited section in full, the quoted span inside ``<mark>`` (clamped to the section)."""
    a, b = max(start, section.start), min(end, section.end)
    text = doc.text
    if a < b:
        body = (escape(text[section.start:a]) + f'<mark class="rag-mark" data-n="{n}">' + escape(text[a:b]) + "</mark>"
                + escape(text[b:section.end]))
    else:
        body = escape(text[section.start:section.end])
    path = " › ".join(section.path) or t(lang, "preamble")
    return (f'<div class="rag-source-panel"><div class="rag-source-head"><span class="rag-n">[{n}]</span> '
            f'{escape(t(lang, "source_title"))}<div class="rag-path">{escape(path)}</div></div>'
            f'<div class="rag-section-text">{body}</div></div>')


def _anchor(doc: Document, section_id: str) -> str:
    """A DOM id made only of safe characters, whatever the document id is."""
    return "rag-sec-" + re.sub(r"[^0-9A-Za-z]", "-", f"{doc.id}-{section_id}")


def document_html(doc: Document, lang: str) -> str:
    """The whole report: a contents list (buttons that scroll) and the text in reading order."""
    toc = "".join(
        f'<li class="rag-lvl{min(s.level, 4)}"><button type="button" data-target="{_anchor(doc, s.id)}">'
        f'{escape(s.title or t(lang, "preamble"))}</button></li>'
        for s in doc.sections if s.heading_end > s.start)
    pieces = [(s.start, "h", s) for s in doc.sections if s.heading_end > s.start]
    pieces += [(a, "p", (a, b)) for _, a, b in own_segments(doc)]
    body = []
    for _, kind, item in sorted(pieces, key=lambda p: p[0]):
        if kind == "h":
            level = min(item.level + 1, 6)
            body.append(f'<h{level} id="{_anchor(doc, item.id)}">{escape(doc.text[item.start:item.heading_end].strip())}</h{level}>')
        elif segment := doc.text[item[0]:item[1]].strip():
            body.append(f'<div class="rag-section-text">{escape(segment)}</div>')
    return (f'<div class="rag-doc"><nav class="rag-toc" aria-label="{escape(t(lang, "contents"))}">'
            f'<div class="rag-sources-label">{escape(t(lang, "contents"))}</div><ul>{toc}</ul></nav>'
            f'<article class="rag-doc-text">{"".join(body)}</article></div>')
