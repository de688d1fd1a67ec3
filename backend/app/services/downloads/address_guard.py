"""Keeps URL downloads off the server itself and the local network (SSRF).

A URL download is fetched by the server, so without a check anyone who may start one (a
non-admin key, or with auth off any local process) could make it read the server's own routes,
a cloud metadata service (169.254.169.254) or hosts behind the firewall. :class:`PinnedTransport`
resolves the host name once per request, refuses loopback, link-local, private, reserved and
multicast addresses, and connects to the very address it checked (the URL's host is replaced by
that address; the ``Host`` header and the TLS server name stay the original name). A DNS answer
that changes between the check and the connection (DNS rebinding) therefore cannot redirect it.
Each redirect hop passes through the transport again, so a public URL cannot redirect inward.

Failures to resolve or connect all read the same ("could not be reached"), so the downloader
cannot be used to tell closed ports from filtered ones.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

import httpx
import httpx2

from app.services.downloads.transfer import TransferFailed

UNREACHABLE = "could not be reached"


class BlockedAddress(TransferFailed):
    """The URL's host resolves to an address URL downloads may not use."""

    def __init__(self, host: str) -> None:
        super().__init__(
            f"The host '{host}' resolves to a loopback, link-local or private address; URL "
            "downloads from such addresses are refused (MP_DOWNLOAD_ALLOW_PRIVATE_URLS=true "
            "allows them).",
            code="blocked_address",
        )


def is_blocked(address: str) -> bool:
    """Whether ``address`` (an IP literal) is not a public unicast address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve_checked(host: str, port: int, allow_private: bool) -> str:
    """One address of ``host`` that may be used; :class:`BlockedAddress` if any answer is
    blocked (an attacker's name may list a public and a private address), or a uniform
    :class:`httpx.ConnectError` when the name does not resolve."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise httpx.ConnectError(UNREACHABLE) from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise httpx.ConnectError(UNREACHABLE)
    if not allow_private and any(is_blocked(a.split("%", 1)[0]) for a in addresses):
        raise BlockedAddress(host)
    return addresses[0]


def pin(request: Any, allow_private: bool) -> None:
    """Point ``request`` (an ``httpx`` or ``httpx2`` request: the same interface) at a
    checked address of its host, keeping the name for ``Host`` and TLS (module docstring)."""
    host = request.url.host
    port = request.url.port or (443 if request.url.scheme == "https" else 80)
    address = resolve_checked(host, port, allow_private)
    if address != host:
        request.url = request.url.copy_with(host=address)
        if request.url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}


class PinnedTransport(httpx.HTTPTransport):
    """An HTTP transport that connects only to checked addresses (see the module docstring)."""

    def __init__(self, allow_private: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.allow_private = allow_private

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        pin(request, self.allow_private)
        try:
            return super().handle_request(request)
        except httpx.ConnectError as exc:  # refused, unreachable, timed out: one message
            raise httpx.ConnectError(UNREACHABLE, request=request) from exc


class PinnedAsyncTransport(httpx2.AsyncHTTPTransport):
    """The same check for the async ``httpx2`` client the MCP SDK speaks through (HTTP MCP
    servers are fetched by this server just as URL downloads are)."""

    def __init__(self, allow_private: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.allow_private = allow_private

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        # getaddrinfo blocks: off the event loop.
        await asyncio.to_thread(pin, request, self.allow_private)
        return await super().handle_async_request(request)
