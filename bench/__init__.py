"""Benchmarks of the agent against Debian's netconfd and micromdm's scepclient.

``bench/run`` runs every benchmark and writes ``docs/benchmarks.md``.
"""
