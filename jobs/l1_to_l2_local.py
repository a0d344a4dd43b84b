"""The L2 local body: score L1's batches and select, in this process, with the functions of jobs/l2_rows.py.

Writes the same columns and rows as the Spark body (tests/integration/test_l2_engines.py compares them).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from classifiers.model import QualityModel
from jobs.l2_rows import drop_batch, score_batch, selected
from jobs.parquet_folder import FolderWriter, folder_files, iter_batches, read_files
from jobs.runner import JobRun
from jobs.stage_inputs import ScoreInputs, SelectInputs
from tiers import schemas
from tiers.names import L2

BATCH_ROWS = 1024
SCORE_JOIN_COLUMNS = ["doc_id", "model_lang", "model_hash", "quality_score"]


def write_scores(inputs: ScoreInputs, run: JobRun) -> None:
    models, fallback = inputs.models, inputs.fallback
    loaded = {lang: QualityModel.cached(ref.path, ref.tokenizer) for lang, ref in models.items()}
    run_id = pa.scalar(run.run_id)
    with FolderWriter(run.stage("l2_scores"), schemas.L2_SCORES) as out:
        for batch in iter_batches(folder_files([inputs.source]), ["doc_id", "lang", "text"], BATCH_ROWS):
            scored = pa.Table.from_batches([score_batch(batch, loaded, models, fallback)])
            out.write(scored.append_column("run_id", pa.repeat(run_id, scored.num_rows)))


def _l2_schema(l1_schema: pa.Schema) -> pa.Schema:
    """Spark's column order for `l1.join(scores, "doc_id", "left")` plus the run id."""
    l1_fields = [f for f in l1_schema if f.name not in ("doc_id", "run_id")]
    score_fields = [schemas.L2_SCORES.field(name) for name in SCORE_JOIN_COLUMNS[1:]]
    return pa.schema([l1_schema.field("doc_id"), *l1_fields, *score_fields, schemas.L2_SCORES.field("run_id")])


def write_selection(inputs: SelectInputs, run: JobRun) -> None:
    threshold, keep_unscored = inputs.config.l2.threshold, inputs.keep_unscored
    files = folder_files([inputs.source])
    scores = read_files(folder_files([inputs.scores_path]), SCORE_JOIN_COLUMNS)
    if scores is None:
        scores = pa.table({name: pa.array([], schemas.L2_SCORES.field(name).type) for name in SCORE_JOIN_COLUMNS})
    schema = _l2_schema(pq.read_schema(files[0])) if files else _l2_schema(schemas.L1_BASE)
    run_id = pa.scalar(run.run_id)
    with (
        FolderWriter(run.stage(L2, tier=L2), schema) as l2,
        FolderWriter(run.stage("drops"), schemas.DROPS) as drops,
    ):
        for batch in iter_batches(files, None, BATCH_ROWS):
            table = pa.Table.from_batches([batch]).drop_columns(["run_id"])
            found = pc.index_in(table.column("doc_id"), value_set=scores.column("doc_id"))
            for name in SCORE_JOIN_COLUMNS[1:]:
                table = table.append_column(name, pc.take(scores.column(name), found))
            mask = selected(table.column("quality_score"), threshold, keep_unscored)
            kept = table.filter(pa.array(mask))
            l2.write(kept.append_column("run_id", pa.repeat(run_id, kept.num_rows)))
            rejected = table.filter(pa.array(~mask)).select(["doc_id", "lang", "quality_score"])
            for part in rejected.to_batches():
                drops.write(drop_batch(part, threshold, run.run_id))
