"""Closes connections of clients that send a request too slowly (slowloris and slow bodies).

uvicorn 0.54 times out idle keep-alive connections (``timeout_keep_alive``) but has no limit on
how long a client may take to send its headers or body: one socket trickling a byte every few
seconds holds a connection (and its file descriptor) forever, and enough of them exhaust the
server. This protocol class, given to ``uvicorn.run(http=...)``, adds that limit on top of
uvicorn's own httptools protocol: the headers must be complete within ``timeout`` seconds of
their first byte, and while the body arrives no pause may last longer than ``timeout``. Once
the request is read, the response may take as long as it needs (streams are unaffected).
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on reading each request."""

    read_timeout: float = 10.0

    _phase: str = "headers"  # headers -> body -> done, then headers again on the next request
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._phase = "headers"
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == "done":  # first bytes of the next request on a kept-alive connection
            self._phase = "headers"
            self._arm()
        elif self._phase == "body":
            self._arm()  # the body limit is on pauses, not on its total time
        super().data_received(data)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._phase = "body"
        self._arm()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = "done"
        self._disarm()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = asyncio.get_running_loop().call_later(self.read_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self._phase == "body" and self.flow is not None and self.flow.read_paused:
            self._arm()  # we stopped reading (the app is behind), not the client
            return
        if self._phase != "done" and not self.transport.is_closing():
            log.warning("closing a connection that sent its request too slowly (%s)", self._phase)
            self.transport.close()


def guarded_protocol(read_timeout: float) -> type[GuardedHttpToolsProtocol]:
    """The protocol class with ``read_timeout`` seconds for headers and for body pauses."""
    return type("GuardedHttpTools", (GuardedHttpToolsProtocol,), {"read_timeout": read_timeout})
