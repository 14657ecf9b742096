"""What every format loader returns, and the one error a loader raises for a file it cannot read."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from rag.core.errors import RagError


class LoadError(RagError, ValueError):
    """A file that cannot be read as a report; the message is bilingual and names the file,
    ``reason`` says the same without the name (for lists that name the file already)."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


@dataclass(frozen=True, slots=True)
class Extracted:
    """A file's report text, ready for the heading parser; offsets later point into ``text``.

    ``pages`` holds the offset where each page starts (PDF only), so a citation can name its page.
    """

    text: str
    format: str
    pages: tuple[int, ...] = ()
    title: str | None = None  # the title the file itself declares (docx core properties, <title>)
    front_matter: bool = False  # plain text may carry ``---`` metadata; extracted formats never do
    # (offset of a line, style label): lines the file marks as headings (Word styles, <h2>, <p><strong>)
    headings: tuple[tuple[int, str], ...] = ()


class Loader(Protocol):
    """One format: configuration in ``__init__``, one method from a path to its text."""

    format: str
    suffixes: tuple[str, ...]

    def run(self, path: Path) -> Extracted: ...


def fail(path: Path, zh: str, en: str) -> LoadError:
    return LoadError(f"{path.name}：{zh} / {path.name}: {en}", f"{zh} / {en}")


def read_content(path: Path) -> bytes:
    """The file's bytes; an empty (or whitespace-only) file is no report, said once for every format."""
    data = path.read_bytes()
    if not data.strip():
        raise fail(path, "文件为空", "File is empty")
    return data


@lru_cache(maxsize=1)
def _radicals() -> dict[int, str]:
    table: dict[int, str] = {}
    text = resources.files("rag").joinpath("data/cjk_radicals.tsv").read_text("utf-8")
    for line in text.splitlines():
        if line and not line.startswith("#"):
            radical, _, ideograph, _ = line.split("\t")
            table[ord(radical)] = ideograph
    for cp in range(0x2F00, 0x2FE0):  # Kangxi radicals: NFKC knows their ideographs
        mapped = unicodedata.normalize("NFKC", chr(cp))
        if mapped != chr(cp):
            table[cp] = mapped
    return table


def unify_radicals(text: str) -> str:
    """Radical code points written for ordinary characters (⾯→面, ⻓→长), one character for one,
    so offsets do not move. Only these two ranges: NFKC on the whole text would also rewrite
    full-width punctuation and digits the report itself uses."""
    return text.translate(_radicals())


def joined(lines: list[str], fmt: str, *, title: str | None = None,
           hints: Sequence[tuple[int, str]] = ()) -> Extracted:
    """Lines (one per paragraph) as one text; ``hints`` name heading lines by index and style label."""
    starts, pos = [], 0
    for line in lines:
        starts.append(pos)
        pos += len(line) + 1
    text = unify_radicals("\n".join(lines) + "\n") if lines else ""
    return Extracted(text, fmt, title=title, headings=tuple((starts[i], label) for i, label in hints))
