"""Numbers written as words, parsed to values so that they are compared like digits: "three" is 3,
"twenty-one" 21, "two hundred and five" 205, "3 million" 3000000 (and 3), "fifth" 5, "a dozen" 12."""

from __future__ import annotations

import re

from tiers.l4.language import numbers

UNITS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
        "seventeen eighteen nineteen".split()
    )
}
TENS = {w: 10 * (i + 2) for i, w in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000, "trillion": 10**12}
ORDINALS = {
    w: i + 2
    for i, w in enumerate(
        "second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
        "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth".split()
    )
}
ORDINAL_TENS = {
    w: 10 * (i + 3) for i, w in enumerate("thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth".split())
}
OTHERS = {"dozen": 12, "twice": 2, "once": 1, "single": 1, "pair": 2, "half": 0.5, "hundredth": 100}
NUMBER_WORDS = frozenset(UNITS) | set(TENS) | set(SCALES) | set(ORDINALS) | set(ORDINAL_TENS) | set(OTHERS)

_TOKEN = re.compile(r"\d[\d,]*(?:\.\d+)?|[a-z]+")


def _word_value(word: str) -> float | None:
    for table in (UNITS, TENS, ORDINALS, ORDINAL_TENS, OTHERS):
        if word in table:
            return table[word]
    return None


def _joins(total: float, current: float, value: float) -> bool:
    """Does `value` continue the number so far ("twenty" + "one", "two hundred" + "five")?"""
    if value >= 100 or value != int(value):
        return False
    if current == 0:
        return total > 0
    if current % 100 == 0:
        return True
    return current % 100 >= 20 and current % 10 == 0 and value < 10


def word_numbers(text: str) -> list[float]:
    """The values of numbers written in words; compounds ("twenty-one", "one hundred and five") are one
    value, and a scale after digits ("3 million") gives the product."""
    tokens = _TOKEN.findall(text.lower().replace("-", " "))
    out: list[float] = []
    total, current, active = 0.0, 0.0, False

    def flush() -> None:
        nonlocal total, current, active
        if active:
            out.append(total + current)
        total, current, active = 0.0, 0.0, False

    for i, token in enumerate(tokens):
        if token[0].isdigit():
            flush()
            if i + 1 < len(tokens) and tokens[i + 1] in SCALES:
                values = numbers(token)
                if values:
                    current, active = values[0], True
            continue
        if token in SCALES:
            if not active:
                if i > 0 and tokens[i - 1] == "a":
                    current, active = 1.0, True
                else:
                    continue
            scale = SCALES[token]
            if scale == 100:
                current = (current or 1) * scale
            else:
                total += (current or 1) * scale
                current = 0.0
            continue
        if token == "and" and active and i + 1 < len(tokens) and _word_value(tokens[i + 1]) is not None:
            continue
        value = _word_value(token)
        if value is None:
            flush()
            continue
        if token == "dozen" and i > 0 and tokens[i - 1] not in ("a",) and active:
            current *= 12
            continue
        if active and _joins(total, current, value):
            current += value
        else:
            flush()
            current, active = float(value), True
    flush()
    return out


def number_values(text: str) -> list[float]:
    """Every number of a text, in digits or in words."""
    return numbers(text) + word_numbers(text)
