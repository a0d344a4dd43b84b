"""PII replacement: e-mail addresses, IPv4 and IPv6 addresses, phone numbers, with counts per kind.

Patterns in the spirit of datatrove's PIIFormatter and BigScience's PII pipeline; matches are replaced
by placeholders so the text stays readable.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any, ClassVar

import pyarrow as pa

from tiers.ops.base import Params, TextMapper
from tiers.ops.registry import register

EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,24}\b")
IPV4 = re.compile(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){1,4}(?![\w])")


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
            text, counts["pii_ips"] = IPV4.subn(p.ip_replacement, text)
        if "::" in text or text.count(":") >= 7:
            def ipv6(match: re.Match[str]) -> str:
                if _is_ipv6(match.group(0)):
                    counts["pii_ips"] += 1
                    return p.ip_replacement
                return match.group(0)

            text = IPV6.sub(ipv6, text)
        if p.phones:
            def phone(match: re.Match[str]) -> str:
                if _is_phone(match.group(0)):
                    counts["pii_phones"] += 1
                    return p.phone_replacement
                return match.group(0)

            text = PHONE.sub(phone, text)
        return text, counts
