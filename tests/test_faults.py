"""Faults on disk: a damaged or stale index is rebuilt (``auto_rebuild``) or refused with a
message that says what to run; broken corpora fail with a clear message and no traceback; a
build killed halfway leaves the previous index usable. Everything runs on copies in tmp dirs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import SEED_DIR
from typer.testing import CliRunner

from rag.cli.main import app as cli
from rag.ingest.corpus import CorpusLoader
from rag.pipeline import build_index, open_index
from rag.stores.index import POINTER, IndexStore, IndexUnavailable

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC_DIR = ROOT / "tests" / "fixtures" / "synthetic"
RAG = str(Path(sys.executable).with_name("rag"))


@pytest.fixture(scope="module")
def pristine(tmp_path_factory, settings, pipeline) -> Path:
    """A small corpus (the synthetic reports) and its index, built once and copied per test."""
    root = tmp_path_factory.mktemp("pristine")
    shutil.copytree(SYNTHETIC_DIR, root / "corpus")
    build_index(_settings(settings, root), pipeline.embedder, progress=False)
    return root


@pytest.fixture
def site(tmp_path, pristine) -> Path:
    shutil.copytree(pristine, tmp_path / "site")
    return tmp_path / "site"


def _settings(base, root: Path, auto_rebuild: bool = True):
    return base.model_copy(update={"corpus_dir": root / "corpus", "index_dir": root / "index",
                                   "auto_rebuild": auto_rebuild})


def _build(root: Path) -> Path:
    index_dir = root / "index"
    return index_dir / (index_dir / POINTER).read_text("utf-8").strip()


def _edit_manifest(**changes) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        path = _build(root) / "manifest.json"
        manifest = json.loads(path.read_text("utf-8"))
        for key, value in changes.items():
            if value is None:
                manifest.pop(key)
            else:
                manifest[key] = value
        path.write_text(json.dumps(manifest), "utf-8")
    return edit


def _flip_bytes(name: str) -> Callable[[Path], None]:
    def flip(root: Path) -> None:
        path = _build(root) / name
        data = bytearray(path.read_bytes())
        for i in range(len(data) // 3, len(data) // 3 + 16):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    return flip


def _truncate(name: str) -> Callable[[Path], None]:
    def truncate(root: Path) -> None:
        path = _build(root) / name
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return truncate


def _append_to_corpus(root: Path) -> None:
    path = sorted((root / "corpus").iterdir())[0]
    path.write_text(path.read_text("utf-8") + "\n新增一段：今年新建口袋公园九十九个。\n", "utf-8")


FAULTS: dict[str, Callable[[Path], None]] = {
    "vectors.faiss deleted": lambda root: (_build(root) / "vectors.faiss").unlink(),
    "vectors.faiss corrupted": _flip_bytes("vectors.faiss"),
    "vectors.faiss truncated": _truncate("vectors.faiss"),
    "vectors.faiss emptied": lambda root: (_build(root) / "vectors.faiss").write_bytes(b""),
    "units.jsonl truncated": _truncate("units.jsonl"),
    "documents.json not JSON": lambda root: (_build(root) / "documents.json").write_text("{not json", "utf-8"),
    "bm25 deleted": lambda root: shutil.rmtree(_build(root) / "bm25"),
    "manifest not JSON": lambda root: (_build(root) / "manifest.json").write_text("garbage", "utf-8"),
    "manifest deleted": lambda root: (_build(root) / "manifest.json").unlink(),
    "manifest missing a field": _edit_manifest(model_id=None),
    "manifest corpus hash edited": _edit_manifest(corpus_hash="0" * 64),
    "manifest model edited": _edit_manifest(model_id="someone/else"),
    "manifest chunker edited": _edit_manifest(chunker={"name": "sentence", "max_chars": 1}),
    "manifest unit count edited": _edit_manifest(n_units=3),
    "manifest format from the future": _edit_manifest(format_version=99),
    "manifest file hashes edited": _edit_manifest(files={"vectors.faiss": "0" * 64}),
    "pointer to a missing build": lambda root: (root / "index" / POINTER).write_text("build-gone\n", "utf-8"),
    "pointer deleted": lambda root: (root / "index" / POINTER).unlink(),
    "index dir deleted": lambda root: shutil.rmtree(root / "index"),
    "corpus changed": _append_to_corpus,
    "corpus file added": lambda root: (root / "corpus" / "003_new.txt").write_text("一、新增\n新增报告正文。", "utf-8"),
    "corpus file renamed": lambda root: sorted((root / "corpus").iterdir())[0].rename(root / "corpus" / "zz_renamed.txt"),
}


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_is_refused_with_what_to_run(fault, site, settings, pipeline):
    FAULTS[fault](site)
    with pytest.raises(IndexUnavailable) as info:
        open_index(_settings(settings, site, auto_rebuild=False), pipeline.embedder, progress=False)
    message = str(info.value)
    assert "rag index" in message and "请" in message, message


@pytest.mark.parametrize("fault", FAULTS)
def test_fault_is_rebuilt(fault, site, settings, pipeline):
    FAULTS[fault](site)
    conf = _settings(settings, site)
    store = open_index(conf, pipeline.embedder, progress=False)
    assert store.manifest.corpus_hash == CorpusLoader(conf.corpus_dir).fingerprint()
    assert store.vectors.ntotal == len(store.units) == store.manifest.n_units > 0
    # the rebuilt index is the one on disk now, and it is whole
    reloaded = IndexStore.load(conf.index_dir)
    assert reloaded.path == store.path and reloaded.manifest == store.manifest
    assert [d.text for d in store.documents] == [d.text for d in CorpusLoader(conf.corpus_dir).load()]


def test_untouched_index_is_reused(site, settings, pipeline):
    before = _build(site)
    store = open_index(_settings(settings, site, auto_rebuild=False), pipeline.embedder, progress=False)
    assert store.path == before


# --------------------------------------------------------------------------- through the CLI


def _cli(*args: str, env: dict[str, str] | None = None):
    result = CliRunner().invoke(cli, list(args), env=env)
    output = result.output  # stdout and stderr as the terminal shows them
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in output
    return result.exit_code, output


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real command in its own process; a server that wrongly starts is stopped by the timeout."""
    return subprocess.run([RAG, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_serve_refuses_to_start_on_a_damaged_index(site):
    FAULTS["vectors.faiss corrupted"](site)
    result = _run("--corpus", str(site / "corpus"), "--index-dir", str(site / "index"), "serve",
                  "--host", "127.0.0.1", "--port", "0", env={"RAG_AUTO_REBUILD": "false"}, timeout=180)
    assert result.returncode != 0
    assert "rag index" in result.stderr and "vectors.faiss" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_invalid_utf8_names_file_and_byte_offset(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("一、总体要求\n今年经济增长5%左右。", "utf-8")
    (corpus / "bad.txt").write_bytes("一、总体".encode() + b"\xff\xfe" + "要求".encode())
    strict = _run("--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "index", "--strict")
    assert strict.returncode == 1 and "bad.txt" in strict.stderr and "byte offset 12" in strict.stderr
    assert not (tmp_path / "index" / POINTER).exists()
    result = _run("--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), "index")
    assert result.returncode == 0, result.stderr  # the good report is indexed, the bad one named
    assert "bad.txt" in result.stdout and "byte offset 12" in result.stdout and "第 12 字节" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    assert (tmp_path / "index" / POINTER).exists()


@pytest.mark.parametrize("case, expected", [
    ("empty dir", "No usable report files"),
    ("empty file", "File is empty"),
    ("blank file", "File is empty"),
    ("missing dir", "Corpus directory not found"),
    ("front matter only", "File is empty"),
])
def test_unusable_corpus_is_a_clear_error(tmp_path, case, expected):
    corpus = tmp_path / "corpus"
    if case != "missing dir":
        corpus.mkdir()
    contents = {"empty file": "", "blank file": " \n\u3000\n\t", "front matter only": "---\ntitle: 报告\n---\n"}
    if case in contents:
        (corpus / "report.txt").write_text(contents[case], "utf-8")
    for command in (["index"], ["ask", "今年GDP要涨多少？"], ["commitments"]):
        code, output = _cli("--corpus", str(corpus), "--index-dir", str(tmp_path / "index"), *command)
        assert code != 0 and expected in output, (command, output)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in output)


def test_killed_build_leaves_the_old_index_usable(site, settings, pipeline):
    """``rag index --force`` is SIGKILLed while it embeds; the index it was replacing still loads."""
    old = _build(site)
    old_manifest = IndexStore.load(site / "index").manifest
    big = site / "big-corpus"  # the seed report: its embedding takes long enough to be interrupted
    shutil.copytree(SEED_DIR, big)
    proc = subprocess.Popen([RAG, "--corpus", str(big), "--index-dir", str(site / "index"), "index", "--force"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not list((site / "index").glob(".staging-*")):
            assert proc.poll() is None, "the build ended before it could be interrupted"
            assert time.monotonic() < deadline, "the build never started"
            time.sleep(0.01)
        time.sleep(0.3)
        assert proc.poll() is None, "the build ended before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert list((site / "index").glob(".staging-*")), "the kill did not land mid-build"
    assert _build(site) == old
    store = IndexStore.load(site / "index")
    assert store.manifest == old_manifest and store.vectors.ntotal == len(store.units)
    assert open_index(_settings(settings, site, auto_rebuild=False), pipeline.embedder, progress=False).path == old


# --------------------------------------------------------------------------- concurrent builds


@pytest.mark.parametrize("n", [2, 4])
def test_concurrent_builds_leave_one_valid_index(n, site):
    """``n`` × ``rag index --force`` at once: the build lock makes them take turns, every one
    ends cleanly, and one whole build is left, named by ``CURRENT``."""
    args = [RAG, "--corpus", str(site / "corpus"), "--index-dir", str(site / "index"), "index", "--force"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(n)]
    results = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    for code, out, err in results:
        assert code == 0 and "Traceback" not in out + err, err
        assert "Index built" in out
    index_dir = site / "index"
    builds = [p.name for p in index_dir.iterdir() if p.is_dir()]
    assert len(builds) == 1 and builds[0].startswith("build-") and _build(site).name == builds[0]
    store = IndexStore.load(index_dir)
    assert store.vectors.ntotal == len(store.units) == store.manifest.n_units > 0


def test_a_second_build_waits_then_gives_up_with_a_message(tmp_path):
    from rag.core.locking import IndexBusy, build_lock

    said: list[str] = []
    with build_lock(tmp_path / "index"):
        with pytest.raises(IndexBusy) as info:
            with build_lock(tmp_path / "index", timeout_s=0.5, poll_s=0.05, notify=said.append):
                pass
    assert len(said) == 1 and "waiting" in said[0] and "等待" in said[0]
    assert "rag index" in str(info.value) and "请稍后" in str(info.value)
    with build_lock(tmp_path / "index", timeout_s=0):  # released with the first
        pass
