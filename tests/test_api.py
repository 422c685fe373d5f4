"""The temporary Prefect server a command starts itself: it answers, stops, and dies with it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

import flows.api
from flows.api import ApiError, TemporaryServer

ROOT = Path(__file__).resolve().parents[1]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _processes_with_env(marker: str) -> list[int]:
    """Live processes whose environment holds `marker` (ours carry a unique PREFECT_HOME)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes() and _alive(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Prefect home for the module: only the first server migrates its database."""
    return tmp_path_factory.mktemp("prefect-home")


def _server_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(home)
    return env


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_temporary_server_answers_then_stops(
    prefect_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(prefect_home))
    # Another process takes the chosen port before the server binds it: a fresh port is tried.
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    taken = squatter.getsockname()[1]
    ports = iter([taken])
    real_free_port = flows.api.free_port
    monkeypatch.setattr(flows.api, "free_port", lambda: next(ports, None) or real_free_port())
    server = TemporaryServer()
    server.start()
    assert server.port == taken
    api = server.wait_ready()
    squatter.close()
    assert server.port != taken and server.process is not None
    pid = server.process.pid
    assert api == f"http://127.0.0.1:{server.port}/api"
    with urllib.request.urlopen(f"{api}/health", timeout=5) as reply:
        assert reply.status == 200
    server.stop()
    assert server.process is None and not _alive(pid)
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{api}/health", timeout=5)
    server.stop()  # a second stop is harmless


def test_server_that_cannot_start_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    monkeypatch.setenv(
        "PREFECT_API_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/x.db"
    )
    server = TemporaryServer()
    server.start()
    with pytest.raises(ApiError) as caught:
        server.wait_ready()
    message = str(caught.value)
    assert "exited at start-up" in message and "unable to open database file" in message
    assert "\n" not in message
    assert server.process is None


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_killed_command_takes_its_server_along(prefect_home: Path) -> None:
    script = textwrap.dedent(
        """
        import time
        from flows.api import TemporaryServer
        server = TemporaryServer()
        server.start()
        print(server.process.pid, flush=True)
        server.wait_ready()
        print("ready", flush=True)
        time.sleep(600)
        """
    )
    command = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=_server_env(prefect_home),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert command.stdout is not None
    server_pid = int(command.stdout.readline())
    assert command.stdout.readline().strip() == "ready"
    assert _alive(server_pid)
    command.send_signal(signal.SIGKILL)
    command.wait()
    deadline = time.monotonic() + 30
    while _alive(server_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(server_pid), "the server outlived the SIGKILLed command"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_cli_run_without_api_url_leaves_nothing_running(
    tmp_path: Path, prefect_home: Path, sample_site, allow_loopback: None  # type: ignore[no-untyped-def]
) -> None:
    site, sample = sample_site
    env = _server_env(prefect_home)
    feeds = [arg for path in sample.feed_paths for arg in ("--feed", sample.url(path))]
    result = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", *feeds, "--warehouse", str(tmp_path / "w.db")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "new articles" in result.stdout
    assert "Traceback" not in result.stderr
    assert "View at" not in result.stderr  # the temporary server has no UI to link to
    assert not _processes_with_env(env["PREFECT_HOME"])
    assert (prefect_home / "prefect.db").is_file()  # Prefect's records went to this home
