"""Which part of a report each section belongs to: the review (achievements) or the plan
(targets), and the period it speaks of. The headings say it (``Lexicon.section_period``); this
module reads the reports whose part headings do not.
"""

from __future__ import annotations

from rag.commitments.rules import TrackerRules
from rag.core.types import Document, Section
from rag.genre.lexicon import Lexicon, Period


class PartReader:
    """Each section's part and period, from its headings and, where they are silent, its place."""

    def __init__(self, lexicon: Lexicon, rules: TrackerRules) -> None:
        self.lexicon = lexicon
        self.rules = rules

    def periods(self, doc: Document, plan_year: int | None) -> dict[str, Period]:
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
            if n == 0 and not plan_year:
                continue
            review = n == 0 and bool(plan_year)
            horizon = str(plan_year - 1) if review and plan_year else str(plan_year or "")
            for s in doc.sections:
                if periods[s.id].scope is None and any(p.start <= s.start < p.end for p in run):
                    periods[s.id] = Period("review" if review else "plan", horizon or self.lexicon.plan_default,
                                           periods[s.id].label)
        return periods
