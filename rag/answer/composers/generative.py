"""Optional generative answers from any OpenAI-compatible server (vLLM, Ollama, a cloud API).

LLMs invent figures and cite sources that were never sent, so no generated claim leaves the
server unverified: every ``[n]`` must name a numbered source of the prompt, every figure must
appear in a source its sentence cites, and the fixed refusal phrase maps to ``found=False``.
Anything else returns the extractive answer instead, with ``fallback_reason`` saying why.
"""

from __future__ import annotations

import bisect
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace

import httpx
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from rag.answer.composers.base import Citations, Composer, Hits, PartDocs, refusal
from rag.answer.query import QueryPart
from rag.core.settings import Settings
from rag.core.types import Answer, Document, Unit
from rag.genre.lexicon import Lexicon
from rag.genre.text import LINE_ENDS, SPACES, normalize_figures, strip_span
from rag.ingest.chunking import count_tokens
from rag.ingest.corpus import own_segments

log = logging.getLogger(__name__)

#: What the model must answer, verbatim, when the sources do not cover the question.
REFUSAL = "报告中没有相关内容"

SYSTEM_PROMPT = (
    "你是政府工作报告问答助手。只能依据用户消息中带编号的资料回答问题，不得使用资料以外的知识。"
    "每条资料前注明了出处（报告和章节）。\n"
    "要求：\n"
    "1. 每个论断之后用方括号标注所依据的资料编号，例如“地区生产总值增长6.5%[1]”；只能使用给出的编号。\n"
    "2. 数字、单位和排名必须与资料原文一致，不要换算、估算，不要写资料中没有的数字。\n"
    f"3. 如果资料不能回答问题，只输出：{REFUSAL}。\n"
    "4. 回答简洁，直接回答问题；问题是英文时用英文回答，但无法回答时仍只输出上面的中文语句。"
)

# The model's text is not trusted either: a citation number has at most 3 digits (a 5,000-digit
# one is no citation, and never reaches int()), and no repetition can rescan the whole reply.
_CITE = re.compile(r"[\[［](\d{1,3}(?:\s{0,3}[,，、]\s{0,3}\d{1,3}){0,30})[\]］]")
_PARTIAL_TAIL = re.compile(r"[\[［][\d,，、\s]{0,120}$|<[^<>]{0,40}$")  # a citation or tag still arriving
_THINK = re.compile(r"<think>.*?(?:</think>|$)", re.S)  # reasoning models' scratchpad
_SENTENCE = re.compile(r"[^。！？!?\n]*[。！？!?\n]*(?:\s{0,3}[\[［][\d,，、\s]{1,120}[\]］])*")
_LIST_MARKER = re.compile(r"(?m)^\s*\d+[.、)]\s*(?!\d)")

def figures(text: str) -> list[str]:
    """Numbers with their units in an answer (``7%``, ``33.16万人``, ``第4位``), citations and list
    markers excluded; a rank written in Chinese numerals (``第四位``) counts as ``第4位``."""
    text = normalize_figures(_CITE.sub("|", _LIST_MARKER.sub("", unicodedata.normalize("NFKC", text))))
    return Lexicon.default().figures.find(text)


def _contains_figure(haystack: str, figure: str) -> bool:
    tail = "" if not figure[-1].isdigit() else r"(?!\.?\d)"
    return re.search(rf"(?<![\d.]){re.escape(figure)}{tail}", haystack) is not None


def _cited(text: str) -> list[int]:
    return [int(n) for group in _CITE.findall(text) for n in re.split(r"\s*[,，、]\s*", group)]


@dataclass(frozen=True)
class Source:
    """One numbered source of the prompt: a retrieved unit widened to its sentence."""

    n: int
    unit: Unit  # the best-ranked retrieved unit inside the span; gives the section
    start: int
    end: int
    text: str
    score: float
    report: str = ""  # the report's own title, so sources of several reports stay apart

    @property
    def path(self) -> str:
        return " › ".join(self.unit.section_path)

    @property
    def where(self) -> str:
        return " › ".join(x for x in (self.report, self.path) if x) or "（无标题）"

    @property
    def block(self) -> str:
        return f"[{self.n}] 出处：{self.where}\n{self.text}"


class VerificationError(ValueError):
    """Why a generated answer cannot be returned; the message becomes ``fallback_reason``."""


