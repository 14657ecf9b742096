"""The README's examples run as written (issue 25): every code block the README marks with
``<!-- example: runs -->`` (commands, or Python) or ``<!-- example: runs against the server -->``
(curl against port 8000) is run here, each command as a shell would, and must succeed.

They run from a scratch folder that holds the repository's ``eval/`` (by link) and nothing else,
so an example's output file (``--out targets.csv``) lands there; ``.venv/bin/`` is this
interpreter's folder, and the settings name the tests' own copy of the shipped report
(``conftest``), so examples see the shipped report whatever ``corpus/`` holds."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, serve_in_thread

README = ROOT / "README.md"
MARK = re.compile(r"^<!-- example: runs( against the server)? -->\n```(\w+)\n(.*?)^```", re.M | re.S)
TIMEOUT_S = 600


def _blocks(server: bool) -> list[tuple[str, str]]:
    """(language, code) of each marked block: the server ones, or the others."""
    return [(lang, code) for against, lang, code in MARK.findall(README.read_text("utf-8"))
            if bool(against) == server]


def _commands(code: str) -> list[str]:
    """A shell block's commands: continuation lines joined, comment lines (shown output) dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _run(command: str, cwd: Path, *, port: int | None = None) -> subprocess.CompletedProcess:
    command = re.sub(r"(?<![\w/.])\.venv/bin/", str(Path(sys.executable).parent) + "/", command)
    if port is not None:
        command = command.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT_S)


@pytest.fixture()
def scratch(tmp_path, pipeline) -> Path:  # ``pipeline``: the tests' index is built before the examples use it
    (tmp_path / "eval").symlink_to(ROOT / "eval")
    return tmp_path


def test_the_readme_marks_its_examples():
    blocks = _blocks(server=False)
    assert {lang for lang, _ in blocks} == {"bash", "python"}
    assert sum(len(_commands(code)) for lang, code in blocks if lang == "bash") >= 5
    assert _blocks(server=True)


def test_every_marked_example_runs_as_written(scratch):
    failed = []
    for lang, code in _blocks(server=False):
        for command in _commands(code) if lang == "bash" else [f"{sys.executable} - <<'PY'\n{code}PY"]:
            done = _run(command, scratch)
            if done.returncode != 0:
                failed.append(f"{command}\n  exit {done.returncode}: {(done.stderr or done.stdout)[-400:]}")
    assert not failed, "\n".join(failed)
    assert (scratch / "targets.csv").stat().st_size > 0  # the example's output, where it said


def test_every_curl_example_runs_against_a_server(settings, pipeline, tmp_path):
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    from rag.api.app import create_app

    serving = serve_in_thread(create_app(settings, pipeline))
    port = next(serving)
    try:
        failed = []
        for _, code in _blocks(server=True):
            for command in _commands(code):
                done = _run(command.replace("curl -s", "curl -s -f"), tmp_path, port=port)
                if done.returncode != 0 or not done.stdout.strip():
                    failed.append(f"{command}\n  exit {done.returncode}: {done.stderr[-300:]}")
        assert not failed, "\n".join(failed)
    finally:
        next(serving, None)
