"""One loader per published format, chosen by file suffix.

Every loader turns a file into ``Extracted`` text (plus a page map for PDFs); the corpus then
parses that text into a ``Document``, so every quote is ``doc.text[start:end]`` of what the
loader extracted, whatever the format.
"""

from __future__ import annotations

from pathlib import Path

from rag.ingest.loaders.base import Extracted, Loader, LoadError, fail, unify_radicals
from rag.ingest.loaders.docx import DocxLoader
from rag.ingest.loaders.html import HtmlLoader
from rag.ingest.loaders.pdf import PdfLoader
from rag.ingest.loaders.text import TextLoader

__all__ = ["Extracted", "LoadError", "Loader", "SUFFIXES", "extract", "loader_for", "unify_radicals"]

_LOADERS: tuple[Loader, ...] = (TextLoader(), DocxLoader(), PdfLoader(), HtmlLoader())
REGISTRY: dict[str, Loader] = {s: loader for loader in _LOADERS for s in loader.suffixes}
SUFFIXES: tuple[str, ...] = tuple(REGISTRY)

#: Formats users do send, with what to do about them.
_KNOWN = {
    ".doc": ("旧版 Word（.doc）格式不受支持，请在 Word 或 WPS 中另存为 .docx",
             "legacy Word .doc is not supported; save it as .docx in Word or WPS"),
    ".wps": ("WPS 文字（.wps）格式不受支持，请另存为 .docx",
             "WPS .wps files are not supported; save it as .docx"),
    ".rtf": ("RTF 格式不受支持，请另存为 .docx", "RTF is not supported; save it as .docx"),
    ".ofd": ("OFD 版式文件不受支持，请导出为 PDF", "OFD is not supported; export it as PDF"),
}


def loader_for(path: Path) -> Loader:
    """The loader for ``path``'s suffix, or a ``LoadError`` that says which formats are read."""
    loader = REGISTRY.get(path.suffix.lower())
    if loader is not None:
        return loader
    zh, en = _KNOWN.get(path.suffix.lower(), (
        f"不支持的文件类型“{path.suffix or '无扩展名'}”（支持 {'、'.join(SUFFIXES)}）",
        f"unsupported file type {path.suffix or '(no suffix)'!r} (supported: {', '.join(SUFFIXES)})"))
    raise fail(path, zh, en)


def extract(path: Path) -> Extracted:
    """The report text of one file, whatever its format."""
    try:
        return loader_for(path).run(path)
    except LoadError:
        raise
    except OSError as exc:
        raise fail(path, f"无法读取文件（{exc.strerror or exc}）", f"cannot be read ({exc.strerror or exc})") from None
    except Exception as exc:  # noqa: BLE001 - a library choking on a malformed file must name the file, not crash the build
        raise fail(path, f"文件无法解析（{type(exc).__name__}: {exc}）",
                   f"the file cannot be parsed ({type(exc).__name__}: {exc})") from None
