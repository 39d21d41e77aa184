"""State of a pending confirmed commit (RFC 6241 §8.4, :confirmed-commit:1.1)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from agent.datastore.errors import InvalidValueError, OperationFailedError
from agent.schema import DataTree

DEFAULT_CONFIRM_TIMEOUT = 600
"""RFC 6241 §8.4.5.1: confirm-timeout defaults to 600 seconds."""


@dataclass(slots=True)
class PendingCommit:
    """A confirmed commit waiting for its confirming commit or cancel-commit."""

    session_id: int
    persist: str | None
    rollback: DataTree
    timer: asyncio.TimerHandle | None = None

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def check_caller(self, session_id: int, persist_id: str | None) -> None:
        """Reject a confirming commit or cancel-commit from the wrong party.

        RFC 6241 §8.4.5.1: with persist, any session that presents the same
        persist-id may confirm; without it, only the session that issued the
        confirmed commit may.
        """
        if self.persist is not None:
            if persist_id != self.persist:
                raise InvalidValueError(
                    "persist-id does not match the persist value of the pending confirmed commit")
            return
        if persist_id is not None:
            raise InvalidValueError(
                "persist-id given, but the pending confirmed commit was made without persist")
        if session_id != self.session_id:
            raise OperationFailedError(
                f"a confirmed commit of session {self.session_id} is pending; "
                "only that session can confirm or cancel it")
