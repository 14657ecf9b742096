"""Evaluators' files and other systems: the TREC run and qrels scored by an outside library
(pytrec_eval, trec_eval's own code) give the report's figures; a fake HTTP system on a loopback
server and the built-in langchain-style baseline are scored side by side with the product."""

from __future__ import annotations

import json
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rag.evaluation import metrics as m
from rag.evaluation.baseline import RecursiveCharacterSplitter
from rag.evaluation.runner import QuestionResult, summarize
from rag.evaluation.systems import RefusalPhrases, SystemSpecError, json_path, parse_system, to_answer


@contextmanager
def loopback(respond: Callable[[str, dict], tuple[int, Any]]) -> Iterator[str]:
    """A JSON server on 127.0.0.1 (a free port): ``respond(path, body)`` gives the status and the
    JSON to send. Yields the base URL; stops on exit."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            status, payload = respond(self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            if status != 200:
                self.send_error(status)
                return
            self.send_response(200)  # HTTP/1.0: the body ends when the connection closes
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(payload, ensure_ascii=False).encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# --- pure parts ------------------------------------------------------------------------------
def test_mrc_normalisation_exact_match_and_char_f1():
    assert m.mrc_normalize("「Ｈｅｌｌｏ， 世界」增长３.５％[1]") == "hello世界增长3.5%"
    assert m.mrc_exact("１２０万吨。", ["120万吨"]) == 1.0 and m.mrc_exact("约120万吨", ["120万吨"]) == 0.0
    assert m.mrc_char_f1("120万吨左右", ["120万吨"]) == pytest.approx(2 * (5 / 7) / (5 / 7 + 1))
    assert m.mrc_char_f1("三座", ["五座", "三座"]) == 1.0  # the best gold counts
    assert m.mrc_char_f1("", ["三座"]) == 0.0 and m.mrc_char_f1("。", ["三座"]) == 0.0


@pytest.mark.parametrize(("text", "size", "overlap", "chunks"), [
    ("ab cd\n\nef gh ij", 10, 0, ["ab cd", "ef gh ij"]),  # paragraphs first, separators kept in front
    ("aa bb cc dd ee ff", 10, 4, ["aa bb cc", "cc dd ee", "ee ff"]),  # words, with overlap
    ("一二三四五六七八九十甲乙", 5, 0, ["一二三四五", "六七八九十", "甲乙"]),  # no separator: characters
])
def test_recursive_splitter_follows_langchain(text, size, overlap, chunks):
    spans = RecursiveCharacterSplitter(size, overlap).split(text)
    assert [text[a:b] for a, b in spans] == chunks


def test_recursive_splitter_on_a_report(seed_docs):
    doc = seed_docs[0]
    spans = RecursiveCharacterSplitter(500, 50).split(doc.text)
    assert all(0 < b - a <= 500 for a, b in spans)
    covered = set().union(*(range(a, b) for a, b in spans))
    assert all(i in covered for i, c in enumerate(doc.text) if not c.isspace())  # nothing dropped


def test_refusals_answers_and_json_paths(tmp_path):
    refusals = RefusalPhrases.load()
    assert refusals.refused("抱歉，报告中没有相关内容。") and refusals.refused("I don't know.") and refusals.refused("  ")
    assert not refusals.refused("增长7%")
    own = tmp_path / "phrases.txt"
    own.write_text("# mine\n查无此项\n", "utf-8")
    assert RefusalPhrases.load(own).refused("查无此项") and not RefusalPhrases.load(own).refused("不知道")
    assert to_answer({"answer": "7%", "found": False}, refusals).found is False  # the system's own flag wins
    assert to_answer("不知道", refusals).found is False and to_answer(3, refusals).error
    cited = to_answer({"answer": "x", "citations": [{"doc": "d", "start": 1, "end": 3, "quote": "ab"}, {"doc": "d"}]},
                      refusals).citations
    assert [(c.doc, c.start, c.end) for c in cited] == [("d", 1, 3)]  # only checkable citations are kept
    data = {"choices": [{"message": {"content": "ok"}}]}
    assert json_path(data, "choices[0].message.content") == json_path(data, "$.choices.0.message.content") == "ok"


def test_system_specs_are_checked(tmp_path, monkeypatch):
    refusals = RefusalPhrases.load()
    s = parse_system("q=openai:http://127.0.0.1:1/v1#qwen2.5:7b?context=none&timeout=5", refusals)
    assert (s.url, s.model, s.wants_context, s.timeout_s) == ("http://127.0.0.1:1/v1/chat/completions", "qwen2.5:7b", False, 5.0)
    assert parse_system("q=openai:http://h/v1#m", refusals).wants_context  # the product's passages by default
    (tmp_path / "mine.py").write_text("def bare(q):\n    return q\n\ndef ctx(q, context=None):\n    return str(context)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert not parse_system("a=py:mine:bare", refusals).wants_context
    assert parse_system("b=py:mine:ctx", refusals).wants_context
    for bad, why in [("noequals", "NAME=SPEC"), ("x=ftp:foo", "openai:, http: or py:"),
                     ("x=openai:127.0.0.1#m", "base_url"), ("x=openai:http://h#m?temp=1", "unknown option"),
                     ("x=openai:http://h#m?context=all", "retrieved or none"), ("x=py:mine:nope", "Cannot import"),
                     ("x=py:mine:bare?context=retrieved", "no context parameter"),
                     ("x=http:" + str(tmp_path / "missing.json"), "Cannot read the template"),
                     ("x=openai:http://h#m?timeout=-1", "positive")]:
        with pytest.raises(SystemSpecError, match=why):
            parse_system(bad, refusals)


def test_openai_system_gets_the_passages_or_the_bare_question():
    sent: list[dict] = []

    def respond(path: str, body: dict) -> tuple[int, Any]:
        sent.append(body | {"path": path})
        content = "报告中没有相关内容。" if "水库" in body["messages"][-1]["content"] else "增长7%左右"
        return 200, {"choices": [{"message": {"role": "assistant", "content": content}}]}

    refusals = RefusalPhrases.load()
    with loopback(respond) as url:
        with_context = parse_system(f"a=openai:{url}/v1#tiny-model", refusals)
        bare = parse_system(f"b=openai:{url}/v1#tiny-model?context=none", refusals)
        got = with_context.run("GDP目标？", ["主要预期目标：地区生产总值增长7%左右", "其他"])
        refused = bare.run("有几座水库？", None)
    assert (got.answer, got.found, got.error) == ("增长7%左右", True, None) and "total" in got.timings_ms
    assert (refused.found, refused.error) == (False, None)
    first, second = sent
    assert first["path"] == "/v1/chat/completions" and first["model"] == "tiny-model" and first["temperature"] == 0
    assert "[1] 主要预期目标：地区生产总值增长7%左右" in first["messages"][1]["content"]
    assert "报告中没有相关内容" in first["messages"][0]["content"]  # the canonical refusal is asked for
    assert second["messages"][1]["content"] == "有几座水库？"
    gone = parse_system(f"c=openai:{url}/v1#tiny-model?timeout=0.5", refusals).run("GDP目标？", ["x"])
    assert gone.error and not gone.answer  # the server is down: an error, scored as wrong


def test_python_system_errors_and_hangs_become_wrong_answers(tmp_path, monkeypatch):
    (tmp_path / "flaky.py").write_text(
        "import time\n"
        "def answer(q):\n"
        "    if q == 'hang':\n        time.sleep(5)\n"
        "    if q == 'boom':\n        raise RuntimeError('kaput')\n"
        "    return {'answer': 'ok ' + q, 'found': True}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    system = parse_system("f=py:flaky:answer?timeout=0.3", RefusalPhrases.load())
    assert system.run("q", None).answer == "ok q"
    assert system.run("hang", None).error == "timeout"
    assert system.run("boom", None).error == "RuntimeError: kaput"


def test_breakdown_by_report_counts_cross_report_questions_under_each():
    def result(qid: str, docs: list[str], correct: bool) -> QuestionResult:
        return QuestionResult(qid, "?", "figure", True, [], {"recall@5": float(correct)}, answer="a", found=True,
                              correct=correct, docs=docs)

    s = summarize([result("1", ["a"], True), result("2", ["a", "b"], False), result("3", ["b"], True),
                   result("4", [], True)], bootstrap_samples=10)
    assert s["by_report"] == {"a": {"n": 2, "accuracy": 0.5, "recall@5": 0.5}, "b": {"n": 2, "accuracy": 0.5, "recall@5": 0.5},
                              "(none)": {"n": 1, "accuracy": 1.0, "recall@5": 1.0}}
    assert "by_report" not in summarize([result("4", [], True)], bootstrap_samples=10)


# --- with the shipped index ------------------------------------------------------------------
@pytest.fixture(scope="module")
def side_by_side(pipeline, dev_sample, tmp_path_factory):
    """The product (bm25, hybrid), the baseline and a fake HTTP system on one sample, written."""
    from rag.evaluation.baseline import LangchainStyleBaseline
    from rag.evaluation.report import write_report
    from rag.evaluation.runner import EvalRunner

    items = {i.question: i for i in dev_sample.items}
    slow, broken = dev_sample.items[0].question, dev_sample.items[1].question
    asked: list[dict] = []

    def respond(path: str, body: dict) -> tuple[int, Any]:
        asked.append(body)
        item = items[body["q"]]
        if body["q"] == broken:
            return 500, None
        if body["q"] == slow:
            time.sleep(1.5)  # past the template's timeout
        answer = "、".join(item.all_of or item.answers) if item.answerable else "报告中没有相关内容"
        return 200, {"data": {"text": f"答：{answer}"}}

    out = tmp_path_factory.mktemp("side")
    template = out / "fake.json"
    with loopback(respond) as url:
        template.write_text(json.dumps({"url": f"{url}/qa", "body": {"q": "{question}", "passages": "{context}"},
                                        "answer": "data.text", "timeout_s": 0.5}), "utf-8")
        fake = parse_system(f"fake=http:{template}", RefusalPhrases.load())
        runner = EvalRunner(pipeline, k=10, progress=False)
        baseline = LangchainStyleBaseline(pipeline.store.documents, pipeline.embedder)
        report = runner.run_all(dev_sample, ["bm25", "hybrid"], [baseline, fake])
    files = write_report(report, out / "report")
    return report, out / "report", files, asked, (slow, broken)


def test_outside_library_scores_the_written_run_and_qrels(side_by_side, pipeline, dev_sample):
    """pytrec_eval (trec_eval's C code) reads the files as they are and gets the report's figures."""
    pytrec_eval = pytest.importorskip("pytrec_eval")
    from rag.evaluation.runner import EvalRunner

    report, out, _, _, _ = side_by_side
    groups = {i.id: EvalRunner(pipeline, progress=False).judgements(i)[0] for i in dev_sample.items}
    measures = {"recip_rank", "ndcg_cut.10", "success.1", "recall.5"}
    for name, qrels_file in [("bm25", "qrels"), ("hybrid", "qrels"), ("langchain-style", "qrels.langchain-style")]:
        with open(out / qrels_file) as fq, open(out / f"run.{name}.trec") as fr:
            qrels, run = pytrec_eval.parse_qrel(fq), pytrec_eval.parse_run(fr)
        scores = pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(run)
        ours = {r.id: r.retrieval for r in report.runs[name].results if r.retrieval}
        assert scores.keys() == ours.keys() and ours
        for qid, s in scores.items():
            assert s["recip_rank"] == pytest.approx(ours[qid]["mrr@10"])
            assert s["ndcg_cut_10"] == pytest.approx(ours[qid]["ndcg@10"])
            assert s["success_1"] == pytest.approx(ours[qid]["hit@1"])
            if name != "langchain-style" and all(len(g) == 1 for g in groups[qid]):
                # the report counts recall per evidence; with one relevant unit each, trec_eval agrees
                assert s["recall_5"] == pytest.approx(ours[qid]["recall@5"])
        summary = report.runs[name].summary["retrieval"]
        assert statistics.mean(s["recip_rank"] for s in scores.values()) == pytest.approx(summary["mrr@10"])
        assert statistics.mean(s["ndcg_cut_10"] for s in scores.values()) == pytest.approx(summary["ndcg@10"])
        assert statistics.mean(s["success_1"] for s in scores.values()) == pytest.approx(summary["hit@1"])


def test_predictions_file(side_by_side, dev_sample):
    report, out, _, _, _ = side_by_side
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text("utf-8").splitlines()]
    assert {r["system"] for r in rows} == {"bm25", "hybrid", "langchain-style", "fake"}
    assert len(rows) == 4 * len(dev_sample.items)
    assert {"id", "answer", "found", "citations", "timings_ms", "correct", "error"} <= rows[0].keys()
    hybrid = {r["id"]: r for r in rows if r["system"] == "hybrid"}
    for r in report.runs["hybrid"].results:
        assert hybrid[r.id]["answer"] == r.answer and len(hybrid[r.id]["citations"]) == r.citations


def test_fake_http_system_side_by_side(side_by_side, dev_sample):
    from PIL import Image

    report, out, files, asked, (slow, broken) = side_by_side
    fake = report.runs["fake"]
    assert fake.kind == "system" and fake.spec.startswith("http:")
    assert len(asked) == len(dev_sample.items) and all(body["passages"].startswith("[1] ") for body in asked)
    by_q = {r.question: r for r in fake.results}
    assert by_q[slow].error == "timeout" and by_q[broken].error == "HTTP 500"
    assert by_q[slow].correct is False and by_q[broken].correct is False  # failures count as wrong
    for r in fake.results:
        if r.question not in (slow, broken):
            assert r.error is None and r.correct, r.id  # gold strings, and refusals of unanswerable ones
            assert r.found == r.answerable
    assert fake.summary["errors"] == 2 and fake.summary["retrieval"] == {}
    assert fake.summary["accuracy"] == pytest.approx((len(dev_sample.items) - 2) / len(dev_sample.items))
    # the rows are in report.md, report.json and the charts
    md = (out / "report.md").read_text("utf-8")
    header = next(line for line in md.splitlines() if line.startswith("| metric"))
    assert all(name in header for name in ("bm25", "hybrid", "langchain-style", "fake"))
    assert "errors (timeouts, failures)" in md and "`fake` (system): http:" in md
    saved = json.loads((out / "report.json").read_text("utf-8"))
    assert saved["runs"]["fake"]["summary"]["errors"] == 2
    for chart in ("accuracy_by_type.png", "answers.png", "latency.png"):
        assert "fake" in saved["charts"][chart], chart
        assert "fake" in Image.open(out / chart).text["Description"], chart
    assert "fake" not in saved["charts"]["retrievers.png"]  # it ranks nothing
    assert not (out / "run.fake.trec").exists()


def test_baseline_row_beside_the_product(side_by_side):
    report, out, _, _, _ = side_by_side
    base, product = report.runs["langchain-style"], report.runs["hybrid"]
    assert base.kind == "baseline" and "500-character" in base.spec
    assert base.summary["refusal"]["false_refusal_rate"] == 0.0  # the chunk is always the answer
    assert all(len(r.answer) <= 500 and r.found for r in base.results)
    assert 0 <= base.summary["retrieval"]["hit@1"] <= 1 and product.summary["retrieval"]["hit@1"] is not None
    md = (out / "report.md").read_text("utf-8")
    hit = next(line for line in md.splitlines() if line.startswith("| top-1 evidence hit"))
    assert hit.count("|") == 6  # bm25, hybrid, langchain-style and fake (no ranking: –)
    assert "## Misses (fake)" not in md  # misses are the product's, not the last column's
    assert ("## Misses (hybrid)" in md) == any(r.correct is False for r in product.results)


def test_cli_rejects_bad_system_specs_before_loading_anything(tmp_path):
    from typer.testing import CliRunner

    from rag.cli.main import app

    runner = CliRunner()
    res = runner.invoke(app, ["eval", "--dataset", "eval/dev.jsonl", "--system", "x=ftp:nowhere"])
    assert res.exit_code == 2 and "Unknown system" in res.output and "未知" in res.output
    res = runner.invoke(app, ["eval", "--dataset", "eval/dev.jsonl", "--system", f"hybrid=http:{tmp_path}/t.json"])
    assert res.exit_code == 2 and ("Cannot read" in res.output or "reserved" in res.output)
    (tmp_path / "t.json").write_text('{"url": "http://127.0.0.1:9/x", "answer": "a"}', "utf-8")
    res = runner.invoke(app, ["eval", "--dataset", "eval/dev.jsonl", "--system", f"hybrid=http:{tmp_path}/t.json"])
    assert res.exit_code == 2 and "reserved" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["eval", "--dataset", "eval/dev.jsonl", "--corpus", str(tmp_path / "none")])
    assert res.exit_code == 2 and "Corpus folder not found" in res.output


def test_eval_corpus_gets_its_own_index(tmp_path, monkeypatch):
    """``rag eval --corpus DIR`` never rebuilds the served index over another corpus."""
    from typer.testing import CliRunner

    from rag.cli.main import app

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("标题：示例市政府工作报告\n一、过去一年\n示例市粮食产量达到120万吨。\n二、今年目标\n新建三座水库。\n", "utf-8")
    data = tmp_path / "q.jsonl"
    data.write_text(json.dumps({"id": "x1", "question": "示例市粮食产量是多少？", "answers": ["120万吨"],
                                "evidence": "示例市粮食产量达到120万吨", "doc": "a", "type": "figure"},
                               ensure_ascii=False) + "\n", "utf-8")
    served = tmp_path / "served-index"
    monkeypatch.setenv("RAG_INDEX_DIR", str(served))  # its CURRENT build must stay untouched
    res = CliRunner().invoke(app, ["eval", "--dataset", str(data), "--corpus", str(corpus), "--retriever", "bm25",
                                   "--no-baseline", "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert not (served / "CURRENT").exists()
    saved = json.loads((tmp_path / "rep" / "report.json").read_text("utf-8"))
    assert set(saved["runs"]) == {"bm25"}
    assert saved["config"]["settings"]["index_dir"].startswith(str(served / "eval" / "corpus-"))
    assert saved["runs"]["bm25"]["summary"]["by_report"]["a"]["accuracy"] == 1.0
    printed = res.stdout.splitlines()  # the terminal shows accuracy per question type and per report
    assert any(line.split()[:1] == ["type"] for line in printed) and any(line.split()[:1] == ["report"] for line in printed)
    assert any(line.split()[:3] == ["a", "1", "1.000"] for line in printed)


def test_cli_scores_a_python_system_on_squad_with_mrc_metrics(tmp_path, monkeypatch):
    """The whole command: a reading-comprehension set, the product, the baseline and a callable."""
    from typer.testing import CliRunner

    from rag.cli.main import app

    squad = {"data": [{"title": "示例", "paragraphs": [
        {"context": "示例市2022年粮食产量达到120万吨。示例市新建三座水库。", "qas": [
            {"id": "s1", "question": "示例市粮食产量是多少？", "answers": [{"text": "120万吨", "answer_start": 13}]},
            {"id": "s2", "question": "示例市市长是谁？", "answers": [], "is_impossible": True}]}]}]}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(squad, ensure_ascii=False), "utf-8")
    (tmp_path / "oracle.py").write_text(
        "def answer(question, context=None):\n"
        "    assert context, 'the product passages are passed'\n"
        "    return '120万吨' if '粮食' in question else '不知道'\n", "utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    res = CliRunner().invoke(app, ["eval", "--dataset", str(path), "--retriever", "bm25", "--out", str(tmp_path / "rep"),
                                   "--system", "oracle=py:oracle:answer"])
    assert res.exit_code == 0, res.output
    header = next(line for line in res.output.splitlines() if "metric " in line)  # stderr's progress may precede it
    assert header[header.index("metric"):].split() == ["metric", "bm25", "langchain-style", "oracle"]
    runs = json.loads((tmp_path / "rep" / "report.json").read_text("utf-8"))["runs"]
    assert list(runs) == ["bm25", "langchain-style", "oracle"]
    oracle = runs["oracle"]["summary"]
    assert oracle["accuracy"] == 1.0 and oracle["mrc"] == {"n": 2, "exact_match": 1.0, "char_f1": 1.0}
    assert runs["bm25"]["summary"]["mrc"]["n"] == 2
