"""Pydantic models of the records as their ``to_dict()`` writes them, made from the dataclasses'
own fields: the one source of the HTTP API's and the MCP server's output schemas."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, get_type_hints

from pydantic import BaseModel, Field, create_model

from assistant.core import IndexStatus
from assistant.fetching import Added
from assistant.indexing import Failure, IndexReport
from assistant.records import Answer, Chunk, Citation, Hit, SentenceSupport


def record_model(
    name: str,
    record: type,
    rename: dict[str, str] | None = None,
    skip: tuple[str, ...] = (),
    base: type[BaseModel] | None = None,
    about: dict[str, str] | None = None,
    **extra: Any,
) -> type[BaseModel]:
    """A model with ``record``'s fields, all required (``to_dict`` writes each one), renamed
    and described as given, without ``skip``, plus the ``extra`` fields that ``to_dict`` adds."""
    hints = get_type_hints(record)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        if f.name not in skip:
            key = (rename or {}).get(f.name, f.name)
            fields[key] = (hints[f.name], Field(description=(about or {}).get(key)))
    return create_model(name, __base__=base, **fields, **extra)


if TYPE_CHECKING:  # made at run time from the records; to the type checker, models
    ChunkOut = BaseModel
    HitOut = BaseModel
    CitationOut = BaseModel
    SentenceOut = BaseModel
    AnswerOut = BaseModel
    SearchOut = BaseModel
    IndexStatusOut = BaseModel
    FailureOut = BaseModel
    IndexReportOut = BaseModel
    AddedOut = BaseModel
    AddReportOut = BaseModel
else:
    ChunkOut = record_model("ChunkOut", Chunk, rename={"id": "chunk_id"}, location=(str, ...))
    HitOut = record_model("HitOut", Hit, skip=("chunk",), base=ChunkOut)
    CitationOut = record_model(
        "CitationOut", Citation, skip=("chunk",), base=ChunkOut, snippet=(str, ...), link=(str, ...)
    )
    SentenceOut = record_model("SentenceOut", SentenceSupport)
    AnswerOut = record_model(
        "AnswerOut",
        Answer,
        rename={"text": "answer"},
        skip=("citations", "sentences"),
        citations=(list[CitationOut], ...),
        sentences=(list[SentenceOut], ...),
    )
    SearchOut = create_model(
        "SearchResponse",
        relevant=(bool, Field(description="False when nothing passed the relevance floor.")),
        hits=(list[HitOut], ...),
    )
    IndexStatusOut = record_model("IndexStatusOut", IndexStatus)
    FailureOut = record_model("FailureOut", Failure)
    IndexReportOut = record_model(
        "IndexReportOut",
        IndexReport,
        skip=("failed",),
        failed=(list[FailureOut], ...),
        exit_code=(int, ...),
    )
    AddedOut = record_model(
        "AddedOut",
        Added,
        about={
            "item": "The link as given.",
            "path": "Where it was saved, relative to the corpus folder.",
        },
    )
    AddReportOut = create_model(
        "AddReportOut",
        added=(list[AddedOut], ...),
        failed=(
            list[FailureOut],
            Field(description="Links refused or not fetched, and why."),
        ),
        index=(
            IndexReportOut | None,
            Field(description="The index update, if anything was added."),
        ),
        exit_code=(int, Field(description="0 all added, 3 some failed, 4 none added.")),
    )
