"""OpenAI-style batch jobs: uploaded files, batch records and the background runner."""

from app.services.batches.files import FileStore
from app.services.batches.runner import BatchService

__all__ = ["BatchService", "FileStore"]
