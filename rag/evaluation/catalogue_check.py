"""`rag eval --catalogue DIR`: does the catalogue name every report of a collection right?

The catalogue must read place, level and plan year from what a report says about itself, never
from its file or folder name. The check therefore hands it each report's text under a neutral name
(``report.md``) and compares what it reads with the truth the collection's layout gives
(``<level-folder>/<place>/<year>.md``), once as published and once with the front matter removed,
so a report whose front matter is lost is still named right. A layout is pluggable: any object
with ``truth(relative_path) -> Truth`` (``FolderLayout`` reads one from ``catalogue_check.toml``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from rag.core.errors import RagError
from rag.core.types import Report
from rag.genre.gazetteer import Gazetteer, default_gazetteer
from rag.genre.lexicon import Lexicon
from rag.ingest.catalogue import ReportCatalogue, default_catalogue

MODES = ("published", "stripped")
FIELDS = ("region", "level", "year")
_NEUTRAL = "report"


class LayoutMismatch(RagError, ValueError):
    """A file the layout gives no truth for (``README.md`` beside the folders); named, never dropped."""


class CatalogueCheckError(RagError, ValueError):
    """Bad input to the check (no folder, unknown layout); bilingual."""


@dataclass(frozen=True, slots=True)
class Truth:
    region: str
    level: str
    year: int


class Layout(Protocol):
    @property
    def name(self) -> str: ...  # read-only: FolderLayout is a frozen dataclass

    def truth(self, relative: Path) -> Truth: ...


@dataclass(frozen=True)
class FolderLayout:
    """``<level-folder>/<place>/<year>…``: folder names map to levels ("gazetteer": the place's own
    level, for a folder that mixes municipalities and cities), the stem gives the year."""

    name: str
    parts: int
    levels: dict[str, str]
    fallback_level: str
    year: re.Pattern[str]
    gazetteer: Gazetteer = field(default_factory=default_gazetteer)

    @classmethod
    def named(cls, name: str, lexicon: Lexicon | None = None) -> FolderLayout:
        table = (lexicon or Lexicon.default()).table("catalogue_check")
        layouts = table["layouts"]
        if name not in layouts:
            raise CatalogueCheckError(f"未知的目录布局 {name!r}（可选 {'、'.join(layouts)}）"
                                      f" / Unknown layout {name!r} (known: {', '.join(layouts)})")
        d = layouts[name]
        return cls(name, int(d["parts"]), dict(d["levels"]), d["fallback_level"], re.compile(d["year"]))

    def truth(self, relative: Path) -> Truth:
        parts = relative.parts
        if len(parts) != self.parts or parts[0] not in self.levels:
            raise LayoutMismatch(f"不符合布局 {self.name}（{'/'.join(self.levels)}/<地区>/<年份>）"
                                 f" / not in layout {self.name} (<{'|'.join(self.levels)}>/<place>/<year>)")
        m = self.year.match(relative.stem)
        if not m:
            raise LayoutMismatch(f"文件名不以年份开头 / the file name does not start with a year: {relative.name}")
        level = self.levels[parts[0]]
        if level == "gazetteer":
            known = self.gazetteer.get(parts[1])
            level = known.level if known else self.fallback_level
        return Truth(parts[1], level, int(m.group("year")))


def same_place(read: str, truth: str, gazetteer: Gazetteer | None = None) -> bool:
    """Two names of one division: equal, or resolved by the gazetteer to the same division (its
    full name, a written alias such as 克州, or a stem such as 广西 that only one division has)."""
    if read == truth:
        return True
    g = gazetteer or default_gazetteer()
    a, b = g.lookup(read), g.lookup(truth)
    return a is not None and a == b


@dataclass(frozen=True, slots=True)
class Miss:
    source: str
    mode: str
    field: str
    read: str
    expected: str


@dataclass
class CheckResult:
    """Per mode, how many reports were checked and every field the catalogue read wrong."""

    directory: str
    layout: str
    checked: dict[str, int] = field(default_factory=lambda: {m: 0 for m in MODES})
    misses: list[Miss] = field(default_factory=list)
    not_checked: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)

    def accuracy(self, mode: str, name: str) -> float:
        n = self.checked.get(mode, 0)
        wrong = sum(1 for m in self.misses if m.mode == mode and m.field == name)
        return (n - wrong) / n if n else 0.0

    def as_json(self) -> dict:
        return {"directory": self.directory, "layout": self.layout, "checked": self.checked,
                "accuracy": {m: {f: self.accuracy(m, f) for f in FIELDS} for m in self.checked},
                "misses": [asdict(m) for m in self.misses],
                "not_checked": [{"source": s, "reason": r} for s, r in self.not_checked]}


class CatalogueCheck:
    """Reads every report of a folder as the catalogue would, under a neutral name, per mode."""

    def __init__(self, layout: Layout, catalogue: ReportCatalogue | None = None,
                 modes: Sequence[str] = MODES) -> None:
        unknown = [m for m in modes if m not in MODES]
        if unknown or not modes:
            raise CatalogueCheckError(f"未知的检查方式 {unknown}（可选 {'、'.join(MODES)}）"
                                      f" / Unknown mode(s) {unknown} (known: {', '.join(MODES)})")
        self.layout, self.modes = layout, tuple(modes)
        self.catalogue = catalogue or default_catalogue()

    def read(self, path: Path, mode: str) -> Report:
        """The catalogue entry of ``path``'s text, handed over as ``report.<ext>``; ``stripped``
        removes the front matter first, as a report copied without it would arrive."""
        from rag.ingest.corpus import clean_text, parse_document, split_front_matter
        from rag.ingest.loaders import extract

        got = extract(path)
        text, front_matter = got.text, got.front_matter
        if mode == "stripped" and front_matter:
            text = split_front_matter(clean_text(text))[1]
        doc = parse_document(text, doc_id=_NEUTRAL, source=_NEUTRAL + path.suffix.lower(), title=got.title,
                             front_matter=front_matter, marked=dict(got.headings))
        return doc.report

    def compare(self, source: str, mode: str, report: Report, truth: Truth) -> list[Miss]:
        got = {"region": report.region, "level": report.level, "year": str(report.year or "")}
        want = {"region": truth.region, "level": truth.level, "year": str(truth.year)}
        return [Miss(source, mode, f, got[f], want[f]) for f in FIELDS
                if not (same_place(got[f], want[f], self.catalogue.gazetteer) if f == "region" else got[f] == want[f])]

    def run(self, directory: Path, files: Iterable[Path] | None = None, progress: bool = False) -> CheckResult:
        from tqdm import tqdm

        from rag.ingest.corpus import CorpusError, CorpusLoader
        from rag.ingest.loaders import LoadError

        directory = Path(directory)
        if not directory.is_dir():
            raise CatalogueCheckError(f"目录不存在：{directory} / Folder not found: {directory}")
        result = CheckResult(str(directory), getattr(self.layout, "name", type(self.layout).__name__))
        paths = list(files) if files is not None else CorpusLoader(directory).files()
        for path in tqdm(paths, desc="catalogue", unit="report", disable=None if progress else True, leave=False):
            source = str(path.relative_to(directory))
            try:
                truth = self.layout.truth(path.relative_to(directory))
                reports = {mode: self.read(path, mode) for mode in self.modes}
            except (LayoutMismatch, LoadError, CorpusError) as exc:
                result.not_checked.append((source, getattr(exc, "reason", str(exc))))
                continue
            for mode, report in reports.items():
                result.checked[mode] = result.checked.get(mode, 0) + 1
                result.misses += self.compare(source, mode, report, truth)
        result.checked = {m: n for m, n in result.checked.items() if m in self.modes}
        return result


def check_table(result: CheckResult) -> str:
    """Accuracy per mode and field, then every miss and every file not checked, with why."""
    names = {"region": "地区 place", "level": "级别 level", "year": "年份 plan year"}
    lines = [f"目录检查 / Catalogue check: {result.directory} (layout {result.layout})", "",
             f"{'mode':<11}{'reports':>8}" + "".join(f"{names[f]:>18}" for f in FIELDS)]
    for mode, n in result.checked.items():
        cells = "".join(f"{result.accuracy(mode, f):>18.2%}" for f in FIELDS)
        lines.append(f"{mode:<11}{n:>8}{cells}")
    if result.misses:
        lines += ["", f"读错 / Misses ({len(result.misses)}):"]
        lines += [f"  [{m.mode}] {m.source}  {m.field}: {m.read or '∅'} ≠ {m.expected}" for m in result.misses]
    if result.not_checked:
        lines += ["", f"未检查 / Not checked ({len(result.not_checked)}):"]
        lines += [f"  {s}: {r}" for s, r in result.not_checked]
    return "\n".join(lines)
