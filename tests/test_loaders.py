"""Reports as published: Word, printed PDF and government web pages, made here by the tests
(python-docx, headless Chromium, an HTML page with site furniture), plus a corrupt copy of each."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import SEED_DIR

from rag.evaluation.variants import chromium, print_pdf, publish
from rag.ingest.corpus import CorpusLoader
from rag.ingest.loaders import LoadError, extract, unify_radicals

SYNTHETIC = Path(__file__).parent / "fixtures" / "synthetic" / "001_sample.txt"
needs_chromium = pytest.mark.skipif(chromium() is None, reason="Chromium is not installed (make system-deps)")


def _radicals(text: str) -> list[str]:
    return [c for c in text if 0x2E80 <= ord(c) <= 0x2FDF]


def test_radicals_map_to_ideographs_and_nothing_else_moves():
    assert unify_radicals("⾯⻓⽑⾼⻝⻔⻢") == "面长毛高食门马"  # Kangxi (NFKC) and Supplement (table)
    kept = "（１）城镇新增就业：６万人以上，增长７％。"  # full-width forms the report itself uses
    assert unify_radicals(kept) == kept


# --- Word ------------------------------------------------------------------------------------


def _word_report(path: Path) -> Path:
    import docx
    from docx.enum.style import WD_STYLE_TYPE

    d = docx.Document()
    d.core_properties.title = "江城市2024年政府工作报告"
    d.add_paragraph("江城市2024年政府工作报告", style="Title")
    d.add_paragraph("过去一年工作回顾", style="Heading 1")  # a heading by style alone, no number typed
    d.add_paragraph("全市生产总值增长6.5%，达到1860亿元。")
    cn = d.styles.add_style("标题 2", WD_STYLE_TYPE.PARAGRAPH)  # the name Chinese Word gives its heading styles
    d.add_paragraph("重点工作", style=cn)
    for item in ("扩大有效投资。", "提振消费。"):
        d.add_paragraph(item, style="List Number")  # Word's automatic numbering
    d.add_paragraph("主要预期目标", style="Heading 1")
    table = d.add_table(rows=3, cols=2)
    for row, (k, v) in zip(table.rows, [("指标", "目标"), ("地区生产总值", "增长6%左右"), ("城镇新增就业", "5万人以上")]):
        row.cells[0].text, row.cells[1].text = k, v
    d.save(str(path))
    return path


def test_docx_headings_from_styles_tables_as_rows_and_numbering_kept(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _word_report(corpus / "jiangcheng.docx")
    doc = CorpusLoader(corpus).load()[0]
    assert (doc.format, doc.original_name, doc.title) == ("docx", "jiangcheng.docx", "江城市2024年政府工作报告")
    assert "地区生产总值：增长6%左右\n城镇新增就业：5万人以上" in doc.text
    assert "1. 扩大有效投资。\n2. 提振消费。" in doc.text
    titles = [s.title for s in doc.sections]
    assert "过去一年工作回顾" in titles and "重点工作" in titles and "主要预期目标" in titles
    sec = next(s for s in doc.sections if s.title == "主要预期目标")
    assert "城镇新增就业：5万人以上" in doc.text[sec.start:sec.end]


# --- web page --------------------------------------------------------------------------------


def test_html_keeps_the_report_and_drops_the_site(tmp_path):
    page = publish(SYNTHETIC.read_text("utf-8"), "html", tmp_path / "report.html")
    html = page.read_text("utf-8")
    assert "当前位置" in html and "相关阅读" in html and "网站标识码" in html  # the fixture has the furniture
    doc = CorpusLoader(tmp_path).load()[0]
    assert doc.format == "html" and doc.title == "青川市2024年政府工作报告"
    for furniture in ("当前位置", "发布时间", "【打印】", "分享到", "相关阅读", "常务会议", "网站标识码", "ICP备",
                      "热点专题", "脚本写入", "统计代码", "政务公开"):
        assert furniture not in doc.text, furniture
    assert "城镇新增就业5万人以上" in doc.text
    titles = [s.title for s in doc.sections]
    assert "第一部分 2023年工作回顾" in titles and "（一）扩大内需" in titles


def _one(folder: Path, name: str, text: str):
    """The report a corpus folder holding only ``name`` (with ``text``) yields."""
    (folder / name).write_text(text, "utf-8")
    return CorpusLoader(folder).load()[0]


def test_html_strong_paragraph_is_a_heading(tmp_path):
    doc = _one(tmp_path, "p.html",
               "<html><body><div class='nav'>首页</div><div id='zoom'><p><strong>稳就业</strong></p>"
               "<p>今年城镇新增就业5万人以上，城镇调查失业率控制在5.5%左右。</p><p><b>优生态</b></p>"
               "<p>空气质量优良天数比例达到80%以上，完成造林绿化任务。</p></div></body></html>")
    assert [s.title for s in doc.sections] == ["稳就业", "优生态"]
    assert "首页" not in doc.text


# --- PDF -------------------------------------------------------------------------------------


@needs_chromium
def test_pdf_text_pages_radicals_and_furniture(tmp_path):
    paragraphs = {
        1: "一、过去一年工作回顾\n全市生产总值增长6.5%，面向长远发展，毛利率与高质量发展并重，食品产业规模达到三百亿元。" * 1,
        2: "二、今年主要目标\n城镇新增就业5万人以上，居民消费价格涨幅3%左右，粮食产量稳定在一百五十万吨以上。",
        3: "三、加强政府自身建设\n坚持依法行政，自觉接受人大监督和政协民主监督，持续改进作风。",
    }
    body = "".join(
        f'<div style="page-break-before:{"always" if n > 1 else "auto"}">'
        + "".join(f'<p style="text-indent:2em">{line}</p>' for line in text.split("\n"))
        + "<p style='text-indent:2em'>" + "各项工作扎实推进，人民群众获得感幸福感安全感持续增强。" * 6 + "</p></div>"
        for n, text in paragraphs.items())
    css = ('@page { size: A4; margin: 2cm; @top-center { content: "江城市人民政府公报"; } '
           '@bottom-center { content: "— " counter(page) " —"; } } body { font-family: "Noto Sans CJK SC"; font-size: 15pt; }')
    pdf = print_pdf(f'<html><head><meta charset="utf-8"><style>{css}</style></head><body>{body}</body></html>',
                    tmp_path / "report.pdf")
    doc = CorpusLoader(tmp_path).load()[0]
    assert doc.format == "pdf" and len(doc.pages) == 3
    assert not _radicals(doc.text)
    assert "面向长远发展，毛利率与高质量发展并重，食品产业" in doc.text  # 面/长/毛/高/食 as ideographs
    assert "公报" not in doc.text and "— 1 —" not in doc.text and "—" not in doc.text
    for page, text in paragraphs.items():
        sentence = text.split("\n")[1][:20]
        assert doc.page_at(doc.text.index(sentence)) == page
    long = "各项工作扎实推进，人民群众获得感幸福感安全感持续增强。" * 6
    assert long in doc.text  # a paragraph broken over lines by layout is one line again
    assert [s.title for s in doc.sections if s.level == 1] == [t.split("\n")[0] for t in paragraphs.values()]
    assert pdf.stat().st_size > 0


@needs_chromium
def test_pdf_without_text_layer_asks_for_ocr(tmp_path):
    print_pdf('<html><body><svg width="400" height="300"><rect width="300" height="200" fill="#333"/>'
              '<circle cx="150" cy="100" r="60" fill="#ccc"/></svg></body></html>', tmp_path / "scan.pdf")
    with pytest.raises(LoadError, match="OCR") as err:
        extract(tmp_path / "scan.pdf")
    assert "文字识别" in str(err.value)


@needs_chromium
def test_pdf_extraction_reads_a_real_report_verbatim(tmp_path, seed_docs):
    """The seed report printed by Chromium comes back line for line as its plain text."""
    from rag.ingest.corpus import parse_document

    raw = (SEED_DIR / f"{seed_docs[0].id}.txt").read_text("utf-8")
    pdf = publish(raw, "pdf", tmp_path / "seed.pdf")
    got = extract(pdf)
    plain = [line.strip() for line in parse_document(raw, doc_id="x").text.splitlines() if line.strip()]
    assert got.text.splitlines() == plain
    assert not _radicals(got.text) and len(got.pages) > 1


# --- bad files -------------------------------------------------------------------------------


def _corrupt(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 3] + b"\x00garbage" * 8)
    return dst


@pytest.fixture()
def mixed_corpus(tmp_path) -> Path:
    """Good reports in every format, and a broken file of every kind beside them."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    raw = SYNTHETIC.read_text("utf-8")
    (corpus / "plain.txt").write_text(raw, "utf-8")
    publish(raw, "docx", corpus / "word.docx")
    publish(raw, "html", corpus / "web.html")
    _corrupt(corpus / "word.docx", corpus / "word_corrupt.docx")
    (corpus / "web_empty.html").write_bytes(b"")
    (corpus / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 64)
    (corpus / "draft.wps").write_bytes(b"WPS")
    (corpus / "locked.docx").write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 64)  # how Word saves an encrypted .docx
    (corpus / "notes.xlsx").write_bytes(b"PK\x03\x04")
    (corpus / ".gitkeep").write_bytes(b"")
    if chromium() is not None:
        publish(raw, "pdf", corpus / "printed.pdf")
        _corrupt(corpus / "printed.pdf", corpus / "printed_corrupt.pdf")
    return corpus


