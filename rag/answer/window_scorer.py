"""A small learned scorer for answer windows: which window answers, and whether any does.

The extractive composer describes every candidate window (a run of clauses inside a retrieved
unit) by the same facts its hand-set score used to add up: retrieval scores, term and
character-bigram coverage, whether the window has the asked kind of figure, year and scope
agreement, heading matches. A logistic regression over those facts, fitted on questions with
gold answers (``rag train``), gives each window the probability that it answers. The composer
answers with the most probable window and refuses when even that one falls below the fitted
threshold, so one model decides both the window and the refusal.

Weights live in ``rag/data/scorer.json`` with a version and the feature names, so a stale file
is detected instead of silently misread. Fitting needs scikit-learn; scoring needs only numpy.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from rag.core.errors import RagError
from rag.core.paths import DATA_DIR

WEIGHTS_PATH = DATA_DIR / "scorer.json"
VERSION = 1


@dataclass
class WindowFacts:
    """What the composer knows about one candidate window; every field is a number in about [0, 1]."""

    coverage: float = 0.0  # question terms (with synonyms) found in the window, idf-weighted
    coverage_context: float = 0.0  # … found in the window's heading path
    coverage_all: float = 0.0  # … in window plus headings
    bigrams: float = 0.0  # share of the topic's character bigrams found in window plus headings
    bigrams_window: float = 0.0  # … in the window alone
    novel: float = 0.0  # what the window says beyond the question (capped)
    length: float = 0.0  # window length / the longest window allowed
    proximity: float = 0.0  # the question's terms close together in the window, as asked
    figure_wanted_found: float = 0.0  # a figure is asked and the window adds one
    figure_wanted_missing: float = 0.0  # a figure is asked and the window adds none
    figure_other_metric: float = 0.0  # the window's figures measure another metric than the one asked
    form_ok: float = 0.0  # a unit, date or name is asked and the window has it
    form_missing: float = 0.0  # … and the window lacks it
    kind_bonus: float = 0.0  # what the asked kinds ([kinds.*]: ranking, name, date …) find in the window
    year_missing: float = 0.0  # a year is asked that neither window nor headings mention
    scope_match: float = 0.0  # the question's part (review/plan) is the section's
    scope_mismatch: float = 0.0
    heading: float = 0.0  # the window is a heading line
    part_heading: float = 0.0  # the question asks about a numbered part and this is its heading
    retrieval: float = 0.0  # fused retrieval score / the best one
    rank: float = 0.0  # retrieval rank / depth
    dense: float = 0.0  # cosine of question and unit (soft match through the embedding model)
    bm25: float = 0.0  # BM25 score / the best one among the hits
    english: float = 0.0  # the question is in English
    english_dense: float = 0.0  # English × cosine: meaning is what an English question can match on
    glossary: float = 0.0  # English question: share of its glossary terms found in window plus headings
    no_terms: float = 0.0  # the question has no topic words to cover

    def vector(self) -> list[float]:
        return [float(getattr(self, f.name)) for f in fields(self)]


FEATURES: tuple[str, ...] = tuple(f.name for f in fields(WindowFacts))


class ScorerError(RagError, ValueError):
    """A weights file that does not fit this code (other version or features)."""


@dataclass
class ScorerWeights:
    """A fitted scorer: coefficients on raw facts (standardisation folded in) and the refusal threshold."""

    coef: list[float]
    intercept: float
    threshold: float  # a part is refused when its best window's probability is below this
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    version: int = VERSION
    trained_on: list[str] = field(default_factory=list)  # datasets (and reports held out)
    fit: dict = field(default_factory=dict)  # training figures: rows, questions, accuracy at the threshold

    def save(self, path: Path = WEIGHTS_PATH) -> None:
        Path(path).write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n", "utf-8")

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> ScorerWeights:
        try:
            raw = json.loads(Path(path).read_text("utf-8"))
            weights = cls(**raw)
        except (OSError, ValueError, TypeError) as exc:
            raise ScorerError(f"无法读取评分权重 {path}：{exc} / Cannot read scorer weights {path}: {exc}") from exc
        if weights.version != VERSION or weights.features != list(FEATURES):
            raise ScorerError(f"评分权重 {path} 与代码不符，请运行 `rag train` / Scorer weights {path} do not fit "
                              f"this code (version {weights.version}, {len(weights.features)} features); "
                              "run `rag train`")
        return weights


class WindowScorer:
    """Probability that a window answers its question part: ``sigmoid(coef · facts + intercept)``."""

    def __init__(self, weights: ScorerWeights) -> None:
        self.weights = weights
        self._coef = np.asarray(weights.coef, dtype=np.float64)
        self.threshold = weights.threshold

    @classmethod
    def load(cls, path: Path = WEIGHTS_PATH) -> WindowScorer:
        return cls(ScorerWeights.load(path))

    def probabilities(self, facts: Sequence[WindowFacts]) -> np.ndarray:
        if not facts:
            return np.zeros(0)
        x = np.asarray([f.vector() for f in facts], dtype=np.float64)
        return 1.0 / (1.0 + np.exp(-(x @ self._coef + self.weights.intercept)))

    def probability(self, facts: WindowFacts) -> float:
        z = float(np.dot(self._coef, facts.vector()) + self.weights.intercept)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


@dataclass
class Example:
    """One question part's candidate windows, their labels (1 = the window answers) and whether
    the part has an answer at all."""

    group: str  # question id (and part), so the threshold is chosen per part, not per window
    facts: list[WindowFacts]
    labels: list[int]
    answerable: bool
    report: str = ""  # doc id of the evidence, for leave-one-report-out


def choose_threshold(best: Sequence[float], ok: Sequence[bool], answerable: Sequence[bool]) -> tuple[float, float]:
    """The refusal threshold with the most parts right: an answerable part is right when its most
    probable window answers and is above the threshold, an unanswerable one when it is below.
    Ties go to the middle of the best interval. Returns (threshold, accuracy)."""
    cands = sorted(set(best))
    cuts = [0.0] + [(a + b) / 2 for a, b in zip(cands, cands[1:], strict=False)] + [1.0]
    scores = []
    for t in cuts:
        right = sum((b >= t and o) if a else (b < t) for b, o, a in zip(best, ok, answerable, strict=True))
        scores.append(right)
    top = max(scores)
    winners = [t for t, s in zip(cuts, scores, strict=True) if s == top]
    return winners[len(winners) // 2], top / max(len(best), 1)


def fit(examples: Sequence[Example], *, c: float = 1.0, trained_on: Sequence[str] = (),
        calibrate: Sequence[Example] | None = None) -> ScorerWeights:
    """Logistic regression on every candidate window of every part, then the refusal threshold
    on the parts' best windows: of ``calibrate`` when given (the questions people wrote, while
    generated ones only shape the coefficients), else of ``examples``. Standardisation is folded
    into the stored coefficients."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray([f.vector() for e in examples for f in e.facts], dtype=np.float64)
    y = np.asarray([lab for e in examples for lab in e.labels], dtype=np.int64)
    if x.size == 0 or y.min(initial=1) == y.max(initial=0):
        raise ScorerError("训练数据中需要既有正例也有负例 / Training needs both answering and non-answering windows")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")
    model.fit((x - mean) / scale, y)
    coef = model.coef_[0] / scale
    intercept = float(model.intercept_[0] - np.dot(coef, mean))
    weights = ScorerWeights(coef=[round(float(v), 6) for v in coef], intercept=round(intercept, 6), threshold=0.5,
                            trained_on=list(trained_on))
    scorer = WindowScorer(weights)
    best, ok = [], []
    calibrate = examples if calibrate is None else calibrate
    for e in calibrate:
        p = scorer.probabilities(e.facts)
        i = int(np.argmax(p)) if p.size else -1
        best.append(float(p[i]) if p.size else 0.0)
        ok.append(bool(p.size and e.labels[i]))
    weights.threshold, accuracy = choose_threshold(best, ok, [e.answerable for e in calibrate])
    weights.threshold = round(weights.threshold, 6)
    weights.fit = {"windows": int(len(y)), "positive_windows": int(y.sum()), "parts": len(examples),
                   "calibration_parts": len(calibrate), "answerable_parts": sum(e.answerable for e in calibrate),
                   "part_accuracy": round(accuracy, 4), "c": c}
    return weights


def scorer_from(name: str) -> WindowScorer | None:
    """The window scorer a setting names: ``hand`` (None: hand-set weights) or ``learned``."""
    if name == "hand":
        return None
    if name == "learned":
        return WindowScorer.load()
    raise ScorerError(f"未知的评分方式 {name!r}（可选 hand/learned） / "
                      f"Unknown answer scorer {name!r}: use hand or learned")
