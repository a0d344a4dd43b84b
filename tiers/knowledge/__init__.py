"""L4 after the job: the search postings and BM25 ranking in DuckDB SQL, and the exports for training."""
