"""pki-agent: a NETCONF/YANG agent that enrolls and renews certificates over SCEP."""

__version__ = "0.1.0"
