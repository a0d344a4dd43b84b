"""Every configuration error is exit 2 with the key path and what is allowed (issue 10); a --config file
is merged over the shipped defaults (issue 12)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tiers.config import ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]

BAD_OVERRIDES = {
    "ingest.max_record_bytes=true": "ingest.max_record_bytes: Input should be a valid integer",
    "ingest.max_record_bytes=-5": "ingest.max_record_bytes",
    "l1.steps=[{name: length, params: {min_chars: -1}}]": "l1.steps.0: operator 'length': params.min_chars: must be >= 0",
    "spark.master=lokal[2]": "spark.master: allowed: local, local[N]",
    "spark.driver_memory=four": "spark.driver_memory: allowed: a size",
    "spark.x=[unclosed": "--set 'spark.x=[unclosed'",
    "noequals": "expected section.key=value",
    'spark.conf."unterminated=1': "quote a key that has dots",
    "l2.thresold=0.5": "l2.thresold: unknown key; allowed keys here:",
    "l1.extra_steps=[{name: shoutin}]": "l1.extra_steps.0: unknown operator 'shoutin'; allowed: blank_lines",
    "l1.extra_steps=[{name: length, params: {min_char: 3}}]": "l1.extra_steps.0: operator 'length': params.min_char",
    "l1.operator_modules=[no_such_module_anywhere]": "l1.operator_modules: operator module 'no_such_module_anywhere'",
}


@pytest.mark.parametrize("assignment", sorted(BAD_OVERRIDES))
def test_bad_overrides_name_the_key(assignment):
    with pytest.raises(ConfigError) as err:
        load_config(None, [assignment])
    assert BAD_OVERRIDES[assignment] in str(err.value)


def test_spark_settings_with_dotted_keys_go_through_set():
    config = load_config(None, ['spark.conf."spark.sql.shuffle.partitions"=8', 'spark.conf."spark.ui.enabled"=true'])
    assert config.spark.conf == {"spark.sql.shuffle.partitions": "8", "spark.ui.enabled": "true"}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"l2:\n  threshold: 0.5\n  threshold: 0.9\n", "duplicate key 'threshold'"),
        (b"l2:\n  threshold: \xff\xfe\n", "is not UTF-8 text"),
        (b"just a string\n", "top level must be a mapping"),
        (b"", "sets nothing tiers knows"),
        (b"colour: blue\n", "sets nothing tiers knows"),
    ],
)
def test_bad_config_files_are_named(tmp_path, content, message):
    path = tmp_path / "conf.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value) and (str(path) in str(err.value) or "invalid configuration" in str(err.value))


def test_a_directory_or_missing_file_as_config(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")


def test_a_partial_config_keeps_the_shipped_filters(tmp_path):
    partial = tmp_path / "partial.yaml"
    partial.write_text("l2:\n  threshold: 0.9\n")
    shipped, merged = load_config(), load_config(partial)
    assert merged.l2.threshold == 0.9
    assert merged.l1.steps == shipped.l1.steps and len(merged.l1.steps) > 5
    assert merged.l2.models == shipped.l2.models


def test_config_errors_exit_2_with_one_message_and_no_traceback(tmp_path):
    (tmp_path / "dir.yaml").mkdir()
    for args in (["--config", str(tmp_path / "dir.yaml")], ["--set", "ingest.max_record_bytes=true"]):
        done = subprocess.run(
            [sys.executable, "-m", "cli", "config", "show", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""


def test_config_show_prints_the_effective_configuration(tmp_path):
    partial = tmp_path / "partial.yaml"
    partial.write_text("l2:\n  threshold: 0.9\n")
    done = subprocess.run(
        [sys.executable, "-m", "cli", "config", "show", "--config", str(partial), "--set", "l3.max_tokens=99"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    import yaml

    shown = yaml.safe_load(done.stdout)
    assert done.returncode == 0 and shown["l2"]["threshold"] == 0.9 and shown["l3"]["max_tokens"] == 99
    assert [s["name"] for s in shown["l1"]["steps"]] == [s.name for s in load_config().l1.steps]
