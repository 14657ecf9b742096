"""The commitments tracker: every target and achievement of a report as a table row.

Government work reports state what was achieved (the review part: 过去五年工作回顾) and what
is promised (the plan part: 主要预期目标, 重点工作). This module reads both by general rules of
the genre — which part a section belongs to is decided from its heading path, a figure is an
Arabic number with a unit, a clause is the smallest span around one figure — and pairs each
target with the achievement of the most similar metric, so the five-year record can be shown
beside this year's promise. All vocabulary lives in ``rag/data/commitments.toml``;
nothing here knows a particular report.

Every record's ``clause`` is exactly ``doc.text[start:end]``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

from rag.core.types import Document, Section
from rag.genre.headings import HEADING_STYLES
from rag.genre.lexicon import Lexicon, Period
from rag.genre.text import CLAUSE_ENDS, CN_NUMERAL, LINE_ENDS, TRIM, strip_ends, strip_span
from rag.ingest.corpus import own_segments
from rag.ingest.corpus import plan_year as plan_year_of

#: a heading's numbering (the corpus's styles) or an enumeration item's 一是/二是, at a clause start
_MARKER = re.compile("^(?:" + "|".join(p.pattern for _, p in HEADING_STYLES) + rf"|[{CN_NUMERAL}]{{1,3}}是)\s*")
_NUMBER = re.compile(r"(?<![\d.A-Za-z第])\d+(?:\.\d+)?")
_BIGRAM_DROP = re.compile(r"[\s“”‘’\"'《》（）()、，,。；;：:]")


@dataclass(slots=True)
class Commitment:
    id: str
    clause: str
    metric: str
    value: str | None
    unit: str | None
    qualifier: str | None
    kind: str  # "target" | "achievement"
    horizon: str
    doc: str
    section_id: str
    section_path: str
    start: int
    end: int
    paired_with: str | None = None
    main_target: bool = False  # an item of the report's main-targets list
    paired_value: str | None = None  # the paired record's figure, for display beside this one
    paired_unit: str | None = None
    promise: str | None = None  # a target's fate in the same place's next report: met | missed | not_reported
    outcome_with: str | None = None  # that report's achievement record
    outcome_figure: str | None = None
    promise_rule: str | None = None  # the status with its rule: «目标5.5%左右，实际5.6%：完成»

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def figure(self) -> str:
        """``6万人以上``, ``超300亿元``, or the qualitative qualifier."""
        if self.value is None:
            return self.qualifier or ""
        q = self.qualifier or ""
        if q in _approx_marks():  # «170余个», as written: the mark stands between number and unit
            return f"{self.value}{q}{self.unit or ''}"
        pre = q if q in _shown_before() else ""
        post = "" if pre else q
        return f"{pre}{self.value}{self.unit or ''}{post}"

    @property
    def paired_figure(self) -> str:
        return f"{self.paired_value}{self.paired_unit or ''}" if self.paired_value else ""

    @property
    def horizon_label(self) -> str:
        """``2023年`` for a year, the period as written otherwise (过去五年)."""
        return f"{self.horizon}年" if self.horizon.isdigit() else self.horizon


def paired_text(c: Commitment, by_id: Mapping[str, Commitment]) -> str:
    """The paired record as shown beside this one: ``过去五年：33.16万人``, ``2023年目标：6万人以上``."""
    p = by_id.get(c.paired_with or "")
    if p is None or not p.figure:
        return ""
    return f"{p.horizon_label}{'目标' if p.kind == 'target' else ''}：{p.figure}"


@dataclass(frozen=True, slots=True)
class _Figure:
    start: int  # including a pre-qualifier
    num_start: int
    end: int  # including a post-qualifier
    value: str
    unit: str
    qualifier: str | None


class _Rules:
    """The tracker's slice of the lexicon, prepared once: sorted word lists, the figure tail."""

    def __init__(self, lexicon: Lexicon) -> None:
        main, fig, cl = lexicon.table("main_targets"), lexicon.table("figures"), lexicon.table("clauses")
        self.plan_context: list[str] = cl["plan_context_words"]
        self.main_headings: list[str] = main["headings"]
        self.max_line_chars: int = main["max_line_chars"]
        self.main_lead = re.compile(
            "(?:" + "|".join(map(re.escape, main["leads"])) + r")[^。！？\n：:]{0,8}[：:]"
        )
        self.pre_qualifiers: dict[str, str] = fig["pre_qualifiers"]
        self.post_qualifiers: list[str] = sorted(fig["post_qualifiers"], key=len, reverse=True)
        self.qualitative_qualifiers: list[str] = fig["qualitative_qualifiers"]
        units = "|".join(map(re.escape, sorted(fig["units"], key=len, reverse=True)))
        mags = "".join(fig["magnitudes"])
        bare = "|".join(map(re.escape, fig["bare_magnitudes"]))
        approx = "".join(fig["approx_marks"])
        posts = "|".join(map(re.escape, self.post_qualifiers))
        self.tail = re.compile(
            rf"(?P<approx>[{approx}])?(?P<unit>[{mags}]{{0,2}}(?:{units})|{bare})(?P<post>{posts})?"
        )
        self.promise: list[str] = cl["promise_words"]
        self.lead_words = sorted(cl["promise_words"] + cl["scope_words"] + cl["adverbs"], key=len, reverse=True)
        self.link_words: list[str] = sorted(cl["link_words"], key=len, reverse=True)
        self.qualitative_link_words: list[str] = sorted(cl["qualitative_link_words"], key=len, reverse=True)
        self.conjunctions: list[str] = sorted(cl["conjunctions"], key=len, reverse=True)
        self.qualitative_verbs: list[str] = cl["qualitative_verbs"]
        self.min_qualitative: int = cl["min_qualitative_chars"]
        self.min_similarity: float = lexicon.table("pairing")["min_similarity"]
        self.percent_units = frozenset(fig["percent_units"])
        self.magnitudes = "".join(fig["magnitudes"])
        self.references: list[str] = cl["reference_words"]
        self.units_list: list[str] = fig["units"]
        self.bare_chars: int = cl["bare_metric_chars"]
        self.predicate_verbs: list[str] = cl["predicate_verbs"]
        self.respectively: str = cl["respectively"]
        self.max_parts: int = main["max_parts"]
        self.first_markers: tuple[str, ...] = tuple(main["first_markers"])

    def unit_base(self, unit: str | None) -> str:
        """The unit without its magnitude, every percentage as "%": what makes two figures comparable."""
        if not unit:
            return ""
        return "%" if unit in self.percent_units else unit.lstrip(self.magnitudes)