def verify(text: str, sources: list[Source]) -> bool:
    """Checks a generated answer against the sources it was given; True when it is a refusal.

    Raises ``VerificationError`` for an empty answer, an answer without citations, a citation
    to no source, or a figure that no source cited in its sentence contains.
    """
    if not text.strip():
        raise VerificationError("empty answer")
    cited = _cited(text)
    if not cited:
        if REFUSAL in normalize_figures(text):
            return True
        raise VerificationError("no citation")
    by_n = {s.n: s for s in sources}
    for n in cited:
        if n not in by_n:
            raise VerificationError(f"unknown citation [{n}]")
    # "|": no figure spans both
    haystacks = {s.n: Lexicon.default().figures.source_text(s.where + "|" + s.text) for s in sources}
    for m in _SENTENCE.finditer(text):
        sentence = m.group()
        own = _cited(sentence) or cited  # a sentence without a citation leans on the answer's
        for fig in figures(sentence):
            if not any(_contains_figure(haystacks[n], fig) for n in own):
                raise VerificationError(f"invented figure: {fig}")
    return False


def _display(raw: str, *, final: bool) -> tuple[str, list[int]]:
    """The answer as a user sees it: scratchpad removed, citations renumbered 1..n by first use
    (``[3]…[1]`` → ``[1]…[2]``), and while streaming, a half-arrived citation held back.
    Returns the text and the source numbers in their new order."""
    text = _THINK.sub("", raw)
    if not final:
        text = _PARTIAL_TAIL.sub("", text)
    order: list[int] = []

    def renumber(m: re.Match[str]) -> str:
        out = []
        for n in dict.fromkeys(_cited(m.group())):
            if n not in order:
                order.append(n)
            out.append(f"[{order.index(n) + 1}]")
        return "".join(out)

    return _CITE.sub(renumber, text.strip()), order


class MalformedReply(ValueError):
    """The server's reply is not what the OpenAI API returns, or exceeds our deadline or size cap."""


class _Delta(BaseModel):
    model_config = ConfigDict(extra="ignore")
    content: StrictStr | None = None


class _StreamChoice(BaseModel):
    model_config = ConfigDict(extra="ignore")
    delta: _Delta | None = None


class _StreamChunk(BaseModel):
    """One ``data:`` line of a streamed completion. Validation rejects a chunk that is not an
    object, content that is not a string and (JSON parsing) a lone surrogate."""

    model_config = ConfigDict(extra="ignore")
    choices: list[_StreamChoice] | None = None

    @property
    def text(self) -> str:
        return "".join(c.delta.content or "" for c in self.choices or () if c.delta)


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    content: StrictStr | None = None


class _Choice(BaseModel):
    model_config = ConfigDict(extra="ignore")
    message: _Message


class _Completion(BaseModel):
    """A whole (non-streamed) completion; only its first choice's text is used."""

    model_config = ConfigDict(extra="ignore")
    choices: list[_Choice] = Field(min_length=1)

    @property
    def text(self) -> str:
        return self.choices[0].message.content or ""


