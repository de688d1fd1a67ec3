"""What a download request points at, resolved to a list of files with sizes and hashes.

Hub repos are listed through ``huggingface_hub`` (``HfApi.model_info`` for the commit, then
``list_repo_tree`` for sizes, LFS sha256 and git blob ids), pinned to the commit so a resumed
job fetches the very same bytes. Plain URLs are checked with a HEAD request. ``HF_ENDPOINT`` and
``HF_TOKEN`` are read at call time, so the process environment decides where the Hub is.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx

from app.core.errors import (
    AppError,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    UpstreamUnavailable,
)

DEFAULT_ENDPOINT = "https://huggingface.co"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# Duplicate weight formats skipped when a repo has safetensors and the request picks nothing.
_SKIP_WITH_SAFETENSORS = (
    "*.bin",
    "*.pth",
    "*.pt",
    "*.h5",
    "*.msgpack",
    "*.ot",
    "*.onnx",
    "*.onnx_data",
    "onnx/*",
    "openvino/*",
    "original/*",
    "*.gguf",
    "*.tflite",
    "*.mlmodel",
    "coreml/*",
)


@dataclass(frozen=True)
class RemoteFile:
    """One file to fetch. ``path`` is relative inside the model folder, already validated."""

    path: str
    url: str
    size: int | None
    sha256: str | None = None
    git_sha1: str | None = None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class ResolvedSource:
    kind: str  # "hub" or "url"
    files: list[RemoteFile]
    default_name: str
    single_file: bool
    repo_id: str | None = None
    revision: str | None = None
    commit: str | None = None
    url: str | None = None


def hub_endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def hub_token() -> str | None:
    return os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN") or None


def auth_headers() -> dict[str, str]:
    token = hub_token()
    return {"Authorization": f"Bearer {token}"} if token else {}


def hub_probe(timeout: float) -> str | None:
    """None when the Hub answers at all, else why not. One quick request: huggingface_hub
    itself retries an unreachable Hub for ~20 s before giving up, too long for an API call."""
    from huggingface_hub import constants

    if constants.is_offline_mode():
        return "HF_HUB_OFFLINE is set: the Hub is not contacted."
    try:
        response = httpx.get(
            f"{hub_endpoint()}/api/models",
            params={"limit": 1},
            headers=auth_headers(),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        )
    except httpx.HTTPError as exc:
        return f"{hub_endpoint()} cannot be reached: {type(exc).__name__}: {exc}"
    if response.status_code >= 500:
        return f"{hub_endpoint()} answered HTTP {response.status_code}."
    return None


def safe_relpath(path: str, param: str = "files") -> str:
    """``path`` if it is a plain relative path inside a folder; 400 otherwise."""
    pure = PurePosixPath(path)
    bad = (
        not path
        or "\\" in path
        or "\x00" in path
        or pure.is_absolute()
        or any(part in ("..", ".", "") for part in path.split("/"))
        or len(path) > 512
    )
    if bad:
        raise InvalidRequest(
            f"File name '{path}' is not a plain relative path (no '..', no leading '/').",
            param=param,
        )
    return pure.as_posix()


def check_name(name: str) -> str:
    if not NAME_RE.match(name) or ".." in name:
        raise InvalidRequest(
            f"Model name '{name}' must be 1-128 letters, digits, '.', '_' or '-', not starting "
            "with a dot.",
            param="name",
        )
    return name


def _hub_error(exc: Exception, repo_id: str, revision: str) -> AppError:
    from huggingface_hub.errors import (
        GatedRepoError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, GatedRepoError):
        return PermissionDenied(
            f"'{repo_id}' is gated: accept its licence on the Hub and set HF_TOKEN.",
            param="repo_id",
        )
    if isinstance(exc, RevisionNotFoundError):
        return NotFound(f"Revision '{revision}' of '{repo_id}' does not exist.", param="revision")
    if isinstance(exc, RepositoryNotFoundError):
        return NotFound(
            f"Repository '{repo_id}' was not found on {hub_endpoint()} (or it is private and "
            "HF_TOKEN is not set).",
            param="repo_id",
            code="repo_not_found",
        )
    if isinstance(exc, OfflineModeIsEnabled):
        return UpstreamUnavailable(
            "The Hugging Face Hub is disabled (HF_HUB_OFFLINE is set).", code="hub_offline"
        )
    return UpstreamUnavailable(f"The Hub at {hub_endpoint()} could not be reached: {exc}")


def resolve_repo(
    repo_id: str,
    revision: str | None,
    files: list[str] | None,
    allow_patterns: list[str] | None,
    timeout: float,
) -> ResolvedSource:
    """List a Hub repo's files at one commit and pick the requested ones (blocking)."""
    from huggingface_hub import HfApi, hf_hub_url
    from huggingface_hub.hf_api import RepoFile

    wanted = [safe_relpath(f) for f in files or []]
    revision = revision or "main"
    if (problem := hub_probe(timeout)) is not None:
        raise UpstreamUnavailable(problem, code="hub_unavailable")
    api = HfApi(endpoint=hub_endpoint(), token=hub_token() or False)
    try:
        info = api.model_info(repo_id, revision=revision, timeout=timeout)
        commit = info.sha or revision
        tree = [
            e
            for e in api.list_repo_tree(repo_id, revision=commit, recursive=True)
            if isinstance(e, RepoFile)
        ]
    except Exception as exc:  # huggingface_hub raises many types; map the known ones
        raise _hub_error(exc, repo_id, revision) from exc
    by_path = {e.path: e for e in tree}
    if wanted:
        missing = [f for f in wanted if f not in by_path]
        if missing:
            raise NotFound(
                f"'{repo_id}' has no file {', '.join(repr(m) for m in missing)}.", param="files"
            )
        chosen = wanted
    else:
        chosen = _select(list(by_path), allow_patterns, repo_id)
    remote = []
    for path in chosen:
        entry = by_path[safe_relpath(path, "repo tree")]
        remote.append(
            RemoteFile(
                path=entry.path,
                url=hf_hub_url(repo_id, entry.path, revision=commit, endpoint=hub_endpoint()),
                size=entry.size,
                sha256=entry.lfs.sha256 if entry.lfs else None,
                git_sha1=None if entry.lfs else entry.blob_id,
            )
        )
    single = len(remote) == 1 and remote[0].path.endswith(".gguf")
    name = PurePosixPath(remote[0].path).name if single else repo_id.split("/")[-1]
    return ResolvedSource("hub", remote, name, single, repo_id, revision, commit)


