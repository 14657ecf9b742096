"""A corpus of several reports (tests/fixtures/multi: 临川市 2022 and 2023, 云溪县 2023): answers are
scoped to the place and year asked about, labelled with their report, refuse places no report
covers, join two years of one place, and the tracker says which promises were kept."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

MULTI_DIR = Path(__file__).parent / "fixtures" / "multi"
LC22, LC23, YX = "101_linchuan_2022", "102_linchuan_2023", "201_yunxi_county_2023"


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    from rag.core.settings import Settings
    from rag.pipeline import Pipeline

    settings = Settings(corpus_dir=MULTI_DIR, index_dir=tmp_path_factory.mktemp("multi-index"))
    return Pipeline.load(settings)


@pytest.fixture(scope="module")
def api(multi):
    from fastapi.testclient import TestClient

    from rag.api.app import create_app

    with TestClient(create_app(multi.settings, multi)) as c:
        yield c


def _verbatim(p, answer) -> None:
    texts = {d.id: d.text for d in p.store.documents}
    for c in answer.citations:
        assert texts[c.doc][c.start:c.end] == c.quote


def _labelled(p, answer) -> None:
    """Every citation marker follows the label of its own report, with no other label between."""
    labels = list(re.finditer(r"【([^】]+)】", answer.answer))
    for c in answer.citations:
        marker = answer.answer.index(f"[{c.n}]")
        before = [m.group(1) for m in labels if m.start() < marker]
        assert before and before[-1] == p.selector.label(c.doc), (c.n, answer.answer)


def test_catalogue_lists_every_report(api):
    reports = {d["id"]: d["report"] for d in api.get("/api/documents").json()}
    assert (reports[LC22]["region"], reports[LC22]["year"], reports[LC22]["delivered"]) == ("临川市", 2022, "2022年1月12日")
    assert (reports[YX]["region"], reports[YX]["level"], reports[YX]["year"]) == ("云溪县", "县", 2023)


def test_named_place_and_relative_year_scope_the_answer(multi):
    a = multi.ask("临川今年新增养老床位多少张？")
    assert a.found and "1000张" in a.answer and {c.doc for c in a.citations} == {LC23}
    _labelled(multi, a)
    _verbatim(multi, a)


def test_place_no_report_covers_is_refused_naming_the_reports(multi):
    a = multi.ask("临海市今年GDP目标是多少？")
    assert not a.found and not a.citations
    assert "临海市" in a.answer and "临川市2023年政府工作报告" in a.answer and "云溪县2023年政府工作报告" in a.answer


def test_target_against_outcome_cites_both_reports(multi):
    a = multi.ask("临川2022年定的GDP增长目标是多少，最后实际增长了多少？")
    assert a.found and "6.5%左右" in a.answer and "5.9%" in a.answer
    assert [c.doc for c in a.citations] == [LC22, LC23]
    _labelled(multi, a)
    _verbatim(multi, a)


def test_two_years_of_targets_compared(multi):
    a = multi.ask("临川2023年的城镇新增就业目标比2022年高还是低？")
    assert "3万人以上" in a.answer and "3.3万人以上" in a.answer and "高于" in a.answer
    _labelled(multi, a)


def test_no_place_named_lists_each_report_labelled(multi):
    a = multi.ask("今年买新能源汽车每辆补贴多少？")
    assert "3000元" in a.answer and "2000元" in a.answer
    assert {c.doc for c in a.citations} == {LC23, YX}
    _labelled(multi, a)  # never two reports' figures under one label


class _Recorder:
    """A composer in the chain's place (where an LLM's would be): the extractive answer under its
    own name, and the reports each call was scoped to."""

    name = "recorder"

    def __init__(self, fallback) -> None:
        self.fallback, self.scopes = fallback, []

    def run(self, question, parts, hits, *, documents=()):
        self.scopes.append([tuple(d) if d is not None else None for d in documents])
        return dataclasses.replace(self.fallback.run(question, parts, hits), composer=self.name)


def test_several_reports_go_through_the_chain_with_each_gate_once(multi, monkeypatch):
    question = "今年买新能源汽车每辆补贴多少？"
    plain = multi.ask(question)
    recorder = _Recorder(multi.composer)
    chained = dataclasses.replace(multi, generative=recorder)
    calls: list[str] = []
    for part, gate in ((multi.router.scope, "blocked"), (multi.router.promises, "promise_list")):
        original = getattr(part, gate)
        monkeypatch.setattr(part, gate, lambda *a, _o=original, _g=gate: calls.append(_g) or _o(*a))
    a = chained.ask(question)
    assert a.composer == "recorder" and a.answer == plain.answer  # the same answer, through the chain
    assert [(LC23,)] in recorder.scopes and [(YX,)] in recorder.scopes  # once per report, scoped to it
    assert sorted(calls) == ["blocked", "promise_list"]  # each gate once


def test_promises_kept_in_chat(multi):
    a = multi.ask("临川去年定的目标哪些没完成？")
    assert a.found and a.composer == "promises"
    assert "地区生产总值" in a.answer and "新增养老床位" in a.answer and "城镇新增就业" not in a.answer
    assert {c.doc for c in a.citations} == {LC22, LC23}
    _verbatim(multi, a)


def test_promise_pairing_is_like_with_like(multi):
    by_metric = {c.metric: c for c in multi.commitments.items if c.doc == LC22 and c.kind == "target"}
    assert by_metric["地区生产总值"].promise == "missed" and by_metric["地区生产总值"].outcome_figure == "5.9%"
    assert by_metric["城镇新增就业"].promise == "met"  # 3.2万人 against 3万人以上, not the 1900亿元 total
    assert by_metric["城镇调查失业率"].promise == "met"  # a ceiling
    assert all(c.promise is None for c in multi.commitments.items if c.doc in (LC23, YX))  # no 2024 report


def test_api_filters(api):
    r = api.post("/api/ask", json={"question": "新增学位多少个？", "documents": [YX]})
    assert r.status_code == 200 and {c["doc"] for c in r.json()["citations"]} == {YX}
    r = api.post("/api/ask", json={"question": "新增学位多少个？", "region": "临川", "year": 2023})
    assert {c["doc"] for c in r.json()["citations"]} == {LC23}
    for body in ({"documents": ["nope"]}, {"region": "临海"}):
        r = api.post("/api/ask", json={"question": "GDP目标？", **body})
        assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_report"
        assert "/" in r.json()["error"]["message"]  # Chinese and English
    assert api.post("/api/ask", json={"question": "GDP目标？", "year": "去年"}).status_code == 422
    assert api.get("/api/search", params={"q": "学位", "year": 1800}).status_code == 422
    hits = api.get("/api/search", params={"q": "新增学位", "region": "云溪县"}).json()["hits"]
    assert hits and {h["doc"] for h in hits} == {YX}


def test_commitments_api_promise_field_filter_and_csv(api):
    rows = api.get("/api/commitments", params={"promise": "missed", "region": "临川"}).json()
    assert rows and all(r["doc"] == LC22 and r["promise"]["status"] == "missed" for r in rows)
    gdp = next(r for r in rows if r["metric"] == "地区生产总值")
    assert gdp["promise"]["label"] == "未完成" and gdp["promise"]["outcome_doc"] == LC23
    assert api.get("/api/commitments", params={"promise": "maybe"}).status_code == 422
    csv = api.get("/api/commitments", params={"format": "csv", "documents": LC22}).content.decode("utf-8-sig")
    assert "兑现情况" in csv.splitlines()[0] and "未完成" in csv  # the table's Chinese headers and labels
    csv = api.get("/api/commitments", params={"format": "csv", "documents": LC22, "lang": "en"}).content.decode("utf-8-sig")
    assert "Kept?" in csv.splitlines()[0] and "Missed" in csv


def test_cli_commitments_by_promise(tmp_path):
    from typer.testing import CliRunner

    from rag.cli.main import app

    r = CliRunner().invoke(app, ["--corpus", str(MULTI_DIR), "commitments", "--region", "临川", "--promise", "missed"])
    assert r.exit_code == 0, r.output
    assert "未完成（实际5.9%）" in r.stdout and "城镇新增就业" not in r.stdout
    r = CliRunner().invoke(app, ["--corpus", str(MULTI_DIR), "commitments", "--region", "临海"])
    assert r.exit_code == 1 and "临川市2022年政府工作报告" in r.output


def test_a_figure_of_another_quantity_is_refused(multi):
    a = multi.ask("临川市常住人口有多少？")  # the report gives only 常住人口城镇化率
    assert not a.found and not a.citations and "常住人口" in a.answer
    assert a.refusal is not None and a.refusal.reason == "other_measure" and "常住人口" in a.refusal.topics[0]


# --------------------------------------------------------------------------- places and scope (issue 25)

EVAL_CORPUS = Path(__file__).resolve().parents[1] / "eval" / "corpus"  # the seed beside 江城, 青禾县, 南岭省


@pytest.fixture(scope="module")
def five():
    """The evaluation corpus, indexed beside the test seed's index (kept between runs)."""
    from conftest import TEST_SITE

    from rag.core.settings import Settings
    from rag.pipeline import Pipeline

    return Pipeline.load(Settings(corpus_dir=EVAL_CORPUS, index_dir=TEST_SITE / "eval-corpus-index"))


