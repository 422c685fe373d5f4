"""Prefect flows and the `news-ingest` command line, wired over the `pipeline` library."""

import os

from pipeline.duckext import fail_fast_on_absent

# Offline machines must not log telemetry errors; these are Prefect's own switches. Set before
# Prefect is imported, and only when the user has not chosen otherwise.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A first start migrates Prefect's own database, which can take longer than its 20 s default.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

# DuckDB asks for pandas at every query parameter; where it is absent, the asking is made cheap
# in this process (see pipeline.duckext.AbsentModules).
fail_fast_on_absent()
