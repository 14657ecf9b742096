"""What the phases of ``rag bench`` share: the settings, what to measure, the log, and the
handles they open lazily (the pipeline, the floor model, the questions)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.bench.stats import load_questions

if TYPE_CHECKING:
    from rag.core.settings import Settings
    from rag.pipeline import Pipeline


@dataclass
class BenchConfig:
    """What to measure and how much; the defaults keep one run near two minutes on 2 cores."""

    dataset: Path = Path("eval/dev.jsonl")
    queries: int = 30  # distinct questions per latency phase (each asked once: no cache hits)
    cached_queries: int = 10  # asked again afterwards, to show the query cache
    startup_runs: int = 3  # `rag --help` / `rag info` / bare python
    cold_runs: int = 1  # `rag ask` in a fresh process vs the floor process
    answer_check: int = 0  # questions asked of both encoders' pipelines; 0 = the whole dataset
    build_runs: int = 1
    sample: int = 0  # reports of the corpus the build phase indexes (even steps through the files); 0 = all
    passages: int = 400  # passages of the torch / ONNX batched encode comparison
    clients: tuple[int, ...] = (1, 4, 16)
    workers: tuple[int, ...] = (1, 2)
    seconds: float = 4.0  # per throughput level
    max_requests: int = 1500  # per throughput level; above what 4 s take here, so every level gets its full window
    server_timeout: float = 180.0
    phases: tuple[str, ...] = ("startup", "cold", "build", "encoders", "inprocess", "http", "pdf")


class BenchContext:
    """The state the phases share. The pipeline and the floor model are opened on first use, so a
    run of phases that need neither (startup, cold, pdf) never loads a model in this process."""

    def __init__(self, settings: Settings, config: BenchConfig, *, pipeline: Pipeline | None = None,
                 log: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.config = config
        self.log = log or (lambda msg: None)
        self.loaded: Pipeline | None = pipeline  # the pipeline, if one was given or opened so far
        self._floor_model: Any = None

    @property
    def pipeline(self) -> Pipeline:
        if self.loaded is None:
            from rag.pipeline import Pipeline

            # one encoder thread, so that the stages' ``rest`` compares with the encode's whole work and
            # not with a parallel encode's wall time; the served pipeline (``http``) uses the settings
            self.loaded = Pipeline.load(self.settings.model_copy(update={"onnx_threads": 1}))
        return self.loaded

    @property
    def floor_model(self) -> Any:
        """A separate, bare ``SentenceTransformer`` from the pipeline's model folder, on one torch
        thread whatever the pipeline's encoder left them at: the floor is the one-thread encode."""
        if self._floor_model is None:
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(1)
            self._floor_model = SentenceTransformer(self.pipeline.embedder.model_path, device="cpu",
                                                    local_files_only=True)
        return self._floor_model

    def floor_encode_ms(self, question: str) -> float:
        """One bare encode of ``question``: the floor every answer figure is divided by."""
        t0 = time.perf_counter()
        self.floor_model.encode([question], prompt="query: ", normalize_embeddings=True, convert_to_numpy=True)
        return (time.perf_counter() - t0) * 1000

    @cached_property
    def all_questions(self) -> list[str]:
        return load_questions(self.config.dataset, 0)

    def questions(self, n: int) -> list[str]:
        """The first ``n``: measured. Warm-ups take theirs from the end, so nothing measured is cached."""
        return self.all_questions[:n]

    def warmup_questions(self, n: int) -> list[str]:
        return self.all_questions[-n:]

    def model_path(self) -> str:
        """The model folder the settings name, the built-in model built first if it is the one."""
        from rag.core.settings import BUILTIN_MODEL
        from rag.embed.embedder import Embedder, build_builtin_model

        embedder = Embedder.from_settings(self.settings)
        if self.settings.model == BUILTIN_MODEL:
            build_builtin_model(self.settings.models_dir, progress=False)
        return embedder.model_path
