"""SCEP error types: transport failures, CA rejections, protocol and trust errors.

Callers decide on retries by branch: `TransportError` is retryable,
`CARejected` is a final decision of the CA, `ProtocolError` and `TrustError`
mean the server or its configuration must be fixed first.
"""

from __future__ import annotations

from agent.errors import AgentError


class SCEPError(AgentError):
    """Base class of every SCEP failure."""

    retryable = False


class TransportError(SCEPError):
    """The HTTP exchange failed: status, timeout, refused connection, or a non-CMS body.

    `reason` is operator text that names the host or URL, such as
    "connection refused by 127.0.0.1:9", because the server's status
    message shows it as it is.  `answered` is true when the server sent an
    HTTP reply (an error status, or a body that is too large or not CMS),
    so the server is reachable but its reply is unusable.
    """

    retryable = True

    def __init__(self, operation: str, url: str, reason: str, status: int | None = None,
                 answered: bool | None = None) -> None:
        self.operation = operation
        self.url = url
        self.reason = reason
        self.status = status
        self.answered = status is not None if answered is None else answered
        super().__init__(f"SCEP {operation} failed: {reason}")


def hresult_hex(raw: str) -> str:
    """Return an NDES HRESULT as ``0x80070057``, or `raw` if it is not a 32-bit number.

    NDES sends the HRESULT attribute as a signed decimal, such as
    ``-2147024809``, but Windows documents and admins search for the hex form.
    """
    text = raw.strip()
    try:
        value = int(text, 0)
    except ValueError:
        try:
            value = int(text, 10)
        except ValueError:
            return raw
    if not -(2**31) <= value < 2**32:
        return raw
    return f"0x{value & 0xFFFFFFFF:08X}"


def describe_hresult(raw: str) -> str:
    """Return the hex form of an HRESULT followed by the value as NDES sent it."""
    hexed = hresult_hex(raw)
    return hexed if hexed == raw else f"{hexed} ({raw})"


class CARejected(SCEPError):
    """The CA replied with pkiStatus FAILURE."""

    def __init__(
        self,
        fail_info: str | None,
        hresult: str | None = None,
        text: str | None = None,
        transaction_id: str | None = None,
    ) -> None:
        self.fail_info = fail_info
        self.hresult = hresult
        self.text = text
        self.transaction_id = transaction_id
        parts = [f"failInfo {fail_info or 'absent'}"]
        if hresult is not None:
            parts.append(f"HRESULT {describe_hresult(hresult)}")
        if text:
            parts.append(text)
        super().__init__("CA rejected the request: " + ", ".join(parts))


class ProtocolError(SCEPError):
    """A message is malformed, badly signed, or does not match the request."""

    def __init__(self, problem: str, detail: str = "") -> None:
        self.problem = problem
        self.detail = detail
        message = f"SCEP protocol error: {problem}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class TrustError(SCEPError):
    """The CA certificates from GetCACert cannot be trusted or used."""


class CANotDownloaded(TrustError):
    """The GetCACert reply contains no usable CA certificate."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"no usable CA certificate in the GetCACert reply: {reason}")


class FingerprintMismatch(TrustError):
    """The Root CA certificate does not match the configured fingerprint."""

    def __init__(self, algorithm: str, expected: str, actual: str) -> None:
        self.algorithm = algorithm
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"CA fingerprint mismatch: expected {algorithm} {expected}, "
            f"the server's Root CA has {actual}"
        )


class NoRACertificate(TrustError):
    """No certificate can encrypt requests or verify replies."""

    def __init__(self, role: str) -> None:
        self.role = role
        super().__init__(f"no RA or CA certificate usable for {role} in the GetCACert reply")


class ChainError(TrustError):
    """An RA or intermediate certificate does not chain to the trusted root."""

    def __init__(self, subject: str, reason: str) -> None:
        self.subject = subject
        self.reason = reason
        super().__init__(f"certificate {subject} does not chain to the Root CA: {reason}")


class InvalidInput(SCEPError):
    """A caller-supplied value, such as a DN or a fingerprint, is invalid."""

    def __init__(self, field: str, value: str, reason: str) -> None:
        self.field = field
        self.value = value
        self.reason = reason
        super().__init__(f"invalid {field} {value!r}: {reason}")
