"""``rag --help`` and every command's ``--help`` stay instant: no heavy module is imported to print them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["index", "add", "ask", "serve", "mcp", "info", "commitments", "eval", "train", "export-beir", "bench"]
_PROBE = """
import json, sys
from typer.testing import CliRunner
from rag.cli.main import app
codes = [CliRunner().invoke(app, args).exit_code for args in [["--help"]] + [[c, "--help"] for c in sys.argv[1:]]]
heavy = ("torch", "sentence_transformers", "numpy", "onnxruntime", "fastapi", "gradio", "rag.pipeline")
print(json.dumps({"codes": codes, "heavy": sorted(m for m in heavy if m in sys.modules),
                  "listed": CliRunner().invoke(app, ["--help"]).output}))
"""


def test_help_lists_every_command_and_imports_nothing_heavy():
    out = subprocess.run([sys.executable, "-c", _PROBE, *COMMANDS], cwd=ROOT, capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    got = json.loads(out.stdout)
    assert got["codes"] == [0] * (len(COMMANDS) + 1)
    assert got["heavy"] == []
    assert all(f"  {c} " in got["listed"] for c in COMMANDS)
