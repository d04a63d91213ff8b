"""The records as terminal text: index status and reports, search hits, checked answers. The
CLI prints these; the server prints the report of the index it builds before it starts."""

from __future__ import annotations

from typing import Any


def render_status(status: Any) -> str:
    if not status.exists:
        return f"No index at {status.where}. Build one with `assistant index`."
    lines = [
        f"index:     {status.where} ({status.collection})",
        f"documents: {status.documents}   chunks: {status.chunks}",
        f"model:     {status.model}   {status.settings}",
        f"built:     {status.built_at}",
    ]
    changes = {k: v for k, v in status.changed_since.items() if v}
    if not changes:
        lines.append("corpus:    up to date")
    for kind, paths in changes.items():
        lines.append(f"{kind} since build: {', '.join(paths)}")
    return "\n".join(lines)


def render_report(report: Any) -> str:
    lines = []
    for label, items in (("added", report.added), ("changed", report.changed),
                         ("removed", report.removed)):  # fmt: skip
        lines += [f"  {label:9} {p}" for p in items]
    lines += [f"  renamed   {old} -> {new}" for old, new in report.renamed]
    lines += [f"  duplicate {p} (same content as {twin}; skipped)" for p, twin in report.duplicates]
    lines += [f"  FAILED    {f.path}: {f.reason}" + (f" — {f.hint}" if f.hint else "")
              for f in report.failed]  # fmt: skip
    lines.append(
        f"{len(report.added)} added, {len(report.changed)} changed, {len(report.renamed)} renamed, "
        f"{len(report.removed)} removed, {len(report.unchanged)} unchanged, "
        f"{len(report.duplicates)} duplicate, {len(report.failed)} failed"
    )
    lines.append(
        f"{report.documents} documents, {report.chunks} chunks in the index; "
        f"{report.chunks_embedded} embedded, {report.chunks_reused} reused, {report.seconds:.1f} s"
    )
    return "\n".join(lines)


def render_added(report: Any) -> str:
    lines = [f"  added     {a.item} -> {a.path} ({a.title})" for a in report.added]
    lines += [f"  FAILED    {f.path}: {f.reason}" + (f" — {f.hint}" if f.hint else "")
              for f in report.failed]  # fmt: skip
    if report.index is None:
        lines.append("nothing was added; the index is unchanged")
    else:
        lines.append(render_report(report.index))
    return "\n".join(lines)


def render_hits(result: Any) -> str:
    if not result.relevant:
        return "Nothing in the index is relevant to that query."
    lines = []
    for rank, hit in enumerate(result.hits, start=1):
        sim = "-" if hit.similarity is None else f"{hit.similarity:.3f}"
        bm25 = "-" if hit.bm25 is None else f"{hit.bm25:.2f}"
        lines.append(f"{rank}. {hit.chunk.title} — {hit.chunk.location}")
        lines.append(
            f"   score {hit.score:.4f}  dense {sim} (#{hit.dense_rank})"
            f"  bm25 {bm25} (#{hit.bm25_rank})"
        )
        lines.append(f"   {' '.join(hit.chunk.text.split())[:240]}")
    return "\n".join(lines)


def render_answer(answer: Any) -> str:
    marks = {"supported": "✓", "weak": "~", "unsupported": "✗"}
    lines = [answer.text, ""]
    if answer.abstained:
        lines += [f"({n})" for n in answer.notes]
        return "\n".join(lines).rstrip()
    lines.append("Checked sentences:")
    lines += [f"  {marks[s.support]} {s.text}" + (f"  ({s.reason})" if s.reason else "")
              for s in answer.sentences]  # fmt: skip
    lines += ["", "Sources:"]
    for c in answer.citations:
        about = ", ".join(x for x in (c.chunk.publisher, c.chunk.date) if x)
        lines.append(f"  [{c.n}] {c.chunk.title}" + (f" ({about})" if about else ""))
        lines.append(f"      {c.chunk.location}" + (f"  {c.link}" if c.chunk.url else ""))
        lines.append(f'      "{c.quote}"')
    return "\n".join(lines)
