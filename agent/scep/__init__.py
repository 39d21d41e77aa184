"""SCEP client (RFC 8894): message core, HTTP transport and troubleshooting command."""
