"""Quantization jobs: make smaller GGUF models from a local GGUF file or HF folder.

A job (one request: a source and one or more types) is a background job of kind
``quantize`` (:mod:`app.services.jobs`). An HF folder is first converted to an f16 GGUF with
llama.cpp's converter; each type is then written by ``llama_model_quantize`` in a child process
(:mod:`app.services.quantize.child`), so a cancel kills it and nothing here blocks. Every file
in progress has a dot name holding the job id (the model store skips dot entries) and is
renamed to ``{stem}-{type}.gguf`` only when complete; a failed, cancelled or interrupted run
removes its partial files, and a restart runs the job again from scratch (outputs it finished
before stay and are not redone). Each finished output's lineage (parent, type, size, bits per
weight, job) goes to ``quantized_models``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import struct
import time
from collections.abc import Callable
from pathlib import Path

from app.core.config import Settings
from app.core.db import Database
from app.core.errors import AppError, Conflict, InsufficientStorage, InvalidRequest
from app.schemas.quantize import QuantizationInfo, QuantizedOutput
from app.services.jobs import JobContext, JobKind, JobRunner
from app.services.jobs.service import ACTIVE, JobService
from app.services.models.inspection import inspect_model
from app.services.models.manager import ModelManager
from app.services.models.store import LocalModel, ModelStore
from app.services.models.validation import quick_problem
from app.services.quantize.llama import convert_command, quantize_command
from app.services.quantize.measure import gguf_summary
from app.services.quantize.process import ToolCancelled, ToolFailed, run_tool
from app.services.quantize.store import Lineage, QuantizeJob, QuantizeStore
from app.services.quantize.types import FLOAT_SOURCES, QUANT_TYPES, parse_types

log = logging.getLogger(__name__)

JOB_KIND = "quantize"
# A trailing type in a source name (``tiny-f16``, ``model.Q4_1``) is dropped from the stem.
_TYPE_SUFFIX = re.compile(r"[-_.](f32|f16|bf16|q\d(_[a-z0-9]+)*|iq\d(_[a-z0-9]+)*)$", re.I)


def output_stem(model: LocalModel) -> str:
    """``{stem}`` of the outputs: the model's name without ``.gguf`` or a trailing type."""
    name = model.id.rsplit("/", 1)[-1].removesuffix(".gguf")
    return _TYPE_SUFFIX.sub("", name) or name


