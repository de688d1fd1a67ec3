"""The hash of a file being downloaded, computed in a second thread while its bytes arrive.

The bytes are received straight into the hasher's buffers (:meth:`StreamHasher.space` then
:meth:`StreamHasher.commit`): the socket writes into a buffer, the file is written from it, and
the hash thread reads the same buffer, with no copy in between. A few buffers circulate between
the two threads; a full one is handed to the hash thread, which gives it back once hashed
(hashlib releases the GIL while it hashes), so receiving waits only when hashing falls a few
buffers behind. 1 MiB buffers measured faster than 4 MiB ones (a buffer is hashed while it is
still in the CPU cache; docs/benchmarks.md, "Downloads").
"""

from __future__ import annotations

import hashlib
import queue
import threading
from typing import Any

from app.services.downloads.hub import RemoteFile

BUFFER_BYTES = 1 << 20
_BUFFERS = 4


class StreamHasher:
    """sha256 for Hub LFS files and URLs given a digest, git blob sha1 for small Hub files,
    nothing for a URL without a digest (:attr:`kind` says which)."""

    def __init__(self, file: RemoteFile, buffer_bytes: int = BUFFER_BYTES) -> None:
        self._file = file
        self._buffer_bytes = buffer_bytes
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
        count = _BUFFERS if self.hash is not None else 1
        self._free: queue.Queue[bytearray] = queue.Queue()
        for _ in range(count):
            self._free.put(bytearray(self._buffer_bytes))
        self._full: queue.Queue[tuple[bytearray, int] | None] = queue.Queue()
        self._buf = self._free.get()
        self._fill = 0
        self._thread = threading.Thread(target=self._run, daemon=True, name="hasher")
        if self.hash is not None:
            self._thread.start()

    def _run(self) -> None:
        free = self._free
        while (item := self._full.get()) is not None:
            buf, n = item
            self.hash.update(memoryview(buf)[:n])
            free.put(buf)

    def space(self) -> memoryview:
        """Free room in the current buffer (never empty) for the next read to land in."""
        if self._fill == len(self._buf):
            self._hand_over()
        return memoryview(self._buf)[self._fill :]

    def commit(self, n: int) -> None:
        """The first ``n`` bytes of the last :meth:`space` now hold file bytes (already written
        to disk: a full buffer is handed over, and reused once hashed)."""
        self._fill += n
        if self._fill == len(self._buf):
            self._hand_over()

    def _hand_over(self) -> None:
        if self.hash is None:  # nothing to hash: the one buffer is reused at once
            self._fill = 0
            return
        self._full.put((self._buf, self._fill))
        self._buf = self._free.get()
        self._fill = 0

    def update(self, data: bytes | memoryview) -> None:
        """Hash bytes that arrived elsewhere (copied into the buffers)."""
        if self.hash is None:
            return
        view = memoryview(data)
        while view:
            room = self.space()
            n = min(len(room), len(view))
            room[:n] = view[:n]
            self.commit(n)
            view = view[n:]

    def digest(self) -> str | None:
        """Wait for the hash thread and give the hex digest (None when nothing is hashed)."""
        if self.hash is None:
            return None
        if self._fill:
            self._hand_over()
        self._full.put(None)
        self._thread.join()
        return str(self.hash.hexdigest())

    def abandon(self) -> None:
        if self.hash is not None and self._thread.is_alive():
            self._full.put(None)

    def reset(self) -> None:
        """Start over from byte 0."""
        self.abandon()
        self._start()
