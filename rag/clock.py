"""Time helpers shared by every step: aware datetimes (naive values are read as UTC)."""

from __future__ import annotations

from datetime import UTC, datetime


def aware(value: datetime) -> datetime:
    """A datetime with a timezone: naive values are taken as UTC (what wire services mostly use)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