@pytest.mark.parametrize("question", ["郑州今年GDP要涨多少", "北京的GDP增长目标是多少", "郑州市今年GDP要涨多少？",
                                      "洛阳今年GDP要涨多少？"])
def test_a_place_the_report_only_mentions_is_refused_with_the_reports(pipeline, question):
    """The seed names 郑州 and 北京 but is 焦作's: their figures are not its figures."""
    a = pipeline.ask(question)
    assert not a.found and not a.citations and a.composer == "scope", a.answer
    assert "焦作市2023年政府工作报告" in a.answer and "No report" in a.answer


def test_a_place_inside_the_reports_area_or_a_line_to_elsewhere_is_still_answered(pipeline):
    assert pipeline.ask("今年GDP要涨多少？").found
    for question in ("开通至北京的始发高铁了吗？", "温县今年要建设什么？"):
        assert pipeline.selector.unknown_places(question) == [], question


def test_a_fresh_question_does_not_inherit_the_last_turns_place(five):
    """«买车…» after a question about 焦作 asks afresh: the same answer as in a new chat."""
    question = "报废旧车再买新能源车能补多少钱？"
    fresh = five.ask(question)
    after = five.ask(question, history=["焦作的地铁什么时候通车？"])
    assert fresh.found and "1万元" in fresh.answer
    assert (after.answer, [c.doc for c in after.citations]) == (fresh.answer, [c.doc for c in fresh.citations])


