"""Progress of LLM work across executors: counts from several partitions' files, the rate and time left."""

from __future__ import annotations

import logging

from tiers.llm.progress import ProgressCounter, duration, logged_progress, progress_line, read_done


def test_counters_of_several_partitions_add_up(tmp_path):
    first, second = ProgressCounter(str(tmp_path), min_interval_s=0), ProgressCounter(str(tmp_path), min_interval_s=0)
    for _ in range(3):
        first(1)
    second(5)
    assert read_done(tmp_path) == 8
    assert ProgressCounter(None)(1) is None  # no folder: counting still works, nothing is written


def test_the_line_gives_the_rate_and_the_time_left():
    assert progress_line("L3 scoring", 30, 90, 60.0) == (
        "L3 scoring: 30 of 90 documents in 1 min 00 s (30.0 per minute), about 2 min 00 s left"
    )
    assert "waiting for the first answers" in progress_line("L3 scoring", 0, 90, 200.0)
    assert duration(7500) == "2 h 05 min"
    assert "all 90 documents done after 5 min 00 s; finishing" in progress_line("L3 scoring", 90, 90, 300.0)


def test_logged_progress_logs_while_work_runs_and_removes_its_folder(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tiers.llm.progress")
    with logged_progress(tmp_path / "progress", 4, "L4 generation", every_s=0.05) as folder:
        counter = ProgressCounter(folder, min_interval_s=0)
        counter(2)
        import time

        time.sleep(0.3)
    assert any("L4 generation: 2 of 4 documents" in r.message for r in caplog.records)
    assert not (tmp_path / "progress").exists()