class GenerativeComposer:
    """Answers from the retrieved sources through an OpenAI-compatible ``/chat/completions``;
    whatever it cannot answer verifiably, ``fallback`` (the extractive composer) answers, with
    ``fallback_reason`` saying why."""

    name = "llm"

    def __init__(self, documents: list[Document], fallback: Composer, *, base_url: str, model: str,
                 api_key: str | None = None, timeout_s: float = 30.0, context_tokens: int = 3000,
                 max_tokens: int = 512, temperature: float = 0.0, deadline_s: float = 90.0,
                 max_reply_bytes: int = 1_000_000, max_streams: int = 8) -> None:
        self.docs = {d.id: d for d in documents}
        self.fallback = fallback
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.timeout = httpx.Timeout(timeout_s)  # per connect/read: a stalled server, not a long answer
        self.deadline_s = deadline_s  # the whole reply, however slowly it trickles in
        self.max_reply_bytes = max_reply_bytes
        # requests waiting on the server at once; past it, questions get the fallback at once
        # instead of holding one more worker thread for up to ``deadline_s``
        self._slots = threading.BoundedSemaphore(max_streams)
        self.context_tokens = context_tokens
        self.max_tokens = max_tokens
        self.temperature = temperature
        # the text each section owns outside headings and children, where a sentence may extend
        self._segments = {d.id: sorted((a, b) for _, a, b in own_segments(d)) for d in documents}
        # a title the loader fell back to (the file name, the first heading) says nothing new
        self._reports = {d.id: "" if d.title in {d.id, *(s.title for s in d.sections)} else d.title for d in documents}

    @classmethod
    def from_settings(cls, settings: Settings, documents: list[Document],
                      fallback: Composer) -> GenerativeComposer | None:
        """The configured composer, or None when no LLM server is set (the extractive default)."""
        if not (settings.llm_base_url and settings.llm_model):
            return None
        return cls(documents, fallback, base_url=settings.llm_base_url, model=settings.llm_model,
                   api_key=settings.llm_api_key, timeout_s=settings.llm_timeout_s,
                   context_tokens=settings.llm_context_tokens, max_tokens=settings.llm_max_tokens,
                   temperature=settings.llm_temperature, deadline_s=settings.llm_deadline_s,
                   max_reply_bytes=settings.llm_max_reply_bytes, max_streams=settings.llm_max_streams)

    # --- sources --------------------------------------------------------------------------
    def _sentence(self, unit: Unit) -> tuple[int, int]:
        """The unit widened to its whole sentence, never past its heading line or text segment."""
        text = self.docs[unit.doc_id].text
        segments = self._segments[unit.doc_id]
        i = bisect.bisect_right(segments, (unit.start, len(text))) - 1
        inside = i >= 0 and segments[i][0] <= unit.start < segments[i][1]
        lo, hi = segments[i] if inside else (unit.start, unit.end)  # a heading line stays itself
        a = max((text.rfind(c, lo, unit.start) for c in LINE_ENDS), default=-1) + 1
        ends = [j for c in LINE_ENDS if (j := text.find(c, unit.end - 1, hi)) != -1]
        b = min(ends) + 1 if ends else hi
        return strip_span(text, max(a, lo), max(b, unit.end), SPACES)

    def sources(self, hits: Hits) -> list[Source]:
        """Hits of all question parts, interleaved in rank order, widened to their sentences and
        deduplicated, until ``context_tokens`` (counted with the offline cl100k encoding) is used."""
        ranked = [h for rank in range(max(map(len, hits), default=0)) for part in hits if rank < len(part)
                  for h in [part[rank]]]
        out: list[Source] = []
        used = 0
        for hit in ranked:
            u = hit.unit
            a, b = self._sentence(u)
            if any(s.unit.doc_id == u.doc_id and s.start < b and a < s.end for s in out):
                continue  # the same sentence already reached the prompt through a better hit
            source = Source(len(out) + 1, u, a, b, self.docs[u.doc_id].text[a:b], float(hit.score),
                            self._reports[u.doc_id])
            cost = count_tokens(source.block)
            if used + cost > self.context_tokens:
                break
            out.append(source)
            used += cost
        return out

    @staticmethod
    def messages(question: str, parts: list[QueryPart], sources: list[Source]) -> list[dict[str, str]]:
        """Chinese instructions, the numbered sources with their section paths, then the question
        (with a follow-up's completed reading, which the bare question may lack)."""
        readings = [p.text for p in parts if p.text and p.text != question]
        asked = question + (f"（即：{'；'.join(readings)}）" if readings else "")
        body = "资料：\n" + "\n\n".join(s.block for s in sources) + f"\n\n问题：{asked}"
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": body}]

    # --- the server -----------------------------------------------------------------------
    def _payload(self, messages: list[dict[str, str]], stream: bool) -> dict:
        return {"model": self.model, "messages": messages, "temperature": self.temperature,
                "max_tokens": self.max_tokens, "stream": stream}

    def _lines(self, messages: list[dict[str, str]], stream: bool) -> Iterator[bytes]:
        """The reply's lines as they arrive, within ``deadline_s`` and ``max_reply_bytes`` in all
        (``MalformedReply`` past either; no line is buffered beyond the cap)."""
        deadline = time.monotonic() + self.deadline_s
        received, pending = 0, b""
        with httpx.stream("POST", self.url, json=self._payload(messages, stream), headers=self.headers,
                          timeout=self.timeout) as r:
            r.raise_for_status()
            for chunk in r.iter_bytes():
                received += len(chunk)
                if received > self.max_reply_bytes:
                    raise MalformedReply(f"reply over {self.max_reply_bytes} bytes")
                if time.monotonic() > deadline:
                    raise MalformedReply(f"reply not complete after {self.deadline_s:.0f} s")
                *lines, pending = (pending + chunk).split(b"\n")
                yield from lines
        yield pending

    def _complete(self, messages: list[dict[str, str]]) -> str:
        return _Completion.model_validate_json(b"\n".join(self._lines(messages, False))).text

    def _stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        """Content pieces of an SSE completion (``data: {…}`` lines up to ``data: [DONE]``), each
        line validated (``_StreamChunk``) before anything reads it."""
        for line in self._lines(messages, True):
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                return
            if piece := _StreamChunk.model_validate_json(data).text:
                yield piece

    @staticmethod
    def _failure(exc: Exception) -> str:
        if isinstance(exc, httpx.TimeoutException):
            return "timeout"
        if isinstance(exc, httpx.HTTPStatusError):
            return f"llm error: HTTP {exc.response.status_code}"
        if isinstance(exc, httpx.HTTPError):
            return f"llm unreachable: {type(exc).__name__}"
        if isinstance(exc, MalformedReply):
            return f"malformed llm response: {exc}"
        return "malformed llm response"

    # --- answers --------------------------------------------------------------------------
    def _fall_back(self, question: str, parts: list[QueryPart], hits: Hits, reason: str) -> Answer:
        answer = self.fallback.run(question, parts, hits)
        if answer is None:  # a fallback that declines still leaves an honest refusal
            answer = refusal(question, parts, hits, composer=self.fallback.name)
        return replace(answer, fallback_reason=reason)

    def _finish(self, question: str, parts: list[QueryPart], raw: str, sources: list[Source], hits: Hits) -> Answer:
        try:
            refused = verify(_THINK.sub("", raw).strip(), sources)  # the model's own numbering
        except VerificationError as exc:
            log.warning("LLM answer rejected (%s): %r", exc, raw[:500])
            return self._fall_back(question, parts, hits, str(exc))
        if refused:
            return refusal(question, parts, hits, composer=self.name)
        text, order = _display(raw, final=True)
        by_n = {s.n: s for s in sources}
        citations = Citations()
        for s in (by_n[n] for n in order):
            citations.add(s.unit.doc_id, s.unit.section_id, s.path, s.text, s.start, s.end, s.score)
        return Answer(question=question, answer=text, found=True, citations=citations.items, composer=self.name)

    def run(self, question: str, parts: list[QueryPart], hits: Hits, *, documents: PartDocs = ()) -> Answer:
        """The verified generated answer, or the fallback's with the reason it had to be used
        (``hits`` come from ``documents`` already)."""
        sources = self.sources(hits)
        if not sources:
            return self._fall_back(question, parts, hits, "no sources")
        if not self._slots.acquire(blocking=False):
            return self._fall_back(question, parts, hits, "llm busy")
        try:
            raw = self._complete(self.messages(question, parts, sources))
        except (httpx.HTTPError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            return self._fall_back(question, parts, hits, self._failure(exc))
        finally:
            self._slots.release()
        return self._finish(question, parts, raw, sources, hits)

    def stream(self, question: str, parts: list[QueryPart], hits: Hits, *,
               documents: PartDocs = ()) -> Generator[dict, None, Answer]:
        """Yields ``{"type": "delta", "text": …}`` as tokens arrive (citations already renumbered),
        then returns what ``run`` would: the verified answer or the fallback. The caller tells
        clients to replace the streamed text when the returned answer differs from it."""
        sources = self.sources(hits)
        if not sources:
            return self._fall_back(question, parts, hits, "no sources")
        if not self._slots.acquire(blocking=False):
            return self._fall_back(question, parts, hits, "llm busy")
        raw, shown = "", ""
        try:
            for piece in self._stream(self.messages(question, parts, sources)):
                raw += piece
                text, _ = _display(raw, final=False)
                if len(text) > len(shown) and text.startswith(shown):
                    yield {"type": "delta", "text": text[len(shown):]}
                    shown = text
        except (httpx.HTTPError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            return self._fall_back(question, parts, hits, self._failure(exc))
        finally:
            self._slots.release()
        return self._finish(question, parts, raw, sources, hits)
