"""Other QA systems scored beside the product: ``rag eval --system NAME=SPEC``.

A SPEC is one of

* ``openai:<base_url>#<model>[?context=retrieved|none&timeout=S&key_env=VAR]`` — an
  OpenAI-compatible ``/chat/completions`` endpoint, given the passages the product retrieved
  (``context=retrieved``, the default) or the bare question (``context=none``); the API key, if
  any, is read from the environment variable ``key_env`` names, never from the spec;
* ``http:<template.json>[?timeout=S]`` — any HTTP endpoint described by a JSON template (see
  ``HttpSystem``);
* ``py:<module>:<callable>[?context=retrieved|none&timeout=S]`` — a Python callable, given the
  question (and ``context=[passages]`` when it takes a ``context`` parameter or the spec asks).

Nothing leaves the machine unless the spec names a URL, and only that URL is contacted (proxy
variables are ignored). Refusals are read from a phrase list (``rag/data/refusal_phrases.txt``
or a file of one's own); an empty answer is a refusal; a timeout or an error is recorded and
scored as wrong.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl

from rag.core.errors import RagError
from rag.core.paths import DATA_DIR
from rag.core.types import Citation

REFUSAL_PHRASES = DATA_DIR / "refusal_phrases.txt"
_OPTIONS = {"openai": {"context", "timeout", "key_env"}, "http": {"timeout"}, "py": {"context", "timeout"}}

PROMPT_WITH_CONTEXT = ("只依据下面的资料回答问题，答案简洁，直接给出所问的内容。"
                       "资料不能回答时，只输出：{refusal}")
PROMPT_WITHOUT_CONTEXT = "回答下面的问题，答案简洁，直接给出所问的内容。不知道时，只输出：{refusal}"


class SystemSpecError(RagError, ValueError):
    """A ``--system`` spec or template the user must fix; the message is bilingual."""


@dataclass
class SystemAnswer:
    """What a system returned, in the shape ``EvalRunner.score_answer`` scores. ``ranked`` holds
    the keys of the passages a system ranked itself (the baseline), best first."""

    answer: str
    found: bool
    citations: list[Citation] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    ranked: list[str] | None = None


class QASystem(Protocol):
    name: str
    kind: str  # "system" | "baseline"
    spec: str
    wants_context: bool  # the runner passes the product's retrieved passages when set

    def run(self, question: str, context: list[str] | None) -> SystemAnswer: ...


class RefusalPhrases:
    """Decides whether a free-text answer is a refusal, from a list of phrases."""

    def __init__(self, phrases: Sequence[str]) -> None:
        self.phrases = [p for p in (self._norm(p) for p in phrases) if p]
        self.canonical = next((p.strip() for p in phrases if p.strip()), "")
        if not self.phrases:
            raise SystemSpecError("拒答短语表为空 / The refusal phrase list is empty")

    @staticmethod
    def _norm(text: str) -> str:
        return "".join(unicodedata.normalize("NFKC", text).lower().split())

    @classmethod
    def load(cls, path: Path | None = None) -> RefusalPhrases:
        """One phrase a line, ``#`` comments; the built-in list when ``path`` is None."""
        path = Path(path or REFUSAL_PHRASES)
        try:
            lines = path.read_text("utf-8-sig").splitlines()
        except OSError as exc:
            raise SystemSpecError(f"无法读取拒答短语表 {path}：{exc}"
                                  f" / Cannot read the refusal phrases {path}: {exc}") from exc
        return cls([ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#")])

    def refused(self, answer: str) -> bool:
        text = self._norm(answer)
        return not text or any(p in text for p in self.phrases)


# --- answers from foreign shapes -------------------------------------------------------------
def _field(value: Any, name: str) -> Any:
    return value.get(name) if isinstance(value, dict) else getattr(value, name, None)


def _citations(raw: Any) -> list[Citation]:
    """Citations a system gave with a document and integer offsets; others cannot be checked."""
    out: list[Citation] = []
    for c in raw if isinstance(raw, list) else []:
        doc, start, end = _field(c, "doc"), _field(c, "start"), _field(c, "end")
        if isinstance(doc, str) and isinstance(start, int) and isinstance(end, int):
            out.append(Citation(len(out) + 1, doc, str(_field(c, "section_id") or ""),
                                str(_field(c, "section_path") or ""), str(_field(c, "quote") or ""), start, end,
                                float(_field(c, "score") or 0.0)))
    return out


def to_answer(value: Any, refusals: RefusalPhrases) -> SystemAnswer:
    """A string, a dict or an object with ``answer`` (and optionally ``found``, ``citations``)."""
    text = value if isinstance(value, str) else _field(value, "answer")
    if not isinstance(text, str):
        return SystemAnswer("", True, error=f"no answer text in {type(value).__name__}")
    found = _field(value, "found") if not isinstance(value, str) else None
    found = found if isinstance(found, bool) else not refusals.refused(text)
    return SystemAnswer(text, found, [] if isinstance(value, str) else _citations(_field(value, "citations")))


def _error(exc: BaseException) -> str:
    import httpx

    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return "timeout"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


class _External:
    """Times a call, turns its result into a ``SystemAnswer`` and any failure into an error."""

    kind = "system"

    def __init__(self, name: str, spec: str, refusals: RefusalPhrases, *, timeout_s: float,
                 wants_context: bool) -> None:
        self.name, self.spec, self.refusals = name, spec, refusals
        self.timeout_s = timeout_s
        self.wants_context = wants_context

    def _ask(self, question: str, context: list[str] | None) -> Any:
        raise NotImplementedError

    def run(self, question: str, context: list[str] | None) -> SystemAnswer:
        t0 = time.perf_counter()
        try:
            answer = to_answer(self._ask(question, context), self.refusals)
        except Exception as exc:  # a foreign system's failure is a wrong answer, never a crash
            answer = SystemAnswer("", True, error=_error(exc))
        answer.timings_ms = {"total": round((time.perf_counter() - t0) * 1000, 2)}
        return answer


def _passages(context: list[str] | None) -> str:
    return "\n\n".join(f"[{i}] {p}" for i, p in enumerate(context or [], 1))


class OpenAISystem(_External):
    """An OpenAI-compatible chat endpoint; temperature 0, the refusal phrase asked for verbatim."""

    def __init__(self, name: str, spec: str, refusals: RefusalPhrases, *, base_url: str, model: str,
                 timeout_s: float, wants_context: bool = True, api_key: str | None = None) -> None:
        super().__init__(name, spec, refusals, timeout_s=timeout_s, wants_context=wants_context)
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def messages(self, question: str, context: list[str] | None) -> list[dict[str, str]]:
        if self.wants_context:
            system = PROMPT_WITH_CONTEXT.format(refusal=self.refusals.canonical)
            user = f"资料：\n{_passages(context)}\n\n问题：{question}"
        else:
            system, user = PROMPT_WITHOUT_CONTEXT.format(refusal=self.refusals.canonical), question
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _ask(self, question: str, context: list[str] | None) -> Any:
        import httpx

        body = {"model": self.model, "messages": self.messages(question, context), "temperature": 0.0}
        r = httpx.post(self.url, json=body, headers=self.headers, timeout=self.timeout_s, trust_env=False)
        r.raise_for_status()
        return r.json()["choices"][0]["message"]["content"] or ""


_PATH_STEP = re.compile(r"[^.\[\]]+")


def json_path(data: Any, path: str) -> Any:
    """``answer``, ``data.answer``, ``choices[0].message.content`` or ``$.choices.0.text``."""
    for step in _PATH_STEP.findall(path.removeprefix("$")):
        data = data[int(step)] if isinstance(data, list) else data[step]
    return data


def _fill(value: Any, question: str, context: str) -> Any:
    """The template with ``{question}`` and ``{context}`` replaced in every string."""
    if isinstance(value, str):
        return value.replace("{question}", question).replace("{context}", context)
    if isinstance(value, dict):
        return {k: _fill(v, question, context) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, question, context) for v in value]
    return value


class HttpSystem(_External):
    """An endpoint described by a JSON template::

        {"url": "http://127.0.0.1:9000/qa", "method": "POST", "headers": {},
         "body": {"query": "{question}", "passages": "{context}"},
         "answer": "result.text", "found": "result.answered", "citations": "result.sources", "timeout_s": 30}

    ``body`` is sent as JSON (``params`` as the query string, for GET); ``{question}`` and
    ``{context}`` (the product's passages, numbered) are filled in every string. ``answer`` is
    the JSON path of the answer; ``found`` (a boolean) and ``citations`` (``doc``/``start``/
    ``end``/``quote`` objects) are optional paths. The system gets context when the template uses
    ``{context}``."""

    def __init__(self, name: str, spec: str, refusals: RefusalPhrases, *, template: dict[str, Any],
                 timeout_s: float) -> None:
        text = json.dumps(template, ensure_ascii=False)
        super().__init__(name, spec, refusals, timeout_s=float(template.get("timeout_s", timeout_s)),
                         wants_context="{context}" in text)
        self.template = template

    @classmethod
    def from_file(cls, name: str, spec: str, path: Path, refusals: RefusalPhrases, *, timeout_s: float) -> HttpSystem:
        try:
            template = json.loads(Path(path).read_text("utf-8-sig"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SystemSpecError(f"无法读取模板 {path}：{exc} / Cannot read the template {path}: {exc}") from exc
        if not isinstance(template, dict) or not str(template.get("url", "")).startswith(("http://", "https://")) \
                or not isinstance(template.get("answer"), str):
            raise SystemSpecError(f"模板 {path} 需要 url（http/https）和 answer（JSON 路径） / "
                                  f"The template {path} needs a url (http/https) and answer (a JSON path)")
        return cls(name, spec, refusals, template=template, timeout_s=timeout_s)

    def _ask(self, question: str, context: list[str] | None) -> Any:
        import httpx

        t = _fill(self.template, question, _passages(context))
        method = str(t.get("method", "POST")).upper()
        r = httpx.request(method, t["url"], headers=t.get("headers") or {}, params=t.get("params"),
                          json=t.get("body") if method != "GET" else None, timeout=self.timeout_s, trust_env=False)
        r.raise_for_status()
        data = r.json()
        try:
            answer = json_path(data, t["answer"])
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"answer path {t['answer']!r} not in the response") from exc
        if not isinstance(answer, str):
            raise ValueError(f"answer path {t['answer']!r} holds {type(answer).__name__}, not text")
        out: dict[str, Any] = {"answer": answer}
        for key in ("found", "citations"):
            if t.get(key):
                try:
                    out[key] = json_path(data, t[key])
                except (KeyError, IndexError, TypeError, ValueError):
                    pass  # optional: refusals fall back to the phrase list, citations to none
        return out


class PythonSystem(_External):
    """A callable ``f(question)`` or ``f(question, context=[...])`` returning a string, a dict or
    an ``Answer``-like object. It runs in a daemon thread so a hung call becomes a timeout."""

    def __init__(self, name: str, spec: str, refusals: RefusalPhrases, *, fn: Callable[..., Any],
                 timeout_s: float, wants_context: bool) -> None:
        super().__init__(name, spec, refusals, timeout_s=timeout_s, wants_context=wants_context)
        self.fn = fn

    def _ask(self, question: str, context: list[str] | None) -> Any:
        box: dict[str, Any] = {}

        def call() -> None:
            try:
                box["value"] = self.fn(question, context=context) if self.wants_context else self.fn(question)
            except BaseException as exc:  # re-raised in the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=call, daemon=True)
        worker.start()
        worker.join(self.timeout_s)
        if worker.is_alive():
            raise TimeoutError(f"no answer in {self.timeout_s:g} s")
        if "error" in box:
            raise box["error"]
        return box.get("value")


def _import(target: str) -> Callable[..., Any]:
    module, _, attr = target.rpartition(":")
    if not module or not attr:
        raise SystemSpecError(f"应为 py:模块:函数，而不是 py:{target} / Expected py:module:callable, not py:{target}")
    if os.getcwd() not in sys.path:  # the console script does not put the working folder on the path
        sys.path.insert(0, os.getcwd())
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise SystemSpecError(f"无法导入 {target}：{exc} / Cannot import {target}: {exc}") from exc
    if not callable(fn):
        raise SystemSpecError(f"{target} 不可调用 / {target} is not callable")
    return fn


def _takes_context(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "context" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def parse_system(text: str, refusals: RefusalPhrases, *, timeout_s: float = 30.0) -> QASystem:
    """A system from ``NAME=SPEC`` (see the module docstring)."""
    name, eq, spec = text.partition("=")
    name = name.strip()
    if not eq or not re.fullmatch(r"[\w.\-]+", name) or not spec:
        raise SystemSpecError(f"--system 应为 名称=规格，名称只含字母、数字、._-：{text!r} / "
                              f"--system must be NAME=SPEC with a name of letters, digits, . _ -: {text!r}")
    kind, colon, rest = spec.partition(":")
    if not colon or kind not in _OPTIONS:
        raise SystemSpecError(f"未知系统类型 {spec!r}（可选 openai:/http:/py:）"
                              f" / Unknown system {spec!r}: use openai:, http: or py:")
    target, options = rest, {}
    if "?" in rest:
        head, _, query = rest.rpartition("?")
        options = dict(parse_qsl(query, keep_blank_values=True))
        target = head
    unknown = set(options) - _OPTIONS[kind]
    if unknown:
        raise SystemSpecError(f"{kind}: 不支持选项 {', '.join(sorted(unknown))} / {kind}: unknown option(s) "
                              f"{', '.join(sorted(unknown))} (use {', '.join(sorted(_OPTIONS[kind]))})")
    if options.get("context", "retrieved") not in ("retrieved", "none"):
        raise SystemSpecError(f"context 只能是 retrieved 或 none：{spec!r}"
                              f" / context must be retrieved or none: {spec!r}")
    try:
        timeout = float(options.get("timeout", timeout_s))
    except ValueError:
        timeout = -1.0
    if not timeout > 0:
        raise SystemSpecError(f"timeout 应为正数（秒）：{spec!r}"
                              f" / timeout must be a positive number of seconds: {spec!r}")
    if kind == "openai":
        base_url, hash_, model = target.rpartition("#")
        if not hash_ or not model or not base_url.startswith(("http://", "https://")):
            raise SystemSpecError(f"应为 openai:<http(s)://地址>#<模型>：{spec!r}"
                                  f" / Expected openai:<http(s)://base_url>#<model>: {spec!r}")
        key_env = options.get("key_env")
        if key_env and key_env not in os.environ:
            raise SystemSpecError(f"环境变量 {key_env} 未设置 / The environment variable {key_env} is not set")
        return OpenAISystem(name, spec, refusals, base_url=base_url, model=model, timeout_s=timeout,
                            wants_context=options.get("context", "retrieved") == "retrieved",
                            api_key=os.environ.get(key_env) if key_env else None)
    if kind == "http":
        return HttpSystem.from_file(name, spec, Path(target), refusals, timeout_s=timeout)
    fn = _import(target)
    wants = options["context"] == "retrieved" if "context" in options else _takes_context(fn)
    if wants and not _takes_context(fn):
        raise SystemSpecError(f"{target} 没有 context 参数 / {target} takes no context parameter")
    return PythonSystem(name, spec, refusals, fn=fn, timeout_s=timeout, wants_context=wants)
