"""Publishes a plain-text report as a government office would: a Word file, a printed PDF and an
article page on the city's website. Tests make their fixtures with it, and ``rag eval --formats``
uses it to check that a report answers as well from each format as from its plain text."""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rag.ingest.corpus import clean_text, parse_document, split_front_matter

FORMATS = ("docx", "pdf", "html")
SITE = "江城市人民政府门户网站"


@dataclass(frozen=True, slots=True)
class Block:
    text: str
    level: int | None  # heading depth (1 = top), None for a paragraph


def blocks(raw: str) -> tuple[str, list[Block]]:
    """The report's title and its lines, a line being a heading when it is exactly a heading's title."""
    doc = parse_document(raw, doc_id="report")
    heads = {s.start: s for s in doc.sections if s.id != "0" and s.heading_end > s.start}
    out, pos = [], 0
    for line in doc.text.splitlines(keepends=True):
        content = line.rstrip("\n")
        sec = heads.get(pos)
        level = sec.level if sec is not None and sec.heading_end >= pos + len(content.rstrip()) else None
        if content.strip():
            out.append(Block(content.strip(), level))
        pos += len(line)
    meta, _ = split_front_matter(clean_text(raw))
    return meta.get("title", ""), out


def chromium() -> str | None:
    """The Chromium binary PDFs are printed with, if installed."""
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


def article_html(title: str, body: list[Block], *, site: bool, print_css: str = "") -> str:
    """The report as HTML; ``site`` wraps it in the furniture of a government article page."""
    parts = [f'<h1 class="title">{html.escape(title)}</h1>'] if title else []
    for b in body:
        t = html.escape(b.text)
        if b.level == 1:
            parts.append(f'<p style="text-align:center"><strong>{t}</strong></p>')
        elif b.level == 2:
            parts.append(f"<h3>{t}</h3>" if site else f"<p><strong>{t}</strong></p>")
        elif b.level is not None:
            parts.append(f"<p><b>{t}</b></p>")
        else:
            parts.append(f'<p style="text-indent:2em">{t}</p>')
    article = "\n".join(parts)
    inner = "\n".join(parts[1:] if title else parts)
    if not site:
        return (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                f"<style>{print_css}</style></head><body>{article}</body></html>")
    return f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{html.escape(title)}_{SITE}</title><script>var _hmt = _hmt || []; console.log("统计代码");</script>
