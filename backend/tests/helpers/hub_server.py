"""A local stand-in for the Hugging Face Hub, enough for ``huggingface_hub`` 2.4 and our
downloader: repo info, file trees, search, and ``resolve`` downloads with the Hub's headers
(ETag, X-Repo-Commit, X-Linked-Etag/X-Linked-Size for LFS files) and Range support. It serves
the project's own test-model folders, counts the body bytes it sends per file, and can drop a
connection half way, throttle, or serve corrupted bytes, for fault tests.

Used by the backend tests (in-process, ``HubServer().start()``) and by the frontend e2e tests
(``python -m tests.helpers.hub_server --repo mistral-playground/tiny=models/tiny --port N``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

LFS_SUFFIXES = (".safetensors", ".gguf", ".bin", ".pt", ".pth", ".onnx", ".msgpack", ".h5")


@dataclass
class HubFile:
    """One file of a repo, with the hashes the Hub would report."""

    path: str
    source: Path
    size: int
    sha256: str
    git_sha1: str
    corrupt: bool = False

    @property
    def lfs(self) -> bool:
        return self.path.endswith(LFS_SUFFIXES)

    @property
    def etag(self) -> str:
        return self.sha256 if self.lfs else self.git_sha1


def _hash_file(path: Path) -> tuple[int, str, str]:
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    sha1 = hashlib.sha1(b"blob %d\0" % size)
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            sha256.update(chunk)
            sha1.update(chunk)
    return size, sha256.hexdigest(), sha1.hexdigest()


@dataclass
class HubRepo:
    repo_id: str
    files: dict[str, HubFile]
    commit: str

    @classmethod
    def from_folder(cls, repo_id: str, folder: Path, corrupt: tuple[str, ...] = ()) -> HubRepo:
        files: dict[str, HubFile] = {}
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                rel = path.relative_to(folder).as_posix()
                size, sha256, sha1 = _hash_file(path)
                files[rel] = HubFile(rel, path, size, sha256, sha1, corrupt=rel in corrupt)
        digest = hashlib.sha1(repo_id.encode())
        for f in files.values():
            digest.update(f"{f.path}:{f.sha256}".encode())
        return cls(repo_id, files, digest.hexdigest())


@dataclass
class HubServer:
    """The server and its knobs. Counters and drops are keyed by ``{repo_id}/{path}`` for repo
    files and by the name for ``/files/`` URLs."""

    port: int = 0
    repos: dict[str, HubRepo] = field(default_factory=dict)
    plain_files: dict[str, HubFile] = field(default_factory=dict)
    bytes_sent: dict[str, int] = field(default_factory=dict)
    requests: list[dict[str, object]] = field(default_factory=list)
    drop_after: dict[str, int] = field(default_factory=dict)
    pause_after: dict[str, int] = field(default_factory=dict)
    paused: threading.Event = field(default_factory=threading.Event)
    unpause: threading.Event = field(default_factory=threading.Event)
    throttle_bps: float | None = None
    ignore_range: bool = False  # answer 200 with the whole file, like a server without ranges
    fail_next: int = 0  # answer this many file requests with 503 first
    refuse_head: bool = False  # answer HEAD with 405, like some object stores
    gated: set[str] = field(default_factory=set)  # repos answering 403 GatedRepo to everyone
    tls: ssl.SSLContext | None = None  # serve https:// with this server context
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- setup ---------------------------------------------------------------------------------
    def add_repo(self, repo_id: str, folder: Path, corrupt: tuple[str, ...] = ()) -> HubRepo:
        repo = HubRepo.from_folder(repo_id, folder, corrupt)
        self.repos[repo_id] = repo
        return repo

    def add_file(self, name: str, path: Path) -> str:
        """Serve ``path`` at ``/files/{name}`` (a plain download URL); returns the URL."""
        size, sha256, sha1 = _hash_file(path)
        self.plain_files[name] = HubFile(name, path, size, sha256, sha1)
        return f"{self.url}/files/{name}"

    def drop_once(self, path: str, after_bytes: int) -> None:
        """Close the connection of the next response for ``path`` after ``after_bytes``."""
        self.drop_after[path] = after_bytes

    def pause_once(self, path: str, after_bytes: int) -> None:
        """Hold the next response for ``path`` after ``after_bytes`` (``paused`` is set then)
        until ``unpause`` is set; lets a test act while no byte is in flight."""
        self.paused.clear()
        self.unpause.clear()
        self.pause_after[path] = after_bytes

    def reset_counters(self) -> None:
        with self._lock:
            self.bytes_sent.clear()
            self.requests.clear()

    def count(self, path: str, n: int) -> None:
        with self._lock:
            self.bytes_sent[path] = self.bytes_sent.get(path, 0) + n

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> HubServer:
        hub = self

        class Handler(_HubHandler):
            server_state = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True, name="hub").start()
        return self

    def stop(self) -> None:
        self.unpause.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_state: HubServer

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    # --- routing -------------------------------------------------------------------------------
    def do_HEAD(self) -> None:
        if self.server_state.refuse_head:
            return self._error(405, None, "Method not allowed")
        self._route(head=True)

    def do_GET(self) -> None:
        self._route(head=False)

    def _route(self, head: bool) -> None:
        try:
            self._dispatch(head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away (cancel, kill): expected here

    def _dispatch(self, head: bool) -> None:
        hub = self.server_state
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = parse_qs(parts.query)
        if path == "/api/models":
            return self._search(query)
        if path.startswith("/api/models/"):
            return self._api(path.removeprefix("/api/models/"))
        if path.startswith("/files/"):
            f = hub.plain_files.get(path.removeprefix("/files/"))
            if f is None:
                return self._error(404, "EntryNotFound", "File not found")
            return self._send_file(f, f.path, head, {"ETag": f'"{f.etag}"'})
        if "/resolve/" in path:
            return self._resolve(path.lstrip("/"), head)
        self._error(404, None, "Not found")

    def _find_repo(self, rest: str) -> tuple[HubRepo | None, str]:
        for repo_id, repo in self.server_state.repos.items():
            if rest == repo_id or rest.startswith(repo_id + "/"):
                return repo, rest[len(repo_id) :].lstrip("/")
        return None, ""

    def _api(self, rest: str) -> None:
        repo, tail = self._find_repo(rest)
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        if repo.repo_id in self.server_state.gated:
            return self._error(403, "GatedRepo", "Access to this repo is restricted")
        if tail.startswith("tree/"):
            rev, _, sub = tail.removeprefix("tree/").partition("/")
            if rev not in ("main", repo.commit):
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            entries = [
                self._tree_entry(f)
                for f in repo.files.values()
                if not sub or f.path.startswith(sub.rstrip("/") + "/")
            ]
            return self._json(entries)
        if tail and not tail.startswith("revision/"):
            return self._error(404, None, "Not found")
        rev = tail.removeprefix("revision/") or "main"
        if rev not in ("main", repo.commit):
            return self._error(404, "RevisionNotFound", "Invalid rev id")
        self._json(self._model_info(repo))

    def _search(self, query: dict[str, list[str]]) -> None:
        term = (query.get("search") or [""])[0].lower()
        limit = int((query.get("limit") or ["20"])[0])
        found = [
            self._model_info(repo)
            for rid, repo in self.server_state.repos.items()
            if term in rid.lower()
        ]
        self._json(found[:limit])

    @staticmethod
    def _tree_entry(f: HubFile) -> dict[str, object]:
        entry: dict[str, object] = {
            "type": "file",
            "oid": f.git_sha1,
            "size": f.size,
            "path": f.path,
        }
        if f.lfs:
            entry["lfs"] = {"oid": f.sha256, "size": f.size, "pointerSize": 134}
        return entry

    def _model_info(self, repo: HubRepo) -> dict[str, object]:
        siblings = []
        for f in repo.files.values():
            sib: dict[str, object] = {"rfilename": f.path, "size": f.size, "blobId": f.git_sha1}
            if f.lfs:
                sib["lfs"] = {"sha256": f.sha256, "size": f.size, "pointerSize": 134}
            siblings.append(sib)
        return {
            "_id": repo.commit[:24],
            "id": repo.repo_id,
            "modelId": repo.repo_id,
            "sha": repo.commit,
            "private": False,
            "gated": False,
            "disabled": False,
            "downloads": 42,
            "likes": 1,
            "tags": ["safetensors", "llama", "text-generation"],
            "pipeline_tag": "text-generation",
            "library_name": "transformers",
            "lastModified": "2026-11-21T00:00:00.000Z",
            "createdAt": "2026-11-21T00:00:00.000Z",
            "siblings": siblings,
        }

    def _resolve(self, rest: str, head: bool) -> None:
        repo, tail = self._find_repo(rest.split("/resolve/", 1)[0])
        if repo is None:
            return self._error(404, "RepoNotFound", "Repository not found")
        rev, _, file_path = rest.split("/resolve/", 1)[1].partition("/")
        if rev not in ("main", repo.commit):
            return self._error(404, "RevisionNotFound", "Invalid rev id")
        f = repo.files.get(file_path)
        if f is None:
            return self._error(404, "EntryNotFound", "Entry not found")
        headers = {"ETag": f'"{f.etag}"', "X-Repo-Commit": repo.commit}
        if f.lfs:
            headers["X-Linked-Etag"] = f'"{f.sha256}"'
            headers["X-Linked-Size"] = str(f.size)
        self._send_file(f, f"{repo.repo_id}/{f.path}", head, headers)

    # --- responses -----------------------------------------------------------------------------
    def _json(self, data: object) -> None:
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, code: str | None, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        # A response to HEAD has no body: bytes written anyway would be read as the start of
        # the next response on a kept-alive connection.
        if self.command != "HEAD":
            self.wfile.write(body)

    def _byte_range(self, size: int) -> tuple[int, int] | None:
        header = self.headers.get("Range")
        if not header or not header.startswith("bytes="):
            return None
        first, _, last = header.removeprefix("bytes=").split(",")[0].partition("-")
        if not first:  # suffix range: last N bytes
            return max(0, size - int(last)), size - 1
        return int(first), min(int(last), size - 1) if last else size - 1

    def _send_file(self, f: HubFile, key: str, head: bool, headers: dict[str, str]) -> None:
        hub = self.server_state
        if not head and hub.fail_next > 0:
            hub.fail_next -= 1
            return self._error(503, None, "Service unavailable, try again")
        start, end = 0, f.size - 1
        rng = None if hub.ignore_range else self._byte_range(f.size)
        status = 200
        if rng is not None:
            start, end = rng
            if start >= f.size or start > end:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{f.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        length = end - start + 1 if f.size else 0
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{f.size}")
        self.end_headers()
        with hub._lock:
            hub.requests.append(
                {
                    "method": self.command,
                    "path": key,
                    "range": self.headers.get("Range"),
                    "auth": self.headers.get("Authorization"),
                }
            )
        if head or length == 0:
            return
        drop = hub.drop_after.pop(key, None)
        pause = hub.pause_after.pop(key, None)
        if drop is None and pause is None and hub.throttle_bps is None and not f.corrupt:
            with f.source.open("rb") as fh:  # fast path: the kernel copies file to socket
                sent = self.connection.sendfile(fh, start, length)
            hub.count(key, sent)
            return
        self._send_slow(f, key, start, length, drop, pause)

    def _send_slow(
        self, f: HubFile, key: str, start: int, length: int, drop: int | None, pause: int | None
    ) -> None:
        hub = self.server_state
        chunk = 64 * 1024
        sent = 0
        began = time.monotonic()
        with f.source.open("rb") as fh:
            fh.seek(start)
            while sent < length:
                n = min(chunk, length - sent)
                if drop is not None:
                    n = min(n, drop - sent)
                    if n <= 0:
                        # Hang up mid-body: the client sees a truncated response.
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                if pause is not None:
                    n = min(n, pause - sent) or n
                    if sent >= pause:
                        pause = None
                        hub.paused.set()
                        hub.unpause.wait(300)
                data = fh.read(n)
                if f.corrupt and start + sent == 0:
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                self.wfile.write(data)
                sent += len(data)
                hub.count(key, len(data))
                if hub.throttle_bps:
                    ahead = sent / hub.throttle_bps - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve model folders the way the HF Hub does.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--repo", action="append", default=[], help="REPO_ID=FOLDER (repeatable)")
    parser.add_argument("--file", action="append", default=[], help="NAME=PATH under /files/")
    parser.add_argument("--throttle-bps", type=float, default=None)
    args = parser.parse_args()
    hub = HubServer(port=args.port, throttle_bps=args.throttle_bps).start()
    for spec in args.repo:
        repo_id, _, folder = spec.partition("=")
        hub.add_repo(repo_id, Path(folder).resolve())
    for spec in args.file:
        name, _, path = spec.partition("=")
        hub.add_file(name, Path(path).resolve())
    print(hub.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        hub.stop()


if __name__ == "__main__":
    main()
