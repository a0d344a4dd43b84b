"""Each L1 operator on small real texts from ../shared/data, with expectations checked by hand."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from tests.helpers import SCRAPINGHUB, dolma_texts
from tiers.ops.pipeline import OperatorPipeline
from tiers.ops.registry import build, load_operators


@pytest.fixture(scope="module")
def articles() -> list[str]:
    gold = json.loads((SCRAPINGHUB / "ground-truth.json").read_text())
    return [item["articleBody"] for _, item in sorted(gold.items())]


@pytest.fixture(scope="module")
def article(articles) -> str:
    """A clean English news article of a few thousand characters."""
    return next(a for a in articles if 3000 < len(a) < 6000 and a.count("\n") > 5)


def batch_of(texts: list[str], **columns) -> pa.RecordBatch:
    data = {"doc_id": [f"d{i}" for i in range(len(texts))], "text": texts, **columns}
    return pa.RecordBatch.from_pydict(data)


def run_op(name: str, texts: list[str], params: dict | None = None, **columns):
    return build(name, params or {}).process(batch_of(texts, **columns))


def reasons(result) -> list[str | None]:
    dropped = dict(zip(result.dropped.column("doc_id").to_pylist(), result.dropped.column("reason").to_pylist()))
    n = result.kept.num_rows + result.dropped.num_rows
    return [dropped.get(f"d{i}") for i in range(n)]


def test_every_registered_operator_builds_with_defaults_and_accounts_for_its_input(article):
    operators = load_operators()
    assert set(operators) >= {
        "unicode_repair",
        "boilerplate_lines",
        "blank_lines",
        "length",
        "short_no_punct",
        "gopher_quality",
        "gopher_repetition",
        "c4",
        "fineweb",
        "langid",
        "pii",
    }
    texts = [article, "x", article.upper(), ""]
    for name in operators:
        result = build(name, {}).process(batch_of(texts))
        assert result.kept.num_rows + result.dropped.num_rows == len(texts), name
        kept, dropped = set(result.kept.column("doc_id").to_pylist()), set(result.dropped.column("doc_id").to_pylist())
        assert kept.isdisjoint(dropped) and kept | dropped == {f"d{i}" for i in range(len(texts))}, name


def test_unicode_repair(article):
    dirty = "\u200b" + article[:200] + "\u202e\u00a0x\u3000y\x07\ue000\U000f0001\t\n"
    result = run_op("unicode_repair", [dirty, article])
    cleaned = result.kept.column("text").to_pylist()
    assert cleaned[0] == article[:200] + " x y\t\n"
    assert result.kept.column("unicode_chars_removed").to_pylist() == [5, 0]
    assert cleaned[1] == article


def test_blank_line_collapse():
    result = run_op("blank_lines", ["first\n \n\t\n\n  \nsecond  \nthird\n\n\n"])
    assert result.kept.column("text").to_pylist() == ["first\n\nsecond\nthird"]


def test_boilerplate_lines_removes_short_navigation_lines_only(article):
    text = (
        "Skip to content\nHome | About | Contact\n"
        + article
        + "\nShare on Facebook\nPage 2 of 7\nAccept all cookies\nWeiterlesen"
    )
    sentence = "This site uses cookies, which the author explains at length in the following long paragraph that is not boilerplate at all."
    result = run_op("boilerplate_lines", [text, sentence])
    assert result.kept.column("text").to_pylist() == [article, sentence]
    assert result.kept.column("boilerplate_lines_removed").to_pylist() == [6, 0]


def test_length_and_short_without_punctuation(article):
    result = run_op("length", [article, article[:79], "x" * 1_000_001])
    assert reasons(result) == [None, "too_short", "too_long"]
    result = run_op("short_no_punct", ["Home About Contact Blog Shop", "Short, but punctuated", article])
    assert reasons(result) == ["short_without_punctuation", None, None]


def test_gopher_quality(article):
    bullets = "\n".join(f"• item {w}" for w in article.split()[:80])
    hashes = " ".join(f"#{w}" for w in article.split()[:100])
    result = run_op("gopher_quality", [article, article[:150], bullets, hashes], lang=["en"] * 4)
    assert reasons(result) == [None, "gopher_below_min_words", "gopher_bullet_lines", "gopher_symbol_word_ratio"]
    stop_words = result.kept.column("gopher_stop_words").to_pylist()[0]
    assert stop_words >= 4


def test_gopher_quality_skips_languages_written_without_spaces():
    chinese = "这是一个没有空格的中文句子，它只有一个空白分隔的词。" * 10
    assert reasons(run_op("gopher_quality", [chinese], lang=["zh"])) == [None]
    assert reasons(run_op("gopher_quality", [chinese], lang=["en"])) == ["gopher_below_min_words"]


def test_gopher_repetition(article):
    paragraphs = [p for p in article.split("\n") if p.strip()]
    repeated_lines = "\n".join(paragraphs[:3] * 4)
    repeated_phrase = " ".join(["the quick brown fox jumps"] * 40) + " " + paragraphs[0]
    result = run_op("gopher_repetition", [article, repeated_lines, repeated_phrase], lang=["en"] * 3)
    assert reasons(result)[0] is None
    assert reasons(result)[1] in {"gopher_dup_para_frac", "gopher_dup_line_frac", "gopher_dup_para_char_frac"}
    assert reasons(result)[2] in {"gopher_top_ngram", "gopher_dup_ngram"}
    details = json.loads(result.dropped.column("details").to_pylist()[0])
    assert details["gopher_dup_line_frac"] == pytest.approx(9 / 12)


def test_c4_rules(article):
    result = run_op(
        "c4",
        [
            article,
            article + "\nLorem ipsum dolor sit amet.",
            article + "\nfunction() { return 1; }",
            "One sentence only. Two. Three.",
        ],
    )
    assert reasons(result) == [None, "c4_lorem_ipsum", "c4_curly_bracket", "c4_too_few_sentences"]
    cleaned = run_op(
        "c4", [article + "\nPlease enable JavaScript to view the comments.\nRead our privacy policy here.\nOK"]
    )
    text = cleaned.kept.column("text").to_pylist()[0]
    assert text == article.strip()
    assert cleaned.kept.column("c4_lines_removed").to_pylist() == [3]


def test_fineweb_rules(article):
    menu = "\n".join(["Home", "News", "Sport", "Weather", "Contact us", "About"] * 3)
    duplicated = article + "\n" + "\n".join(p for p in article.split("\n") if p.strip())
    result = run_op("fineweb", [article, menu, duplicated])
    assert reasons(result) == [None, "fineweb_line_punct_ratio", "fineweb_char_dup_ratio"]


def test_language_id_on_real_texts(articles):
    german = next(t for t in dolma_texts() if t.startswith("Passauer Zeitung"))
    result = run_op("langid", [articles[0], german, "qwx zzv"], {"languages": ["en", "de"], "min_score": 0.65})
    assert result.kept.column("lang").to_pylist()[:2] == ["en", "de"]
    assert all(score > 0.65 for score in result.kept.column("lang_score").to_pylist()[:2])
    assert reasons(result)[2] in {"language_not_kept", "language_score_low"}
    only_en = run_op("langid", [articles[0], german], {"languages": ["en"]})
    assert reasons(only_en) == [None, "language_not_kept"]


def test_pii_replacement_counts(article):
    text = (
        article[:300]
        + "\nContact jane.doe@example.org or +1 (415) 555-0132, office 030 1234 5678."
        + "\nServer 192.168.10.1 and 2001:db8::8a2e:370:7334; version 1.2.3 and year 2019-07-17 stay."
    )
    result = run_op("pii", [text])
    out = result.kept.column("text").to_pylist()[0]
    counts = {k: result.kept.column(k).to_pylist()[0] for k in ("pii_emails", "pii_ips", "pii_phones")}
    assert counts == {"pii_emails": 1, "pii_ips": 2, "pii_phones": 2}
    assert "jane.doe" not in out and "192.168" not in out and "2001:db8" not in out and "555-0132" not in out
    assert "version 1.2.3" in out and "2019-07-17" in out and out.startswith(article[:300])


def test_pipeline_accounts_for_every_document(article):
    from tiers.config import load_config

    steps = load_config().l1.steps
    texts = [article, "too short", article + "\nLorem ipsum dolor sit amet.", *dolma_texts()[:50]]
    pipeline = OperatorPipeline.from_steps(list(steps))
    out = pipeline.run(batch_of(texts))
    assert out.kept.num_rows + out.dropped.num_rows == len(texts)
    assert set(out.dropped.column("doc_id").to_pylist()).isdisjoint(out.kept.column("doc_id").to_pylist())
    assert out.stats["unicode_repair"].docs_in == len(texts)
    assert sum(sum(s.reasons.values()) for s in out.stats.values()) == out.dropped.num_rows
    assert out.kept.schema == pipeline.output_schema(batch_of(texts).schema)
