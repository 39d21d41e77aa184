"""RSA key generation for SCEP requests, with only the RSA part of cryptography imported.

OpenSSL generates a key without holding the GIL, so `generate_key_in_background`
lets a caller import the rest of the client and talk to the server meanwhile.
"""

from __future__ import annotations

import signal
import threading
from concurrent.futures import Future

from cryptography.hazmat.primitives.asymmetric import rsa

from agent.scep.algorithms import KEY_SIZES
from agent.scep.errors import InvalidInput


def generate_key(key_size: int = 2048) -> rsa.RSAPrivateKey:
    """Generate an RSA key of 2048, 3072 or 4096 bits."""
    if key_size not in KEY_SIZES:
        raise InvalidInput("key size", str(key_size), "use 2048, 3072 or 4096")
    return rsa.generate_private_key(public_exponent=65537, key_size=key_size)


def generate_key_in_background(key_size: int = 2048) -> Future[rsa.RSAPrivateKey]:
    """Start `generate_key` in a thread and return its future result.

    The thread imports nothing, so it cannot contend for an import lock
    with the caller.  A bad key size raises here, not from the future.
    """
    if key_size not in KEY_SIZES:
        raise InvalidInput("key size", str(key_size), "use 2048, 3072 or 4096")
    future: Future[rsa.RSAPrivateKey] = Future()
    future.set_running_or_notify_cancel()

    def work() -> None:
        # Signals go to the main thread, which handles them and can hold them
        # back while it writes files.
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            future.set_result(generate_key(key_size))
        except BaseException as exc:  # the caller sees it from result()
            future.set_exception(exc)

    threading.Thread(target=work, name="scep-key", daemon=True).start()
    return future
