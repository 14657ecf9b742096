"""Evaluation harness: metrics on hand-computed cases, dataset loaders and the BEIR round trip,
and small end-to-end runs through the Python API and the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from rag.evaluation import metrics as m
from rag.evaluation.datasets import (
    DatasetError,
    EvidenceLocator,
    export_beir,
    load_beir,
    load_dataset,
    load_jsonl,
    load_squad,
    unit_key,
)

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "eval" / "dev.jsonl"


# --- metrics -------------------------------------------------------------------------------
def test_normalize_folds_width_space_numerals_and_markers():
    assert m.normalize("第四位") == m.normalize("第4位") == "第4位"
    assert m.normalize("增长７％ [1]") == "增长7%"
    assert m.normalize("GDP  增长\n7%") == "gdp增长7%"


def test_answer_correct_any_and_all_of():
    assert m.answer_correct("在全省排第三位。[1]", answers=["第3位"])
    assert m.answer_correct("目标是7%左右", answers=["6%", "7%"])
    assert not m.answer_correct("目标是8%", answers=["7%"])
    assert m.answer_correct("过去五年33.16万人；今年6万人以上", all_of=["33.16万人", "6万人"])
    assert not m.answer_correct("过去五年33.16万人", all_of=["33.16万人", "6万人"])  # not inside 33.16
    assert not m.answer_correct("新增16个", answers=["6个"])
    assert m.answer_correct("增长5.5%左右", answers=["5.5%"]) and m.answer_correct("GDP 增长 7%", answers=["GDP增长7%"])
    assert m.answer_correct("2. 九方面重点工作", answers=["九"])  # the heading number is not part of it
    assert not m.answer_correct("anything")  # no gold: never correct


def test_relevant_units_by_overlap():
    units = {"a": ("d", 0, 10), "b": ("d", 10, 20), "c": ("d", 20, 30), "x": ("e", 0, 30)}
    assert m.relevant_units(units, ("d", 2, 8)) == {"a"}  # the unit contains the evidence
    assert m.relevant_units(units, ("d", 5, 18)) == {"b"}  # 8 of 13 chars ≥ half; a has only 5
    assert m.relevant_units(units, ("d", 5, 15)) == {"a", "b"}  # straddles evenly
    # no unit holds half of the evidence: the largest overlap wins
    small = {"p": ("d", 0, 4), "q": ("d", 4, 8), "r": ("d", 8, 12)}
    assert m.relevant_units(small, ("d", 1, 11)) == {"q"}
    assert m.relevant_units(units, ("zz", 0, 5)) == set()


def test_citation_counts():
    evidences = [[("d", 10, 30)], [("d", 100, 110), ("d", 200, 210)]]
    cites = [("d", 12, 20),  # inside evidence 1
             ("d", 195, 205),  # half of the second place of evidence 2
             ("d", 50, 60)]  # unrelated
    assert m.citation_counts(cites, evidences) == (2, 2)
    assert m.citation_counts([("d", 25, 45)], evidences) == (0, 0)  # 5 of 20 shorter chars
    assert m.citation_counts([], evidences) == (0, 0)


def test_ranking_metrics_by_hand():
    ranked = ["a", "b", "c", "d"]
    assert m.recall_at_k(ranked, [{"b"}, {"d"}], 1) == 0.0
    assert m.recall_at_k(ranked, [{"b"}, {"d"}], 2) == 0.5
    assert m.recall_at_k(ranked, [{"b", "z"}, {"d"}], 4) == 1.0
    assert m.mrr_at_k(ranked, {"c", "d"}) == pytest.approx(1 / 3)
    assert m.mrr_at_k(ranked, {"d"}, k=3) == 0.0
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    assert m.ndcg_at_k(ranked, {"b": 1, "d": 1}) == pytest.approx(dcg / (1 + 1 / math.log2(3)))
    assert m.ndcg_at_k(["b", "d"], {"b": 1, "d": 1}) == pytest.approx(1.0)
    assert m.ndcg_at_k(ranked, {"a": 1, "b": 2}) == pytest.approx((1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3)))


def test_refusal_scores_by_hand():
    s = m.refusal_scores(refused=[True, True, False, False, True], unanswerable=[True, False, True, False, False])
    assert s["precision"] == pytest.approx(1 / 3)
    assert s["recall"] == pytest.approx(1 / 2)
    assert s["f1"] == pytest.approx(0.4)
    assert s["false_refusal_rate"] == pytest.approx(2 / 3)
    never = m.refusal_scores([False, False], [True, False])
    assert (never["precision"], never["recall"], never["f1"]) == (0.0, 0.0, 0.0)
    assert m.refusal_scores([True], [False])["precision"] is None  # nothing unanswerable


def test_percentile_bootstrap_and_quotes():
    assert m.percentile([1, 2, 3, 4], 50) == 2.5
    assert m.percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert m.percentile([], 50) is None
    outcomes = [True] * 30 + [False] * 10
    lo, hi = m.bootstrap_ci(outcomes, seed=7)
    assert lo < 0.75 < hi and 0 <= lo and hi <= 1
    assert m.bootstrap_ci(outcomes, seed=7) == (lo, hi)
    assert m.bootstrap_ci([True] * 5) == (1.0, 1.0)
    texts = {"d": "今年目标增长7%。"}
    assert m.quote_violations([("d", 0, 2, "今年"), ("d", 0, 2, "今天"), ("x", 0, 1, "今"), ("d", "今", 2, "今年")],
                              texts) == 3


# --- datasets ------------------------------------------------------------------------------
def test_load_own_jsonl():
    data = load_dataset(DEV)
    assert data.format == "jsonl" and len(data.items) == 252
    assert sum(not i.answerable for i in data.items) == 26
    two = next(i for i in data.items if i.type == "two_part")
    assert len(two.evidence) == len(two.sections) == 2 and two.all_of
    unanswerable = next(i for i in data.items if not i.answerable)
    assert unanswerable.evidence == [] and unanswerable.answers == []


def test_jsonl_errors_name_the_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "a?", "answers": ["1"]}\n{oops\n', "utf-8")
    with pytest.raises(DatasetError, match=r"bad.jsonl:2"):
        load_jsonl(bad)
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "missing.jsonl")


SQUAD = {
    "version": "v2.0",
    "data": [
        {"title": "示例市", "id": "A1", "paragraphs": [
            {"id": "A1-p0", "context": "示例市位于河流南岸。2022年全市粮食产量达到120万吨。示例市共有三座水库。",
             "qas": [{"id": "q1", "question": "示例市粮食产量是多少？",
                      "answers": [{"text": "120万吨", "answer_start": 23}, {"text": "120万吨", "answer_start": 23}]},
                     {"id": "q2", "question": "示例市有几座水库？",
                      "answers": [{"text": "三座", "answer_start": 0}]},  # wrong offset: found by text
                     {"id": "q3", "question": "示例市市长是谁？", "answers": [], "is_impossible": True}]}]},
        {"title": "Sample Town", "paragraphs": [
            {"context": "Sample Town has a port. The port handled 3 million tonnes in 2022.\nIt opened in 1990.",
             "qas": [{"id": "q4", "question": "How much did the port handle?",
                      "answers": [{"text": "3 million tonnes", "answer_start": 41}]}]}]},
    ],
}


def test_squad_cmrc_loader(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), "utf-8")
    data = load_dataset(path)
    assert data.format == "squad" and set(data.corpus) == {"A1-p0", "1-0"}
    items = {i.id: i for i in data.items}
    assert items["q1"].answers == ["120万吨"] and items["q1"].evidence == ["2022年全市粮食产量达到120万吨。"]
    assert items["q2"].evidence == ["示例市共有三座水库。"]
    assert not items["q3"].answerable and items["q3"].type == "unanswerable"
    assert items["q4"].evidence == ["The port handled 3 million tonnes in 2022."]
    for item in data.items:  # evidence is verbatim context text
        assert all(any(e in text for _, text in data.corpus.values()) for e in item.evidence)


def test_squad_answers_in_hugging_face_columns(tmp_path):
    path = tmp_path / "hf.json"
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"context": "甲地有两座桥。乙地有五座桥。", "qas": [
        {"id": "h1", "question": "乙地有几座桥？", "answers": {"text": ["五座"], "answer_start": [10]}}]}]}]},
        ensure_ascii=False), "utf-8")
    (item,) = load_squad(path).items
    assert item.answers == ["五座"] and item.evidence == ["乙地有五座桥。"] and item.answerable


def test_squad_rejects_other_json(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"rows": []}', "utf-8")
    with pytest.raises(DatasetError, match="SQuAD"):
        load_squad(path)


# --- with the shipped index ----------------------------------------------------------------
def test_every_dev_evidence_has_relevant_units(pipeline):
    locator = EvidenceLocator(pipeline.store.documents, pipeline.store.units)
    for item in load_jsonl(DEV).items:
        if item.answerable:
            assert len(locator.groups(item)) == len(item.evidence), item.id


def test_beir_export_round_trip(pipeline, settings, dev_sample, tmp_path):
    from rag.evaluation.runner import EvalRunner, matches_index

    store = pipeline.store
    counts = export_beir(store.documents, store.units, dev_sample, tmp_path / "beir")
    beir = load_beir(tmp_path / "beir")
    answerable = [i for i in dev_sample.items if i.answerable]
    assert counts == {"corpus": len(store.units), "queries": len(answerable), "qrels": sum(len(i.qrels) for i in beir.items)}
    assert beir.corpus == {unit_key(u): (" › ".join(u.section_path), u.text) for u in store.units}
    locator = EvidenceLocator(store.documents, store.units)
    by_id = {i.id: i for i in beir.items}
    for item in answerable:
        assert by_id[item.id].question == item.question and by_id[item.id].type == item.type
        assert set(by_id[item.id].qrels) == set().union(*locator.groups(item))
    assert matches_index(beir, settings)  # scored on the shipped index, not a temporary copy
    beir.corpus[next(iter(beir.corpus))] = ("", "改过的文本")
    assert not matches_index(beir, settings)
    # the same relevance judgements give the same rank metrics, whichever format carried them
    runner = EvalRunner(pipeline, progress=False)
    own = {r.id: r.retrieval for r in runner.run(dev_sample, "bm25").results if r.retrieval}
    imported = {r.id: r.retrieval for r in runner.run(beir, "bm25").results}
    assert own.keys() == imported.keys()
    for qid, scores in own.items():
        assert imported[qid]["mrr@10"] == pytest.approx(scores["mrr@10"])
        assert imported[qid]["ndcg@10"] == pytest.approx(scores["ndcg@10"])


def test_end_to_end_report(pipeline, dev_sample, tmp_path):
    from rag.evaluation.report import comparison_table, write_report
    from rag.evaluation.runner import EvalRunner, summarize

    report = EvalRunner(pipeline, k=10, seed=3, progress=False).run_all(dev_sample, ["bm25", "hybrid"])
    items = {i.id: i for i in dev_sample.items}
    files = write_report(report, tmp_path / "a")
    assert {f.name for f in files} == {"report.json", "report.md", "accuracy_by_type.png", "answers.png", "retrievers.png",
                                       "latency.png", "run.bm25.trec", "run.hybrid.trec", "qrels", "predictions.jsonl"}
    saved = json.loads((tmp_path / "a" / "report.json").read_text("utf-8"))
    assert set(saved["runs"]) == {"bm25", "hybrid"}
    for run in report.runs.values():
        s = run.summary
        assert s["n"] == len(dev_sample.items) and s["quote_violations"] == 0
        assert 0 <= s["accuracy"] <= 1 and s["accuracy_ci95"][0] <= s["accuracy"] <= s["accuracy_ci95"][1]
        assert set(s["retrieval"]) == {"hit@1", "recall@1", "recall@3", "recall@5", "recall@10", "mrr@10", "ndcg@10"}
        assert s["retrieval"]["recall@1"] <= s["retrieval"]["recall@10"]
        assert set(s["by_type"]) == {i.type for i in dev_sample.items}
        assert s["latency_ms"]["total"]["p50"] <= s["latency_ms"]["total"]["p95"]
        # correct = refused when unanswerable; answered and matching the gold otherwise
        for r in run.results:
            gold = items[r.id]
            expected = (r.found and m.answer_correct(r.answer, gold.answers, gold.all_of)) if gold.answerable else not r.found
            assert r.correct == expected, r.id
        assert summarize(run.results, seed=3) == s  # seeded: recomputing gives the same figures
    table = comparison_table(report)
    assert "bm25" in table.splitlines()[0] and "hybrid" in table.splitlines()[0]
    assert any(line.startswith("refusal F1") for line in table.splitlines())
    md = (tmp_path / "a" / "report.md").read_text("utf-8")
    assert all(r.id in md for r in report.runs["hybrid"].results if r.correct is False)  # every miss is listed
    write_report(report, tmp_path / "b")
    for name in ("accuracy_by_type.png", "retrievers.png", "latency.png", "report.md", "run.hybrid.trec", "qrels"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


# --- datasets that bring their own documents (temporary index) ------------------------------
def test_beir_with_foreign_corpus_builds_a_temporary_index(settings, tmp_path):
    from rag.evaluation.runner import EvalRunner, open_pipeline

    folder = tmp_path / "foreign"
    (folder / "qrels").mkdir(parents=True)
    docs = {"d1": "示例市2022年粮食产量达到120万吨。", "d2": "示例市新建三座水库，库容合计5亿立方米。",
            "d3": "示例市全年接待游客800万人次。"}
    (folder / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": k, "title": "", "text": v}, ensure_ascii=False) + "\n" for k, v in docs.items()), "utf-8")
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "x1", "text": "水库库容是多少"}, ensure_ascii=False) + "\n", "utf-8")
    (folder / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nx1\td2\t1\n", "utf-8")
    data = load_dataset(folder)
    with open_pipeline(data, settings) as (pipe, doc_keys):
        assert doc_keys is not None and set(doc_keys.values()) == set(docs)
        assert pipe.settings.corpus_dir != settings.corpus_dir and len(pipe.store.documents) == 3
        assert pipe.settings.query_cache_size == 0  # latency is measured without warmed query embeddings
        run = EvalRunner(pipe, k=3, doc_keys=doc_keys, progress=False).run(data, "bm25")
    (result,) = run.results
    assert result.ranked[0] == "d2" and result.answer is None  # retrieval only
    assert run.summary["retrieval"]["mrr@3"] == 1.0


def test_cli_eval_on_squad_and_errors(tmp_path):
    from typer.testing import CliRunner

    from rag.cli.main import app

    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(SQUAD, ensure_ascii=False), "utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["eval", "--dataset", str(path), "--retriever", "bm25", "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert "Recall@10" in res.output and "bm25" in res.output
    saved = json.loads((tmp_path / "rep" / "report.json").read_text("utf-8"))
    summary = saved["runs"]["bm25"]["summary"]
    assert saved["format"] == "squad" and summary["n"] == 4 and summary["n_retrieval"] == 3
    assert summary["retrieval"]["recall@10"] == 1.0  # three tiny documents: every evidence is in the top 10
    assert summary["quote_violations"] == 0

    assert saved["runs"]["langchain-style"]["kind"] == "baseline"  # the anchor row is always there
    assert summary["mrc"]["n"] == 4 and 0 <= summary["mrc"]["char_f1"] <= 1
    assert {"run.bm25.trec", "qrels", "qrels.langchain-style", "predictions.jsonl"} <= {p.name for p in (tmp_path / "rep").iterdir()}

    res = runner.invoke(app, ["eval", "--dataset", str(tmp_path / "nope.jsonl")])
    assert res.exit_code == 1 and "Dataset not found" in res.output and "找不到" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["eval", "--dataset", str(path), "--retriever", "tfidf"])
    assert res.exit_code == 2 and "Unknown retriever" in res.output


# --- real-report sets (rag.evaluation.real) --------------------------------------------------
def _made_up_collection(tmp_path: Path) -> tuple[Path, str]:
    """A made-up two-report collection in the real layout; the evidence sits in bold."""
    root = tmp_path / "reports"
    (root / "市" / "甲市").mkdir(parents=True)
    text = "---\ntitle: 政府工作报告\n---\n\n**一、2024年工作回顾**\n\n全市**地区生产总值**增长6.1%，粮食产量9.9亿斤。\n"
    (root / "市" / "甲市" / "2025.md").write_text(text, "utf-8")
    (root / "市" / "乙市").mkdir(parents=True)
    (root / "市" / "乙市" / "2025.md").write_text("二、2025年工作安排\n\n城镇新增就业5万人。\n", "utf-8")
    return root, text


def test_real_set_recovers_evidence_from_offsets_without_bold(tmp_path):
    from rag.evaluation.real import link_name, load_real

    root, text = _made_up_collection(tmp_path)
    start = text.index("全市")
    rows = [{"id": "a1", "question": "甲市2024年地区生产总值增长多少？", "answers": ["6.1%"], "type": "number",
             "answerable": True, "doc": "市/甲市/2025.md", "evidence_offsets": [[start, text.index("，粮食")]]},
            {"id": "a2", "question": "乙市城镇新增就业目标？", "answers": ["5万人"], "evidence": "城镇新增就业5万人",
             "type": "target", "answerable": True, "doc": "市/乙市/2025.md"}]
    qs = tmp_path / "qs"
    qs.mkdir()
    (qs / "one.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    data = load_real(qs, root)
    assert [i.evidence for i in data.items] == [["全市地区生产总值增长6.1%"], ["城镇新增就业5万人"]]
    assert sorted(data.reports) == ["市/乙市/2025.md", "市/甲市/2025.md"]
    assert link_name("市/甲市/2025.md") != link_name("市/乙市/2025.md")


@pytest.mark.parametrize("row, message", [
    ({"doc": "市/丙市/2025.md"}, "丙市"),
    ({"doc": "市/甲市/2025.md", "evidence_offsets": [[5, 99999]]}, "evidence_offsets"),
    ({}, "doc"),
])
def test_real_set_errors_name_the_line(tmp_path, row, message):
    from rag.evaluation.real import load_real

    root, _ = _made_up_collection(tmp_path)
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps({"id": "b", "question": "问？", "answers": ["1"], **row}, ensure_ascii=False), "utf-8")
    with pytest.raises(DatasetError, match=message) as err:
        load_real(f, root)
    assert "bad.jsonl:1" in str(err.value)


def test_real_corpus_links_the_reports_and_never_copies(tmp_path, settings):
    from rag.evaluation.real import load_real, real_settings

    root, _ = _made_up_collection(tmp_path)
    f = tmp_path / "q.jsonl"
    f.write_text(json.dumps({"id": "c", "question": "问？", "answers": ["5万人"], "doc": "市/乙市/2025.md"},
                            ensure_ascii=False), "utf-8")
    data = load_real(f, root)
    s = real_settings(settings.model_copy(update={"index_dir": tmp_path / "index"}), data.reports)
    links = list(s.corpus_dir.iterdir())
    assert [p.is_symlink() for p in links] == [True]
    assert links[0].resolve() == (root / "市" / "乙市" / "2025.md").resolve()


def test_shared_real_dev_loads_with_every_evidence_in_its_report(real_dev, gov_reports):
    from rag.evaluation.real import load_real
    from rag.ingest.corpus import clean_text

    data = load_real(real_dev, gov_reports)
    assert len(data.items) >= 300 and len(data.reports) >= 10
    texts = {d: clean_text(p.read_text("utf-8")).replace("**", "") for d, p in data.reports.items()}
    missing = [i.id for i in data.items for e in i.evidence if e not in texts[i.docs[0]]]
    assert not missing


def test_cli_eval_real_reports_every_figure_per_report(tmp_path):
    """``rag eval --real`` on a made-up collection: shipped and both leave-one-report-out runs,
    per report and per type, in real.md and real.json; a missing set is a clear error."""
    from typer.testing import CliRunner

    from rag.cli.main import app

    root, text = _made_up_collection(tmp_path)
    rows = [{"id": "r1", "question": "甲市2024年地区生产总值增长多少？", "answers": ["6.1%"], "type": "number",
             "doc": "市/甲市/2025.md", "evidence_offsets": [[text.index("全市"), text.index("，粮食")]]},
            {"id": "r2", "question": "乙市今年城镇新增就业目标是多少？", "answers": ["5万人"], "type": "target",
             "doc": "市/乙市/2025.md", "evidence": "城镇新增就业5万人"},
            {"id": "r3", "question": "乙市今年新建多少所学校？", "answers": [], "type": "unanswerable",
             "answerable": False, "doc": "市/乙市/2025.md"}]
    qs = tmp_path / "real.jsonl"
    qs.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    runner = CliRunner()
    res = runner.invoke(app, ["--index-dir", str(tmp_path / "index"), "eval", "--real", str(qs),
                              "--reports-root", str(root), "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    saved = json.loads((tmp_path / "rep" / "real.json").read_text("utf-8"))
    assert saved["shipped"]["pooled"]["n"] == 3 and len(saved["shipped"]["by_report"]) == 2
    assert {r["report"] for r in saved["loro_alone"]["reports"]} == set(saved["shipped"]["by_report"])
    assert saved["shipped"]["pooled"]["quote_violations"] == 0
    md = (tmp_path / "rep" / "real.md").read_text("utf-8")
    assert "leave-one-report-out, alone, learned" in md and "english_accuracy" in md and "per question type" in md
    res = runner.invoke(app, ["eval", "--real", str(tmp_path / "none"), "--reports-root", str(root)])
    assert res.exit_code == 1 and "No real question set" in res.output and "Traceback" not in res.output


def test_generated_questions_come_from_the_reports_own_figures(tmp_path):
    """A made-up report: each once-stated «metric + figure» of the review part becomes a question
    about the year reviewed, answered by its figure found in its clause; unanswerable ones ask of
    metrics the report never names or of a year after its plan year."""
    from rag.evaluation.generate import generate
    from rag.ingest.corpus import CorpusLoader

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "r.txt").write_text(
        "甲市2025年政府工作报告\n\n一、2024年工作回顾\n\n全市地区生产总值增长6.1%，粮食总产量达到9.9亿斤，"
        "新建城市公园12个。\n\n二、2025年工作安排\n\n城镇新增就业5万人以上，新建保障性住房3000套。\n", "utf-8")
    (tmp_path / "c" / "s.txt").write_text(
        "乙市2025年政府工作报告\n\n一、2024年工作回顾\n\n完成造林绿化面积8万亩，新增充电桩1200个。\n", "utf-8")
    docs = CorpusLoader(tmp_path / "c").load()
    data = generate(docs, per_report=10, seed=1)
    answerable = [i for i in data.items if i.answerable]
    assert answerable and all(i.answers[0] in i.evidence[0] for i in answerable)
    text = {d.id: d.text for d in docs}
    assert all(i.evidence[0] in text[i.docs[0]] for i in answerable)
    review = [i for i in answerable if "6.1%" in i.answers]
    assert not review or review[0].question.startswith(("2024年", "去年"))
    for i in data.items:
        if not i.answerable:
            assert i.type == "generated_unanswerable" and not i.answers
