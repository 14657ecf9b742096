"""What every answer producer shares: the ``Composer`` protocol, citation numbering, and the one
way a refusal is worded.

The pipeline chains composers (``ComposerChain``): the first whose ``run`` returns an ``Answer``
answers, so a new producer (an LLM's, a cross-report comparer) is one class placed in the chain;
the report router runs the same chain once per report of a question over several.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Generator, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rag.answer.query import QueryPart
from rag.core.types import Answer, Citation, Refusal, RefusalReason, ScoredUnit, SectionRef

if TYPE_CHECKING:
    from rag.commitments.record import Commitment

#: a citation number in an answer's text, «[2]»: composers renumber them, the page turns them into buttons
CITATION_MARK = re.compile(r"\[(\d+)\]")

Hits = Sequence[Sequence[ScoredUnit]]  # retrieval hits, one list per question part
#: the reports each question part may be answered from (None: every report); empty: every report for all
PartDocs = Sequence[Collection[str] | None]


@runtime_checkable
class Composer(Protocol):
    """Answers a question from its parts and their hits, or returns None to pass it on.
    ``documents`` are the reports each part was scoped to: hits come from them already, while a
    composer answering from its own records (the commitments tracker) needs them to stay inside."""

    name: str

    def run(self, question: str, parts: list[QueryPart], hits: Hits, *, documents: PartDocs = ()) -> Answer | None:
        ...


@runtime_checkable
class StreamingComposer(Composer, Protocol):
    """A composer that can also yield ``{"type": "delta", "text": …}`` pieces as they arrive and
    then return what ``run`` would."""

    def stream(self, question: str, parts: list[QueryPart], hits: Hits, *,
               documents: PartDocs = ()) -> Generator[dict, None, Answer | None]: ...


class ComposerChain:
    """Composers tried in order: the first that returns an answer answers, and when every one
    passes, the refusal. The pipeline runs the one chain over one report's hits, and the report
    router runs it once per report of a question over several."""

    name = "chain"

    def __init__(self, composers: Sequence[Composer]) -> None:
        self.composers = tuple(composers)

    def run(self, question: str, parts: list[QueryPart], hits: Hits, *, documents: PartDocs = ()) -> Answer:
        return returned(self._first(question, parts, hits, documents, streaming=False))

    def stream(self, question: str, parts: list[QueryPart], hits: Hits, *,
               documents: PartDocs = ()) -> Generator[dict, None, Answer]:
        """A streaming composer's deltas as they arrive, then the answer ``run`` would give."""
        return self._first(question, parts, hits, documents, streaming=True)

    def _first(self, question: str, parts: list[QueryPart], hits: Hits, documents: PartDocs, *,
               streaming: bool) -> Generator[dict, None, Answer]:
        for composer in self.composers:
            stream = getattr(composer, "stream", None) if streaming else None
            answer = (yield from stream(question, parts, hits, documents=documents)) if stream else \
                composer.run(question, parts, hits, documents=documents)
            if answer is not None:
                return answer
        return refusal(question, parts, hits, composer="none")  # every composer passed: say so rather than fail


def returned(events: Generator[dict, None, Answer]) -> Answer:
    """What a generator that yields nothing (the chain run without streaming) returns."""
    try:
        event = next(events)
    except StopIteration as done:
        return done.value
    raise RuntimeError(f"a composer streamed when asked not to: {event!r}")


class Citations:
    """Numbers quoted spans 1..n in first-use order; the same span quoted twice keeps its number.
    The one numbering of an answer's citations, also when answers of several reports are joined."""

    def __init__(self, items: Sequence[Citation] = ()) -> None:
        self.items: list[Citation] = list(items)

    def add(self, doc: str, section_id: str, section_path: str, quote: str, start: int, end: int,
            score: float) -> int:
        return self.keep(Citation(0, doc, section_id, section_path, quote, start, end, round(float(score), 4)))

    def record(self, c: Commitment, score: float = 1.0) -> int:
        """The number of a tracker record's clause, cited as the record gives it."""
        return self.add(c.doc, c.section_id, c.section_path, c.clause, c.start, c.end, score)

    def keep(self, citation: Citation) -> int:
        """The number of ``citation``'s span: the one it got when first cited, else the next."""
        for c in self.items:
            if (c.doc, c.start, c.end) == (citation.doc, citation.start, citation.end):
                return c.n
        self.items.append(dataclasses.replace(citation, n=len(self.items) + 1))
        return len(self.items)

    def renumber(self, answer: Answer) -> str:
        """``answer``'s text with its citations kept in this numbering (its «[2]» may become «[5]»)."""
        mapping = {c.n: self.keep(c) for c in answer.citations}
        return CITATION_MARK.sub(lambda m: f"[{mapping.get(int(m.group(1)), int(m.group(1)))}]", answer.answer)


