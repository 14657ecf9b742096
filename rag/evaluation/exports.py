"""Standard files beside every report, so trec_eval, pytrec_eval, ranx or ir_measures score a run
and a SQuAD-style script reads the answers without glue:

* ``run.<name>.trec`` — ``qid Q0 docid rank score tag``, one file per retriever (and for the
  baseline, which ranks its own chunks). The docid is the key the report's retrieval metrics are
  computed on: a unit's ``<doc>:<start>-<end>`` (its document id and character offsets into the
  cleaned text, stable across rebuilds of the same corpus and chunker, and the ids of
  ``rag export-beir``), or the corpus id of a BEIR dataset. The score is ``n + 1 - rank``, since
  the ranking interleaves question parts and no single retriever score orders it; trec_eval
  sorts by score, so the file keeps the report's order.
* ``qrels`` — ``qid 0 docid relevance``: the relevant units of every question with located
  evidence (binary), or a BEIR dataset's graded judgements; ``qrels.<name>`` for a system that
  ranks its own passages (the baseline's chunks).
* ``predictions.jsonl`` — one line per system and question: ``system``, ``id``, ``question``,
  ``answer``, ``found``, ``correct``, ``error``, ``citations``, ``timings_ms``.

Whitespace in ids becomes ``_`` (TREC files are whitespace-separated).
"""

from __future__ import annotations

import json
from pathlib import Path

from rag.evaluation.runner import EvalReport, RetrieverRun
from rag.genre.text import WHITESPACE


def trec_id(text: str) -> str:
    return WHITESPACE.sub("_", text.strip()) or "_"


def _gain(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def trec_run(run: RetrieverRun) -> str:
    lines = []
    for r in run.results:
        n = len(r.ranked)
        lines += [f"{trec_id(r.id)} Q0 {trec_id(key)} {rank} {n + 1 - rank} rag-{trec_id(run.retriever)}"
                  for rank, key in enumerate(r.ranked, 1)]
    return "\n".join(lines) + ("\n" if lines else "")


def trec_qrels(run: RetrieverRun) -> str:
    lines = [f"{trec_id(r.id)} 0 {trec_id(key)} {_gain(g)}"
             for r in run.results for key, g in sorted(r.relevant.items()) if g > 0]
    return "\n".join(lines) + ("\n" if lines else "")


def predictions(report: EvalReport) -> str:
    rows = [{"system": run.retriever, "kind": run.kind, "id": r.id, "question": r.question, "answer": r.answer,
             "found": r.found, "correct": r.correct, "error": r.error, "citations": r.cited, "timings_ms": r.timings_ms}
            for run in report.runs.values() for r in run.results if r.found is not None]
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_exports(report: EvalReport, out: Path) -> list[Path]:
    """Writes the TREC runs and qrels and ``predictions.jsonl`` into ``out``; returns the files."""
    out = Path(out)
    written: list[Path] = []

    def write(name: str, text: str) -> None:
        (out / name).write_text(text, "utf-8")
        written.append(out / name)

    for run in report.runs.values():
        if not any(r.ranked for r in run.results):
            continue  # a system that returns only answers ranks nothing
        write(f"run.{run.retriever}.trec", trec_run(run))
        if run.kind != "retriever":
            write(f"qrels.{run.retriever}", trec_qrels(run))
        elif out / "qrels" not in written:  # the retrievers share one judgement set
            write("qrels", trec_qrels(run))
    preds = predictions(report)
    if preds:
        write("predictions.jsonl", preds)
    return written
