"""The figures every benchmark prints: medians and tails, ratios to a floor, and the questions asked."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any


def summary(values: list[float]) -> dict[str, float]:
    """Median, 95th percentile (nearest rank) and count; empty lists give zeros, not errors."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "n": 0}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"p50": round(statistics.median(ordered), 3), "p95": round(p95, 3), "n": len(ordered)}


def ratio(value: float, floor: float) -> float | None:
    return round(value / floor, 3) if floor > 0 else None


def load_questions(path: Path, n: int) -> list[str]:
    """The ``question`` field of each JSONL line, in file order."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line)["question"])
    return out[:n] if n > 0 else out


def fmt(v: Any) -> str:
    """A figure as the Markdown reports print it: three significant digits, whole from 100 up, ``–`` if none."""
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
    return "–" if v is None else str(v)
