"""HTML for the page, built only here and safe by construction: every piece of text that comes
from a visitor or from a report goes through ``html.escape`` before it touches markup, and
the only attributes carrying data are integers and ids this module generates, and a report's
own ``http(s)`` address (``_link``), escaped."""

from __future__ import annotations

import hashlib
import re
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

from rag.answer.composers.base import CITATION_MARK as _MARKER
from rag.commitments.labels import KIND_LABELS, KIND_LABELS_EN, PROMISE_LABELS, PROMISE_LABELS_EN
from rag.core.types import Document, Section
from rag.ingest.corpus import own_segments, report_name, source_url


def read_text(path: Path) -> dict[str, dict[str, str]]:
    """Interface strings by language, from ``path``: ``key<TAB>中文<TAB>English`` a line, so that
    each string's two wordings sit side by side and cannot drift apart; ``#`` starts a comment."""
    text: dict[str, dict[str, str]] = {"zh": {}, "en": {}}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise ValueError(f"{path}:{number}: 应为「键、中文、English」三列，以制表符分隔 / "
                             f"expected a key, Chinese and English separated by tabs")
        key, zh, en = fields
        text["zh"][key], text["en"][key] = zh, en
    return text


def labelled(kinds: dict[str, str], fates: dict[str, str]) -> dict[str, str]:
    """The tracker's names of a record's kind and a target's fate as interface strings (``kind_target``…)."""
    return {f"kind_{k}": v for k, v in kinds.items()} | {f"promise_{k}": v for k, v in fates.items()}


#: Interface strings (``ui/text.tsv``, and the tracker's own names of kinds and fates from
#: ``rag.commitments.labels``); the reports themselves stay in Chinese.
TEXT = read_text(Path(__file__).with_name("text.tsv"))
TEXT["zh"] |= labelled(KIND_LABELS, PROMISE_LABELS)
TEXT["en"] |= labelled(KIND_LABELS_EN, PROMISE_LABELS_EN)

_QUOTE_PREVIEW = 60


def t(lang: str, key: str) -> str:
    return TEXT.get(lang, TEXT["zh"])[key]


def doc_label(doc: Document) -> str:
    """How the page names a report: «焦作市2023年政府工作报告» from the catalogue, else its title."""
    return report_name(doc)


def _link(url: str | None, lang: str) -> str:
    """Where a report was published, as a link; only an ``http(s)`` address becomes one."""
    if not url or urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        return ""
    return (f'<span class="rag-url">{escape(t(lang, "published_at"))}{":" if lang == "en" else "："}'
            f'<a href="{escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{escape(url)}</a></span>')


def header_html(lang: str, reports: list[str] | None = None) -> str:
    """The title, and which report(s) the answers come from (``reports``: their labels)."""
    view = ""
    if reports:
        shown = "、".join(reports[:3]) + ("…" if len(reports) > 3 else "")
        view = (f'<p class="rag-in-view">{escape(t(lang, "answers_from"))}{escape(shown)}'
                f'{f"（{len(reports)}）" if len(reports) > 1 else ""}</p>')
    return (f'<header class="rag-header"><h1>{escape(t(lang, "title"))}</h1>{view}'
            f'<p class="rag-subtitle">{escape(t(lang, "subtitle"))}</p></header>')


def skip_links_html(lang: str) -> str:
    """Keyboard users jump past the header and tabs (the page's JS moves focus, see ``ui.app``)."""
    return (f'<nav class="rag-skip" aria-label="{escape(t(lang, "skip_question"))}">'
            f'<a href="#rag-question" data-focus="#rag-question textarea">{escape(t(lang, "skip_question"))}</a> '
            f'<a href="#rag-source" data-focus="#rag-source .rag-source-panel">{escape(t(lang, "skip_source"))}</a>'
            '</nav>')


