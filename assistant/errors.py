"""Errors the library raises; each message says what is wrong and what to do next."""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the assistant raises on purpose."""


class ConfigError(AssistantError):
    """A setting is wrong or a configured file is missing."""


class IndexMissingError(AssistantError):
    def __init__(self, where: str) -> None:
        super().__init__(
            f"No index found at {where}. Build one first: run `assistant index` "
            "(or call Assistant().index())."
        )


class ModelError(AssistantError):
    """A model could not be loaded, reached, or used."""


class ModelCrashed(ModelError):
    """The local model's process died while answering; it is restarted for the next question.
    The answer in flight falls back to one built from the sources without a model."""


class BadDocumentError(AssistantError):
    """One source file could not be read; ``reason`` and ``hint`` are shown to the user."""

    def __init__(self, path: str, reason: str, hint: str = "") -> None:
        self.path = path
        self.reason = reason
        self.hint = hint
        super().__init__(f"{path}: {reason}" + (f" — {hint}" if hint else ""))


class UploadError(AssistantError):
    """An uploaded file was refused."""
