"""Behaviour of the core path: query reading, retrieval, composing, CLI, on the seed report and
on a synthetic report with other heading conventions."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from conftest import SYNTHETIC_DIR
from typer.testing import CliRunner

from rag.answer.query import QueryAnalyzer


@pytest.fixture(scope="module")
def analyzer():
    return QueryAnalyzer()


def _doc_text(pipeline, doc_id):
    return pipeline.store.document(doc_id).text


def _assert_verbatim(pipeline, answer):
    for c in answer.citations:
        assert _doc_text(pipeline, c.doc)[c.start:c.end] == c.quote
        assert f"[{c.n}]" in answer.answer


# --- query reading -------------------------------------------------------------------------
def test_colloquial_terms_expand_to_report_terms(analyzer):
    (part,) = analyzer.analyze("今年GDP要涨多少？")
    assert "地区生产总值" in part.expansions
    assert part.scope == "plan" and part.wants_number


def test_time_words_pick_the_part(analyzer):
    assert analyzer.analyze("过去五年城镇新增就业多少")[0].scope == "review"
    assert analyzer.analyze("明年城镇新增就业目标")[0].scope == "plan"
    assert analyzer.analyze("城镇新增就业")[0].scope is None


def test_question_words(analyzer):
    assert analyzer.analyze("城镇化率排全省第几？")[0].wants_rank
    assert analyzer.analyze("太焦高铁全长多少公里？")[0].measure == "公里"
    assert analyzer.analyze("报告第三部分讲什么？")[0].chapter == 3


def test_two_part_question_shares_its_topic(analyzer):
    first, second = analyzer.analyze("过去五年城镇新增就业多少？今年目标是多少？")
    assert (first.scope, second.scope) == ("review", "plan")
    assert all(w in second.text for w in ("城镇", "新增", "就业"))


def test_follow_up_borrows_topic_from_history(analyzer):
    (part,) = analyzer.analyze("那过去五年呢？", history=["今年GDP要涨多少？"])
    assert part.scope == "review" and "地区生产总值" in part.search_text
    (alone,) = analyzer.analyze("今年GDP要涨多少？", history=["买车还有补贴吗"])
    assert "补贴" not in alone.text  # a complete question keeps its own topic


# --- retrieval ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_each_retriever_finds_the_target_line(pipeline, mode):
    hits = pipeline.search("今年地区生产总值增长目标", k=3, retriever=mode)
    assert any(h.unit.text == "地区生产总值增长7%" for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_scope_prior_separates_review_from_plan(pipeline):
    review = pipeline.search("过去五年城镇新增就业", k=1)[0].unit
    plan = pipeline.search("今年城镇新增就业目标", k=1)[0].unit
    assert review.section_id.startswith("1") and plan.section_id.startswith("2")


# --- answers --------------------------------------------------------------------------------
def test_figure_question_gets_a_short_cited_answer(pipeline):
    a = pipeline.ask("今年GDP要涨多少？")
    assert a.found and "7%" in a.answer
    c = a.citations[0]
    assert c.section_id == "2.1" and c.section_path.endswith("1. 主要预期目标")
    assert len(re.sub(r"\[\d+\]", "", a.answer)) <= 60
    _assert_verbatim(pipeline, a)
    assert set(a.timings_ms) == {"retrieve", "compose", "total"}


def test_two_part_question_answers_and_cites_both(pipeline):
    a = pipeline.ask("过去五年城镇新增就业多少？今年目标是多少？")
    assert "33.16万人" in a.answer and "6万人以上" in a.answer
    assert len(a.citations) == 2 and {c.section_id[0] for c in a.citations} == {"1", "2"}
    _assert_verbatim(pipeline, a)


@pytest.mark.parametrize("question", ["焦作常住人口有多少？", "焦作市长是谁？", "太焦高铁全长多少公里？", "2022年一般公共预算收入是多少亿元？"])
def test_unanswerable_is_refused_with_nearest_sections(pipeline, question):
    a = pipeline.ask(question)
    assert not a.found and not a.citations
    assert "报告中没有找到" in a.answer


def test_english_question_is_answered_and_refusal_is_in_english(pipeline):
    a = pipeline.ask("What is the urban unemployment rate target for 2023?")
    assert a.found and "5.5%" in a.answer
    refused = pipeline.ask("Who is the mayor of the city?")
    assert not refused.found and "does not" in refused.answer


def test_answer_json_contract(pipeline):
    d = pipeline.ask("买车还有补贴吗").to_dict()
    assert {"question", "answer", "found", "citations", "timings_ms"} <= set(d)
    assert set(d["citations"][0]) >= {"n", "doc", "section_id", "section_path", "quote", "start", "end", "score"}


# --- a second report with other conventions -------------------------------------------------
def test_synthetic_report_end_to_end(tmp_path, pipeline):
    from rag.core.settings import Settings
    from rag.pipeline import Pipeline

    corpus = tmp_path / "corpus"
    shutil.copytree(SYNTHETIC_DIR, corpus)
    p = Pipeline.load(Settings(corpus_dir=corpus, index_dir=tmp_path / "index"))
    a = p.ask("2024年城镇新增就业目标是多少？")
    assert a.found and "5万人以上" in a.answer
    _assert_verbatim(p, a)
    b = p.ask("去年发放了多少消费券？")
    assert "1.2亿元" in b.answer and b.citations[0].section_path.endswith("二是提振消费")


# --- CLI ------------------------------------------------------------------------------------
def test_cli_ask_json_and_info(settings, pipeline):
    from rag.cli.main import app

    runner = CliRunner()
    opts = ["--corpus", str(settings.corpus_dir), "--index-dir", str(settings.index_dir)]
    r = runner.invoke(app, [*opts, "ask", "今年GDP要涨多少？", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["found"] is True
    r = runner.invoke(app, [*opts, "info", "--json"])
    info = json.loads(r.stdout)
    assert info["dimension"] == 384 and info["units"] == len(pipeline.store.units)
    assert info["manifest"]["corpus_hash"]
    assert [(r["region"], r["year"]) for r in info["reports"]] == [(d.report.region, d.report.year)
                                                                  for d in pipeline.store.documents]


def test_cli_errors_are_clean(tmp_path):
    from rag.cli.main import app

    r = CliRunner().invoke(app, ["--corpus", str(tmp_path), "--index-dir", str(tmp_path / "i"), "ask", "你好"])
    assert r.exit_code != 0 and "Traceback" not in r.output
    assert "No usable report files" in r.output


def test_a_figure_must_belong_to_the_metric_asked(pipeline):
    """「常住人口城镇化率提高1个百分点」 measures 城镇化率, so it does not say how many people live there."""
    composer = pipeline.composer
    (part,) = pipeline.analyzer.analyze("焦作常住人口有多少？")
    terms = composer.terms.of(part)
    assert not composer.checks.figure_is_about("常住人口城镇化率提高1个百分点左右", terms)
    (jobs,) = pipeline.analyzer.analyze("过去五年城镇新增就业多少人？")
    assert composer.checks.figure_is_about("城镇新增就业33.16万人", composer.terms.of(jobs))
    (projects,) = pipeline.analyzer.analyze("五年来实施了多少个省市重点项目？")
    assert composer.checks.figure_is_about("累计实施833个省市重点项目", composer.terms.of(projects))
