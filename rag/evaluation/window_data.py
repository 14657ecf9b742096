"""Training examples for the learned window scorer (``rag.answer.window_scorer``), from questions with gold
answers: every candidate window of every question part, described by the extractive composer
(``ExtractiveComposer.learned.candidates``) and labelled by whether its answer sentence would be judged
correct (``ExtractiveComposer.framed``: the sentence it would write, without the citation marker).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.answer.window_scorer import Example

#: A window that answers but runs this many characters longer than the shortest window of its part
#: that answers is labelled a miss: the scorer learns the short answer a reader wants, not the
#: longest run of clauses that happens to hold the figure (on the real reports that halved the
#: answers' length at the same accuracy, leave one report out).
CONCISE_SLACK_CHARS = 40

if TYPE_CHECKING:
    from rag.evaluation.datasets import EvalItem
    from rag.pipeline import Pipeline


def label(text: str, item: EvalItem, parts: int) -> int:
    """1 when a window's sentence answers: the whole gold for a one-part question, any gold
    string for one part of a multi-part question."""
    from rag.evaluation.metrics import answer_correct, contains_answer

    if not item.answerable:
        return 0
    if parts == 1:
        return int(answer_correct(text, item.answers, item.all_of))
    return int(any(contains_answer(text, a) for a in item.all_of or item.answers))


def collect_examples(pipeline: Pipeline, items: Sequence[EvalItem], *, retriever: str = "hybrid") -> list[Example]:
    """Training examples for ``rag.answer.window_scorer.fit``: one per question part."""
    composer = pipeline.composer
    out = []
    for item in items:
        parts = pipeline.analyzer.analyze(item.question)
        for n, part in enumerate(parts):
            hits = pipeline.retrievers[retriever].retrieve(part, pipeline.settings.top_k)
            cands = composer.learned.candidates(part, hits)
            labels = concise([label(composer.framed(w), item, len(parts)) for w, _ in cands],
                             [len(w.text) for w, _ in cands])
            out.append(Example(group=f"{item.id}#{n}", facts=[f for _, f in cands], labels=labels,
                               answerable=item.answerable))
    return out


def concise(labels: list[int], lengths: list[int], slack: int = CONCISE_SLACK_CHARS) -> list[int]:
    """Only the answering windows within ``slack`` characters of the shortest one stay positive."""
    shortest = min((n for lab, n in zip(labels, lengths, strict=True) if lab), default=None)
    if shortest is None:
        return labels
    return [int(bool(lab) and n <= shortest + slack) for lab, n in zip(labels, lengths, strict=True)]


def hand_threshold(pipeline: Pipeline, items: Sequence[EvalItem], *, retriever: str = "hybrid") -> tuple[float, float]:
    """The hand-set gate's refusal threshold chosen on ``items`` (the tuning reports' questions)
    with the learned scorer's chooser: each part's picked window, its support and whether its
    sentence answers. Returns (threshold, part accuracy)."""
    from rag.answer.window_scorer import choose_threshold

    composer = pipeline.composer
    best, ok, answerable = [], [], []
    for item in items:
        parts = pipeline.analyzer.analyze(item.question)
        for part in parts:
            hits = pipeline.retrievers[retriever].retrieve(part, pipeline.settings.top_k)
            window, support = composer.answer_part(part, list(hits))
            best.append(support)
            ok.append(bool(window is not None and label(composer.framed(window), item, len(parts))))
            answerable.append(item.answerable)
    return choose_threshold(best, ok, answerable)
