"""The ingest job on real Spark with a real DuckDB catalog."""

from __future__ import annotations

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from jobs.ingest import run_ingest
from jobs.ingest_spark import coverage_verdicts
from tests.helpers import DOLMA, RESILIPARSE_WARC, WHIRLWIND, open_catalog
from tiers import schemas
from tiers.catalog import Catalog, CatalogError
from tiers.catalog.migrations import LATEST
from tiers.io.coverage import FileVerdict, Span, file_verdict

INPUTS = [str(DOLMA), str(RESILIPARSE_WARC), str(WHIRLWIND)]
EXPECTED_DOCS = 697 + 10 + 10 + 10 + 22 + 15 + 16 + 1 + 1


def read_tier(path):
    return ds.dataset(path, format="parquet").to_table()


@pytest.fixture(scope="module")
def ingested(spark, test_config, tmp_path_factory):
    root = tmp_path_factory.mktemp("ingest")
    bad = tmp_path_factory.mktemp("bad")
    (bad / "broken.jsonl").write_bytes(b'{"text": "ok document"}\n{not json}\n')
    result = run_ingest(spark, test_config, INPUTS + [str(bad)], str(root))
    return root, result


def test_counts_are_conserved_and_registered(ingested):
    root, result = ingested
    assert result.counts["l0"] == EXPECTED_DOCS + 1
    assert result.counts["quarantine"] == 1
    assert result.counts["records_in"] == result.counts["l0"] + result.counts["quarantine"]
    catalog = Catalog(root)
    _, rows = catalog.query("SELECT tier, count(*) FROM membership GROUP BY tier")
    assert dict(rows) == {"L0": EXPECTED_DOCS + 1}
    _, rows = catalog.query("SELECT error_type, line FROM quarantine")
    assert rows == [("JSONDecodeError", 2)]
    _, rows = catalog.query("SELECT job, status, config_hash IS NOT NULL, code_version IS NOT NULL FROM runs")
    assert rows == [("ingest", "committed", True, True)]
    _, rows = catalog.query("SELECT kind, rows FROM outputs ORDER BY kind")
    assert ("L0", EXPECTED_DOCS + 1) in rows and ("quarantine", 1) in rows


def test_l0_schema_is_the_documented_one(ingested):
    root, result = ingested
    schema = pq.read_schema(next((root / "L0" / result.run_id).glob("*.parquet")))
    written = schemas.with_tokens(schemas.L0)
    assert schema.names == written.names
    for field in written:
        assert schema.field(field.name).type == field.type, field.name


def test_rerun_is_skipped_and_force_gives_identical_ids(spark, test_config, ingested):
    """Files already ingested (here as part of a larger run) are not read again; forced, they are, find
    the same ids, and nothing is added twice: the commit counts them as already in L0."""
    root, first = ingested
    dolma_docs = 697 + 10 + 10 + 10 + 22 + 15
    first_ids = set(read_tier(root / "L0" / first.run_id).column("doc_id").to_pylist())
    again = run_ingest(spark, test_config, INPUTS[:1], str(root))
    assert again.skipped and again.run_id == first.run_id
    forced = run_ingest(spark, test_config, INPUTS[:1], str(root), force=True)
    assert not forced.skipped and forced.run_id != first.run_id
    assert forced.counts["l0"] == 0 and forced.counts["already_in_l0"] == dolma_docs
    with open_catalog(root) as con:
        current = {d for (d,) in con.execute("SELECT doc_id FROM l0").fetchall()}
        rows = con.execute("SELECT count(*) FROM l0").fetchone()[0]
    assert current == first_ids and rows == len(first_ids)


def test_catalog_sql_is_read_only(ingested):
    root, _ = ingested
    catalog = Catalog(root)
    with pytest.raises(CatalogError, match="read-only"):
        catalog.query("DELETE FROM runs")
    with pytest.raises(CatalogError, match="read-only"):
        catalog.query("CREATE TABLE x (a INT)")
    _, rows = catalog.query("SELECT max(version) FROM schema_version")
    assert rows == [(LATEST,)]


def test_migrations_are_idempotent(ingested):
    root, _ = ingested
    assert Catalog(root).migrate() == LATEST
    _, rows = Catalog(root).query("SELECT count(*) FROM schema_version")
    assert rows[0][0] == LATEST


