"""One-time challenge passwords, issued by the admin interface and used up by requests.

The rules follow Windows NDES: 16 uppercase hex characters, single use, valid
for 60 minutes, and at most 5 outstanding at a time.  Values are stored in
DIR/challenges.json (0600) and never logged.
"""

from __future__ import annotations

import datetime
import hmac
import secrets
from collections.abc import Callable

from tools.scep_ca.errors import ChallengeLimitError
from tools.scep_ca.store import StateStore

CHALLENGE_LIFETIME = datetime.timedelta(minutes=60)
MAX_OUTSTANDING = 5

Clock = Callable[[], datetime.datetime]


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class ChallengeBook:
    """Outstanding challenges of one CA."""

    def __init__(self, store: StateStore, clock: Clock = utc_now) -> None:
        self._store = store
        self._clock = clock

    def _live_entries(self) -> list[dict[str, str]]:
        now = self._clock()
        return [
            entry
            for entry in self._store.read_challenges()
            if datetime.datetime.fromisoformat(entry["expires"]) > now
        ]

    def issue(self) -> tuple[str, datetime.datetime]:
        """Create a challenge, or raise ChallengeLimitError when 5 are outstanding."""
        with self._store.locked():
            entries = self._live_entries()
            if len(entries) >= MAX_OUTSTANDING:
                raise ChallengeLimitError(MAX_OUTSTANDING)
            value = secrets.token_hex(8).upper()
            expires = self._clock() + CHALLENGE_LIFETIME
            entries.append({"value": value, "expires": expires.isoformat()})
            self._store.write_challenges(entries)
        return value, expires

    def outstanding(self) -> int:
        return len(self._live_entries())

    def consume(self, candidate: str) -> bool:
        """Consume `candidate` if it is outstanding, and return whether it was."""
        with self._store.locked():
            entries = self._live_entries()
            for index, entry in enumerate(entries):
                if hmac.compare_digest(entry["value"].encode(), candidate.encode()):
                    del entries[index]
                    self._store.write_challenges(entries)
                    return True
            return False
