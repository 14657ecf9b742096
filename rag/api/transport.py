"""The HTTP protocol ``rag serve`` hands to uvicorn.

With ``--workers N`` uvicorn binds the listening socket itself without ``IPPROTO_TCP``, so
asyncio does not switch Nagle's algorithm off on accepted connections: every response written
as headers then body waits for the client's delayed ACK, ~40 ms each (measured: 80 ms instead
of 38 ms per question). Setting ``TCP_NODELAY`` per connection restores the single-worker path.
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)  # type: ignore[arg-type]
