"""The one base class of the product's own errors, so that each edge maps them in one place."""

from __future__ import annotations


class RagError(Exception):
    """An expected failure (bad input, a missing index or model, a busy build) whose message is
    already written for the person at the edge, in Chinese and English ("中文 / English").

    The CLI prints it and exits 1; the API logs it and answers 503. Subclasses keep the builtin
    base they had (``class CorpusError(RagError, ValueError)``), so existing catches still hold."""