def counter_html(lang: str, limit: int) -> str:
    """The question box's character counter and its cut notice (filled in by the page's JS)."""
    return (f'<div class="rag-counter-row"><span class="rag-counter" data-limit="{int(limit)}" '
            f'data-template="{escape(t(lang, "counter"))}" aria-live="off">'
            f'{escape(t(lang, "counter").format(n=0, max=int(limit)))}</span>'
            f'<span class="rag-cut" role="status" hidden data-template="{escape(t(lang, "cut"))}"></span></div>')


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


def _page(page: int | None, lang: str) -> str:
    """A PDF citation's page, so the reader can find it in the printed report."""
    if page is None:
        return ""
    return f' <span class="rag-page">{escape(t(lang, "page").format(n=int(page)))}</span>'


def _cited_path(c: dict) -> str:
    """«焦作市2023年政府工作报告 › 二、… › 1. 主要预期目标»: which report, then where in it."""
    report = c.get("report") or ""
    return escape(f"{report} › {c['section_path']}" if report and c["section_path"] else report or c["section_path"])


def answer_html(turn: int, answer: dict, lang: str) -> str:
    citations = answer.get("citations") or []
    numbers = {int(c["n"]) for c in citations}
    body = f'<div class="rag-text">{_answer_text(answer.get("answer", ""), turn, numbers)}</div>'
    if citations:
        items = "".join(
            f'<li><button type="button" class="rag-source" data-turn="{turn}" data-n="{int(c["n"])}">'
            f'<span class="rag-n">[{int(c["n"])}]</span> <span class="rag-path">{_cited_path(c)}</span>'
            f'{_page(c.get("page"), lang)}<span class="rag-quote">“{escape(_short(c["quote"]))}”</span></button></li>'
            for c in citations)
        body += f'<div class="rag-sources-label">{escape(t(lang, "sources"))}</div><ol class="rag-sources">{items}</ol>'
    elif not answer.get("found", True):
        body += f'<div class="rag-muted">{escape(t(lang, "not_found"))}</div>'
        body += _related_html(turn, answer.get("related") or [], lang)
    if answer.get("composer") == "llm":  # which composer answered: ``Answer.composer``
        body += f'<div class="rag-muted rag-composer">{escape(t(lang, "composer_llm"))}</div>'
    elif answer.get("fallback_reason"):
        body += (f'<div class="rag-muted rag-composer" title="{escape(answer["fallback_reason"])}">'
                 f'{escape(t(lang, "composer_fallback"))}</div>')
    return f'<div class="rag-a" data-found="{"1" if answer.get("found") else "0"}">{body}</div>'


def _related_html(turn: int, related: list[dict], lang: str) -> str:
    """Sections near a question the report does not answer, each a button that opens it."""
    if not related:
        return ""
    items = "".join(
        f'<li><button type="button" class="rag-source rag-related-item" data-turn="{turn}" data-related="{i}">'
        f'<span class="rag-path">{escape(r["path"])}</span></button></li>' for i, r in enumerate(related))
    return (f'<div class="rag-sources-label">{escape(t(lang, "related"))}</div>'
            f'<ul class="rag-sources rag-related">{items}</ul>')


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
            parts.append(f'<div class="rag-a rag-pending" aria-busy="true">'
                         f'<div class="rag-text">{escape(partial)}</div>{_spinner(t(lang, "thinking"))}</div>')
        else:
            parts.append(answer_html(i, turn["answer"], lang))
        parts.append("</div>")
    return f'<div class="rag-chat" aria-live="polite">{"".join(parts)}</div>'


def source_notice(lang: str, key: str = "source_hint") -> str:
    """The source panel before any citation is opened, or when one cannot be."""
    return (f'<div class="rag-source-panel" tabindex="-1"><p class="rag-muted">{escape(t(lang, key))}</p>'
            f'{_back(lang)}</div>')


#: where «back» leads from a source panel: the chat's question box, or the promises table
_BACK = {"chat": ("#rag-question", "#rag-question textarea", "back_to_chat"),
         "table": ("#rag-commitments", "#rag-commitments .rag-ctable-wrap", "back_to_table")}


def _back(lang: str, to: str = "chat") -> str:
    """On phones the source sits below the chat (or the table): a way back up."""
    href, focus, key = _BACK[to]
    return f'<a class="rag-back" href="{href}" data-focus="{focus}">{escape(t(lang, key))}</a>'


