"""Promises kept: each target a report sets for its plan year N, checked against the outcome that
the same place's report for year N+1 gives in its review of year N.

Staff ask «去年定的目标哪些没完成？»; a single report cannot answer that, two consecutive ones
can. Comparisons are like with like or not at all: a change against a change (增长6.5% against
增长5.8%), a level against a level in the same unit after magnitudes (5万人 against 5.31万人),
only outcomes of year N itself (never a growth target against a five-year total). A ceiling
(控制在5.5%以内) is met from below, anything else from above. The vocabulary is in
``rag/data/promises.toml``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rag.commitments.record import Commitment
from rag.core.types import Document, Report
from rag.genre.lexicon import Lexicon
from rag.genre.paraphrase import similarity

STATUSES = ("met", "missed", "not_reported")
#: two targets this alike measure one indicator and may share an outcome
ROW_LIKENESS = 0.6
_APPROX = ("左右", "上下", "约")


@dataclass(frozen=True, slots=True)
class PromiseCheck:
    """A target's fate in the next year's report; ``outcome`` is the achievement's id."""

    target: str
    status: str  # met | missed | not_reported
    outcome: str | None = None
    outcome_doc: str | None = None
    outcome_figure: str = ""
    rule: str = ""  # «目标5.5%左右，实际5.6%：完成»


@dataclass(frozen=True)
class Amount:
    value: float
    unit: str  # base unit after magnitudes: "%", "个百分点", "人", "元" …
    change: bool  # a change (增长6%) rather than a level (占比6%, 5万人)
    text: str = ""  # as written: "5.2万人以上"
    falling: bool = False  # a change downwards (下降3.5%, 能耗降低3%)