# --------------------------------------------------------------------------- helpers


def _split(text: str, a: int, b: int, ends: str) -> list[tuple[int, int]]:
    out, cur = [], a
    for i in range(a, b):
        if text[i] in ends:
            out.append((cur, i + 1))
            cur = i + 1
    if cur < b:
        out.append((cur, b))
    return [s for s in (strip_span(text, x, y, TRIM) for x, y in out) if s[1] > s[0]]


def _inside_quotes(text: str, lo: int, pos: int) -> bool:
    seg = text[lo:pos]
    return seg.count("“") > seg.count("”") or seg.count("《") > seg.count("》")


def _bigrams(s: str) -> set[str]:
    s = _BIGRAM_DROP.sub("", s)
    return {s[i : i + 2] for i in range(len(s) - 1)}


def similarity(a: str, b: str) -> float:
    """Character-bigram Jaccard: robust to the verb and word-order variation between parts."""
    x, y = _bigrams(a), _bigrams(b)
    return len(x & y) / len(x | y) if x and y else 0.0


@cache
def _approx_marks() -> frozenset[str]:
    return frozenset(Lexicon.default().table("figures")["approx_marks"])


@cache
def _shown_before() -> frozenset[str]:
    """Qualifiers displayed before the figure (超300亿元), not after it (6万人以上)."""
    fig = Lexicon.default().table("figures")
    return frozenset(fig["pre_qualifiers"].values()) - set(fig["post_qualifiers"])


# --------------------------------------------------------------------------- extractor


