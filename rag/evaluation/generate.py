"""Training questions generated from the reports' own sentences: a metric with its figure makes a
question, so the answer scorer can learn from far more reports than anyone writes questions for.

The commitments tracker already reads every «metric + figure» of a report with the part it stands
in: an achievement of the review part (its year is the one reviewed, usually the plan year minus
one), or a target of the plan part. Each one that its report states once (no second figure of the
same metric and unit, which would make the question ambiguous) becomes a question in the words of
[generate] in ``rag/data/questions.toml``, answered by that figure, with the clause as evidence.

Unanswerable questions come two ways: a metric asked of a report that never names it, and a
metric asked for a year its report cannot speak of (after the plan year). Both are labelled
without a person, so the refusal gate learns from them as much as the window chooser.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from rag.evaluation.datasets import EvalDataset, EvalItem
from rag.genre.lexicon import Lexicon

if TYPE_CHECKING:
    from rag.commitments.record import Commitment
    from rag.core.types import Document


def _usable(c: Commitment, words: dict) -> bool:
    """A metric a reader could ask for by name: Chinese, a few characters, no figure inside."""
    m = c.metric
    return (c.value is not None and words["min_chars"] <= len(m) <= words["max_chars"]
            and not any(ch.isdigit() or ch.isascii() for ch in m)
            and not m.startswith(tuple(words["bad_starts"])) and not any(w in m for w in words["bad_words"]))


def _question(c: Commitment, year: int | None, planned: int | None, words: dict, rng: random.Random) -> str:
    """The question's words for one record: its year (or 去年/今年), the metric and the ask."""
    percent = (c.unit or "") in ("%", "％")
    if c.kind == "target":
        when = rng.choice([f"{planned}年", words["this_year"]]) if planned else words["this_year"]
        ask = rng.choice(words["target_percent" if percent else "target_amount"])
    else:
        when = f"{year}年" if year else ""
        if year and planned and year == planned - 1 and rng.random() < 0.4:
            when = words["last_year"]
        ask = rng.choice(words["review_percent" if percent else "review_amount"])
    return f"{when}{c.metric}{ask}"


def generate(documents: Sequence[Document], *, per_report: int = 40, seed: int = 0,
             lexicon: Lexicon | None = None) -> EvalDataset:
    """Up to ``per_report`` answerable questions per report and a quarter as many unanswerable
    ones, each with ``docs`` naming its report (ids as indexed)."""
    from rag.commitments.extract import CommitmentExtractor
    from rag.ingest.corpus import plan_year

    lexicon = lexicon or Lexicon.default()
    words = lexicon.table("question")["generate"]
    rng = random.Random(seed)
    records = CommitmentExtractor(lexicon).run(list(documents))
    by_doc: dict[str, list[Commitment]] = {}
    for c in records:
        by_doc.setdefault(c.doc, []).append(c)
    texts = {d.id: d.text for d in documents}
    items: list[EvalItem] = []
    for doc in documents:
        planned = plan_year(doc)
        own = by_doc.get(doc.id, [])
        counts = Counter((c.metric, c.unit, c.kind, c.horizon) for c in own)
        usable = [c for c in own if counts[(c.metric, c.unit, c.kind, c.horizon)] == 1 and _usable(c, words)]
        rng.shuffle(usable)
        for c in usable[:per_report]:
            year = int(c.horizon) if c.horizon.isdigit() else None
            figure = f"{c.value}{c.unit or ''}"
            if (c.kind != "target" and year is None) or figure not in c.clause:
                continue
            items.append(EvalItem(id=f"gen-{doc.id}-{c.start}", question=_question(c, year, planned, words, rng),
                                  answers=[figure], evidence=[c.clause],
                                  sections=[c.section_id], type="generated", docs=[doc.id]))
        items += _unanswerable(doc, planned, usable, records, texts, words, rng, per_report // 4)
    return EvalDataset("generated", "jsonl", items)


def _unanswerable(doc: Document, planned: int | None, usable: list[Commitment], records: list[Commitment],
                  texts: dict[str, str], words: dict, rng: random.Random, n: int) -> list[EvalItem]:
    """Questions about ``doc`` it cannot answer: another report's metric it never names, and one of
    its own metrics asked for a year after its plan year."""
    foreign = [c for c in records if c.doc != doc.id and _usable(c, words) and c.metric not in texts[doc.id]]
    rng.shuffle(foreign)
    out = []
    for c in foreign[: n - n // 3]:
        year = int(c.horizon) if c.horizon.isdigit() else planned
        out.append(EvalItem(id=f"gen-{doc.id}-no-{c.doc}-{c.start}", question=_question(c, year, planned, words, rng),
                            type="generated_unanswerable", answerable=False, docs=[doc.id]))
    if planned:
        for c in [c for c in usable if c.kind != "target"][: n // 3]:
            later = planned + 1 + rng.randrange(2)
            if str(later) in texts[doc.id]:
                continue
            out.append(EvalItem(id=f"gen-{doc.id}-later-{c.start}", question=_question(c, later, planned, words, rng),
                                type="generated_unanswerable", answerable=False, docs=[doc.id]))
    return out