def related_sections(hits: Hits, *, per_part: int = 3, most: int = 3, topics: Sequence[str] = ()) -> list[SectionRef]:
    """The best-ranked sections (one per title), offered when the report does not answer. With
    ``topics``, only sections that share something with one of them: a third of a Chinese topic's
    character bigrams in the title or the hit's text, or (an English topic) a close meaning."""
    from rag.genre.paraphrase import bigram_coverage, bigrams

    def relevant(h: ScoredUnit) -> bool:
        if not topics:
            return True
        text = " ".join(h.unit.section_path) + h.unit.text
        return any(bigram_coverage(t, text) >= 1 / 3 if bigrams(t) else (h.dense or 0.0) >= 0.82 for t in topics)

    refs = [SectionRef(h.unit.doc_id, h.unit.section_id, h.unit.section_path[-1])
            for part in hits for h in part[:per_part] if h.unit.section_path and relevant(h)]
    first: dict[str, SectionRef] = {}
    for ref in refs:
        first.setdefault(ref.title, ref)  # the best-ranked section bearing each title
    return list(first.values())[:most]


def is_english(text: str) -> bool:
    return sum(c.isascii() and c.isalpha() for c in text) > len(text) / 2


def display_topic(topic: str) -> str:
    """Topic words rejoined for a sentence: no spaces between Chinese words."""
    return re.sub(r"(?<=[^\x00-\x7f]) (?=[^\x00-\x7f])", "", topic)


#: the longest topic a refusal repeats; a longer question is named by its first characters
MAX_TOPIC_CHARS = 24


def refusal_of(parts: Sequence[QueryPart], *, shared: QueryPart | None = None,
               reason: RefusalReason = "not_in_report") -> Refusal:
    """What a refusal names: everything asked that the report does not cover, each topic once.
    ``shared`` is the question's first part, whose topic later parts borrow: it is named once,
    not repeated after each of them."""
    own = set(shared.topic.split()) if shared else set()

    def named(p: QueryPart) -> str:
        words = p.topic.split() if p is shared else [w for w in p.topic.split() if w not in own]
        shown = display_topic(" ".join(words or p.topic.split())) or p.text
        if len(shown) > MAX_TOPIC_CHARS:  # a long paste: its opening as written, not its keywords run together
            shown = p.text.strip()[:MAX_TOPIC_CHARS].rstrip() + "…"
        return shown

    return Refusal(reason, list(dict.fromkeys(named(p) for p in parts)))


def refusal_wording(topics: Sequence[str], related: Sequence[str], *, english: bool, closest: bool = True) -> str:
    """The one wording of "the report does not say": one sentence naming ``topics`` and, when
    ``closest``, the sections nearest to them (left out beside a partial answer, whose citations
    already point, and by the page, which shows them as buttons)."""
    if english:
        return f"The report does not say anything about {', '.join(f'“{t}”' for t in topics)}." + (
            f" Closest sections: {'; '.join(related)}." if related and closest else "")
    return f"报告中没有找到关于{'、'.join(f'“{t}”' for t in topics)}的相关内容。" + (
        f"最接近的章节：{'；'.join(related)}。" if related and closest else "")


def refusal(question: str, parts: list[QueryPart], hits: Hits, *, composer: str) -> Answer:
    """A whole answer that says the report does not cover any part of the question."""
    parts = parts or [QueryPart(question, question, "")]
    related = related_sections(hits, topics=[p.topic.replace(" ", "") for p in parts])
    refused = refusal_of(parts)
    sentence = refusal_wording(refused.topics, [r.title for r in related], english=is_english(question))
    return Answer(question=question, answer=sentence, found=False, composer=composer,
                  related_sections=[r.title for r in related], related_refs=related, refusal=refused)
