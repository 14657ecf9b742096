"""Government article pages (``.html``/``.htm``): the report without the site around it.

Readability-style: site furniture is removed by tag and by class/id words, the container that
holds the most paragraph text (not link text) is the article, and furniture lines inside it
(发布时间、来源、【打印】…) are dropped. The words and patterns are data in
``rag/data/html_boilerplate.toml`` (its ``[html]`` table). ``<h2>``–``<h6>`` and
``<p><strong>…</strong></p>`` are headings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.genre.lexicon import Lexicon
from rag.ingest.loaders.base import Extracted, fail, joined, read_content
from rag.ingest.loaders.text import decode

_BLOCKS = {"p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol",
           "table", "tbody", "thead", "tfoot", "tr", "blockquote", "pre", "dl", "dt", "dd", "center", "td", "th",
           "figure", "figcaption", "body", "html", "font"}
_CONTAINERS = {"div", "section", "article", "main", "td", "body", "center", "font"}
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0]+")
_SITE_SEP = re.compile(r"\s*(?:_|\||｜|——|\s-\s)\s*")
_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class Boilerplate:
    furniture: re.Pattern[str]
    drop_tags: frozenset[str]
    lines: re.Pattern[str]


@lru_cache(maxsize=4)
def boilerplate(lexicon: Lexicon | None = None) -> Boilerplate:
    """The ``[html]`` table of the one ``Lexicon``, compiled once."""
    data = (lexicon or Lexicon.default()).table("html")
    return Boilerplate(
        furniture=re.compile("|".join(re.escape(w) for w in data["furniture"]), re.IGNORECASE),
        drop_tags=frozenset(data["drop_tags"]),
        lines=re.compile("|".join(f"(?:{p})" for p in data["lines"])),
    )


def _decode_html(path: Path, data: bytes) -> str:
    """UTF-8 unless the page declares another charset (GBK pages are still common)."""
    m = _CHARSET.search(data[:4096])
    charset = m.group(1).decode("ascii").lower() if m else "utf-8"
    if charset in ("utf-8", "utf8"):
        return decode(path, data)
    try:
        return data.decode("gb18030" if charset in ("gb2312", "gbk") else charset)
    except (LookupError, UnicodeDecodeError):
        return decode(path, data)


def _is_furniture(node, bp: Boilerplate) -> bool:
    attrs = node.attributes
    words = " ".join(v for k, v in attrs.items() if k in ("class", "id") and v)
    return bool(words) and bool(bp.furniture.search(words))


def _text(node) -> str:
    return _SPACE.sub(" ", node.text(deep=True, separator="")).strip()


def _strip(root, bp: Boilerplate) -> None:
    for node in list(root.traverse()):
        if node.tag in bp.drop_tags \
                or (node.tag in _BLOCKS and node.tag not in ("body", "html") and _is_furniture(node, bp)):
            node.decompose()


def _article(root):
    """The container with the most paragraph text, links discounted (readability's core idea)."""
    scores: dict[int, tuple[float, object]] = {}
    for p in root.css("p, h2, h3, h4, li, td"):
        text = _text(p)
        if len(text) < 10:
            continue
        links = sum(len(_text(a)) for a in p.css("a"))
        weight = len(text) - 2 * links
        if weight <= 0:
            continue
        parent, share = p.parent, 1.0
        while parent is not None and share > 0.2:
            if parent.tag in _CONTAINERS:
                key = parent.mem_id
                scores[key] = (scores.get(key, (0.0, parent))[0] + weight * share, parent)
                share /= 2
            parent = parent.parent
    if not scores:
        return root
    return max(scores.values(), key=lambda s: s[0])[1]


class _Lines:
    """Blocks in reading order, each one line, with the heading label the markup gives it."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str | None]] = []
        self.buf: list[str] = []

    def flush(self) -> None:
        text = _SPACE.sub(" ", "".join(self.buf)).strip()
        if text:
            self.lines.append((text, None))
        self.buf = []

    def walk(self, node) -> None:
        for child in node.iter(include_text=True):
            tag = child.tag
            if tag == "-text":
                self.buf.append(child.text_content or "")
            elif tag == "br":
                self.flush()
            elif tag == "tr":
                self.flush()
                cells = [_text(c) for c in child.iter() if c.tag in ("td", "th")]
                cells = [c for c in cells if c]
                if cells:
                    self.lines.append((cells[0] + ("：" + "；".join(cells[1:]) if len(cells) > 1 else ""), None))
            elif tag in _BLOCKS:
                self.flush()
                if any(d.tag in _BLOCKS or d.tag == "br"
                       for d in child.traverse(include_text=False) if d.mem_id != child.mem_id):
                    self.walk(child)
                    self.flush()
                else:
                    text = _text(child)
                    if text:
                        self.lines.append((text, _label(child, text)))
            else:
                self.buf.append(child.text(deep=True, separator=""))
        # text after the last block of this node stays in the buffer for the caller to flush


def _label(node, text: str) -> str | None:
    if node.tag in ("h2", "h3", "h4", "h5", "h6"):
        return node.tag
    if node.tag == "h1":
        return "h1"
    strong = "".join(_text(s) for s in node.css("strong, b"))
    if node.tag in ("p", "div") and strong and _SPACE.sub("", strong) == _SPACE.sub("", text):
        return "strong"
    return None


def _title(tree, bp: Boilerplate) -> str | None:
    for h in tree.css("h1"):
        if _text(h):
            return _text(h)
    t = tree.css_first("title")
    parts = [p for p in _SITE_SEP.split(_text(t)) if p] if t is not None else []
    return parts[0] if parts else None  # 「报告标题_某某市人民政府」: the page's own part


class HtmlLoader:
    """``.html``/``.htm`` through selectolax (lexbor): fast, no network, tolerant of broken markup."""

    suffixes: tuple[str, ...] = (".html", ".htm")
    format: str = "html"

    def run(self, path: Path) -> Extracted:
        from selectolax.lexbor import LexborHTMLParser

        data = read_content(path)
        html = _decode_html(path, data)
        if "<" not in html:
            raise fail(path, "不是 HTML 网页", "not an HTML page")
        bp = boilerplate()
        tree = LexborHTMLParser(html)
        body = tree.body or tree.root
        if body is None:
            raise fail(path, "无法解析 HTML", "the HTML cannot be parsed")
        _strip(body, bp)
        title = _title(tree, bp)
        walker = _Lines()
        walker.walk(_article(body))
        walker.flush()
        lines: list[str] = []
        hints: list[tuple[int, str]] = []
        for text, label in walker.lines:
            if bp.lines.match(text) or (label == "h1" and text == title):
                continue  # furniture, or the title (kept as the document's title, not a section)
            if label is not None:
                hints.append((len(lines), label))
            lines.append(text)
        return joined(lines, self.format, title=title, hints=hints)