<style>.nav li{{display:inline}}</style></head><body>
<div class="header"><div class="logo">{SITE}</div><ul class="nav"><li><a href="/">首页</a></li>
<li><a href="/zwgk/">政务公开</a></li><li><a href="/zfxxgk/">政府信息公开</a></li>\
<li><a href="/hdjl/">互动交流</a></li></ul></div>
<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; 政府工作报告</div>
<div class="main"><div class="article">
<h1>{html.escape(title)}</h1>
<div class="info">发布时间：2024-01-15 09:30　来源：市政府办公室　浏览次数：1024　\
【字体：<a>大</a> <a>中</a> <a>小</a>】【<a>打印</a>】【<a>关闭</a>】</div>
<div id="zoom" class="TRS_Editor">
{inner}
</div>
<div class="bdshare">分享到：<a>微信</a><a>微博</a><a>QQ空间</a></div>
<div class="related"><h4>相关阅读</h4><ul><li><a href="/a/1.html">市政府召开常务会议 研究部署重点工作</a></li>
<li><a href="/a/2.html">关于印发2024年民生实事项目的通知</a></li></ul></div>
</div><div class="sidebar"><h4>热点专题</h4><ul><li><a>优化营商环境</a></li><li><a>乡村振兴</a></li></ul></div></div>
<div class="footer"><p>主办：{SITE.replace("门户网站", "")}办公室　承办：市大数据管理局</p>
<p>网站标识码：4108000001　豫ICP备05000001号　豫公网安备 41080002000001号</p></div>
<script src="/js/share.js"></script><script>document.write("<p>脚本写入的文字</p>")</script>
</body></html>"""


PRINT_CSS = """@page { size: A4; margin: 2.2cm 2cm;
  @top-center { content: "%s"; font-size: 9pt; color: #666; }
  @bottom-center { content: "— " counter(page) " —"; font-size: 10pt; } }
body { font-family: "Noto Sans CJK SC", sans-serif; font-size: 15pt; line-height: 1.6; }
p { margin: 0 0 .2em; } h1 { text-align: center; font-size: 20pt; }"""


def print_pdf(page_html: str, out: Path) -> Path:
    """Prints HTML to PDF with headless Chromium: real CJK fonts, running header and page numbers."""
    exe = chromium()
    if exe is None:
        raise RuntimeError("未安装 Chromium，无法打印 PDF。 / Chromium is not installed; cannot print a PDF.")
    with tempfile.TemporaryDirectory(prefix="rag-print-") as tmp:
        src = Path(tmp) / "page.html"
        src.write_text(page_html, "utf-8")
        subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp}/profile",
             "--no-pdf-header-footer", f"--print-to-pdf={out}", src.as_uri()],
            check=True, capture_output=True, timeout=120,
        )
    if not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"Chromium 未生成 PDF：{out} / Chromium did not write {out}")
    return out


def write_docx(title: str, body: list[Block], out: Path) -> Path:
    import docx

    document = docx.Document()
    document.core_properties.title = title
    if title:
        document.add_paragraph(title, style="Title")
    for b in body:
        if b.level is not None:
            document.add_paragraph(b.text, style=f"Heading {min(b.level, 3)}")
        else:
            document.add_paragraph(b.text)
    document.save(str(out))
    return out


def publish(raw: str, fmt: str, out: Path) -> Path:
    """Writes ``raw`` (a plain-text report) to ``out`` as ``docx``, ``pdf`` or ``html``."""
    title, body = blocks(raw)
    if fmt == "docx":
        return write_docx(title, body, out)
    if fmt == "html":
        out.write_text(article_html(title, body, site=True), "utf-8")
        return out
    if fmt == "pdf":
        css = PRINT_CSS % (title or SITE).replace('"', "")
        return print_pdf(article_html(title, body, site=False, print_css=css), out)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def publish_corpus(src: Path, fmt: str, out: Path) -> Path:
    """Every text report of ``src`` published as ``fmt`` under its own stem, so document ids (and
    the dataset's ``doc`` fields) stay the same; other files are copied as they are."""
    from rag.ingest.corpus import CorpusLoader

    out.mkdir(parents=True, exist_ok=True)
    loader = CorpusLoader(src)
    for p in loader.files():
        rel = p.relative_to(src)
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        if p.suffix.lower() in (".txt", ".md"):
            publish(p.read_text("utf-8"), fmt, (out / rel).with_suffix(f".{fmt}"))
        else:
            shutil.copyfile(p, out / rel)
    return out


def _squash(text: str) -> str:
    from rag.ingest.loaders import unify_radicals

    return "".join(unify_radicals(text).split())


def page_check(pipeline, questions: list[str], corpus: Path) -> dict[str, int]:
    """Asks each question and checks every PDF citation's page against that page alone, read
    again from the PDF: the cited text (up to 24 characters, within the page the map gives) must
    be printed on it. Returns how many PDF citations were checked and how many were right."""
    import pypdfium2 as pdfium

    pages: dict[str, list[str]] = {}
    checked = right = 0
    for q in questions:
        for c in pipeline.ask(q).citations:
            doc = pipeline.store.document(c.doc)
            if doc is None or doc.format != "pdf" or c.page is None:
                continue
            if doc.id not in pages:
                pdf = pdfium.PdfDocument(str(corpus / doc.source))
                pages[doc.id] = [_squash(pdf[i].get_textpage().get_text_range()) for i in range(len(pdf))]
                pdf.close()
            end = doc.pages[c.page] if c.page < len(doc.pages) else len(doc.text)
            window = _squash(doc.text[c.start:min(c.start + 24, end)])
            checked += 1
            right += bool(window) and window in pages[doc.id][c.page - 1]
    return {"pdf_citations": checked, "right_page": right}


def compare_formats(data, settings, formats: list[str], index_root: Path, *, progress: bool = False) -> list[dict]:
    """The same questions over the corpus as plain text and as each published format, one index
    per format, answered by the hybrid retriever in one run: a row per format with its accuracy
    and the difference from the text in points."""
    from rag.evaluation.runner import EvalRunner, open_pipeline

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="rag-formats-") as tmp:
        for fmt in ["text", *formats]:
            corpus = settings.corpus_dir if fmt == "text" else publish_corpus(settings.corpus_dir, fmt, Path(tmp) / fmt)
            conf = settings.model_copy(update={"corpus_dir": corpus, "index_dir": index_root / fmt,
                                               "auto_rebuild": True})
            with open_pipeline(data, conf, progress=progress) as (pipeline, doc_keys):
                runner = EvalRunner(pipeline, k=10, doc_keys=doc_keys, min_overlap=settings.eval_min_overlap,
                                    bootstrap_samples=settings.eval_bootstrap_samples, seed=settings.eval_seed)
                run = runner.run(data, "hybrid")
                s = run.summary
                row = {"format": fmt, "n": s["n"], "accuracy": s.get("accuracy"),
                       "answerable_accuracy": s.get("answerable_accuracy"),
                       "refusal_f1": (s.get("refusal") or {}).get("f1"),
                       "recall@5": s["retrieval"].get("recall@5"), "quote_violations": s.get("quote_violations"),
                       "skipped": list(pipeline.store.manifest.skipped),
                       "correct": sorted(r.id for r in run.results if r.correct)}
                if fmt == "pdf":
                    row |= page_check(pipeline, [i.question for i in data.items], corpus)
                rows.append(row)
    base = rows[0]
    for row in rows:
        row["delta_points"] = round(100 * ((row["accuracy"] or 0) - (base["accuracy"] or 0)), 1)
        row["lost"] = sorted(set(base["correct"]) - set(row["correct"]))
        row["gained"] = sorted(set(row["correct"]) - set(base["correct"]))
    return rows


def formats_table(rows: list[dict]) -> str:
    head = ("| format | n | accuracy | Δ vs text (points) | answerable acc. | refusal F1 | R@5 | quote violations"
            " | PDF citations on the right page |")
    out = [head, "|" + "---|" * 9]

    def pct(v):
        return "–" if v is None else f"{100 * v:.1f}%"

    for r in rows:
        pages = f"{r['right_page']}/{r['pdf_citations']}" if "pdf_citations" in r else "–"
        out.append(f"| {r['format']} | {r['n']} | {pct(r['accuracy'])} | {r['delta_points']:+.1f} | "
                   f"{pct(r['answerable_accuracy'])} | {pct(r['refusal_f1'])} | {pct(r['recall@5'])} | "
                   f"{r['quote_violations']} | {pages} |")
    return "\n".join(out)
