"""SCEP URLs as operators see them, with standard-library modules only."""

from __future__ import annotations

import re

# The scheme and authority of a URL, found by text alone, so that a URL that
# urllib.parse rejects, such as one with an unclosed IPv6 bracket, still
# shows without its user name and password.  The authority ends where the
# path, query or fragment starts, as in urllib.parse.urlsplit.
_AUTHORITY = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.-]*:)?//(?P<authority>[^/?#]*)")


# The characters that urllib.parse.urlsplit removes before it parses:
# leading C0 control characters and spaces, and tabs and line breaks anywhere.
_LEADING_JUNK = "".join(chr(code) for code in range(0x21))
_REMOVED = str.maketrans("", "", "\t\r\n")


def _as_parsed(url: str) -> str:
    return url.lstrip(_LEADING_JUNK).translate(_REMOVED)


def url_userinfo(url: str) -> str:
    """Return the user name and password of `url`, its authority up to the last "@", or ""."""
    match = _AUTHORITY.match(_as_parsed(url))
    if match is None:
        return ""
    return match["authority"].rpartition("@")[0]


def display_url(url: str) -> str:
    """Return `url` without a user name and password, for messages and logs.

    The result also lacks what urlsplit ignores: leading spaces and control
    characters, and tabs and line breaks anywhere.
    """
    url = _as_parsed(url)
    match = _AUTHORITY.match(url)
    if match is None or "@" not in match["authority"]:
        return url
    host = match["authority"].rpartition("@")[2]
    return url[: match.start("authority")] + host + url[match.end("authority") :]


def redact_userinfo(text: str, url: str) -> str:
    """Remove the user name and password of `url` from `text`, which may quote the URL."""
    userinfo = url_userinfo(url)
    if not userinfo:
        return text
    # The text may quote the URL as given, with characters that urlsplit ignores.
    return text.replace(url, display_url(url)).replace(f"{userinfo}@", "")
