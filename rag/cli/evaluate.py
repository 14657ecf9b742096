"""``rag eval``: its options, their usage errors, and which kind of evaluation they ask for (the kinds
themselves are in ``rag.cli.eval_runs``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rag.cli import eval_runs
from rag.cli.context import fail, settings_from
from rag.cli.options import CandidateKOpt, MilvusCollectionOpt, MilvusUriOpt, StoreOpt, option, use_store
from rag.core.paths import GOV_REPORTS_DIR

if TYPE_CHECKING:
    from rag.core.settings import Settings

# the question set, where it is asked, and the report
DatasetOpt = Annotated[Path | None, option("eval", "--dataset")]
CorpusOpt = Annotated[Path | None, option("eval", "--corpus")]
RetrieverOpt = Annotated[str, option("eval", "--retriever")]
ModelOpt = Annotated[str | None, option("eval", "--model")]
KOpt = Annotated[int, option("eval", "--k", min=1, max=100)]
OutOpt = Annotated[Path | None, option("eval", "--out")]
# other systems beside the product (``rag.evaluation.systems``)
SystemOpt = Annotated[list[str] | None, option("eval", "--system")]
BaselineOpt = Annotated[bool | None, option("eval", "--baseline/--no-baseline")]
RefusalPhrasesOpt = Annotated[Path | None, option("eval", "--refusal-phrases")]
SystemTimeoutOpt = Annotated[float | None, option("eval", "--system-timeout", min=0.1)]
# the real reports (``rag.evaluation.real``)
RealOpt = Annotated[list[Path] | None, option("eval", "--real")]
ReportsRootOpt = Annotated[Path | None, option("eval", "--reports-root")]
LoroOpt = Annotated[bool, option("eval", "--loro/--no-loro")]
# the answer scorer, one report held out (``rag.evaluation.leave_one_out``)
LeaveOneOutOpt = Annotated[bool, option("eval", "--leave-one-out")]
ExtraOpt = Annotated[list[Path] | None, option("eval", "--extra-dataset")]
GoldScopeOpt = Annotated[bool, option("eval", "--gold-scope/--pipeline-scope")]
# the corpus as published files (``rag.evaluation.variants``)
FormatsOpt = Annotated[str | None, option("eval", "--formats")]
# the catalogue against a folder layout (``rag.evaluation.catalogue_check``)
CatalogueOpt = Annotated[Path | None, option("eval", "--catalogue")]
LayoutOpt = Annotated[str, option("eval", "--layout")]
StripOpt = Annotated[bool | None, option("eval", "--strip-front-matter/--published")]
# the promise tracker against gold pairs (``rag.evaluation.promises``)
PromisesOpt = Annotated[Path | None, option("eval", "--promises")]


def evaluate(
    ctx: typer.Context,
    dataset: DatasetOpt = None, promises: PromisesOpt = None, real: RealOpt = None,
    reports_root: ReportsRootOpt = None, loro: LoroOpt = True, retriever: RetrieverOpt = "hybrid",
    model: ModelOpt = None, k: KOpt = 10, out: OutOpt = None, corpus: CorpusOpt = None, system: SystemOpt = None,
    baseline: BaselineOpt = None, refusal_phrases: RefusalPhrasesOpt = None, system_timeout: SystemTimeoutOpt = None,
    formats: FormatsOpt = None, leave_one_out: LeaveOneOutOpt = False, extra: ExtraOpt = None,
    gold_scope: GoldScopeOpt = True,
    catalogue: CatalogueOpt = None, layout: LayoutOpt = "gov-reports", strip_front_matter: StripOpt = None,
    store: StoreOpt = None, milvus_uri: MilvusUriOpt = None, milvus_collection: MilvusCollectionOpt = None,
    candidate_k: CandidateKOpt = None,
) -> None:
    """评测检索与回答 / Evaluate retrieval and answers, the product beside other systems.

    \b
    Writes report.json, report.md, PNG charts, run.<retriever>.trec, qrels and
    predictions.jsonl. The langchain-style baseline (recursive 500-character chunks,
    dense top-1, the chunk as the answer) is always a column unless --no-baseline.
    \b
    --system NAME=SPEC, repeatable; SPEC is one of:
      openai:<base_url>#<model>[?context=retrieved|none&timeout=S&key_env=VAR]
          OpenAI-compatible chat endpoint, given the product's retrieved passages
          (default) or none; the API key is read from $VAR
      http:<template.json>[?timeout=S]
          JSON template: {"url": ..., "body": {"q": "{question}", "ctx": "{context}"},
          "answer": "data.answer", "found": "data.found"}  (see README)
      py:<module>:<callable>[?context=retrieved|none&timeout=S]
          f(question) or f(question, context=[...]) -> str | dict | Answer
    Nothing leaves the machine unless a URL is given. Refusals: empty answers and
    answers containing a phrase of rag/data/refusal_phrases.txt (or --refusal-phrases);
    timeouts and errors count as wrong.
    \b
    Example:
      rag eval --dataset eval/dev.jsonl --retriever all \\
        --system 'qwen=openai:http://127.0.0.1:11434/v1#qwen2.5:7b?context=none'
    """
    if promises is not None:
        return eval_runs.eval_promises(promises, reports_root or GOV_REPORTS_DIR, out)
    # no question set: the catalogue check, or a usage error
    if catalogue is not None or (dataset is None and not real):
        return eval_runs.eval_catalogue(catalogue, layout, strip_front_matter, out)
    use_store(ctx, store, milvus_uri, milvus_collection, candidate_k)
    _check_eval_options(dataset, real, leave_one_out, formats, retriever)
    settings = settings_from(ctx, model=model, corpus_dir=corpus, eval_refusal_phrases=refusal_phrases,
                             eval_system_timeout_s=system_timeout, eval_baseline=baseline)
    settings = corpus_settings(ctx, settings, corpus)
    _dispatch_eval(settings, dataset, (real or [], loro), reports_root, retriever, others=system or [], k=k, out=out,
                   leave_one_out=[dataset, *(extra or [])] if leave_one_out and dataset else None,
                   formats=formats, gold_scope=gold_scope)


def _check_eval_options(dataset: Path | None, real: list[Path] | None, leave_one_out: bool,
                        formats: str | None, retriever: str) -> None:
    """Usage errors, before anything loads."""
    from rag.pipeline import RETRIEVERS

    if dataset is None and (not real or leave_one_out or formats is not None):
        fail("需要 --dataset（或只用 --real） / Give --dataset (or --real alone)", 2)
    if retriever not in (*RETRIEVERS, "all"):
        fail(f"未知检索器 {retriever!r}（可选 bm25/dense/hybrid/all） / Unknown retriever {retriever!r}", 2)


def _dispatch_eval(settings: Settings, dataset: Path | None, real: tuple[list[Path], bool], reports_root: Path | None,
                   retriever: str, *, others: list[str], k: int, out: Path | None, leave_one_out: list[Path] | None,
                   formats: str | None, gold_scope: bool) -> None:
    """The one kind of evaluation ``rag eval``'s options ask for."""
    from rag.pipeline import RETRIEVERS

    if leave_one_out:
        eval_runs.leave_one_out(settings, leave_one_out, retriever if retriever != "all" else "hybrid", out, gold_scope)
        return
    if formats is not None and dataset is not None:
        eval_runs.eval_formats(dataset, settings, formats, out)
        return
    systems = eval_runs.other_systems(others, settings)  # checked before the model loads: a typo fails in a second
    target = out or Path("eval/reports") / (dataset.stem if dataset else "real")
    if dataset is not None:
        eval_runs.run_eval(dataset, settings, list(RETRIEVERS) if retriever == "all" else [retriever], systems, k,
                           target)
    if real[0]:
        eval_runs.real_eval(settings, real, reports_root, retriever if retriever != "all" else "hybrid", target)


