"""Errors of the SCEP test CA, one branch of the agent's error hierarchy."""

from __future__ import annotations

from agent.errors import AgentError


class SCEPCAError(AgentError):
    """Base class of the test CA's errors."""


class StateError(SCEPCAError):
    """The state directory is missing, unreadable or belongs to another personality."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"state directory {path}: {reason}")


class RequestNotFoundError(SCEPCAError):
    """No request with this transactionID is known."""

    def __init__(self, transaction_id: str) -> None:
        self.transaction_id = transaction_id
        super().__init__(f"no request with transactionID {transaction_id!r}")


class RequestStateError(SCEPCAError):
    """The operation needs a pending request, but the request has another status."""

    def __init__(self, transaction_id: str, status: str) -> None:
        self.transaction_id = transaction_id
        self.status = status
        super().__init__(f"request {transaction_id!r} is {status}, not pending")


class AmbiguousRequestError(SCEPCAError):
    """No transactionID was given, and there is not exactly one pending request."""

    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(
            f"{count} requests are pending; give the transactionID of the one to decide"
        )


class ChallengeLimitError(SCEPCAError):
    """The maximum number of challenges (5, as in NDES) is outstanding."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"the password cache is full: {limit} challenges are outstanding; "
            "use one of them or wait until one expires"
        )


class InvalidSettingError(SCEPCAError):
    """A command-line flag or admin setting has an invalid value."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name = name
        self.value = value
        super().__init__(f"invalid {name} {value!r}: expected {expected}")
