"""SCEP URLs as operators see them, with standard-library modules only."""

from __future__ import annotations

import re

# The scheme and authority of a URL, found by text alone, so that a URL that
# urllib.parse rejects, such as one with an unclosed IPv6 bracket, still
# shows without its user name and password.  The authority ends where the
# path, query or fragment starts, as in urllib.parse.urlsplit.
_AUTHORITY = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?//(?P<authority>[^/?#]*)")


def url_userinfo(url: str) -> str:
    """Return the user name and password of `url`: its authority up to the last "@", or ""."""
    match = _AUTHORITY.match(url)
    if match is None:
        return ""
    return match["authority"].rpartition("@")[0]


def display_url(url: str) -> str:
    """Return `url` without a user name and password, for messages and logs."""
    match = _AUTHORITY.match(url)
    if match is None or "@" not in match["authority"]:
        return url
    host = match["authority"].rpartition("@")[2]
    return url[: match.start("authority")] + host + url[match.end("authority") :]
