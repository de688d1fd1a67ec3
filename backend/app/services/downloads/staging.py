"""The staging folder of a download: where its files land until the model is complete.

``models/.{name}.partial/`` (the model store skips dot entries) holds each file as
``{file}.part`` until its hash checks out, then under its own name; :meth:`Staging.finish`
checks the files by content and renames the folder (or the single .gguf) into ``models/`` in one
step, so a model is listed only once it is complete and verified.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from app.core.errors import Conflict
from app.services.downloads.jobs import DownloadJob
from app.services.downloads.transfer import TransferFailed
from app.services.models.validation import deep_problem


class Staging:
    """Paths and moves of downloads into one models folder."""

    def __init__(self, models_dir: Path, on_model_added: Callable[[], None] | None = None) -> None:
        self.models_dir = models_dir
        self.on_model_added = on_model_added

    def folder(self, name: str) -> Path:
        return self.models_dir / f".{name}.partial"

    def file_path(self, job: DownloadJob, rel: str) -> Path:
        """Where ``rel`` of the job lands; refuses a path that leaves the staging folder."""
        staging = self.folder(job.name).resolve()
        path = (staging / rel).resolve()
        if not path.is_relative_to(staging):
            raise TransferFailed(f"File '{rel}' would land outside the models folder.", "bad_path")
        return path

    def on_disk(self, job: DownloadJob) -> int:
        """Bytes of the job's files already in the staging folder (finished or partial)."""
        done = 0
        for f in job.files:
            final = self.file_path(job, f.path)
            part = final.with_name(final.name + ".part")
            if final.is_file():
                done += final.stat().st_size
            elif part.is_file():
                done += part.stat().st_size
        return done

    def finished(self, job: DownloadJob) -> bool:
        """The job's model is already in place (renamed, but the process died before the job
        row said so): every file present at its announced size, and no staging folder."""
        target = self.models_dir / job.name
        if self.folder(job.name).exists() or not target.exists():
            return False
        if job.single_file:
            return target.is_file() and target.stat().st_size == job.files[0].size
        for f in job.files:
            path = target / f.path
            if not path.is_file() or (f.size is not None and path.stat().st_size != f.size):
                return False
        return True

    def finish(self, job: DownloadJob) -> None:
        staging = self.folder(job.name)
        target = self.models_dir / job.name
        if target.exists() or target.is_symlink():
            raise Conflict(f"'{job.name}' appeared in the models folder meanwhile.", param="name")
        self._validate(job, staging)
        if job.single_file:
            self.file_path(job, job.files[0].path).rename(target)
            shutil.rmtree(staging, ignore_errors=True)
        else:
            staging.rename(target)
        if self.on_model_added is not None:
            self.on_model_added()

    def _validate(self, job: DownloadJob, staging: Path) -> None:
        """Check the files by content before they become a model (a URL that answered an HTML
        page, a truncated or forged header). A failure is moved to ``models/.quarantine/``
        (the scan skips dot folders) for inspection and fails the job."""
        if job.single_file:
            problem = deep_problem(self.file_path(job, job.files[0].path), "gguf")
        elif (staging / "config.json").is_file() or any(staging.glob("*.safetensors")):
            problem = deep_problem(staging, "hf")
        else:
            problem = None  # not a model folder (e.g. a dataset-like repo): nothing to check
        if problem is None:
            return
        quarantine = self.models_dir / ".quarantine" / job.name
        shutil.rmtree(quarantine, ignore_errors=True)
        quarantine.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(quarantine)
        raise TransferFailed(
            f"The download is not a usable model: {problem}. It was moved to "
            f"models/.quarantine/{job.name} and not added to the models folder.",
            code="invalid_model_file",
        )
