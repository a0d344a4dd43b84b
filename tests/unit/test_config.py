import pytest

from tiers.config import ConfigError, load_config


def test_default_config_loads_with_the_papers_values():
    config = load_config()
    assert config.l1.dedup.minhash.num_perm == 112
    assert (config.l1.dedup.minhash.bands, config.l1.dedup.minhash.rows) == (22, 5)  # issue 17: recall at Jaccard 0.7
    assert (config.l2.train.dim, config.l2.train.lr, config.l2.train.word_ngrams) == (256, 0.1, 3)
    assert config.l2.threshold == 0.5
    assert [s.name for s in config.l1.steps][:2] == ["unicode_repair", "blank_lines"]


def test_unknown_key_names_the_path_and_the_allowed_keys(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("ingest:\n  html_extractr: resiliparse\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    message = str(err.value)
    assert "ingest.html_extractr: unknown key" in message
    assert "html_extractor" in message and "max_record_bytes" in message


def test_bad_value_names_the_allowed_values():
    with pytest.raises(ConfigError) as err:
        load_config(None, ["ingest.html_extractor=beautifulsoup"])
    assert "ingest.html_extractor" in str(err.value)
    assert "'resiliparse'" in str(err.value) and "'trafilatura'" in str(err.value)


def test_overrides_are_typed_and_validated():
    assert load_config(None, ["l2.threshold=0.8"]).l2.threshold == 0.8
    with pytest.raises(ConfigError, match="l2.threshold"):
        load_config(None, ["l2.threshold=1.5"])
    with pytest.raises(ConfigError, match="expected section.key=value"):
        load_config(None, ["l2.threshold"])


def test_unknown_operator_and_parameter_are_named(tmp_path):
    bad = tmp_path / "ops.yaml"
    bad.write_text("l1:\n  steps:\n    - name: gopher_qualty\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert "l1.steps.0" in str(err.value) and "gopher_quality" in str(err.value)
    bad.write_text("l1:\n  steps:\n    - name: length\n      params: {min_char: 3}\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert "min_char" in str(err.value) and "min_chars" in str(err.value)


def test_minhash_layout_must_fit_the_permutations():
    with pytest.raises(ConfigError, match="exceeds num_perm"):
        load_config(None, ["l1.dedup.minhash.bands=30"])  # 30 x 5 rows > 112
