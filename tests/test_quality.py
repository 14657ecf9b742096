"""Answer quality guarded in the test suite: per question type, the dev set's accuracy may not
drop below what the shipped pipeline reaches (measured with `rag eval --dataset eval/dev.jsonl`).

A change that trades one type for another must lower a floor here on purpose, in its own commit.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from rag.evaluation.datasets import load_dataset
from rag.evaluation.metrics import answer_correct

DEV = Path(__file__).resolve().parents[1] / "eval" / "dev.jsonl"

#: correct answers / questions of each type on eval/dev.jsonl (hybrid retriever, default settings)
FLOORS = {
    "colloquial": 20 / 22, "english": 17 / 18, "entity": 43 / 46, "figure": 62 / 62, "keyword": 22 / 22,
    "list": 21 / 22, "ranking": 11 / 11, "two_part": 13 / 13, "unanswerable": 25 / 26, "yes_no": 10 / 10,
}


@pytest.fixture(scope="module")
def accuracy(pipeline) -> dict[str, float]:
    """Accuracy by type, the way `rag eval` scores it: an answerable question needs a found answer
    containing the gold; an unanswerable one needs a refusal."""
    outcomes: dict[str, list[bool]] = defaultdict(list)
    for item in load_dataset(DEV).items:
        answer = pipeline.ask(item.question)
        ok = answer.found and answer_correct(answer.answer, item.answers, item.all_of) if item.answerable \
            else not answer.found
        outcomes[item.type].append(ok)
    return {t: sum(v) / len(v) for t, v in outcomes.items()}


def test_every_type_has_a_floor(accuracy):
    assert set(accuracy) == set(FLOORS)


@pytest.mark.parametrize("kind", sorted(FLOORS))
def test_accuracy_floor(accuracy, kind):
    assert accuracy[kind] >= FLOORS[kind] - 1e-9, f"{kind}: {accuracy[kind]:.3f} < floor {FLOORS[kind]:.3f}"
