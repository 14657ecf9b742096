"""Child processes of ``rag bench``: a ``rag`` command timed from spawn to exit with its own peak
RSS, and ``rag serve`` on a loopback port with a keep-alive client posting questions to it.

Children read the benchmark's settings through ``RAG_*`` variables, so they measure the same
corpus, index and model as the in-process phases."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rag.core.settings import Settings


def child_env(settings: Settings, **extra: str) -> dict[str, str]:
    """Children read the same settings through ``RAG_*`` variables, with absolute paths."""
    env = dict(os.environ)
    env.update({
        "RAG_CORPUS_DIR": str(Path(settings.corpus_dir).resolve()),
        "RAG_INDEX_DIR": str(Path(settings.index_dir).resolve()),
        "RAG_CACHE_DIR": str(Path(settings.cache_dir).resolve()),
        "RAG_MODEL": settings.model,
        "RAG_TORCH_THREADS": str(settings.torch_threads),
        "RAG_ENCODER": settings.encoder,
    })
    env.update(extra)
    return env


def rag_argv(*args: str) -> list[str]:
    """The installed ``rag`` script beside this interpreter, or ``python -m`` the CLI without it."""
    script = Path(sys.executable).with_name("rag")
    return [str(script), *args] if script.exists() else [sys.executable, "-m", "rag.cli.main", *args]


@dataclass
class ChildRun:
    """One finished child: wall seconds, its own peak RSS, exit code and output."""

    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


def run_child(argv: list[str], env: dict[str, str] | None = None, timeout: float = 600.0) -> ChildRun:
    """Wall time from spawn to exit, and the child's own peak RSS (``wait4``, not the whole family)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    return ChildRun(seconds, usage.ru_maxrss / 1024, proc.returncode, text, errors)


def tree_peak_rss_mb(pid: int) -> dict[str, float]:
    """VmHWM (peak RSS) of a process and its descendants, from /proc."""
    out: dict[str, float] = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text()
            hwm = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
            out[str(p)] = round(int(hwm.split()[1]) / 1024, 1)
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``rag serve`` on a free loopback port, ready when constructed, until ``stop``."""

    def __init__(self, settings: Settings, workers: int, timeout: float) -> None:
        self.port = _free_port()
        self.workers = workers
        argv = rag_argv("serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers))
        t0 = time.perf_counter()
        # the benchmark asks every question several times; a warm query cache would hide the encode
        self.proc = subprocess.Popen(argv, env=child_env(settings, RAG_QUERY_CACHE_SIZE="0"),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.perf_counter() - t0

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rag serve exited with code {self.proc.returncode}")
            try:
                conn = HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/api/health")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"rag serve did not answer within {timeout:.0f} s")

    def peak_rss_mb(self) -> dict[str, float]:
        return tree_peak_rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class AskClient:
    """One keep-alive connection posting to ``/api/ask``; raises on anything but a 200 answer."""

    def __init__(self, port: int) -> None:
        self.conn = HTTPConnection("127.0.0.1", port, timeout=60)

    def ask(self, question: str) -> dict:
        body = json.dumps({"question": question}, ensure_ascii=False).encode("utf-8")
        self.conn.request("POST", "/api/ask", body, {"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}")
        return json.loads(data)

    def close(self) -> None:
        self.conn.close()
