"""Pure metric functions: no pipeline, no I/O, so each can be checked on hand-computed cases.

Spans are ``(doc_id, start, end)`` offsets into ``Document.text``. Two definitions matter:

* **Relevant unit.** A retrieval unit is relevant to a gold evidence span ``e`` when the
  characters they share cover at least ``min_overlap`` (default 0.5) of ``e``:
  ``|unit ∩ e| ≥ min_overlap · |e|``. A unit that contains the evidence is always relevant;
  a sentence-sized unit inside a longer evidence is relevant when it holds at least half of
  it, which also covers an evidence that straddles two units. If no unit reaches the
  threshold, the unit(s) with the largest overlap are relevant, so that every located
  evidence has at least one relevant unit.
* **Matching citation.** A citation span ``c`` matches ``e`` when
  ``|c ∩ e| ≥ min_overlap · min(|c|, |e|)``: a quote that contains the evidence, or lies
  inside it, or shares at least half of the shorter of the two.

Recall@k is counted per evidence (the share of a question's evidences with a relevant unit in
the top k); for a question with one evidence it is the hit rate. MRR@10 and nDCG@10 use the
union of relevant units with binary gains (graded gains for BEIR qrels).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from rag.genre.text import CN_NUMERAL_RUN, WHITESPACE, chinese_number

Span = tuple[str, int, int]

_MARKER = re.compile(r"\[\d+\]")


# --- answers ---------------------------------------------------------------------------------
def strip_markers(text: str) -> str:
    """An answer without its ``[n]`` citation markers."""
    return _MARKER.sub("", text)


def _comparable(text: str) -> str:
    """NFKC (full-width → half-width), lower case, Chinese numerals as digits, ``[n]`` markers
    removed, whitespace runs kept as one space (so ``2. 九`` does not become the number 2.9)."""
    text = WHITESPACE.sub(" ", unicodedata.normalize("NFKC", strip_markers(text))).lower()
    return CN_NUMERAL_RUN.sub(lambda m: str(chinese_number(m.group())), text)


def normalize(text: str) -> str:
    """Comparable form without whitespace: ``第四位`` and ``第 ４ 位`` both become ``第4位``."""
    return _comparable(text).replace(" ", "")


def contains_answer(answer: str, gold: str) -> bool:
    """Normalised containment, ignoring whitespace, where a figure must not be part of a longer
    number: ``6万人`` is not found in ``16万人`` or ``3.6万人``."""
    want = normalize(gold)
    if not want:
        return False
    before = r"(?<![\d.])" if want[0].isdigit() else ""
    after = r"(?!\d)" if want[-1].isdigit() else ""
    body = r"\s*".join(re.escape(c) for c in want)
    return re.search(before + body + after, _comparable(answer)) is not None


def answer_correct(answer: str, answers: Sequence[str] = (), all_of: Sequence[str] = ()) -> bool:
    """True when the answer contains any one of ``answers`` and every one of ``all_of``."""
    if not answers and not all_of:
        return False
    any_ok = not answers or any(contains_answer(answer, a) for a in answers)
    return any_ok and all(contains_answer(answer, a) for a in all_of)


# --- spans -----------------------------------------------------------------------------------
def overlap(a: Span, b: Span) -> int:
    """Characters shared by two spans (0 across documents)."""
    if a[0] != b[0]:
        return 0
    return max(0, min(a[2], b[2]) - max(a[1], b[1]))


def find_spans(texts: Mapping[str, str], needle: str) -> list[Span]:
    """Every occurrence of a verbatim string in the documents."""
    out: list[Span] = []
    if not needle:
        return out
    for doc_id, text in texts.items():
        i = text.find(needle)
        while i != -1:
            out.append((doc_id, i, i + len(needle)))
            i = text.find(needle, i + 1)
    return out


def relevant_units(units: Mapping[str, Span], evidence: Span, min_overlap: float = 0.5) -> set[str]:
    """Keys of the units relevant to one evidence span (see the module docstring)."""
    shared = {key: overlap(span, evidence) for key, span in units.items()}
    best = max(shared.values(), default=0)
    if best == 0:
        return set()
    need = min(min_overlap * (evidence[2] - evidence[1]), best)
    return {key for key, n in shared.items() if n >= need}


def citation_matches(citation: Span, evidence: Span, min_overlap: float = 0.5) -> bool:
    shorter = min(citation[2] - citation[1], evidence[2] - evidence[1])
    return shorter > 0 and overlap(citation, evidence) >= min_overlap * shorter


def citation_counts(citations: Sequence[Span], evidences: Sequence[Sequence[Span]],
                    min_overlap: float = 0.5) -> tuple[int, int]:
    """(citations matching some evidence, evidences matched by some citation). Each evidence is
    given as all the places its string occurs; matching any of them counts."""
    def hit(c: Span, places: Sequence[Span]) -> bool:
        return any(citation_matches(c, e, min_overlap) for e in places)

    good = sum(any(hit(c, places) for places in evidences) for c in citations)
    covered = sum(any(hit(c, places) for c in citations) for places in evidences)
    return good, covered


# --- ranking ---------------------------------------------------------------------------------
def recall_at_k(ranked: Sequence[str], groups: Sequence[set[str]], k: int) -> float:
    """Share of relevance groups (one per evidence, or one per BEIR document) with a member in
    the top k."""
    if not groups:
        return 0.0
    top = set(ranked[:k])
    return sum(bool(g & top) for g in groups) / len(groups)


def mrr_at_k(ranked: Sequence[str], relevant: Iterable[str], k: int = 10) -> float:
    rel = set(relevant)
    return next((1.0 / i for i, key in enumerate(ranked[:k], 1) if key in rel), 0.0)


def ndcg_at_k(ranked: Sequence[str], gains: Mapping[str, float], k: int = 10) -> float:
    """nDCG with the standard ``gain / log2(rank + 1)`` discount (as in trec_eval/BEIR)."""
    dcg = sum(gains.get(key, 0.0) / math.log2(i + 1) for i, key in enumerate(ranked[:k], 1))
    ideal = sorted((g for g in gains.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 1) for i, g in enumerate(ideal, 1))
    return dcg / idcg if idcg else 0.0


# --- refusals, distributions, confidence -----------------------------------------------------
def refusal_scores(refused: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, float | None]:
    """Precision, recall and F1 with refusal as the positive class, and the false-refusal rate
    (share of answerable questions refused). Precision is 0 when nothing was refused (as
    scikit-learn's ``zero_division=0``); P/R/F1 are ``None`` when no question is unanswerable."""
    pairs = list(zip(refused, unanswerable, strict=True))
    tp = sum(r and u for r, u in pairs)
    fp = sum(r and not u for r, u in pairs)
    positives = sum(u for _, u in pairs)
    answerable = len(pairs) - positives
    out: dict[str, float | None] = {"precision": None, "recall": None, "f1": None,
                                    "false_refusal_rate": fp / answerable if answerable else None}
    if positives:
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / positives
        out |= {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}
    return out


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default), ``None`` for no values."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else None


