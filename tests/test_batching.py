"""Micro-batching of query encodes: callers queue behind busy lanes and share the next batch."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from rag.embed.batching import MicroBatcher
from rag.embed.embedder import Embedder
from rag.embed.plan import EncoderPlan


class SlowEncoder:
    """Encodes a text as [its number, batch size]; the first call holds until released, so
    that the test can pile callers up behind a busy lane."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.started = threading.Event()
        self.lock = threading.Lock()
        self.active = self.peak = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self.lock:
            self.batches.append(list(texts))
            self.active += 1
            self.peak = max(self.peak, self.active)
        self.started.set()
        self.release.wait(5)
        with self.lock:
            self.active -= 1
        if any(t == "boom" for t in texts):
            raise ValueError("encoder failed")
        return np.array([[float(t.split("-")[-1]), len(texts)] for t in texts], np.float32)


def _ask_all(batcher: MicroBatcher, groups: list[list[str]]) -> tuple[dict[int, object], list[threading.Thread]]:
    results: dict[int, object] = {}

    def ask(i: int, texts: list[str]) -> None:
        try:
            results[i] = batcher(texts)
        except ValueError as exc:
            results[i] = exc

    threads = [threading.Thread(target=ask, args=(i, g)) for i, g in enumerate(groups)]
    for t in threads:
        t.start()
    return results, threads


def test_a_lone_caller_is_encoded_at_once_in_its_own_batch():
    enc = SlowEncoder()
    enc.release.set()
    out = MicroBatcher(enc, max_batch=8)(["q-1", "q-2"])
    assert enc.batches == [["q-1", "q-2"]]
    assert out[:, 0].tolist() == [1.0, 2.0]


def test_callers_queued_behind_a_busy_lane_share_one_batch_and_get_their_own_rows():
    enc = SlowEncoder()
    batcher = MicroBatcher(enc, max_batch=16, lanes=1)
    first, threads = _ask_all(batcher, [["q-0"]])
    assert enc.started.wait(5)
    rest, more = _ask_all(batcher, [[f"q-{i}", f"q-{i + 100}"] for i in range(1, 6)])
    while sum(len(j.texts) for j in batcher._pending) < 10:  # all five queued behind the busy lane
        threading.Event().wait(0.005)
    enc.release.set()
    for t in threads + more:
        t.join(5)
    assert enc.peak == 1
    assert len(enc.batches) == 2 and sorted(enc.batches[1]) == sorted(f"q-{i}" for n in range(1, 6) for i in (n, n + 100))
    for i in range(5):
        rows = rest[i]
        assert rows[:, 0].tolist() == [i + 1, i + 101]  # each caller its own rows, in order
        assert rows[:, 1].tolist() == [10, 10]  # computed in the shared batch
    assert first[0][:, 0].tolist() == [0.0]


def test_a_batch_never_exceeds_max_batch_and_lanes_bound_concurrency():
    enc = SlowEncoder()
    batcher = MicroBatcher(enc, max_batch=3, lanes=2)
    results, threads = _ask_all(batcher, [[f"q-{i}"] for i in range(9)])
    threading.Event().wait(0.1)
    enc.release.set()
    for t in threads:
        t.join(5)
    assert enc.peak <= 2
    assert max(len(b) for b in enc.batches) <= 3
    assert sorted(float(r[0, 0]) for r in results.values()) == [float(i) for i in range(9)]


def test_a_failed_batch_fails_every_caller_in_it_and_nobody_hangs():
    enc = SlowEncoder()
    batcher = MicroBatcher(enc, max_batch=16, lanes=1)
    first, threads = _ask_all(batcher, [["q-0"]])
    assert enc.started.wait(5)
    rest, more = _ask_all(batcher, [["boom"], ["q-2"]])
    while len(batcher._pending) < 2:
        threading.Event().wait(0.005)
    enc.release.set()
    for t in threads + more:
        t.join(5)
        assert not t.is_alive()
    assert isinstance(rest[0], ValueError) and isinstance(rest[1], ValueError)  # shared the failing batch
    assert first[0][:, 0].tolist() == [0.0]
    enc.batches.clear()
    assert batcher(["q-7"])[:, 0].tolist() == [7.0]  # the batcher still works afterwards


@pytest.mark.parametrize("workers, lanes", [(1, 1), (2, 1)])
def test_encoder_threads_and_lanes_are_shared_out_among_workers(tmp_path, monkeypatch, workers, lanes):
    monkeypatch.setattr("rag.embed.plan.usable_cpus", lambda: [0, 1])
    embedder = Embedder(EncoderPlan(models_dir=tmp_path, workers=workers))
    assert embedder.onnx_threads == 2 // workers
    assert embedder._batcher.lanes == lanes
