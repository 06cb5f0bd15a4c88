"""Publication dates as files write them → aware datetimes, or an InputError that says why."""

from __future__ import annotations

import email.utils
from datetime import UTC, date, datetime, time

from rag.clock import aware
from rag.errors import InputError

DATE_HINT = "write it as YYYY-MM-DD or ISO 8601"
# Languages dateparser tries for free-form dates. Naming them keeps a failing parse fast;
# detecting among all its locales is far slower for every bad date.
DATE_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "ru", "tr", "ar")


def parse_date(value: str | datetime | date | float, origin: str) -> datetime:
    """Parse a date as found in a file into an aware datetime; InputError when it does not parse."""
    if isinstance(value, datetime):
        return aware(value)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        # Epoch numbers: JSON exports use seconds or (JavaScript) milliseconds.
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise InputError(origin, f"date {value!r} does not parse; {DATE_HINT}") from None
    text = str(value).strip()
    if not text:
        raise InputError(origin, f"date {value!r} is empty; {DATE_HINT}")
    try:  # the common, unambiguous case first: it is exact and fast
        return aware(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:  # RSS and e-mail style: "Wed, 03 Jan 2024 10:00:00 +0000"
        return aware(email.utils.parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        pass
    import dateparser  # slow to import; most dates never need it

    parsed = dateparser.parse(
        text,
        languages=list(DATE_LANGUAGES),
        settings={
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "past",
            "TIMEZONE": "UTC",  # naive → UTC, not the machine's zone
        },
    )
    if parsed is None:
        raise InputError(origin, f"date {text!r} does not parse; {DATE_HINT}")
    return aware(parsed)
