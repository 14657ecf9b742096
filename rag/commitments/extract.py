"""The commitments tracker: every target and achievement of a report as a table row.

Government work reports state what was achieved (the review part: 过去五年工作回顾) and what
is promised (the plan part: 主要预期目标, 重点工作). This module reads both by general rules of
the genre — which part a section belongs to is decided from its heading path, a figure is an
Arabic number with a unit, a clause is the smallest span around one figure — and pairs each
target with the achievement of the most similar metric, so the five-year record can be shown
beside this year's promise. All vocabulary lives in ``rag/data/commitments.toml``;
nothing here knows a particular report.

The parts: figures are read by the genre's ``FigureReader``, metrics named by ``MetricNamer``
(``metrics``), parts of a report read by ``PartReader`` (``parts``), records paired by ``pairing``;
this module cuts clauses into records. Filtering and output are in ``render``.

Every record's ``clause`` is exactly ``doc.text[start:end]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.commitments.metrics import MetricNamer
from rag.commitments.pairing import pair
from rag.commitments.parts import PartReader
from rag.commitments.record import Commitment
from rag.commitments.rules import MARKER, TrackerRules, split_at
from rag.core.types import Document, Section
from rag.genre.lexicon import Lexicon, Period
from rag.genre.text import CLAUSE_ENDS, LINE_ENDS, TRIM, Figure, strip_span
from rag.ingest.corpus import own_segments
from rag.ingest.corpus import plan_year as plan_year_of


@dataclass(frozen=True, slots=True)
class Where:
    """Where records are read: their report, section, and the part and period that section is in."""

    doc: Document
    section: Section
    period: Period

    @property
    def plan(self) -> bool:
        return self.period.scope == "plan"


class CommitmentExtractor:
    """Targets (plan part) and achievements (review part) of every document, paired by metric."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon.default()
        self.rules = TrackerRules(self.lexicon)
        self.figures = self.lexicon.figures
        self.metrics = MetricNamer(self.rules, self.figures)
        self.parts = PartReader(self.lexicon, self.rules)

    # ---- a clause's figures

    def _primary(self, text: str, figs: list[Figure], b: int | None = None) -> list[Figure]:
        """Drops figures that modify the one before: right after it (``22个50亿元以上项目``,
        ``2家超50亿元企业``) or, in another unit and with no 、 or conjunction between, a threshold
        of what it counts (``3家工业企业营收超100亿元``: one clause, three companies). Figures in
        the same unit stay apart (``123所幼儿园289所中小学``), and so does a figure that ends its
        clause right after another (``改造老旧小区1343个52.54万户``: the same work in two measures)."""
        out: list[Figure] = []
        for f in figs:
            if out and f.start >= out[-1].end:
                between = text[out[-1].end : f.start]
                closing = b is not None and not text[f.end : b].strip(TRIM)
                if closing and not between.strip():
                    out.append(f)
                    continue
                if not between.strip() or (
                    self.figures.unit_base(f.unit) != self.figures.unit_base(out[-1].unit)
                    and not any(c in between for c in "、，,；;")
                    and not any(between.endswith(c) for c in self.rules.conjunctions)
                ):
                    continue
            out.append(f)
        return out

    def _spans(self, text: str, a: int, b: int, primary: list[Figure]) -> list[tuple[int, int]]:
        """Cuts a comma clause so each piece holds one primary figure."""
        cuts: list[tuple[int, int]] = []  # (end of previous piece, start of next piece)
        for prev, f in zip(primary, primary[1:], strict=False):
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

    # ---- records

    def _make(self, at: Where, a: int, b: int, *, metric: str, figure: Figure | None = None,
              qualifier: str | None = None, main: bool = False) -> Commitment:
        metric = " ".join(metric.replace("|", " ").split())  # a Markdown table row: «| 粮食产量 | 32万吨以上 |»
        return Commitment(
            id="", clause=at.doc.text[a:b], metric=metric, value=figure.value if figure else None,
            unit=figure.unit if figure else None, qualifier=figure.qualifier if figure else qualifier,
            kind="target" if at.plan else "achievement", horizon=at.period.horizon,
            doc=at.doc.id, section_id=at.section.id, section_path=at.section.path_str, start=a, end=b,
            main_target=main,
        )

    def _figure_records(self, at: Where, a: int, b: int, *, main: bool = False) -> list[Commitment]:
        """Figure records of one comma clause; empty if it holds no figure."""
        text = at.doc.text
        primary = self._primary(text, self.figures.figures(text, a, b), b)
        out: list[Commitment] = []
        for (x, y), f in zip(self._spans(text, a, b, primary), primary, strict=False):  # no figure: one span
            metric = self.metrics.of_figure(text, x, y, f)  # "" when the clause is only a figure: filled by caller
            out.append(self._make(at, x, y, metric=metric, figure=f, main=main))
        return out

    def _qualitative_qualifier(self, clause: str) -> str | None:
        return next((q for q in self.rules.qualitative_qualifiers if q in clause), None)

    def _region(self, at: Where, a: int, b: int, *, allow_qualitative: bool = True) -> list[Commitment]:
        text, r = at.doc.text, self.rules
        out: list[Commitment] = []
        for sa, sb in split_at(text, a, b, LINE_ENDS):
            if at.plan and any(w in text[sa:sb] for w in r.plan_context):
                continue
            prev_metric = ""
            for ca, cb in split_at(text, sa, sb, CLAUSE_ENDS):
                recs = self._figure_records(at, ca, cb)
                self.metrics.fill(recs, prev_metric)
                self.metrics.complete(text, ca, cb, recs, prev_metric)
                self.metrics.distribute(text, ca, cb, recs)
                if recs:
                    prev_metric = recs[-1].metric
                out.extend(recs)
                if recs or not at.plan or not allow_qualitative:
                    continue
                clause = text[ca:cb]
                core = self.metrics.lead_kept(clause)
                qq = self._qualitative_qualifier(clause)
                if qq or (any(core.startswith(v) for v in r.qualitative_verbs) and len(core) >= r.min_qualitative):
                    out.append(self._make(at, ca, cb, qualifier=qq,
                                          metric=self.metrics.qualitative(clause, qq) if qq else core))
        return out

    def _main_item(self, at: Where, a: int, b: int) -> list[Commitment]:
        text = at.doc.text
        a, b = strip_span(text, a, b, TRIM)
        if b <= a:
            return []
        recs: list[Commitment] = []
        clauses = split_at(text, a, b, CLAUSE_ENDS)
        for ca, cb in clauses:
            recs.extend(self._figure_records(at, ca, cb, main=True))
        self.metrics.fill(recs, "")
        self.metrics.complete(text, a, b, recs, "")
        for ca, cb in clauses:  # «…，城镇、农村居民人均可支配收入分别增长5%、7%左右，…»: per comma clause
            self.metrics.distribute(text, ca, cb, [r for r in recs if ca <= r.start and r.end <= cb])
        if recs:
            return recs
        clause = text[a:b]
        qq = self._qualitative_qualifier(clause)
        return [self._make(at, a, b, qualifier=qq, main=True, metric=self.metrics.qualitative(clause, qq))]

    def _is_target_list(self, doc: Document, section: Section, segments: list[tuple[int, int]]) -> bool:
        if not any(w in section.title for w in self.rules.main_headings):
            return False
        lines = [ln.strip() for a, b in segments for ln in doc.text[a:b].split("\n") if ln.strip()]
        return len(lines) >= 2 and all(
            len(ln) <= self.rules.max_line_chars and not any(c in ln.rstrip("。；;") for c in "。！？") for ln in lines
        )

    def _section(self, at: Where, segments: list[tuple[int, int]]) -> list[Commitment]:
        text = at.doc.text
        out: list[Commitment] = []
        if at.plan and self._is_target_list(at.doc, at.section, segments):
            for a, b in segments:
                pos = a
                for line in text[a:b].split("\n"):
                    out.extend(self._main_item(at, pos, pos + len(line)))
                    pos += len(line) + 1
            return out
        for a, b in segments:
            cursor = a
            if at.plan:
                for m in self.rules.main_lead.finditer(text, a, b):
                    end = m.end()
                    while end < b and text[end] not in "。！？!?\n":
                        end += 1
                    out.extend(self._region(at, cursor, m.end()))
                    for ia, ib in split_at(text, m.end(), end, "；;"):
                        out.extend(self._main_item(at, ia, ib))
                    cursor = end
            out.extend(self._region(at, cursor, b))
        return out

    def _heading(self, at: Where) -> list[Commitment]:
        """Records of a section's heading line, its numbering left out: «（二）新增就业5万人»."""
        doc, section = at.doc, at.section
        if section.heading_end <= section.start:
            return []
        heading = doc.text[section.start : section.heading_end]
        m = MARKER.match(heading.lstrip())
        a = section.start + (len(heading) - len(heading.lstrip())) + (m.end() if m else 0)
        return self._region(at, a, section.heading_end, allow_qualitative=False)

    def extract(self, doc: Document) -> list[Commitment]:
        """Every record of one report, in text order, numbered per section (``doc:2.1:3``)."""
        segments: dict[str, list[tuple[int, int]]] = {}
        for sid, a, b in own_segments(doc):
            segments.setdefault(sid, []).append((a, b))
        periods = self.parts.periods(doc, plan_year_of(doc))
        out: list[Commitment] = []
        for section in doc.sections:
            period = periods[section.id]
            if period.scope is None:
                continue
            at = Where(doc, section, period)
            out.extend(self._heading(at))
            out.extend(self._section(at, segments.get(section.id, [])))
        out.sort(key=lambda c: (c.start, c.end))
        counters: dict[str, int] = {}
        for c in out:
            counters[c.section_id] = counters.get(c.section_id, 0) + 1
            c.id = f"{doc.id}:{c.section_id}:{counters[c.section_id]}"
        return out

    def pair(self, items: list[Commitment]) -> None:
        """Each target beside the achievement of its metric (``pairing.pair``)."""
        pair(items, self.figures, self.rules.min_similarity)

    def run(self, documents: list[Document]) -> list[Commitment]:
        items = [c for doc in documents for c in self.extract(doc)]
        self.pair(items)
        return sorted(items, key=lambda c: (c.doc, c.start, c.end))
