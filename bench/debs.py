"""Install the Debian packages that the benchmark peers need.

Installing openssh-server normally starts the system sshd on port 22.  The
benchmark must start nothing but its own private servers, so services are
forbidden with ``/usr/sbin/policy-rc.d`` (exit status 101, "action not
allowed", as invoke-rc.d documents) while apt-get runs.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

POLICY_RC_D = Path("/usr/sbin/policy-rc.d")
POLICY_DENY_ALL = (
    "#!/bin/sh\n# Written by pki-agent bench/run while it installs packages.\nexit 101\n"
)

BENCH_DEBS = ("netconfd", "openssh-server", "scep", "socat", "iproute2")


def missing_packages(names: Sequence[str]) -> list[str]:
    """Return the packages of ``names`` that dpkg does not list as installed."""
    missing = []
    for name in names:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", name],
            capture_output=True,
            text=True,
            check=False,
        )
        if "install ok installed" not in result.stdout:
            missing.append(name)
    return missing


@contextmanager
def services_forbidden(policy: Path = POLICY_RC_D) -> Iterator[None]:
    """Forbid service starts during package installs; restore the old state after.

    An existing policy file belongs to the image, so it is kept as it is.
    """
    created = False
    if not policy.exists():
        policy.write_text(POLICY_DENY_ALL)
        policy.chmod(0o755)
        created = True
        log.info("created %s to keep apt-get from starting services", policy)
    try:
        yield
    finally:
        if created:
            policy.unlink(missing_ok=True)
            log.info("removed %s", policy)


def install_packages(names: Sequence[str] = BENCH_DEBS) -> list[str]:
    """Install the missing Debian packages of ``names``; return those installed."""
    missing = missing_packages(names)
    if not missing:
        return []
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with services_forbidden():
        log.info("installing Debian packages: %s", " ".join(missing))
        update = subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        if update.returncode != 0:
            log.warning("apt-get update failed: %s", update.stderr.decode(errors="replace"))
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return missing
