"""news-ingest's library: pure, Prefect-free stages from feeds to warehouse tables."""

__version__ = "0.1.0"
