"""Resumable transfer of one file over HTTP into a ``.part`` file, with hash verification.

Each file is fetched with ``Range: bytes=N-`` where N is what is already on disk, so a drop, a
cancel or a killed process costs only the bytes in flight. huggingface_hub's ``http_get`` also
resumes with Range, but into its own cache layout and without a cancel between reads, progress
per read, or hashing as the bytes arrive; those are why this transfer is written here.
Transient failures (connection errors, timeouts, 408/429/502/503/504) are retried with the
shared policy of :mod:`app.core.resilience`. The hash (sha256 for Hub LFS files and URLs given a
digest, git blob sha1 for small Hub files) is computed while the bytes arrive, in a second thread
(:mod:`~app.services.downloads.hashing`), so verification adds no extra pass over the file.

httpx sends the request, follows redirects (each hop through the client's transport, so the
address guard of URL jobs sees every connection) and parses the headers. A body of 1 MiB or more
with a known length is then received from the connection's socket in reads of up to 1 MiB,
straight into the hasher's buffers, instead of through httpx's 64 KiB reads (see
``_bulk_socket``); smaller or chunked bodies keep httpx's reads. Either way every read is written
to the ``.part`` file and reported before the next one, and a cancel shuts the socket down, which
ends a read that is blocked on a silent server.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import httpx
from tenacity import Retrying

from app.core.resilience import RETRY_STATUSES, TransientError, retry_policy
from app.services.downloads.hashing import StreamHasher
from app.services.downloads.hub import RemoteFile


class CancelSwitch(threading.Event):
    """A cancel flag that also interrupts a read blocked on a silent connection: setting it
    shuts the socket of the transfer in progress down, so the worker notices at once."""

    def __init__(self) -> None:
        super().__init__()
        self._hook_lock = threading.Lock()
        self._sock: socket.socket | None = None

    def set(self) -> None:
        super().set()
        with self._hook_lock:
            if self._sock is not None:
                _shutdown(self._sock)

    def watch(self, sock: socket.socket | None) -> None:
        with self._hook_lock:
            self._sock = sock
            if sock is not None and self.is_set():
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class TransferCancelled(Exception):
    """The job was cancelled (or the server is stopping); partial bytes stay on disk."""


class TransferFailed(Exception):
    """A permanent failure (HTTP 4xx, hash mismatch); ``code`` says which."""

    def __init__(self, message: str, code: str = "download_failed") -> None:
        super().__init__(message)
        self.code = code


# Smaller bodies go through httpx's own reads (<= 64 KiB each) and keep the connection for the
# next file; larger ones are read from the socket in large blocks (see ``_bulk_socket``).
BULK_MIN_BYTES = 1 << 20


class _Transient(TransientError):
    """A failure worth retrying: the next attempt resumes from the bytes on disk."""


def _prefix_into(hasher: StreamHasher, part: Path, chunk_bytes: int) -> None:
    if hasher.hash is None:
        return
    with part.open("rb", buffering=0) as fh:
        while n := fh.readinto(hasher.space()[:chunk_bytes]):
            hasher.commit(n)


def fetch_file(
    client: httpx.Client,
    file: RemoteFile,
    part: Path,
    *,
    headers: dict[str, str],
    cancel: threading.Event,
    on_bytes: Callable[[int], None],
    chunk_bytes: int = 1 << 20,
    retries: int = 8,
) -> None:
    """Fetch ``file`` into ``part`` (resuming what is there) and verify its hash. On success
    ``part`` holds exactly the file; on a hash mismatch it is deleted; otherwise it is kept."""
    part.parent.mkdir(parents=True, exist_ok=True)
    hasher = StreamHasher(file)
    resumed_from = part.stat().st_size if part.exists() else 0
    if part.exists():
        if file.size is not None and part.stat().st_size > file.size:
            part.unlink()  # longer than the file: not ours, start over
        else:
            _prefix_into(hasher, part, chunk_bytes)
    try:
        policy = retry_policy(
            retries + 1,
            max_wait_s=10.0,
            sleep=lambda seconds: None if cancel.wait(seconds) else None,  # cancel ends backoff
        )
        for attempt in Retrying(**policy):
            with attempt:
                _attempt(client, file, part, hasher, headers, cancel, on_bytes)
    except _Transient as exc:
        hasher.abandon()
        raise TransferFailed(
            f"'{file.path}' failed after {retries + 1} attempts: {exc}", code="network_error"
        ) from exc
    except BaseException:
        hasher.abandon()
        raise
    actual = hasher.digest()
    if actual == hasher.expected:
        return
    part.unlink(missing_ok=True)
    if resumed_from == 0 or file.size is None:
        raise TransferFailed(
            f"Checksum mismatch for '{file.path}': expected {hasher.kind} {hasher.expected}, got "
            f"{actual}. The file was discarded.",
            code="checksum_mismatch",
        )
    # The kept prefix may come from another revision of the file: start over, once.
    on_bytes(-file.size)
    fetch_file(
        client,
        file,
        part,
        headers=headers,
        cancel=cancel,
        on_bytes=on_bytes,
        chunk_bytes=chunk_bytes,
        retries=retries,
    )


def _attempt(
    client: httpx.Client,
    file: RemoteFile,
    part: Path,
    hasher: StreamHasher,
    headers: dict[str, str],
    cancel: threading.Event,
    on_bytes: Callable[[int], None],
) -> None:
    if cancel.is_set():
        raise TransferCancelled()
    offset = part.stat().st_size if part.exists() else 0
    if file.size is not None and offset == file.size:
        return
    request_headers = {**headers, "Accept-Encoding": "identity"}
    if offset:
        request_headers["Range"] = f"bytes={offset}-"
    try:
        with client.stream("GET", file.url, headers=request_headers) as response:
            stream = response.extensions.get("network_stream")
            if isinstance(cancel, CancelSwitch):
                cancel.watch(stream.get_extra_info("socket") if stream is not None else None)
            status = response.status_code
            if status == 416 and file.size is None:
                return  # we already hold every byte the server has
            if status in RETRY_STATUSES:
                raise _Transient(f"HTTP {status} from {file.url}")
            if status >= 400:
                raise TransferFailed(
                    f"'{file.path}': HTTP {status} from {file.url}", code=f"http_{status}"
                )
            mode = "ab"
            if offset and status != 206:
                # The server ignored Range: its body starts at byte 0, so must our file.
                on_bytes(-offset)
                mode, offset = "wb", 0
                hasher.reset()
            bulk = _bulk_socket(response, stream)
            # Unbuffered: each read is written at once, so a killed process loses at most the
            # read in flight, never a buffered chunk.
            with part.open(mode, buffering=0) as out:
                received = 0
                # Kept in a variable: a finished generator would close the connection, and
                # the bulk path still reads from it.
                chunks = response.iter_raw()
                for chunk in chunks:
                    _write_all(out, chunk)
                    hasher.update(chunk)
                    on_bytes(len(chunk))
                    received += len(chunk)
                    if cancel.is_set():
                        raise TransferCancelled()
                    if bulk is not None:
                        break  # httpx holds no more body bytes: read the rest from the socket
                if bulk is not None:
                    length = int(response.headers["content-length"])
                    timeout = client.timeout.read
                    _receive(bulk, length - received, out, hasher, cancel, on_bytes, timeout)
    except httpx.TransportError as exc:  # dropped connection, timeout, refused
        if cancel.is_set():
            raise TransferCancelled() from exc
        raise _Transient(f"{type(exc).__name__}: {exc}") from exc
    finally:
        if isinstance(cancel, CancelSwitch):
            cancel.watch(None)
    size_now = part.stat().st_size
    if file.size is not None and size_now < file.size:
        raise _Transient(f"connection ended at byte {size_now} of {file.size}")


def _bulk_socket(response: httpx.Response, stream: Any) -> socket.socket | None:
    """The connection's socket when the rest of this body may be read from it directly.

    httpx (httpcore over h11) reads at most 64 KiB per call and copies each read twice in
    Python; on loopback that capped a download near a quarter of curl's speed. For a plain
    HTTP/1.x body of known length the bytes after the first chunk that httpx yields are exactly
    the socket's next bytes (h11 hands over all it has buffered, up to the length, in that
    chunk), so they can be received straight into the hasher's buffers. The connection is then
    closed rather than reused (h11 never saw the end of the body), hence the size floor. Not
    for chunked or encoded bodies, nor TLS inside TLS (an https:// proxy tunnelling https),
    where the socket carries the outer layer; those keep httpx's reads."""
    if stream is None or response.http_version not in ("HTTP/1.1", "HTTP/1.0"):
        return None
    headers = response.headers
    length = headers.get("content-length", "")
    if not length.isdigit() or int(length) < BULK_MIN_BYTES or "transfer-encoding" in headers:
        return None
    if headers.get("content-encoding", "identity").lower() != "identity":
        return None
    sock = stream.get_extra_info("socket")
    if not isinstance(sock, socket.socket):
        return None
    if isinstance(stream.get_extra_info("ssl_object"), ssl.SSLObject):
        return None  # TLS in TLS: the inner layer lives in an SSLObject, not in this socket
    if response.url.scheme == "https" and not isinstance(sock, ssl.SSLSocket):
        return None
    return sock


def _receive(
    sock: socket.socket,
    remaining: int,
    out: IO[bytes],
    hasher: StreamHasher,
    cancel: threading.Event,
    on_bytes: Callable[[int], None],
    timeout: float | None,
) -> None:
    """Receive ``remaining`` body bytes from ``sock``: each read lands in a hasher buffer, is
    written to ``out`` and reported, then the buffer goes on to the hash thread. A short body
    just returns (the caller sees the file is short and retries from there)."""
    sock.settimeout(timeout)
    while remaining > 0:
        room = hasher.space()
        if len(room) > remaining:
            room = room[:remaining]
        try:
            n = sock.recv_into(room)
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out") from exc
        except OSError as exc:  # reset, shut down by a cancel, TLS error
            raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from exc
        if n == 0:  # the server closed early, or a cancel shut the socket down
            if cancel.is_set():
                raise TransferCancelled()
            return
        _write_all(out, room[:n])
        hasher.commit(n)
        remaining -= n
        on_bytes(n)
        if cancel.is_set():
            raise TransferCancelled()


def _write_all(out: IO[bytes], data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[out.write(view) or 0 :]
