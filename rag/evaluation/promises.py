"""Scores the promise tracker against gold written by people who read two consecutive reports.

A gold row is one quantified target of report N (``doc``) with its fate in report N+1
(``next_doc``): ``metric``, ``target`` as written («5.5%左右»), ``target_offsets`` into doc's raw
file text, ``status`` (met | missed | not_reported), ``outcome`` and ``outcome_offsets`` into
next_doc's raw text (or null) and ``kind``. Offsets are into the file as published, while the
tracker reads the cleaned text (front matter and markup removed), so a gold span is located in
the cleaned text by its own words, nearest to where it stood; a row whose span cannot be located
is matched by metric and figure instead.

Per pair: targets found (a tracker target over the gold span with the same figure), right status,
every «missed» flagged, and outcomes that are no outcome of year N (a five-year total, a
next-year target, another report) counted. A tracker that has not judged a target (no next
report recognised) gets no status, which is never right.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rag.commitments.extract import CommitmentExtractor
from rag.commitments.promises import STATUSES, PromiseTracker, track
from rag.commitments.record import Commitment
from rag.core.errors import RagError
from rag.core.types import Document
from rag.genre.lexicon import Lexicon
from rag.genre.paraphrase import similarity
from rag.genre.text import NUMBER
from rag.ingest.corpus import CorpusError, CorpusLoader
from rag.ingest.corpus import plan_year as plan_year_of

_FIELDS = ("doc", "next_doc", "metric", "target", "target_offsets", "status")
_MARKUP = re.compile(r"[*#]")


class GoldError(RagError, ValueError):
    """A gold file the user must fix; bilingual, naming the file and line."""


@dataclass(frozen=True)
class GoldRow:
    doc: str
    next_doc: str
    metric: str
    target: str
    target_offsets: tuple[int, int]
    status: str
    outcome: str | None = None
    outcome_offsets: tuple[int, int] | None = None
    kind: str = "other"
    where: str = ""  # file:line, for messages


def _row(d: object, where: str) -> GoldRow:
    if not isinstance(d, dict):
        raise GoldError(f"{where} 应为 JSON 对象 / {where} must be a JSON object")
    missing = [k for k in _FIELDS if d.get(k) in (None, "")]
    if missing:
        raise GoldError(f"{where} 缺少字段 {', '.join(missing)} / {where} lacks {', '.join(missing)}")
    if d["status"] not in STATUSES:
        raise GoldError(f"{where} 未知 status {d['status']!r}（可选 {'/'.join(STATUSES)}） / "
                        f"{where} unknown status {d['status']!r}")

    def offsets(v: object, name: str) -> tuple[int, int]:
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, int) for x in v) and 0 <= v[0] <= v[1]):
            raise GoldError(f"{where} {name} 应为 [起点, 终点] / {where} {name} must be [start, end]")
        return v[0], v[1]

    outcome = None if d.get("outcome_offsets") is None else offsets(d["outcome_offsets"], "outcome_offsets")
    return GoldRow(d["doc"], d["next_doc"], str(d["metric"]), str(d["target"]),
                   offsets(d["target_offsets"], "target_offsets"), d["status"],
                   None if d.get("outcome") is None else str(d["outcome"]),
                   outcome, str(d.get("kind") or "other"), where)


def load_gold(path: Path) -> list[GoldRow]:
    """Every row of a gold file (JSONL, or a JSON list) or of every such file in a folder."""
    if not path.exists():
        raise GoldError(f"找不到标准答案：{path} / Gold not found: {path}")
    files = sorted(p for p in path.rglob("*") if p.suffix in (".jsonl", ".json")) if path.is_dir() else [path]
    rows: list[GoldRow] = []
    for f in files:
        text = f.read_text(encoding="utf-8")
        try:
            if f.suffix == ".json":
                data = json.loads(text)
                rows.extend(_row(d, f"{f}:{i + 1}") for i, d in enumerate(data if isinstance(data, list) else [data]))
                continue
            for n, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    rows.append(_row(json.loads(line), f"{f}:{n}"))
        except json.JSONDecodeError as exc:
            raise GoldError(f"{f} 不是合法 JSON：{exc} / {f} is not valid JSON: {exc}") from None
    if not rows:
        raise GoldError(f"{path} 中没有标准答案行 / No gold rows in {path}")
    return rows


def locate(raw: str, text: str, span: tuple[int, int]) -> tuple[int, int] | None:
    """Where a span of the raw file stands in the cleaned text: its words without markup, read
    with as much of the line before it as is needed to be unique («增长5%以上» occurs thrice in a
    list of targets), at the occurrence nearest to its relative position."""
    words = _MARKUP.sub("", raw[span[0] : span[1]])
    if not words.strip():
        return None
    line = raw[raw.rfind("\n", 0, span[0]) + 1 : span[0]]
    guess = span[0] / max(len(raw), 1) * len(text)
    for size in (24, 12, 6, 0):
        left = _MARKUP.sub("", line[-size:] if size else "")
        hits = [m.start() + len(left) for m in re.finditer(re.escape(left + words), text)]
        if hits:
            at = min(hits, key=lambda p: abs(p - guess))
            return at, at + len(words)
    return None


def _number(s: str) -> float | None:
    m = NUMBER.search(s.replace(",", ""))
    return float(m.group()) if m else None


#: what is counted per pair, summed over pairs and written to promises.json in this order. bad_outcomes:
#: a five-year figure, a next-year target or another report taken for an outcome; outcome_spans: gold
#: outcomes with offsets whose record the tracker chose; outcome_agree: those the tracker's outcome overlaps.
COUNTS = ("targets", "found", "status_right", "missed", "missed_flagged", "false_missed", "bad_outcomes",
          "outcome_spans", "outcome_agree")


@dataclass
class PairScore:
    """The counts (``COUNTS``) of one pair of reports, and what went wrong, row by row."""

    doc: str
    next_doc: str
    n: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def rates(self) -> dict[str, float]:
        n = self.n
        return {"found": n["found"] / max(n["targets"], 1), "status": n["status_right"] / max(n["targets"], 1),
                "missed_flagged": n["missed_flagged"] / n["missed"] if n["missed"] else 1.0}

    def to_dict(self) -> dict[str, Any]:
        return {"doc": self.doc, "next_doc": self.next_doc, **{k: self.n[k] for k in COUNTS},
                "problems": self.problems, **{f"{k}_rate": round(v, 4) for k, v in self.rates().items()}}


class PromiseScorer:
    """Runs the tracker over each gold pair (the two reports alone) and scores its rows."""

    def __init__(self, root: Path, lexicon: Lexicon | None = None) -> None:
        self.root = root
        self.lexicon = lexicon or Lexicon.default()
        self.extractor = CommitmentExtractor(self.lexicon)
        self.tracker = PromiseTracker(self.lexicon)

    def _read(self, name: str) -> tuple[Document, str]:
        path = Path(name) if Path(name).is_file() else self.root / name
        if not path.is_file():
            raise GoldError(f"找不到报告 {name}（在 {self.root} 下） / Report {name} not found (under {self.root})")
        try:
            doc = CorpusLoader(path.parent).read_file(path)
        except (CorpusError, ValueError) as exc:
            raise GoldError(str(exc)) from None
        return doc, path.read_text(encoding="utf-8")

    def run(self, rows: Iterable[GoldRow]) -> list[PairScore]:
        pairs: dict[tuple[str, str], list[GoldRow]] = {}
        for r in rows:
            pairs.setdefault((r.doc, r.next_doc), []).append(r)
        return [self.score_pair(doc, nxt, got) for (doc, nxt), got in pairs.items()]

    def score_pair(self, doc_name: str, next_name: str, rows: list[GoldRow]) -> PairScore:
        (doc, raw), (nxt, next_raw) = self._read(doc_name), self._read(next_name)
        if doc.id == nxt.id:
            raise GoldError(f"{doc_name} 与 {next_name} 的报告编号相同 / {doc_name} and {next_name} share an id")
        items = self.extractor.run([doc, nxt])
        track(items, [doc, nxt], self.tracker)
        by_id = {c.id: c for c in items}
        targets = [c for c in items if c.doc == doc.id and c.kind == "target"]
        score = PairScore(doc_name, next_name, Counter(targets=len(rows)))
        n = score.n
        used: set[str] = set()
        for row in rows:
            c = self._match(row, raw, doc.text, targets, used)
            n["missed"] += row.status == "missed"
            if c is None:
                score.problems.append(f"未找到 / not found: {row.metric} {row.target}")
                continue
            used.add(c.id)
            n["found"] += 1
            got = c.promise or "—"
            if got == row.status:
                n["status_right"] += 1
            else:
                score.problems.append(f"状态 / status {row.metric} {row.target}: {got} ≠ {row.status}"
                                      + (f"（{c.outcome_figure}）" if c.outcome_figure else ""))
            n["missed_flagged"] += row.status == "missed" and got == "missed"
            n["false_missed"] += row.status != "missed" and got == "missed"
            outcome = by_id.get(c.outcome_with or "")
            if outcome is not None:
                self._check_outcome(score, row, outcome, doc, nxt, next_raw)
        return score

    def _match(self, row: GoldRow, raw: str, text: str, targets: list[Commitment],
               used: set[str]) -> Commitment | None:
        """The tracker's target over the gold span with the gold figure; else, the span not
        found, the most similar metric with that figure."""
        want = _number(row.target)
        free = [c for c in targets if c.id not in used and
                (_number(c.value or "") == want if want is not None else c.value is None)]
        span = locate(raw, text, row.target_offsets)
        if span is not None:
            over = [(min(c.end, span[1]) - max(c.start, span[0]), c) for c in free]
            over = [x for x in over if x[0] > 0]
            if over:
                return max(over, key=lambda x: x[0])[1]
        near = [(similarity(row.metric, c.metric), c) for c in free]
        near = [x for x in near if x[0] >= self.tracker.min_similarity]
        return max(near, key=lambda x: x[0])[1] if near and span is None else None

    def _check_outcome(self, score: PairScore, row: GoldRow, outcome: Commitment, doc: Document,
                       nxt: Document, next_raw: str) -> None:
        section = next((s for s in nxt.sections if s.id == outcome.section_id), None)
        period = self.lexicon.section_period(section.path, plan_year_of(nxt)) if section else None
        year = plan_year_of(doc)
        if outcome.doc != nxt.id or period is None or period.scope != "review" or \
                self.tracker.multi_year(outcome) or (year and outcome.horizon not in
                                                     {str(year), *self.tracker.last_year_horizons}):
            score.n["bad_outcomes"] += 1
            score.problems.append(f"非当年成绩 / not an outcome of year N: {row.metric} ← {outcome.clause}")
        if row.outcome_offsets is not None:
            score.n["outcome_spans"] += 1
            span = locate(next_raw, nxt.text, row.outcome_offsets)
            if span and outcome.start < span[1] and span[0] < outcome.end:
                score.n["outcome_agree"] += 1


def summary_table(scores: list[PairScore]) -> str:
    """One line per pair and a total line, for the terminal."""
    head = "pair | targets | found | status | missed flagged | false missed | bad outcomes | outcome spans"
    lines = [head, "-" * len(head)]
    total = PairScore("all", "", Counter({k: sum(s.n[k] for s in scores) for k in COUNTS}))
    for s in [*scores, total]:
        r, n = s.rates(), s.n
        name = f"{s.doc} → {s.next_doc}" if s.next_doc else s.doc
        lines.append(f"{name} | {n['targets']} | {n['found']} ({r['found']:.1%}) | "
                     f"{n['status_right']} ({r['status']:.1%}) | {n['missed_flagged']}/{n['missed']} | "
                     f"{n['false_missed']} | {n['bad_outcomes']} | {n['outcome_agree']}/{n['outcome_spans']}")
    return "\n".join(lines)
