"""A chat assistant that answers questions about the global AI race from a curated corpus and
cites the exact source of every claim."""

from typing import TYPE_CHECKING, Any

from assistant.core import Assistant, IndexStatus
from assistant.errors import AssistantError, IndexMissingError, ModelError
from assistant.indexing import IndexReport
from assistant.records import Answer, Chunk, Citation, Filters, Final, Hit, SentenceSupport, Token
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.retrieval import SearchResult


def __getattr__(name: str) -> Any:
    """Retrieval (and LangChain's retriever with it) loads when first asked for, not on import."""
    if name == "SearchResult":
        from assistant.retrieval import SearchResult

        return SearchResult
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")


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
