"""A chat assistant that answers questions about the global AI race from a curated corpus and
cites the exact source of every claim."""

from assistant.core import Assistant, IndexStatus
from assistant.errors import AssistantError, IndexMissingError, ModelError
from assistant.indexing import IndexReport
from assistant.records import Answer, Chunk, Citation, Filters, Final, Hit, SentenceSupport, Token
from assistant.retrieval import SearchResult
from assistant.settings import Settings

__all__ = [
    "Answer",
    "Assistant",
    "AssistantError",
    "Chunk",
    "Citation",
    "Filters",
    "Final",
    "Hit",
    "IndexMissingError",
    "IndexReport",
    "IndexStatus",
    "ModelError",
    "SearchResult",
    "SentenceSupport",
    "Settings",
    "Token",
]
