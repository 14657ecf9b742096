"""A report's plan year as its text gives it: the delivery date, the reviewed and planned years its
headings name, its plan sentences («做好2024年政府工作») and what it says the year is («今年是…»)."""

from __future__ import annotations

import re
from collections import Counter

from rag.core.types import Document
from rag.genre.text import YEAR, chinese_number
from rag.ingest.catalogue_rules import CatalogueRules, flat

_DATE = re.compile(r"(.+?)年(.+?)月")
_NOT_HEADING = "，；,;"


class PlanYearReader:
    """The readings of a plan year, each under the catalogue's rules; ``ReportCatalogue.run``
    tries them most explicit first."""

    def __init__(self, rules: CatalogueRules) -> None:
        self.rules = rules

    def _headings(self, doc: Document) -> list[str]:
        """Heading-like lines: the section tree's titles, and every short line of the text without its
        white space (markup never reaches ``doc.text``: the loaders read it as structure)."""
        limit = self.rules.heading_max_chars
        out = [s.title for s in doc.sections]
        for line in doc.text.splitlines():
            cand = flat(line)
            if cand and len(cand) <= limit and not any(c in cand for c in _NOT_HEADING):
                out.append(cand)
        return out

    def plan_year(self, doc: Document) -> int | None:
        """From the headings: the year after the latest reviewed year («一、2023年工作回顾»); else
        the latest year a plan heading names («二、2024年工作安排»), long-range goals (2035年远景
        目标) and five-year plans aside."""
        r = self.rules
        plan, review = [], []
        for h in self._headings(doc):
            years = [int(y) for y in YEAR.findall(h)]
            if not years:
                continue
            if any(w in h for w in r.review_words):
                review.append(max(years))
            elif any(w in h for w in r.plan_words) and not any(w in h for w in r.long_range_words):
                plan.append(max(years))
        if review:
            return max(review) + 1
        return max(plan) if plan else None

    def delivered_plan_year(self, delivered: str | None) -> int | None:
        """The plan year of a report delivered on ``delivered``: its year, or the next one for a
        December session (2022年12月26日 plans 2023); two-digit and Chinese-numeral years too."""
        m = _DATE.match(delivered or "")
        if not m:
            return None
        year, month = chinese_number(m.group(1)), chinese_number(m.group(2))
        year += 2000 if year < 100 else 0
        if not 1949 <= year <= 2100:
            return None
        return year + 1 if month in self.rules.next_year_months else year

    def phrase_year(self, text: str) -> int | None:
        """The year the plan part's own sentences name most («做好2024年政府工作»)."""
        years = Counter(int(m.group("year")) for p in self.rules.plan_phrases for m in p.finditer(text))
        return years.most_common(1)[0][0] if years else None

    def this_year(self, text: str) -> int | None:
        """«今年是新中国成立75周年» (1949 + 75), «今年是“十四五”规划收官之年» (2025): the plan
        year from what the speech says the year is."""
        r = self.rules
        for m in re.finditer(re.escape(r.this_year), text):
            clause = re.split(r"[，。；！,;]", text[m.end() : m.end() + 60])[0]
            n = r.anniversary.search(clause)
            base = next((y for w, y in r.anniversaries.items() if w in clause), None)
            if n and base:
                return base + chinese_number(n.group("n"))
            start = next((y for w, y in r.periods.items() if w in clause), None)
            step = next((k for w, k in r.period_positions.items() if w in clause), None)
            if start and step is not None:
                return start + step
        return None
