"""The commitments tracker at the edges: ``GET /api/commitments`` (filters, CSV download) and
the chat route that answers "what was promised about X" with cited records."""

from __future__ import annotations

import csv
import io

import pytest

from rag.answer.composers.commitments import CommitmentComposer
from rag.answer.query import QueryAnalyzer
from rag.commitments.extract import CommitmentExtractor
from rag.commitments.render import csv_headers

EMPLOYMENT_Q = "今年在就业方面承诺了什么？"


def _get(client, **params):
    r = client.get("/api/commitments", params=params)
    assert r.status_code == 200, r.text
    return r.json()


# --------------------------------------------------------------------------- API


def test_lists_every_record_located_verbatim(client, pipeline, docs):
    rows = _get(client)
    assert len(rows) == len(pipeline.commitments.items) > 0
    assert {r["kind"] for r in rows} == {"target", "achievement"}
    for r in rows:
        assert docs[r["doc"]].text[r["start"] : r["end"]] == r["clause"]
        assert r["section_path"] == docs[r["doc"]].section(r["section_id"]).path_str
        if r["paired"]:
            p = r["paired"]
            assert p["id"] == r["paired_with"] and p["kind"] != r["kind"]
            assert docs[p["doc"]].text[p["start"] : p["end"]] == p["clause"]


def test_target_carries_its_five_year_record(client):
    rows = _get(client, q="城镇新增就业", kind="target")
    row = next(r for r in rows if r["clause"] == "城镇新增就业6万人以上")
    assert row["figure"] == "6万人以上"
    assert (row["paired_value"], row["paired_unit"]) == ("33.16", "万人")
    assert row["paired"]["kind"] == "achievement"
    assert row["paired"]["horizon"] == "过去五年"
    assert row["paired"]["figure"] == "33.16万人"


def test_filters(client):
    everything = _get(client)
    targets = _get(client, kind="target")
    achievements = _get(client, kind="achievement")
    assert targets and achievements and len(targets) + len(achievements) == len(everything)
    assert all(r["kind"] == "target" for r in targets)

    jobs = _get(client, q="就业")
    assert 0 < len(jobs) < len(everything)
    assert all("就业" in r["metric"] + r["clause"] + r["section_path"] for r in jobs)

    sec = _get(client, section="2.2")
    assert sec and all(r["section_id"] == "2.2" or r["section_id"].startswith("2.2.") for r in sec)
    assert not any(r["section_id"].startswith("2.2") for r in _get(client, section="2.1"))


def test_unknown_kind_is_refused_in_both_languages(client):
    r = client.get("/api/commitments", params={"kind": "promise"})
    assert r.status_code == 422
    assert "未知类型" in r.text and "Unknown kind" in r.text  # whatever the app's error envelope
    assert "promise" not in r.text  # the submitted value is never echoed


