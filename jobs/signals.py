"""SIGTERM and Ctrl-C stop a run as an exception, so every context manager cleans up.

Python's default SIGTERM ends the process at once: the run would stay `running`, its staging folder
would stay, and a managed LLM server (its own process group) would outlive the job. Raised as
SystemExit instead, `JobRun` marks the run failed and removes its folders, and `ManagedServer` stops
its server by PID.

Python runs a signal's handler in the main thread, and only once that thread is back in Python code;
a driver waiting on a Spark job sits in a socket read for as long as the job runs. So the signal is
also seen at once by a small thread (through the wakeup file descriptor), which cancels the Spark jobs:
the main thread's wait returns and the handler runs.
"""

from __future__ import annotations

import logging
import os
import select
import signal
import threading
from typing import Callable

log = logging.getLogger(__name__)

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_received: list[int] = []


def stop_signal() -> str | None:
    """'SIGTERM' or 'SIGINT' once such a signal has arrived in this process, else None: a run that fails
    after it (its Spark job cancelled, a Py4J error) is recorded as stopped by the signal."""
    return signal.Signals(_received[-1]).name if _received else None


def _raise_exit(signum: int, frame) -> None:
    _received.append(signum)
    raise SystemExit(128 + signum)


def _watch(read_fd: int, on_signal: Callable[[], None]) -> None:
    while True:
        select.select([read_fd], [], [])
        received = os.read(read_fd, 64)
        stops = [number for number in received if number in _STOP_SIGNALS]
        if stops:
            _received.append(stops[-1])
            log.warning("stop signal received: cancelling running work")
            try:
                on_signal()
            except Exception as exc:  # noqa: BLE001 - best effort; the main thread's handler still runs
                log.warning("could not cancel running work: %s", exc)


def exit_cleanly_on_signals(on_signal: Callable[[], None] | None = None) -> None:
    """SIGTERM raises SystemExit(143) in the main thread; `on_signal` (e.g. cancel Spark jobs) runs at once
    in a watcher thread on SIGTERM or SIGINT. Only from the main thread, where handlers can be set."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, _raise_exit)
    if on_signal is not None:
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        threading.Thread(target=_watch, args=(read_fd, on_signal), name="stop-signal-watcher", daemon=True).start()
