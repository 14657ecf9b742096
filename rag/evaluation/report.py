"""Writes an ``EvalReport`` as JSON, Markdown, PNG charts and the standard files of ``exports``,
and renders the side-by-side comparison table for the terminal: one column per retriever of the
product, the baseline and every other system. Charts use matplotlib's Agg backend and no
timestamps, so the same results give the same files; each PNG names its series in its
``Description`` text chunk (and ``report.json`` under ``charts``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rag.evaluation.exports import write_exports
from rag.evaluation.runner import EvalReport, RetrieverRun

Row = tuple[str, Callable[[dict[str, Any]], Any]]


def _get(*keys: str) -> Callable[[dict[str, Any]], Any]:
    def get(summary: dict[str, Any]) -> Any:
        value: Any = summary
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        return value
    return get


def _rows(report: EvalReport) -> list[Row]:
    k = report.k
    rows: list[Row] = [
        ("accuracy", _get("accuracy")),
        ("accuracy 95% CI", _get("accuracy_ci95")),
        ("answerable accuracy", _get("answerable_accuracy")),
        ("refusal precision", _get("refusal", "precision")),
        ("refusal recall", _get("refusal", "recall")),
        ("refusal F1", _get("refusal", "f1")),
        ("false-refusal rate", _get("refusal", "false_refusal_rate")),
        ("median answer chars", _get("median_answer_chars")),
    ]
    if report.format == "squad":
        rows += [("MRC exact match", _get("mrc", "exact_match")), ("MRC char F1", _get("mrc", "char_f1"))]
    if any(run.summary.get("errors") for run in report.runs.values()):
        rows.append(("errors (timeouts, failures)", _get("errors")))
    rows.append(("top-1 evidence hit", _get("retrieval", "hit@1")))
    rows += [(f"Recall@{n}", _get("retrieval", f"recall@{n}")) for n in (1, 3, 5, 10) if n <= k]
    rows += [(f"MRR@{k}", _get("retrieval", f"mrr@{k}")), (f"nDCG@{k}", _get("retrieval", f"ndcg@{k}")),
             ("citation precision", _get("citation_precision")), ("citation recall", _get("citation_recall"))]
    stages = dict.fromkeys(s for run in report.runs.values() for s in run.summary.get("latency_ms", {}))
    rows += [(f"{stage} ms p{p}", _get("latency_ms", stage, f"p{p}")) for stage in stages for p in (50, 95)]
    rows += [("quote violations", _get("quote_violations")), ("questions", _get("n")),
             ("questions with located evidence", _get("n_retrieval"))]
    if report.format == "beir":  # retrieval only: keep the rows that have values
        rows = [r for r in rows if any(r[1](run.summary) is not None for run in report.runs.values())]
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def comparison_rows(report: EvalReport) -> list[list[str]]:
    """Header plus one row per metric, one column per retriever."""
    runs = list(report.runs.values())
    return [["metric", *(r.retriever for r in runs)]] + [
        [label, *(_fmt(get(r.summary)) for r in runs)] for label, get in _rows(report)]


def comparison_table(report: EvalReport) -> str:
    """Plain-text table for the terminal."""
    return _text_table(comparison_rows(report))


def breakdown_tables(report: EvalReport) -> str:
    """Accuracy per question type and, for datasets that name their reports, per report, as
    plain-text tables for the terminal ("" when the dataset has neither)."""
    runs = list(report.runs.values())
    return "\n\n".join(_text_table(_breakdown_table(report, by, label))
                        for by, label in (("by_type", "type"), ("by_report", "report")) if _groups(runs, by))


def _text_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _md_table(rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join("---" for _ in rows[0]) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows[1:]])


def _cell(text: str | None, limit: int = 80) -> str:
    """One Markdown table cell: a single line, pipes escaped, long answers cut."""
    text = " ".join((text or "").split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _groups(runs: list[RetrieverRun], by: str) -> list[str]:
    return sorted({t for r in runs for t in r.summary.get(by, {})})


def product_run(report: EvalReport) -> RetrieverRun:
    """The product's own column: hybrid when it ran, else the last retriever."""
    retrievers = [r for r in report.runs.values() if r.kind == "retriever"] or list(report.runs.values())
    return report.runs.get("hybrid") or retrievers[-1]


