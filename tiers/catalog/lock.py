"""One writer per data root: an exclusive lock file, `<root>/.tiers.lock`, naming its holder.

The lock is an `flock` on the file, so the kernel releases it when the holding process dies (a stale
lock from a killed process is taken over at once); the file's content (job, PID, host, start time)
names the holder in the message a second job gets. Re-entrant within a process: a chain of stages
holds it once and each stage's job takes it again.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

LOCK_FILE = ".tiers.lock"


class RootLocked(RuntimeError):
    """Another process holds the data root's write lock."""


class RootLock:
    _held: dict[str, tuple[int, int]] = {}  # resolved root -> (file descriptor, depth) in this process
    _guard = threading.Lock()

    def __init__(self, root: str | Path, owner: str, wait_s: float = 0.0):
        self.root = Path(root).resolve()
        self.owner = owner
        self.wait_s = wait_s

    @property
    def path(self) -> Path:
        return self.root / LOCK_FILE

    def holder(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def acquire(self) -> None:
        key = str(self.root)
        with self._guard:
            if key in self._held:
                fd, depth = self._held[key]
                self._held[key] = (fd, depth + 1)
                return
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    held = self.holder()
                    raise RootLocked(
                        f"{self.root} is being written by job {held.get('owner', '?')} (pid {held.get('pid', '?')} on "
                        f"{held.get('host', '?')}, since {held.get('started_at', '?')}); wait for it to finish"
                    ) from None
                time.sleep(0.5)
        record = {
            "owner": self.owner,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        with self._guard:
            self._held[key] = (fd, 1)

    def release(self) -> None:
        key = str(self.root)
        with self._guard:
            fd, depth = self._held.get(key, (None, 0))
            if fd is None:
                return
            if depth > 1:
                self._held[key] = (fd, depth - 1)
                return
            del self._held[key]
        os.ftruncate(fd, 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self) -> "RootLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