def _select(paths: list[str], allow_patterns: list[str] | None, repo_id: str) -> list[str]:
    if allow_patterns:
        chosen = [p for p in paths if any(fnmatch.fnmatch(p, pat) for pat in allow_patterns)]
        if not chosen:
            raise InvalidRequest(
                f"No file of '{repo_id}' matches {allow_patterns}.", param="allow_patterns"
            )
        return chosen
    visible = [p for p in paths if not any(part.startswith(".") for part in p.split("/"))]
    ggufs = [p for p in visible if p.endswith(".gguf")]
    if ggufs and not any(p.endswith(".safetensors") for p in visible):
        if len(ggufs) > 1:
            raise InvalidRequest(
                f"'{repo_id}' holds {len(ggufs)} GGUF files; pick one with files=[...] "
                f"(e.g. '{ggufs[0]}').",
                param="files",
            )
        return ggufs
    if any(p.endswith(".safetensors") for p in visible):
        visible = [
            p for p in visible if not any(fnmatch.fnmatch(p, pat) for pat in _SKIP_WITH_SAFETENSORS)
        ]
    return visible


def _announced_size(response: httpx.Response) -> int | None:
    content_range = response.headers.get("content-range", "")
    if response.status_code == 206 and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        return int(total) if total.isdigit() else None
    length = response.headers.get("content-length")
    return int(length) if length and length.isdigit() else None


def resolve_url(
    url: str, sha256: str | None, timeout: float, allow_private: bool = False
) -> ResolvedSource:
    """A plain http(s) URL of one .gguf file; HEAD tells its size (blocking). The host must
    resolve to a public address unless ``allow_private`` (see ``address_guard``)."""
    from app.core.redact import redact_url
    from app.services.downloads.address_guard import UNREACHABLE, BlockedAddress, PinnedTransport

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise InvalidRequest("url must be an http:// or https:// address.", param="url")
    filename = PurePosixPath(unquote(parts.path)).name
    if not filename.endswith(".gguf"):
        raise InvalidRequest("A URL download must point at a .gguf file.", param="url")
    shown = redact_url(url)
    try:
        with httpx.Client(
            transport=PinnedTransport(allow_private=allow_private),
            follow_redirects=True,
            timeout=timeout,
        ) as client:
            head = client.head(url)
            if head.status_code in (403, 405, 501):
                # Some servers (presigned object-store URLs) refuse HEAD: ask for one byte.
                head = client.get(url, headers={"Range": "bytes=0-0"})
    except BlockedAddress as exc:
        raise InvalidRequest(str(exc), param="url", code=exc.code) from exc
    except httpx.HTTPError as exc:
        # One message whatever the cause (refused, timed out, no such name): the answer must
        # not tell an open port from a closed one.
        raise UpstreamUnavailable(f"{shown} {UNREACHABLE}.", param="url") from exc
    if head.status_code == 404:
        raise NotFound(f"{shown} answered 404 Not Found.", param="url")
    if head.status_code >= 400:
        raise UpstreamUnavailable(f"{shown} answered HTTP {head.status_code}.", param="url")
    size = _announced_size(head)
    remote = RemoteFile(filename, url, size, sha256.lower() if sha256 else None)
    return ResolvedSource("url", [remote], filename, True, url=url)