def _eval_index_dir(ctx: typer.Context, settings: Settings, corpus: Path) -> Path:
    """An evaluation corpus gets an index of its own (``<index_dir>/eval/<name>-<hash>``, rebuilt
    only when that corpus changes), so evaluating it never rebuilds the served index over it."""
    import hashlib

    if (ctx.obj or {}).get("index_dir"):
        return settings.index_dir
    digest = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:10]
    return settings.index_dir / "eval" / f"{corpus.resolve().name}-{digest}"


def corpus_settings(ctx: typer.Context, settings: Settings, corpus: Path | None) -> Settings:
    """Settings for evaluating (or training on) a corpus folder: another corpus than the served one
    gets an index (and, on a shared Milvus server, a collection) of its own."""
    from rag.core.settings import Settings

    if corpus is not None and not corpus.is_dir():
        fail(f"找不到语料目录：{corpus} / Corpus folder not found: {corpus}", 2)
    if settings.corpus_dir.resolve() != Settings().corpus_dir.resolve():  # another corpus than the served one
        settings = settings.model_copy(update={"index_dir": _eval_index_dir(ctx, settings, settings.corpus_dir)})
        if settings.store == "milvus" and settings.milvus_uri:  # a shared server: never the served collection
            settings = settings.model_copy(update={"milvus_collection": f"{settings.milvus_collection}_eval"})
    return settings
