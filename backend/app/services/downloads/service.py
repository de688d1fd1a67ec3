"""Download jobs: create, run in the background (a few at a time), cancel, resume, delete.

Files land in a staging folder (:mod:`app.services.downloads.staging`) and become a model in one
rename once complete and verified. Job rows live in the database; jobs that were queued or
running when a process stopped run again and resume from the bytes on disk.

Downloads are a kind of background job (:mod:`app.services.jobs`): the runner runs them in
this process or, with ``MP_REDIS_URL``, on a queue worker (the models folder must then be the
same for every process). The running job publishes progress snapshots on the event bus, so any
replica streams them; a cancel or delete on any replica reaches it through the job row. The row
moves to running and to completed by conditional updates, so it is completed once.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import httpx

from app.core.config import Settings
from app.core.db import Database
from app.core.errors import AppError, Conflict, InsufficientStorage
from app.core.redact import redact, redact_url
from app.schemas.downloads import DownloadFileInfo, DownloadJobInfo, DownloadRequest
from app.services import metrics
from app.services.downloads.address_guard import PinnedTransport
from app.services.downloads.hub import (
    auth_headers,
    check_name,
    resolve_repo,
    resolve_url,
)
from app.services.downloads.jobs import DownloadJob, JobStore
from app.services.downloads.staging import Staging
from app.services.downloads.transfer import (
    CancelSwitch,
    TransferCancelled,
    TransferFailed,
    fetch_file,
)
from app.services.jobs import JobContext, JobKind, JobRunner
from app.services.jobs.service import ACTIVE, JobService

log = logging.getLogger(__name__)

JOB_KIND = "download"
_PUBLISH_S = 0.25


@dataclass
class _Runtime:
    """In-memory state of a running job: its live progress."""

    bytes_done: int = 0
    current_file: str | None = None
    samples: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=64))
    last_saved: float = 0.0

    def add(self, n: int) -> None:
        self.bytes_done += n
        if n > 0:  # n < 0 when a transfer starts a file over; counters only go up
            metrics.DOWNLOAD_BYTES.inc(n)
        now = time.monotonic()
        if not self.samples or now - self.samples[-1][0] >= 0.1:
            self.samples.append((now, self.bytes_done))

    def speed(self) -> float | None:
        now = time.monotonic()
        recent = [s for s in self.samples if now - s[0] <= 5.0]
        if len(recent) < 2 or recent[-1][0] <= recent[0][0]:
            return None
        return (recent[-1][1] - recent[0][1]) / (recent[-1][0] - recent[0][0])


class DownloadService(JobService[DownloadJob, DownloadJobInfo]):
    """Owns download jobs; one instance per process (server or ``playground pull``)."""

    kind = JOB_KIND
    noun = "Download job"
    view = DownloadJobInfo
    jobs: JobStore

    def __init__(
        self,
        settings: Settings,
        db: Database,
        on_model_added: Callable[[], None] | None = None,
        runner: JobRunner | None = None,
    ) -> None:
        self.settings = settings
        # Without the app's runner (``playground pull``, tests) the service runs its own.
        self.use_runner(
            runner,
            JobKind(
                JOB_KIND,
                self._run_job,
                self.active_job_ids,
                self.give_up,
                should_stop=self._row_ended,
                concurrency=settings.max_concurrent_downloads,
                cancel_flag=CancelSwitch,
            ),
        )
        self.models_dir = settings.models_dir
        # on_model_added: called after a finished model is renamed into the models folder (the
        # model store drops its cached scan).
        self.staging = Staging(settings.models_dir, on_model_added)
        self.jobs = JobStore(db)
        self._runtime: dict[str, _Runtime] = {}
        self._client = httpx.Client(
            follow_redirects=True, timeout=httpx.Timeout(30.0, connect=10.0)
        )
        # URL jobs go through the address guard on every request (a resumed job too): the
        # Hub client above serves HF_ENDPOINT, which the operator sets and we trust.
        self._url_client = httpx.Client(
            transport=PinnedTransport(allow_private=settings.download_allow_private_urls),
            follow_redirects=True,
            timeout=httpx.Timeout(30.0, connect=10.0),
        )

    async def start(self, resume_pending: bool = True) -> None:
        """With a runner of its own, resume the jobs a previous process left queued or running
        (the app's runner does that for every kind at once)."""
        await self.start_own_runner(resume_pending)

    async def shutdown(self) -> None:
        await self.stop_own_runner()
        self._client.close()
        self._url_client.close()

    # --- requests --------------------------------------------------------------------------
    async def create(self, request: DownloadRequest) -> DownloadJobInfo:
        timeout = self.settings.hub_timeout_seconds
        if request.name is not None:
            # A bad explicit name is the client's error whatever the Hub says: refuse it
            # before any network lookup (an offline Hub would otherwise answer 502).
            check_name(request.name)
        if request.url is not None:
            source = await asyncio.to_thread(
                resolve_url,
                request.url,
                request.sha256,
                timeout,
                self.settings.download_allow_private_urls,
            )
        else:
            assert request.repo_id is not None
            source = await asyncio.to_thread(
                resolve_repo,
                request.repo_id,
                request.revision,
                request.files,
                request.allow_patterns,
                timeout,
            )
        name = check_name(request.name or source.default_name)
        if source.single_file and not name.endswith(".gguf"):
            name += ".gguf"
        if (self.models_dir / name).exists() or (self.models_dir / name).is_symlink():
            raise Conflict(
                f"A model named '{name}' is already in the models folder; delete it first or "
                "pick another name.",
                param="name",
            )
        if any(j.name == name and j.status in ACTIVE for j in self.jobs.all()):
            raise Conflict(f"A download to '{name}' is already in progress.", param="name")
        job = DownloadJob.new(source, name)
        self._check_free(job)
        self.jobs.insert(job)
        await self._submit(job.id)
        return self.info(job)

    async def cancel(self, job_id: str) -> DownloadJobInfo:
        self.cancellable(job_id)
        await self._stop_task(job_id)
        job = self.get(job_id)
        if job.status in ACTIVE:  # no live task (e.g. left over from a crash): just mark it
            job = self.jobs.update(job, status="cancelled", bytes_done=self.staging.on_disk(job))
        return self.info(job)

    async def resume(self, job_id: str) -> DownloadJobInfo:
        job = self.get(job_id)
        if job.status not in ("cancelled", "failed"):
            raise Conflict(
                f"Download job '{job_id}' is {job.status}; only cancelled or failed jobs can be "
                "resumed.",
                param="job_id",
            )
        if self.runner.running_here(JOB_KIND, job_id):
            raise Conflict(f"Download job '{job_id}' is still stopping; retry in a moment.")
        if any(j.name == job.name and j.status in ACTIVE for j in self.jobs.all()):
            # Both would write the same staging folder.
            raise Conflict(f"Another download to '{job.name}' is in progress.", param="job_id")
        if (self.models_dir / job.name).exists():
            raise Conflict(f"'{job.name}' is already in the models folder.", param="job_id")
        self._check_free(job)
        job = self.jobs.update(job, status="queued", error=None, error_code=None, finished_at=None)
        await self._submit(job.id)
        return self.info(job)

    async def _submit(self, job_id: str) -> None:
        await self.runner.submit(JOB_KIND, job_id)

    # --- the job kind ----------------------------------------------------------------------
    async def _run_job(self, job_id: str, ctx: JobContext) -> None:
        """Run a download to its end; a no-op once its row is no longer active."""
        job = self.jobs.get(job_id)
        if job is None or job.status not in ACTIVE:
            return
        rt = _Runtime()
        self._runtime[job_id] = rt
        try:
            await self._run(job_id, rt, ctx)
        finally:
            if self._runtime.get(job_id) is rt:
                del self._runtime[job_id]
            self._publish(job_id)
        if self.jobs.get(job_id) is None:  # deleted (perhaps on another replica) meanwhile
            await asyncio.to_thread(shutil.rmtree, self.staging.folder(job.name), True)

    def _row_ended(self, job_id: str) -> bool:
        job = self.jobs.get(job_id)
        return job is None or job.status not in ACTIVE

    def active_job_ids(self) -> tuple[str, ...]:
        return tuple(j.id for j in self.jobs.all() if j.status in ACTIVE)

    def give_up(self, job_id: str, reason: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None and job.status in ACTIVE:
            self.jobs.update(job, status="failed", error=reason, error_code="internal_error")
            self._publish(job_id)

    async def _stop_task(self, job_id: str) -> None:
        """Cancel the job's transfer if it runs here, and wait (bounded) for it to end."""
        await self.runner.cancel(JOB_KIND, job_id)

    async def delete(self, job_id: str) -> None:
        """Forget a job; an unfinished one is stopped and its partial files removed."""
        job = self.get(job_id)
        await self._stop_task(job_id)
        job = self.get(job_id)
        if job.status != "completed":
            await asyncio.to_thread(shutil.rmtree, self.staging.folder(job.name), True)
        self.jobs.delete(job_id)

    # --- views -----------------------------------------------------------------------------
    def info(self, job: DownloadJob) -> DownloadJobInfo:
        rt = self._runtime.get(job.id)
        total = job.bytes_total
        progress = 1.0 if job.status == "completed" else None
        if job.status == "completed":
            done = total or job.bytes_done
        elif rt is not None and job.status == "running":
            done = rt.bytes_done
        else:
            done = self.staging.on_disk(job)
        speed = rt.speed() if rt is not None and job.status == "running" else None
        eta = (total - done) / speed if speed and total is not None else None
        return DownloadJobInfo(
            id=job.id,
            # The SQLite columns are str; they only ever hold the Literal values.
            status=job.status,
            kind=job.kind,  # type: ignore[arg-type]
            name=job.name,
            repo_id=job.repo_id,
            revision=job.revision,
            commit=job.commit,
            url=redact_url(job.url) if job.url else None,
            files=[
                DownloadFileInfo(
                    path=f.path,
                    size_bytes=f.size,
                    sha256=f.sha256,
                    verified_by="sha256" if f.sha256 else "git-sha1" if f.git_sha1 else "none",
                )
                for f in job.files
            ],
            bytes_total=total,
            bytes_done=done,
            progress=min(1.0, done / total) if total else progress,
            speed_bps=speed,
            eta_s=eta,
            current_file=rt.current_file if rt is not None and job.status == "running" else None,
            error=redact(job.error) if job.error else None,
            error_code=job.error_code,
            model_id=job.name if job.status == "completed" else None,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
        )

    def active_names(self) -> dict[str, str]:
        """Local names of queued/running downloads, with the repo or URL they come from."""
        return {
            j.name: (j.repo_id or redact_url(j.url or ""))
            for j in self.jobs.all()
            if j.status in ACTIVE
        }

    # --- running ---------------------------------------------------------------------------
    def free_bytes(self) -> int:
        if self.settings.download_free_space_bytes is not None:
            return self.settings.download_free_space_bytes
        return shutil.disk_usage(self.models_dir).free

    def _check_free(self, job: DownloadJob) -> None:
        needed = (job.bytes_total or 0) - self.staging.on_disk(job)
        free = self.free_bytes()
        reserve = self.settings.download_reserve_bytes
        if needed > free - reserve:
            raise InsufficientStorage(
                f"Not enough disk space for '{job.name}': it needs {needed:,} more bytes, "
                f"{free:,} are free and {reserve:,} are kept in reserve.",
                code="insufficient_storage",
            )

    async def _run(self, job_id: str, rt: _Runtime, ctx: JobContext) -> None:
        active = False
        try:
            job = self.get(job_id)
            if ctx.cancelled:
                raise TransferCancelled()
            claimed = self.jobs.update_if(job, ACTIVE, status="running")
            if claimed is None:
                return  # cancelled or ended elsewhere before it started here
            job = claimed
            self._publish(job_id)
            metrics.DOWNLOADS_ACTIVE.inc()
            active = True
            if not self.staging.finished(job):  # else: killed between rename and commit
                self._check_free(job)
                await asyncio.to_thread(self._transfer_all, job, rt, ctx)
                await asyncio.to_thread(self.staging.finish, job)
            done = self.jobs.update_if(
                job,
                ("running",),
                status="completed",
                bytes_done=job.bytes_total or rt.bytes_done,
                finished_at=time.time(),
            )
            if done is None:
                log.info("download %s ended elsewhere; not marked again", job_id)
                return
            metrics.DOWNLOADS_FINISHED.labels("completed").inc()
            log.info("download %s complete: %s", job_id, job.name)
        except TransferCancelled:
            row = self.jobs.get(job_id)  # None: deleted on another replica
            if row is None:
                return
            status = "queued" if ctx.stopping else "cancelled"
            self.jobs.update(row, status=status, bytes_done=self.staging.on_disk(row))
            if status == "cancelled":
                metrics.DOWNLOADS_FINISHED.labels("cancelled").inc()
        except asyncio.CancelledError:
            raise
        except (TransferFailed, AppError) as exc:
            code = exc.code
            message = exc.message if isinstance(exc, AppError) else str(exc)
            log.warning("download %s failed: %s", job_id, redact(message))
            metrics.DOWNLOADS_FINISHED.labels("failed").inc()
            job = self.get(job_id)
            self.jobs.update(
                job,
                status="failed",
                error=message,
                error_code=code,
                bytes_done=self.staging.on_disk(job),
                finished_at=time.time(),
            )
        except Exception as exc:  # unexpected: keep the job inspectable, never crash the loop
            log.exception("download %s crashed", job_id)
            metrics.DOWNLOADS_FINISHED.labels("failed").inc()
            job = self.get(job_id)
            self.jobs.update(
                job,
                status="failed",
                error=f"{type(exc).__name__}: {exc}",
                error_code="internal_error",
                finished_at=time.time(),
            )
        finally:
            if active:
                metrics.DOWNLOADS_ACTIVE.dec()

    def _transfer_all(self, job: DownloadJob, rt: _Runtime, ctx: JobContext) -> None:
        self.staging.folder(job.name).mkdir(parents=True, exist_ok=True)
        rt.bytes_done = self.staging.on_disk(job)
        headers = auth_headers() if job.kind == "hub" else {}
        last_published = 0.0

        def on_bytes(n: int) -> None:
            nonlocal last_published
            rt.add(n)
            now = time.monotonic()
            if now - last_published >= _PUBLISH_S:
                last_published = now
                ctx.loop.call_soon_threadsafe(self._publish, job.id)
            if now - rt.last_saved >= 2.0:  # so a killed process still shows its progress
                rt.last_saved = now
                self.jobs.save_progress(job.id, rt.bytes_done)

        for f in job.files:
            final = self.staging.file_path(job, f.path)
            if final.is_file():
                continue  # verified in an earlier run
            rt.current_file = f.path
            part = final.with_name(final.name + ".part")
            fetch_file(
                self._client if job.kind == "hub" else self._url_client,
                f,
                part,
                headers=headers,
                cancel=cast(CancelSwitch, ctx.cancel),
                on_bytes=on_bytes,
                chunk_bytes=self.settings.download_chunk_bytes,
                retries=self.settings.download_retries,
            )
            part.rename(final)
        rt.current_file = None
