"""The batched and short-cut operator code gives exactly what the straightforward per-document
definitions give (these references are the operators as first written)."""

from __future__ import annotations

import ipaddress
import random
import re
import sys
from typing import Any

import numpy as np
import pytest

from tiers.ops import batch_text
from tiers.ops.batch_text import _Grams, _Words, ngram_excess, ngram_hashes, text_counts
from tiers.ops.boilerplate import BoilerplateLines
from tiers.ops.c4 import C4Filter, C4Params
from tiers.ops.fineweb import FineWebFilter
from tiers.ops.gopher import GopherQuality, GopherQualityParams, GopherRepetition, GopherRepetitionParams
from tiers.ops.normalize import BlankLineCollapse
from tiers.ops.pii import EMAIL, IPV4, IPV6, PHONE, PiiReplace
from tiers.text import TERMINAL_PUNCTUATION, word_runs

TOP = {2: 0.2, 3: 0.18, 4: 0.16}
DUP = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}


def reference_excess(
    ids: np.ndarray, lengths: np.ndarray, top: dict[int, float], dup: dict[int, float]
) -> tuple[float, float]:
    """Gopher n-gram repetition of one document, with np.unique per n-gram size."""
    total = max(int(lengths.sum()), 1)
    top_excess = dup_excess = -1.0
    for n, limit in top.items():
        h = ngram_hashes(ids, n)
        if len(h) == 0:
            continue
        _, first, counts = np.unique(h, return_index=True, return_counts=True)
        best = int(np.argmax(counts))
        if counts[best] > 1:
            start = int(first[best])
            top_excess = max(top_excess, int(counts[best]) * int(lengths[start : start + n].sum()) / total - limit)
    for n, limit in dup.items():
        h = ngram_hashes(ids, n)
        if len(h) == 0:
            continue
        _, first = np.unique(h, return_index=True)
        repeat = np.ones(len(h), dtype=bool)
        repeat[first] = False
        if not repeat.any():
            continue
        covered = np.zeros(len(ids), dtype=bool)
        for k in range(n):
            covered[k : k + len(h)] |= repeat
        dup_excess = max(dup_excess, int(lengths[covered].sum()) / total - limit)
    return top_excess, dup_excess


def reference_text_excess(text: str, top: dict[int, float] = TOP, dup: dict[int, float] = DUP) -> tuple[float, float]:
    starts, ends, ids = word_runs(np.frombuffer(text.lower().encode("utf-8"), dtype=np.uint8))
    return reference_excess(ids, ends - starts, top, dup)