def test_bad_files_are_named_with_a_reason_and_the_rest_is_read(mixed_corpus):
    got = CorpusLoader(mixed_corpus).read()
    reasons = {s.source: s.reason for s in got.skipped}
    expected = {"word_corrupt.docx": "corrupt", "web_empty.html": "empty", "old.doc": ".doc",
                "draft.wps": "WPS", "locked.docx": "encrypted", "notes.xlsx": "unsupported"}
    if chromium() is not None:
        expected["printed_corrupt.pdf"] = "corrupt"
    for source, word in expected.items():
        assert word.lower() in reasons[source].lower(), (source, reasons.get(source))
        assert " / " in reasons[source] and any("\u4e00" <= c <= "\u9fff" for c in reasons[source])
    assert set(reasons) == set(expected)  # nothing else skipped, nothing skipped silently (.gitkeep is no report)
    formats = sorted(d.format for d in got.documents)
    assert formats == sorted(["txt", "docx", "html"] + (["pdf"] if chromium() else []))
    answers = {d.format: d for d in got.documents}
    for d in answers.values():
        assert "城镇新增就业5万人以上" in d.text


def test_fingerprint_covers_skipped_files(mixed_corpus):
    loader = CorpusLoader(mixed_corpus)
    before = loader.fingerprint()
    (mixed_corpus / "old.doc").unlink()
    assert loader.fingerprint() != before


