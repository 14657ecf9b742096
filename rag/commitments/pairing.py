"""Each target beside the achievement of the same metric in its report: this year's promise
next to the five-year record."""

from __future__ import annotations

from rag.commitments.record import Commitment
from rag.genre.paraphrase import similarity
from rag.genre.text import FigureReader


def pair(items: list[Commitment], figures: FigureReader, min_similarity: float) -> None:
    """Each target gets the achievement of the most similar metric in the same document.

    Several targets may share an achievement (the main-targets list and the plan section
    often repeat 城镇新增就业); the achievement's own ``paired_with`` then names its best
    target, a main-target item first on ties.

    Similarity is character-bigram Jaccard over metrics, kept when >= 0.4 (in the TOML).
    Identical metrics (城镇新增就业) score 1.0; the same object under another verb or with
    a qualifier prefix scores 0.4-0.65 (新增/培育国家高新技术企业 0.64, 推进老旧小区改造项目
    / 完成老旧小区改造 0.45, 常住人口城镇化率 / 城镇化率 0.43, 改扩建中小学 / 中小学 0.4).
    Measured on the seed report, the first wrong candidates come just below: metrics that
    share only a generic phrase (规模以上工业企业增加值能耗 / …研发活动覆盖率 0.37,
    单位生产总值能耗 / 地区生产总值 0.33).

    Only like is paired with like: both figures in the same unit (every percentage is one),
    so a growth rate (地区生产总值增长7%) is never set beside a five-year level or total
    (2280亿元), nor a qualitative target beside a figure.
    """
    by_doc: dict[str, list[Commitment]] = {}
    for c in items:
        by_doc.setdefault(c.doc, []).append(c)
    for group in by_doc.values():
        achievements = [c for c in group if c.kind == "achievement"]
        best_for: dict[str, tuple[tuple[float, bool, int], Commitment]] = {}
        for t in (c for c in group if c.kind == "target"):
            unit = figures.unit_base(t.unit)
            scored = [((similarity(t.metric, a.metric), -a.start), a)
                      for a in achievements if unit and figures.unit_base(a.unit) == unit]
            scored = [x for x in scored if x[0][0] >= min_similarity]
            if not scored:
                continue
            key, a = max(scored, key=lambda x: x[0])
            t.paired_with, t.paired_value, t.paired_unit = a.id, a.value, a.unit
            rank = (key[0], t.main_target, -t.start)
            if a.id not in best_for or rank > best_for[a.id][0]:
                best_for[a.id] = (rank, t)
        for a in achievements:
            if a.id in best_for:
                t = best_for[a.id][1]
                a.paired_with, a.paired_value, a.paired_unit = t.id, t.value, t.unit
