"""Runs in a child process: extract a PDF's pages under a memory limit and print JSON."""

from __future__ import annotations

import json
import resource
import sys
from typing import Any


def extract(path: str) -> dict[str, Any]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            return _fail("the PDF is encrypted", "save an unencrypted copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except FileNotDecryptedError:
        return _fail("the PDF is encrypted", "save an unencrypted copy")
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        return _fail(f"the PDF is damaged or not a PDF ({type(exc).__name__})", "re-export it")
    if not any(p.strip() for p in pages):
        return _fail(
            "the PDF has no text layer (it looks scanned)",
            "run OCR on it first (for example with ocrmypdf) and add the result",
        )
    info: Any = reader.metadata or {}
    meta = {"title": str(info.get("/Title") or "").strip()}
    return {"pages": pages, "meta": {k: v for k, v in meta.items() if v}}


def _fail(error: str, hint: str) -> dict[str, Any]:
    return {"error": error, "hint": hint}


def main() -> None:
    path, memory_mb = sys.argv[1], int(sys.argv[2])
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        result = extract(path)
    except MemoryError:
        result = _fail(
            "the PDF needs more memory than allowed", "raise ASSISTANT_CORPUS__PDF_MEMORY_MB"
        )
    sys.stdout.write(json.dumps(result))


if __name__ == "__main__":
    main()
