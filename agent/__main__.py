"""Allow ``python -m agent``, the same as the ``pki-agent`` command."""

from agent.cli import console

console()
