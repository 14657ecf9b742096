"""The phases of ``rag bench`` that run outside the served answer path: start-up and cold start
in fresh processes, the index build, and PDF extraction. Each takes the shared ``BenchContext``
and returns its part of the JSON report."""

from __future__ import annotations

import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from rag.bench.context import BenchContext
from rag.bench.processes import child_env, rag_argv, run_child
from rag.bench.stats import ratio, summary

# The cold-start floor: what any process must do before it can answer (interpreter, library, weights).
_FLOOR_COLD = (
    "import sys\n"
    "from sentence_transformers import SentenceTransformer\n"
    "SentenceTransformer(sys.argv[1], device='cpu', local_files_only=True)\n"
)


def startup(ctx: BenchContext) -> dict:
    """`rag --help` and `rag info` against a bare interpreter start (the floor of any CLI)."""
    runs: dict[str, list[float]] = defaultdict(list)
    env = child_env(ctx.settings)
    for _ in range(ctx.config.startup_runs):
        runs["python"].append(run_child([sys.executable, "-c", "pass"], env).seconds)
        runs["help"].append(run_child(rag_argv("--help"), env).seconds)
        runs["python"].append(run_child([sys.executable, "-c", "pass"], env).seconds)
        runs["info"].append(run_child(rag_argv("info"), env).seconds)
    torch_free = "torch" not in run_child(
        [sys.executable, "-c", "import sys\nfrom typer.testing import CliRunner\nfrom rag.cli.main import app\n"
         "CliRunner().invoke(app, ['info'])\nprint(' '.join(sorted(m for m in sys.modules if '.' not in m)))"],
        env).stdout.split()
    floor = summary(runs["python"])
    return {"help_s": summary(runs["help"]), "info_s": summary(runs["info"]), "floor_python_s": floor,
            "help_ratio": ratio(summary(runs["help"])["p50"], floor["p50"]),
            "info_ratio": ratio(summary(runs["info"])["p50"], floor["p50"]),
            "info_imports_torch": not torch_free}


def cold(ctx: BenchContext) -> dict:
    """Process start → first answer (`rag ask`) against import + model load of the bare library."""
    env = child_env(ctx.settings)
    q = ctx.questions(1)[0]
    system, floor, system_rss, floor_rss, errors = [], [], [], [], []
    model_path = ctx.model_path()
    for _ in range(ctx.config.cold_runs):
        f = run_child([sys.executable, "-c", _FLOOR_COLD, model_path], env)
        s = run_child(rag_argv("ask", q, "--json"), env)
        errors += [r.stderr.strip()[-300:] for r in (f, s) if r.returncode != 0]
        floor.append(f.seconds)
        floor_rss.append(f.peak_rss_mb)
        system.append(s.seconds)
        system_rss.append(s.peak_rss_mb)
    sys_s, floor_s = summary(system), summary(floor)
    return {"system_s": sys_s, "floor_s": floor_s, "ratio": ratio(sys_s["p50"], floor_s["p50"]),
            "system_peak_rss_mb": summary(system_rss), "floor_peak_rss_mb": summary(floor_rss),
            "rss_ratio": ratio(summary(system_rss)["p50"], summary(floor_rss)["p50"]),
            "errors": len(errors), "error_messages": errors[:2]}


def build(ctx: BenchContext) -> dict:
    """A build of (a sample of) the corpus into a temp dir, beside the bare batched encode of the
    texts it embedded and a 2-thread torch encode of some of them (``rag.bench.build``), with the
    encoder ``rag index`` uses (all cores, not the in-process phase's one thread)."""
    from rag.bench.build import BuildBench
    from rag.embed.embedder import Embedder

    embedder = ctx.loaded.embedder if ctx.loaded is not None and ctx.config.sample == 0 \
        else Embedder.from_settings(ctx.settings)
    return BuildBench(ctx.settings, sample=ctx.config.sample, runs=ctx.config.build_runs,
                      passages=ctx.config.passages).run(embedder, ctx.log)


def pdf(ctx: BenchContext, pages: int = 20, runs: int = 5) -> dict:
    """Extracting a ``pages``-page report printed by Chromium (the corpus's first text report,
    repeated until long enough): text, furniture removal, line joining and the page map."""
    import pypdfium2 as pdfium

    from rag.evaluation.variants import PRINT_CSS, article_html, blocks, chromium, print_pdf
    from rag.ingest.corpus import CorpusLoader
    from rag.ingest.loaders.pdf import PdfLoader

    if chromium() is None:
        return {"skipped": "Chromium is not installed (make system-deps)"}
    source = next((p for p in CorpusLoader(ctx.settings.corpus_dir).files() if p.suffix in (".txt", ".md")), None)
    if source is None:
        return {"skipped": "no .txt/.md report in the corpus to print"}
    title, body = blocks(source.read_text("utf-8"))
    with tempfile.TemporaryDirectory(prefix="rag-bench-pdf-") as tmp:
        long_pdf, exact = Path(tmp) / "long.pdf", Path(tmp) / "report.pdf"
        copies = 1
        while True:
            print_pdf(article_html(title, body * copies, site=False, print_css=PRINT_CSS % "bench"), long_pdf)
            src = pdfium.PdfDocument(str(long_pdf))
            if len(src) >= pages or copies >= 16:
                break
            copies = copies * 2
            src.close()
        out = pdfium.PdfDocument.new()
        out.import_pages(src, list(range(min(pages, len(src)))))
        out.save(str(exact))
        n_pages, chars = len(out), 0
        out.close()
        src.close()
        loader, times = PdfLoader(), []
        for _ in range(runs):
            t0 = time.perf_counter()
            chars = len(loader.run(exact).text)
            times.append(time.perf_counter() - t0)
    return {"pages": n_pages, "chars": chars, "extract_s": summary(times)}
