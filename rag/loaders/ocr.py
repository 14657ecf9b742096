"""Optional OCR for scanned PDFs: Tesseract (Debian's ``tesseract-ocr-chi-sim``) when installed.

Without it a PDF with no text layer is refused with a message saying OCR is needed. OCR text has
no layout to undo beyond Tesseract's own lines: spaces it puts between Chinese characters are
removed and a line that does not end a sentence runs on into the next.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from rag.loaders.base import Extracted, unify_radicals

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


def _page_text(png: Path) -> list[str]:
    out = subprocess.run(["tesseract", str(png), "stdout", "-l", LANGS, "--psm", "6"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    return [_CJK_GAP.sub("", line).strip() for line in out.splitlines() if line.strip()]


def extract(document, title: str | None) -> Extracted:
    """Every page rendered at ``DPI`` and read by Tesseract; lines rejoined into paragraphs."""
    paragraphs: list[str] = []
    pages: list[int] = []
    offset, open_para = 0, False
    with tempfile.TemporaryDirectory(prefix="rag-ocr-") as tmp:
        for i in range(len(document)):
            png = Path(tmp) / f"p{i + 1}.png"
            document[i].render(scale=DPI / 72).to_pil().save(png)
            page_start = None
            for line in _page_text(png):
                if open_para and paragraphs[-1][-1] not in _FINAL:
                    if page_start is None:
                        page_start = offset
                    paragraphs[-1] += line
                else:
                    offset += 1 if paragraphs else 0
                    if page_start is None:
                        page_start = offset
                    paragraphs.append(line)
                offset += len(line)
                open_para = True
            pages.append(offset if page_start is None else page_start)
    text = unify_radicals("\n".join(paragraphs) + "\n") if paragraphs else ""
    return Extracted(text, "pdf", pages=tuple(pages), title=title)