def test_a_follow_up_that_leans_on_the_last_turn_keeps_its_place(five):
    a = five.ask("那过去五年呢？", history=["焦作今年GDP要涨多少？"])
    assert a.found and {c.doc for c in a.citations} == {"000_95e50edaf71b7d1c"}, a.answer
    # two follow-ups in a row still lean on the turn that named the place
    b = five.ask("那今年呢？", history=["江城市过去五年城镇新增就业多少？", "那失业率呢？"])
    assert {five.store.document(c.doc).report.region for c in b.citations} == {"江城市"}, b.answer


def test_the_report_picker_wins_over_the_conversations_place(five):
    """Picked on one county after exchanges about 焦作 and 江城: its own answer, as in a fresh chat."""
    county = next(d.id for d in five.store.documents if d.report.level == "县")
    history = ["焦作今年GDP要涨多少？", "江城今年GDP目标？", "那过去五年呢？"]
    fresh = five.ask("今年GDP要涨多少？", documents=[county])
    picked = five.ask("今年GDP要涨多少？", history=history, documents=[county])
    assert fresh.found and picked.answer == fresh.answer
    follow = five.ask("那今年呢？", history=["焦作过去五年GDP增长了多少？"], documents=[county])
    assert {c.doc for c in follow.citations} <= {county}, follow.answer


def test_a_year_no_report_covers_is_refused_with_the_years_there_are(tmp_path):
    """Only 白河县's 2019 report: its 2023 targets are refused, naming 2019, in both languages and
    as data; «2018年…增长多少» is the 2019 report's review and is answered."""
    from rag.core.settings import Settings
    from rag.pipeline import Pipeline

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "baihe.txt").write_text(
        "白河县2019年政府工作报告\n一、2018年工作回顾\n全县地区生产总值增长6.8%。\n"
        "二、2019年工作安排\n全县地区生产总值增长7%左右。到2025年建成5G基站1000个。\n", "utf-8")
    p = Pipeline.load(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"))
    for question in ("白河县2023年的GDP目标是多少？", "白河县2023年GDP增长多少？", "白河县2023年GDP实际增长了多少？"):
        a = p.ask(question)
        assert not a.found and a.composer == "scope", (question, a.answer)
        zh, en = a.answer.split(" / ")
        assert "2023" in zh and "2019" in zh and "2019" in en
        assert [(r["region"], r["year"]) for r in a.scope_reports] == [("白河县", 2019)]
    a = p.ask("白河县2018年GDP增长多少？")
    assert a.found and "6.8%" in a.answer, a.answer
    assert p.ask("白河县到2025年建成多少5G基站？").found  # a deadline the report sets, not a report's year
