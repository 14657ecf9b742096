"""How one process encodes: the model, the encoder and its share of the cores, decided once.

An ``EncoderPlan`` is built from ``Settings`` (its fields are the settings of the same name) or
by hand in tests, and handed whole to ``Embedder``; ``share()`` turns it into the threads and
encode lanes this process may use beside its sibling workers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from rag.core.settings import BUILTIN_MODEL

if TYPE_CHECKING:
    from rag.core.settings import Settings

#: sentence-transformers' backends, for the torch encoder.
Backend = Literal["torch", "onnx", "openvino"]
#: Encoders an ``EncoderPlan`` may name.
ENCODERS = ("onnx", "torch")
#: Plan fields that are not settings (every other field is read from the setting of its name).
_NOT_SETTINGS = frozenset({"device"})


def usable_cpus() -> list[int]:
    """The CPUs this process may run on: a container's cpuset or ``taskset``, not the machine's count."""
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return list(range(os.cpu_count() or 1))


@dataclass(frozen=True)
class CoreShare:
    """What this process's share of the cores comes to: the ONNX Runtime intra-op threads, the CPUs
    they are pinned to (None = not pinned) and the encode lanes (batches running at once)."""

    onnx_threads: int
    onnx_cpus: list[int] | None
    lanes: int


@dataclass(frozen=True)
class EncoderPlan:
    """Everything an ``Embedder`` is told; the meaning of each field is documented in ``Settings``."""

    models_dir: Path
    model: str = BUILTIN_MODEL
    backend: Backend = "torch"
    encoder: str = "onnx"
    device: str = "cpu"
    embed_batch_size: int = 32
    torch_threads: int = 0
    onnx_threads: int = 0
    onnx_spin_us: int = 100
    onnx_pin: bool = True
    workers: int = 1
    query_cache_size: int = 0
    max_concurrent_encodes: int = 0
    query_batch_size: int = 16

    @classmethod
    def from_settings(cls, settings: Settings) -> EncoderPlan:
        """Each field from the setting of the same name, so a new encoder setting is one new field."""
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls) if f.name not in _NOT_SETTINGS})

    @property
    def onnx_serves(self) -> bool:
        """Whether ONNX Runtime is asked for: it serves the built-in model only."""
        return self.encoder == "onnx" and self.model == BUILTIN_MODEL

    def share(self) -> CoreShare:
        """Threads and lanes from the usable CPUs shared out among ``workers`` processes."""
        cpus, workers = usable_cpus(), max(1, self.workers)
        cores = len(cpus)
        onnx_threads = self.onnx_threads or max(1, cores // workers)
        # pinning only when this process's encoder owns every core: two workers cannot share out cores
        pinned = cpus if self.onnx_pin and workers == 1 and onnx_threads == cores > 1 else None
        threads = onnx_threads if self.onnx_serves else self.torch_threads or cores
        lanes = self.max_concurrent_encodes or max(1, cores // (threads * workers))
        return CoreShare(onnx_threads, pinned, lanes)
