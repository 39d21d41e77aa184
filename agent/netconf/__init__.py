"""NETCONF over SSH: framing, hello, sessions, the SSH server and notification delivery."""