def test_csv_download_has_bom_and_same_rows(client):
    r = client.get("/api/commitments", params={"q": "就业", "format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert list(rows[0].keys()) == csv_headers("zh") and {"类型", "指标", "数值", "原文"} <= set(rows[0])
    assert [x["编号"] for x in rows] == [x["id"] for x in _get(client, q="就业")]
    assert {x["类型"] for x in rows} <= {"目标", "成绩"}


def test_csv_headers_in_english_on_request_json_keeps_its_keys(client):
    r = client.get("/api/commitments", params={"q": "就业", "format": "csv", "lang": "en"})
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert list(rows[0].keys()) == csv_headers("en") and {"Kind", "Metric", "Clause"} <= set(rows[0])
    assert {"id", "kind", "metric", "paired_with"} <= set(_get(client, q="就业")[0])
    assert client.get("/api/commitments", params={"format": "csv", "lang": "fr"}).status_code == 422


def test_extracted_once_per_pipeline_not_per_request(client, monkeypatch):
    def boom(self, documents):
        raise AssertionError("extracted again")

    monkeypatch.setattr(CommitmentExtractor, "run", boom)
    assert _get(client, kind="target")


# --------------------------------------------------------------------------- chat


def _verbatim(answer, docs):
    for c in answer.citations:
        doc = docs[c.doc]
        assert doc.text[c.start : c.end] == c.quote
        assert doc.section(c.section_id).path_str == c.section_path
        assert f"[{c.n}]" in answer.answer


def test_chat_lists_matching_commitments_with_citations(pipeline, docs):
    answer = pipeline.ask(EMPLOYMENT_Q)
    assert answer.found and answer.composer == "commitments"
    quotes = [c.quote for c in answer.citations]
    assert "城镇新增就业6万人以上" in quotes
    assert 1 <= len(quotes) <= 5
    assert all("就业" in q for q in quotes)
    assert len(set(quotes)) == len(quotes)  # the main-targets list and the plan section repeat it: once
    _verbatim(answer, docs)


def test_follow_up_keeps_its_own_topic_or_borrows_one(pipeline, docs):
    other = pipeline.ask("那养老呢？", history=[EMPLOYMENT_Q])
    assert other.composer == "commitments" and other.citations
    assert all("养老" in c.quote and "就业" not in c.quote for c in other.citations)
    past = pipeline.ask("那过去五年呢？", history=[EMPLOYMENT_Q])
    assert past.composer == "commitments" and past.citations
    kinds = {(c.doc, c.start): c.kind for c in pipeline.commitments.items}
    assert all("就业" in c.quote and kinds[(c.doc, c.start)] == "achievement" for c in past.citations)
    _verbatim(other, docs)
    _verbatim(past, docs)


def test_chat_route_through_the_api(client):
    r = client.post("/api/ask", json={"question": EMPLOYMENT_Q})
    assert r.status_code == 200
    body = r.json()
    assert body["composer"] == "commitments"
    assert any(c["quote"] == "城镇新增就业6万人以上" for c in body["citations"])


@pytest.mark.parametrize("question", ["今年GDP要涨多少？", "过去五年城镇新增就业多少人？"])
def test_figure_questions_are_not_routed_to_commitments(pipeline, question):
    assert pipeline.ask(question).composer != "commitments"


def test_no_matching_commitment_falls_through(pipeline):
    question = "今年在载人航天方面有哪些承诺？"
    assert pipeline.commitments.run(question, pipeline.analyzer.analyze(question)) is None
    assert pipeline.ask(question).composer != "commitments"


def test_other_report_other_year(synthetic_docs):
    """Nothing is tied to the seed report: the synthetic one plans for 2024 with other headings."""
    answerer = CommitmentComposer(CommitmentExtractor().run(synthetic_docs))
    analyzer = QueryAnalyzer()
    question = "明年就业方面有哪些目标？"
    answer = answerer.run(question, analyzer.analyze(question))
    assert answer is not None
    assert [c.quote for c in answer.citations] == ["城镇新增就业5万人以上"]
    assert answer.answer.startswith("2024年")
    assert "5.2万人" in answer.answer  # the paired record of the review part
    _verbatim(answer, {d.id: d for d in synthetic_docs})


# --------------------------------------------------------------------------- UI tab


def test_tab_builds_inside_the_page_blocks(pipeline, tmp_path):
    import gradio as gr

    from ui.commitments_tab import build_commitments_tab

    with gr.Blocks():
        with gr.Tabs():
            tab = build_commitments_tab(lambda: pipeline, download_dir=tmp_path).tab
    assert tab.label == "承诺清单"


def test_tab_table_filters_and_shows_the_paired_record(pipeline):
    from ui.commitments_tab import COLUMNS, filtered, table_html, table_rows

    rows = table_rows(pipeline, filtered(pipeline, "就业", "目标", ""))
    assert rows and all(r[COLUMNS.index("类型")] == "目标" for r in rows)
    row = next(r for r in rows if r[COLUMNS.index("原文")] == "城镇新增就业6万人以上")
    assert row[COLUMNS.index("对照（五年 / 今年）")] == "过去五年：33.16万人"
    assert len(filtered(pipeline, "", "全部", "")) == len(pipeline.commitments.items)
    doc = pipeline.store.documents[0]
    section = doc.section("2.2.8")
    assert all(r[COLUMNS.index("章节")].startswith(section.path_str)
               for r in table_rows(pipeline, filtered(pipeline, "", "全部", f"{doc.id}:2.2.8")))
    # no internal id reaches the page; English headers and kinds on the English switch
    html = table_html(rows, "zh")
    assert not any(c.id in html for c in pipeline.commitments.items) and "<th scope=\"col\"" in html
    english = table_html(table_rows(pipeline, filtered(pipeline, "就业", "目标", ""), "en"), "en")
    assert "Metric" in english and ">Target<" in english and "指标" not in english


def test_tab_download_is_the_filtered_csv_with_bom(pipeline, tmp_path):
    from ui.commitments_tab import csv_file, filtered

    items = filtered(pipeline, "就业", "全部", "")
    path = csv_file(items, tmp_path)
    data = open(path, "rb").read()
    assert data.startswith(b"\xef\xbb\xbf") and path.endswith(".csv")
    assert len(list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))) == len(items)
    assert csv_file(items, tmp_path) == path and csv_file(filtered(pipeline, "", "全部", ""), tmp_path) != path


def test_tab_row_opens_its_section_with_the_clause_marked(pipeline):
    from ui.commitments_tab import section_choices, source_of

    c = next(c for c in pipeline.commitments.items if c.clause == "城镇新增就业6万人以上")
    html = source_of(pipeline, c.id, 1, "zh")
    assert ">城镇新增就业6万人以上</mark>" in html
    assert "<mark" not in source_of(pipeline, "<script>", 1, "zh") and "<script>" not in source_of(pipeline, "<script>", 1, "zh")
    values = {v for _, v in section_choices(pipeline)}
    used = {f"{c.doc}:{c.section_id}" for c in pipeline.commitments.items}
    assert used <= values  # every section holding a record, and only those and their ancestors
    assert all(any(u == v or u.startswith(v + ".") for u in used) for v in values - {""})


def test_csv_begins_with_the_tables_columns_cell_for_cell(pipeline):
    """Issue 25 #17: the CSV's first columns are the table's, same names and the same text in every
    cell (数值 is the figure as shown in both); what follows has names of its own."""
    import csv as csv_module
    import io

    from rag.commitments.render import to_csv_bytes
    from ui.commitments_tab import COLUMNS, filtered, table_rows

    items = filtered(pipeline, "", "全部", "")
    by_id = {c.id: c for c in pipeline.commitments.items}
    reader = csv_module.reader(io.StringIO(to_csv_bytes(items, "zh", by_id).decode("utf-8-sig")))
    header, *body = list(reader)
    assert header[: len(COLUMNS)] == COLUMNS and len(set(header)) == len(header)
    for cells, row in zip(body, table_rows(pipeline, items)):
        assert [c.lstrip("'") for c in cells[: len(COLUMNS)]] == [v.lstrip("'") for v in row]
