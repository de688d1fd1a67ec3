"""Turn uploaded bytes into text sections, checking the content rather than trusting the name.

A section is text with the page it came from (PDF, numbered from 1 like a viewer shows) or the
heading path it sits under (Markdown). Everything here is synchronous and raises typed errors, so
an upload is refused before anything is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Literal

from app.core.errors import InvalidRequest, UnsupportedDocument

DocumentKind = Literal["pdf", "txt", "md"]

PDF_MAGIC = b"%PDF-"
_TEXT_EXTENSIONS: dict[str, DocumentKind] = {
    ".txt": "txt",
    ".text": "txt",
    ".md": "md",
    ".markdown": "md",
}
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_SAFE_NAME = re.compile(r"^[^\x00-\x1f/\\]{1,255}$")


@dataclass
class Section:
    """A run of text under one heading path; ``page`` is its first page (PDF) and
    ``page_spans`` lists ``(character offset, page)`` where each of its pages starts."""

    text: str
    page: int | None = None
    heading_path: list[str] = field(default_factory=list)
    page_spans: list[tuple[int, int]] = field(default_factory=list)


@dataclass
class ParsedDocument:
    kind: DocumentKind
    sections: list[Section]
    pages: int  # PDF pages; 1 for text files


def check_filename(name: str | None) -> str:
    """The client's file name if it is a plain name; refuses paths and traversal."""
    if not name:
        raise InvalidRequest("Every uploaded file needs a file name.", param="files")
    parts_posix = PurePosixPath(name).parts
    parts_win = PureWindowsPath(name).parts
    if (
        len(parts_posix) != 1
        or len(parts_win) != 1
        or name in (".", "..")
        or not _SAFE_NAME.match(name)
    ):
        raise InvalidRequest(
            f"File name '{name[:100]}' must be a plain name without folders or '..'.",
            param="files",
            code="invalid_filename",
        )
    return name


def detect_kind(filename: str, data: bytes) -> DocumentKind:
    """PDF by magic bytes; text by extension plus a UTF-8 check done when parsing."""
    suffix = PurePosixPath(filename.lower()).suffix
    if data.startswith(PDF_MAGIC):
        return "pdf"
    if suffix == ".pdf":
        raise UnsupportedDocument(f"'{filename}' is named .pdf but is not a PDF file.")
    if suffix in _TEXT_EXTENSIONS:
        return _TEXT_EXTENSIONS[suffix]
    raise UnsupportedDocument(
        f"'{filename}': only PDF, plain text (.txt) and Markdown (.md) files are accepted."
    )


def parse(filename: str, data: bytes, *, max_pages: int, structure: bool = True) -> ParsedDocument:
    """Validate and parse one file; raises a 4xx error for anything unusable. With
    ``structure`` a PDF is split by its outline or detected headings (sections may span
    pages); without, one section per page."""
    if not data:
        raise InvalidRequest(f"'{filename}' is empty.", param="files", code="empty_file")
    kind = detect_kind(filename, data)
    if kind == "pdf":
        return _parse_pdf(filename, data, max_pages, structure)
    text = _decode_text(filename, data)
    sections = _markdown_sections(text) if kind == "md" else [Section(text)]
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise InvalidRequest(f"'{filename}' has no text.", param="files", code="empty_file")
    return ParsedDocument(kind, sections, 1)


def _decode_text(filename: str, data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnsupportedDocument(
            f"'{filename}' is not UTF-8 text (invalid byte at offset {exc.start})."
        ) from exc
    # NUL and other C0 controls (besides whitespace) mean a binary file that happens to decode.
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    if "\x00" in text or controls > max(8, len(text[:65536]) // 100):
        raise UnsupportedDocument(f"'{filename}' looks binary, not text.")
    return text.replace("\r\n", "\n")


def _markdown_sections(text: str) -> list[Section]:
    """Split on headings first, so chunks never straddle two sections; keep the heading path."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    last = 0
    current_path: list[str] = []
    for match in _HEADING.finditer(text):
        if body := text[last : match.start()].strip():
            sections.append(Section(body, None, current_path))
        level, title = len(match.group(1)), match.group(2).strip()
        path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, title)]
        current_path = [t for _, t in path]
        # The heading line stays in its section so the chunk text still names its topic.
        last = match.start()
    if body := text[last:].strip():
        sections.append(Section(body, None, current_path))
    return sections


def _parse_pdf(filename: str, data: bytes, max_pages: int, structure: bool) -> ParsedDocument:
    import pymupdf

    try:
        doc = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:  # pymupdf raises its own FileDataError and others
        raise UnsupportedDocument(f"'{filename}' is a corrupt or unreadable PDF.") from exc
    try:
        if doc.needs_pass or doc.is_encrypted:
            raise UnsupportedDocument(
                f"'{filename}' is encrypted; upload a copy without a password.",
                code="encrypted_pdf",
            )
        if doc.page_count < 1:
            raise UnsupportedDocument(f"'{filename}' has no pages.")
        if doc.page_count > max_pages:
            raise InvalidRequest(
                f"'{filename}' has {doc.page_count} pages; the limit is {max_pages}.",
                param="files",
                code="too_many_pages",
            )
        try:
            # pymupdf's inline types do not declare Document as iterable over its pages.
            pages: Any = doc
            texts = [page.get_text("text") for page in pages]
            if structure and any(t.strip() for t in texts):
                from app.services.rag.structure import pdf_sections

                sections = pdf_sections(doc, texts)
            else:
                sections = [
                    Section(t, i + 1, [], [(0, i + 1)]) for i, t in enumerate(texts) if t.strip()
                ]
        except Exception as exc:
            raise UnsupportedDocument(f"'{filename}' is a corrupt PDF: {exc}") from exc
        if not sections:
            raise UnsupportedDocument(
                f"'{filename}' has no extractable text (scanned PDFs need OCR, not supported).",
                code="empty_file",
            )
        return ParsedDocument("pdf", sections, doc.page_count)
    finally:
        doc.close()
