"""Evaluation datasets in three formats, loaded into one shape (``EvalDataset``), and the BEIR
export that lets outside tools (BEIR, MTEB, pyserini) score their retrievers on our units.

* the project's JSONL (``eval/README.md``): questions with gold answers and verbatim evidence;
* a BEIR folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels/*.tsv``): retrieval only;
* SQuAD / CMRC2018 JSON: reading comprehension; its contexts become the documents.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rag.core.errors import RagError
from rag.core.types import Document, Unit
from rag.evaluation.metrics import Span, find_spans, relevant_units
from rag.genre.text import LINE_ENDS
from rag.ingest.corpus import clean_text

_SENTENCE_END = re.compile(f"[{LINE_ENDS}]|\\.(?=\\s)")  # and an English full stop
_QREL_SPLITS = ("test", "dev", "validation", "train")


class DatasetError(RagError, ValueError):
    """A dataset the user must fix; the message is bilingual and names the file and line."""


@dataclass
class EvalItem:
    """One question. ``evidence`` and ``sections`` run in parallel (a section may be ``None``);
    ``qrels`` maps corpus ids to graded relevance for BEIR datasets, which have no evidence;
    ``docs`` names the report(s) the evidence is in, when the dataset says (multi-report sets)."""

    id: str
    question: str
    answers: list[str] = field(default_factory=list)
    all_of: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    sections: list[str | None] = field(default_factory=list)
    type: str = "unknown"
    answerable: bool = True
    qrels: dict[str, int] = field(default_factory=dict)
    docs: list[str] = field(default_factory=list)


@dataclass
class EvalDataset:
    """``corpus`` (id → (title, text)) is set when the dataset brings its own documents."""

    name: str
    format: str  # "jsonl" | "beir" | "squad"
    items: list[EvalItem]
    corpus: dict[str, tuple[str, str]] | None = None
    reports: dict[str, Path] | None = None  # real sets: report path under the collection → its file

    @property
    def retrieval_only(self) -> bool:
        return self.format == "beir"


def unit_key(unit: Unit) -> str:
    """A unit's id in exported qrels: its document and offsets, stable across re-indexing."""
    return f"{unit.doc_id}:{unit.start}-{unit.end}"


class EvidenceLocator:
    """Finds gold evidence in an index's documents and the units relevant to it."""

    def __init__(self, documents: Iterable[Document], units: Iterable[Unit], *, min_overlap: float = 0.5) -> None:
        documents = list(documents)
        self.texts = {d.id: d.text for d in documents}
        self.sections = {(d.id, s.id): s for d in documents for s in d.sections}
        self.units: dict[str, Span] = {unit_key(u): (u.doc_id, u.start, u.end) for u in units}
        self.min_overlap = min_overlap

    def places(self, evidence: str, section: str | None = None, docs: Iterable[str] = ()) -> list[Span]:
        """Where an evidence string occurs: in the stated reports when given (another report may
        repeat a phrase), and inside the stated section when that narrows it down."""
        spans = find_spans(self.texts, evidence)
        wanted = set(docs)
        if wanted:
            spans = [s for s in spans if s[0] in wanted] or spans
        inside = [s for s in spans
                  if (sec := self.sections.get((s[0], section or ""))) and sec.start <= s[1] and s[2] <= sec.end]
        return inside or spans

    def evidence_places(self, item: EvalItem) -> list[list[Span]]:
        """For each located evidence, all its places; evidence not found in the corpus is dropped."""
        n = len(item.evidence)
        docs = [[d] for d in item.docs] if len(item.docs) == n > 1 else [item.docs] * n  # parallel for cross-report
        places = [self.places(e, s, d) for e, s, d in zip(item.evidence, _pad(item.sections, n), docs, strict=True)]
        return [p for p in places if p]

    def groups(self, item: EvalItem) -> list[set[str]]:
        """One set of relevant unit keys per located evidence (the union over its places)."""
        out = []
        for places in self.evidence_places(item):
            keys = set().union(*(relevant_units(self.units, p, self.min_overlap) for p in places))
            if keys:
                out.append(keys)
        return out


def _pad(values: list, n: int) -> list:
    return (values + [None] * n)[:n]


def _as_list(value: object) -> list:
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list) else [value]