def repetitive_texts() -> list[str]:
    article = (
        "The council met on Tuesday to discuss the new budget. Members argued about roads, schools "
        "and the cost of the harbour project, which has doubled since last year."
    )
    rng = random.Random(7)
    texts = [
        "",
        "word",
        "Word word",
        "a b",
        "a b a b a b a b",
        "x\ny\nx\ny",
        " \n\n ",
        "é é é é é é",
        article,
        article + "\n\n" + article,
        "\n".join([article] * 3 + ["Subscribe now."] * 4),
        "Home\nNews\nHome\nNews\n\n" + article + "\n\nHome\nNews",
        " ".join(["the cat sat on the mat"] * 5) + " and then it left",
        "ÄÖÜ straße STRASSE Straße — ΣΊΣΥΦΟΣ σίσυφος İstanbul istanbul " * 3,
        "1 2 3 4 5 6 7 8 9 10 11 " * 4 + "12",
        # neighbours made of one repeated word: n-grams running past a document's end hash alike
        "x x x",
        "x x x x",
        "x",
        "x x",
        " ".join(["x"] * 12),
        "y " + " ".join(["x"] * 11),
        " ".join(["x"] * 11) + " y",
    ]
    for _ in range(150):  # small vocabularies: many repeats, ties and overlaps
        vocab = rng.sample(["a", "bb", "ccc", "the", "of", "Ünï", "x1", "42"], rng.randint(1, 5))
        texts.append(" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40))))
    return texts


def test_batched_ngram_excess_equals_the_per_document_reference():
    texts = repetitive_texts()
    top, dup = ngram_excess(texts, TOP, DUP)
    assert list(zip(top, dup)) == [reference_text_excess(text) for text in texts]


@pytest.mark.parametrize(
    "top,dup", [({1: 0.1, 2: 0.2}, {1: 0.3, 2: 0.05, 11: 0.0}), ({0: 0.1, -1: 0.2}, {0: 0.1, 3: 0.2}), ({}, {})]
)
def test_batched_ngram_excess_equals_the_reference_for_other_sizes(top, dup):
    texts = repetitive_texts()[:60]
    got = ngram_excess(texts, top, dup)
    assert list(zip(*got)) == [reference_text_excess(text, top, dup) for text in texts]


def test_documents_split_over_chunks_score_as_alone(monkeypatch):
    texts = repetitive_texts()
    monkeypatch.setattr(batch_text, "CHUNK", 64)
    top, dup = ngram_excess(texts, TOP, DUP)
    assert list(zip(top, dup)) == [reference_text_excess(text) for text in texts]


def test_hashes_sharing_their_leading_bits_fall_back_to_full_comparison():
    words = _Words([b"a b a c a b", b"d a b a"])
    x = np.uint64(0xABCDEF0123456000)
    words.ids = np.array(
        [x, x + np.uint64(1), x, x + np.uint64(2), x, x + np.uint64(1), 7, x, x + np.uint64(1), x], dtype=np.uint64
    )
    grams = _Grams(words, words.ids, 1)
    assert grams.order is not None
    lengths = np.diff(words.chars)
    top_excess, dup_excess = np.full(2, -1.0), np.full(2, -1.0)
    grams.top_share(top_excess, 0.1)
    grams.duplicate_share(dup_excess, 0.05)
    expected = [
        reference_excess(words.ids[a : a + c], lengths[a : a + c], {1: 0.1}, {1: 0.05})
        for a, c in zip(words.first.tolist(), words.count.tolist())
    ]
    assert list(zip(top_excess.tolist(), dup_excess.tolist())) == expected


def reference_duplicates(items: list[str]) -> tuple[float, float]:
    seen: set[str] = set()
    dup_items = dup_chars = 0
    for item in items:
        if item in seen:
            dup_items += 1
            dup_chars += len(item)
        seen.add(item)
    return (dup_items / len(items), dup_chars / (sum(map(len, items)) or 1)) if items else (0.0, 0.0)


def test_gopher_repetition_scores_equal_the_reference():
    op = GopherRepetition(GopherRepetitionParams())
    texts = repetitive_texts()
    rows: list[dict[str, Any]] = [{"lang": ["en", "zh", None][i % 3]} for i in range(len(texts))]
    for text, row, scores in zip(texts, rows, op.score_batch(texts, rows)):
        if row["lang"] == "zh":
            assert scores == {}
            continue
        lines = reference_duplicates([line.strip() for line in text.split("\n") if line.strip()])
        paragraphs = reference_duplicates([p.strip() for p in text.split("\n\n") if p.strip()])
        assert scores == dict(zip(op.adds, (*lines, *paragraphs, *reference_text_excess(text))))
        assert op.score(text, row) == scores


_WORDS = re.compile(r"\w+")
_ALPHA_TOKENS = re.compile(r"\S*[^\W\d_]\S*")
_BULLETS = ("•", "●", "-", "*", "‣", "◦", "▪", "–")


def reference_quality(text: str, lang: str | None, params: GopherQualityParams) -> dict[str, Any]:
    if lang in params.skip_languages:
        return {}
    n_tokens = max(len(text.split()), 1)
    ws = _WORDS.findall(text)
    n = max(len(ws), 1)
    lines = [line.lstrip() for line in text.split("\n") if line.strip()]
    n_lines = max(len(lines), 1)
    stop = {k: frozenset(v) for k, v in params.stop_words.items()}.get(lang or "", None)
    return {
        "gopher_words": len(ws),
        "gopher_avg_word_length": sum(map(len, ws)) / n,
        "gopher_symbol_word_ratio": (text.count("#") + text.count("...") + text.count("\u2026")) / n,
        "gopher_bullet_lines_ratio": sum(line.startswith(_BULLETS) for line in lines) / n_lines,
        "gopher_ellipsis_lines_ratio": sum(line.rstrip().endswith(("...", "…")) for line in lines) / n_lines,
        "gopher_alpha_words_ratio": len(_ALPHA_TOKENS.findall(text)) / n_tokens,
        "gopher_stop_words": len(set(_WORDS.findall(text.lower())) & stop) if stop is not None else None,
    }


def quality_texts() -> list[str]:
    rng = random.Random(3)
    alphabet = list("ab Z9_.…•-*–#\n\t\r\u00a0\u2003\u3000\u2028é") + [
        "...",
        " the ",
        "The",
        "ΣΑΣ",
        "İ",
        "😀",
        "٣",
        "\x1c",
    ]
    texts = [
        "",
        " ",
        "\n\n",
        "a",
        "...",
        "- x\n  ...  \n• y …",
        "the other breathe the",
        "THE the\tThe\u00a0the",
        "line one.\n  • bullet\n– dash\n*star\n....\n. . .\n..\n",
        "l'homme c'est la vie, les gens et une fois",
        "Der Hund und die Katze sind mit den Kindern zu Hause, das ist gut.",
        "x_y 12 3.5 ___ ?! a1",
    ]
    for _ in range(300):
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))))
    return texts


