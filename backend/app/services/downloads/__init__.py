"""Model downloads: Hub repos and .gguf URLs fetched as resumable, verified background jobs."""

from app.services.downloads.service import DownloadService

__all__ = ["DownloadService"]