class QuantizeService(JobService[QuantizeJob, QuantizationInfo]):
    """Owns quantization jobs; one per process (the server, or ``playground quantize``)."""

    kind = JOB_KIND
    noun = "Quantization"
    view = QuantizationInfo
    jobs: QuantizeStore

    def __init__(
        self,
        settings: Settings,
        db: Database,
        store: ModelStore,
        manager: ModelManager | None = None,
        runner: JobRunner | None = None,
        on_model_added: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.models_dir = settings.models_dir
        self.store = store
        self.manager = manager
        self.jobs = QuantizeStore(db)
        self._on_model_added = on_model_added or store.invalidate
        # bytes of the file being written by each job running here
        self._written: dict[str, int] = {}
        # One at a time: each quantization uses every thread it is given.
        self.use_runner(
            runner,
            JobKind(JOB_KIND, self._run_job, self.jobs.active_ids, self.give_up, concurrency=1),
        )

    async def start(self) -> None:
        """With a runner of its own (``playground quantize``), start it without resuming: the
        server resumes its own jobs."""
        await self.start_own_runner(resume=False)

    async def shutdown(self) -> None:
        await self.stop_own_runner()

    # --- requests ------------------------------------------------------------------------------
    async def create(self, model_id: str, type_names: list[str]) -> QuantizationInfo:
        """Check the request (400/404/409/507 before anything is written) and start the job."""
        types = parse_types(type_names)
        model = await asyncio.to_thread(self._source, model_id)
        if self.manager is not None:
            self.manager.check_idle(model.id, "quantize it")
        stem = output_stem(model)
        active = [j for j in self.jobs.all() if j.status in ACTIVE]
        busy = {self.output_name(j, t) for j in active for t in j.types}
        for quant in types:
            name = f"{stem}-{quant.name}.gguf"
            target = self.models_dir / name
            if target.exists() or target.is_symlink():
                raise Conflict(
                    f"'{name}' is already in the models folder; delete it first.",
                    param="types",
                    code="model_exists",
                )
            if name in busy:
                raise Conflict(f"A quantization to '{name}' is in progress.", param="types")
        params, source_type = await asyncio.to_thread(_source_facts, model)
        warning = None
        if model.format == "gguf" and source_type not in FLOAT_SOURCES:
            warning = (
                f"The source is quantized already ({source_type}); quantizing it again "
                "loses more quality than quantizing the f16/f32 original would."
            )
        self._check_free(model, params, [t.bits for t in types])
        job = QuantizeJob.new(model.id, model.format, [t.name for t in types], warning)
        self.jobs.insert(job)
        await self.runner.submit(JOB_KIND, job.id)
        return self.info(job)

    def _source(self, model_id: str) -> LocalModel:
        plain = bool(model_id) and "/" not in model_id and not model_id.startswith(".")
        if plain and (self.models_dir / model_id).exists():
            scanned = self.store.scan()  # also refreshes store.invalid (damaged models)
            if not any(m.id == model_id for m in scanned) and model_id not in self.store.invalid:
                raise InvalidRequest(
                    f"models/{model_id} is not a GGUF file or an HF model folder (config.json "
                    "beside safetensors weights).",
                    param="model_id",
                    code="invalid_model_file",
                )
        model = self.store.resolve(model_id)  # 404, or 400 for a damaged file
        if model.format not in ("gguf", "hf"):
            raise InvalidRequest(
                f"'{model_id}' is served by another server ({model.format}); only a local GGUF "
                "file or HF folder can be quantized.",
                param="model_id",
            )
        return model

    def output_name(self, job: QuantizeJob, type_name: str) -> str:
        stem = output_stem(LocalModel(job.model, Path(job.model), "gguf", 0))
        return f"{stem}-{type_name}.gguf"

    def free_bytes(self) -> int:
        if self.settings.download_free_space_bytes is not None:
            return self.settings.download_free_space_bytes
        return shutil.disk_usage(self.models_dir).free

    def _check_free(self, model: LocalModel, params: int | None, bits: list[float]) -> None:
        """507 when the outputs (estimated from the parameter count and each type's nominal
        bits) and the f16 conversion of an HF source do not fit."""
        weights = params or model.size_bytes // 2
        needed = sum(int(weights * b / 8) for b in bits)
        if model.format == "hf":
            needed += weights * 2
        free = self.free_bytes()
        reserve = self.settings.download_reserve_bytes
        if needed > free - reserve:
            raise InsufficientStorage(
                f"Not enough disk space to quantize '{model.id}': about {needed:,} bytes are "
                f"needed, {free:,} are free and {reserve:,} are kept in reserve."
            )

    async def cancel(self, job_id: str) -> QuantizationInfo:
        self.cancellable(job_id)
        # The row first: a run on any replica sees it and stops; then wait for one here.
        self.jobs.update(job_id, status="cancelled", finished_at=time.time())
        await self.runner.cancel(JOB_KIND, job_id)
        await asyncio.to_thread(self._remove_partials, job_id)
        self._publish(job_id)
        return self.info(self.get(job_id))

    async def delete(self, job_id: str) -> None:
        """Forget a job; a running one is stopped and its partial files removed. The models it
        finished stay (delete them with DELETE /api/v1/models/{id})."""
        self.get(job_id)
        self.jobs.update(job_id, status="cancelled", finished_at=time.time())
        await self.runner.cancel(JOB_KIND, job_id)
        await asyncio.to_thread(self._remove_partials, job_id)
        self.jobs.delete(job_id)

    def lineage(self) -> dict[str, Lineage]:
        """Every stored lineage by model id; the listing shows one only while the model's file
        has the size that was written (a deleted model's name may hold another file later)."""
        return self.jobs.lineage()

    # --- views ---------------------------------------------------------------------------------
    def info(self, job: QuantizeJob) -> QuantizationInfo:
        done = {row.name: row for row in self.jobs.outputs(job.id)}
        running = job.status == "running"
        written = self._written.get(job.id) if running else None
        outputs = []
        for index, type_name in enumerate(job.types):
            name = self.output_name(job, type_name)
            row = done.get(name)
            if row is not None:
                outputs.append(
                    QuantizedOutput(
                        model_id=name,
                        type=type_name,
                        status="done",
                        size_bytes=row.size_bytes,
                        bits_per_weight=round(row.bits_per_weight, 3),
                    )
                )
            elif running and job.stage == "quantizing" and index == job.current:
                outputs.append(
                    QuantizedOutput(
                        model_id=name, type=type_name, status="running", size_bytes=written
                    )
                )
            else:
                outputs.append(QuantizedOutput(model_id=name, type=type_name, status="pending"))
        return QuantizationInfo(
            id=job.id,
            model=job.model,
            source_format=job.source_format,  # type: ignore[arg-type]  # 'gguf' or 'hf'
            status=job.status,  # type: ignore[arg-type]  # one of QuantizeStatus
            stage=(job.stage or "queued"),  # type: ignore[arg-type]  # one of QuantizeStage
            current=job.current,
            total=len(job.types),
            bytes_written=written,
            outputs=outputs,
            warning=job.warning,
            error=job.error,
            error_code=job.error_code,
            created_at=job.created_at,
            updated_at=job.updated_at,
            finished_at=job.finished_at,
        )

    # --- the job kind --------------------------------------------------------------------------
    def give_up(self, job_id: str, reason: str) -> None:
        self._remove_partials(job_id)
        if self.jobs.update(
            job_id,
            status="failed",
            error=reason,
            error_code="internal_error",
            finished_at=time.time(),
        ):
            self._publish(job_id)

    def _remove_partials(self, job_id: str) -> None:
        for path in self.models_dir.glob(f".*.{job_id}.partial"):
            with contextlib.suppress(OSError):
                path.unlink()

    async def _run_job(self, job_id: str, ctx: JobContext) -> None:
        """Run the job from the start (an interrupted run left only partial files, removed
        here); outputs an earlier run finished are kept. A no-op once the row is not active."""
        job = self.jobs.get(job_id)
        if job is None or job.status not in ACTIVE:
            return
        await asyncio.to_thread(self._remove_partials, job_id)
        if not self.jobs.update(job_id, status="running", error=None, error_code=None):
            return
        self._publish(job_id)
        try:
            await self._run(job, ctx)
            if self.jobs.update(
                job_id,
                status="completed",
                stage="done",
                current=len(job.types),
                finished_at=time.time(),
            ):
                log.info("quantization %s of %s complete", job_id, job.model)
        except ToolCancelled:
            status = "queued" if ctx.stopping else "cancelled"
            self.jobs.update(job_id, status=status)
        except (AppError, ToolFailed) as exc:
            message = exc.message if isinstance(exc, AppError) else str(exc)
            code = exc.code if isinstance(exc, AppError) else "quantize_failed"
            log.warning("quantization %s failed: %s", job_id, message)
            self.jobs.update(
                job_id, status="failed", error=message, error_code=code, finished_at=time.time()
            )
        finally:
            self._written.pop(job_id, None)
            await asyncio.to_thread(self._remove_partials, job_id)
            self._publish(job_id)

    async def _run(self, job: QuantizeJob, ctx: JobContext) -> None:
        model = await asyncio.to_thread(self.store.resolve, job.model)
        source = model.path
        if model.format == "hf":
            self.jobs.update(job.id, stage="converting", current=0)
            self._publish(job.id)
            source = self.models_dir / f".{output_stem(model)}-f16.{job.id}.partial"
            command = await asyncio.to_thread(
                convert_command, model.path, source, "f16", self.models_dir
            )
            await self._tool(command, source, job.id, ctx)
        finished = {row.name for row in self.jobs.outputs(job.id)}
        for index, type_name in enumerate(job.types):
            name = self.output_name(job, type_name)
            final = self.models_dir / name
            if name in finished and final.is_file():
                continue  # written by an earlier run of this job
            self.jobs.update(job.id, stage="quantizing", current=index)
            self._publish(job.id)
            partial = self.models_dir / f".{name}.{job.id}.partial"
            quant = QUANT_TYPES[type_name]
            command = quantize_command(
                source, partial, quant.ftype, self.settings.threads, job.warning is not None
            )
            await self._tool(command, partial, job.id, ctx)
            if ctx.cancelled:
                raise ToolCancelled()
            row = await asyncio.to_thread(self._finish, job, type_name, partial, final)
            self.jobs.add_lineage(row)
            self._on_model_added()
            log.info("quantized %s -> %s (%.2f bits/weight)", job.model, name, row.bits_per_weight)

    def _finish(self, job: QuantizeJob, type_name: str, partial: Path, final: Path) -> Lineage:
        """Check the written file, measure it and rename it into place."""
        try:
            problem = quick_problem(partial, "gguf")
            params = gguf_summary(partial)[0] if problem is None else 0
        except (ValueError, struct.error) as exc:
            problem = str(exc) or type(exc).__name__
        if problem is not None:
            raise ToolFailed(f"llama.cpp wrote an unreadable file for {type_name}: {problem}")
        size = partial.stat().st_size
        if final.exists() or final.is_symlink():
            raise Conflict(f"'{final.name}' appeared in the models folder meanwhile.")
        partial.rename(final)
        return Lineage(
            name=final.name,
            job_id=job.id,
            parent=job.model,
            type=type_name,
            size_bytes=size,
            parameters=params,
            bits_per_weight=size * 8 / params if params else 0.0,
        )

    def _on_size(self, job_id: str, size: int) -> None:
        self._written[job_id] = size
        self._publish(job_id)

    async def _tool(self, command: list[str], output: Path, job_id: str, ctx: JobContext) -> None:
        """Run a tool to its end, publishing the bytes it has written; killed on a cancel."""
        self._written.pop(job_id, None)
        await run_tool(command, output, ctx.cancel, lambda size: self._on_size(job_id, size))


def _source_facts(model: LocalModel) -> tuple[int | None, str | None]:
    """Parameters and file type of the source (an HF folder: from its safetensors headers)."""
    if model.format == "gguf":
        try:
            return gguf_summary(model.path)
        except (ValueError, struct.error) as exc:
            raise InvalidRequest(
                f"models/{model.id} is not a readable GGUF file ({exc}).",
                param="model_id",
                code="invalid_model_file",
            ) from exc
    facts = inspect_model(model.path, model.format)
    return facts.parameters, facts.quantization
