"""``python -m rag.cli``: the same command as ``rag``."""

from rag.cli.main import app

app()
