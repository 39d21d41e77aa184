"""subjectAltName values as operators type them (``dns:``, ``ip:``, ``email:``, ``uri:``).

Only standard-library modules are imported, so that a command line can check
a value before cryptography is loaded; `agent.scep.csr` builds the
GeneralName from the result.
"""

from __future__ import annotations

import ipaddress
import re
from enum import StrEnum

from agent.scep.errors import InvalidInput


class SANType(StrEnum):
    """The GeneralName types that a typed value can have, named by their prefix."""

    DNS = "dns"
    IP = "ip"
    EMAIL = "email"
    URI = "uri"


DNS_NAME_MAX = 253
"""Maximum length of a DNS name as text without a final dot, in characters.

RFC 1035 §2.3.4 allows 255 octets in the wire form, which adds a length
octet before each label and a zero octet at the end.
"""

# RFC 5280 §4.2.1.6: a dNSName uses the preferred name syntax of RFC 1034 §3.5,
# and RFC 1123 §2.1 allows a leading digit in it. So a label has 1 to 63
# letters, digits and hyphens, and neither starts nor ends with a hyphen.
# A leading "*." is accepted for wildcard certificates.
_DNS_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DNS_NAME = re.compile(rf"(\*\.)?({_DNS_LABEL}\.)*{_DNS_LABEL}")
_DIGITS_AND_DOTS = re.compile(r"[0-9.]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")

_IPV4_FORM = "expected four numbers from 0 to 255, such as 192.0.2.10"
_DNS_FORM = (
    "expected letters, digits and hyphens in labels of 1 to 63 characters separated by "
    "dots, with an optional leading '*.', such as host.example.com; for another type "
    "use the prefix ip:, email: or uri:"
)


def split_san(text: str) -> tuple[SANType, str]:
    """Return the type and value of ``TYPE:VALUE``, or guess the type of a value alone.

    Without a prefix, the value is an IP address if it parses as one, a URI if
    it contains ``://``, an email address if it contains ``@``, else a DNS name.

    Raises:
        InvalidInput: the value is not valid for its type.
    """
    prefix, separator, value = text.partition(":")
    if separator and prefix.lower() in SANType.__members__.values():
        kind = SANType(prefix.lower())
    else:
        kind, value = _guess_type(text), text
    if not value:
        raise InvalidInput("subjectAltName", text, "empty value")
    problem = _PROBLEMS[kind](value)
    if problem is not None:
        raise InvalidInput("subjectAltName", text, problem)
    return kind, value


def _guess_type(text: str) -> SANType:
    try:
        ipaddress.ip_address(text)
        return SANType.IP
    except ValueError:
        pass
    if "://" in text:
        return SANType.URI
    return SANType.EMAIL if "@" in text else SANType.DNS


def _ip_problem(value: str) -> str | None:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        if _DIGITS_AND_DOTS.fullmatch(value):
            return f"not a valid IPv4 address: {_IPV4_FORM}"
        return f"not a valid IP address: {_IPV4_FORM}, or an IPv6 address such as 2001:db8::1"
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        return "a zone index (%) is not allowed in a certificate"
    return None


def _dns_problem(value: str) -> str | None:
    if _DIGITS_AND_DOTS.fullmatch(value):
        # Digits and dots alone are a mistyped IPv4 address, because the
        # top-level label of a host name is alphabetic (RFC 1123 §2.1).
        return f"not a valid IPv4 address: {_IPV4_FORM}"
    if len(value) > DNS_NAME_MAX:
        return f"a DNS name is at most {DNS_NAME_MAX} characters, got {len(value)}"
    if not _DNS_NAME.fullmatch(value):
        return f"not a valid DNS name: {_DNS_FORM}"
    return None


def _email_problem(value: str) -> str | None:
    return None if _EMAIL.fullmatch(value) else "not an email address such as ops@example.com"


def _uri_problem(value: str) -> str | None:
    if _URI.fullmatch(value):
        return None
    return "not a URI with a scheme, such as https://host.example.com/device"


_PROBLEMS = {
    SANType.DNS: _dns_problem,
    SANType.IP: _ip_problem,
    SANType.EMAIL: _email_problem,
    SANType.URI: _uri_problem,
}
