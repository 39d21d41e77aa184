"""Run the agent with a state provider that serves recorded enrollment state.

The scale benchmark needs the state of up to 1,000 issued certificates.
Enrolling them for real would measure the CA and RSA key generation, not the
NETCONF get path, so this launcher builds the same application as
``pki-agent serve`` and registers one more state provider in the process.
The provider returns state shaped like the daemon's (see
``bench.workload.recorded_state``), for as many enrollments as the running
configuration contains.  The daemon itself is off, so its own state provider
does not add a second copy of the same state to every get.

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
        self.count = 0
        self.state: JSONData = recorded_state(0)

    def on_commit(self, old: JSONData, new: JSONData) -> None:
        """Rebuild the recorded state when the number of enrollments in running changes.

        Commit subscribers must return quickly, and building the state for
        1,000 enrollments takes tens of milliseconds, so it is built only
        when the count changes.
        """
        count = len(new.get("pki-agent:pki", {}).get("cert", {}).get("enroll", []))
        if count != self.count:
            self.count = count
            self.state = recorded_state(count)

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
        daemon=False,
    )


async def serve(settings: Settings, profile_path: str | None = None) -> None:
    """Serve like ``agent.app.run``, with the recorded state provider attached.

    With ``profile_path``, SIGUSR1 starts cProfile and SIGUSR2 stops it and
    writes the statistics to that file, so a profile covers only the calls
    that the benchmark sends in between.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if profile_path:
        profiler = cProfile.Profile()
        loop.add_signal_handler(signal.SIGUSR1, profiler.enable)
        loop.add_signal_handler(signal.SIGUSR2, _stop_profiler, profiler, profile_path)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    app = agent_app.build_app(settings)
    agent_app.attach_backends(app)  # a no-op with daemon=False, kept in step with agent.app.run
    provider = RecordedStateProvider()
    app.hooks.commit_subscribers.append(provider.on_commit)
    app.hooks.state_providers.append(provider)
    await app.server.start()
    try:
        await stop.wait()
    finally:
        await app.server.stop()


def _stop_profiler(profiler: cProfile.Profile, path: str) -> None:
    profiler.disable()
    temporary = f"{path}.tmp"
    profiler.dump_stats(temporary)
    os.replace(temporary, path)  # the benchmark waits for the file to appear whole


def main(argv: list[str] | None = None) -> None:
    """Run the launcher until SIGTERM or SIGINT.

    ``PKI_AGENT_BENCH_PROFILE=FILE`` in the environment turns on the profiling
    signals of `serve`.
    """
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(serve(parse_settings(argv), os.environ.get(PROFILE_ENV)))


if __name__ == "__main__":
    main()
