"""Run the agent with a state provider that serves recorded enrollment state.

The scale benchmark needs the state of up to 1,000 issued certificates.
Enrolling them for real would measure the CA and RSA key generation, not the
NETCONF get path, so this launcher builds the same application as
``pki-agent serve`` and registers one more state provider in the process.
The provider returns state shaped like the daemon's (see
``bench.workload.recorded_state``), for as many enrollments as the running
configuration holds.

Usage: ``python -m bench.agent_with_state --state-dir D --listen 127.0.0.1
--port P --authorized-keys K --user U``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import signal
from pathlib import Path

from agent import app as agent_app
from agent.hooks import JSONData
from agent.settings import Settings
from bench.agent_peer import PROFILE_ENV
from bench.workload import recorded_state

log = logging.getLogger(__name__)


class RecordedStateProvider:
    """State provider that follows the number of enrollments in running."""

    def __init__(self) -> None:
        self.state: JSONData = recorded_state(0)

    def on_commit(self, old: JSONData, new: JSONData) -> None:
        """Rebuild the recorded state for the enrollments of the new running config."""
        enrollments = new.get("pki-agent:pki", {}).get("cert", {}).get("enroll", [])
        self.state = recorded_state(len(enrollments))

    def __call__(self) -> JSONData:
        return self.state


def parse_settings(argv: list[str] | None = None) -> Settings:
    """Parse the subset of ``pki-agent serve`` options that the benchmarks pass."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--authorized-keys", type=Path, required=True)
    parser.add_argument("--user", required=True)
    options = parser.parse_args(argv)
    return Settings(
        state_dir=options.state_dir,
        listen=options.listen,
        port=options.port,
        authorized_keys=options.authorized_keys,
        user=options.user,
    )


async def serve(settings: Settings) -> None:
    """Serve like ``agent.app.run``, with the recorded state provider attached."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    app = agent_app.build_app(settings)
    agent_app.attach_backends(app)
    provider = RecordedStateProvider()
    app.hooks.commit_subscribers.append(provider.on_commit)
    app.hooks.state_providers.append(provider)
    await app.server.start()
    try:
        await stop.wait()
    finally:
        await app.server.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the launcher until SIGTERM or SIGINT.

    With ``PKI_AGENT_BENCH_PROFILE=FILE`` in the environment the whole run,
    after the imports, goes under cProfile and the statistics go to FILE.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    settings = parse_settings(argv)
    profile_path = os.environ.get(PROFILE_ENV)
    if not profile_path:
        asyncio.run(serve(settings))
        return
    profiler = cProfile.Profile()
    try:
        profiler.runcall(asyncio.run, serve(settings))
    finally:
        profiler.dump_stats(profile_path)


if __name__ == "__main__":
    main()
