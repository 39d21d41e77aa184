"""EnvelopedData for the SCEP pkcsPKIEnvelope (RFC 8894 §3.2.2, RFC 5652 §6).

Content encryption is AES-128/256-CBC, 3DES-CBC, or single DES-CBC, which only
the test CA and legacy servers use.  Key transport is RSA PKCS#1 v1.5 or
RSAES-OAEP.  `open_enveloped_data` also accepts a constructed (BER)
encryptedContent, which asn1crypto 1.5.1 cannot read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from enum import StrEnum

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, algorithms, modes
from cryptography.hazmat.primitives.serialization import Encoding

from agent.scep import ber
from agent.scep.algorithms import ContentCipher
from agent.scep.errors import ProtocolError
from agent.scep.names import subject_text


class KeyTransport(StrEnum):
    """RSA key transport schemes for the content-encryption key."""

    PKCS1V15 = "rsaes-pkcs1-v1_5"
    OAEP = "rsaes-oaep"


# (asn1crypto algorithm name, key length in bytes, block size in bytes)
_CIPHERS: dict[ContentCipher, tuple[str, int, int]] = {
    ContentCipher.AES128_CBC: ("aes128_cbc", 16, 16),
    ContentCipher.AES256_CBC: ("aes256_cbc", 32, 16),
    ContentCipher.TRIPLE_DES_CBC: ("tripledes_3key", 24, 8),
    ContentCipher.DES_CBC: ("des", 8, 8),
}
_CIPHER_BY_NAME = {name: cipher for cipher, (name, _, _) in _CIPHERS.items()}

# rsaesOaep with an empty RSAES-OAEP-params SEQUENCE, which means SHA-1, MGF1-SHA-1
# and an empty label (RFC 8017 §A.2.1), as Windows NDES sends it.
_OAEP_DEFAULT_PARAMETERS = bytes.fromhex("300d06092a864886f70d0101073000")

_OAEP_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def _algorithm(cipher: ContentCipher, key: bytes) -> CipherAlgorithm:
    if cipher is ContentCipher.DES_CBC:
        # cryptography has no DES class; 3DES with K1 = K2 = K3 is single DES.
        return TripleDES(key * 3)
    if cipher is ContentCipher.TRIPLE_DES_CBC:
        return TripleDES(key)
    return algorithms.AES(key)


def _pad(data: bytes, block: int) -> bytes:
    count = block - len(data) % block
    return data + bytes([count]) * count


def _unpad(data: bytes, block: int) -> bytes:
    if not data or len(data) % block:
        raise ProtocolError("cannot decrypt pkcsPKIEnvelope", "ciphertext is not whole blocks")
    count = data[-1]
    if not 1 <= count <= block or data[-count:] != bytes([count]) * count:
        raise ProtocolError("cannot decrypt pkcsPKIEnvelope", "invalid padding")
    return data[:-count]


def _oaep(hash_name: str = "sha1", mgf_hash_name: str = "sha1") -> padding.OAEP:
    try:
        algorithm = _OAEP_HASHES[hash_name]()
        mgf_algorithm = _OAEP_HASHES[mgf_hash_name]()
    except KeyError as exc:
        raise ProtocolError("unsupported RSAES-OAEP hash", str(exc)) from None
    return padding.OAEP(mgf=padding.MGF1(mgf_algorithm), algorithm=algorithm, label=None)


def _recipient_info(
    recipient: x509.Certificate, key: bytes, key_transport: KeyTransport
) -> cms.RecipientInfo:
    public_key = recipient.public_key()
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise ProtocolError("recipient key is not RSA", subject_text(recipient))
    if key_transport is KeyTransport.OAEP:
        encrypted_key = public_key.encrypt(key, _oaep())
        transport_algorithm = cms.KeyEncryptionAlgorithm.load(_OAEP_DEFAULT_PARAMETERS)
    else:
        encrypted_key = public_key.encrypt(key, padding.PKCS1v15())
        transport_algorithm = cms.KeyEncryptionAlgorithm({"algorithm": "rsaes_pkcs1v15"})
    certificate = asn1_x509.Certificate.load(recipient.public_bytes(Encoding.DER))
    issuer_and_serial = cms.IssuerAndSerialNumber(
        {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
    )
    ktri = cms.KeyTransRecipientInfo(
        {
            "version": "v0",
            "rid": cms.RecipientIdentifier({"issuer_and_serial_number": issuer_and_serial}),
            "key_encryption_algorithm": transport_algorithm,
            "encrypted_key": encrypted_key,
        }
    )
    return cms.RecipientInfo({"ktri": ktri})


def build_enveloped_data(
    content: bytes,
    recipient: x509.Certificate,
    cipher: ContentCipher = ContentCipher.AES128_CBC,
    key_transport: KeyTransport = KeyTransport.PKCS1V15,
) -> bytes:
    """Encrypt `content` to `recipient`'s RSA key; return a DER ContentInfo (envelopedData)."""
    name, key_size, block = _CIPHERS[cipher]
    key = os.urandom(key_size)
    iv = os.urandom(block)
    encryptor = Cipher(_algorithm(cipher, key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(_pad(content, block)) + encryptor.finalize()

    enveloped = cms.EnvelopedData(
        {
            "version": "v0",
            "recipient_infos": [_recipient_info(recipient, key, key_transport)],
            "encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": {"algorithm": name, "parameters": iv},
                "encrypted_content": ciphertext,
            },
        }
    )
    return cms.ContentInfo({"content_type": "enveloped_data", "content": enveloped}).dump()


def _decrypt_key(ktri: cms.KeyTransRecipientInfo, private_key: rsa.RSAPrivateKey) -> bytes:
    algorithm = ktri["key_encryption_algorithm"]
    name = algorithm["algorithm"].native
    encrypted_key = ktri["encrypted_key"].native
    if name == "rsaes_pkcs1v15":
        return private_key.decrypt(encrypted_key, padding.PKCS1v15())
    if name == "rsaes_oaep":
        params = algorithm["parameters"]
        if isinstance(params, core.Void):
            return private_key.decrypt(encrypted_key, _oaep())
        hash_name = params["hash_algorithm"]["algorithm"].native
        mgf_hash_name = params["mask_gen_algorithm"]["parameters"]["algorithm"].native
        return private_key.decrypt(encrypted_key, _oaep(hash_name, mgf_hash_name))
    raise ProtocolError("unsupported key transport algorithm", str(name))


def _addressed_to(ktri: cms.KeyTransRecipientInfo, certificate: x509.Certificate) -> bool:
    rid = ktri["rid"]
    if rid.name != "issuer_and_serial_number":
        return False
    asn1_cert = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
    return bool(
        rid.chosen["serial_number"].native == asn1_cert.serial_number
        and rid.chosen["issuer"] == asn1_cert.issuer
    )


def _recipient_infos(
    enveloped: cms.EnvelopedData, certificate: x509.Certificate | None
) -> Sequence[cms.KeyTransRecipientInfo]:
    ktris = [info.chosen for info in enveloped["recipient_infos"] if info.name == "ktri"]
    if not ktris:
        raise ProtocolError("no key transport recipient in pkcsPKIEnvelope")
    if certificate is None:
        return ktris
    addressed = [ktri for ktri in ktris if _addressed_to(ktri, certificate)]
    # A reply addressed to another identifier is still tried with our key.
    return addressed or ktris


def _encrypted_content(enveloped: cms.EnvelopedData) -> tuple[str, bytes, bytes]:
    """Return (algorithm name, IV, ciphertext), reading a constructed encryptedContent too."""
    info_bytes = enveloped["encrypted_content_info"].dump()
    elements = ber.children(ber.read_tlv(info_bytes).content)
    if len(elements) < 3 or elements[2].tag_class != 2 or elements[2].tag_number != 0:
        raise ProtocolError("pkcsPKIEnvelope has no encryptedContent")
    ciphertext = ber.string_value(elements[2])
    algorithm = cms.EncryptionAlgorithm.load(
        elements[1].identifier + ber.der_length(len(elements[1].content)) + elements[1].content
    )
    name = algorithm["algorithm"].native
    iv = algorithm["parameters"].native
    if not isinstance(iv, bytes):
        raise ProtocolError("content encryption IV missing", str(name))
    return name, iv, ciphertext


def open_enveloped_data(
    data: bytes,
    private_key: rsa.RSAPrivateKey,
    certificate: x509.Certificate | None = None,
) -> bytes:
    """Decrypt an EnvelopedData ContentInfo (BER or DER) with our key; raise ProtocolError."""
    info = ber.load_content_info(data, "enveloped_data", parse_all=False)
    try:
        enveloped = info["content"]
        name, iv, ciphertext = _encrypted_content(enveloped)
        ktris = _recipient_infos(enveloped, certificate)
    except (ValueError, TypeError, KeyError) as exc:
        raise ProtocolError("malformed pkcsPKIEnvelope", str(exc)) from exc
    cipher = _CIPHER_BY_NAME.get(name)
    if cipher is None:
        raise ProtocolError("unsupported content encryption", str(name))
    _, key_size, block = _CIPHERS[cipher]
    for ktri in ktris:
        try:
            key = _decrypt_key(ktri, private_key)
        except ValueError:
            continue
        if len(key) != key_size or len(iv) != block:
            raise ProtocolError("cannot decrypt pkcsPKIEnvelope", "wrong key or IV length")
        decryptor = Cipher(_algorithm(cipher, key), modes.CBC(iv)).decryptor()
        try:
            plaintext = decryptor.update(ciphertext) + decryptor.finalize()
        except ValueError as exc:
            raise ProtocolError("cannot decrypt pkcsPKIEnvelope", str(exc)) from exc
        return _unpad(plaintext, block)
    raise ProtocolError("cannot decrypt pkcsPKIEnvelope", "no recipient key matches ours")
