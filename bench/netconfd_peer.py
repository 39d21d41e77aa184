"""Run Debian's netconfd (Yuma123) behind a private OpenSSH server on 127.0.0.1.

The system sshd is never used.  This sshd has its own configuration, host key
and authorized_keys in a temporary directory, accepts only public-key logins,
and runs ``netconf-subsystem``, which relays the session to netconfd's Unix
socket.  netconfd runs with ``--superuser`` because its NACM default denies
writes, and with ``--target=candidate`` to get a candidate datastore.
"""

from __future__ import annotations

import getpass
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.netconf_client import ClientTarget
from bench.processes import (
    LOOPBACK,
    ProcessGroup,
    free_port,
    ssh_keygen,
    wait_for_path,
    wait_for_port,
)

log = logging.getLogger(__name__)

SSHD = "/usr/sbin/sshd"
NETCONFD = "/usr/sbin/netconfd"
NETCONF_SUBSYSTEM = "/usr/sbin/netconf-subsystem"
SSHD_PRIVSEP_DIR = Path("/run/sshd")


@dataclass(frozen=True, slots=True)
class NetconfdPeer:
    """A running netconfd and its sshd."""

    target: ClientTarget
    netconfd: subprocess.Popen[bytes]
    sshd: subprocess.Popen[bytes]
    workdir: Path


def _sshd_config(workdir: Path, port: int, socket_path: Path) -> str:
    return "\n".join(
        [
            f"ListenAddress {LOOPBACK}:{port}",
            f"HostKey {workdir / 'ssh_host_ed25519_key'}",
            f"PidFile {workdir / 'sshd.pid'}",
            f"AuthorizedKeysFile {workdir / 'authorized_keys'}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "UsePAM no",
            # The temporary directory is not the user's home, so skip the
            # ownership checks that StrictModes makes on ~/.ssh.
            "StrictModes no",
            "LogLevel ERROR",
            f"Subsystem netconf {NETCONF_SUBSYSTEM} --ncxserver-sockname={port}@{socket_path}",
            "",
        ]
    )


def _make_keys(workdir: Path) -> Path:
    """Create the host key and the client key; authorize the client key."""
    ssh_keygen(workdir / "ssh_host_ed25519_key")
    client_key = ssh_keygen(workdir / "client_key")
    (workdir / "authorized_keys").write_text((workdir / "client_key.pub").read_text())
    return client_key


def start_netconfd(group: ProcessGroup, workdir: Path, module: Path) -> NetconfdPeer:
    """Start netconfd with ``module`` and an sshd in front of it; return how to reach them."""
    workdir.mkdir(parents=True, exist_ok=True)
    client_key = _make_keys(workdir)
    socket_path = workdir / "ncxserver.sock"
    user = getpass.getuser()
    port = free_port()

    # netconfd saves running to $HOME/.yuma/startup-cfg.xml on every commit when
    # --with-startup is off, so HOME points into the temporary directory.
    env = dict(os.environ, HOME=str(workdir))
    netconfd = group.start(
        "netconfd",
        [
            NETCONFD,
            f"--module={module.resolve()}",
            "--no-startup",
            f"--superuser={user}",
            "--target=candidate",
            # netconfd accepts a session only on a port given with --port, and
            # netconf-subsystem reports the sshd port.
            f"--port={port}",
            f"--ncxserver-sockname={socket_path}",
            "--log-level=debug",
            f"--log={workdir / 'netconfd.log'}",
        ],
        workdir / "netconfd.out",
        env=env,
        cwd=workdir,
    )
    wait_for_path(socket_path, netconfd)

    config = workdir / "sshd_config"
    config.write_text(_sshd_config(workdir, port, socket_path))
    SSHD_PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    sshd = group.start("sshd", [SSHD, "-D", "-e", "-f", str(config)], workdir / "sshd.log")
    wait_for_port(port, sshd)
    target = ClientTarget(LOOPBACK, port, user, client_key=str(client_key))
    return NetconfdPeer(target, netconfd, sshd, workdir)
