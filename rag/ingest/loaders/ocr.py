"""Optional OCR for scanned PDFs: Tesseract (Debian's ``tesseract-ocr-chi-sim``) when installed.

Without it a PDF with no text layer is refused with a message saying OCR is needed. OCR text has
no layout to undo beyond Tesseract's own lines and their boxes: spaces it puts between Chinese
characters are removed, and a line that reaches the right edge without ending a sentence runs on
into the next unindented one.
"""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from rag.ingest.loaders.base import Extracted, unify_radicals

LANGS = "chi_sim+eng"
DPI = 200
_CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef“”‘’]"
_CJK_GAP = re.compile(rf"(?<={_CJK})[ \t]+(?={_CJK})|(?<={_CJK})[ \t]+(?=[0-9%])|(?<=[0-9%])[ \t]+(?={_CJK})")
_FINAL = "。！？；：!?;:"


@lru_cache(maxsize=1)
def available() -> bool:
    """Tesseract with Simplified Chinese installed (checked once per process)."""
    exe = shutil.which("tesseract")
    if exe is None:
        return False
    try:
        langs = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "chi_sim" in langs.split()


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One printed line as Tesseract read it, with its box in pixels."""

    text: str
    left: int
    right: int
    height: int


def _page_text(png: Path) -> list[OcrLine]:
    out = subprocess.run(["tesseract", str(png), "stdout", "-l", LANGS, "--psm", "6", "tsv"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    boxes: dict[tuple[str, ...], tuple[int, int, int]] = {}
    words: dict[tuple[str, ...], list[str]] = {}
    for row in out.splitlines()[1:]:
        f = row.split("\t")
        if len(f) < 12:
            continue
        key = tuple(f[1:5])
        if f[0] == "4":
            boxes[key] = (int(f[6]), int(f[6]) + int(f[8]), int(f[9]))
        elif f[0] == "5" and f[11].strip():
            words.setdefault(key, []).append(f[11].strip())
    lines = []
    for key, (left, right, height) in boxes.items():
        text = _CJK_GAP.sub("", " ".join(words.get(key, []))).strip()
        if text:
            lines.append(OcrLine(text, left, right, height))
    return lines


def extract(document, title: str | None) -> Extracted:
    """Every page rendered at ``DPI`` and read by Tesseract; lines rejoined into paragraphs."""
    with tempfile.TemporaryDirectory(prefix="rag-ocr-") as tmp:
        read = []
        for i in range(len(document)):
            png = Path(tmp) / f"p{i + 1}.png"
            document[i].render(scale=DPI / 72).to_pil().save(png)
            read.append(_page_text(png))
    text, pages = rejoin(read)
    return Extracted(text, "pdf", pages=pages, title=title)


def rejoin(page_lines: list[list[OcrLine]]) -> tuple[str, tuple[int, ...]]:
    """Printed lines back into paragraphs, and where each page starts. A line continues the one
    before when that one ran to the text's right edge without ending a sentence and it is not
    indented, as in ``pdf.py``: a centred title, a date line or «各位代表：» stays a line of its own."""
    every = [ln for lines in page_lines for ln in lines]
    if not every:
        return "", tuple(0 for _ in page_lines)
    rights, lefts = sorted(ln.right for ln in every), sorted(ln.left for ln in every)
    right_edge, left_edge = rights[int(0.9 * (len(rights) - 1))], lefts[int(0.1 * (len(lefts) - 1))]
    size = statistics.median(ln.height for ln in every)
    paragraphs: list[str] = []
    pages: list[int] = []
    offset, last = 0, None
    for lines in page_lines:
        page_start = None
        for ln in lines:
            if last and last.text[-1] not in _FINAL and last.right >= right_edge - 1.5 * size \
                    and ln.left <= left_edge + 0.8 * size:
                paragraphs[-1] += ln.text
            else:
                offset += 1 if paragraphs else 0
                paragraphs.append(ln.text)
            page_start = offset if page_start is None else page_start  # where this line's text begins
            offset += len(ln.text)
            last = ln
        pages.append(offset if page_start is None else page_start)
    return unify_radicals("\n".join(paragraphs) + "\n"), tuple(pages)
