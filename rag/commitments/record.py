"""One row of the commitments table: a target or an achievement, where its report states it.

Every record's ``clause`` is exactly ``doc.text[start:end]``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from rag.genre.lexicon import Lexicon


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
        return Lexicon.default().figures.written(self.value, self.unit, self.qualifier)

    @property
    def paired_figure(self) -> str:
        return f"{self.paired_value}{self.paired_unit or ''}" if self.paired_value else ""

    @property
    def horizon_label(self) -> str:
        """``2023年`` for a year, the period as written otherwise (过去五年)."""
        return f"{self.horizon}年" if self.horizon.isdigit() else self.horizon
