"""Launch and supervise an OpenAI-compatible server (`vllm serve`, llama.cpp's server, any command).

The server runs on 127.0.0.1 in its own process group, on a port that was free when it started (a free
one of its own unless a fixed port is configured; a fixed port that something else holds is an error).
Each launch gets a fresh API key (`{api_key}` in the command): before any answer counts, the server
must refuse a request without the key and answer one with it, so a different process that happens to
listen on the port is never taken for it. A watchdog restarts it if it dies; `stop` (also called on
exit) ends it by its process id.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

from tiers.llm.selftest import PORTABLE_INSTALL, describe_exit

log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_in_use(port: int) -> bool:
    """True when something accepts connections on 127.0.0.1:`port`."""
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class ServerIdentityError(RuntimeError):
    """What answers on the server's port is not the process this engine started."""


class ManagedServer:
    def __init__(
        self,
        command: str,
        port: int | None,
        health_path: str = "/v1/models",
        startup_timeout_s: float = 120.0,
        log_file: str | None = None,
        model_path: str | None = None,
    ):
        self.fixed_port = port is not None
        self.port = port if port is not None else free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.api_key = secrets.token_hex(16)
        self.keyed = "{api_key}" in command
        self.command = command.format(
            python=sys.executable, port=self.port, model_path=model_path or "", api_key=self.api_key
        )
        self.health_url = f"http://127.0.0.1:{self.port}{health_path}"
        self.startup_timeout_s = startup_timeout_s
        self.log_file = log_file
        self.process: subprocess.Popen | None = None
        self.restarts = 0
        self.exits: list[int] = []
        self.identity_failure: str | None = None  # set when a restarted server could not be verified
        self._stopping = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def shown_command(self) -> str:
        """The command as logged: the API key is not written to logs."""
        return self.command.replace(self.api_key, "<api key>")

    @property
    def headers(self) -> dict[str, str]:
        """What every request to this server carries (its per-launch API key)."""
        return {"Authorization": f"Bearer {self.api_key}"} if self.keyed else {}

    def start(self, probe: bool = True) -> "ManagedServer":
        if not self.keyed:
            log.warning(
                "server command has no {api_key}: tiers cannot check that answers on port %d come from the "
                "server it started (add --api_key {api_key} for llama.cpp, --api-key {api_key} for vllm serve)",
                self.port,
            )
        self._launch()
        try:
            self.verify_identity()
            if probe:
                self.probe()
        except RuntimeError:
            self.stop()
            raise
        self._watchdog = threading.Thread(target=self._watch, daemon=True)
        self._watchdog.start()
        atexit.register(self.stop)
        return self

    def _check_port_free(self) -> None:
        if port_in_use(self.port):
            if self.fixed_port:
                raise ServerIdentityError(
                    f"port {self.port} on 127.0.0.1 is already in use by another process; stop it, or set "
                    "llm.server.port to a free port (or null: tiers picks a free one)"
                )
            raise ServerIdentityError(
                f"port {self.port} on 127.0.0.1, free when tiers picked it, was taken by another process before "
                "the server started; run the stage again"
            )

    def _launch(self) -> None:
        self._check_port_free()
        output = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        with self._lock:
            self.process = subprocess.Popen(
                shlex.split(self.command),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "HOST": "127.0.0.1"},
            )
        log.info("started %s (pid %d)", self.shown_command, self.process.pid)
        self.wait_ready()

    def healthy(self) -> bool:
        try:
            return httpx.get(self.health_url, headers=self.headers, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self) -> None:
        deadline = time.time() + self.startup_timeout_s
        while time.time() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"server {describe_exit(self.process.returncode)} while starting: {self.shown_command}"
                )
            if self.healthy():
                return
            time.sleep(0.25)
        raise TimeoutError(f"server did not answer {self.health_url} within {self.startup_timeout_s}s")

    def verify_identity(self) -> None:
        """The server must refuse a request without this launch's key and answer one with it."""
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"server exited before tiers could check it: {self.shown_command}")
        if not self.keyed:
            return
        try:  # a busy server (a restart with requests queued) may take a while to answer
            anonymous = httpx.get(self.health_url, timeout=60.0).status_code
            keyed = httpx.get(self.health_url, headers=self.headers, timeout=60.0).status_code
        except httpx.HTTPError as exc:  # no answer says nothing about who listens: not an identity failure
            raise RuntimeError(f"server on port {self.port} did not answer the identity check: {exc!r}") from None
        if anonymous not in (401, 403) or keyed != 200:
            raise ServerIdentityError(
                f"what answers on 127.0.0.1:{self.port} is not the server tiers started (without its API key: "
                f"HTTP {anonymous}, with it: HTTP {keyed}); another process may hold the port"
            )

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            process = self.process
            if process is not None and process.poll() is not None and not self._stopping.is_set():
                self.exits.append(process.returncode)
                self.restarts += 1
                log.warning(
                    "server (pid %d) exited with %s; restarting (%d)", process.pid, process.returncode, self.restarts
                )
                try:
                    self._launch()
                    self.verify_identity()
                except ServerIdentityError as exc:
                    self.identity_failure = str(exc)
                    log.error("after a restart, answers on this port no longer count: %s", exc)
                    return
                except (RuntimeError, TimeoutError) as exc:
                    if self.process is not None and self.process.poll() is None:
                        log.warning("restarted server not checked (its port was free when it started): %s", exc)
                    else:
                        log.error("restart failed: %s", exc)

    def probe(self, timeout_s: float = 120.0) -> None:
        """One real multi-token chat request: a server that answers health checks may still crash on prompts."""
        body = {
            "messages": [{"role": "user", "content": "Name three colours of the rainbow, please."}],
            "max_tokens": 8,
            "temperature": 0.0,
        }
        try:
            response = httpx.post(f"{self.url}/chat/completions", json=body, headers=self.headers, timeout=timeout_s)
            response.raise_for_status()
            response.json()["choices"][0]["message"]
        except (httpx.HTTPError, KeyError, IndexError, ValueError) as exc:
            time.sleep(0.5)
            process = self.process
            if process is not None and process.poll() is not None:
                raise RuntimeError(
                    f"server {describe_exit(process.returncode)} on its first multi-token request "
                    f"({self.shown_command}); for llama.cpp: {PORTABLE_INSTALL}"
                ) from None
            raise RuntimeError(f"server did not answer a test request: {type(exc).__name__}: {exc}") from None

    def failure_summary(self) -> str:
        """'server was killed by signal 11 (SIGSEGV) 3 times', or '' when it never died."""
        if not self.exits:
            return ""
        counts: dict[int, int] = {}
        for code in self.exits:
            counts[code] = counts.get(code, 0) + 1
        return "; ".join(f"server {describe_exit(code)} {n} time{'s' if n > 1 else ''}" for code, n in counts.items())

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
