"""pki-cli: the operator CLI of pki-agent, a NETCONF client with the device's show views."""

from tools.pki_cli.main import main

__all__ = ["main"]