def read_jsonl(path: Path) -> Iterable[tuple[int, dict]]:
    """(line number, object) of every non-blank line; a line that is no JSON object is a ``DatasetError``."""
    with open(path, encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{n} 不是合法 JSON：{exc} / {path}:{n} is not valid JSON: {exc}") from exc
            if not isinstance(row, dict):
                raise DatasetError(f"{path}:{n} 应为 JSON 对象 / {path}:{n} must be a JSON object")
            yield n, row


# --- loaders ---------------------------------------------------------------------------------
def load_jsonl(path: Path) -> EvalDataset:
    """The project's own format; see ``eval/README.md``."""
    items = []
    for n, row in read_jsonl(path):
        if not str(row.get("question", "")).strip():
            raise DatasetError(f"{path}:{n} 缺少 question 字段 / {path}:{n} has no question")
        evidence = [str(e) for e in _as_list(row.get("evidence"))]
        answerable = bool(row.get("answerable", bool(evidence or row.get("answers") or row.get("all_of"))))
        items.append(EvalItem(
            id=str(row.get("id", f"line{n}")), question=str(row["question"]),
            answers=[str(a) for a in _as_list(row.get("answers"))],
            all_of=[str(a) for a in _as_list(row.get("all_of"))],
            evidence=evidence, sections=[None if s is None else str(s) for s in _as_list(row.get("section"))],
            type=str(row.get("type") or "unknown"), answerable=answerable,
            docs=[str(d) for d in _as_list(row.get("doc"))],
        ))
    return EvalDataset(Path(path).stem, "jsonl", items)


def _qrels_file(folder: Path) -> Path:
    files = sorted((folder / "qrels").glob("*.tsv"))
    if not files:
        raise DatasetError(f"{folder} 中没有 qrels/*.tsv / No qrels/*.tsv in {folder}")
    return next((f for split in _QREL_SPLITS for f in files if f.stem == split), files[0])


def load_beir(folder: Path) -> EvalDataset:
    """A BEIR folder; the ``test`` qrels are used when there are several splits."""
    folder = Path(folder)
    for name in ("corpus.jsonl", "queries.jsonl"):
        if not (folder / name).is_file():
            raise DatasetError(f"{folder} 中缺少 {name} / {name} is missing from {folder}")
    corpus = {str(r["_id"]): (str(r.get("title") or ""), str(r.get("text") or ""))
              for _, r in read_jsonl(folder / "corpus.jsonl")}
    queries = {str(r["_id"]): r for _, r in read_jsonl(folder / "queries.jsonl")}
    qrels: dict[str, dict[str, int]] = {}
    with open(_qrels_file(folder), encoding="utf-8", newline="") as f:
        for row in csv.reader(f, delimiter="\t"):
            if len(row) < 3 or row[0] == "query-id" or not row[2].lstrip("-").isdigit():
                continue
            if int(row[2]) > 0:
                qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    items = []
    for qid, rel in qrels.items():
        if qid not in queries:
            continue
        meta = queries[qid].get("metadata") or {}
        items.append(EvalItem(id=qid, question=str(queries[qid]["text"]), type=str(meta.get("type") or "beir"),
                              qrels={d: g for d, g in rel.items() if d in corpus}))
    return EvalDataset(folder.name, "beir", items, corpus)


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence that holds ``text[start:end]``: the gold evidence of a SQuAD answer."""
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    right = next((m.end() for m in _SENTENCE_END.finditer(text, end)), len(text))
    return text[left:right].strip()


def _answer_list(answers: object) -> list[dict]:
    """SQuAD's list of ``{text, answer_start}``, or the Hugging Face export's columns
    ``{"text": [...], "answer_start": [...]}``."""
    if isinstance(answers, dict):
        starts = answers.get("answer_start") or []
        return [{"text": t, "answer_start": starts[i] if i < len(starts) else -1}
                for i, t in enumerate(answers.get("text") or [])]
    return [a for a in answers if isinstance(a, dict)] if isinstance(answers, list) else []


def load_squad(path: Path) -> EvalDataset:
    """SQuAD 1.1/2.0 and CMRC2018 (same layout: data → paragraphs → context, qas). Each distinct
    context is a document; an answer's evidence is the sentence around it; ``is_impossible``
    questions are unanswerable."""
    try:
        data = json.loads(Path(path).read_text("utf-8-sig"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"无法读取 {path}：{exc} / Cannot read {path}: {exc}") from exc
    articles = data.get("data") if isinstance(data, dict) else data
    if not isinstance(articles, list):
        raise DatasetError(f"{path} 不是 SQuAD/CMRC 格式（缺少 data 列表）"
                           f" / {path} is not SQuAD/CMRC JSON (no data list)")
    corpus: dict[str, tuple[str, str]] = {}
    contexts: dict[str, str] = {}  # cleaned context → corpus id
    items: list[EvalItem] = []
    for a, article in enumerate(articles):
        title = str(article.get("title") or "").replace("\n", " ").strip()
        for p, para in enumerate(article.get("paragraphs", [])):
            context = clean_text(str(para.get("context", "")))
            if not context.strip():
                continue
            cid = contexts.setdefault(context, str(para.get("id") or f"{article.get('id', a)}-{p}"))
            corpus.setdefault(cid, (title, context))
            for qa in para.get("qas", []):
                impossible = bool(qa.get("is_impossible", False))
                golds = [] if impossible else \
                    [x for x in _answer_list(qa.get("answers")) if str(x.get("text", "")).strip()]
                texts = list(dict.fromkeys(str(x["text"]).strip() for x in golds))
                evidence = []
                for x in golds:
                    ans = str(x["text"]).strip()
                    start = x.get("answer_start", -1)
                    if not (isinstance(start, int) and context[start:start + len(ans)] == ans):
                        start = context.find(ans)
                    if start >= 0:
                        evidence.append(_sentence_around(context, start, start + len(ans)))
                evidence = list(dict.fromkeys(evidence))[:1]  # annotators' answers share one place
                items.append(EvalItem(id=str(qa.get("id", f"{cid}-{len(items)}")), question=str(qa.get("question", "")),
                                      answers=texts, evidence=evidence, sections=[None] * len(evidence),
                                      type="unanswerable" if impossible or not texts else "squad",
                                      answerable=bool(texts)))
    return EvalDataset(Path(path).stem, "squad", items, corpus)


def load_dataset(path: Path) -> EvalDataset:
    """Picks the loader from the path: a folder is BEIR, ``.json`` is SQuAD/CMRC, else JSONL."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"找不到数据集：{path} / Dataset not found: {path}")
    if path.is_dir():
        return load_beir(path)
    if path.suffix.lower() == ".json":
        return load_squad(path)
    return load_jsonl(path)


# --- BEIR export -----------------------------------------------------------------------------
def export_beir(documents: list[Document], units: list[Unit], dataset: EvalDataset, out: Path, *,
                min_overlap: float = 0.5) -> dict[str, int]:
    """Writes the units as a BEIR corpus, the questions with located evidence as queries, and
    the relevant units (see ``metrics``) as ``qrels/test.tsv``. Returns the counts written."""
    out = Path(out)
    (out / "qrels").mkdir(parents=True, exist_ok=True)
    locator = EvidenceLocator(documents, units, min_overlap=min_overlap)
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as f:
        for u in units:
            row = {"_id": unit_key(u), "title": " › ".join(u.section_path), "text": u.text,
                   "metadata": {"doc_id": u.doc_id, "section_id": u.section_id, "start": u.start, "end": u.end}}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    n_queries = n_qrels = 0
    with open(out / "queries.jsonl", "w", encoding="utf-8") as fq, \
            open(out / "qrels" / "test.tsv", "w", encoding="utf-8", newline="") as fr:
        fr.write("query-id\tcorpus-id\tscore\n")
        for item in dataset.items:
            relevant = sorted(set().union(*locator.groups(item))) if item.answerable else []
            if not relevant:
                continue
            meta = {"type": item.type, "answers": item.answers, "all_of": item.all_of, "evidence": item.evidence}
            fq.write(json.dumps({"_id": item.id, "text": item.question, "metadata": meta}, ensure_ascii=False) + "\n")
            fr.writelines(f"{item.id}\t{key}\t1\n" for key in relevant)
            n_queries += 1
            n_qrels += len(relevant)
    return {"corpus": len(units), "queries": n_queries, "qrels": n_qrels}
