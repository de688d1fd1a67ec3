"""Stored conversations: the repository (store), the service that answers through the one
generation service, and the Markdown export."""

from app.services.conversations.service import AnswerOptions, ConversationService
from app.services.conversations.store import ConversationStore

__all__ = ["AnswerOptions", "ConversationService", "ConversationStore"]
