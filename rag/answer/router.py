"""Answers over a corpus of many reports: each question part is restricted to the reports it names,
every sentence says which report it comes from, and two years of one place are joined.

- A place no report covers gets a refusal that lists the reports there are.
- A part selecting one report is answered from it; parts selecting different reports (a 2022
  target, then its outcome in the 2023 report) are answered each from its own.
- A part that several reports could answer is answered per report (at most three), each labelled
  with its place and year; two years' figures of one place are compared when the question asks.
- «目标完成了吗» adds the outcome the next year's report gives; «哪些没完成» lists the targets the
  promise tracker marks missed.

Figures of two reports never share a sentence without their labels.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from rag.answer.composers.base import CITATION_MARK as _MARK
from rag.answer.composers.base import refusal_of, refusal_wording
from rag.answer.selection import ReportSelector, Selection
from rag.commitments.extract import Commitment, similarity
from rag.commitments.promises import PromiseCheck, PromiseTracker
from rag.core.types import Answer, Citation, RefusalReason, ScoredUnit
from rag.genre.lexicon import Lexicon
from rag.genre.paraphrase import default_paraphrases
from rag.genre.text import HAN_RUN as _HAN_ONLY
from rag.genre.text import strip_ends

_FIGURE = re.compile(r"\d|[一二三四五六七八九十两百千万]+[件项个条所家类方座批名位次倍成]")
Retrieve = Callable[[object, Collection[str] | None], list[ScoredUnit]]
Compose = Callable[[str, list, list[list[ScoredUnit]]], Answer]


@dataclass(frozen=True)
class _Words:
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
    def load(cls, lexicon: Lexicon) -> _Words:
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


def _has(text: str, words: Sequence[str]) -> bool:
    return any(w in text for w in words)


def _head(words: Sequence[str]) -> str:
    """The end of the last word of two or more characters: what a noun phrase names («床位» of
    «养老院 床位 加», «往来» of «贸易往来»)."""
    return next((w[-2:] for w in reversed(words) if len(w) >= 2), "")


def withdrawn(answer: Answer, part, reason: RefusalReason) -> Answer:
    """``answer`` taken back: the refusal of ``part``, in Chinese here (each edge words ``refusal`` itself)."""
    refused = refusal_of([part], reason=reason)
    return dataclasses.replace(answer, found=False, citations=[], refusal=refused,
                               answer=refusal_wording(refused.topics, [], english=False))


def renumber(answer: Answer, citations: list[Citation]) -> str:
    """``answer``'s text with its citations appended to ``citations`` (shared numbering); the
    same span cited twice keeps one number."""
    mapping: dict[int, int] = {}
    for c in answer.citations:
        same = next((x for x in citations if (x.doc, x.start, x.end) == (c.doc, c.start, c.end)), None)
        if same is None:
            same = dataclasses.replace(c, n=len(citations) + 1)
            citations.append(same)
        mapping[c.n] = same.n
    return _MARK.sub(lambda m: f"[{mapping.get(int(m.group(1)), int(m.group(1)))}]", answer.answer)


class ReportRouter:
    """Selects the reports, answers and labels questions over a catalogue of reports."""

    def __init__(self, selector: ReportSelector, commitments: Sequence[Commitment],
                 checks: dict[str, PromiseCheck], *, plan_words: Sequence[str] = (),
                 lexicon: Lexicon | None = None, tracker: PromiseTracker | None = None) -> None:
        self.selector = selector
        self.plan_words = tuple(plan_words)  # the question lexicon's words for targets (目标, 计划)
        self.commitments = list(commitments)
        self.by_id = {c.id: c for c in self.commitments}
        self.checks = checks
        self.lexicon = lexicon or Lexicon.default()
        self.words = _Words.load(self.lexicon)
        self.paraphrases = default_paraphrases()  # the asker's words the composer widened, widened here too
        self.plan_words += self.words.target
        self.texts = {d.id: d.text for d in selector.documents}
        self.tracker = tracker or PromiseTracker(self.lexicon)

    # ---- scoping

    def select(self, question: str, parts: Sequence, leans_on: Sequence[str] = (),
               restrict: Collection[str] | None = None) -> list[Selection]:
        """One selection per part: the place from the part, the question or the last of the turns
        it ``leans_on`` that named one (``Pipeline.leans_on``: «那过去五年呢？» leans on the turns
        before it, «买车还有补贴吗» on none); the year from the part or the question; the intent
        from the part. ``restrict`` (the API's filter, the page's report picker) always wins: an
        earlier turn's place outside it is not inherited."""
        context = question
        earlier = None if self.selector.named_regions(question) else \
            next((h for h in reversed(leans_on) if self.selector.named_regions(h)), None)
        if earlier is not None and self._picked(earlier, restrict):
            context = earlier + question
        return [self.selector.run(p.text, self.intent(p, question), restrict=restrict, context=context) for p in parts]

    def _picked(self, turn: str, restrict: Collection[str] | None) -> bool:
        """Whether a place ``turn`` names has a report among ``restrict`` (None: every report)."""
        if restrict is None:
            return True
        named = set(self.selector.named_regions(turn))
        return any(self.selector.reports[i].region in named for i in restrict if i in self.selector.reports)

    def focus(self, part, question: str):
        """The part as asked of one report: comparison words («高还是低») mean nothing inside any
        one report, so they leave its topic."""
        if not _has(question, self.words.compare):
            return part
        pieces = set(self.words.compare_pieces)
        topic = " ".join(w for w in part.topic.split() if w not in pieces)
        return dataclasses.replace(part, topic=topic or part.topic)

    def intent(self, part, question: str = "") -> str | None:
        """Targets or outcomes: «目标完成了吗» asks for the target (its outcome is added), «实际增长
        了多少» for the outcome; otherwise what the analyzer read. Only the part's own words count,
        not the topic a follow-up part borrows («…目标是多少？实际完成了多少？»)."""
        own = part.text
        while question and own and own not in question:
            own = own.rsplit(" ", 1)[0] if " " in own else ""
        own = own or part.text
        if _has(own, self.words.outcome):  # "outcome": explicitly the year's result, not the review part
            return "plan" if _has(own, self.plan_words) else "outcome"
        return getattr(part, "scope", None)

    def blocked(self, question: str, selections: Sequence[Selection]) -> Answer | None:
        """The refusal when no report can answer: a place none covers, or a year none reports on."""
        unknown = [u for s in selections for u in s.unknown]
        if unknown and not any(s.regions for s in selections):
            return self.refusal(question, list(dict.fromkeys(unknown)))
        gap = next((s for s in selections if s.gap), None)
        if gap is not None:
            return Answer(question=question, answer=gap.gap, found=False, composer="scope",
                          scope_reports=self.selector.offered(gap.regions))
        return None

    def refusal(self, question: str, unknown: Sequence[str]) -> Answer:
        places = "、".join(unknown)
        text = (f"报告库中没有关于{places}的政府工作报告，无法回答。现有报告：{self.selector.available()}。"
                f" / No report in the corpus covers {places}.")
        return Answer(question=question, answer=text, found=False, composer="scope",
                      scope_reports=self.selector.offered())

    # ---- labels

    def label(self, answer: Answer, *, always: bool = True) -> Answer:
        """Each run of sentences citing one report starts with that report's name."""
        if not answer.citations:
            return answer
        doc_of = {c.n: c.doc for c in answer.citations}
        docs = list(dict.fromkeys(c.doc for c in answer.citations))
        if len(docs) == 1 and not always:
            return answer
        text = answer.answer
        out, pos, after, current = [], 0, 0, None  # ``after``: where the text after the last marker starts
        for m in _MARK.finditer(text):
            doc = doc_of.get(int(m.group(1)))
            if doc is not None and doc != current:
                start = after
                while start < m.start() and text[start] in " ；;，,。":
                    start += 1
                out.append(text[pos:start])
                out.append(f"【{self.selector.label(doc)}】")
                pos, current = start, doc
            after = m.end()
        out.append(text[pos:])
        return dataclasses.replace(answer, answer="".join(out))

    # ---- answering

    def answer(self, question: str, parts: list, selections: list[Selection], retrieve: Retrieve,
               compose: Compose) -> Answer:
        blocked = self.blocked(question, selections)
        if blocked is not None:
            return blocked
        listed = self.promise_list(question, selections)
        if listed is not None:
            return listed
        docs = [s.doc_ids for s in selections]
        parts = [self.focus(p, question) for p in parts]
        plain = self._plain(question, retrieve)
        parts = [self.dated(p, question) for p in parts]
        if all(d is not None and len(d) == 1 for d in docs):
            answer = self.known(question, parts, [d[0] for d in docs])
            if answer is None:
                answer = self.checked(compose(question, parts, [plain(p, d) for p, d in zip(parts, docs)]), parts)
            if answer.found and answer.composer != "catalogue" and len(set(docs)) == 1 \
                    and _has(question, self.words.outcome):
                answer = self.with_outcome(question, parts[0], docs[0][0], answer, retrieve, compose)
            return self.label(answer)
        return self.per_report(question, parts, docs, plain, compose)

    def checked(self, answer: Answer, parts: list) -> Answer:
        """A one-part figure answer whose citation holds tracker records, none of which measures
        what was asked, is no answer: «江城市常住人口有多少» is not «常住人口城镇化率63.1%»."""
        if not answer.found or len(parts) != 1 or "number" not in getattr(parts[0], "kinds", ()):
            return answer
        how_much = getattr(parts[0], "measure", None) or _has(parts[0].text, self.words.how_much)
        if how_much and not any(_FIGURE.search(c.quote) for c in answer.citations):
            # «另行公布»: asked how much, told no figure
            return withdrawn(answer, parts[0], "no_figure")
        words = [w for w in parts[0].topic.split() if w not in self.plan_words]
        topic = "".join(words)
        if not _HAN_ONLY.fullmatch(topic or "-"):
            return answer
        quotes = " ".join(c.quote for c in answer.citations)
        wide = [self._widen(w, quotes) for w in words]  # 电动车 → 新能源汽车, 规上 → 规模以上
        names = [(topic, _head(words)), *([("".join(wide), _head(wide))] if wide != words else []),
                 *((e.replace(" ", ""), "") for e in getattr(parts[0], "expansions", []))]
        names += [(bare, head) for name, head in names if (bare := self._bare(name)) != name]  # «产能达到» → «产能»
        records = [c for cite in answer.citations for c in self.commitments
                   if c.doc == cite.doc and cite.start <= c.start and c.end <= cite.end and c.value is not None]
        measure = getattr(parts[0], "measure", None)
        if measure:  # «多少亿元»: the records counted in that unit must measure what was asked
            records = [c for c in records if self._in_unit(c.unit, measure)]
        else:  # otherwise only when the citation uses the asked words themselves, inside a record's
            names = [(a, h) for a, h in names if a in quotes]  # clause: elsewhere the tracker read no
            if self._unrecorded([a for a, _ in names], answer.citations, records):  # figure of them
                return answer  # («连续5年调高城乡低保标准»: 5年 is no record) and cannot tell
        if not names or not records or any(self._covers(c.metric, a, h) if measure else self._measures(c.metric, a)
                                           for c in records for a, h in names):
            return answer
        return withdrawn(answer, parts[0], "other_measure")

    @staticmethod
    def _unrecorded(names: Sequence[str], citations: Sequence[Citation], records: Sequence[Commitment]) -> bool:
        """Whether one of ``names`` occurs in a citation outside every record's clause."""
        for cite in citations:
            for name in names:
                i = cite.quote.find(name)
                while i != -1:
                    a = cite.start + i
                    if not any(c.start <= a and a + len(name) <= c.end for c in records):
                        return True
                    i = cite.quote.find(name, i + 1)
        return False

    def _widen(self, word: str, quotes: str) -> str:
        """The asker's word as the citation writes it: a synonym (电动车 → 新能源汽车) or the full
        form of an abbreviation (规上 → 规模以上) that the quote uses, else the word itself."""
        full = [f for short, f in self.lexicon.abbreviations if short.lower() == word.lower()]
        return next((a for a in (*self.paraphrases.alternatives(word), *full) if a in quotes), word)

    def _bare(self, name: str) -> str:
        """An asked name without the linking verbs it ends with («动力电池产能达到»): records name
        their metric without them."""
        return strip_ends(name, self.words.name_ends, keep=1)

    @staticmethod
    def _in_unit(unit: str | None, measure: str) -> bool:
        if not unit:
            return False
        if measure == "%":
            return unit in ("%", "％", "个百分点")
        return any(unit.endswith(m) for m in measure.split("|"))

    @staticmethod
    def _within(metric: str, topic: str) -> bool:
        """One of the two names holds (nearly) every character pair of the other: «固定资产投资»
        in «固定资产投资实际增速分别»."""
        def pairs(t: str) -> set[str]:
            return {t[i:i + 2] for i in range(len(t) - 1)}

        a, b = pairs(metric), pairs(topic)
        return bool(a and b) and max(len(a & b) / len(a), len(a & b) / len(b)) >= 0.9

    def _covers(self, metric: str, asked: str, head: str = "") -> bool:
        """Most of the asked words' character pairs are in the metric: lenient, for questions in
        everyday words («冬天取暖改造» for «冬季清洁取暖改造»). Fewer will do when the metric names
        the asked thing itself: ``head``, the end of the asked name's last word (a noun phrase
        ends on what it names: «…消费券», «…重点项目»), while the question's other words may sit
        elsewhere in the clause («聚焦农业农村现代化，…等54个重点项目»)."""
        pairs = {asked[i:i + 2] for i in range(len(asked) - 1)}
        if not pairs:
            return False
        share = sum(p in metric for p in pairs) / len(pairs)
        return share >= self.words.figure_similarity + 0.1 or (
            bool(head) and head in metric and share >= self.words.head_similarity)

    def _measures(self, metric: str, asked: str) -> bool:
        if not asked:
            return False
        if asked in metric:  # words after it make another quantity («常住人口» → «常住人口城镇化率»,
            tail = metric[metric.rindex(asked) + len(asked):]  # «一般公共预算支出» → «…支出的比重»),
            ends = [tail.find(w) for w in self.words.name_ends if w in tail]  # up to the verb linking it to
            return min(ends, default=len(tail)) <= 2  # its figure («低保标准分别提高到每人每月»); words before only qualify it
        return metric in asked or similarity(metric, asked) >= self.words.figure_similarity

    def dated(self, part, question: str):
        """A part that names no year asks about the question's year («…目标是多少？实际收了多少？»):
        with it, retrieval and the composer look in the review of that year, not the next plan."""
        if getattr(part, "year", None) is not None:  # «2023年报告说的…»: the year chose the report
            only = self.selector.names_report(part.text) and len(self.selector.years_named(part.text)) == 1
            return dataclasses.replace(part, year=None) if only else part
        intent = self.intent(part, question)
        if getattr(part, "scope", None) is not None and intent != "outcome":
            return part  # «过去五年…» has its own span
        years = self.selector.years_named(question)
        if len(years) != 1:
            return part
        return dataclasses.replace(part, year=years[0], scope="review" if intent == "outcome" else part.scope)

    def _plain(self, question: str, retrieve: Retrieve) -> Retrieve:
        """``retrieve`` without units that state a figure only against last year, unless the
        question compares: «目标是多少» wants the target, not «比去年提高0.2万人»."""
        if _has(question, self.words.compare):
            return retrieve

        def plain(part, docs):
            hits = retrieve(part, docs)
            kept = [h for h in hits if not self.words.relative.search(h.unit.text)]
            return kept or hits

        return plain

    def known(self, question: str, parts: list, docs: list[str]) -> Answer | None:
        """Answers that need no retrieval: the report's own opening lines (when it was delivered,
        who delivered it), or the tracker's record of a target asked for by its metric."""
        if len(parts) != 1:
            return None
        part, doc = parts[0], docs[0]
        return self.opening_fact(question, part, doc) or self.target_record(question, part, doc)

    def _head_lines(self, doc: str) -> list[tuple[int, int]]:
        """(start, end) of the report's first lines, before its first section."""
        text = self.texts.get(doc, "")
        out, pos = [], 0
        for line in text[:1500].splitlines(keepends=True):
            a, b = pos + len(line) - len(line.lstrip()), pos + len(line.rstrip())
            if b > a:
                out.append((a, b))
            pos += len(line)
            if len(out) >= 8:
                break
        return out

    def opening_fact(self, question: str, part, doc: str) -> Answer | None:
        w, text = self.words, self.texts.get(doc, "")
        kinds = getattr(part, "kinds", frozenset())
        wanted = None
        if "when" in kinds and _has(question.lower(), w.report_words):
            wanted = self.selector.catalogue.rules.congress
        office = next((o for o in w.offices if o in part.search_text), None)
        if office and ("who" in kinds or "name" in kinds):
            wanted = re.compile(re.escape(office) + r"[ \t\u3000]*[\u4e00-\u9fff]{2,4}$")
        if wanted is None:
            return None
        for a, b in self._head_lines(doc):
            if wanted.search(text[a:b]):
                section = next((s for s in reversed(self.selector.section_of(doc)) if s.start <= a), None)
                cite = Citation(1, doc, section.id if section else "0", section.path_str if section else "",
                                text[a:b], a, b, 1.0)
                return Answer(question=question, answer=f"{text[a:b]}[1]", found=True, citations=[cite],
                              composer="catalogue")
        return None

    def target_record(self, question: str, part, doc: str) -> Answer | None:
        """«江城2023年城镇新增就业目标是多少»: the main target of that metric, cited from the tracker."""
        asks_figure = "number" in getattr(part, "kinds", ()) or _has(question, self.words.compare)
        year = self.selector.reports[doc].year
        if self.intent(part, question) != "plan" or not asks_figure or getattr(part, "year", None) not in (None, year):
            return None  # «到2026年…» is not this year's target
        topic = "".join(w for w in part.topic.split() if w not in self.plan_words)
        for w in self.words.outcome:
            topic = topic.replace(w, "")
        names = [t for t in (topic, *(e.replace(" ", "") for e in getattr(part, "expansions", []))) if t]
        if not names:
            return None  # the report's own terms an English or colloquial question maps to count too

        def fit(metric: str) -> tuple[float, bool]:
            return max(((similarity(metric, n), self._within(metric, n)) for n in names), key=lambda x: x[0])

        scored = [(*fit(c.metric), c.main_target, -c.start, c) for c in self.commitments
                  if c.doc == doc and c.kind == "target" and c.value is not None]
        scored = [(sim, main, start, c) for sim, within, main, start, c in scored
                  if sim >= self.words.lookup_similarity or (sim >= self.words.figure_similarity and within)]
        if not scored:
            return None
        c = max(scored, key=lambda x: x[:3])[3]
        cite = Citation(1, c.doc, c.section_id, c.section_path, c.clause, c.start, c.end, 1.0)
        return Answer(question=question, answer=f"{year}年：{c.clause}[1]" if year else f"{c.clause}[1]",
                      found=True, citations=[cite], composer="commitments")

    def per_report(self, question: str, parts: list, docs: list[tuple[str, ...] | None], retrieve: Retrieve,
                   compose: Compose) -> Answer:
        """The question answered by each selected report that can (at most three), labelled."""
        pool = list(dict.fromkeys(d for ids in docs for d in (ids if ids is not None else self.selector.reports)))
        named = set(self.selector.years_named(question))
        tried = []
        for doc in pool:
            year = self.selector.reports[doc].year
            # «2023年比2022年»: each report answers for its own year of those named
            own = [dataclasses.replace(p, year=year) if year in named and getattr(p, "year", None) else p
                   for p in parts]
            hits = [retrieve(p, (doc,)) for p in own]
            best = max((h[0].score for h in hits if h), default=0.0)
            tried.append((best, doc, own, hits))
        tried.sort(key=lambda x: -x[0])
        if not self.selector.named_regions(question):  # «东岭光伏电站»: not every report with 光伏电站
            naming = self.selector.naming(question, [t[1] for t in tried])
            tried = [t for t in tried if t[1] in naming]
        found = []
        for best, doc, own, hits in tried:
            a = self.known(question, own, [doc]) or self.checked(compose(question, own, hits), own)
            if a.found:
                found.append((doc, a))
            if len(found) == 3:
                break
        if not found:  # no report answers: the refusal, from the hits of every selected report
            hits = [retrieve(p, ids) for p, ids in zip(parts, docs)]
            answer = self.checked(compose(question, parts, hits), parts)
            return self.label(answer) if answer.found else answer
        reports = self.selector.reports
        if len({reports[d].region for d, _ in found}) == 1:  # one place: in year order
            found.sort(key=lambda x: reports[x[0]].year or 0)
        citations: list[Citation] = []
        pieces = [f"【{self.selector.label(doc)}】{renumber(a, citations)}" for doc, a in found]
        comparison = self.compare(question, found, parts[0].topic if parts else "")
        if comparison:
            pieces.append(comparison)
        return Answer(question=question, answer=" ".join(pieces), found=True, citations=citations,
                      composer=found[0][1].composer)

    def _figure_for(self, answer: Answer, topic: str):
        """The figure of the cited clause that is most about ``topic``."""
        clauses = [c for cite in answer.citations for c in re.split(r"[，,；;。]", cite.quote)]
        scored = [(similarity(c, topic), -i, f) for i, c in enumerate(clauses)
                  if (f := self.tracker.figure_of(c)) is not None]
        return max(scored, key=lambda x: x[:2])[2] if scored else None

    def compare(self, question: str, found: list[tuple[str, Answer]], topic: str = "") -> str:
        """«2023年比2022年高还是低»: which of two years' figures of one place is higher."""
        if len(found) != 2 or not _has(question, self.words.compare):
            return ""
        reports = self.selector.reports
        (d1, a1), (d2, a2) = found
        if reports[d1].region != reports[d2].region:
            return ""
        v1, v2 = (self._figure_for(a, topic.replace(" ", "")) for a in (a1, a2))
        if v1 is None or v2 is None or v1.unit != v2.unit or v1.change != v2.change:
            return ""
        y1, y2 = reports[d1].year, reports[d2].year
        if v1.value == v2.value:
            return f"{y2}年与{y1}年的数字相同。"
        higher = "高于" if v2.value > v1.value else "低于"
        return f"{y2}年（{v2.text}）{higher}{y1}年（{v1.text}）。"

    # ---- promises

    def _next_report(self, doc: str) -> str | None:
        r = self.selector.reports.get(doc)
        if r is None or not r.region or not r.year:
            return None
        return next((i for i, x in self.selector.reports.items() if x.region == r.region and x.year == r.year + 1), None)

    def with_outcome(self, question: str, part, doc: str, answer: Answer, retrieve: Retrieve,
                     compose: Compose) -> Answer:
        """A target's answer followed by what the next year's report says became of it: the
        tracker's paired outcome when it has one, else the next report's own answer."""
        later = self._next_report(doc)
        if later is None:
            return answer
        cited = answer.citations[0]
        targets = [c for c in self.commitments if c.doc == doc and c.kind == "target"
                   and c.start < cited.end and cited.start < c.end]
        targets.sort(key=lambda c: -similarity(c.metric, getattr(part, "topic", "") or question))
        check = next((self.checks[t.id] for t in targets if t.id in self.checks), None)
        citations = list(answer.citations)
        text = answer.answer
        if check is not None and check.outcome and check.outcome in self.by_id:
            o = self.by_id[check.outcome]
            n = len(citations) + 1
            citations.append(Citation(n, o.doc, o.section_id, o.section_path, o.clause, o.start, o.end, cited.score))
            text += f" 实际：{o.clause}[{n}]，{self.words.status[check.status]}。"
            return dataclasses.replace(answer, answer=text, citations=citations)
        review = dataclasses.replace(part, scope="review")
        later_answer = compose(question, [review], [retrieve(review, (later,))])
        if later_answer.found:
            text += " " + renumber(later_answer, citations)
            return dataclasses.replace(answer, answer=text, citations=citations)
        return answer

    def _previous_report(self, doc: str) -> str | None:
        r = self.selector.reports.get(doc)
        if r is None or not r.region or not r.year:
            return None
        return next((i for i, x in self.selector.reports.items() if x.region == r.region and x.year == r.year - 1), None)

    def promise_list(self, question: str, selections: list[Selection]) -> Answer | None:
        """«江城去年定的目标哪些没完成？»: the tracker's missed (or kept) targets of one report; a
        report with no successor stands for the targets its own review judges (its predecessor's)."""
        w = self.words
        missed, met = _has(question, w.missed), _has(question, w.met)
        if not (missed or met) or not _has(question, w.listing) or len(selections) != 1:
            return None
        ids = selections[0].doc_ids
        docs = list(dict.fromkeys(d if self._next_report(d) else self._previous_report(d) for d in (ids or ())))
        docs = [d for d in docs if d]
        if len(docs) != 1:
            return None
        doc = docs[0]
        wanted = "missed" if missed else "met"
        main_only = _has(question, w.main)
        rows = [(self.by_id[t], c) for t, c in self.checks.items()
                if c.status == wanted and self.by_id[t].doc == doc and (self.by_id[t].main_target or not main_only)]
        rows.sort(key=lambda r: (not r[0].main_target, r[0].start))
        later = self.selector.label(self._next_report(doc) or "")
        head = f"【{self.selector.label(doc)}】"
        if not rows:
            return Answer(question=question, found=False, composer="promises",
                          answer=f"{head}据{later}，没有找到{w.status[wanted]}的目标。")
        citations: list[Citation] = []
        items = []
        for t, c in rows[: w.max_listed]:
            o = self.by_id.get(c.outcome or "")
            nt = self._cite(citations, t)
            no = self._cite(citations, o) if o else None
            items.append(f"{t.metric}目标{t.figure}[{nt}]，实际{c.outcome_figure}" + (f"[{no}]" if no else ""))
        more = f"；另有{len(rows) - w.max_listed}项，见“承诺清单”" if len(rows) > w.max_listed else ""
        text = f"{head}定的目标中，据{later}，{w.status[wanted]}的有{len(rows)}项：{'；'.join(items)}{more}。"
        return Answer(question=question, answer=text, found=True, citations=citations, composer="promises")

    @staticmethod
    def _cite(citations: list[Citation], c: Commitment) -> int:
        same = next((x for x in citations if (x.doc, x.start, x.end) == (c.doc, c.start, c.end)), None)
        if same:
            return same.n
        citations.append(Citation(len(citations) + 1, c.doc, c.section_id, c.section_path, c.clause, c.start, c.end, 1.0))
        return len(citations)
