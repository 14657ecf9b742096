"""The qualifier check of a window: the question's distinguishing qualifier must stand in the
window's item that names the metric, and a placeholder is no figure (rag/data/qualifiers.toml)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.genre.text import CLAUSE_ENDS

_QUALIFIED_ITEM = re.compile(f"[{CLAUSE_ENDS}。、：:]")  # a qualifier qualifies the metric of its own item


@dataclass(frozen=True)
class Qualifiers:
    """What tells a metric from its neighbour (rag/data/qualifiers.toml): 人均 vs the total,
    2号线 vs 1号线, 总额 vs 每辆; and placeholders («另行公布») that stand where a figure would."""

    classes: dict[str, tuple[tuple[str, ...], bool, tuple[str, ...]]]  # name -> (words, required, conflicts)
    designators: tuple[re.Pattern[str], ...]
    placeholders: tuple[str, ...]
    penalty: float
    continuations: tuple[str, ...] = ()  # an item opening with one (达到, 提高到) has no subject of its own

    @classmethod
    def from_table(cls, table: dict) -> Qualifiers:
        classes = {name: (tuple(c["words"]), bool(c.get("required", False)), tuple(c.get("conflicts", ())))
                   for name, c in table.get("classes", {}).items()}
        return cls(classes, tuple(re.compile(p) for p in table.get("designators", {}).get("patterns", ())),
                   tuple(table.get("placeholders", {}).get("words", ())), float(table.get("penalty", 0.3)),
                   tuple(table.get("continuations", ())))

    def items(self, window_text: str) -> list[str]:
        """The window's clauses and list items; one opening with a link («…标准提高20元，达到每人
        每月250元») still speaks of the item before it, so the two count as one."""
        out: list[str] = []
        for item in _QUALIFIED_ITEM.split(window_text):
            if out and self.continuations and item.startswith(self.continuations):
                out[-1] += item
            else:
                out.append(item)
        return out

    def missing(self, question: str, items: list[str], metrics: list[tuple[str, ...]]) -> bool:
        """Whether the question's distinguishing qualifier is absent from the window's metric
        text: a class word counts only in an item (a clause or list item of the window, or a
        heading) that also names one of the question's ``metrics`` (人均 of 人均可支配收入 does
        not qualify a 地区生产总值 listed beside it)."""
        q = question.lower()
        items = [i.lower() for i in items if i]
        whole = " ".join(items)
        for words, required, conflicts in self.classes.values():
            if not any(x in q for x in words):
                continue
            others = [m for m in metrics if not any(x in a for a in m for x in words)]
            if any(any(x in i for x in words) and (not others or any(a in i for m in others for a in m))
                   for i in items):
                continue
            if required or any(x in whole for c in conflicts for x in self.classes.get(c, ((), False, ()))[0]):
                return True
        for pattern in self.designators:
            asked = {m.group(0).replace(" ", "") for m in pattern.finditer(q)}
            if asked and not asked & {m.group(0).replace(" ", "") for m in pattern.finditer(whole)}:
                return True
        return False

    def words(self) -> tuple[str, ...]:
        """Every Chinese qualifier word of every class."""
        return tuple(w for words, _, _ in self.classes.values() for w in words if not w.isascii())

    def placeholder(self, text: str) -> bool:
        """Whether the window says its figure is still to come («另行公布»): that is no figure."""
        return any(p in text for p in self.placeholders)

    def factor(self, question: str, window_text: str, path: tuple[str, ...], metrics: list[tuple[str, ...]]) -> float:
        """The support cut for a window: ``penalty`` per failed check, 1.0 when it holds up."""
        items = [*self.items(window_text), *path]
        f = self.penalty if self.missing(question, items, metrics) else 1.0
        return f * (self.penalty if self.placeholder(window_text) else 1.0)
