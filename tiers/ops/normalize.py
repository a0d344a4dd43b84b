"""Text normalizers (mappers): Unicode repair and blank-line collapse.

Defaults follow the UltraData-Math L1 cleaner: remove zero-width, bidi and control characters
(keeping tab, newline, carriage return), map no-break and ideographic spaces to a space, remove
private-use characters; collapse `([ \\t]*\\n){3,}` to one blank line.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import pyarrow as pa

from tiers.ops.base import Params, TextMapper, register


def _char_class(codes: list[int]) -> str:
    """A regex character class for a list of code points, as ranges."""
    codes = sorted(set(codes))
    parts, start, previous = [], codes[0], codes[0]
    for code in [*codes[1:], -1]:
        if code != previous + 1:
            parts.append(re.escape(chr(start)) + ("-" + re.escape(chr(previous)) if previous > start else ""))
            start = code
        previous = code
    return "[" + "".join(parts) + "]"


_ZERO_WIDTH = [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x180E]
_BIDI = [0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x061C]
_CONTROL = [c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + [0x7F, *range(0x80, 0xA0)]
_PRIVATE = [*range(0xE000, 0xF900), *range(0xF0000, 0x110000)]
_SPACES = [0x00A0, 0x2007, 0x202F, 0x3000, 0x1680, *range(0x2000, 0x200B), 0x205F]
_REMOVE = re.compile(_char_class([*_ZERO_WIDTH, *_BIDI, *_CONTROL, *_PRIVATE]))
_SPACE = re.compile(_char_class(_SPACES))
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@register
class UnicodeRepair(TextMapper):
    """Remove invisible and private-use characters, normalize exotic spaces (UltraData-Math L1)."""

    name = "unicode_repair"
    adds: ClassVar[dict[str, pa.DataType]] = {"unicode_chars_removed": pa.int32()}

    def transform(self, text: str) -> tuple[str, dict[str, Any]]:
        if text.isascii():
            out = _ASCII_CONTROL.sub("", text)
        else:
            out = _SPACE.sub(" ", _REMOVE.sub("", text))
        return out, {"unicode_chars_removed": len(text) - len(out)}


class BlankLineParams(Params):
    max_blank_lines: int = 1


@register
class BlankLineCollapse(TextMapper):
    """Collapse runs of 3+ (possibly space-only) line breaks to one blank line; strip line ends."""

    name = "blank_lines"
    ParamsModel = BlankLineParams

    def __init__(self, params: BlankLineParams | None = None):
        super().__init__(params)
        keep = self.params.max_blank_lines + 1
        self._run = "\n" * (keep + 1)
        self._runs = re.compile(self._run + "\n*")  # = \n{keep+1,}, searched faster
        self._replacement = "\n" * keep

    def transform(self, text: str) -> tuple[str, dict[str, Any]]:
        out = text
        if " \n" in out or "\t\n" in out:  # drop spaces and tabs before each line break
            lines = out.split("\n")
            out = "\n".join([line.rstrip(" \t") for line in lines[:-1]] + lines[-1:])
        if self._run in out:
            out = self._runs.sub(self._replacement, out)
        return out.strip(), {}
