"""``rag bench``: a tiny run yields the report contract (every figure with its floor and ratio),
leaves the shared pipeline as it found it, and the query cache behaves as an LRU.
No timing is asserted: the machine is shared and noisy."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rag.bench.context import BenchConfig
from rag.bench.inprocess import STAGES
from rag.bench.report import acceptance, write_report
from rag.bench.scale import scale_benchmark
from rag.bench.serving import Benchmark
from rag.bench.stats import summary
from rag.embed.embedder import Embedder
from rag.embed.plan import EncoderPlan

DATASET = Path(__file__).resolve().parents[1] / "eval" / "dev.jsonl"


def _positive(x) -> bool:
    return isinstance(x, float | int) and x > 0


def test_summary_is_median_and_nearest_rank_p95():
    assert summary([3.0, 1.0, 2.0]) == {"p50": 2.0, "p95": 3.0, "n": 3}
    assert summary(list(map(float, range(1, 101))))["p95"] == 95.0
    assert summary([]) == {"p50": 0.0, "p95": 0.0, "n": 0}


def test_acceptance_reads_the_targets_from_the_report():
    report = {
        "inprocess": {"ratio_p50": 1.1},
        "http": {"latency": {"ratio_p50": 1.7},
                 "servers": {"2": {"peak_rss_mb": {"10": 90.0, "11": 900.0, "12": 880.0}, "peak_rss_total_mb": 1870.0}},
                 "throughput": [{"workers": 1, "clients": 1, "rps": 4.0, "errors": 0},
                                {"workers": 1, "clients": 16, "rps": 3.0, "errors": 2}]},
    }
    got = acceptance(report)
    assert got["ask_p50_vs_encode"]["met"] is True
    assert got["http_p50_vs_encode"]["met"] is False
    assert got["peak_rss_mb"] == {"value": 900.0, "limit": 1000.0, "met": True}  # per process, not summed
    assert got["throughput_wide_vs_single"]["value"] == 0.75 and got["throughput_wide_vs_single"]["met"] is False
    assert got["throughput_errors"]["met"] is False
    assert got["help_seconds"]["met"] is None  # phase not run
    assert got["answer_differences"]["met"] is None and got["throughput_16_on_2_vs_1"]["met"] is None


def test_acceptance_of_the_lean_serving_targets():
    report = {
        "inprocess": {"rest_vs_encode": 0.15},
        "cold": {"ratio": 1.3},
        "encoders": {"answers": {"compared": 250, "differences": 0}},
        "http": {"throughput": [{"workers": 2, "clients": 1, "rps": 10.0, "errors": 0, "ratio_to_1_client": 1.0},
                                {"workers": 2, "clients": 16, "rps": 19.0, "errors": 0, "ratio_to_1_client": 1.9}]},
    }
    got = acceptance(report)
    assert got["rest_vs_encode"]["met"] is True and got["cold_vs_torch_load"]["met"] is False
    assert got["throughput_16_on_2_vs_1"] == {"value": 1.9, "limit": 1.8, "met": True}
    assert got["answer_differences"] == {"value": 0, "limit": 0, "met": True}


def test_query_cache_is_lru_and_skips_the_model(tmp_path, monkeypatch):
    embedder = Embedder(EncoderPlan(models_dir=tmp_path, query_cache_size=2))
    calls: list[list[str]] = []

    def fake_encode(texts, prompt_names, *, progress):
        calls.append(list(texts))
        return np.array([[float(len(t)), float(ord(t[0]))] for t in texts], dtype=np.float32)

    monkeypatch.setattr(embedder, "_encode", fake_encode)
    first = embedder.encode_queries(["甲", "乙乙"])
    again = embedder.encode_queries(["乙乙", "甲"])
    assert calls == [["甲", "乙乙"]]  # the second call never reached the model
    assert np.array_equal(again, first[::-1])
    again[0, 0] = -1  # callers get copies: the cache cannot be corrupted through a result
    assert embedder.encode_queries(["乙乙"])[0, 0] == 2.0
    embedder.encode_queries(["丙"])  # evicts the least recently used, "甲"
    embedder.encode_queries(["甲", "乙乙"])
    assert calls[-1] == ["甲"] and len(calls) == 3
    embedder.clear_query_cache()
    embedder.encode_queries(["乙乙"])
    assert calls[-1] == ["乙乙"] and len(calls) == 4


def test_query_cache_off_always_encodes(tmp_path, monkeypatch):
    embedder = Embedder(EncoderPlan(models_dir=tmp_path, query_cache_size=0))
    calls = []
    monkeypatch.setattr(embedder, "_encode",
                        lambda texts, names, progress: calls.append(texts) or np.ones((len(texts), 2), np.float32))
    embedder.encode_queries(["甲"])
    embedder.encode_queries(["甲"])
    assert len(calls) == 2


def test_encodes_beyond_the_gate_wait_their_turn(tmp_path):
    import threading

    embedder = Embedder(EncoderPlan(models_dir=tmp_path, max_concurrent_encodes=2))
    lock, state = threading.Lock(), {"active": 0, "peak": 0}

    class Model:
        prompts = {"query": "query: "}

        def encode(self, texts, **kwargs):
            with lock:
                state["active"] += 1
                state["peak"] = max(state["peak"], state["active"])
            threading.Event().wait(0.05)  # long enough for the other threads to pile up
            with lock:
                state["active"] -= 1
            return np.ones((len(texts), 2), np.float32)

    embedder._model = Model()
    threads = [threading.Thread(target=embedder.encode_queries, args=([f"问题{i}"],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["peak"] == 2


def test_cached_query_vector_equals_a_fresh_encode(pipeline):
    q = "今年城镇新增就业目标是多少？"
    cached = pipeline.embedder.encode_queries([q])
    fresh = pipeline.embedder._encode([q], ("query",), progress=False)
    assert np.allclose(cached, fresh, atol=1e-6)
    assert np.array_equal(pipeline.embedder.encode_queries([q]), cached)


def test_tiny_in_process_bench_report(settings, pipeline, tmp_path):
    config = BenchConfig(dataset=DATASET, queries=2, cached_queries=1, startup_runs=1, answer_check=3, passages=20,
                         phases=("startup", "build", "encoders", "inprocess"))
    report = Benchmark(settings, config, pipeline=pipeline).run()

    inproc = report["inprocess"]
    assert set(inproc["stages_ms"]) == set(STAGES)
    assert all(inproc["stages_ms"][s]["n"] == 2 for s in STAGES)
    assert _positive(inproc["floor_encode_ms"]["p50"]) and _positive(inproc["ratio_p50"])
    assert inproc["ratio_p50"] == round(inproc["stages_ms"]["ask"]["p50"] / inproc["floor_encode_ms"]["p50"], 3)
    assert _positive(inproc["stages_ms"]["encode"]["p50"])  # the real ask() path was timed, stage by stage
    assert inproc["ask_cached_ms"]["n"] == 1 and _positive(inproc["cached_ratio_p50"])
    assert _positive(inproc["rest_vs_encode"]) and inproc["encoder"] == "onnx"

    enc = report["encoders"]  # torch and ONNX side by side, and the same answers from both
    assert enc["torch_encode_ms"]["n"] == enc["onnx_encode_ms"]["n"] == 2 and _positive(enc["onnx_vs_torch_p50"])
    assert enc["answers"] == {"against": "torch", "compared": 3, "differences": 0, "differing": []}
    assert report["acceptance"]["answer_differences"]["met"] is True

    build = report["build"]  # the build beside the bare batched encode of the texts it embedded
    assert build["units"] == len(pipeline.store.units) and build["chars"] > 0 and build["reports"] == 1
    assert build["embedded"] == len({u.embed_text for u in pipeline.store.units})
    assert _positive(build["build_vs_bare"]) and _positive(build["build_units_per_s"])
    rates = build["encode_units_per_s"]  # the same passages through 2-thread torch and each ONNX batch size
    assert set(rates) == {"torch_2_threads", "onnx_batch_16", "onnx_batch_32", "onnx_batch_64"}
    assert all(r["n"] == 3 and _positive(r["p50"]) for r in rates.values()) and _positive(build["onnx_vs_torch_2"])
    assert report["acceptance"]["build_vs_bare_encode"]["value"] == build["build_vs_bare"]
    assert build["recall_at_10"] >= 0.99 and build["recall_at_10_one_report"] >= 0.99  # compact store vs exact

    start = report["startup"]
    assert _positive(start["help_ratio"]) and start["info_imports_torch"] is False

    assert set(report["acceptance"]) >= {"ask_p50_vs_encode", "help_seconds", "http_p50_vs_encode"}
    assert report["acceptance"]["http_p50_vs_encode"]["met"] is None  # not run, not invented
    # the shared pipeline is left unpatched and still answers
    assert "encode_queries" not in vars(pipeline.embedder) and "run" not in vars(pipeline.composer)
    assert pipeline.ask("今年GDP要涨多少？").found

    js, md = write_report(report, tmp_path)
    assert json.loads(js.read_text("utf-8"))["inprocess"]["ratio_p50"] == inproc["ratio_p50"]
    text = md.read_text("utf-8")
    assert "| ask |" in text and "## Index build" in text and "## HTTP" not in text
    assert "## Encoders" in text and "| ONNX Runtime |" in text


def test_tiny_bench_over_processes_and_http(settings, pipeline):
    """Cold start in a fresh `rag ask`, and `rag serve` on loopback with 1 and 2 clients."""
    config = BenchConfig(dataset=DATASET, queries=2, cold_runs=1, clients=(1, 2), workers=(1,), seconds=0.5,
                         max_requests=4, phases=("cold", "http"))
    report = Benchmark(settings, config, pipeline=pipeline).run()

    cold = report["cold"]
    assert cold["errors"] == 0
    assert _positive(cold["ratio"]) and _positive(cold["system_peak_rss_mb"]["p50"])

    http = report["http"]
    assert http["latency"]["errors"] == 0 and http["latency"]["ask_ms"]["n"] == 2
    assert _positive(http["latency"]["ratio_p50"])
    rows = http["throughput"]
    assert [(r["workers"], r["clients"]) for r in rows] == [(1, 1), (1, 2)]
    assert all(r["errors"] == 0 and 0 < r["requests"] <= 4 for r in rows)
    assert rows[0]["ratio_to_1_client"] == 1.0 and _positive(rows[1]["ratio_to_floor"])
    assert http["servers"]["1"]["peak_rss_total_mb"] > 0
    assert report["acceptance"]["throughput_errors"]["met"] is True


def test_scale_benchmark_reports_each_index_type():
    report = scale_benchmark(n=2000, dim=32, queries=5, k=5, pq_m=8, pq_bits=4,
                             unit_tokens=[["就业", "增长"], ["投资", "项目", "建设"]],
                             query_tokens=[["无关"], ["就业", "无关"]])
    assert set(report["faiss"]) == {"flat", "hnsw32", "ivf_pq8"}
    assert report["faiss"]["flat"]["recall_at_5"] == 1.0  # the exact search is its own truth
    assert all(0 <= r["recall_at_5"] <= 1 and r["memory_mb"] > 0 for r in report["faiss"].values())
    assert report["faiss"]["ivf_pq8"]["memory_mb"] < report["faiss"]["flat"]["memory_mb"]
    # a question with no indexed word is left out rather than timed as an empty query
    assert report["bm25"]["units"] == 2000 and report["bm25"]["get_scores_ms"]["n"] == 1


def test_cli_rejects_unknown_phase():
    from typer.testing import CliRunner

    from rag.cli.main import app

    result = CliRunner().invoke(app, ["bench", "--skip", "cold,warp"])
    assert result.exit_code == 2 and "warp" in result.output


def test_multi_worker_connections_get_tcp_nodelay():
    """uvicorn binds the --workers socket with proto 0, so asyncio leaves Nagle on; our protocol
    switches it off, or each answer waits for a delayed ACK."""
    import asyncio
    import socket

    import uvicorn
    from uvicorn.server import ServerState

    from rag.api.transport import GuardedH11Protocol

    class Transport:
        def __init__(self, sock: socket.socket) -> None:
            self.sock = sock

        def get_extra_info(self, name, default=None):
            extra = {"socket": self.sock, "peername": self.sock.getpeername(), "sockname": self.sock.getsockname()}
            return extra.get(name, default)

        def is_closing(self) -> bool:
            return False

    async def app(scope, receive, send):  # never called: no request is sent
        raise AssertionError

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:  # as uvicorn.Config.bind_socket
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()):
            conn, _ = listener.accept()
            with conn:
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
                loop = asyncio.new_event_loop()
                try:
                    protocol = GuardedH11Protocol(uvicorn.Config(app), ServerState(), {}, _loop=loop)
                    protocol.connection_made(Transport(conn))
                finally:
                    loop.close()
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def test_build_sample_is_deterministic_and_keeps_the_layout(tmp_path):
    from rag.bench.build import sample_corpus

    src = tmp_path / "src"
    for level in ("a", "b"):
        for year in range(2019, 2024):
            (src / level / "place").mkdir(parents=True, exist_ok=True)
            (src / level / "place" / f"{year}.md").write_text(f"{level}{year}", "utf-8")
    one = sample_corpus(src, 4, tmp_path / "one")
    two = sample_corpus(src, 4, tmp_path / "two")
    assert one == two and len(set(one)) == 4 and {p.parent.parent.name for p in one} == {"a", "b"}
    assert sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*.md")) == \
        sorted(p.relative_to(src) for p in one)
    assert len(sample_corpus(src, 0, tmp_path / "all")) == 10