def bootstrap_ci(outcomes: Sequence[bool | float], *, samples: int = 1000, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean; seeded, so a report is reproducible."""
    if not len(outcomes):
        return None
    values = np.asarray(outcomes, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(samples, len(values)))].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


def quote_violations(citations: Iterable[tuple[str, int, int, str]], texts: Mapping[str, str]) -> int:
    """Citations whose quote is not exactly ``doc.text[start:end]``, whose document is unknown, or
    whose offsets are not integers (a composer bug must be counted, not crash the evaluation)."""
    return sum(not (isinstance(start, int) and isinstance(end, int)) or doc not in texts
               or texts[doc][start:end] != quote for doc, start, end, quote in citations)


# --- reading comprehension (CMRC2018 / SQuAD style) ------------------------------------------
_KEEP_IN_FIGURES = frozenset(".%‰")  # "3.5%" must not become "35"


def mrc_normalize(text: str) -> str:
    """The usual Chinese MRC normalisation: NFKC (full-width → half-width), Latin lower-cased,
    ``[n]`` markers, whitespace and punctuation removed (``.``, ``%`` and ``‰`` kept, since they
    are part of figures)."""
    text = unicodedata.normalize("NFKC", strip_markers(text)).lower()
    return "".join(c for c in text if not c.isspace()
                   and (c in _KEEP_IN_FIGURES or not unicodedata.category(c).startswith("P")))


def mrc_exact(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when the normalised prediction equals any normalised gold answer."""
    pred = mrc_normalize(prediction)
    return float(any(pred == mrc_normalize(g) for g in golds))


def mrc_char_f1(prediction: str, golds: Sequence[str]) -> float:
    """Character-level F1 (SQuAD's token F1 with every character a token, multiset overlap),
    the best over the gold answers."""
    pred = Counter(mrc_normalize(prediction))
    best = 0.0
    for gold in golds:
        want = Counter(mrc_normalize(gold))
        common = sum((pred & want).values())
        if common:
            p, r = common / sum(pred.values()), common / sum(want.values())
            best = max(best, 2 * p * r / (p + r))
    return best