def source_of(lang: str, turn: int, question: str) -> str:
    """Which answer a source belongs to: «回答 2「那过去五年呢？」的出处»."""
    return t(lang, "source_of").format(turn=turn + 1, q=_short(question))


def source_html(doc: Document, section: Section, start: int, end: int, n: int | None, lang: str,
                owner: str = "", back: str = "chat") -> str:
    """The cited section in full, the quoted span inside ``<mark>`` (clamped to the section);
    ``owner`` says which answer or row it belongs to, ``n`` its citation number if any."""
    a, b = max(start, section.start), min(end, section.end)
    text = doc.text
    if a < b:
        body = (escape(text[section.start:a]) + f'<mark class="rag-mark" data-n="{n}">' + escape(text[a:b]) + "</mark>"
                + escape(text[b:section.end]))
    else:
        body = escape(text[section.start:section.end])
    path = " › ".join(section.path) or t(lang, "preamble")
    number = f'<span class="rag-n">[{n}]</span> ' if n is not None else ""
    title = escape(owner) if owner else escape(t(lang, "source_title"))
    return (f'<div class="rag-source-panel" tabindex="-1" role="region" aria-label="{title}">'
            f'<h2 class="rag-source-head">{number}{title}{_page(doc.page_at(start), lang)}</h2>'
            f'<div class="rag-path">{escape(doc_label(doc))} › {escape(path)}</div>{_link(source_url(doc), lang)}'
            f'<div class="rag-section-text">{body}</div>{_back(lang, back)}</div>')


def _anchor(doc: Document, section_id: str) -> str:
    """A DOM id made only of safe characters, whatever the document id is; ids such as
    ``主要城市/成都市/2025`` and ``主要城市/重庆市/2025`` keep distinct anchors (a short hash of
    the id stands in for what is not ASCII)."""
    safe = re.sub(r"[^0-9A-Za-z]", "-", doc.id)
    if safe != doc.id:
        safe += "-" + hashlib.sha1(doc.id.encode()).hexdigest()[:8]
    return "rag-sec-" + re.sub(r"[^0-9A-Za-z]", "-", f"{safe}-{section_id}")


def _heading_html(doc: Document, section: Section) -> str:
    """A section's heading line in the full text, one level below the page's own headings."""
    level = min(section.level + 1, 6)
    line = doc.text[section.start:section.heading_end].strip()
    return f'<h{level} id="{_anchor(doc, section.id)}">{escape(line)}</h{level}>'


def document_html(doc: Document, lang: str) -> str:
    """The whole report: a contents list (buttons that scroll) and the text in reading order."""
    toc = "".join(
        f'<li class="rag-lvl{min(s.level, 4)}"><button type="button" data-target="{_anchor(doc, s.id)}">'
        f'{escape(s.title or t(lang, "preamble"))}</button></li>'
        for s in doc.sections if s.heading_end > s.start)
    pieces = [(s.start, _heading_html(doc, s)) for s in doc.sections if s.heading_end > s.start]
    pieces += [(a, f'<div class="rag-section-text">{escape(segment)}</div>')
               for _, a, b in own_segments(doc) if (segment := doc.text[a:b].strip())]
    body = [piece for _, piece in sorted(pieces, key=lambda p: p[0])]  # a heading before the text it starts
    origin = (f'<div class="rag-muted rag-origin"><span class="rag-report-name">{escape(doc_label(doc))}</span>'
              f' · {escape(doc.format.upper())}{escape(t(lang, "pages").format(n=len(doc.pages))) if doc.pages else ""}'
              f'{" · " + link if (link := _link(source_url(doc), lang)) else ""}</div>')
    return (f'{origin}<div class="rag-doc"><nav class="rag-toc" aria-label="{escape(t(lang, "contents"))}">'
            f'<div class="rag-sources-label">{escape(t(lang, "contents"))}</div><ul>{toc}</ul></nav>'
            f'<article class="rag-doc-text">{"".join(body)}</article></div>')
