"""What each record measures: the metric named from the words of its clause.

A clause names its metric before its figure (城镇新增就业6万人以上), after a lead of promise
words and adverbs (确保, 全市, 持续) and before a linking verb (增长, 达到). Some name none of
their own — a threshold alone (``10家超50亿元``), a bare verb (``交付6040套``), one of several
subjects given their figures «分别» — and take it from the record before or from the clause.
"""

from __future__ import annotations

from rag.commitments.record import Commitment
from rag.commitments.rules import MARKER, TrackerRules
from rag.genre.text import TRIM, Figure, FigureReader, strip_ends


class MetricNamer:
    """Names the metric of each record from its clause, with the tracker's word lists."""

    def __init__(self, rules: TrackerRules, figures: FigureReader) -> None:
        self.rules = rules
        self.figures = figures
        r = rules
        self._lead_keeping_promise = sorted(set(r.lead_words) - set(r.promise) - set(r.qualitative_verbs),
                                            key=len, reverse=True)

    def strip_lead(self, s: str, words: list[str] | None = None) -> str:
        """Strips leading markers, punctuation and ``words`` (the rules' lead words by default)."""
        words = self.rules.lead_words if words is None else words
        changed = True
        while changed and s:
            changed = False
            m = MARKER.match(s)
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

    def strip_tail(self, s: str, words: list[str] | None = None) -> str:
        """Drops linking verbs at the end; a clause that is only a verb ("提高") leaves ""."""
        return strip_ends(s, self.rules.link_words if words is None else words).rstrip(TRIM)

    def lead_kept(self, s: str) -> str:
        """Strips markers, scope words and adverbs but keeps a leading promise verb."""
        return self.strip_lead(s, self._lead_keeping_promise).strip(TRIM)

    def of_figure(self, text: str, a: int, b: int, f: Figure) -> str:
        """The metric of the figure ``f`` in the piece ``text[a:b]``: the words before it, lead and
        links stripped, then any words after it up to the next list mark; "" for a bare figure."""
        pre = self.strip_tail(self.strip_lead(text[a : f.start]))
        post = text[f.end : b]
        for sep in "、，,":
            post = post.split(sep, 1)[0]
        post = post.strip(TRIM)
        return (pre + post).strip(TRIM)

    @staticmethod
    def fill(recs: list[Commitment], prev: str) -> None:
        """A clause that is only a figure (``7.8%``, ``达到1860亿元``) shares the metric before it."""
        for rec in recs:
            if not rec.metric:
                rec.metric = prev or rec.clause
            prev = rec.metric

    def complete(self, text: str, a: int, b: int, recs: list[Commitment], prev: str) -> None:
        """Gives every record of one clause a metric that names a thing: a threshold alone
        (``10家超50亿元``) takes the thing of the record before (工业企业营收超50亿元), a bare
        verb (``交付6040套`` after ``新开工…安置房880套``) takes that record's object, and a bare
        noun before a conjunction (``4个县和13家企业成为…``) reads with the whole clause."""
        before, bare = prev, self.rules.bare_chars
        for rec, nxt in zip(recs, [*recs[1:], None], strict=False):  # no record: nothing
            short = len(rec.metric) <= bare
            if self.figures.only_wording(rec.metric) and before:
                rec.metric = self.figures.before_final(before) + rec.metric
            elif short and before and text[rec.start : rec.end].startswith(rec.metric):
                rec.metric += self.strip_lead(self.figures.before_final(before), self.rules.qualitative_verbs)
            elif short and nxt is not None and self.shared_predicate(nxt.metric):
                rec.metric += self.shared_predicate(nxt.metric)  # 4个县和13家企业成为… → 县成为…
            elif short:
                clause = text[a:b]
                figure = text[rec.start : rec.end].replace(rec.metric, "", 1)
                whole = self.strip_lead(clause.replace(figure, "", 1) if figure else clause).split("、")[0]
                if len(whole) > len(rec.metric):
                    rec.metric = whole
            before = rec.metric

    def distribute(self, text: str, a: int, b: int, recs: list[Commitment]) -> None:
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
        for rec, subject in zip(recs, subjects, strict=True):
            if len(subject) <= self.rules.bare_chars and len(last) > 2 * len(subject):
                subject += last[len(subject):]
            rec.metric = subject + rest

    def shared_predicate(self, metric: str) -> str:
        """The predicate two joined subjects share (``企业成为省…试点`` → ``成为省…试点``), or ""."""
        at = [metric.find(v) for v in self.rules.predicate_verbs if v in metric[1:]]
        return metric[min(at):] if at else ""

    def qualitative(self, clause: str, qualifier: str | None) -> str:
        """The metric of a target without a figure: the clause up to its qualifier (两位数)."""
        s = self.strip_lead(clause)
        if qualifier and qualifier in s:
            s = s[: s.index(qualifier)]
            ref = next((w for w in self.rules.references if w in s[1:]), None)
            if ref:  # "…与“十四五”目标统筹衔接": the reference is not the metric
                s = s[: s.rindex(ref)]
            s = self.strip_tail(s, self.rules.qualitative_link_words)
        return s.strip(TRIM) or clause
