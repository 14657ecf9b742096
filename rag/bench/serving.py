"""``rag bench``: how far the system is from the physical floor of answering a question.

The floor of one answer is encoding the query once; everything beyond it is overhead we own.
The floor is the bare one-thread torch encode (sentence-transformers); the ONNX Runtime encoder
that serves by default is measured beside it, with a check that both give the same answers.
Each system figure is therefore measured next to its floor, in the same run and on the same
machine, alternating floor and system samples (ABAB) so that load from other processes on a
shared machine hits both alike, and reported as medians and as a ratio to that floor.

The phases are functions of one shared ``BenchContext``: ``rag.bench.phases`` (start-up, cold
start, build, PDF), ``rag.bench.inprocess`` (stages of ``ask``, the encoders) and
``rag.bench.loopback`` (HTTP). ``rag.bench.report`` checks the targets and renders Markdown;
``rag.bench.scale`` holds the synthetic scale benchmark behind ``docs/scaling.md``.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.bench.context import BenchConfig, BenchContext
from rag.bench.inprocess import encoders, inprocess
from rag.bench.loopback import http
from rag.bench.phases import build, cold, pdf, startup
from rag.bench.report import acceptance

if TYPE_CHECKING:
    from rag.core.settings import Settings
    from rag.pipeline import Pipeline

#: Each phase in the order it runs. In-process before encoders: the answer comparison asks every
#: question, and the in-process stages must time questions the pipeline has not read before (its
#: per-text caches cold).
PHASES: dict[str, Callable[[BenchContext], dict]] = {
    "startup": startup, "cold": cold, "build": build, "inprocess": inprocess, "encoders": encoders,
    "http": http, "pdf": pdf,
}


class Benchmark:
    """Runs the phases of ``BenchConfig.phases`` and returns one JSON-ready report."""

    def __init__(self, settings: Settings, config: BenchConfig | None = None, *,
                 pipeline: Pipeline | None = None, log: Callable[[str], None] | None = None) -> None:
        self.context = BenchContext(settings, config or BenchConfig(), pipeline=pipeline, log=log)

    def run(self) -> dict:
        ctx = self.context
        report: dict[str, Any] = {"meta": self._meta()}
        for name, phase in PHASES.items():
            if name in ctx.config.phases:
                ctx.log(f"bench: {name}")
                t0 = time.perf_counter()
                report[name] = phase(ctx)
                report[name]["phase_seconds"] = round(time.perf_counter() - t0, 2)
        report["meta"]["bench_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        report["meta"]["torch_threads"] = _torch_threads()  # as the pipeline left them
        if ctx.loaded is not None:
            report["meta"]["model_path"] = ctx.loaded.embedder.model_path
            report["meta"]["encoder"] = ctx.loaded.embedder.encoder
        report["acceptance"] = acceptance(report)
        return report

    def _meta(self) -> dict:
        settings, config = self.context.settings, self.context.config
        return {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count(),
                "load_avg": [round(x, 2) for x in os.getloadavg()], "python": platform.python_version(),
                "torch_threads": None, "settings_torch_threads": settings.torch_threads,
                "query_cache_size": getattr(settings, "query_cache_size", None),
                "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}}


def _torch_threads() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None
