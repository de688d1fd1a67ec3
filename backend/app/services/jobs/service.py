"""The request side that services with one row per job share (downloads, quantizations).

A :class:`JobService` keeps its rows in a store with ``get`` and ``all`` and renders a row as
a Pydantic view (``info``). From those it answers the calls every such API has in the same
way: look a job up (404), list them, refuse to cancel one that already ended (409), wait for a
run here to end, publish the view on the event bus and follow a job as live events.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel

from app.core.errors import Conflict, NotFound
from app.services.jobs.runner import RunsJobs

ACTIVE: tuple[str, ...] = ("queued", "running")
TERMINAL: tuple[str, ...] = ("completed", "failed", "cancelled")


class JobRow(Protocol):
    """What the shared calls read of a job's row."""

    @property
    def id(self) -> str: ...

    @property
    def status(self) -> str: ...


RowT = TypeVar("RowT", bound=JobRow)
InfoT = TypeVar("InfoT", bound=BaseModel)


class JobRows(Protocol[RowT]):
    """The two reads of a job store the shared calls use."""

    def get(self, job_id: str) -> RowT | None: ...

    def all(self) -> list[RowT]: ...


class JobService(RunsJobs, Generic[RowT, InfoT]):
    """Mixin of a job service: subclasses set ``kind`` (the job kind's name), ``noun`` (how
    errors name a job), ``view`` (the info model) and ``jobs`` (the store), and write ``info``."""

    kind: ClassVar[str]
    noun: ClassVar[str]
    view: ClassVar[type[BaseModel]]
    jobs: JobRows[RowT]

    @abstractmethod
    def info(self, job: RowT) -> InfoT:
        """The job's row as the API shows it."""

    @abstractmethod
    async def cancel(self, job_id: str) -> InfoT:
        """Stop a queued or running job (409 once it ended); its state afterwards."""

    def get(self, job_id: str) -> RowT:
        job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"{self.noun} '{job_id}' does not exist.", param="job_id")
        return job

    def list_jobs(self) -> list[InfoT]:
        return [self.info(j) for j in self.jobs.all()]

    def cancellable(self, job_id: str) -> RowT:
        """The job, if it is still queued or running (409 otherwise)."""
        job = self.get(job_id)
        if job.status not in ACTIVE:
            raise Conflict(
                f"{self.noun} '{job_id}' is {job.status}; only queued or running jobs can be "
                "cancelled.",
                param="job_id",
            )
        return job

    async def wait(self, job_id: str) -> InfoT:
        """The job once its run in this process (if any) ends (at once when nothing runs)."""
        await self.runner.wait(self.kind, job_id)
        return self.info(self.get(job_id))

    def _publish(self, job_id: str) -> None:
        job = self.jobs.get(job_id)
        if job is not None:
            self.runner.publish(self.kind, job_id, self.info(job).model_dump(mode="json"))

    async def events(self, job_id: str) -> AsyncIterator[InfoT]:
        """Snapshots while the job changes (published by whichever process runs it; the row
        when none come for a while), ending with its first terminal state."""
        views = self.runner.follow(
            self.kind,
            job_id,
            lambda: self.info(self.get(job_id)),  # NotFound once the job is deleted
            self._parse_view,
            self.ended,
        )
        async for view in views:
            yield view

    def _parse_view(self, data: dict[str, object]) -> InfoT:
        return self.view.model_validate(data)  # type: ignore[return-value]  # view is InfoT

    @staticmethod
    def ended(view: InfoT) -> bool:
        """Whether the job of this view completed, failed or was cancelled."""
        return view.status in TERMINAL  # type: ignore[attr-defined]  # every view has a status
