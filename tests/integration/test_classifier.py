"""Ultra-FineWeb preprocessing, training, save/load and language routing of the quality classifier."""

from __future__ import annotations

import gzip
import json
import re

import numpy as np
import pytest

from classifiers.model import QualityModel
from classifiers.preprocess import preprocess
from classifiers.tokenizers import WordSplitter
from classifiers.train import NotEnoughSeeds, train_classifier
from jobs.l2_rows import route
from tests.helpers import RESILIPARSE_WARC, SCRAPINGHUB, TRAFILATURA, dolma_texts
from tiers.config import ClassifierTrainConfig
from tiers.io.html import decode_html, extract_main_text
from tiers.io.readers import FileStats, ReaderOptions, read_file

SMALL = ClassifierTrainConfig(bucket=20000)


def test_preprocessing_steps_on_a_crafted_text():
    text = "Héllo  WORLD!\n\n\n\nNew\tline\r\nÜnïcode café, 中文测试 ok…"
    assert preprocess(text) == "hello world ! \\n \\n new \\t line \\r \\n unicode cafe , 中 文 测 试 ok . . ."


def test_preprocessing_is_a_single_line_of_single_spaced_tokens_on_real_texts():
    for text in dolma_texts()[:200]:
        out = preprocess(text)
        assert "\n" not in out and "\t" not in out and "\r" not in out
        assert "  " not in out and out == out.strip()
        assert out == out.lower() or not out.isascii()
        assert out == preprocess(text)


def test_preprocessing_tokens_match_the_word_splitter():
    splitter = WordSplitter()
    for text in dolma_texts()[:100]:
        lowered = re.sub(r"\n{3,}", "\n\n", text).lower()
        from classifiers.preprocess import strip_accents

        expected = [
            t.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
            for t in splitter.tokenize(strip_accents(lowered))
        ]
        assert preprocess(text).split(" ") == (expected or [""])


def test_tokenizer_json_is_used_when_configured(tmp_path):
    tokenizers = pytest.importorskip("tokenizers", reason="the tokenizers package is an optional extra")
    from tokenizers import models, pre_tokenizers

    tok = tokenizers.Tokenizer(models.WordLevel({"hello": 0, "world": 1, "[UNK]": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    path = tmp_path / "tokenizer.json"
    tok.save(str(path))
    from classifiers.tokenizers import load_tokenizer

    assert preprocess("Hello big World", load_tokenizer(str(path))) == "hello [UNK] world"


@pytest.fixture(scope="module")
def seeds():
    gold = json.loads((SCRAPINGHUB / "ground-truth.json").read_text())
    positives = [v["articleBody"] for v in gold.values()]
    negatives = [t for t in dolma_texts() if len(t) > 200][: len(positives)]
    return positives, negatives


def test_train_save_load_gives_the_same_predictions(tmp_path, seeds):
    positives, negatives = seeds
    trained = train_classifier(positives, negatives, tmp_path / "m.bin", SMALL)
    assert set(trained.metrics) >= {"precision", "recall", "f1", "roc_auc"}
    assert trained.metrics["roc_auc"] > 0.7
    texts = positives[:20] + negatives[:20]
    first = QualityModel(trained.path).score(texts)
    again = QualityModel(trained.path).score(texts)
    assert np.array_equal(first, again)
    assert ((first >= 0) & (first <= 1)).all()
    assert first[:20].mean() > first[20:].mean()


def test_training_refuses_too_few_seeds(tmp_path):
    with pytest.raises(NotEnoughSeeds):
        train_classifier(["a", "b"], ["c", "d", "e", "f"], tmp_path / "m.bin", SMALL)


def chinese_seeds():
    """Positives: paragraphs of the Chinese pages of the trafilatura set; negatives: the Chinese spam pages."""
    positives = []
    for line in (TRAFILATURA / "index.jsonl").read_text().splitlines():
        page = json.loads(line)
        if sum("\u4e00" <= c <= "\u9fff" for c in " ".join(page.get("with", []))) > 10:
            html, _ = decode_html(gzip.decompress((TRAFILATURA / page["html_file"]).read_bytes()), None)
            positives += [p for p in extract_main_text(html).split("\n") if len(p) > 30]
    stats = FileStats()
    spam = [o.row["text"] for o in read_file(str(RESILIPARSE_WARC), "warc", ReaderOptions(), stats) if o.kind == "l0"]
    negatives = [p for t in spam for p in t.split("\n") if re.search(r"[\u4e00-\u9fff]{5}", p)]
    return positives, negatives


def test_documents_are_routed_to_the_model_of_their_language(tmp_path, seeds, spark):
    from classifiers.registry import ModelRef
    from jobs.l1_to_l2_spark import score_partition
    import pyarrow as pa

    en = train_classifier(*seeds, tmp_path / "en.bin", SMALL)
    zh_pos, zh_neg = chinese_seeds()
    zh = train_classifier(
        zh_pos, zh_neg, tmp_path / "zh.bin", ClassifierTrainConfig(bucket=20000, min_count=1, epoch=5)
    )
    models = {
        "en": ModelRef("en", en.path, "builtin", en.model_hash),
        "zh": ModelRef("zh", zh.path, "builtin", zh.model_hash),
    }
    assert route("zh", models, None) == "zh" and route("fr", models, None) is None and route("fr", models, "en") == "en"

    texts = [seeds[0][0], zh_pos[0], zh_neg[0], "Un texte en français sur la qualité des données."]
    batch = pa.RecordBatch.from_pydict(
        {"doc_id": ["a", "b", "c", "d"], "lang": ["en", "zh", "zh", "fr"], "text": texts}
    )
    out = next(score_partition(iter([batch]), models, None)).to_pydict()
    assert out["model_lang"] == ["en", "zh", "zh", None]
    assert out["quality_score"][3] is None
    local_en = QualityModel(en.path).score(texts[:1])[0]
    local_zh = QualityModel(zh.path).score(texts[1:3])
    assert out["quality_score"][0] == pytest.approx(local_en)
    assert out["quality_score"][1:3] == pytest.approx(list(local_zh))
    with_fallback = next(score_partition(iter([batch]), models, "en")).to_pydict()
    assert with_fallback["model_lang"][3] == "en" and with_fallback["quality_score"][3] is not None
