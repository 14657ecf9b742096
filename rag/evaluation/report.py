"""Writes an ``EvalReport`` as JSON, Markdown and PNG charts, and renders the side-by-side
comparison table for the terminal. Charts use matplotlib's Agg backend and no timestamps, so
the same results give the same files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
    rows = comparison_rows(report)
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


def _types(runs: list[RetrieverRun]) -> list[str]:
    return sorted({t for r in runs for t in r.summary.get("by_type", {})})


def to_markdown(report: EvalReport, charts: list[str]) -> str:
    runs = list(report.runs.values())
    parts = [f"# Evaluation: {report.dataset}", "",
             f"Format `{report.format}`, model `{report.model}`, k = {report.k}, retrievers: "
             + ", ".join(f"`{r.retriever}`" for r in runs) + ".", "", "## Comparison", "",
             _md_table(comparison_rows(report))]
    types = _types(runs)
    if types:
        rk = f"recall@{min(5, report.k)}"
        rows = [["type", "n", *(f"{r.retriever} acc" for r in runs), *(f"{r.retriever} {rk}" for r in runs)]]
        for t in types:
            stats = [r.summary["by_type"].get(t, {}) for r in runs]
            rows.append([t, _fmt(stats[0].get("n")), *(_fmt(s.get("accuracy")) for s in stats),
                         *(_fmt(s.get(rk)) for s in stats)])
        parts += ["", "## By question type", "", _md_table(rows)]
    if charts:
        parts += ["", "## Charts", ""] + [f"![{c}]({c})" for c in charts]
    misses = [r for r in runs[-1].results if r.correct is False]
    if misses:
        rows = [["id", "type", "question", "expected", "answer"]]
        rows += [[r.id, r.type, _cell(r.question), _cell("；".join(r.expected) or "（拒答 / refusal）"),
                  _cell(r.answer if r.found else "（拒答 / refused）")] for r in misses]
        parts += ["", f"## Misses ({runs[-1].retriever})", "", _md_table(rows)]
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
              "- Quote violations: citations where `doc.text[start:end] != quote`.", ""]
    return "\n".join(parts)


def _charts(report: EvalReport, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    runs = list(report.runs.values())
    names = [r.retriever for r in runs]
    width = 0.8 / max(len(runs), 1)
    written: list[str] = []

    def bars(filename: str, labels: list[str], values: list[list[float]], title: str, ylabel: str) -> None:
        fig, ax = plt.subplots(figsize=(min(12.0, max(6.0, 0.45 * len(labels) * len(runs))), 4), dpi=100)
        x = np.arange(len(labels))
        for i, (name, vals) in enumerate(zip(names, values, strict=True)):
            ax.bar(x + (i - (len(runs) - 1) / 2) * width, vals, width, label=name)
        ax.set_xticks(x, labels, rotation=30, ha="right")
        ax.set_ylim(0, 1.15)  # room for the legend above the bars
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(loc="upper center", ncol=len(runs))
        fig.tight_layout()
        fig.savefig(out / filename, metadata={"Software": None})
        plt.close(fig)
        written.append(filename)

    types = _types(runs)
    if types:
        bars("accuracy_by_type.png", types,
             [[r.summary["by_type"].get(t, {}).get("accuracy") or 0.0 for t in types] for r in runs],
             f"Accuracy by question type ({report.dataset})", "accuracy")
    k = report.k
    metrics = [m for m in ("accuracy", *(f"recall@{n}" for n in (1, 3, 5, 10) if n <= k), f"mrr@{k}", f"ndcg@{k}")
               if any((r.summary.get(m) if m == "accuracy" else r.summary["retrieval"].get(m)) is not None for r in runs)]
    bars("retrievers.png", metrics,
         [[(r.summary.get(m) if m == "accuracy" else r.summary["retrieval"].get(m)) or 0.0 for m in metrics] for r in runs],
         f"Retriever comparison ({report.dataset})", "score")
    totals = [[q.timings_ms["total"] for q in r.results if "total" in q.timings_ms] for r in runs]
    if any(totals):
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        values = np.concatenate([np.asarray(t, float) for t in totals if t])
        # log-spaced bins: a lexical retriever and a dense one differ by orders of magnitude
        bins = np.geomspace(max(values.min(), 0.01), max(values.max(), 0.02), 31)
        for name, t in zip(names, totals, strict=True):
            ax.hist(np.clip(t, bins[0], bins[-1]), bins=bins, histtype="step", linewidth=1.5, label=name)
        ax.set_xscale("log")
        ax.set_xlabel("total latency per question (ms, log scale)")
        ax.set_ylabel("questions")
        ax.set_title("Latency")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "latency.png", metadata={"Software": None})
        plt.close(fig)
        written.append("latency.png")
    return written


def write_report(report: EvalReport, out: Path) -> list[Path]:
    """``report.json``, ``report.md`` and the charts in ``out``; returns the files written."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    charts = _charts(report, out)
    (out / "report.json").write_text(json.dumps(report.to_dict(), ensure_ascii=False, indent=2), "utf-8")
    (out / "report.md").write_text(to_markdown(report, charts), "utf-8")
    return [out / "report.json", out / "report.md", *(out / c for c in charts)]
