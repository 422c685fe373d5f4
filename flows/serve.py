"""`news-ingest serve`: the scheduled deployments, served from one long-running process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from flows.api import answers_health, free_port
from pipeline.errors import NewsIngestError
from pipeline.settings import Settings

SERVER_START_TIMEOUT = 180.0  # a first start migrates Prefect's database


class ServeError(NewsIngestError):
    """serve could not start; the message says why."""


def start_local_server(log_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start `prefect server start` on a free loopback port; return it and its API URL.
    Prefect's temporary in-process server cannot run schedules, a real one can."""
    port = free_port()
    prefect = shutil.which("prefect") or str(Path(sys.executable).with_name("prefect"))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")  # noqa: SIM115 - the server writes it until it stops
    process = subprocess.Popen(
        [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"},
    )
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServeError(f"the Prefect server exited at start-up; see {log_path}")
        if answers_health(api):
            return process, api
        time.sleep(0.5)
    process.terminate()
    raise ServeError(
        f"the Prefect server did not start in {SERVER_START_TIMEOUT:g} s; see {log_path}"
    )


def serve(settings: Settings, cron: str, maintenance_cron: str) -> None:
    """Serve `ingest` (due feeds, on `cron`) and `maintenance` (on `maintenance_cron`) until
    interrupted; with NEWS_INGEST_WEBSUB_CALLBACK_URL set, the WebSub callback endpoint too.
    Uses PREFECT_API_URL when set, else starts a local Prefect server and stops it on the way
    out."""
    from prefect import serve as prefect_serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.ingest import ingest, maintenance
    from flows.websub import WebSubService

    server: subprocess.Popen[bytes] | None = None
    api = os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value()
    if not api:
        # Beside the warehouse file; for a lake, beside its archive (its catalog may be remote).
        folder = (
            settings.warehouse.parent
            if isinstance(settings.warehouse, Path)
            else settings.archive_path.parent
        )
        log_path = folder / "prefect-server.log"
        print(f"Starting a local Prefect server (log: {log_path}) ...", flush=True)
        server, api = start_local_server(log_path)
        os.environ["PREFECT_API_URL"] = api  # the flow-run subprocesses inherit it
    print(f"Prefect API: {api} (UI: {api.removesuffix('/api')})", flush=True)
    warehouse = (
        str(settings.warehouse.resolve())
        if isinstance(settings.warehouse, Path)
        else settings.warehouse  # a lake URL: the flow runs parse it as it is
    )
    # WebSub pushes run the websub-push flow in this process, as they arrive.
    websub = WebSubService(settings) if settings.websub_callback_url else None
    try:
        with temporary_settings(updates={PREFECT_API_URL: api}):
            scheduled = ingest.to_deployment(
                name="scheduled",
                cron=cron,
                parameters={"warehouse": warehouse, "mode": "scheduled"},
                description="Fetch the feeds that are due and load their new articles.",
            )
            nightly = maintenance.to_deployment(
                name="nightly",
                cron=maintenance_cron,
                parameters={"warehouse": warehouse},
                description="Checkpoint the warehouse and report failing feeds.",
            )
            if websub is not None:
                websub.start()
                print(
                    f"WebSub callbacks: {settings.websub_callback_url}/websub/..."
                    f" (listening on {settings.websub_listen}:{settings.websub_port})",
                    flush=True,
                )
            prefect_serve(scheduled, nightly)  # type: ignore[arg-type]
    finally:
        if websub is not None:
            websub.stop()
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