@pytest.mark.parametrize(
    "stop_words", [None, {"en": ["the", "The", "l'", "the", "c'est", "", "le"], "fr": ["la", "les"]}]
)
def test_gopher_quality_scores_equal_the_reference(stop_words):
    params = GopherQualityParams() if stop_words is None else GopherQualityParams(stop_words=stop_words)
    op = GopherQuality(params)
    texts = quality_texts()
    rows: list[dict[str, Any]] = [{"lang": ["en", "fr", "de", "ja", None, "xx"][i % 6]} for i in range(len(texts))]
    assert op.score_batch(texts, rows) == [reference_quality(t, r["lang"], params) for t, r in zip(texts, rows)]


def test_text_counts_split_over_chunks_count_as_alone(monkeypatch):
    texts = quality_texts()
    whole = text_counts(texts)
    monkeypatch.setattr(batch_text, "CHUNK", 16)
    assert text_counts(texts) == whole


def test_character_classes_are_those_of_re():
    table = batch_text.char_classes()
    for code in [*range(0x3000), *range(0x1F600, 0x1F610), 0x10FFFF, 0xD800]:
        char = chr(code)
        expected = (
            batch_text.WORD * bool(re.match(r"\w", char))
            | batch_text.SPACE * bool(re.match(r"\s", char))
            | batch_text.LETTER * bool(re.match(r"[^\W\d_]", char))
        )
        assert table[code] == expected, hex(code)
    assert len(table) == sys.maxunicode + 1


def reference_pii(text: str) -> tuple[str, dict[str, int]]:
    counts = {"pii_emails": 0, "pii_ips": 0, "pii_phones": 0}
    if "@" in text:
        text, counts["pii_emails"] = EMAIL.subn("<EMAIL>", text)
    if "." in text:
        text, counts["pii_ips"] = IPV4.subn("<IP_ADDRESS>", text)
    if "::" in text or text.count(":") >= 7:

        def ipv6(match: re.Match[str]) -> str:
            candidate = match.group(0)
            if candidate.count(":") < 2 or not any(c.isalnum() for c in candidate):
                return candidate
            try:
                ipaddress.IPv6Address(candidate)
            except ValueError:
                return candidate
            counts["pii_ips"] += 1
            return "<IP_ADDRESS>"

        text = IPV6.sub(ipv6, text)

    def phone(match: re.Match[str]) -> str:
        candidate = match.group(0)
        digits = sum(c.isdigit() for c in candidate)
        valid = 9 <= digits <= 15 and (candidate.startswith(("+", "(")) or len(re.findall(r"[\s.-]", candidate)) >= 2)
        counts["pii_phones"] += valid
        return "<PHONE_NUMBER>" if valid else candidate

    return PHONE.sub(phone, text), counts


def test_pii_replacement_equals_scanning_the_whole_text():
    rng = random.Random(11)
    pieces = list("0123456789" * 3 + ".:+()- \n\t@abcdefABCDEF_xé٣") + [
        "::",
        "192.168.1.1",
        "2001:db8::1",
        "+49 ",
        "(030) ",
        "fe80::",
        "a@b.co",
        "10.0.0.256",
        "1.2.3.4.5",
        "\u00a0",
    ]
    texts = [
        "Call +49 30 1234 5678 or (030) 123-45-67.",
        "Server 10.0.0.1 and ::1, fe80::1%eth0; 2001:db8:0:0:0:0:2:1",
        "mail me: jane.doe@example.org.",
        "12.03.2020 14:30:00 1.2.3.4",
        "ID 123 456 789 012 345 678 901",
    ]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 50))) for _ in range(5000)]
    op = PiiReplace()
    for text in texts:
        assert op.transform(text) == reference_pii(text), text


