"""Ending the `tiers` process without the interpreter's teardown.

After a command, CPython frees every module and object one at a time; with Arrow, DuckDB, numba and
tokenizers loaded that costs about 0.3 CPU-s, a twentieth of a small local run. What an exit must still
do is done first, in the order Python does it: waiting for the threads that are not daemons, the atexit handlers (logging's flush, PySpark's and py4j's shutdown of the JVM) and
the standard streams' buffers.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn

from tiers.exit_codes import EXIT_FAILED, EXIT_OK


def exit_code(code: object) -> int:
    """The status `sys.exit(code)` would give (a message is written to stderr, as Python does)."""
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_FAILED


def exit_without_teardown(code: object) -> NoReturn:
    """Exit with `code`; under a profiler or tracer (`python -m cProfile`, a debugger), which write their
    results after the program returns, a normal exit."""
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(exit_code(code))
