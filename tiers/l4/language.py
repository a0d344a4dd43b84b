"""Word-level helpers the L4 checks share: normalised words, stopwords, negations, numbers and dates."""

from __future__ import annotations

import re
import string

STOPWORDS = frozenset(
    """
a an the and or but if then than that this these those there here of in on at to for from by with without about
as into onto over under after before during between among through per via is are was were be been being am do
does did done has have had having will would shall should can could may might must it its it's he she they them
their theirs his her hers him we us our you your i me my mine what which who whom whose when where why how
not no nor also just only very so such too more most less least some any each every all both either neither
other another same own one ones up down out off again further once yes
""".split()
)
NEGATIONS = frozenset({"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without", "cannot"})
MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
MONTHS.update({m[:3]: n for m, n in list(MONTHS.items())})
MONTHS["sept"] = 9
_MONTH_NAMES = {
    short: full for full in list(MONTHS)[:12] for short in (full[:3], "sept" if full == "september" else full[:3])
}

_WORD = re.compile(r"[^\W_]+(?:['’][A-Za-z]+)?")  # letters and digits of any script, not "‘" or "—"
_NUMBER = re.compile(r"(?<![\w.])[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])[-+]?\d+(?:\.\d+)?")
_MAY = re.compile(r"\bmay\s+\d", re.IGNORECASE)
_PUNCT = str.maketrans("", "", string.punctuation + "“”‘’")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_ORDINAL = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b", re.IGNORECASE)


def words(text: str) -> list[str]:
    """Lower-cased words; "n't" becomes a separate "not", a possessive "'s" goes, "1,000" is "1000"
    and "5th" is "5"."""
    out = []
    for w in _WORD.findall(_ORDINAL.sub(r"\1", _THOUSANDS.sub("", text.lower()))):
        w = w.replace("’", "'")
        if w.endswith("n't"):
            out += [w[:-3] or w, "not"]
        else:
            out.append(w[:-2] if w.endswith("'s") else w)
    return out


def stem(word: str) -> str:
    """A light stem so that plural and verb endings still match: 'bridges' -> 'bridge', 'opened' -> 'open'."""
    for suffix in ("ies", "es", "s", "ed", "ing"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)] + ("y" if suffix == "ies" else "")
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def content_words(text: str) -> list[str]:
    """Stemmed words that are neither stopwords nor negations; a month's abbreviation is its full name."""
    return [stem(_MONTH_NAMES.get(w, w)) for w in words(text) if w not in STOPWORDS and w not in NEGATIONS]


def negation_count(text: str) -> int:
    return sum(w in NEGATIONS for w in words(text))


def numbers(text: str) -> list[float]:
    """Every number written in digits ("1,000", "3.5", "-2", the 5 of "5th")."""
    out = []
    for match in _NUMBER.finditer(text):
        try:
            out.append(float(match.group().replace(",", "")))
        except ValueError:
            continue
    return out


def months(text: str) -> set[int]:
    """Months named in the text ("may" only before a number: "May 3")."""
    found = {MONTHS[w] for w in words(text) if w in MONTHS and w != "may"}
    if _MAY.search(text):
        found.add(5)
    return found


def plain(text: str) -> str:
    """Lower case, no punctuation, single spaces."""
    return " ".join(text.lower().translate(_PUNCT).split())
