"""The in-process phases of ``rag bench``: ``Pipeline.ask`` timed stage by stage beside the bare
encode, and the two encoders (torch, ONNX Runtime) side by side, with whether a pipeline on each
gives the same answers."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.bench.context import BenchContext
from rag.bench.stats import ratio, summary

if TYPE_CHECKING:
    from rag.pipeline import Pipeline

#: The stages of one in-process answer, in the order the report lists them.
STAGES = ("analyze", "encode", "dense_search", "bm25", "fusion", "compose", "ask", "json", "rest")


class StageClock:
    """Times named calls of the live pipeline objects by wrapping them as instance attributes
    for the duration of a block, so the stages are those of the real ``ask()`` path."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self._undo: list[tuple[object, str]] = []

    def wrap(self, obj: object, attr: str, stage: str) -> None:
        original = getattr(obj, attr)
        spent = self.spent

        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[stage] += time.perf_counter() - t0

        setattr(obj, attr, timed)
        self._undo.append((obj, attr))

    def take(self) -> dict[str, float]:
        """Milliseconds per stage since the last call."""
        out = {k: v * 1000 for k, v in self.spent.items()}
        self.spent.clear()
        return out

    @contextmanager
    def attached(self, pipeline: Pipeline, retriever: str) -> Iterator[StageClock]:
        r = pipeline.retrievers[retriever]
        dense, bm25 = getattr(r, "dense", None), getattr(r, "bm25", None)
        self.wrap(pipeline.analyzer, "analyze", "analyze")
        self.wrap(r, "retrieve", "retrieve")
        self.wrap(pipeline.embedder, "encode_queries", "encode")
        if dense is not None:  # the store's candidate searches, whichever engine it is
            self.wrap(dense.store, "dense_candidates", "dense_search")
        if bm25 is not None:
            self.wrap(bm25, "candidates", "bm25")
        self.wrap(pipeline.composer, "run", "compose")
        try:
            yield self
        finally:
            for obj, attr in reversed(self._undo):
                delattr(obj, attr)
            self._undo.clear()


def inprocess(ctx: BenchContext, retriever: str = "hybrid") -> dict:
    """``Pipeline.ask`` by stage, each question once (cache misses), alternating with the floor."""
    p = ctx.pipeline
    for q in ctx.warmup_questions(3):
        p.ask(q, retriever=retriever)
        ctx.floor_encode_ms(q)
    questions = ctx.questions(ctx.config.queries)
    stages: dict[str, list[float]] = defaultdict(list)
    floor: list[float] = []
    clock = StageClock()
    with clock.attached(p, retriever):
        for q in questions:
            floor.append(ctx.floor_encode_ms(q))
            clock.take()
            t0 = time.perf_counter()
            answer = p.ask(q, retriever=retriever)
            total = (time.perf_counter() - t0) * 1000
            spent = clock.take()
            t0 = time.perf_counter()
            json.dumps(answer.to_dict(), ensure_ascii=False)  # what the API sends
            stages["json"].append((time.perf_counter() - t0) * 1000)
            stages["rest"].append(total - spent.get("encode", 0.0) + stages["json"][-1])
            stages["ask"].append(total)
            for name in ("analyze", "encode", "dense_search", "bm25", "compose"):
                stages[name].append(spent.get(name, 0.0))
            stages["fusion"].append(spent.get("retrieve", 0.0) - spent.get("encode", 0.0)
                                    - spent.get("dense_search", 0.0) - spent.get("bm25", 0.0))
    cached = []
    for q in questions[: ctx.config.cached_queries]:
        t0 = time.perf_counter()
        p.ask(q, retriever=retriever)
        cached.append((time.perf_counter() - t0) * 1000)
    return _stage_report(summary(floor), {s: summary(stages[s]) for s in STAGES}, summary(cached),
                         p.embedder.encoder)


def _stage_report(floor: dict, stages: dict[str, dict], cached: dict, encoder: str) -> dict:
    """The in-process figures beside the floor, as ratios."""
    out: dict[str, Any] = {"floor_encode_ms": floor, "stages_ms": stages, "ask_cached_ms": cached}
    out["ratio_p50"] = ratio(stages["ask"]["p50"], floor["p50"])
    out["ratio_p95"] = ratio(stages["ask"]["p95"], floor["p95"])
    out["cached_ratio_p50"] = ratio(cached["p50"], floor["p50"])
    out["overhead_p50_ms"] = round(stages["ask"]["p50"] - stages["encode"]["p50"], 3)
    # everything but the encode (question reading, search, fusion, composing, JSON) against the encode
    out["rest_vs_encode"] = ratio(stages["rest"]["p50"], stages["encode"]["p50"])
    out["encoder"] = encoder
    return out


def encoders(ctx: BenchContext) -> dict:
    """The bare one-thread torch encode against the bare ONNX Runtime encode of the same
    questions (ABAB), and whether a pipeline on each encoder gives the same answers."""
    from rag.embed.onnx_encoder import OnnxEncoder, export_passed

    folder = Path(ctx.model_path())
    onnx = OnnxEncoder(folder, threads=1) if export_passed(folder) else None

    def onnx_ms(encoder: OnnxEncoder, q: str) -> float:
        t0 = time.perf_counter()
        encoder.encode([q], prompt_name="query")
        return (time.perf_counter() - t0) * 1000

    for q in ctx.warmup_questions(3):
        ctx.floor_encode_ms(q)
        if onnx is not None:
            onnx_ms(onnx, q)
    torch_runs, onnx_runs = [], []
    for q in ctx.questions(ctx.config.queries):
        torch_runs.append(ctx.floor_encode_ms(q))
        if onnx is not None:
            onnx_runs.append(onnx_ms(onnx, q))
    t, o = summary(torch_runs), summary(onnx_runs)
    return {"torch_encode_ms": t, "onnx_encode_ms": o, "onnx_vs_torch_p50": ratio(o["p50"], t["p50"]),
            "onnx_export_passed": onnx is not None, "pipeline_encoder": ctx.pipeline.embedder.encoder,
            "answers": compare_answers(ctx) if onnx is not None else None}


def compare_answers(ctx: BenchContext) -> dict:
    """Every question (or ``answer_check`` of them) through the served pipeline and one on the
    other encoder; answers are compared whole (text, citations, scores), timings aside."""
    from rag.pipeline import Pipeline

    other_name = "torch" if ctx.pipeline.embedder.encoder == "onnx" else "onnx"
    other = Pipeline.load(ctx.settings.model_copy(update={"encoder": other_name}))
    n = ctx.config.answer_check or len(ctx.all_questions)
    differing = []
    for q in ctx.all_questions[:n]:
        a, b = ctx.pipeline.ask(q).to_dict(), other.ask(q).to_dict()
        a.pop("timings_ms", None)
        b.pop("timings_ms", None)
        if a != b:
            differing.append(q)
    ctx.pipeline.embedder.clear_query_cache()  # later phases time encodes, not cache hits
    return {"against": other.embedder.encoder, "compared": min(n, len(ctx.all_questions)),
            "differences": len(differing), "differing": differing[:5]}
