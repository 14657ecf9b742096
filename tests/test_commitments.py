"""The commitments tracker against a hand-written gold list for the seed report, plus the
synthetic report with other heading conventions."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from rag.commitments.extract import CommitmentExtractor
from rag.commitments.record import Commitment
from rag.commitments.render import filter_commitments, render, to_csv_bytes
from rag.genre.paraphrase import similarity

GOLD = Path(__file__).parent / "fixtures" / "commitments_gold_seed.json"


@pytest.fixture(scope="module")
def seed(seed_docs):
    (doc,) = seed_docs
    return doc, CommitmentExtractor().run(seed_docs)


@pytest.fixture(scope="module")
def synthetic(synthetic_docs):
    return CommitmentExtractor().run(synthetic_docs)


@pytest.fixture(scope="module")
def gold(seed):
    doc, _ = seed
    data = json.loads(GOLD.read_text("utf-8"))
    assert data["doc"] == doc.id
    items = []
    for g in data["items"]:
        sec = doc.section(g["section_id"])
        start = doc.text.find(g["clause"], sec.start, sec.end)
        assert start != -1, f"gold clause not in its section: {g}"
        items.append({**g, "start": start, "end": start + len(g["clause"])})
    return items


def _match(gold: list[dict], found: list[Commitment]) -> list[tuple[dict, Commitment]]:
    """One-to-one: same section and value+unit first, then overlapping spans in the section."""
    pairs, used = [], set()
    rest = []
    for g in gold:
        c = next((c for c in found if c.id not in used and c.section_id == g["section_id"]
                  and c.value == g["value"] and c.unit == g["unit"]), None)
        if c:
            pairs.append((g, c))
            used.add(c.id)
        else:
            rest.append(g)
    for g in rest:
        c = next((c for c in found if c.id not in used and c.section_id == g["section_id"]
                  and c.start < g["end"] and g["start"] < c.end), None)
        if c:
            pairs.append((g, c))
            used.add(c.id)
    return pairs


def test_recall_and_precision_of_quantified_targets(seed, gold):
    _, items = seed
    quantified_gold = [g for g in gold if g["value"] is not None]
    found = [c for c in items if c.kind == "target" and c.value is not None]
    pairs = _match(quantified_gold, found)
    recall = len(pairs) / len(quantified_gold)
    precision = len(pairs) / len(found)
    missed = [g["clause"] for g in quantified_gold if all(g is not p[0] for p in pairs)]
    extra = [c.clause for c in found if all(c is not p[1] for p in pairs)]
    assert recall >= 0.95, (recall, missed)
    assert precision >= 0.9, (precision, extra)
    # a matched record carries the gold figure
    wrong = [(g["clause"], c.value, c.unit, c.qualifier) for g, c in pairs
             if (c.value, c.unit, c.qualifier) != (g["value"], g["unit"], g["qualifier"])]
    assert len(wrong) <= 0.05 * len(pairs), wrong


def test_all_main_targets(seed, gold):
    _, items = seed
    main_gold = [g for g in gold if g.get("main_target")]
    assert len(main_gold) == 13
    main = [c for c in items if c.main_target]
    assert len(main) == 13
    for g in main_gold:
        c = next((c for c in main if c.clause == g["clause"]), None)
        assert c is not None, g["clause"]
        assert (c.value, c.unit, c.qualifier) == (g["value"], g["unit"], g["qualifier"]), g["clause"]
        assert c.kind == "target" and c.horizon == "2023"
        assert c.metric == g["metric"]


def test_clauses_are_verbatim_and_ids_unique(seed, synthetic, synthetic_docs):
    doc, items = seed
    docs = {doc.id: doc} | {d.id: d for d in synthetic_docs}
    for c in items + synthetic:
        assert docs[c.doc].text[c.start : c.end] == c.clause
        sec = docs[c.doc].section(c.section_id)
        assert sec.start <= c.start < c.end <= sec.end
        assert c.section_path == sec.path_str
    ids = [c.id for c in items + synthetic]
    assert len(ids) == len(set(ids))
    assert items == sorted(items, key=lambda c: (c.doc, c.start, c.end))


def test_not_values(seed):
    _, items = seed
    for c in items:
        assert not (c.value == "2023" or c.unit == "年"), c
        assert "第十二届" not in c.clause or c.value is None
    # numbers inside quotes ("862" 工程, "13710" 工作制度) are names, not figures
    assert not any(c.value in ("862", "13710") for c in items)


def test_two_figures_in_one_sentence_give_two_records(seed):
    _, items = seed
    sec = [c for c in items if c.section_id == "2.2.8" and c.value is not None]
    clauses = [c.clause for c in sec]
    assert "确保城镇新增就业6万人以上" in clauses
    assert "新增农村劳动力转移就业1.2万人以上" in clauses


def test_review_part_gives_achievements(seed):
    _, items = seed
    ach = [c for c in items if c.kind == "achievement"]
    assert ach and all(c.section_id.startswith("1") and c.horizon == "过去五年" for c in ach)
    jobs = next(c for c in ach if c.metric == "城镇新增就业")
    assert (jobs.value, jobs.unit) == ("33.16", "万人")
    assert not any(c.kind == "achievement" for c in items if c.section_id.startswith(("2", "3")))


def test_pairing_jobs_target_with_five_year_record(seed):
    _, items = seed
    by_id = {c.id: c for c in items}
    target = next(c for c in items if c.main_target and c.metric == "城镇新增就业")
    assert target.paired_with, "城镇新增就业 target has no pair"
    ach = by_id[target.paired_with]
    assert (ach.kind, ach.value, ach.unit) == ("achievement", "33.16", "万人")
    assert ach.paired_with == target.id
    assert (target.paired_value, target.paired_unit) == ("33.16", "万人")
    # every pair points at a record of the other kind in the same document
    for c in items:
        if c.paired_with:
            other = by_id[c.paired_with]
            assert other.kind != c.kind and other.doc == c.doc
            assert similarity(c.metric, other.metric) >= 0.4


REVIEW_AND_PLAN = """一、过去五年工作回顾
全市地区生产总值达1500亿元。2家工业企业营收超80亿元、6家超30亿元、120家超亿元。
3个县和9家企业成为省级试点、居全省前列。新建改扩建40所学校25所幼儿园。
建立经贸往来的国家和地区170余个，新材料产业规模达200亿级。
二、2024年主要目标
地区生产总值增长6%左右，城镇新增就业4万人以上。
三、重点工作
新开工保障性住房600套、交付3000套。
"""


@pytest.fixture(scope="module")
def clauses():
    from rag.ingest.corpus import parse_document

    doc = parse_document(REVIEW_AND_PLAN, doc_id="t", source="t.txt")
    return doc, CommitmentExtractor().run([doc])


def test_merged_clauses_keep_a_count_with_its_threshold(clauses):
    """「2家工业企业营收超80亿元」 is one record, not 「2家」 beside 「超80亿元」, and the elliptic
    「6家超30亿元」 and 「120家超亿元」 name what they count."""
    doc, items = clauses
    by_metric = {c.metric: c for c in items}
    first = by_metric["工业企业营收超80亿元"]
    assert (first.figure, first.clause) == ("2家", "2家工业企业营收超80亿元")
    assert by_metric["工业企业营收超30亿元"].figure == "6家"
    assert by_metric["工业企业营收超亿元"].figure == "120家"
    assert not any(c.figure.startswith("超") and "亿元" in c.figure for c in items)  # no lone threshold
    for c in items:
        assert c.clause == doc.text[c.start:c.end]


def test_every_metric_names_a_thing(clauses):
    _, items = clauses
    figures = {c.figure: c.metric for c in items if c.value}
    assert figures["3个"] == "县成为省级试点"  # not 「县」 alone, nor the other subject's «和9家企业»
    assert figures["9家"] == "企业成为省级试点"
    assert figures["3000套"] == "交付保障性住房"  # not 「交付」 alone
    assert figures["40所"] == "新建改扩建学校" and figures["25所"] == "幼儿园"  # same unit: two records
    assert all(len(c.metric) > 2 for c in items)


def test_figures_read_as_written(clauses):
    """An approximation mark stays between number and unit («170余个», not «170个余»), and a scale
    class keeps its 级 («200亿级») instead of lending it to the metric."""
    _, items = clauses
    by_figure = {c.figure: c.metric for c in items if c.value}
    assert "170余个" in by_figure and "170个余" not in by_figure
    assert by_figure["200亿级"] == "新材料产业规模"


def test_pairing_is_like_with_like(clauses, seed):
    """A growth rate is never set beside a five-year level or total; a count beside a count is."""
    for _, items in (clauses, seed):
        by_id = {c.id: c for c in items}
        extractor = CommitmentExtractor()
        for c in items:
            if c.paired_with:
                other = by_id[c.paired_with]
                assert extractor.figures.unit_base(c.unit) == extractor.figures.unit_base(other.unit), (c, other)
    _, items = clauses
    gdp = next(c for c in items if c.kind == "target" and c.metric == "地区生产总值")
    assert gdp.paired_with is None
    jobs = next(c for c in items if c.kind == "target" and c.metric == "城镇新增就业")
    assert jobs.unit == "万人"
    _, seed_items = seed
    seed_gdp = next(c for c in seed_items if c.kind == "target" and c.metric == "地区生产总值")
    assert seed_gdp.paired_with is None and seed_gdp.unit == "%"


def test_qualitative_targets_kept(seed):
    _, items = seed
    c = next(c for c in items if c.clause == "延续购车补贴政策")
    assert c.kind == "target" and c.value is None
    assert all(c.kind == "target" for c in items if c.section_id.startswith("3"))


def test_synthetic_report(synthetic):
    by_clause = {c.clause: c for c in synthetic}
    expected = {
        "地区生产总值增长6%左右": ("地区生产总值", "6", "%", "左右"),
        "城镇新增就业5万人以上": ("城镇新增就业", "5", "万人", "以上"),
        "居民消费价格涨幅3%左右": ("居民消费价格涨幅", "3", "%", "左右"),
    }
    for clause, (metric, value, unit, qualifier) in expected.items():
        c = by_clause[clause]
        assert (c.metric, c.value, c.unit, c.qualifier) == (metric, value, unit, qualifier)
        assert c.kind == "target" and c.horizon == "2024" and c.main_target
    for clause, value in [("全市生产总值增长6.5%", "6.5"), ("城镇新增就业5.2万人", "5.2"),
                          ("发放消费券1.2亿元", "1.2"), ("新建幼儿园15所", "15")]:
        c = by_clause[clause]
        assert c.kind == "achievement" and c.value == value and c.section_id.startswith("1")
    assert by_clause["城镇调查失业率控制在5.3%以内"].qualifier == "以内"
    q = by_clause["延续新能源汽车下乡补贴政策"]
    assert q.kind == "target" and q.value is None and q.horizon == "2024"
    assert by_clause["力争新开工重点项目150个以上"].value == "150"
    jobs = by_clause["城镇新增就业5万人以上"]
    assert jobs.paired_with == by_clause["城镇新增就业5.2万人"].id
    assert not any(c.doc == "002_plain" for c in synthetic)  # no headings: no part to read


def test_filter(seed):
    _, items = seed
    jobs = filter_commitments(items, q="就业")
    assert jobs and all("就业" in c.metric + c.clause + c.section_path for c in jobs)
    targets = filter_commitments(items, kind="target", section="2.2")
    assert targets and all(c.kind == "target" and c.section_id.startswith("2.2.") for c in targets)
    assert not filter_commitments(items, section="2.2.1") == filter_commitments(items, section="2.2")
    assert all(c.section_id in ("2.2.1",) or c.section_id.startswith("2.2.1.")
               for c in filter_commitments(items, section="2.2.1"))
    assert filter_commitments(items, section=f"{items[0].doc}:2.1") == filter_commitments(items, section="2.1")


def test_render_round_trips(seed):
    _, items = seed
    data = to_csv_bytes(items)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == len(items)
    assert {"对照（五年 / 今年）", "数值", "数字", "单位", "原文", "章节编号"} <= set(rows[0])  # the table's Chinese headers
    row = next(r for r in rows if r["指标"] == "城镇新增就业" and r["类型"] == "目标")
    assert row["对照（五年 / 今年）"] == "过去五年：33.16万人"  # as the table shows it
    assert (row["数值"], row["数字"], row["单位"]) == ("6万人以上", "6", "万人")  # 数值 is the figure as shown
    assert [r["原文"] for r in rows] == [c.clause for c in items]
    english = list(csv.DictReader(io.StringIO(to_csv_bytes(items, "en").decode("utf-8-sig"))))
    assert [r["Clause"] for r in english] == [c.clause for c in items] and english[0]["Kind"] in ("target", "achievement")

    parsed = json.loads(render(items, "json"))
    assert parsed == [c.to_dict() for c in items]

    table = render(items, "table")
    assert "城镇新增就业" in table and "6万人以上" in table and "33.16万人" in table
    md = render(items, "md")
    assert md.count("\n") == len(items) + 2
    with pytest.raises(ValueError):
        render(items, "xml")


def test_cli_commitments(tmp_path):
    from conftest import SEED_DIR
    from typer.testing import CliRunner

    from rag.cli.main import app

    runner = CliRunner()
    res = runner.invoke(app, ["--corpus", str(SEED_DIR), "commitments", "--q", "就业", "--kind", "target"])
    assert res.exit_code == 0, res.output
    assert "城镇新增就业" in res.output and "6万人以上" in res.output and "33.16万人" in res.output

    out = tmp_path / "c.csv"
    res = runner.invoke(app, ["--corpus", str(SEED_DIR), "commitments", "--section", "2.1",
                              "--format", "csv", "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert out.read_bytes().startswith(b"\xef\xbb\xbf") and len(rows) == 13 and "指标" in rows[0]
    res = runner.invoke(app, ["--corpus", str(SEED_DIR), "commitments", "--section", "2.1", "--format", "csv",
                              "--lang", "en", "--out", str(out)])
    assert res.exit_code == 0 and "Metric" in next(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))

    res = runner.invoke(app, ["--corpus", str(SEED_DIR), "commitments", "--format", "json", "--kind", "achievement"])
    assert res.exit_code == 0 and all(r["kind"] == "achievement" for r in json.loads(res.output))

    res = runner.invoke(app, ["--corpus", str(SEED_DIR), "commitments", "--format", "xml"])
    assert res.exit_code == 2


def test_periods_are_english_in_english_tables():
    """Issue 25, item 15: the 期限 column is English in English mode, Chinese otherwise."""
    from rag.commitments.record import Commitment
    from rag.commitments.render import horizon_text

    def record(horizon: str) -> Commitment:
        return Commitment(id="d:1", clause="", metric="地区生产总值", value="7", unit="%", qualifier=None,
                          kind="target", horizon=horizon, doc="d", section_id="2", section_path="", start=0, end=0)

    assert [horizon_text(record(h)) for h in ("2023", "过去五年", "今年")] == ["2023年", "过去五年", "今年"]
    assert [horizon_text(record(h), "en") for h in ("2023", "过去五年", "今年")] == ["2023", "Past five years", "This year"]
