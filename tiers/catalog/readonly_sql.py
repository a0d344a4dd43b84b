"""SQL from users cannot write: three walls, each enough on its own for what it covers.

1. **What runs.** Every statement is classified by DuckDB's own parser before anything runs, and only
   three forms are accepted: a plain query (`StatementType.SELECT`: SELECT, FROM, VALUES, WITH,
   DESCRIBE, SHOW, SUMMARIZE), `EXPLAIN` (without ANALYZE) of one such query, and the read-only PRAGMAs
   of `READ_PRAGMAS`. What runs is rebuilt from what the parser returned: for EXPLAIN, the word EXPLAIN
   plus the one query the parser found after it, so `EXPLAIN ANALYZE ...` or `EXPLAIN COPY ...` never
   run. Nothing is matched against a list of forbidden forms.
2. **What DuckDB may touch.** The connection is read-only, can open files only under the root's
   committed output folders (`enable_external_access` off plus `allowed_directories`), spills only to a
   private scratch folder outside the root, autoloads nothing, and cannot change its settings
   (`lock_configuration`).
3. **What the process may write.** The statements run in a child process that the kernel forbids to
   write anywhere but that scratch folder (Linux Landlock, `tiers/catalog/no_writes.py`): whatever
   DuckDB is asked to do, the data root is read-only to it. Where the kernel offers no Landlock (or
   the platform has no fork) the first two walls remain, and `sql_write_guard()` says which held.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import shutil
import tempfile
from typing import Any, Callable

import duckdb

from tiers.catalog.no_writes import forbid_writes, landlock_abi

log = logging.getLogger(__name__)

READ_PRAGMAS = frozenset(
    {"show_tables", "show_tables_expanded", "table_info", "show", "database_size", "version", "platform"}
)
"""PRAGMAs that only report: any other (they set options, or call functions) is refused."""


class ReadOnlyViolation(ValueError):
    """A statement that is not a query: it could write, change settings or reach outside the data root."""


def _type_of(statement) -> duckdb.StatementType | None:
    """The parser's statement type; None for a type this DuckDB's Python module cannot name."""
    try:
        return statement.type
    except ValueError:
        return None


def _refuse(statement_type: duckdb.StatementType | None, text: str, why: str = "") -> ReadOnlyViolation:
    kind = str(statement_type).rsplit(".", 1)[-1] if statement_type is not None else "unnamed"
    return ReadOnlyViolation(
        "SQL here is read-only: only queries (SELECT, EXPLAIN of a SELECT, reporting PRAGMAs) run; "
        f"refused a {kind} statement{why}: {' '.join(text.split())[:80]}"
    )


def _parse(sql: str) -> list:
    try:
        return duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise ReadOnlyViolation(f"cannot parse the SQL: {str(exc).splitlines()[0]}") from None


def _after_first_token(text: str) -> tuple[str, str]:
    """(the first word, lower-cased; the text after it), found by DuckDB's tokenizer (comments skipped)."""
    tokens = [offset for offset, kind in duckdb.tokenize(text) if kind != duckdb.token_type.comment]
    if not tokens:
        return "", ""
    word = re.match(r"\w*", text[tokens[0] :]).group(0)
    return word.lower(), text[tokens[0] + len(word) :]


def _explained_query(text: str) -> str | None:
    """The text to run for `EXPLAIN <query>`: EXPLAIN plus the one SELECT the parser finds after the
    keyword; None for anything else (ANALYZE, options, or an explained statement of another type)."""
    keyword, rest = _after_first_token(text)
    if keyword != "explain":
        return None
    try:
        inner = duckdb.extract_statements(rest)
    except duckdb.Error:
        return None
    if len(inner) != 1 or _type_of(inner[0]) != duckdb.StatementType.SELECT:
        return None
    return "EXPLAIN " + inner[0].query


def _reporting_pragma(text: str) -> bool:
    keyword, rest = _after_first_token(text)
    name, _ = _after_first_token(rest)
    tokens = [t for t in duckdb.tokenize(rest) if t[1] == duckdb.token_type.operator]
    assigns = any(rest[offset : offset + 1] == "=" for offset, _ in tokens)
    return keyword == "pragma" and name in READ_PRAGMAS and not assigns


def checked_statements(sql: str) -> list[str]:
    """The statements of `sql` to run, each rebuilt from DuckDB's parse; raises ReadOnlyViolation, before
    anything runs, unless every statement is a query (see the module docstring)."""
    statements = _parse(sql)
    if not statements:
        raise ReadOnlyViolation("no SQL statement given")
    runnable = []
    for statement in statements:
        kind = _type_of(statement)
        if kind == duckdb.StatementType.SELECT:
            runnable.append(statement.query)
        elif kind == duckdb.StatementType.EXPLAIN:
            explained = _explained_query(statement.query)
            if explained is None:
                raise _refuse(kind, statement.query, " (EXPLAIN runs only without ANALYZE, of one SELECT)")
            runnable.append(explained)
        elif kind == duckdb.StatementType.PRAGMA and _reporting_pragma(statement.query):
            runnable.append(statement.query)
        else:
            raise _refuse(kind, statement.query)
    return runnable


def restrict_to(con: duckdb.DuckDBPyConnection, directories: list[str], scratch: str) -> None:
    """Allow file access only under `directories` (relative ones resolve against file_search_path), spill
    only to `scratch`, then lock the configuration."""
    con.execute("SET temp_directory = ?", [scratch])
    con.execute("SET allowed_directories = ?", [directories])
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")


def sql_write_guard() -> str:
    """How user SQL is kept from writing on this machine (shown by `tiers doctor`-like checks and tests)."""
    if hasattr(os, "fork") and landlock_abi() >= 1:
        return "landlock"
    return "duckdb"


class _ChildFailed(RuntimeError):
    """The query's process ended without an answer (killed, or a crash inside DuckDB)."""


def run_without_writes(work: Callable[[str], Any]) -> Any:
    """`work(scratch)` in a forked child that cannot write outside `scratch` (a fresh folder, removed after);
    its result or exception comes back pickled. In this process where fork or Landlock is missing."""
    scratch = tempfile.mkdtemp(prefix="tiers-sql-")
    try:
        if sql_write_guard() != "landlock":
            log.debug("Landlock is not available: user SQL runs with DuckDB's own restrictions only")
            return work(scratch)
        return _in_child(work, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _in_child(work: Callable[[str], Any], scratch: str) -> Any:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no return from here
        os.close(read_fd)
        status = 0
        try:
            if not forbid_writes([scratch]):
                raise _ChildFailed("the kernel refused the Landlock ruleset")
            try:
                answer = pickle.dumps(("ok", work(scratch)), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception as exc:  # noqa: BLE001 - every failure goes back to the parent
                try:
                    answer = pickle.dumps(("error", exc), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception:  # noqa: BLE001 - an exception that cannot be pickled goes back as text
                    answer = pickle.dumps(("error", _ChildFailed(f"{type(exc).__name__}: {exc}")))
            with os.fdopen(write_fd, "wb") as out:
                out.write(answer)
        except BaseException:  # noqa: BLE001
            status = 1
        finally:
            os._exit(status)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as answers:
        data = answers.read()
    _, wait_status = os.waitpid(pid, 0)
    if not data:
        if os.WIFSIGNALED(wait_status):
            raise _ChildFailed(f"the query's process was ended by signal {os.WTERMSIG(wait_status)}")
        raise _ChildFailed(f"the query's process exited with status {os.waitstatus_to_exitcode(wait_status)}")
    outcome, value = pickle.loads(data)
    if outcome == "error":
        raise value
    return value
