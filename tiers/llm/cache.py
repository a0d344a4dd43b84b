"""Request cache: answers keyed by a hash of model, prompt version, messages and sampling settings.

A SQLite file beside the tier data (<root>/llm_cache/requests.sqlite, WAL mode) shared by the
executors of one machine; a re-run or a resumed run sends no request already answered.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from pathlib import Path

from tiers.llm.engine import ChatRequest, ChatResult


WAL_WAIT_S = 60.0


def _use_wal(con: sqlite3.Connection) -> None:
    """Put the file in WAL mode (it stays so). Switching needs the database alone for a moment, and SQLite
    answers 'database is locked' at once, without its busy timeout, while another process (another
    executor opening the same cache) holds it: so retry until WAL_WAIT_S."""
    deadline = time.monotonic() + WAL_WAIT_S
    while True:
        try:
            if con.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                con.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02 + random.random() * 0.08)


class RequestCache:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connection() as con:
            _use_wal(con)
            con.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, result TEXT NOT NULL)")

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            con.execute("PRAGMA busy_timeout=60000")
            self._local.con = con
        return con

    def get_many(self, keys: list[str]) -> dict[str, ChatResult]:
        found: dict[str, ChatResult] = {}
        con = self._connection()
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = con.execute(
                f"SELECT key, result FROM answers WHERE key IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            for key, blob in rows:
                data = json.loads(blob)
                found[key] = ChatResult(
                    data["text"], data["prompt_tokens"], data["completion_tokens"], data["seconds"], cached=True
                )
        return found

    def put(self, key: str, result: ChatResult) -> None:
        """Only successful answers are cached, so failures are retried by the next run."""
        if not result.ok:
            return
        blob = json.dumps(
            {
                "text": result.text,
                "prompt_tokens": result.prompt_tokens,
                "completion_tokens": result.completion_tokens,
                "seconds": result.seconds,
            }
        )
        self._connection().execute("INSERT OR REPLACE INTO answers VALUES (?, ?)", (key, blob))

    def __len__(self) -> int:
        return self._connection().execute("SELECT count(*) FROM answers").fetchone()[0]


class CachedEngine:
    """Wraps an engine: answers from the cache where present, sends the rest, stores new answers."""

    def __init__(self, engine, cache: RequestCache):
        self.engine = engine
        self.cache = cache
        self.model = engine.model
        self.sent = 0
        self.hits = 0

    def complete(self, requests: list[ChatRequest]) -> list[ChatResult]:
        keys = [r.cache_key(self.model) for r in requests]
        known = self.cache.get_many(list(set(keys)))
        missing = [i for i, key in enumerate(keys) if key not in known]
        self.hits += len(requests) - len(missing)
        self.sent += len(missing)
        fresh = self.engine.complete([requests[i] for i in missing]) if missing else []
        results: list[ChatResult | None] = [known.get(key) for key in keys]
        for index, result in zip(missing, fresh):
            self.cache.put(keys[index], result)
            results[index] = result
        return [r for r in results if r is not None]

    def close(self) -> None:
        self.engine.close()
