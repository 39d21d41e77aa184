"""Clock, retry backoff with jitter, and renewal times.

The daemon reads time only through a `Clock`, so unit tests inject a manual
clock instead of patching the time module.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Protocol

from cryptography import x509

# Backoff doubles per consecutive failure up to 2**5 times the base interval,
# capped at one day before jitter (see backoff_delay).
MAX_BACKOFF_DOUBLINGS = 5
MAX_BACKOFF_SECONDS = 86400.0
JITTER = 0.25


class Clock(Protocol):
    """Source of the current time, timezone-aware in UTC."""

    def now(self) -> datetime.datetime:
        """Return the current time."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime.datetime:
        """Return the current UTC time."""
        return datetime.datetime.now(datetime.UTC)


def backoff_delay(base_seconds: float, failures: int, random: Callable[[], float]) -> float:
    """Return the wait in seconds before retry number `failures` (1 for the first).

    The wait is `base_seconds * 2**(failures - 1)`, capped, then scaled by a
    random factor in [1 - JITTER, 1 + JITTER) so that many devices that failed
    together do not retry together.
    """
    doublings = min(max(failures - 1, 0), MAX_BACKOFF_DOUBLINGS)
    delay = min(base_seconds * 2**doublings, MAX_BACKOFF_SECONDS)
    return delay * (1.0 - JITTER + 2 * JITTER * random())


def renewal_time(certificate: x509.Certificate, threshold_percent: int) -> datetime.datetime:
    """Return when `threshold_percent` of the certificate's validity has passed."""
    start = certificate.not_valid_before_utc
    lifetime = certificate.not_valid_after_utc - start
    return start + lifetime * threshold_percent / 100


def is_expired(certificate: x509.Certificate, now: datetime.datetime) -> bool:
    """Tell whether the certificate's validity period has ended."""
    return now >= certificate.not_valid_after_utc


def format_time(moment: datetime.datetime | None) -> str | None:
    """Return a YANG date-and-time in UTC with a `Z`, or None."""
    if moment is None:
        return None
    utc = moment.astimezone(datetime.UTC).replace(microsecond=0)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
