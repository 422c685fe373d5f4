"""Argument types the command-line modules share."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime


def iso_date(value: str) -> datetime:
    """A CLI date: ISO 8601, a day or a moment; naive means UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {value!r} (try 2026-01-31)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
