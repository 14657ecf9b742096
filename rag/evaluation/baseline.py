"""The anchor row of every report: the common RAG recipe, ``langchain-style``.

LangChain's ``RecursiveCharacterTextSplitter`` (500-character chunks, its default separators,
whitespace stripped), dense top-1 with the product's own embedding model, and the chunk itself
as the answer (it never refuses). Reimplemented here with offsets, so its chunks are scored
against the gold evidence like the product's units; no LangChain dependency.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from rag.core.types import Citation, Document, Unit
from rag.evaluation.datasets import EvidenceLocator, unit_key
from rag.evaluation.systems import SystemAnswer
from rag.genre.text import strip_span

if TYPE_CHECKING:
    from rag.embed.embedder import Embedder

Span = tuple[int, int]

#: LangChain's defaults for ``RecursiveCharacterTextSplitter``.
SEPARATORS = ("\n\n", "\n", " ", "")


class RecursiveCharacterSplitter:
    """Splits at the first separator present, recursing into pieces still longer than
    ``chunk_size`` with the next separators, then merges neighbouring pieces into chunks of at
    most ``chunk_size`` characters that overlap by up to ``chunk_overlap`` (LangChain's
    algorithm, with the separator kept at the start of the following piece)."""

    def __init__(self, chunk_size: int = 500, chunk_overlap: int = 50, separators: Sequence[str] = SEPARATORS) -> None:
        if not 0 <= chunk_overlap < chunk_size:
            raise ValueError("need 0 <= chunk_overlap < chunk_size")
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.separators = tuple(separators)

    def _pieces(self, text: str, a: int, b: int, sep: str) -> list[Span]:
        if not sep:
            return [(i, i + 1) for i in range(a, b)]
        cuts = [m.start() for m in re.finditer(re.escape(sep), text[a:b])]
        bounds = [a, *(a + c for c in cuts if c > 0), b]
        return [(x, y) for x, y in zip(bounds, bounds[1:], strict=False) if y > x]

    def _merge(self, pieces: list[Span]) -> list[Span]:
        chunks: list[Span] = []
        current: list[Span] = []
        total = 0
        for a, b in pieces:
            if total + (b - a) > self.chunk_size and current:
                chunks.append((current[0][0], current[-1][1]))
                while current and (total > self.chunk_overlap or total + (b - a) > self.chunk_size):
                    total -= current[0][1] - current[0][0]
                    current.pop(0)
            current.append((a, b))
            total += b - a
        if current:
            chunks.append((current[0][0], current[-1][1]))
        return chunks

    def _split(self, text: str, a: int, b: int, separators: tuple[str, ...]) -> list[Span]:
        i = next((i for i, s in enumerate(separators) if not s or s in text[a:b]), len(separators) - 1)
        sep, rest = separators[i], separators[i + 1:] if separators[i] else ()
        out: list[Span] = []
        good: list[Span] = []
        for x, y in self._pieces(text, a, b, sep):
            if y - x < self.chunk_size:
                good.append((x, y))
                continue
            if good:
                out += self._merge(good)
                good = []
            out += self._split(text, x, y, rest) if rest else [(x, y)]
        return out + (self._merge(good) if good else [])

    def split(self, text: str) -> list[Span]:
        """Chunk spans of ``text``, whitespace stripped, empty chunks dropped."""
        out = []
        for a, b in self._split(text, 0, len(text), self.separators):
            a, b = strip_span(text, a, b)
            if b > a:
                out.append((a, b))
        return out

    def run(self, documents: Sequence[Document]) -> list[Unit]:
        units: list[Unit] = []
        for doc in documents:
            for a, b in self.split(doc.text):
                units.append(Unit(len(units), doc.id, "", (), a, b, doc.text[a:b], 0))
        return units


class LangchainStyleBaseline:
    """Dense top-1 over recursive 500-character chunks; the chunk is the answer and its citation.
    Chunks are embedded on the first question, with the product's embedder and passage prompt."""

    name = "langchain-style"
    kind = "baseline"
    wants_context = False

    def __init__(self, documents: Sequence[Document], embedder: Embedder, *, chunk_size: int = 500,
                 chunk_overlap: int = 50, depth: int = 10, min_overlap: float = 0.5) -> None:
        self.units = RecursiveCharacterSplitter(chunk_size, chunk_overlap).run(documents)
        self.locator = EvidenceLocator(documents, self.units, min_overlap=min_overlap)
        self.embedder = embedder
        self.depth = depth
        self.spec = (f"recursive {chunk_size}-character chunks (overlap {chunk_overlap}, separators "
                     f"{'/'.join(repr(s) for s in SEPARATORS)}), dense top-1 ({embedder.model_id}), chunk as answer")
        self._vectors: np.ndarray | None = None

    def run(self, question: str, context: list[str] | None = None) -> SystemAnswer:
        t0 = time.perf_counter()
        if self._vectors is None:
            self._vectors = self.embedder.encode_passages([u.text for u in self.units])
            t0 = time.perf_counter()  # the one-off chunk embedding is the index build, not latency
        if not self.units:
            return SystemAnswer("", False, ranked=[], timings_ms={"total": 0.0})
        scores = self._vectors @ self.embedder.encode_queries([question])[0]
        order = np.argsort(-scores, kind="stable")[: self.depth]
        top = self.units[int(order[0])]
        ms = round((time.perf_counter() - t0) * 1000, 2)
        citation = Citation(1, top.doc_id, "", "", top.text, top.start, top.end, round(float(scores[order[0]]), 4))
        return SystemAnswer(top.text, True, [citation], {"total": ms},
                            ranked=[unit_key(self.units[int(i)]) for i in order])