class CommitmentExtractor:
    """Targets (plan part) and achievements (review part) of every document, paired by metric."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon.default()
        self.rules = _Rules(self.lexicon)

    # ---- figures

    def _figures(self, text: str, a: int, b: int) -> list[_Figure]:
        out: list[_Figure] = []
        for m in _NUMBER.finditer(text, a, b):
            t = self.rules.tail.match(text, m.end(), b)
            if not t or _inside_quotes(text, a, m.start()):
                continue
            start, qualifier = m.start(), None
            for word, shown in sorted(self.rules.pre_qualifiers.items(), key=lambda kv: -len(kv[0])):
                if text[max(a, m.start() - len(word)) : m.start()] == word:
                    start, qualifier = m.start() - len(word), shown
                    break
            if t.group("post"):
                qualifier = t.group("post")
            elif t.group("approx") and qualifier is None:
                qualifier = t.group("approx")
            out.append(_Figure(start, m.start(), t.end(), m.group(), t.group("unit"), qualifier))
        return out

    def _primary(self, text: str, figs: list[_Figure], b: int | None = None) -> list[_Figure]:
        """Drops figures that modify the one before: right after it (``22个50亿元以上项目``,
        ``2家超50亿元企业``) or, in another unit and with no 、 or conjunction between, a threshold
        of what it counts (``3家工业企业营收超100亿元``: one clause, three companies). Figures in
        the same unit stay apart (``123所幼儿园289所中小学``), and so does a figure that ends its
        clause right after another (``改造老旧小区1343个52.54万户``: the same work in two measures)."""
        out: list[_Figure] = []
        for f in figs:
            if out and f.start >= out[-1].end:
                between = text[out[-1].end : f.start]
                closing = b is not None and not text[f.end : b].strip(TRIM)
                if closing and not between.strip():
                    out.append(f)
                    continue
                if not between.strip() or (
                    self.rules.unit_base(f.unit) != self.rules.unit_base(out[-1].unit)
                    and not any(c in between for c in "、，,；;")
                    and not any(between.endswith(c) for c in self.rules.conjunctions)
                ):
                    continue
            out.append(f)
        return out

    def _spans(self, text: str, a: int, b: int, primary: list[_Figure]) -> list[tuple[int, int]]:
        """Cuts a comma clause so each piece holds one primary figure."""
        cuts: list[tuple[int, int]] = []  # (end of previous piece, start of next piece)
        for prev, f in zip(primary, primary[1:]):
            between = text[prev.end : f.start]
            dun = between.find("、")
            if dun != -1:
                cuts.append((prev.end + dun, prev.end + dun + 1))
                continue
            conj = next((c for c in self.rules.conjunctions if between.endswith(c)), None)
            if conj:
                cuts.append((f.start - len(conj), f.start))
            else:
                cuts.append((f.start, f.start))
        bounds, cur = [], a
        for end, nxt in cuts:
            bounds.append((cur, end))
            cur = nxt
        bounds.append((cur, b))
        return [strip_span(text, x, y, TRIM) for x, y in bounds]

    # ---- metrics

    def _strip_lead(self, s: str, words: list[str] | None = None) -> str:
        """Strips leading markers, punctuation and ``words`` (the rules' lead words by default)."""
        words = self.rules.lead_words if words is None else words
        changed = True
        while changed and s:
            changed = False
            m = _MARKER.match(s)
            if m and m.end() < len(s):
                s, changed = s[m.end() :], True
            for w in words:
                if s.startswith(w) and len(s) > len(w):
                    s, changed = s[len(w) :], True
                    break
            s2 = s.lstrip(TRIM)
            changed = changed or s2 != s
            s = s2
        return s

    def _strip_tail(self, s: str, words: list[str] | None = None) -> str:
        """Drops linking verbs at the end; a clause that is only a verb ("提高") leaves ""."""
        return strip_ends(s, words if words is not None else self.rules.link_words).rstrip(TRIM)

    def _metric(self, text: str, a: int, b: int, f: _Figure) -> str:
        pre = self._strip_tail(self._strip_lead(text[a : f.start]))
        post = text[f.end : b]
        for sep in "、，,":
            post = post.split(sep, 1)[0]
        post = post.strip(TRIM)
        return (pre + post).strip(TRIM)

    def _nounless(self, metric: str) -> bool:
        """A metric that is only a figure's wording (``超亿元``, ``超50亿元``): no thing is named."""
        rest = _NUMBER.sub("", metric)
        for w in sorted([*self.rules.pre_qualifiers, *self.rules.post_qualifiers, *self.rules.units_list],
                        key=len, reverse=True):
            rest = rest.replace(w, "")
        return not rest.strip(TRIM + self.rules.magnitudes)

    def _noun(self, metric: str) -> str:
        """A metric without the figure it ends with: ``工业企业营收超100亿元`` → ``工业企业营收``."""
        for m in _NUMBER.finditer(metric):
            tail = self.rules.tail.match(metric, m.end())
            if tail and tail.end() == len(metric):
                head = metric[: m.start()]
                for w in sorted(self.rules.pre_qualifiers, key=len, reverse=True):
                    if head.endswith(w):
                        return head[: -len(w)]
                return head
        return metric

    def _complete_metrics(self, text: str, a: int, b: int, recs: list[Commitment], prev: str) -> None:
        """Gives every record of one clause a metric that names a thing: a threshold alone
        (``10家超50亿元``) takes the thing of the record before (工业企业营收超50亿元), a bare
        verb (``交付6040套`` after ``新开工…安置房880套``) takes that record's object, and a bare
        noun before a conjunction (``4个县和13家企业成为…``) reads with the whole clause."""
        before = prev
        for rec, nxt in zip(recs, [*recs[1:], None]):
            if self._nounless(rec.metric) and before:
                rec.metric = self._noun(before) + rec.metric
            elif len(rec.metric) <= self.rules.bare_chars and before and text[rec.start : rec.end].startswith(rec.metric):
                rec.metric += self._strip_lead(self._noun(before), self.rules.qualitative_verbs)
            elif len(rec.metric) <= self.rules.bare_chars and nxt is not None and self._shared_predicate(nxt.metric):
                rec.metric += self._shared_predicate(nxt.metric)  # 4个县和13家企业成为… → 县成为…
            elif len(rec.metric) <= self.rules.bare_chars:
                clause = text[a:b]
                figure = text[rec.start : rec.end].replace(rec.metric, "", 1)
                whole = self._strip_lead(clause.replace(figure, "", 1) if figure else clause).split("、")[0]
                if len(whole) > len(rec.metric):
                    rec.metric = whole
            before = rec.metric

    def _distribute(self, text: str, a: int, b: int, recs: list[Commitment]) -> None:
        """«城镇、农村居民人均可支配收入分别增长5%、7%左右»: the n-th subject gets the n-th figure,
        a short modifier (城镇) the noun the last subject names (…居民人均可支配收入)."""
        marker = self.rules.respectively
        if len(recs) < 2 or marker not in text[a:b] or len({r.metric for r in recs}) != 1:
            return
        head, _, rest = recs[0].metric.partition(marker)
        subjects = [x for x in head.split("、") if x]
        if len(subjects) != len(recs):
            return
        last = subjects[-1]
        for rec, subject in zip(recs, subjects):
            if len(subject) <= self.rules.bare_chars and len(last) > 2 * len(subject):
                subject += last[len(subject):]
            rec.metric = subject + rest

    def _shared_predicate(self, metric: str) -> str:
        """The predicate two joined subjects share (``企业成为省…试点`` → ``成为省…试点``), or ""."""
        at = [metric.find(v) for v in self.rules.predicate_verbs if v in metric[1:]]
        return metric[min(at):] if at else ""

    def _qualitative_metric(self, clause: str, qualifier: str | None) -> str:
        s = self._strip_lead(clause)
        if qualifier and qualifier in s:
            s = s[: s.index(qualifier)]
            ref = next((w for w in self.rules.references if w in s[1:]), None)
            if ref:  # "…与“十四五”目标统筹衔接": the reference is not the metric
                s = s[: s.rindex(ref)]
            s = self._strip_tail(s, self.rules.qualitative_link_words)
        return s.strip(TRIM) or clause

    # ---- records

    def _make(self, doc, section, period, a, b, *, metric, value=None, unit=None, qualifier=None,
              main=False) -> Commitment:
        metric = " ".join(metric.replace("|", " ").split())  # a Markdown table row: «| 粮食产量 | 32万吨以上 |»
        return Commitment(
            id="", clause=doc.text[a:b], metric=metric, value=value, unit=unit, qualifier=qualifier,
            kind="target" if period.scope == "plan" else "achievement", horizon=period.horizon,
            doc=doc.id, section_id=section.id, section_path=section.path_str, start=a, end=b,
            main_target=main,
        )

    def _figure_records(self, doc, section, period, a, b, *, main=False) -> list[Commitment]:
        """Figure records of one comma clause; empty if it holds no figure."""
        text = doc.text
        primary = self._primary(text, self._figures(text, a, b), b)
        out: list[Commitment] = []
        for (x, y), f in zip(self._spans(text, a, b, primary), primary):
            metric = self._metric(text, x, y, f)  # "" when the clause is only a figure: filled by caller
            out.append(self._make(doc, section, period, x, y, metric=metric, value=f.value, unit=f.unit,
                                  qualifier=f.qualifier, main=main))
        return out

    def _qualitative_qualifier(self, clause: str) -> str | None:
        return next((q for q in self.rules.qualitative_qualifiers if q in clause), None)

    def _region(self, doc, section, period, a, b, *, allow_qualitative=True) -> list[Commitment]:
        text, r = doc.text, self.rules
        out: list[Commitment] = []
        for sa, sb in _split(text, a, b, LINE_ENDS):
            if period.scope == "plan" and any(w in text[sa:sb] for w in r.plan_context):
                continue
            prev_metric = ""
            for ca, cb in _split(text, sa, sb, CLAUSE_ENDS):
                recs = self._figure_records(doc, section, period, ca, cb)
                _fill_metrics(recs, prev_metric)
                self._complete_metrics(text, ca, cb, recs, prev_metric)
                self._distribute(text, ca, cb, recs)
                if recs:
                    prev_metric = recs[-1].metric
                out.extend(recs)
                if recs or period.scope != "plan" or not allow_qualitative:
                    continue
                clause = text[ca:cb]
                core = self._strip_lead_keep_promise(clause)
                qq = self._qualitative_qualifier(clause)
                if qq or (any(core.startswith(v) for v in r.qualitative_verbs) and len(core) >= r.min_qualitative):
                    out.append(self._make(doc, section, period, ca, cb, qualifier=qq,
                                          metric=self._qualitative_metric(clause, qq) if qq else core))
        return out

    def _strip_lead_keep_promise(self, s: str) -> str:
        """Strips markers, scope words and adverbs but keeps a leading promise verb."""
        r = self.rules
        words = sorted(set(r.lead_words) - set(r.promise) - set(r.qualitative_verbs), key=len, reverse=True)
        return self._strip_lead(s, words).strip(TRIM)

    def _main_item(self, doc, section, period, a, b) -> list[Commitment]:
        a, b = strip_span(doc.text, a, b, TRIM)
        if b <= a:
            return []
        recs: list[Commitment] = []
        clauses = _split(doc.text, a, b, CLAUSE_ENDS)
        for ca, cb in clauses:
            recs.extend(self._figure_records(doc, section, period, ca, cb, main=True))
        _fill_metrics(recs, "")
        self._complete_metrics(doc.text, a, b, recs, "")
        for ca, cb in clauses:  # «…，城镇、农村居民人均可支配收入分别增长5%、7%左右，…»: per comma clause
            self._distribute(doc.text, ca, cb, [r for r in recs if ca <= r.start and r.end <= cb])
        if recs:
            return recs
        clause = doc.text[a:b]
        qq = self._qualitative_qualifier(clause)
        return [self._make(doc, section, period, a, b, qualifier=qq, main=True,
                           metric=self._qualitative_metric(clause, qq))]

    def _is_target_list(self, doc: Document, section: Section, segments: list[tuple[int, int]]) -> bool:
        if not any(w in section.title for w in self.rules.main_headings):
            return False
        lines = [ln.strip() for a, b in segments for ln in doc.text[a:b].split("\n") if ln.strip()]
        return len(lines) >= 2 and all(
            len(ln) <= self.rules.max_line_chars and not any(c in ln.rstrip("。；;") for c in "。！？") for ln in lines
        )

    def _section(self, doc: Document, section: Section, segments, period: Period) -> list[Commitment]:
        text = doc.text
        out: list[Commitment] = []
        if period.scope == "plan" and self._is_target_list(doc, section, segments):
            for a, b in segments:
                pos = a
                for line in text[a:b].split("\n"):
                    out.extend(self._main_item(doc, section, period, pos, pos + len(line)))
                    pos += len(line) + 1
            return out
        for a, b in segments:
            cursor = a
            if period.scope == "plan":
                for m in self.rules.main_lead.finditer(text, a, b):
                    end = m.end()
                    while end < b and text[end] not in "。！？!?\n":
                        end += 1
                    out.extend(self._region(doc, section, period, cursor, m.end()))
                    for ia, ib in _split(text, m.end(), end, "；;"):
                        out.extend(self._main_item(doc, section, period, ia, ib))
                    cursor = end
            out.extend(self._region(doc, section, period, cursor, b))
        return out

    def extract(self, doc: Document) -> list[Commitment]:
        plan_year = plan_year_of(doc)
        by_id = {s.id: s for s in doc.sections}
        segments: dict[str, list[tuple[int, int]]] = {}
        for sid, a, b in own_segments(doc):
            segments.setdefault(sid, []).append((a, b))
        periods = self._periods(doc, plan_year)
        out: list[Commitment] = []
        for section in doc.sections:
            period = periods[section.id]
            if period.scope is None:
                continue
            if section.heading_end > section.start:  # a heading may carry a figure ("（二）新增就业5万人")
                line_start = section.start
                m = _MARKER.match(doc.text[line_start : section.heading_end].lstrip())
                a = line_start + (len(doc.text[line_start : section.heading_end]) -
                                  len(doc.text[line_start : section.heading_end].lstrip())) + (m.end() if m else 0)
                out.extend(self._region(doc, section, period, a, section.heading_end, allow_qualitative=False))
            out.extend(self._section(doc, by_id[section.id], segments.get(section.id, []), period))
        out.sort(key=lambda c: (c.start, c.end))
        counters: dict[str, int] = {}
        for c in out:
            counters[c.section_id] = counters.get(c.section_id, 0) + 1
            c.id = f"{doc.id}:{c.section_id}:{counters[c.section_id]}"
        return out

    def _periods(self, doc: Document, plan_year: int | None) -> dict[str, Period]:
        """Each section's part. A report whose part headings use no plan wording
        («三、奋勇争先，扎实做好开局之年各项工作») still plans after it reviews: its unmarked parts
        after the first review part (after the first part when no part says review or plan) are
        the plan, subsections that say otherwise aside. Only parts: a report whose top level is a long list
        of （一）… sections is left as its headings say."""
        periods = {s.id: self.lexicon.section_period(s.path, plan_year) for s in doc.sections}
        tops = [s for s in doc.sections if s.level == min((x.level for x in doc.sections), default=1)
                and s.heading_end > s.start]
        if len(tops) > self.rules.max_parts:  # no parts, only sections: their numbering restarts per part
            return self._runs(doc, tops, periods, plan_year)
        first_review = next((i for i, s in enumerate(tops) if periods[s.id].scope == "review"), None)
        if first_review is None and any(periods[s.id].scope == "plan" for s in tops):
            return periods
        plan = [s for s in tops[(first_review or 0) + 1 :] if periods[s.id].scope is None]
        horizon = str(plan_year) if plan_year else self.lexicon.plan_default
        for s in doc.sections:
            if periods[s.id].scope is None and any(p.start <= s.start < p.end for p in plan):
                periods[s.id] = Period("plan", horizon, periods[s.id].label)
        return periods

    def _runs(self, doc: Document, tops: list[Section], periods: dict[str, Period],
              plan_year: int | None) -> dict[str, Period]:
        """A report whose part headings were not found, only its sections («（一）…（九）», then
        «（一）…» again): each restart of the numbering begins a part; the first run reviews the past
        year, the later ones plan. Sections whose headings say otherwise keep their reading."""
        runs: list[list[Section]] = []
        for s in tops:
            if not runs or s.title.startswith(self.rules.first_markers):
                runs.append([])
            runs[-1].append(s)
        runs = [r for r in runs if r and r[0].title.startswith(self.rules.first_markers)]
        if len(runs) < 2:
            return periods
        for n, run in enumerate(runs):
            scope, horizon = ("review", str(plan_year - 1)) if n == 0 and plan_year else ("plan", str(plan_year or ""))
            if n == 0 and not plan_year:
                continue
            for s in doc.sections:
                if periods[s.id].scope is None and any(p.start <= s.start < p.end for p in run):
                    periods[s.id] = Period(scope, horizon or self.lexicon.plan_default, periods[s.id].label)
        return periods

    # ---- pairing

    def pair(self, items: list[Commitment]) -> None:
        """Each target gets the achievement of the most similar metric in the same document.

        Several targets may share an achievement (the main-targets list and the plan section
        often repeat 城镇新增就业); the achievement's own ``paired_with`` then names its best
        target, a main-target item first on ties.

        Similarity is character-bigram Jaccard over metrics, kept when >= 0.4 (in the TOML).
        Identical metrics (城镇新增就业) score 1.0; the same object under another verb or with
        a qualifier prefix scores 0.4-0.65 (新增/培育国家高新技术企业 0.64, 推进老旧小区改造项目
        / 完成老旧小区改造 0.45, 常住人口城镇化率 / 城镇化率 0.43, 改扩建中小学 / 中小学 0.4).
        Measured on the seed report, the first wrong candidates come just below: metrics that
        share only a generic phrase (规模以上工业企业增加值能耗 / …研发活动覆盖率 0.37,
        单位生产总值能耗 / 地区生产总值 0.33).

        Only like is paired with like: both figures in the same unit (every percentage is one),
        so a growth rate (地区生产总值增长7%) is never set beside a five-year level or total
        (2280亿元), nor a qualitative target beside a figure.
        """
        by_doc: dict[str, list[Commitment]] = {}
        for c in items:
            by_doc.setdefault(c.doc, []).append(c)
        for group in by_doc.values():
            achievements = [c for c in group if c.kind == "achievement"]
            best_for: dict[str, tuple[tuple, Commitment]] = {}
            for t in (c for c in group if c.kind == "target"):
                unit = self.rules.unit_base(t.unit)
                scored = [((similarity(t.metric, a.metric), -a.start), a)
                          for a in achievements if unit and self.rules.unit_base(a.unit) == unit]
                scored = [x for x in scored if x[0][0] >= self.rules.min_similarity]
                if not scored:
                    continue
                key, a = max(scored, key=lambda x: x[0])
                t.paired_with, t.paired_value, t.paired_unit = a.id, a.value, a.unit
                rank = (key[0], t.main_target, -t.start)
                if a.id not in best_for or rank > best_for[a.id][0]:
                    best_for[a.id] = (rank, t)
            for a in achievements:
                if a.id in best_for:
                    t = best_for[a.id][1]
                    a.paired_with, a.paired_value, a.paired_unit = t.id, t.value, t.unit

    def run(self, documents: list[Document]) -> list[Commitment]:
        items = [c for doc in documents for c in self.extract(doc)]
        self.pair(items)
        return sorted(items, key=lambda c: (c.doc, c.start, c.end))


def _fill_metrics(recs: list[Commitment], prev: str) -> None:
    """A clause that is only a figure (``7.8%``, ``达到1860亿元``) shares the metric before it."""
    for rec in recs:
        if not rec.metric:
            rec.metric = prev or rec.clause
        prev = rec.metric


# --------------------------------------------------------------------------- filtering and rendering


def filter_commitments(items: list[Commitment], *, q: str | None = None, kind: str | None = None,
                       section: str | None = None, documents: Collection[str] | None = None,
                       promise: str | None = None) -> list[Commitment]:
    """``q`` matches metric, clause or section path; ``section`` is an id prefix (``2.2`` → 2.2.x);
    ``documents`` keeps those reports' records; ``promise`` targets with that fate."""
    out = []
    for c in items:
        if kind and c.kind != kind:
            continue
        if (documents is not None and c.doc not in documents) or (promise and c.promise != promise):
            continue
        if section:
            sid = section.split(":", 1)[1] if ":" in section else section
            doc_ok = ":" not in section or section.split(":", 1)[0] == c.doc
            if not doc_ok or not (c.section_id == sid or c.section_id.startswith(sid + ".")):
                continue
        if q:
            needle = q.lower()
            if not any(needle in (f or "").lower() for f in (c.metric, c.clause, c.section_path)):
                continue
        out.append(c)
    return out


#: The CSV: first the table's own columns, same names, same order, same text (数值 is the figure as
#: shown, «6万人以上»), then what a spreadsheet needs besides, under names of their own (数字 is the
#: bare number, 单位 its unit). JSON and the API keep the record's field names.
TABLE_FIELDS = ["kind", "metric", "figure", "paired", "promise", "horizon", "clause", "section_path"]
EXTRA_FIELDS = ["promise_rule", "outcome_figure", "doc", "id", "section_id", "start", "end", "value", "unit",
                "qualifier", "main_target", "paired_with", "outcome_with"]
CSV_COLUMNS = TABLE_FIELDS + EXTRA_FIELDS
#: how the table, the page and chat name a target's fate (CSV and JSON keep the codes)
PROMISE_LABELS = {"met": "已完成", "missed": "未完成", "not_reported": "未报告"}


PROMISE_LABELS_EN = {"met": "Met", "missed": "Missed", "not_reported": "Not reported"}


@cache
def _horizons_en() -> dict[str, str]:
    """Periods in English («过去五年» → «Past five years», «今年» → «This year»), as English answers frame them."""
    lexicon = Lexicon.default()
    english = lexicon.table("english")
    return {**english["review"], lexicon.plan_default: english["plan_default"]}


def horizon_text(c: Commitment, lang: str = "zh") -> str:
    """``2023年`` / ``过去五年`` in Chinese; ``2023`` / ``Past five years`` in English (a period with no
    English name stays as the report writes it)."""
    if lang != "en":
        return c.horizon_label
    return c.horizon if c.horizon.isdigit() else _horizons_en().get(c.horizon, c.horizon)


def promise_text(c: Commitment, lang: str = "zh") -> str:
    """``未完成（实际5.8%）`` (``Missed (outcome 5.8%)``); "" for records no next report judges."""
    if not c.promise:
        return ""
    if lang == "en":
        label = PROMISE_LABELS_EN.get(c.promise, c.promise)
        return f"{label} (outcome {c.outcome_figure})" if c.outcome_figure else label
    label = PROMISE_LABELS.get(c.promise, c.promise)
    return f"{label}（实际{c.outcome_figure}）" if c.outcome_figure else label


#: CSV headers: the table's names (``ui/render.py`` col_*, checked by a test), then the rest.
CSV_HEADERS: dict[str, dict[str, str]] = {
    "zh": {"kind": "类型", "metric": "指标", "figure": "数值", "paired": "对照（五年 / 今年）", "promise": "兑现情况",
           "horizon": "期限", "clause": "原文", "section_path": "章节", "promise_rule": "兑现依据",
           "outcome_figure": "实际", "doc": "报告", "id": "编号", "section_id": "章节编号", "start": "起点",
           "end": "终点", "value": "数字", "unit": "单位", "qualifier": "限定", "main_target": "主要目标",
           "paired_with": "对照编号", "outcome_with": "实际编号"},
    "en": {"kind": "Kind", "metric": "Metric", "figure": "Figure", "paired": "Compare (5 years / this year)",
           "promise": "Kept?", "horizon": "Horizon", "clause": "Clause", "section_path": "Section",
           "promise_rule": "Rule", "outcome_figure": "Outcome", "doc": "Report", "id": "ID",
           "section_id": "Section no.", "start": "Start", "end": "End", "value": "Number", "unit": "Unit",
           "qualifier": "Qualifier", "main_target": "Main target", "paired_with": "Compared ID",
           "outcome_with": "Outcome ID"},
}
#: how the CSV writes the coded values in each language
_CSV_VALUES: dict[str, dict[object, str]] = {
    "zh": {"target": "目标", "achievement": "成绩", True: "是", False: "否"},
    "en": {"target": "target", "achievement": "achievement", True: "yes", False: "no"},
}


def csv_headers(lang: str = "zh") -> list[str]:
    names = CSV_HEADERS.get(lang, CSV_HEADERS["zh"])
    return [names.get(k, k) for k in CSV_COLUMNS]


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, w: int) -> str:
    return s + " " * (w - _width(s))