def test_a_failing_job_registers_nothing(spark, test_config, tmp_path):
    from jobs.runner import JobRun

    catalog = Catalog(tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        with JobRun(catalog, "ingest", {"x": 1}) as run:
            staged = run.stage("L0", tier="L0")
            spark.range(3).write.parquet(staged)
            raise RuntimeError("boom")
    _, rows = catalog.query("SELECT status, error FROM runs")
    assert rows == [("failed", "RuntimeError: boom")]
    _, rows = catalog.query("SELECT count(*) FROM outputs")
    assert rows == [(0,)]
    assert not any((tmp_path / "_staging").iterdir())


def test_l0_tokens_are_counted_when_asked(spark, tmp_path):
    from tiers.config import load_config
    from tiers.tokens import count_tokens
    from tests.helpers import TEST_OVERRIDES

    config = load_config(None, [*TEST_OVERRIDES, "tokens.count_l0=true"])
    run_ingest(spark, config, [str(RESILIPARSE_WARC)], str(tmp_path / "root"))
    rows = open_catalog(tmp_path / "root").execute("SELECT text, n_tokens FROM l0 ORDER BY doc_id").fetchall()
    assert rows and [n for _, n in rows] == count_tokens([t for t, _ in rows])


def test_a_folder_that_gains_files_is_read_for_the_new_files_only(spark, test_config, tmp_path):
    folder = tmp_path / "crawl"
    folder.mkdir()
    (folder / "snapshot1.jsonl").write_text("".join(f'{{"text": "first snapshot document {i}"}}\n' for i in range(5)))
    root = str(tmp_path / "root")
    first = run_ingest(spark, test_config, [str(folder)], root)
    (folder / "snapshot2.jsonl").write_text("".join(f'{{"text": "second snapshot document {i}"}}\n' for i in range(3)))
    second = run_ingest(spark, test_config, [str(folder)], root)
    assert not second.skipped and second.run_id != first.run_id
    assert (second.counts["files"], second.counts["records_in"], second.counts["l0"]) == (1, 3, 3)
    with open_catalog(root) as con:
        texts = {r[0] for r in con.execute("SELECT text FROM l0").fetchall()}
        per_run = dict(con.execute("SELECT run_id, count(*) FROM l0 GROUP BY 1").fetchall())
    assert per_run == {first.run_id: 5, second.run_id: 3}
    assert len(texts) == 8
    again = run_ingest(spark, test_config, [str(folder)], root)
    assert again.skipped and again.run_id == second.run_id
    forced = run_ingest(spark, test_config, [str(folder)], root, force=True)
    assert not forced.skipped and forced.counts["files"] == 2 and forced.counts["already_in_l0"] == 8


def test_spark_checks_each_files_coverage_where_its_spans_are(spark):
    """One verdict per file comes back from the executors: a gap, an unexplained unit count and the
    ignored and quarantined bytes are found there, as the check over all spans finds them."""
    spans = {
        "good.jsonl": [Span("raw", 0, 100, "decoded", out=50), Span("stream", 0, 50, "record", units=2)],
        "gap.jsonl": [
            Span("raw", 0, 60, "decoded", out=50),
            Span("raw", 80, 100, "ignored", reason="zero padding"),
            Span("stream", 0, 50, "record", units=2),
        ],
        "short.jsonl": [Span("raw", 0, 100, "quarantine", units=1)],
    }
    sizes = {file: 100 for file in spans}
    written = {"good.jsonl": 2, "gap.jsonl": 2, "short.jsonl": 3}
    rows = [tuple(span.row(file).values()) for file, file_spans in spans.items() for span in file_spans]
    frame = spark.createDataFrame(
        rows, "file string, layer string, start long, end long, kind string, units long, out long, reason string"
    )
    verdicts = coverage_verdicts(frame.repartition(3), sizes, written)
    assert verdicts["good.jsonl"] == FileVerdict([], 0, 0)
    assert verdicts["gap.jsonl"].problems == ["raw bytes [60, 80) are not accounted for"]
    assert verdicts["gap.jsonl"].bytes_ignored == 20
    assert verdicts["short.jsonl"].bytes_quarantined == 100
    assert verdicts["short.jsonl"].problems == [
        "spans account for 1 input units but the job wrote 3 L0 and quarantine rows"
    ]
    assert verdicts == {file: file_verdict(s, sizes[file], written[file]) for file, s in spans.items()}
