"""The enrollment daemon: server checks, enrollment state machine, polling and renewal."""

from agent.enrollment.config import ConfigError, DaemonConfig, parse_config
from agent.enrollment.daemon import EnrollmentDaemon
from agent.enrollment.rpc import EnrollmentRPCError
from agent.enrollment.timing import Clock, SystemClock

__all__ = [
    "Clock",
    "ConfigError",
    "DaemonConfig",
    "EnrollmentDaemon",
    "EnrollmentRPCError",
    "SystemClock",
    "parse_config",
]
