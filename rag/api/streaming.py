"""Server-sent events whose failure mid-stream still ends in a well-formed message.

Once a streamed response has started, a failure cannot become a 500: the stream ends with an error
message in the protocol's own shape, and the details go to the log. ``/api/ask/stream`` and
``/v1/chat/completions`` differ only in how they frame an event and an error.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from rag.api.errors import DEFAULTS

log = logging.getLogger("rag.api")


async def guarded_sse(events: AsyncIterator[dict], frame: Callable[[dict], str],
                      error_frame: Callable[[str, str], str], what: str) -> AsyncIterator[str]:
    """``frame(event)`` for each event; on a failure, ``error_frame(code, message)`` and the log."""
    try:
        async for event in events:
            yield frame(event)
    except Exception:
        log.exception("%s failed", what)
        code, message = DEFAULTS[500]
        yield error_frame(code, message)
