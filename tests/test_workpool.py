"""The work-pool path of prefect.yaml, for real: a `prefect server`, `prefect deploy --all` from
the repository, and a process worker that runs `ingest/scheduled` against the loopback site."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
POOL = "news-ingest"
DEPLOYMENTS = {"scheduled", "nightly", "backfill", "reextract"}
SERVER_START = 180.0  # seconds; a loaded 2-core machine needs most of a minute
WORKER_TIMEOUT = 300.0


def prefect_cli() -> str:
    found = shutil.which("prefect") or str(Path(sys.executable).with_name("prefect"))
    if not Path(found).exists():
        pytest.skip("the `prefect` command is not installed beside this Python")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a process started in its own session, and everything it started."""
    with contextlib.suppress(ProcessLookupError):
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
        os.killpg(process.pid, signal.SIGKILL)  # whatever it left behind in its group
    process.wait(timeout=10)


class PrefectServer:
    """`prefect server start` on a free loopback port, with its own PREFECT_HOME."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.log = home / "server.log"
        port = free_port()
        self.api = f"http://127.0.0.1:{port}/api"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        self.env = {
            **inherited,
            "PREFECT_HOME": str(home),
            "PREFECT_API_URL": self.api,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            # Startup only: the ~100 built-in block types take seconds to register, and nothing
            # here uses blocks.
            "PREFECT_API_BLOCKS_REGISTER_ON_START": "false",
        }
        home.mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            # No scheduler: the `*/15` schedule must not add runs a worker could pick up.
            self.process = subprocess.Popen(
                [prefect_cli(), "server", "start", "--host", "127.0.0.1", "--port", str(port),
                 "--no-scheduler", "--no-ui"],
                stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=home,
                start_new_session=True,
            )  # fmt: skip

    def log_tail(self) -> str:
        return self.log.read_text("utf-8", "replace")[-3000:]

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"prefect server exited:\n{self.log_tail()}"
            try:
                if httpx.get(f"{self.api}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"prefect server not up in {SERVER_START:g} s:\n{self.log_tail()}")

    def prefect(
        self, *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 180
    ) -> str:
        """Run a `prefect` command against this server; its output, or a failed assertion."""
        result = subprocess.run(
            [prefect_cli(), *args], cwd=cwd, env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        output = result.stdout + result.stderr
        assert result.returncode == 0, f"prefect {' '.join(args)} failed:\n{output[-3000:]}"
        return output

    def post(self, path: str, body: dict[str, object] | None = None) -> object:
        response = httpx.post(f"{self.api}{path}", json=body or {}, timeout=30)
        response.raise_for_status()
        return response.json()

    def get(self, path: str) -> dict[str, object]:
        response = httpx.get(f"{self.api}{path}", timeout=30)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[PrefectServer]:
    started = PrefectServer(tmp_path / "prefect-home")
    try:
        yield started
    finally:
        stop(started.process)


def test_prefect_yaml_deploys_to_a_work_pool_and_a_worker_runs_ingest(  # type: ignore[no-untyped-def]
    server, sample_site, tmp_path
) -> None:
    site, sample = sample_site
    db = tmp_path / "warehouse" / "news.duckdb"
    timings: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        timings[name] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()

    # Register the sample site's feeds while the server starts.
    added = subprocess.run(
        [sys.executable, "-m", "flows.cli", "feeds", "add",
         *[sample.url(p) for p in sample.feed_paths], "--warehouse", str(db)],
        cwd=ROOT, env=server.env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr[-2000:]
    server.wait_ready()
    lap("server")

    # The commands prefect.yaml's header gives, as a user would type them.
    server.prefect("work-pool", "create", POOL, "--type", "process", cwd=tmp_path)
    # --prompt: interactive mode, as at a terminal; any question would fail on the closed stdin.
    server.prefect(
        "--prompt", "deploy", "--all", cwd=ROOT, env={"NEWS_INGEST_HOME": str(ROOT)}, timeout=300
    )
    lap("deploy")
    deployments = server.post("/deployments/filter")
    assert isinstance(deployments, list)
    assert {d["name"] for d in deployments} == DEPLOYMENTS
    assert {d["work_pool_name"] for d in deployments} == {POOL}
    by_name = {d["name"]: d for d in deployments}
    # $NEWS_INGEST_HOME is resolved when deploying: workers need the project at that path.
    assert by_name["scheduled"]["pull_steps"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
    ]
    assert [s["schedule"]["cron"] for s in by_name["scheduled"]["schedules"]] == ["*/15 * * * *"]
    assert by_name["backfill"]["schedules"] == by_name["reextract"]["schedules"] == []

    # A run of the deployment as its schedule would start it (mode "scheduled": the feeds that
    # are due, which new feeds are), only the warehouse given.
    out = server.prefect(
        "deployment", "run", "ingest/scheduled", "--param", f"warehouse={db}", cwd=tmp_path
    )
    found = re.search(r"UUID: ([0-9a-f-]{36})", out)
    assert found, out
    run_id = found.group(1)

    # The worker's environment reaches the flow-run process: without NEWS_INGEST_ALLOW_HOSTS
    # nothing on 127.0.0.1 could be fetched. Started away from the repository, the run finds
    # its code through the pull step.
    worker_log = tmp_path / "worker.log"
    with open(worker_log, "wb") as log:
        worker = subprocess.Popen(
            [prefect_cli(), "worker", "start", "--pool", POOL, "--run-once"],
            cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env={**server.env, "NEWS_INGEST_ALLOW_HOSTS": "127.0.0.1",
                 "NEWS_INGEST_HOME": str(ROOT), "NEWS_INGEST_EXTRACT_WORKERS": "1"},
            start_new_session=True,
        )  # fmt: skip
    finished = True
    try:
        worker.wait(timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        finished = False
    finally:
        stop(worker)
    lap("worker")
    log_tail = worker_log.read_text("utf-8", "replace")[-4000:]
    assert finished, f"the worker did not finish in {WORKER_TIMEOUT:g} s:\n{log_tail}"
    assert worker.returncode == 0, log_tail

    flow_run = server.get(f"/flow_runs/{run_id}")
    state = flow_run["state"]
    assert isinstance(state, dict)
    assert state["type"] == "COMPLETED", f"{state}\n{log_tail}"
    assert flow_run["deployment_id"] == by_name["scheduled"]["id"]
    assert flow_run["work_pool_name"] == POOL
    assert str(flow_run["name"]).startswith("ingest-scheduled-")

    with duckdb.connect(str(db), read_only=True) as con:
        urls = {u for (u,) in con.execute("SELECT canonical_url FROM articles").fetchall()}
        runs = con.execute("SELECT mode, status FROM runs").fetchall()
    assert urls == {sample.url(a.path) for a in sample.articles}
    assert len(urls) == sample.expected_article_count
    assert runs == [("scheduled", "completed")]
    assert all(site.hits[p] >= 1 for p in sample.article_paths)
    print(f"work-pool path timings (s): {timings}")
