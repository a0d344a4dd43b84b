"""L3's code outside Spark: the tolerant parser of rubric answers (`parsing.py`), rubric scoring with
retries, rewriting and the scoring model's calibration (`refine.py`). `jobs/l2_to_l3.py` runs it on Spark."""
