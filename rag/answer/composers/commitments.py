"""Lists the commitments tracker's records when a chat question asks for them («今年在就业方面
承诺了什么？»), each record cited verbatim with the paired figure beside it."""

from __future__ import annotations

from collections.abc import Collection

from rag.answer.composers.base import Citations, Hits, PartDocs
from rag.answer.query import QueryPart
from rag.commitments.record import Commitment
from rag.commitments.render import filter_commitments, paired_text
from rag.core.types import Answer
from rag.genre.lexicon import Lexicon
from rag.genre.text import tokenize


class CommitmentComposer:
    """Answers "what was promised about X" from the tracker, each item cited verbatim.

    A question is routed here only when it uses the genre's wording for a list of promises
    (``[listing].intent_words`` in the data); its topic (from ``QueryAnalyzer``) then
    selects records whose metric and clause, or failing that section path, contain it.
    ``run`` returns None when the question is not of this kind or nothing matches, so the
    caller falls back to ordinary retrieval.
    """

    name = "commitments"

    def __init__(self, items: list[Commitment], lexicon: Lexicon | None = None) -> None:
        rules = (lexicon or Lexicon.default()).table("listing")
        self.items = items
        self._by_id = {c.id: c for c in items}
        self._intent: list[str] = rules["intent_words"]
        self._drop = sorted(rules["topic_drop"], key=len, reverse=True)
        self._min_coverage: float = rules["min_coverage"]
        self._path_weight: float = rules["path_weight"]
        self._max_listed: int = rules["max_listed"]

    def wants(self, part: QueryPart) -> bool:
        return any(w in part.text for w in self._intent)

    def topic(self, part: QueryPart, question: str = "") -> str:
        """The analyzer's topic without the words that only restate the intent ("承诺", "目标").
        A follow-up that names a topic of its own ("那养老呢？") keeps only that one, not the
        topic it borrowed from the previous question."""
        words = part.topic.split()
        for d in self._drop:
            words = [w.replace(d, "") for w in words]
        words = [w for w in words if w]
        return "、".join([w for w in words if w in question] or words)

    def _terms(self, part: QueryPart, question: str) -> list[str]:
        return list(dict.fromkeys(t for t in tokenize(self.topic(part, question)) if len(t) >= 2))

    def _score(self, c: Commitment, terms: list[str], expansions: list[str]) -> float:
        def coverage(text: str) -> float:
            text = text.lower()
            if any(e.lower() in text for e in expansions):
                return 1.0
            return sum(len(t) for t in terms if t in text) / sum(len(t) for t in terms)

        return max(coverage(c.metric + " " + c.clause), self._path_weight * coverage(c.section_path))

    def matches(self, part: QueryPart, question: str = "",
                documents: Collection[str] | None = None) -> list[tuple[float, Commitment]]:
        """Records of the part's kind that cover its topic, best first, one per metric and figure;
        with no topic left ("今年承诺了什么？") the main targets come first. ``documents``: only
        those reports' records (None: every report)."""
        kind = "achievement" if part.scope == "review" else "target"
        terms = self._terms(part, question)
        scored = [
            (self._score(c, terms, part.expansions) if terms else (1.0 if c.main_target else 0.5), c)
            for c in filter_commitments(self.items, kind=kind, documents=documents)
        ]
        scored = [x for x in scored if x[0] >= self._min_coverage]
        scored.sort(key=lambda x: (-x[0], not x[1].main_target, x[1].doc, x[1].start))
        seen: set[tuple[str, str, str]] = set()
        out = []
        for s, c in scored:
            key = (c.doc, c.metric, c.figure)
            if key not in seen:
                seen.add(key)
                out.append((s, c))
        return out

    def paired_text(self, c: Commitment) -> str:
        """The paired record as shown beside this one: ``过去五年：33.16万人``, ``2023年目标：6万人以上``."""
        return paired_text(c, self._by_id)

    def run(self, question: str, parts: list[QueryPart], hits: Hits = (), *,
            documents: PartDocs = ()) -> Answer | None:
        """The matching records of every part, or None when a part is not a listing question or
        matches nothing (the retrieval hits are not needed: the records are the evidence).
        ``documents``: each part's reports, when a question is scoped to some."""
        if not parts or not all(self.wants(p) for p in parts):
            return None
        scoped = list(documents) or [None] * len(parts)
        found = [self.matches(p, question, d) for p, d in zip(parts, scoped, strict=True)]
        if not all(found):
            return None
        citations = Citations()
        sentences = [self._sentence(part, matched, question, citations)
                     for part, matched in zip(parts, found, strict=True)]
        return Answer(question=question, answer=" ".join(sentences), found=True, citations=citations.items,
                      composer=self.name)

    def _sentence(self, part: QueryPart, matched: list[tuple[float, Commitment]], question: str,
                  citations: Citations) -> str:
        shown = matched[: self._max_listed]
        items = []
        for score, c in shown:
            n = citations.record(c, score)
            paired = self.paired_text(c)
            items.append(f"{c.clause}（{paired}）[{n}]" if paired else f"{c.clause}[{n}]")
        first = shown[0][1]
        when = f"{first.horizon}年" if first.horizon.isdigit() else first.horizon
        what = "承诺" if first.kind == "target" else "成绩"
        topic = self.topic(part, question)
        head = f"{when}关于“{topic}”的{what}" if topic else f"{when}的主要{what}"
        more = f"；另有{len(matched) - len(shown)}条，完整列表见“承诺清单”" if len(matched) > len(shown) else ""
        return f"{head}共{len(matched)}条：{'；'.join(items)}{more}。"
