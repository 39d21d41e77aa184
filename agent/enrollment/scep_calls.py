"""The daemon's calls into the SCEP client, gathered in one place.

Every function here blocks on the network or on key generation, so the daemon
calls them only from worker threads.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from agent.enrollment.config import EnrollConfig
from agent.enrollment.outcomes import ServerContext
from agent.scep import client as scep_client
from agent.scep import csr as scep_csr
from agent.scep import keys as scep_keys
from agent.scep.algorithms import ContentCipher


def new_client(url: str) -> Any:
    """Return a SCEP client for one server URL with the default timeouts."""
    return scep_client.SCEPClient(url)


def generate_key(key_size: int) -> rsa.RSAPrivateKey:
    """Generate the RSA key of a new request."""
    return scep_keys.generate_key(key_size)


def get_capabilities(client: Any) -> Any:
    """Return the server's GetCACaps reply; the client treats a failure as no caps."""
    return client.get_ca_caps()


def capability_names(capabilities: Any) -> tuple[str, ...]:
    """Return the capabilities as the server spells them."""
    return tuple(capabilities.names)


def get_trusted_ca(client: Any, fingerprint: str, algorithm: str) -> Any:
    """Download the CA certificates and check them against the configured fingerprint."""
    return client.get_ca_cert().verify(fingerprint, algorithm)


def transaction_id(key: rsa.RSAPrivateKey) -> str:
    """Return the transactionID that the request for `key` carries."""
    return scep_csr.transaction_id_for(key.public_key())


def send_request(client: Any, context: ServerContext, config: EnrollConfig,
                 key: rsa.RSAPrivateKey,
                 current: tuple[x509.Certificate, rsa.RSAPrivateKey] | None) -> Any:
    """Send a PKCSReq, or a renewal when `current` is the certificate and key to renew."""
    cipher = ContentCipher(context.config.cipher)
    if current is None:
        request = scep_client.prepare_enrollment(key, config.dn, _sans(config), config.password,
                                                 config.profile, cipher)
        return client.enroll(context.trusted_ca, context.capabilities, request)
    certificate, current_key = current
    csr = scep_csr.build_csr(key, config.dn, _sans(config), config.password, config.profile)
    return scep_client.renew(client, context.trusted_ca, context.capabilities, key, csr,
                             certificate, current_key, context.config.renew_request, cipher)


def poll(client: Any, context: ServerContext, pending: Any) -> Any:
    """Send a CertPoll for a stored pending transaction."""
    return client.poll(context.trusted_ca, context.capabilities, pending)


def load_pending(data: dict[str, Any]) -> Any:
    """Rebuild a pending transaction from the store; raise ProtocolError if it is invalid."""
    return scep_client.PendingTransaction.from_json(json.dumps(data))


def pending_transaction_id(pending: Any) -> str:
    """Return the transactionID of a pending transaction."""
    return str(pending.transaction_id)


def issued_certificate(reply: Any) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]] | None:
    """Return the certificate and chain of an Issued result, or None when it is Pending."""
    if isinstance(reply, scep_client.Issued):
        return reply.certificate, tuple(reply.chain)
    return None


def pending_to_json(reply: Any) -> dict[str, Any]:
    """Return a Pending result's transaction as a JSON object for the store."""
    value = json.loads(reply.transaction.to_json())
    assert isinstance(value, dict)
    return value


def _sans(config: EnrollConfig) -> tuple[str | x509.GeneralName, ...]:
    san = config.san
    names: list[x509.GeneralName] = [
        *(x509.IPAddress(ipaddress.ip_address(value)) for value in san.ip_address),
        *(x509.DNSName(value) for value in san.dns_name),
        *(x509.RFC822Name(value) for value in san.email),
        *(x509.UniformResourceIdentifier(value) for value in san.uri),
    ]
    return tuple(names)
