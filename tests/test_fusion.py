"""Hybrid fusion of the dense and BM25 candidate lists: reciprocal ranks (units a list left out
rank after it, in unit order) and min-max scores, the same float32 values as the numpy
formulation on any lists."""

from __future__ import annotations

import numpy as np
import pytest

from rag.answer.retrieval import HybridRetriever
from rag.stores.base import Candidates


def _reference(h: HybridRetriever, dense: Candidates, bm25: Candidates):
    """The fusion written with numpy array operations (as it was first written)."""
    ids = np.union1d(dense.ids, bm25.ids).astype(np.int64)
    raw = []
    for c in (dense, bm25):
        pos = {u: i for i, u in enumerate(c.ids.tolist())}
        raw.append((np.array([pos.get(u, -1) for u in ids.tolist()], dtype=np.int64), c))
    fused = np.zeros(ids.size, dtype=np.float32)
    for (where, c), weight in zip(raw, (h.dense_weight, h.bm25_weight)):
        if h.fusion == "rrf":
            missing = where < 0
            fused += weight / (h.rrf_k + np.where(missing, len(c) + np.cumsum(missing), where + 1).astype(np.float32))
        elif len(c):
            lo, hi = float(c.scores.min()), float(c.scores.max())
            s = np.where(where >= 0, c.scores[np.maximum(where, 0)], lo)
            fused += weight * ((s - lo) / (hi - lo) if hi > lo else np.zeros_like(s))
    if h.fusion == "rrf":
        fused *= h.rrf_k
    scores = [np.where(where >= 0, c.scores[np.maximum(where, 0)] if len(c) else 0.0, np.nan) for where, c in raw]
    return ids, fused, scores[0], scores[1]


def _cands(ids, scores) -> Candidates:
    return Candidates(np.array(ids, dtype=np.int64), np.array(scores, dtype=np.float32))


def test_rrf_ranks_units_a_list_left_out_after_it_in_unit_order():
    h = HybridRetriever(None, None, rrf_k=60)
    ids, fused, dense, bm25 = h.fuse(_cands([7, 3], [0.9, 0.8]), _cands([3, 5], [4.0, 2.0]))
    assert ids.tolist() == [3, 5, 7]
    # dense ranks: 3 → 2, 5 → left out (first after its 2 units: 3), 7 → 1; BM25: 3 → 1, 5 → 2, 7 → 3
    expected = [60 * (1 / 62 + 1 / 61), 60 * (1 / 63 + 1 / 62), 60 * (1 / 61 + 1 / 63)]
    assert fused.tolist() == pytest.approx(expected, rel=1e-6)
    assert np.isnan(dense[1]) and dense[[0, 2]].tolist() == pytest.approx([0.8, 0.9])
    assert bm25[:2].tolist() == [4.0, 2.0] and np.isnan(bm25[2])


@pytest.mark.parametrize("fusion", ["rrf", "linear"])
def test_fusion_gives_the_numpy_formulations_values_bit_for_bit(fusion):
    rng = np.random.default_rng(5)
    for weights, rrf_k in (((1.0, 1.0), 60), ((0.7, 1.3), 13)):
        h = HybridRetriever(None, None, fusion=fusion, rrf_k=rrf_k, dense_weight=weights[0], bm25_weight=weights[1])
        for _ in range(300):
            n, k = int(rng.integers(0, 30)), int(rng.integers(0, 30))
            d_scores = np.full(n, 0.5) if rng.random() < 0.2 else rng.random(n)  # ties too
            dense = _cands(rng.choice(100, n, replace=False), d_scores)
            bm25 = _cands(rng.choice(100, k, replace=False), rng.random(k) * 20)
            for got, want in zip(h.fuse(dense, bm25), _reference(h, dense, bm25)):
                assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
