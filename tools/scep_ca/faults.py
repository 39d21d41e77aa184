"""Faults the test CA can inject into its replies, set by flags or the admin endpoint."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from tools.scep_ca.errors import InvalidSettingError


class ReplyFault(StrEnum):
    """Kind of deliberate damage to a reply."""

    NONE = "none"
    HTTP_500 = "http-500"
    """HTTP 500 with a text body."""
    EMPTY_BODY = "empty-body"
    """HTTP 200 with no body."""
    NON_CMS_BODY = "non-cms-body"
    """HTTP 200 with a body that is not CMS."""
    DROP_CONNECTION = "drop-connection"
    """Close the connection without a reply."""
    WRONG_RECIPIENT_NONCE = "wrong-recipient-nonce"
    WRONG_TRANSACTION_ID = "wrong-transaction-id"
    UNSIGNED = "unsigned"
    """CertRep as a SignedData without SignerInfo."""
    FOREIGN_SIGNER = "foreign-signer"
    """CertRep signed by a key that is not in the GetCACert reply."""
    NO_CERTIFICATES = "no-certificates"
    """CertRep SUCCESS whose degenerate SignedData carries no certificate."""


# Faults that need a CMS reply to break; the others replace the HTTP reply.
CMS_FAULTS = frozenset(
    {
        ReplyFault.WRONG_RECIPIENT_NONCE,
        ReplyFault.WRONG_TRANSACTION_ID,
        ReplyFault.UNSIGNED,
        ReplyFault.FOREIGN_SIGNER,
        ReplyFault.NO_CERTIFICATES,
    }
)


DEFAULT_HTTP_TEXT = "Internal Server Error: fault injected by the SCEP test CA"


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """The active faults; persisted in DIR/faults.json so the admin command can set them."""

    reply: ReplyFault = ReplyFault.NONE
    delay: float = 0.0
    """Seconds to wait before each affected reply."""
    count: int | None = None
    """How many more replies get the reply fault; None means every reply."""
    operations: tuple[str, ...] = ("PKIOperation",)
    """SCEP operations the reply fault and the delay apply to."""
    cert_lifetime: int | None = None
    """Lifetime of issued end-entity certificates in seconds; None keeps the default."""
    http_text: str = DEFAULT_HTTP_TEXT

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["reply"] = self.reply.value
        data["operations"] = list(self.operations)
        return data

    def applies_to(self, operation: str) -> bool:
        return operation in self.operations

    def after_use(self) -> FaultSettings:
        """Return the settings after one reply used the reply fault."""
        if self.count is None:
            return self
        remaining = self.count - 1
        if remaining <= 0:
            return FaultSettings(
                delay=self.delay, operations=self.operations, cert_lifetime=self.cert_lifetime
            )
        return _replace(self, count=remaining)


def _replace(settings: FaultSettings, **changes: Any) -> FaultSettings:
    data = settings.to_json()
    data.update(changes)
    return parse_faults(data)


_KNOWN_KEYS = {"reply", "delay", "count", "operations", "cert_lifetime", "http_text"}


def parse_faults(data: dict[str, Any]) -> FaultSettings:
    """Validate fault settings from JSON; raise InvalidSettingError on a bad value."""
    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise InvalidSettingError("fault setting", sorted(unknown), f"one of {sorted(_KNOWN_KEYS)}")
    try:
        reply = ReplyFault(data.get("reply", "none"))
    except ValueError:
        choices = ", ".join(fault.value for fault in ReplyFault)
        raise InvalidSettingError("reply fault", data.get("reply"), choices) from None
    delay = _number(data, "delay", 0.0)
    count = data.get("count")
    if count is not None and (not isinstance(count, int) or count < 1):
        raise InvalidSettingError("count", count, "a positive integer or null")
    lifetime = data.get("cert_lifetime")
    if lifetime is not None:
        lifetime = parse_duration(str(lifetime), "cert_lifetime")
    operations = data.get("operations", ["PKIOperation"])
    if not isinstance(operations, list | tuple) or not all(isinstance(o, str) for o in operations):
        raise InvalidSettingError("operations", operations, "a list of SCEP operation names")
    if reply in CMS_FAULTS and "PKIOperation" not in operations:
        expected = f"a list with PKIOperation, the only reply that {reply.value} can break"
        raise InvalidSettingError("operations", operations, expected)
    http_text = data.get("http_text", DEFAULT_HTTP_TEXT)
    return FaultSettings(
        reply, delay, count, tuple(operations), lifetime, str(http_text)
    )


def _number(data: dict[str, Any], key: str, default: float) -> float:
    value = data.get(key, default)
    if not isinstance(value, int | float) or value < 0:
        raise InvalidSettingError(key, value, "a number of seconds, 0 or more")
    return float(value)


_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, name: str) -> int:
    """Parse "90", "90s", "5m", "2h" or "60d" into seconds."""
    match = _DURATION.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise InvalidSettingError(name, text, "a positive duration such as 90s, 5m, 2h or 60d")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
