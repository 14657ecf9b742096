"""The genre's vocabulary, loaded once from ``rag/data``: colloquial terms, question words and
kinds, how headings name the review and plan parts, and how figures are written.

Every ``*.toml`` file in the data folder is one part of a single table (a table name may appear
in one file only), plus ``abbreviations.tsv``. A new synonym, unit or question kind is a data
edit; code asks the ``Lexicon``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from rag.core.errors import RagError
from rag.core.paths import DATA_DIR
from rag.genre.text import CN_NUMERAL, YEAR, FigureReader, contains_word

#: Which part of a report a section belongs to, or a question points at.
Scope = Literal["review", "plan"]

_NUMERAL = f"[{CN_NUMERAL}\\d]"


def pattern(source: str) -> re.Pattern[str]:
    """A data file's regular expression, ``{n}`` standing for one numeral character."""
    return re.compile(source.replace("{n}", _NUMERAL))


class LexiconError(RagError, ValueError):
    """A data file is missing, malformed or defines a table twice."""


@dataclass(frozen=True)
class Period:
    """What a section's headings say about time: its part and the period they name."""

    scope: Scope | None  # None: no heading says (a preamble, a report without parts)
    horizon: str  # the period the deciding heading names ("过去五年", "2023"), else the part's default
    label: str | None  # the first period any heading names, as written ("过去五年", "2023年")


@dataclass(frozen=True)
class QuestionKind:
    """One row of ``[kinds.*]``: how a question asks for something and how its answer looks."""

    name: str
    asks: tuple[str, ...]  # removed from the topic
    hints: tuple[str, ...]  # kept in the topic
    form: re.Pattern[str]
    on_rest: bool  # look for the form only in what a span says beyond the question's words
    bonus: float
    required: bool
    penalty: float

    def asked_in(self, text: str) -> bool:
        return any(contains_word(text, w) for w in self.asks + self.hints)


def _read_tables(data_dir: Path) -> dict[str, Any]:
    tables: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for path in sorted(data_dir.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise LexiconError(f"词表文件无法读取：{path}（{exc}） / Cannot read data file {path}: {exc}") from exc
        for name, table in data.items():
            if name in tables:
                raise LexiconError(f"词表 [{name}] 重复定义：{origin[name]} 与 {path.name}"
                                   f" / Table [{name}] defined twice: {origin[name]} and {path.name}")
            tables[name], origin[name] = table, path.name
    return tables


def _read_abbreviations(path: Path) -> tuple[tuple[str, str], ...]:
    pairs = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            short, _, full = line.partition("\t")
            pairs.append((short.strip(), full.strip()))
    pairs.sort(key=lambda p: -len(p[0]))  # longest first, so "fixed asset investment" beats "investment"
    return tuple(pairs)


def _kind(name: str, row: dict[str, Any]) -> QuestionKind:
    return QuestionKind(name, tuple(row.get("asks", ())), tuple(row.get("hints", ())), pattern(row["form"]),
                        row.get("on", "span") == "rest", float(row.get("bonus", 0.0)),
                        bool(row.get("required", False)), float(row.get("penalty", 1.0)))


class Lexicon:
    """All of ``rag/data`` in one object; ``Lexicon.default()`` is loaded once per process."""

    def __init__(self, tables: dict[str, Any], abbreviations: tuple[tuple[str, str], ...]) -> None:
        self.tables = tables
        self.abbreviations = abbreviations
        sections = tables["sections"]
        self._review: list[str] = sections["review"]
        self._plan: list[str] = sections["plan"]
        self._titles: list[str] = sections["report_titles"]
        self._periods = [pattern(p) for p in sections["periods"]]
        self.review_default: str = sections["review_default"]
        self.plan_default: str = sections["plan_default"]
        self.kinds = {name: _kind(name, row) for name, row in tables["kinds"].items()}
        self.figures = FigureReader(tables["figures"])

    @classmethod
    def load(cls, data_dir: Path = DATA_DIR) -> Lexicon:
        data_dir = Path(data_dir)
        try:
            return cls(_read_tables(data_dir), _read_abbreviations(data_dir / "abbreviations.tsv"))
        except (KeyError, OSError) as exc:
            raise LexiconError(f"词表不完整：{data_dir}（{exc}） / Incomplete data in {data_dir}: {exc}") from exc

    @staticmethod
    @cache
    def default() -> Lexicon:
        """The shipped vocabulary, read once."""
        return Lexicon.load()

    def table(self, name: str) -> dict[str, Any]:
        return self.tables[name]

    # --- sections -------------------------------------------------------------------------
    def heading_scope(self, title: str, plan_year: int | None = None) -> Scope | None:
        """What one heading says: review when it uses review wording (review wins over plan
        wording in the same heading), plan for plan wording or a year >= the plan year, review for
        earlier years only; nothing for the report's own title."""
        if self.names_report(title):
            return None
        if any(w in title for w in self._review):
            return "review"
        if any(w in title for w in self._plan):
            return "plan"
        years = [int(y) for y in YEAR.findall(title)]
        if plan_year is not None and any(y >= plan_year for y in years):
            return "plan"
        if plan_year is not None and years:  # «一、2020年政府工作» in the 2021 report: the year under review
            return "review"
        return None

    def names_report(self, title: str) -> bool:
        """Whether a heading names the whole report («…政府工作报告»): a Markdown ``#`` title is the
        root of every section's path, and says nothing about review or plan, nor about a period."""
        return any(w in title for w in self._titles)

    def section_scope(self, path: tuple[str, ...], plan_year: int | None = None) -> Scope | None:
        """Review or plan, from the outermost heading that says which: a chapter titled
        过去五年工作回顾 makes all its subsections review, even 「圆满完成脱贫攻坚目标任务」."""
        return next((s for s in (self.heading_scope(t, plan_year) for t in path) if s), None)

    def period_in(self, text: str) -> str | None:
        """The first period a text names ("过去五年", "2023年", "五年来"), as written."""
        found = [m for m in (p.search(text) for p in self._periods) if m]
        return min(found, key=lambda m: m.start()).group() if found else None

    def sole_period(self, title: str) -> str | None:
        """The period a heading names when it names one: «2021年和过去五年工作回顾» covers two, and
        says nothing about which one a paragraph under it speaks of."""
        named = {m.group() for p in self._periods for m in p.finditer(title)}
        return next(iter(named)) if len(named) == 1 else None

    def section_period(self, path: tuple[str, ...], plan_year: int | None = None) -> Period:
        """The part a section belongs to and the period it speaks of. The report's own title (the
        root of a Markdown report's tree) labels only its own text (the delivery line), not the
        chapters under it: the 2023 review is no «2024年» text for being in the 2024 report."""
        path = tuple(t for t in path if not self.names_report(t)) or path
        label = next((p for p in map(self.sole_period, path) if p), None)
        for title in path:
            scope = self.heading_scope(title, plan_year)
            if scope == "review":
                named = self.period_in(title)
                if named is None:
                    years = YEAR.findall(title)
                    return Period("review", years[0] if years else self.review_default, label)
                year = YEAR.fullmatch(named.removesuffix("年"))
                return Period("review", year.group() if year else named, label)
            if scope == "plan":
                return Period("plan", str(plan_year) if plan_year else self.plan_default, label)
        return Period(None, "", label)

    # --- questions ------------------------------------------------------------------------
    def has_form(self, kind: str, text: str) -> bool:
        return self.kinds[kind].form.search(text) is not None

    def has_rank(self, text: str) -> bool:
        """Whether a text states a ranking ("第4位", "前列")."""
        return self.has_form("rank", text)