def reference_c4_clean(text: str, p: C4Params) -> tuple[str, int, int, int, str | None]:
    policy_terms = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
    kept, removed, terminal, total = [], 0, 0, 0
    for line in text.split("\n"):
        stripped = line.strip()
        if not stripped:
            kept.append(line)
            continue
        total += 1
        ends = stripped.endswith(TERMINAL_PUNCTUATION)
        terminal += ends
        lower = stripped.lower()
        if p.filter_lorem_ipsum and "lorem ipsum" in lower:
            return text, 0, terminal, total, "c4_lorem_ipsum"
        if p.filter_curly_bracket and "{" in stripped:
            return text, 0, terminal, total, "c4_curly_bracket"
        if (
            (p.filter_no_terminal_punct and not ends)
            or len(stripped.split()) < p.min_words_per_line
            or (p.filter_javascript and "javascript" in lower)
            or (p.filter_policy and any(t in lower for t in policy_terms))
        ):
            removed += 1
            continue
        kept.append(line)
    return "\n".join(kept).strip(), removed, terminal, total, None


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"min_words_per_line": 0},
        {"min_words_per_line": 1},
        {"min_words_per_line": 5},
        {"filter_no_terminal_punct": True, "filter_lorem_ipsum": False, "filter_curly_bracket": False},
    ],
)
def test_c4_cleaning_equals_checking_every_line(params):
    p = C4Params(**params)
    op = C4Filter(p)
    texts = [
        "Enable JavaScript to see this page.\nA real sentence with words here.",
        "one\ntwo words\nthree short words",
        "We use cookies.\nRead our Privacy Policy today please.\nFine text that stays here.",
        "a {b} c d\nLorem Ipsum dolor sit.",
        "Text with\u00a0odd\tspacing and\u2003more.\n  \n\nTrailing line.  ",
        "ΣΟΦΟΣ ΛΟΓΟΣ ΕΣΤΙ.\nİSTANBUL JAVASCRIPT",
        "",
    ]
    rng = random.Random(5)
    words = [
        "java",
        "script",
        "javascript",
        "JavaScript",
        "lorem",
        "ipsum",
        "{",
        "uses",
        "cookies",
        "terms",
        "of",
        "use",
        "word",
        "end.",
        "ok!",
        "\u00a0",
        "\t",
        "\n",
        "\n\n",
        "Σ",
    ]
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(0, 30))) for _ in range(500)]
    for text in texts:
        assert op._clean(text) == reference_c4_clean(text, p), text


def test_fineweb_scores_equal_the_reference():
    op = FineWebFilter()
    texts = quality_texts()
    for text in texts:
        lines = [line.strip() for line in text.split("\n") if line.strip()]
        scores = op.score(text, {})
        if not lines:
            assert scores["fineweb_short_line_ratio"] == 1.0
            continue
        seen: set[str] = set()
        dup_chars = 0
        for line in lines:
            dup_chars += len(line) if line in seen else 0
            seen.add(line)
        assert scores == {
            "fineweb_line_punct_ratio": sum(line.endswith(TERMINAL_PUNCTUATION) for line in lines) / len(lines),
            "fineweb_short_line_ratio": sum(len(line) <= 30 for line in lines) / len(lines),
            "fineweb_dup_line_char_ratio": dup_chars / max(len(text.replace("\n", "")), 1),
            "fineweb_newline_word_ratio": text.count("\n") / max(len(text.split()), 1),
        }


def test_blank_line_collapse_equals_the_plain_regexes():
    op = BlankLineCollapse()
    rng = random.Random(2)
    for _ in range(2000):
        text = "".join(rng.choice(["a", " ", "\t", "\n", "\n\n", "\r"]) for _ in range(rng.randint(0, 30)))
        expected = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+\n", "\n", text)).strip()
        assert op.transform(text) == (expected, {})


def test_boilerplate_verdicts_are_remembered_without_changing_results(monkeypatch):
    monkeypatch.setattr("tiers.ops.boilerplate._CACHED_LINES", 3)
    op = BoilerplateLines()
    text = (
        "Click here\nA sentence that is long enough to stay.\nShare this\nMenu\nClick here\nPage 2 of 9\nAnother line."
    )
    expected = ("A sentence that is long enough to stay.\nAnother line.", {"boilerplate_lines_removed": 5})
    assert op.transform(text) == expected
    assert op.transform(text) == expected
    assert len(op._verdicts) <= 3
