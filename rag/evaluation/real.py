"""Question sets over real reports of an outside collection (``../shared/corpora/gov-reports``).

Two forms share one shape. The shared development set gives each answer's ``evidence`` as a
string; the sets kept in the repository (``eval/real/``) may not quote a report, so they give
``evidence_offsets``: ``[start, end]`` character offsets into the report file's raw text, and the
evidence is recovered here as ``raw[start:end]`` with Markdown's ``**`` removed. ``doc`` is the
report's path under the collection root either way.

The evaluation corpus is a folder of symbolic links to those files (never copies), one flat name
per report so that reports with the same year stem never collide, beside its own index, so a
second run reuses the embeddings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.core.paths import GOV_REPORTS_DIR
from rag.evaluation.datasets import DatasetError, EvalDataset, EvalItem, load_jsonl
from rag.evaluation.datasets import read_jsonl as read_rows

if TYPE_CHECKING:
    from rag.core.settings import Settings
    from rag.pipeline import Pipeline

#: The collection beside the checkout, where ``doc`` paths point by default.
DEFAULT_ROOT = GOV_REPORTS_DIR
_BOLD = "**"


def real_files(path: Path) -> list[Path]:
    """The JSONL files of a real set: the file itself, or every ``*.jsonl`` under a folder."""
    path = Path(path)
    if path.is_file():
        return [path]
    files = sorted(path.rglob("*.jsonl")) if path.is_dir() else []
    if not files:
        raise DatasetError(f"找不到真实报告问题集：{path} / No real question set (*.jsonl) at {path}")
    return files


def _evidence_from_offsets(row: dict, raw: str, where: str) -> list[str]:
    """Each ``[start, end]`` of ``evidence_offsets`` as the cleaned text it spans."""
    spans = row.get("evidence_offsets") or []
    if spans and isinstance(spans[0], int):
        spans = [spans]
    out = []
    for span in spans:
        if not (isinstance(span, list) and len(span) == 2 and all(isinstance(v, int) for v in span)
                and 0 <= span[0] < span[1] <= len(raw)):
            raise DatasetError(f"{where} 的 evidence_offsets 不是报告内的 [start, end]：{span} / "
                               f"{where}: evidence_offsets {span} is not a [start, end] inside the report")
        out.append(raw[span[0]:span[1]].replace(_BOLD, ""))
    return out


def load_real(path: Path, root: Path = DEFAULT_ROOT) -> EvalDataset:
    """Every question of a real set, its ``docs`` the report paths under ``root`` (checked to exist)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"找不到报告集合目录：{root} / Report collection not found: {root}")
    items: list[EvalItem] = []
    raws: dict[str, str] = {}
    for file in real_files(path):
        rows = dict(read_rows(file))
        for item, (n, row) in zip(load_jsonl(file).items, sorted(rows.items()), strict=True):
            where = f"{file}:{n}"
            if not item.docs:
                raise DatasetError(f"{where} 缺少 doc 字段 / {where} has no doc")
            for doc in item.docs:
                if doc not in raws:
                    if not (root / doc).is_file():
                        raise DatasetError(f"{where}：集合中没有 {doc} / {where}: {doc} is not in {root}")
                    raws[doc] = (root / doc).read_text(encoding="utf-8")
            if "evidence_offsets" in row:
                item.evidence = _evidence_from_offsets(row, raws[item.docs[0]], where)
                item.sections = [None] * len(item.evidence)
            items.append(item)
    seen = [i.id for i in items]
    if len(set(seen)) != len(seen):
        raise DatasetError(f"{path} 中有重复的问题 id / {path} repeats question ids")
    name = Path(path).stem if Path(path).is_file() else Path(path).name
    return EvalDataset(name, "real", items, reports={doc: root / doc for doc in raws})


def link_name(doc: str) -> str:
    """A report's flat file name in the evaluation corpus (``省自治区__江西省__2024.md``)."""
    return doc.replace("/", "__")