def test_encrypted_pdf_is_named(tmp_path):
    pypdf = pytest.importorskip("pypdf", reason="pypdf makes the encrypted fixture")
    if chromium() is None:
        pytest.skip("Chromium is not installed (make system-deps)")
    plain = publish(SYNTHETIC.read_text("utf-8"), "pdf", tmp_path / "plain.pdf")
    writer = pypdf.PdfWriter(clone_from=str(plain))
    writer.encrypt(user_password="secret", owner_password="owner")
    with open(tmp_path / "locked.pdf", "wb") as f:
        writer.write(f)
    with pytest.raises(LoadError, match="encrypted"):
        extract(tmp_path / "locked.pdf")
    shutil.copy(plain, tmp_path / "copy.pdf")
    assert extract(tmp_path / "copy.pdf").text


@needs_chromium
def test_bench_measures_a_twenty_page_pdf(tmp_path):
    from rag.bench.context import BenchConfig
    from rag.bench.serving import Benchmark
    from rag.core.settings import Settings

    root = Path(__file__).resolve().parents[1]
    settings = Settings(corpus_dir=root / "corpus", index_dir=tmp_path / "index")
    report = Benchmark(settings, BenchConfig(dataset=root / "eval" / "dev.jsonl", phases=("pdf",)), log=lambda m: None).run()
    assert report["pdf"]["pages"] == 20 and report["pdf"]["chars"] > 10_000
    assert report["acceptance"]["pdf_extract_20_pages_s"]["met"] is not None  # measured, never asserted on time


def test_word_numbering_formats_render_as_a_reader_sees_them():
    from rag.ingest.loaders.numbering import chinese, format_number

    assert [chinese(n) for n in (1, 10, 12, 20, 35, 100, 105, 110)] == \
        ["一", "十", "十二", "二十", "三十五", "一百", "一百零五", "一百一十"]
    assert format_number(3, "chineseCounting") == "三" and format_number(3, "decimal") == "3"
    assert format_number(2, "lowerLetter") == "b" and format_number(4, "upperRoman") == "IV"


def test_gbk_page_is_decoded_by_its_declared_charset(tmp_path):
    page = ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>'
            '<div class="TRS_Editor"><p>一、总体要求</p><p>今年地区生产总值增长6%左右，城镇新增就业5万人以上。</p></div>'
            '</body></html>')
    (tmp_path / "gbk.htm").write_bytes(page.encode("gb18030"))
    doc = CorpusLoader(tmp_path).load()[0]
    assert "城镇新增就业5万人以上" in doc.text and doc.sections[0].title == "一、总体要求"