def _breakdown_table(report: EvalReport, by: str, label: str) -> list[list[str]]:
    """Accuracy (every column) and recall (columns that rank units) per question type or report."""
    runs = [r for r in report.runs.values() if r.summary.get(by)]
    rk = f"recall@{min(5, report.k)}"
    ranked = [r for r in runs if any(g.get(rk) is not None for g in r.summary[by].values())]
    rows = [[label, "n", *(f"{r.retriever} acc" for r in runs), *(f"{r.retriever} {rk}" for r in ranked)]]
    for g in _groups(runs, by):
        n = next((r.summary[by][g]["n"] for r in runs if g in r.summary[by]), None)
        rows.append([g, _fmt(n), *(_fmt(r.summary[by].get(g, {}).get("accuracy")) for r in runs),
                     *(_fmt(r.summary[by].get(g, {}).get(rk)) for r in ranked)])
    return rows


def to_markdown(report: EvalReport, charts: list[str]) -> str:
    runs = list(report.runs.values())
    parts = [f"# Evaluation: {report.dataset}", "",
             f"Format `{report.format}`, model `{report.model}`, k = {report.k}, retrievers: "
             + ", ".join(f"`{r.retriever}`" for r in runs if r.kind == "retriever") + "."]
    others = [r for r in runs if r.kind != "retriever"]
    if others:
        parts += ["", "Beside the product:", ""] + [f"- `{r.retriever}` ({r.kind}): {r.spec}" for r in others]
    parts += ["", "## Comparison", "", _md_table(comparison_rows(report))]
    if _groups(runs, "by_type"):
        parts += ["", "## By question type", "", _md_table(_breakdown_table(report, "by_type", "type"))]
    if _groups(runs, "by_report"):
        parts += ["", "## By report", "", "A question whose evidence spans several reports counts under each.", "",
                  _md_table(_breakdown_table(report, "by_report", "report"))]
    if charts:
        parts += ["", "## Charts", ""] + [f"![{c}]({c})" for c in charts]
    product = product_run(report)
    misses = [r for r in product.results if r.correct is False]
    if misses:
        rows = [["id", "type", "question", "expected", "answer"]]
        rows += [[r.id, r.type, _cell(r.question), _cell("；".join(r.expected) or "（拒答 / refusal）"),
                  _cell(r.answer if r.found else "（拒答 / refused）")] for r in misses]
        parts += ["", f"## Misses ({product.retriever})", "", _md_table(rows)]
    parts += ["", "## Definitions", "",
              "- Accuracy: an answerable question is correct when the answer is given (`found`) and contains any "
              "`answers` string and every `all_of` string after normalisation (NFKC, no whitespace, lower case, "
              "Chinese numerals as digits, `[n]` markers removed; a figure may not sit inside a longer number); "
              "an unanswerable one is correct when refused. "
              "The 95% CI is a seeded percentile bootstrap.",
              "- Refusal P/R/F1: positive class = refusal (`found == false`); false-refusal rate = refused "
              "answerable questions / answerable questions.",
              "- Relevant unit: shares at least `min_overlap` of a gold evidence span's characters "
              f"(min_overlap = {report.config.get('min_overlap')}); if none does, the units with the largest "
              "overlap. Recall@k = share of a question's evidences with a relevant unit in the top k; MRR and "
              "nDCG use all relevant units (binary gains; BEIR qrels keep their grades).",
              "- Citation precision: citations whose span shares at least `min_overlap` of the shorter of "
              "itself and a gold evidence; recall: gold evidences matched by some citation (answerable questions).",
              "- Median answer chars: answered questions only, `[n]` markers removed. Latency: per stage of "
              "`Answer.timings_ms` with the query-embedding cache off (`rag eval`), linear-interpolated percentiles.",
              "- Quote violations: citations where `doc.text[start:end] != quote`.",
              "- Top-1 evidence hit: share of questions with located evidence whose first-ranked passage is relevant "
              "(trec_eval `success_1`); the baseline's passages are its own chunks, judged by the same overlap rule.",
              "- Other systems: the answer text is scored like the product's; a refusal is an empty answer, a "
              "`found: false`, or an answer containing a phrase of the refusal list; timeouts and errors count as "
              "wrong. The `langchain-style` baseline answers with its top-1 chunk and never refuses.",
              "- MRC exact match / char F1 (SQuAD and CMRC sets): after NFKC, lower case, no whitespace or "
              "punctuation (`.`, `%`, `‰` kept); F1 over characters, best gold; an unanswerable question scores 1 "
              "when refused (SQuAD 2.0).",
              "- Files: `run.<name>.trec`, `qrels` (and `qrels.<name>` for the baseline's chunks) and "
              "`predictions.jsonl` score with trec_eval, pytrec_eval, ranx or ir_measures as they are.", ""]
    return "\n".join(parts)


def _ranking_score(summary: dict, metric: str) -> float | None:
    """A retriever comparison's value: the answer accuracy, or a ranking metric of its retrieval."""
    return summary.get(metric) if metric == "accuracy" else summary["retrieval"].get(metric)


