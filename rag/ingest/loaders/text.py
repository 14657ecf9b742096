"""Plain text and Markdown reports: UTF-8 bytes, read as they are."""

from __future__ import annotations

from pathlib import Path

from rag.ingest.loaders.base import Extracted, fail


def decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise fail(path, f"不是有效的 UTF-8 编码（第 {exc.start} 字节处）",
                   f"not valid UTF-8 (at byte offset {exc.start})") from None


class TextLoader:
    """``.txt`` and ``.md``: front matter (``---`` or a ``标题：`` line) is the parser's to read."""

    suffixes: tuple[str, ...] = (".txt", ".md")
    format: str = "txt"

    def run(self, path: Path) -> Extracted:
        fmt = "md" if path.suffix.lower() == ".md" else "txt"
        return Extracted(decode(path, path.read_bytes()), fmt, front_matter=True)
