"""Word ``.docx`` reports: paragraphs and tables in reading order, headings from paragraph styles.

Word keeps automatic numbering (``一、``, ``（一）``, ``1.``) out of the paragraph text; it is
rendered back here from the numbering definitions so the heading parser sees what a reader sees.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from rag.ingest.loaders.base import Extracted, fail, joined, read_content
from rag.ingest.loaders.numbering import format_number

_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


def heading_level(style_name: str) -> int | None:
    """``Heading 2`` / ``标题 2`` → 2; other styles are body text."""
    m = _HEADING_STYLE.match(style_name.strip())
    return int(m.group(1)) if m else None


class _Numbering:
    """Counters for Word's automatic list numbering, per list and level."""

    def __init__(self, document) -> None:  # a python-docx Document
        from docx.oxml.ns import qn

        self.qn = qn
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}  # numId → ilvl → (fmt, text, start)
        self.counters: dict[str, list[int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        abstract = {}
        for a in root.findall(qn("w:abstractNum")):
            lv = {}
            for lvl in a.findall(qn("w:lvl")):
                fmt = lvl.find(qn("w:numFmt"))
                txt = lvl.find(qn("w:lvlText"))
                start = lvl.find(qn("w:start"))
                lv[int(lvl.get(qn("w:ilvl")))] = (
                    fmt.get(qn("w:val")) if fmt is not None else "decimal",
                    txt.get(qn("w:val")) if txt is not None else "",
                    int(start.get(qn("w:val"))) if start is not None else 1,
                )
            abstract[a.get(qn("w:abstractNumId"))] = lv
        for num in root.findall(qn("w:num")):
            ref = num.find(qn("w:abstractNumId"))
            if ref is not None and ref.get(qn("w:val")) in abstract:
                self.levels[num.get(qn("w:numId"))] = abstract[ref.get(qn("w:val"))]

    def _num_pr(self, paragraph):
        """The paragraph's own numbering, else its style's (``List Number``), following ``basedOn``."""
        ppr = paragraph._p.pPr
        found = ppr.find(self.qn("w:numPr")) if ppr is not None else None
        style = paragraph.style
        while found is None and style is not None:
            sppr = style.element.pPr
            found = sppr.find(self.qn("w:numPr")) if sppr is not None else None
            style = style.base_style
        return found

    def label(self, paragraph) -> str:
        """The rendered number of a numbered paragraph (``（二）``), or ``""``."""
        qn = self.qn
        numpr = self._num_pr(paragraph)
        if numpr is None:
            return ""
        num_id = numpr.find(qn("w:numId"))
        ilvl = numpr.find(qn("w:ilvl"))
        nid = num_id.get(qn("w:val")) if num_id is not None else None
        level = int(ilvl.get(qn("w:val"))) if ilvl is not None else 0
        defs = self.levels.get(nid or "")
        if not defs or level not in defs:
            return ""
        counts = self.counters.setdefault(nid or "", [0] * 9)
        counts[level] += 1
        for deeper in range(level + 1, 9):
            counts[deeper] = 0
        fmt, text, _ = defs[level]
        if fmt == "bullet":
            return "• "
        if fmt == "none":
            return ""

        def value(m: re.Match[str]) -> str:
            lv = int(m.group(1)) - 1
            f, _, start = defs.get(lv, ("decimal", "", 1))
            return format_number(counts[lv] + start - 1, f)

        label = re.sub(r"%(\d)", value, text)
        # Word puts a tab after the number; a space keeps "1. 标题" readable, CJK marks (一、) need none
        return label + " " if label[-1:].isascii() and label.strip() else label


def _cell_texts(row) -> list[str]:
    out: list[str] = []
    for cell in row.cells:
        t = " ".join(p.text.strip() for p in cell.paragraphs if p.text.strip())
        if t and (not out or out[-1] != t):  # merged cells repeat their text
            out.append(t)
    return out


class DocxLoader:
    """``.docx`` through python-docx; tables become one line per row, 「指标：目标」."""

    suffixes: tuple[str, ...] = (".docx",)
    format: str = "docx"

    def run(self, path: Path) -> Extracted:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
        from docx.table import Table
        from docx.text.paragraph import Paragraph

        data = read_content(path)
        if data.startswith(_OLE_MAGIC):
            raise fail(path, "文件已加密，或实为旧版 .doc 格式；请另存为未加密的 .docx",
                       "the file is encrypted, or is a legacy .doc; save it as an unencrypted .docx")
        try:
            document = docx.Document(str(path))
        except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError):
            raise fail(path, "不是有效的 .docx 文件（文件损坏，或不是 Word 文档）",
                       "not a valid .docx file (corrupt, or not a Word document)") from None
        numbering = _Numbering(document)
        lines: list[str] = []
        hints: list[tuple[int, str]] = []  # (line number, style label)
        title = (document.core_properties.title or "").strip() or None
        body = document.element.body
        for child in body.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                p = Paragraph(child, document)
                text = (numbering.label(p) + p.text).strip()
                if not text:
                    continue
                style = (p.style.name if p.style is not None else "") or ""
                if style.strip().lower() in _TITLE_STYLES and title is None:
                    title = text
                level = heading_level(style)
                if level is not None:
                    hints.append((len(lines), f"h{level}"))
                lines.extend(text.split("\n"))
            elif tag == "tbl":
                for row in Table(child, document).rows:
                    cells = _cell_texts(row)
                    if cells:
                        lines.append(cells[0] + ("：" + "；".join(cells[1:]) if len(cells) > 1 else ""))
        return joined(lines, self.format, title=title, hints=hints)
