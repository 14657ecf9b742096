"""The HTTP phase of ``rag bench``: ``rag serve`` on loopback, latency with one client beside
the bare encode, then throughput for each worker count and client count."""

from __future__ import annotations

import threading
import time
from typing import Any

from rag.bench.context import BenchContext
from rag.bench.processes import AskClient, Server
from rag.bench.stats import ratio, summary

#: What a failed request raises (connection, non-200 answer, bad JSON): counted, never fatal.
_REQUEST_ERRORS = (OSError, RuntimeError, ValueError)


def http(ctx: BenchContext) -> dict:
    """Latency over loopback (1 worker) and throughput for each worker count and client count."""
    out: dict[str, Any] = {"throughput": [], "servers": {}}
    floor_rps = None
    for workers in ctx.config.workers:
        ctx.log(f"  server with {workers} worker(s)")
        server = Server(ctx.settings, workers, ctx.config.server_timeout)
        try:
            _warm(ctx, server)
            if "latency" not in out:
                out["latency"] = _latency(ctx, server)
                floor_rps = 1000 / out["latency"]["floor_encode_ms"]["p50"]
            for clients in ctx.config.clients:
                row = _throughput(ctx, server, clients)
                row["ratio_to_floor"] = ratio(row["rps"], floor_rps or 0)
                out["throughput"].append(row)
            rss = server.peak_rss_mb()
            out["servers"][str(workers)] = {"startup_s": round(server.startup_seconds, 3),
                                            "peak_rss_mb": rss, "peak_rss_total_mb": round(sum(rss.values()), 1)}
        finally:
            server.stop()
    out["floor_rps"] = round(floor_rps, 3) if floor_rps else None
    for row in out["throughput"]:
        base = next(r for r in out["throughput"] if r["workers"] == row["workers"] and r["clients"] == 1)
        row["ratio_to_1_client"] = ratio(row["rps"], base["rps"]) if base else None
    return out


def _warm(ctx: BenchContext, server: Server) -> None:
    """Enough concurrent requests that every worker has answered a few before the clock starts."""
    qs = ctx.warmup_questions(2 * server.workers)
    threads = [threading.Thread(target=_ask_all, args=(server.port, qs)) for _ in qs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _ask_all(port: int, questions: list[str]) -> None:
    client = AskClient(port)
    try:
        for q in questions:
            client.ask(q)
    except _REQUEST_ERRORS:
        pass  # warm-up only
    finally:
        client.close()


def _latency(ctx: BenchContext, server: Server) -> dict:
    """One client, each question once, alternating with the floor encode of the same question."""
    client = AskClient(server.port)
    system, floor, errors = [], [], 0
    try:
        for q in ctx.questions(ctx.config.queries):
            floor.append(ctx.floor_encode_ms(q))
            t0 = time.perf_counter()
            try:
                client.ask(q)
            except _REQUEST_ERRORS:
                errors += 1
                client.close()
                client = AskClient(server.port)
                continue
            system.append((time.perf_counter() - t0) * 1000)
    finally:
        client.close()
    sys_s, floor_s = summary(system), summary(floor)
    return {"ask_ms": sys_s, "floor_encode_ms": floor_s, "errors": errors,
            "ratio_p50": ratio(sys_s["p50"], floor_s["p50"]), "ratio_p95": ratio(sys_s["p95"], floor_s["p95"])}


def _throughput(ctx: BenchContext, server: Server, clients: int) -> dict:
    """``clients`` threads, each one keep-alive connection, until the time or request budget runs out."""
    questions = ctx.all_questions
    lock = threading.Lock()
    state = {"next": 0, "ok": 0, "errors": 0}
    latencies: list[float] = []
    deadline = time.perf_counter() + ctx.config.seconds

    def take() -> str | None:
        with lock:
            if time.perf_counter() >= deadline or state["next"] >= ctx.config.max_requests:
                return None
            state["next"] += 1
            return questions[state["next"] % len(questions)]

    def client_loop() -> None:
        client = AskClient(server.port)
        try:
            while (q := take()) is not None:
                t0 = time.perf_counter()
                try:
                    client.ask(q)
                    ok = True
                except _REQUEST_ERRORS:
                    ok = False
                    client.close()
                    client = AskClient(server.port)
                with lock:
                    state["ok" if ok else "errors"] += 1
                    if ok:
                        latencies.append((time.perf_counter() - t0) * 1000)
        finally:
            client.close()

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"workers": server.workers, "clients": clients, "requests": state["ok"], "errors": state["errors"],
            "seconds": round(elapsed, 3), "rps": round(state["ok"] / elapsed, 3) if elapsed else 0.0,
            "latency_ms": summary(latencies)}
