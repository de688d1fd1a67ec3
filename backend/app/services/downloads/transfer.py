"""Resumable transfer of one file over HTTP into a ``.part`` file, with hash verification.

Each file is fetched with ``Range: bytes=N-`` where N is what is already on disk, so a drop, a
cancel or a killed process costs only the bytes in flight. huggingface_hub's ``http_get`` also
resumes with Range, but into its own cache layout and without a cancel between reads, progress
per read, or hashing as the bytes arrive; those are why this transfer is written here.
Transient failures (connection errors, timeouts, 408/429/502/503/504) are retried with the
shared policy of :mod:`app.core.resilience`. The hash (sha256 for Hub LFS files and URLs given a
digest, git blob sha1 for small Hub files) is computed while the bytes arrive, in a second thread,
so verification adds no extra pass over the file.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from tenacity import Retrying

from app.core.resilience import RETRY_STATUSES, TransientError, retry_policy
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


_HASH_BATCH = 1 << 20


class _Transient(TransientError):
    """A failure worth retrying: the next attempt resumes from the bytes on disk."""


class _Hasher:
    """Feeds chunks to a hash object in a worker thread (hashlib releases the GIL)."""

    def __init__(self, file: RemoteFile) -> None:
        self._file = file
        self._start()

    def _start(self) -> None:
        file = self._file
        self.expected: str | None
        self.hash: Any
        if file.sha256:
            self.kind, self.expected = "sha256", file.sha256
            self.hash = hashlib.sha256()
        elif file.git_sha1 and file.size is not None:
            self.kind, self.expected = "git-sha1", file.git_sha1
            self.hash = hashlib.sha1(b"blob %d\0" % file.size)
        else:
            self.kind, self.expected, self.hash = "none", None, None
        # Network reads (<= 64 KiB) are handed over in ~1 MiB batches: one queue hand-off per
        # batch instead of per read keeps the receiving thread's Python work small.
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._thread = threading.Thread(target=self._run, daemon=True, name="hasher")
        if self.hash is not None:
            self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self.hash.update(chunk)

    def update(self, chunk: bytes) -> None:
        if self.hash is None:
            return
        self._pending.append(chunk)
        self._pending_bytes += len(chunk)
        if self._pending_bytes >= _HASH_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._queue.put(b"".join(self._pending))
            self._pending.clear()
            self._pending_bytes = 0

    def check(self, name: str) -> None:
        if self.hash is None:
            return
        self._flush()
        self._queue.put(None)
        self._thread.join()
        actual = self.hash.hexdigest()
        if actual != self.expected:
            raise TransferFailed(
                f"Checksum mismatch for '{name}': expected {self.kind} {self.expected}, got "
                f"{actual}. The file was discarded.",
                code="checksum_mismatch",
            )

    def abandon(self) -> None:
        if self.hash is not None and self._thread.is_alive():
            self._queue.put(None)

    def reset(self) -> None:
        """Start over from byte 0."""
        self.abandon()
        self._start()


def _prefix_into(hasher: _Hasher, part: Path, chunk_bytes: int) -> None:
    with part.open("rb") as fh:
        while chunk := fh.read(chunk_bytes):
            hasher.update(chunk)


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
    hasher = _Hasher(file)
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
                _attempt(client, file, part, hasher, headers, cancel, on_bytes, chunk_bytes)
    except _Transient as exc:
        hasher.abandon()
        raise TransferFailed(
            f"'{file.path}' failed after {retries + 1} attempts: {exc}", code="network_error"
        ) from exc
    except BaseException:
        hasher.abandon()
        raise
    try:
        hasher.check(file.path)
    except TransferFailed:
        part.unlink(missing_ok=True)
        if resumed_from == 0 or file.size is None:
            raise
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
    hasher: _Hasher,
    headers: dict[str, str],
    cancel: threading.Event,
    on_bytes: Callable[[int], None],
    chunk_bytes: int,
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
            if isinstance(cancel, CancelSwitch):
                stream = response.extensions.get("network_stream")
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
            with part.open(mode) as out:
                # No chunk size: each network read is written at once, so a killed process
                # loses at most one read (<= 64 KiB), not a buffered chunk.
                for chunk in response.iter_raw():
                    out.write(chunk)
                    hasher.update(chunk)
                    on_bytes(len(chunk))
                    if cancel.is_set():
                        raise TransferCancelled()
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
