"""SCEP test CA (RFC 8894 server) with openxpki, ndes and plain personalities.

Run `python -m tools.scep_ca --help`.  It listens on 127.0.0.1 only.
"""