@needs_chromium
def test_scanned_pdf_is_read_by_ocr_when_tesseract_is_installed(tmp_path):
    import base64

    import pypdfium2 as pdfium

    from rag.ingest.loaders import ocr

    if not ocr.available():
        pytest.skip("Tesseract with chi_sim is not installed (optional: make system-deps)")
    text_pdf = print_pdf('<html><head><meta charset="utf-8"><style>body{font-family:"Noto Sans CJK SC";font-size:20pt}'
                         '</style></head><body><p>二、今年主要目标</p><p>城镇新增就业5万人以上，粮食产量稳定。</p>'
                         '</body></html>', tmp_path / "text.pdf")
    pdf = pdfium.PdfDocument(str(text_pdf))
    pdf[0].render(scale=150 / 72).to_pil().save(tmp_path / "scan.png")
    pdf.close()
    image = base64.b64encode((tmp_path / "scan.png").read_bytes()).decode()
    print_pdf(f'<html><body style="margin:0"><img style="width:100%" src="data:image/png;base64,{image}"></body></html>',
              tmp_path / "scan.pdf")
    got = extract(tmp_path / "scan.pdf")
    assert "城镇新增就业5万人以上" in got.text and got.pages == (0,)


# --- Markdown and scanned lines --------------------------------------------------------------

def test_markdown_report_loads_without_markup_and_with_declared_headings(tmp_path):
    doc = _one(tmp_path, "r.md",
               "---\ntitle: 白云市2025年政府工作报告\n---\n**政府工作报告**\n\n各位代表：\n\n**一、2024年工作回顾**\n\n"
               "地区生产总值**增长5%**。\n\n**（一）工业**\n\n| 指标 | 目标 |\n|---|---|\n| 工业增加值增长 | 6% |\n\n"
               "**二、2025年工作安排**\n\n今年增长5%左右。\n")
    assert doc.format == "md" and "*" not in doc.text and "|" not in doc.text
    assert "地区生产总值增长5%。" in doc.text and "工业增加值增长 6%" in doc.text  # a table row, its cells apart by a space
    assert [(s.title, s.parent) for s in doc.sections if s.id != "0"] == [
        ("一、2024年工作回顾", None), ("（一）工业", "1"), ("二、2025年工作安排", None)]


def test_ocr_lines_run_on_only_when_they_reach_the_margin():
    from rag.ingest.loaders.ocr import OcrLine, rejoin

    page = [OcrLine("政府工作报告", 600, 1000, 50), OcrLine("——2024年1月10日在白云市人民代表大会上", 300, 1300, 40),
            OcrLine("各位代表：", 180, 360, 40),
            OcrLine("现在，我代表市人民政府，向大会报告工作，请予审议，并请", 260, 1465, 40),
            OcrLine("市政协委员提出意见。", 180, 600, 40),
            OcrLine("过去一年，全市地区生产总值增长6.1%，城镇新增", 260, 1460, 40), OcrLine("就业5万人。", 180, 400, 40)]
    text, pages = rejoin([page, [OcrLine("一、总体要求", 180, 420, 40)]])
    assert text.splitlines() == ["政府工作报告", "——2024年1月10日在白云市人民代表大会上", "各位代表：",
                                 "现在，我代表市人民政府，向大会报告工作，请予审议，并请市政协委员提出意见。",
                                 "过去一年，全市地区生产总值增长6.1%，城镇新增就业5万人。", "一、总体要求"]
    assert text[pages[1]:].startswith("一、总体要求") and pages[0] == 0


@needs_chromium
def test_a_pdf_title_block_keeps_its_lines_in_the_full_text_view(tmp_path):
    """Issue 25, item 20: the title, the date line and 「各位代表：」 are lines of their own."""
    from ui.render import document_html

    centred = '<p style="text-align:center">{}</p>'
    print_pdf('<html><head><meta charset="utf-8"><style>body{font-family:"Noto Sans CJK SC";font-size:15pt}</style>'
              '</head><body><h1 style="text-align:center">政府工作报告</h1>'
              + centred.format("——2024年1月10日在白云市第十六届人民代表大会第二次会议上")
              + centred.format("白云市人民政府市长 张三") + "<p>各位代表：</p>"
              '<p style="text-indent:2em">现在，我代表市人民政府，向大会报告工作，请予审议，并请市政协委员提出意见。</p>'
              '<p style="text-indent:2em">一、2023年工作回顾</p></body></html>', tmp_path / "t.pdf")
    doc = CorpusLoader(tmp_path).load()[0]
    lines = [line.strip() for line in doc.text.splitlines() if line.strip()]
    assert lines[:4] == ["政府工作报告", "——2024年1月10日在白云市第十六届人民代表大会第二次会议上",
                         "白云市人民政府市长 张三", "各位代表："]
    assert "政府工作报告\n——2024年1月10日" in document_html(doc, "zh")  # shown with white-space: pre-wrap
