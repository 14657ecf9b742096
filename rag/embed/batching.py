"""Micro-batching: concurrent query encodes share one pass over the model.

Encoding one short question reads every weight of the model to compute a couple of dozen token
rows, so on a CPU a batch of eight questions costs far less than eight single encodes. A
request that finds every encode lane busy queues its texts; whoever starts the next batch takes
everything queued (up to ``max_batch`` texts). A lone request starts at once, with no waiting
window, so a quiet server answers as fast as without batching.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["MicroBatcher"]


@dataclass(eq=False)
class _Job:
    texts: list[str]
    vectors: np.ndarray | None = None
    error: BaseException | None = None
    done: bool = False


class MicroBatcher:
    """Calls ``encode`` with the texts of every caller waiting, at most ``lanes`` batches at once.

    There is no batching thread: a caller that finds a free lane runs the batch itself (its own
    texts and whatever else is queued) and hands the other callers their rows.
    """

    def __init__(self, encode: Callable[[list[str]], np.ndarray], *, max_batch: int = 16, lanes: int = 1) -> None:
        self._encode = encode
        self.max_batch = max(1, max_batch)
        self.lanes = max(1, lanes)
        self._pending: deque[_Job] = deque()
        self._running = 0
        self._cond = threading.Condition()

    def __call__(self, texts: list[str]) -> np.ndarray:
        """One row per text, in order, as ``encode`` would return for these texts alone."""
        job = _Job(list(texts))
        with self._cond:
            self._pending.append(job)
        while True:
            with self._cond:
                while not job.done and (self._running >= self.lanes or not self._pending):
                    self._cond.wait()
                if job.done:
                    break
                batch = self._take()
                self._running += 1
            self._run(batch)  # may be other callers' jobs only: then wait again for ours
        if job.error is not None:
            raise job.error
        assert job.vectors is not None
        return job.vectors

    def _take(self) -> list[_Job]:
        """Queued jobs in arrival order while they fit in ``max_batch`` texts (always at least one)."""
        batch = [self._pending.popleft()]
        size = len(batch[0].texts)
        while self._pending and size + len(self._pending[0].texts) <= self.max_batch:
            size += len(self._pending[0].texts)
            batch.append(self._pending.popleft())
        return batch

    def _run(self, batch: list[_Job]) -> None:
        texts = [t for job in batch for t in job.texts]
        try:
            vectors = self._encode(texts)
            start = 0
            for job in batch:
                job.vectors = vectors[start : start + len(job.texts)]
                start += len(job.texts)
        except BaseException as exc:  # every caller in the batch gets the failure, none hangs
            for job in batch:
                job.error = exc
        finally:
            with self._cond:
                self._running -= 1
                for job in batch:
                    job.done = True
                self._cond.notify_all()
