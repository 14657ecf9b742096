"""The HTTP protocol ``rag serve`` hands to uvicorn.

- ``TCP_NODELAY`` on every connection. With ``--workers N`` uvicorn binds the listening socket
  itself without ``IPPROTO_TCP``, so asyncio does not switch Nagle's algorithm off on accepted
  connections: every response written as headers then body waits for the client's delayed ACK,
  ~40 ms each (measured: 80 ms instead of 38 ms per question).
- A header-read timeout, which uvicorn lacks: a connection whose request line and headers are
  not complete ``header_timeout_s`` after it opened (or after its next request began) is
  closed, so slow clients sending a byte at a time cannot hold connections open for ever. A
  reverse proxy that enforces its own (nginx ``client_header_timeout``) may set it to 0.
"""

from __future__ import annotations

import asyncio
import socket

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class GuardedH11Protocol(H11Protocol):
    #: Seconds; None reads ``RAG_HEADER_TIMEOUT_S`` (workers build their settings from the environment).
    header_timeout_s: float | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)  # type: ignore[arg-type]
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def _timeout(self) -> float:
        if self.header_timeout_s is None:
            from rag.core.settings import get_settings

            type(self).header_timeout_s = get_settings().header_timeout_s
        return self.header_timeout_s or 0.0

    def _arm_header_timer(self) -> None:
        if self._header_timer is None and self._timeout() > 0:
            self._header_timer = self.loop.call_later(self._timeout(), self._header_timeout)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("closing a connection whose request headers took over %.0f s", self._timeout())
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:  # a request has begun but its headers are not all here
            self._arm_header_timer()
        else:
            self._disarm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)


def protocol(header_timeout_s: float) -> type[GuardedH11Protocol]:
    """The protocol with its timeout bound, for a server started in this process."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"header_timeout_s": header_timeout_s})
