"""The Prefect API a command's flow runs report to: the configured server, or a temporary one."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from pipeline.errors import NewsIngestError

# Unless the user sets them: our flows use no blocks, and registering Prefect's block types (even
# just hashing them to find nothing changed) took ~2 s of the server's ~8 s start.
TEMPORARY_SERVER_DEFAULTS = {
    "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
    "PREFECT_MEMOIZE_BLOCK_AUTO_REGISTRATION": "false",
}
# What Prefect's own temporary server sets: no UI, and the server knows it is ephemeral.
TEMPORARY_SERVER_ENV = {
    "PREFECT_UI_ENABLED": "0",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
}
# When the port we chose was taken before the server bound it, a fresh one is tried this often.
PORT_RETRIES = 2
STOP_TIMEOUT = 10.0  # seconds a stopping server gets to flush its services before it is killed
POLL_INTERVAL = 0.05
_EXCEPTION_LINE = re.compile(r"[\w.]+(?:Error|Exception): ")


class ApiError(NewsIngestError):
    """The temporary Prefect server could not start; the message says why."""


def configured_api_url() -> str:
    """PREFECT_API_URL from the environment or the active Prefect profile, or ""."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or ""


def free_port() -> int:
    """A loopback port free at the moment of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers_health(api_url: str) -> bool:
    """Whether the Prefect API at `api_url` answers its health check."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=2) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends SIGTERM when the command dies, even by SIGKILL,
    so a killed run never leaves its server behind."""
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the atexit stop still covers normal exits
        pass


class TemporaryServer:
    """Prefect's temporary API server, started by us rather than by Prefect's client.

    Prefect starts it only when the first flow runs, after the command has spent 6-9 s
    importing; started first, it boots on the other core meanwhile (a run's start-up
    went from about 16 s to about 9 s). Same command and settings as Prefect's own."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout or float(
            os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS") or 180
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.output: IO[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def start(self) -> None:
        """Launch the server without waiting for it."""
        self.port = free_port()
        if self.output is not None:
            self.output.close()
        # The server's own output, kept from the terminal and quoted when it fails to start.
        self.output = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn",
                "--factory", "prefect.server.api.server:create_app",
                "--host", "127.0.0.1", "--port", str(self.port),
                "--log-level", "error", "--lifespan", "on",
            ],
            env={**TEMPORARY_SERVER_DEFAULTS, **os.environ, **TEMPORARY_SERVER_ENV},
            stdin=subprocess.DEVNULL,
            stdout=self.output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )

    def wait_ready(self) -> str:
        """Block until the server answers its health check; return its API URL."""
        deadline = time.monotonic() + self.timeout
        retries = PORT_RETRIES
        while time.monotonic() < deadline:
            assert self.process is not None, "start() first"
            status = self.process.poll()
            if status is not None and retries and self._port_was_taken():
                retries -= 1
                self.start()
                continue
            if status is not None:
                reason = self._last_line()
                self.stop()
                raise ApiError(
                    f"the temporary Prefect server exited at start-up ({reason});"
                    " `prefect server start` shows it in full, or set PREFECT_API_URL"
                )
            if answers_health(self.api_url):
                return self.api_url
            time.sleep(POLL_INTERVAL)
        self.stop()
        raise ApiError(
            f"the temporary Prefect server did not start in {self.timeout:g} s; raise"
            " PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS or set PREFECT_API_URL"
        )

    def _printed(self) -> str:
        """What the server printed so far."""
        if self.output is None:
            return ""
        self.output.seek(0)
        return self.output.read().decode(errors="replace")

    def _port_was_taken(self) -> bool:
        return "address already in use" in self._printed()

    def _last_line(self) -> str:
        lines = [line.strip() for line in self._printed().splitlines()]
        errors = [line for line in lines if _EXCEPTION_LINE.match(line)]
        return (errors or [line for line in lines if line] or ["no output"])[-1]

    def stop(self) -> None:
        """Flush what the client still holds for the server, then stop it gracefully."""
        if self.process is not None:
            if "prefect" in sys.modules and self.process.poll() is None:
                _drain_prefect_workers()
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self.output is not None:
            self.output.close()
            self.output = None


def _drain_prefect_workers() -> None:
    """Logs and events are sent by background workers that would otherwise drain at exit,
    after the server is gone, and print errors about it."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)
    EventsWorker.drain_all(timeout=5)


@contextmanager
def prefect_api(server: TemporaryServer | None) -> Iterator[str]:
    """Point Prefect at the configured API, or at `server` once it is up. `server` was
    started early by the caller, who stops it."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, temporary_settings

    api = configured_api_url()
    if api or server is None:  # a configured server, or none: Prefect starts its own
        yield api
        return
    api = server.wait_ready()
    temporary = {
        PREFECT_API_URL: api,
        PREFECT_UI_URL: "",  # it serves no UI: no "View at" links to it
        # Heartbeats let a lasting server mark crashed runs; this one dies with its run.
        # Their thread sleeps in 1 s steps and is joined, costing each flow ~1 s at its end.
        "flows.heartbeat_frequency": None,
    }
    with temporary_settings(updates=temporary):
        yield api
