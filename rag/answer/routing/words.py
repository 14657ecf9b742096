"""The question words the report router reads, loaded once from the genre's data files."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.genre.lexicon import Lexicon


def has(text: str, words: Sequence[str]) -> bool:
    """Whether ``text`` contains one of ``words``."""
    return any(w in text for w in words)


@dataclass(frozen=True)
class RouterWords:
    """The promises table's question words, the catalogue's facts and the clause link words."""

    outcome: tuple[str, ...]
    missed: tuple[str, ...]
    met: tuple[str, ...]
    listing: tuple[str, ...]
    main: tuple[str, ...]
    compare: tuple[str, ...]
    compare_pieces: tuple[str, ...]
    status: dict[str, str]
    max_listed: int
    relative: re.Pattern[str]
    lookup_similarity: float
    report_words: tuple[str, ...]
    offices: tuple[str, ...]
    target: tuple[str, ...]
    figure_similarity: float
    how_much: tuple[str, ...]
    head_similarity: float
    name_ends: tuple[str, ...]

    @classmethod
    def load(cls, lexicon: Lexicon) -> RouterWords:
        q = lexicon.table("promises")["questions"]
        facts = lexicon.table("catalogue")["facts"]
        return cls(tuple(q["outcome_words"]), tuple(q["missed_words"]), tuple(q["met_words"]),
                   tuple(q["list_words"]), tuple(q["main_words"]), tuple(q["compare_words"]),
                   tuple(q["compare_pieces"]), dict(q["status_phrases"]), int(q["max_listed"]),
                   re.compile(q["relative_pattern"]), float(q["target_lookup_similarity"]),
                   tuple(facts["report_words"]), tuple(sorted(facts["offices"], key=len, reverse=True)),
                   tuple(q["target_words"]), float(q["figure_metric_similarity"]), tuple(q["how_much_words"]),
                   float(q["figure_head_similarity"]),
                   tuple(sorted(lexicon.table("clauses")["link_words"], key=len, reverse=True)))
