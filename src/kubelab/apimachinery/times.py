"""RFC 3339 times as the API writes them (``metav1.Time`` and ``metav1.MicroTime``).

``metav1.Time`` serialises to second precision (``2024-05-01T12:00:00Z``) and
``metav1.MicroTime`` (Events' ``eventTime``, Leases' ``renewTime``) to microseconds, always
in UTC with a ``Z``. Parsing accepts both, and any offset; a timestamp without a zone is
read as UTC, so differences between parsed times never mix naive and aware datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(t: datetime) -> str:
    """Second-precision RFC 3339, as the API server writes ``metav1.Time``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(t: datetime) -> str:
    """Microsecond-precision RFC 3339, as the API server writes ``metav1.MicroTime``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: object) -> datetime | None:
    """Parse an RFC 3339 timestamp (with or without fractions); ``None`` if absent or bad."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