class PromiseTracker:
    """Pairs targets with next-year outcomes and marks them met, missed or not reported."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self.lexicon = lexicon or Lexicon.default()
        d = self.lexicon.table("promises")
        self.last_year_horizons: tuple[str, ...] = tuple(d["outcome"]["last_year_horizons"])
        self.min_similarity: float = d["outcome"]["min_similarity"]
        self.multi_year_words: tuple[str, ...] = tuple(d["outcome"]["multi_year_words"])
        self.action_verbs: list[str] = sorted(d["outcome"]["action_verbs"], key=len, reverse=True)
        self.multi_year_target_words: tuple[str, ...] = tuple(d["outcome"]["multi_year_target_words"])
        self.ceiling_words: tuple[str, ...] = tuple(d["direction"]["ceiling_words"])
        self.ceiling_qualifiers: tuple[str, ...] = tuple(d["direction"]["ceiling_qualifiers"])
        self.floor_qualifiers: tuple[str, ...] = tuple(d["direction"]["floor_qualifiers"])
        self.falling_words: tuple[str, ...] = tuple(d["direction"]["falling_words"])
        self.rule_words: dict[str, str] = d["rules"]
        changes = "|".join(map(re.escape, sorted(d["direction"]["change_words"], key=len, reverse=True)))
        to = "".join(d["direction"]["level_after_change"])
        self._change = re.compile(rf"(?:{changes})(?![{to}])[^\d，,；;。{to}]{{0,3}}$")
        self.figure_words: dict[str, float] = d["direction"]["figure_words"]
        self.synonyms: dict[str, str] = d["outcome"]["metric_synonyms"]
        self.plan_share_words: tuple[str, ...] = tuple(d["outcome"]["plan_share_words"])
        self.from_words: tuple[str, ...] = tuple(d["outcome"]["from_words"])
        self.tolerance: float = d["direction"]["approx_tolerance"]
        self.stock_words: tuple[str, ...] = tuple(d["direction"]["stock_words"])
        self.flow_words: tuple[str, ...] = tuple(d["direction"]["flow_words"])
        self.level_words: tuple[str, ...] = tuple(d["direction"]["level_words"])
        self.texts: Mapping[str, str] = {}
        self.magnitudes: dict[str, float] = d["units"]["magnitudes"]
        self.same_units: dict[str, str] = d["units"]["same"]

    def _measure(self, value: str, unit: str, before: str, text: str = "") -> Amount:
        base, factor = unit, 1.0
        while base[:1] in self.magnitudes and len(base) > 1:
            factor *= self.magnitudes[base[0]]
            base = base[1:]
        if base in self.magnitudes and base == unit:  # a bare magnitude ("10.73万"): the count itself
            factor, base = self.magnitudes[base], ""
        change = self._change.search(before)
        falling = change is not None and any(change.group().startswith(w) for w in self.falling_words)
        return Amount(float(value) * factor, self.same_units.get(base, base), bool(change), text, falling)

    def amount(self, c: Commitment) -> Amount | None:
        """The figure as a number in its base unit, and whether it is a change; a target in words
        («两位数增长») as the change it means at least."""
        if c.value is None or not c.unit:
            word = next((w for w in self.figure_words if w in (c.qualifier or "")), None)
            if word is None or c.kind != "target":
                return None
            return Amount(self.figure_words[word], "%", True, c.qualifier or "")
        return self._measure(c.value, c.unit, self.lead(c), c.figure)

    def figure_of(self, text: str) -> Amount | None:
        """The first figure with a unit in ``text`` (a cited clause), read like a record's."""
        f = self.lexicon.figures.first(text)
        return None if f is None else self._measure(f.value, f.unit, text[: f.start], text[f.start : f.end])

    def object_of(self, metric: str) -> str:
        """The metric without the verbs it starts with: what was built, not that it was built."""
        changed = True
        while changed:
            changed = False
            for v in self.action_verbs:
                if metric.startswith(v) and len(metric) - len(v) >= 2:
                    metric, changed = metric[len(v):], True
                    break
        return metric

    def _named(self, metric: str) -> str:
        for word, same in self.synonyms.items():
            metric = metric.replace(word, same)
        return metric

    @staticmethod
    def _distinct_heads(a: str, b: str) -> bool:
        """Two metrics that share only their opening words and then name different things
        («规模以上工业营业收入» / «规模以上工业增加值»): not one indicator, however alike they look."""
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        ta, tb = a[n:], b[n:]
        return n >= 2 and len(ta) >= 2 and len(tb) >= 2 and similarity(ta, tb) == 0.0 \
            and not (set(ta) & set(tb))

    def likeness(self, target: Commitment | str, outcome: Commitment | str) -> float:
        """Metric similarity, with and without the leading verbs (synonyms read alike): the best of
        the two, or 0.5 when the target's object begins the outcome's metric («民生实事» /
        «民生实事年度任务全部完成»)."""
        a, b = (self._named(x if isinstance(x, str) else x.metric) for x in (target, outcome))
        if self._distinct_heads(a, b):
            return 0.0
        oa, ob = self.object_of(a), self.object_of(b)
        prefix = 0.5 if len(oa) >= 4 and ob.startswith(oa) else 0.0
        return max(similarity(a, b), similarity(oa, ob), prefix)

    def multi_year(self, outcome: Commitment) -> bool:
        """An achievement over several years (过去五年累计…), or the level a change started from
        («由502家»): never one year's outcome."""
        return any(w in outcome.clause for w in self.multi_year_words) or self.lead(outcome).endswith(self.from_words)

    def long_range(self, target: Commitment) -> bool:
        """A target set over several years (今后五年…, 到“十四五”末…): not the plan year's."""
        return any(w in target.section_path or w in target.clause for w in self.multi_year_target_words)

    def lead(self, c: Commitment) -> str:
        """The words before a record's figure back to the start of its comma clause: a record cut
        at 、 («新增…企业9500多家、高新技术企业6000家») keeps the verb its list shares."""
        text = self.texts.get(c.doc)
        pos = c.clause.find(c.value or "")
        at = c.start + max(pos, 0)
        if text is None:
            return c.clause[: max(pos, 0)]
        lo = at
        while lo > 0 and text[lo - 1] not in "，,。；;：:！？\n":
            lo -= 1
        return text[lo:at]

    def count_kind(self, c: Commitment) -> str | None:
        """«flow» (what the year added), «level» (what there is), or None when the words do not say."""
        before = self.lead(c)
        if any(w in before for w in self.flow_words):
            return "flow"
        if any(w in before for w in self.level_words) or any(w in c.metric for w in self.stock_words):
            return "level"
        return None

    def comparable(self, target: Commitment, outcome: Commitment) -> bool:
        a, b = self.amount(target), self.amount(outcome)
        if a is None or b is None or a.unit != b.unit or a.change != b.change:
            return False
        kinds = {self.count_kind(target), self.count_kind(outcome)} - {None}
        return len(kinds) < 2

    def bound(self, target: Commitment) -> str:
        """How a target is met: «ceiling» (控制在5.5%以内: from below), «floor» (以上/不低于, and any
        plain target: from above), «approx» (左右: either side, within the tolerance)."""
        q = target.qualifier or ""
        if q in self.floor_qualifiers:
            return "floor"
        lead = self.lead(target)
        if q in self.ceiling_qualifiers or any(w in lead for w in self.ceiling_words if not self._negated(lead, w)):
            return "ceiling"
        return "approx" if q in _APPROX else "floor"

    @staticmethod
    def _negated(text: str, word: str) -> bool:
        at = text.find(word)
        return at > 0 and text[at - 1] == "不"  # 不低于 is a floor, not 低于

    def status(self, target: Commitment, outcome: Commitment) -> str:
        """met or missed. A reduction (能耗降低3%) is met by at least that reduction; a fall where a
        rise was promised misses it."""
        a, b = self.amount(target), self.amount(outcome)
        assert a is not None and b is not None
        ta, tb = (-a.value if a.falling else a.value), (-b.value if b.falling else b.value)
        bound = self.bound(target)
        slack = abs(a.value) * self.tolerance if bound == "approx" or (target.qualifier or "") in _APPROX else 0.0
        if bound == "ceiling":
            return "met" if tb <= ta + slack else "missed"
        if a.falling:
            return "met" if tb <= ta + slack else "missed"
        return "met" if tb >= ta - slack else "missed"

    def rule(self, target: Commitment, status: str, outcome: Commitment | None = None) -> str:
        """The status with its reason: «目标5.5%左右，实际5.6%：完成», «目标5.5%以内（上限），实际5.2%：完成»."""
        a = self.amount(target)
        note = ""
        if a is not None and a.falling:
            note = self.rule_words["reduction"]
        elif self.bound(target) == "ceiling" and (target.qualifier or "") not in self.ceiling_qualifiers:
            note = self.rule_words["ceiling"]
        head = f"目标{target.figure}{note}"
        if outcome is None:
            return f"{head}，{self.rule_words['not_reported_reason']}：{self.rule_words[status]}"
        return f"{head}，实际{outcome.figure}：{self.rule_words[status]}"

    def run(self, items: list[Commitment], reports: Mapping[str, Report],
            texts: Mapping[str, str] | None = None) -> dict[str, PromiseCheck]:
        """Checks of every figure target whose place has a report for the following year;
        ``texts`` (doc id → text) lets a record's figure be read with its whole comma clause.

        An outcome judges one indicator: when two unlike targets («城建重点项目», «市级重点项目»)
        reach for the same outcome, the closer one has it and the other tries its next candidate.
        Alike targets (the main-targets list and a task repeating 城镇新增就业) share it."""
        self.texts = texts or {}
        by_place_year: dict[tuple[str, int], list[str]] = {}
        for doc_id, r in reports.items():
            if r.region and r.year:
                by_place_year.setdefault((r.region, r.year), []).append(doc_id)
        achievements: dict[str, list[Commitment]] = {}
        for c in items:
            if c.kind == "achievement":
                achievements.setdefault(c.doc, []).append(c)
        pending: list[tuple[Commitment, list[tuple[float, int, Commitment]], list[Commitment]]] = []
        for t in items:
            report = reports.get(t.doc)
            if t.kind != "target" or report is None or not report.year or self.amount(t) is None \
                    or self.long_range(t):
                continue
            later = by_place_year.get((report.region, report.year + 1))
            if not report.region or not later:
                continue
            horizons = {str(report.year), *self.last_year_horizons}
            pool = [a for doc in later for a in achievements.get(doc, []) if a.horizon in horizons]
            scored = sorted(((self.likeness(t, a), -a.start, a) for a in pool
                             if not self.multi_year(a) and self.comparable(t, a)), key=lambda s: s[:2], reverse=True)
            pending.append((t, [s for s in scored if s[0] >= self.min_similarity], pool))
        return self._assign(pending)

    def _assign(self, pending) -> dict[str, PromiseCheck]:
        """Each target its best outcome that no unlike, closer target holds; else a plan share or none."""
        holder: dict[str, tuple[float, Commitment]] = {}
        chosen: dict[str, Commitment] = {}
        for t, scored, _ in sorted(pending, key=lambda p: -(p[1][0][0] if p[1] else 0.0)):
            for score, _, a in scored:
                held = holder.get(a.id)
                if held is None or self.likeness(held[1], t) >= ROW_LIKENESS:
                    holder.setdefault(a.id, (score, t))
                    chosen[t.id] = a
                    break
        out: dict[str, PromiseCheck] = {}
        for t, _, pool in pending:
            best = chosen.get(t.id)
            if best is None:
                out[t.id] = self.plan_share(t, pool) or \
                    PromiseCheck(t.id, "not_reported", rule=self.rule(t, "not_reported"))
                continue
            status = self.status(t, best)
            out[t.id] = PromiseCheck(t.id, status, best.id, best.doc, best.figure, self.rule(t, status, best))
        return out

    def plan_share(self, target: Commitment, outcomes: list[Commitment]) -> PromiseCheck | None:
        """A target judged by an outcome stated as a share of the year's plan: «A、B分别完成年计划的
        113.4%、256.1%» gives A the first share and B the second."""
        groups: dict[tuple[str, str], list[Commitment]] = {}
        for o in outcomes:
            amount = self.amount(o)
            if amount is not None and amount.unit == "%" and any(w in o.metric for w in self.plan_share_words):
                groups.setdefault((o.doc, o.metric), []).append(o)
        for (_, metric), shares in groups.items():
            word = next(w for w in self.plan_share_words if w in metric)
            subjects = re.split("[、，,和及]", metric[: metric.index(word)].removesuffix("分别"))
            for i, subject in enumerate(s for s in subjects if s):
                if i < len(shares) and self.likeness(target.metric, subject) >= self.min_similarity:
                    share = shares[i]
                    status = "met" if float(share.value or 0) >= 100 else "missed"
                    rule = f"目标{target.figure}，实际{word}{share.figure}：{self.rule_words[status]}"
                    return PromiseCheck(target.id, status, share.id, share.doc, f"{word}{share.figure}", rule)
        return None


def track(items: list[Commitment], documents: list[Document],
          tracker: PromiseTracker | None = None) -> dict[str, PromiseCheck]:
    """Checks every target against the next year's report and records the result on the target
    itself (``promise``, ``outcome_with``, ``outcome_figure``) for the API, the CSV and the page."""
    checks = (tracker or PromiseTracker()).run(items, {d.id: d.report for d in documents},
                                               {d.id: d.text for d in documents})
    for c in items:
        check = checks.get(c.id)
        if check is not None:
            c.promise, c.outcome_with, c.outcome_figure = check.status, check.outcome, check.outcome_figure or None
            c.promise_rule = check.rule or None
    return checks
