"""Runs in a child process: extract a PDF's pages under a memory limit and print JSON."""

from __future__ import annotations

import json
import resource
import sys
from typing import Any

SCANNED = "the PDF has no text layer (it looks scanned)"


def extract(path: str) -> dict[str, Any]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            return _fail("the PDF is encrypted", "save an unencrypted copy")
        pages = [_page_text(page) for page in reader.pages]
    except FileNotDecryptedError:
        return _fail("the PDF is encrypted", "save an unencrypted copy")
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        return _fail(f"the PDF is damaged or not a PDF ({type(exc).__name__})", "re-export it")
    if not any(p.strip() for p in pages):
        return {
            **_fail(SCANNED, "install the OCR extra (pip install 'ai-race-assistant[ocr]' and "
                    "Tesseract), or run OCR on it first (for example with ocrmypdf)"),
            "scanned": True,
        }  # fmt: skip
    return {"pages": pages, "meta": _metadata(reader)}


def _page_text(page: Any) -> str:
    """One unreadable page (a broken font or content stream) costs that page, not the file;
    running out of memory, or past pypdf's decompression limit, stops the whole file."""
    from pypdf.errors import LimitReachedError

    try:
        return str(page.extract_text() or "")
    except (MemoryError, LimitReachedError):
        raise
    except Exception:
        return ""


def _metadata(reader: Any) -> dict[str, str]:
    """Title and author from the document information, which may be damaged (a bad reference,
    a field of the wrong type); a damaged field is left out and costs nothing else. The creation
    date is not taken: it is when the file was made, often not when the text was published."""
    meta: dict[str, str] = {}
    for key in ("title", "author"):
        try:
            value = str(getattr(reader.metadata, key) or "").strip()
        except MemoryError:
            raise
        except Exception:
            continue
        if value:
            meta[key] = value
    return meta


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
