"""Access to certificate names without cryptography's warning on malformed countries.

cryptography warns when it parses a countryName that is not two letters, such
as the ``C=USA`` of micromdm's published test CA.  Servers send such names, so
every name of a certificate from a server is read through these functions.
"""

from __future__ import annotations

import warnings

from cryptography import x509


def subject_of(certificate: x509.Certificate) -> x509.Name:
    """Return the certificate's subject."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return certificate.subject


def issuer_of(certificate: x509.Certificate) -> x509.Name:
    """Return the certificate's issuer."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return certificate.issuer


def name_text(name: x509.Name) -> str:
    """Render a name as RFC 4514 text."""
    return name.rfc4514_string()


def subject_text(certificate: x509.Certificate) -> str:
    """Render the certificate's subject as RFC 4514 text."""
    return name_text(subject_of(certificate))


def issuer_text(certificate: x509.Certificate) -> str:
    """Render the certificate's issuer as RFC 4514 text."""
    return name_text(issuer_of(certificate))