def _cut(s: str, w: int) -> str:
    out, n = "", 0
    for ch in s:
        cw = _width(ch)
        if n + cw > w - 1:
            return out + "…"
        out, n = out + ch, n + cw
    return out


#: the terminal table's and Markdown's columns: the page's, by their CSV names in each language
_SHORT_FIELDS = ["kind", "metric", "figure", "paired", "promise", "horizon", "section_id", "clause"]


def _short_row(c: Commitment, by_id: Mapping[str, Commitment], lang: str, width: bool) -> list[str]:
    values = _CSV_VALUES.get(lang, _CSV_VALUES["zh"])
    return [values[c.kind], _cut(c.metric, 24) if width else c.metric, c.figure or "—", paired_text(c, by_id),
            promise_text(c, lang), horizon_text(c, lang), c.section_id, _cut(c.clause, 40) if width else c.clause]


def _table(items: list[Commitment], lang: str = "zh", by_id: Mapping[str, Commitment] | None = None) -> str:
    names = CSV_HEADERS.get(lang, CSV_HEADERS["zh"])
    head = [names[k] for k in _SHORT_FIELDS]
    by_id = by_id if by_id is not None else {c.id: c for c in items}
    rows = [_short_row(c, by_id, lang, True) for c in items]
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(_pad(v, w) for v, w in zip(r, widths)).rstrip() for r in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append(f"({len(items)} 条 / rows)")
    return "\n".join(lines) + "\n"