def _charts(report: EvalReport, out: Path) -> dict[str, list[str]]:
    """Writes the charts; returns each file's series (one per column of the report)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    written: dict[str, list[str]] = {}

    def save(fig: Any, filename: str, names: list[str]) -> None:
        fig.tight_layout()
        fig.savefig(out / filename, metadata={"Software": None, "Description": "series: " + ", ".join(names)})
        plt.close(fig)
        written[filename] = names

    def bars(filename: str, runs: list[RetrieverRun], labels: list[str], values: list[list[float]], title: str,
             ylabel: str) -> None:
        if not runs or not labels:
            return
        width = 0.8 / len(runs)
        fig, ax = plt.subplots(figsize=(min(14.0, max(6.0, 0.45 * len(labels) * len(runs))), 4), dpi=100)
        x = np.arange(len(labels))
        for i, (run, vals) in enumerate(zip(runs, values, strict=True)):
            ax.bar(x + (i - (len(runs) - 1) / 2) * width, vals, width, label=run.retriever)
        ax.set_xticks(x, labels, rotation=30, ha="right")
        ax.set_ylim(0, 1.15)  # room for the legend above the bars
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(loc="upper center", ncol=min(len(runs), 5), fontsize="small")
        save(fig, filename, [r.retriever for r in runs])

    def by(key: str, filename: str, title: str) -> None:
        runs = [r for r in report.runs.values() if r.summary.get(key)]
        groups = _groups(runs, key)
        bars(filename, runs, groups, [[r.summary[key].get(g, {}).get("accuracy") or 0.0 for g in groups] for r in runs],
             f"{title} ({report.dataset})", "accuracy")

    by("by_type", "accuracy_by_type.png", "Accuracy by question type")
    by("by_report", "accuracy_by_report.png", "Accuracy by report")
    answered = [r for r in report.runs.values() if r.summary.get("accuracy") is not None]
    answer_metrics = {"accuracy": _get("accuracy"), "answerable accuracy": _get("answerable_accuracy"),
                      "refusal F1": _get("refusal", "f1"), "top-1 evidence hit": _get("retrieval", "hit@1")}
    answer_metrics = {k: g for k, g in answer_metrics.items() if any(g(r.summary) is not None for r in answered)}
    bars("answers.png", answered, list(answer_metrics), [[g(r.summary) or 0.0 for g in answer_metrics.values()]
                                                         for r in answered],
         f"Answers: product, baseline and other systems ({report.dataset})", "score")
    k = report.k
    ranked = [r for r in report.runs.values() if r.summary["retrieval"]]
    candidates = ("accuracy", "hit@1", *(f"recall@{n}" for n in (1, 3, 5, 10) if n <= k), f"mrr@{k}", f"ndcg@{k}")
    metrics = [m for m in candidates if any(_ranking_score(r.summary, m) is not None for r in ranked)]
    bars("retrievers.png", ranked, metrics, [[_ranking_score(r.summary, m) or 0.0 for m in metrics] for r in ranked],
         f"Retriever comparison ({report.dataset})", "score")
    _latency_chart(report, save)
    return written


def _latency_chart(report: EvalReport, save: Callable[[Any, str, list[str]], None]) -> None:
    """Per-question total latency of every column, on log-spaced bins."""
    import matplotlib.pyplot as plt
    import numpy as np

    timed = [(r.retriever, [q.timings_ms["total"] for q in r.results if "total" in q.timings_ms])
             for r in report.runs.values()]
    timed = [(name, t) for name, t in timed if t]
    if not timed:
        return
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    values = np.concatenate([np.asarray(t, float) for _, t in timed])
    # log-spaced bins: a lexical retriever and a remote LLM differ by orders of magnitude
    lo = max(values.min(), 0.01)
    bins = np.geomspace(lo, max(values.max(), 2 * lo), 31)  # one question: still a range
    for name, t in timed:
        ax.hist(np.clip(t, bins[0], bins[-1]), bins=bins.tolist(), histtype="step", linewidth=1.5, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("total latency per question (ms, log scale)")
    ax.set_ylabel("questions")
    ax.set_title("Latency")
    ax.legend(fontsize="small")
    save(fig, "latency.png", [name for name, _ in timed])


def write_report(report: EvalReport, out: Path) -> list[Path]:
    """``report.json``, ``report.md``, the charts, the TREC runs and qrels and ``predictions.jsonl``
    in ``out``; returns the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    charts = _charts(report, out)
    data = report.to_dict() | {"charts": charts}
    (out / "report.json").write_text(json.dumps(data, ensure_ascii=False, indent=2), "utf-8")
    (out / "report.md").write_text(to_markdown(report, list(charts)), "utf-8")
    return [out / "report.json", out / "report.md", *(out / c for c in charts), *write_exports(report, out)]
