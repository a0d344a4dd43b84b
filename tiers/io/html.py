"""HTML decoding (charset detection) and main-text extraction with resiliparse.

resiliparse was chosen over trafilatura by measurement: see bench/html_extraction.py and
docs/architecture.md for the figures.
"""

from __future__ import annotations

import re

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.encoding import bytes_to_str, detect_encoding

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([A-Za-z0-9_\-:.]+)", re.IGNORECASE)


def charset_from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1).lower() if match else None


def _usable(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        "".encode(charset)
    except LookupError:
        return None
    return charset.lower()


def decode_html(raw: bytes, header_charset: str | None) -> tuple[str, str]:
    """Decode HTML bytes; charset from the HTTP header, then a <meta> tag, then detection."""
    charset = _usable(header_charset)
    if charset is None:
        match = _META_CHARSET.search(raw[:4096])
        charset = _usable(match.group(1).decode("ascii", "replace")) if match else None
    if charset is None:
        charset = _usable(detect_encoding(raw)) or "utf-8"
    if charset in ("gb2312", "gbk"):
        charset = "gb18030"
    return bytes_to_str(raw, charset, fallback_encodings=("utf-8", "windows-1252")), charset


def extract_main_text(html: str) -> str:
    return extract_plain_text(html, main_content=True, alt_texts=False, links=False, list_bullets=True)