def real_settings(settings: Settings, reports: dict[str, Path]) -> Settings:
    """Settings whose corpus is a folder of links to ``reports``, with an index of its own under
    ``<index_dir>/eval/real-<hash>`` (rebuilt only when the set of reports changes)."""
    digest = hashlib.sha256("\n".join(sorted(reports)).encode()).hexdigest()[:10]
    base = Path(settings.index_dir) / "eval" / f"real-{digest}"
    corpus = base / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    wanted = {link_name(d): p.resolve() for d, p in reports.items()}
    for old in corpus.iterdir():
        if old.name not in wanted or not old.is_symlink() or old.resolve() != wanted[old.name]:
            old.unlink()
    for name, target in wanted.items():
        if not (corpus / name).is_symlink():
            (corpus / name).symlink_to(target)
    return settings.model_copy(update={"corpus_dir": corpus, "index_dir": base / "index", "auto_rebuild": True,
                                       "query_cache_size": 0})


def bind_reports(data: EvalDataset, pipeline: Pipeline) -> EvalDataset:
    """The set with each ``doc`` path replaced by the id the index gave that report."""
    ids = {d.source: d.id for d in pipeline.store.documents}
    missing = sorted({d for i in data.items for d in i.docs if link_name(d) not in ids})
    if missing:
        raise DatasetError(f"索引中缺少报告：{', '.join(missing)} / Reports not indexed: {', '.join(missing)}")
    for item in data.items:
        item.docs = [ids[link_name(d)] for d in item.docs]
    return data


def restrict(data: EvalDataset, docs: Iterable[str]) -> EvalDataset:
    """The questions about the given reports only (ids as bound)."""
    wanted = set(docs)
    return EvalDataset(data.name, data.format, [i for i in data.items if set(i.docs) <= wanted])


def reports_of(items: Sequence[EvalItem]) -> list[str]:
    return sorted({d for i in items for d in i.docs})


# --- the real set's figures ------------------------------------------------------------------
#: Headline figures of a run, in the report's order.
HEADLINE = ("n", "answerable_accuracy", "refusal_recall", "false_refusal_rate", "english_accuracy",
            "median_answer_chars", "quote_violations")


def run_real(pipeline: Pipeline, data: EvalDataset, *, retriever: str = "hybrid",
             progress: bool = False, loro: bool = True) -> dict[str, Any]:
    """All the real set's figures on one pipeline over all its reports: the system as it ships
    (routing among the reports included), and (``loro``) leave one report out twice, each report
    alone (retrieval restricted to it) and among all the others (the pipeline's own scoping).
    A held-out set is measured without ``loro``: its folds would fit on its own questions."""
    from rag.evaluation.generate import generate
    from rag.evaluation.leave_one_out import LeaveOneReportOut, headline, loro_json
    from rag.evaluation.runner import EvalRunner

    runner = EvalRunner(pipeline, progress=progress)
    shipped = runner.run(data, retriever)
    out: dict[str, Any] = {"dataset": data.name, "reports": {d: str(p) for d, p in (data.reports or {}).items()},
                           "shipped": {"pooled": headline(shipped.summary),
                                       "by_report": {d: headline(_summary(runner, [r for r in shipped.results
                                                                                   if d in r.docs]))
                                                     for d in reports_of(data.items)}},
                           "predictions": [_prediction(r) for r in shipped.results]}
    if not loro:
        return out
    generated = generate(pipeline.store.documents)  # each fold learns from them but for its own report's
    out["generated_questions"] = len(generated.items)
    for name, gold in (("alone", True), ("together", False)):
        result = LeaveOneReportOut(pipeline, retriever=retriever, gold_scope=gold, progress=progress).run(
            [data], train_only=[generated])
        out[f"loro_{name}"] = loro_json(result)
    return out


def _summary(runner: Any, results: list) -> dict[str, Any]:
    from rag.evaluation.runner import summarize

    return summarize(results, k=runner.k, bootstrap_samples=100)