#: A cell starting with one of these is a formula (or a DDE call) to Excel and LibreOffice; a
#: report's Markdown bullet «- 就业…» would be one. Plain numbers («-0.5») are left as they are.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")


def csv_cell(value: object) -> str:
    """The cell as text a spreadsheet shows but never evaluates: a leading ``'`` when needed."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text) else text


def csv_row(c: Commitment, by_id: Mapping[str, Commitment], lang: str = "zh") -> list[object]:
    """One CSV row in ``CSV_COLUMNS`` order: the table's cells as the page shows them, then the rest."""
    values = _CSV_VALUES.get(lang, _CSV_VALUES["zh"])
    shown = {"figure": c.figure or "—", "paired": paired_text(c, by_id), "promise": promise_text(c, lang),
             "horizon": horizon_text(c, lang)}
    d = c.to_dict()
    return [shown[k] if k in shown else values.get(d[k], d[k]) if k in ("kind", "main_target") else d[k]
            for k in CSV_COLUMNS]


def _csv(items: list[Commitment], lang: str = "zh", by_id: Mapping[str, Commitment] | None = None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(csv_headers(lang))
    by_id = by_id if by_id is not None else {c.id: c for c in items}
    for c in items:
        w.writerow([csv_cell(v) for v in csv_row(c, by_id, lang)])
    return buf.getvalue()


def _md(items: list[Commitment], lang: str = "zh", by_id: Mapping[str, Commitment] | None = None) -> str:
    def esc(s: str) -> str:
        return s.replace("|", "\\|").replace("\n", " ")

    names = CSV_HEADERS.get(lang, CSV_HEADERS["zh"])
    by_id = by_id if by_id is not None else {c.id: c for c in items}
    lines = ["| " + " | ".join(names[k] for k in _SHORT_FIELDS) + " |", "|" + "---|" * len(_SHORT_FIELDS)]
    for c in items:
        lines.append("| " + " | ".join(esc(v) for v in _short_row(c, by_id, lang, False)) + " |")
    return "\n".join(lines) + "\n"


def render(items: list[Commitment], fmt: str, lang: str = "zh",
           by_id: Mapping[str, Commitment] | None = None) -> str:
    """``table`` (aligned terminal text), ``csv`` (headers in ``lang``), ``json`` or ``md``."""
    if fmt == "table":
        return _table(items, lang, by_id)
    if fmt == "csv":
        return _csv(items, lang, by_id)
    if fmt == "json":
        return json.dumps([c.to_dict() for c in items], ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return _md(items, lang, by_id)
    raise ValueError(f"未知格式 {fmt!r}（可选 table/csv/json/md） / Unknown format {fmt!r} (table, csv, json, md)")


def to_csv_bytes(items: list[Commitment], lang: str = "zh", by_id: Mapping[str, Commitment] | None = None) -> bytes:
    """CSV with a UTF-8 BOM so spreadsheet programs read the Chinese text correctly; ``by_id``
    (every record) names the paired records that the filter left out."""
    return b"\xef\xbb\xbf" + _csv(items, lang, by_id).encode("utf-8")
