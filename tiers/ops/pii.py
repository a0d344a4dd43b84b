"""PII replacement: e-mail addresses, IPv4 and IPv6 addresses, phone numbers, with counts per kind.

Patterns in the spirit of datatrove's PIIFormatter and BigScience's PII pipeline; matches are replaced
by placeholders so the text stays readable.

`EMAIL`, `IPV4`, `IPV6` and `PHONE` define what is replaced. IP addresses and phone numbers are looked
for only inside the stretches of text made of the characters they can contain (`_IPV4_RUN`, `_ipv6_runs`,
`_phone_regions`): the same matches as scanning the whole text, without trying the patterns at every
position.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Callable, ClassVar, Iterator

import pyarrow as pa

from tiers.ops.base import Params, TextMapper, register

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4_BODY = rf"(?:{_OCTET}\.){{3}}{_OCTET}"
_IPV6_BODY = r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}"
EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}\b")
IPV4 = re.compile(rf"(?<![\d.]){_IPV4_BODY}(?![\d.])")
IPV6 = re.compile(rf"(?<![\w:]){_IPV6_BODY}(?![\w:])")
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}(?![\w])")

# An IPV4 match is a whole maximal run of [\d.] (its look-arounds say so), at least 7 long; an IPV6
# match is a whole maximal run of [\w:] with a colon.
_IPV4_RUN = re.compile(r"[\d.][\d.]{6,}")
_IPV4_WHOLE = re.compile(_IPV4_BODY)
_IPV6_WHOLE = re.compile(_IPV6_BODY)
_WORD_OR_COLON = re.compile(r"[\w:]*")
# A PHONE match lies inside one maximal run of [+()\d\s.-]; to be replaced it has 9 or more digits, so
# the run has 9 or more characters from its first digit on: _PHONE_TAIL finds exactly those tails.
_PHONE_TAIL = re.compile(r"\d[+()\d\s.-]{8,}")
_PHONE_LEAD = "+().-"


def _is_ipv6(candidate: str) -> bool:
    if candidate.count(":") < 2 or not any(c.isalnum() for c in candidate):
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def _is_phone(candidate: str) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    has_separator_style = candidate.startswith(("+", "(")) or len(re.findall(r"[\s.-]", candidate)) >= 2
    return 9 <= digits <= 15 and has_separator_style


def _replace(text: str, spans: list[tuple[int, int]], replacement: str) -> str:
    """`text` with each (start, end) span, in order and disjoint, replaced."""
    if not spans:
        return text
    pieces, last = [], 0
    for start, end in spans:
        pieces += (text[last:start], replacement)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def _ipv6_runs(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every maximal run of [\\w:] that holds a colon."""
    backwards = text[::-1]
    colon = text.find(":")
    while colon >= 0:
        end = _WORD_OR_COLON.match(text, colon).end()
        mirrored = len(text) - colon
        start = colon - (_WORD_OR_COLON.match(backwards, mirrored).end() - mirrored)
        yield start, end
        colon = text.find(":", end)


def _phone_regions(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of the maximal runs of [+()\\d\\s.-] with at least 9 characters from the first digit on."""
    for tail in _PHONE_TAIL.finditer(text):
        start = tail.start()
        while start > 0 and (text[start - 1] in _PHONE_LEAD or text[start - 1].isspace()):
            start -= 1
        yield start, tail.end()


def _matches(
    pattern: re.Pattern[str], text: str, regions: Iterator[tuple[int, int]], accept: Callable[[str], bool]
) -> list[tuple[int, int]]:
    """Spans of the accepted matches of `pattern` inside each region, searched with one character
    of right context so that look-aheads see what they would in the whole text."""
    spans = []
    for start, end in regions:
        for match in pattern.finditer(text, start, min(end + 1, len(text))):
            if accept(match.group()):
                spans.append(match.span())
    return spans


class PiiParams(Params):
    email_replacement: str = "<EMAIL>"
    ip_replacement: str = "<IP_ADDRESS>"
    phone_replacement: str = "<PHONE_NUMBER>"
    phones: bool = True


@register
class PiiReplace(TextMapper):
    name = "pii"
    ParamsModel = PiiParams
    adds: ClassVar[dict[str, pa.DataType]] = {"pii_emails": pa.int32(), "pii_ips": pa.int32(), "pii_phones": pa.int32()}

    def transform(self, text: str) -> tuple[str, dict[str, Any]]:
        p = self.params
        counts = {"pii_emails": 0, "pii_ips": 0, "pii_phones": 0}
        if "@" in text:
            text, counts["pii_emails"] = EMAIL.subn(p.email_replacement, text)
        if "." in text:
            spans = [m.span() for m in _IPV4_RUN.finditer(text) if _IPV4_WHOLE.fullmatch(m.group())]
            text, counts["pii_ips"] = _replace(text, spans, p.ip_replacement), len(spans)
        if "::" in text or text.count(":") >= 7:
            spans = [(a, b) for a, b in _ipv6_runs(text) if _IPV6_WHOLE.fullmatch(text, a, b) and _is_ipv6(text[a:b])]
            text = _replace(text, spans, p.ip_replacement)
            counts["pii_ips"] += len(spans)
        if p.phones:
            spans = _matches(PHONE, text, _phone_regions(text), _is_phone)
            text = _replace(text, spans, p.phone_replacement)
            counts["pii_phones"] = len(spans)
        return text, counts