def _prediction(r: Any) -> dict[str, Any]:
    return {"id": r.id, "type": r.type, "docs": r.docs, "question": r.question, "expected": r.expected,
            "answer": r.answer, "found": r.found, "correct": r.correct, "cited": [c["doc"] for c in r.cited],
            "recall@5": (r.retrieval or {}).get("recall@5")}


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if not isinstance(value, float):
        return str(value)
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.0f}"


def real_tables(result: dict[str, Any]) -> str:
    """The real set's figures as Markdown tables: pooled by mode, per report, per type."""
    modes = [("shipped (all reports, as configured)", result["shipped"]["pooled"])]
    for name in ("alone", "together") if "loro_alone" in result else ():
        pooled = result[f"loro_{name}"]["pooled"]
        modes += [(f"leave-one-report-out, {name}, {m}", pooled[m]) for m in ("hand", "learned")]
    lines = ["| run | " + " | ".join(HEADLINE) + " |", "|---" * (len(HEADLINE) + 1) + "|"]
    lines += ["| " + label + " | " + " | ".join(_cell(h.get(k)) for k in HEADLINE) + " |" for label, h in modes]
    per = {r["report"]: r for r in result.get("loro_alone", {}).get("reports", [])}
    together = {r["report"]: r for r in result.get("loro_together", {}).get("reports", [])}
    cols = ("shipped", "alone hand", "alone learned", "together hand", "together learned")
    lines += ["", "Answerable accuracy / refusal recall per report:", "",
              "| report | n | " + " | ".join(cols) + " |", "|---" * (len(cols) + 2) + "|"]
    for doc, h in result["shipped"]["by_report"].items():
        cells = [h, per.get(doc, {}).get("hand", {}), per.get(doc, {}).get("learned", {}),
                 together.get(doc, {}).get("hand", {}), together.get(doc, {}).get("learned", {})]
        lines.append(f"| {doc} | {h.get('n')} | " + " | ".join(
            f"{_cell(c.get('answerable_accuracy'))} / {_cell(c.get('refusal_recall'))}" for c in cells) + " |")
    types = sorted({t for _, h in modes for t in (h.get("by_type") or {})})
    lines += ["", "Accuracy per question type:", "", "| type | " + " | ".join(lab for lab, _ in modes) + " |",
              "|---" * (len(modes) + 1) + "|"]
    lines += ["| " + t + " | " + " | ".join(_cell((h.get("by_type") or {}).get(t)) for _, h in modes) + " |"
              for t in types]
    return "\n".join(lines)


def load_real_sets(paths: Sequence[Path], root: Path | None = None) -> EvalDataset:
    """Several real sets as one (their reports joined)."""
    sets = [load_real(p, root or DEFAULT_ROOT) for p in paths]
    return EvalDataset("+".join(s.name for s in sets), "real", [i for s in sets for i in s.items],
                       reports={d: f for s in sets for d, f in (s.reports or {}).items()})


def real_examples(settings: Settings, data: EvalDataset, *, per_report: int = 40) -> tuple[list, list]:
    """Training examples of a real set on an index of its reports, and of the questions generated
    from those reports (``rag train --real``): (written, generated)."""
    from rag.evaluation.generate import generate
    from rag.evaluation.leave_one_out import LeaveOneReportOut, item_reports
    from rag.pipeline import Pipeline

    pipeline = Pipeline.load(real_settings(settings.model_copy(update={"answer_scorer": "hand"}), data.reports or {}))
    bind_reports(data, pipeline)
    generated = generate(pipeline.store.documents, per_report=per_report) if per_report \
        else EvalDataset("generated", "jsonl", [])
    loro = LeaveOneReportOut(pipeline)
    reports = item_reports([data, generated], pipeline)
    written = loro.examples([i for i in data.items if i.id in reports], reports)
    return written, loro.examples([i for i in generated.items if i.id in reports], reports, force_scope=True)
