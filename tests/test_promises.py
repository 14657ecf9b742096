"""Promises kept: a target of (place, N) against the outcome in the (place, N+1) report, like
with like only."""

from __future__ import annotations

from rag.commitments import CommitmentExtractor
from rag.corpus import parse_document
from rag.promises import PromiseTracker

Y2022 = """临川市2022年政府工作报告
一、2021年工作回顾
全市地区生产总值2800亿元，增长7%。
二、2022年主要预期目标
地区生产总值增长6%左右；
城镇新增就业5万人以上；
城镇调查失业率控制在5.5%以内；
新增养老床位2000张；
新培育高新技术企业100家。
"""
Y2023 = """临川市2023年政府工作报告
一、2022年工作回顾
全市地区生产总值3000亿元，增长5.5%。城镇新增就业5.2万人，城镇调查失业率5.3%。高新技术企业总数达到800家。
二、2023年主要预期目标
地区生产总值增长6%；
城镇新增就业5万人以上。
"""
OTHER = Y2023.replace("临川市", "青山县").replace("5.2万人", "1万人")


def _checks(*texts: str):
    docs = [parse_document(t, doc_id=f"d{i}") for i, t in enumerate(texts)]
    items = CommitmentExtractor().run(docs)
    by_metric = {(c.doc, c.metric): c for c in items if c.kind == "target"}
    return PromiseTracker().run(items, {d.id: d.report for d in docs}), by_metric, {c.id: c for c in items}


def test_targets_are_checked_against_the_next_years_review():
    checks, targets, items = _checks(Y2022, Y2023)
    gdp = checks[targets[("d0", "地区生产总值")].id]
    assert gdp.status == "missed" and gdp.outcome_figure == "5.5%"  # a rate against a rate, not 3000亿元
    assert items[gdp.outcome].doc == "d1"
    assert checks[targets[("d0", "城镇新增就业")].id].status == "met"  # 5.2万人 >= 5万人以上
    assert checks[targets[("d0", "城镇调查失业率")].id].status == "met"  # a ceiling, met from below
    assert checks[targets[("d0", "新增养老床位")].id].status == "not_reported"
    # what is added in a year is never compared with a total
    assert checks[targets[("d0", "新培育高新技术企业")].id].status == "not_reported"
    assert targets[("d1", "地区生产总值")].id not in checks  # no 2024 report: nothing to check yet


def test_only_the_same_place_counts():
    checks, targets, _ = _checks(Y2022, OTHER)
    assert not checks  # 青山县 2023 is not 临川市's next report
