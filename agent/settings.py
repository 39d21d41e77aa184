"""Start-up settings of the agent, from the command line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.errors import SettingsError

DEFAULT_PORT = 830
"""RFC 6242 §3: the IANA port for NETCONF over SSH."""
DEFAULT_LISTEN = "127.0.0.1"
DEFAULT_USER = "admin"
DEFAULT_MAX_SESSIONS = 10
DEFAULT_HELLO_TIMEOUT = 60.0
DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024
DEFAULT_LOGIN_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Settings:
    """Start-up settings of `pki-agent serve`; its ``--help`` gives the units."""

    state_dir: Path
    listen: str = DEFAULT_LISTEN
    port: int = DEFAULT_PORT
    authorized_keys: Path | None = None
    user: str = DEFAULT_USER
    password_file: Path | None = None
    max_sessions: int = DEFAULT_MAX_SESSIONS
    hello_timeout: float = DEFAULT_HELLO_TIMEOUT
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    login_timeout: float = DEFAULT_LOGIN_TIMEOUT
    daemon: bool = True
    """Run the enrollment daemon; without it the state shows the daemon as not running."""

    def __post_init__(self) -> None:
        checks = [
            (0 <= self.port <= 65535, f"port must be 0-65535, got {self.port}"),
            (self.max_sessions >= 1, f"max sessions must be at least 1, got {self.max_sessions}"),
            (self.hello_timeout > 0, f"hello timeout must be positive, got {self.hello_timeout}"),
            (self.login_timeout > 0, f"login timeout must be positive, got {self.login_timeout}"),
            (
                self.max_message_size >= 1024,
                f"max message size must be at least 1024 bytes, got {self.max_message_size}",
            ),
            (bool(self.user), "user must not be empty"),
        ]
        for passed, message in checks:
            if not passed:
                raise SettingsError(message)

    @property
    def authorized_keys_path(self) -> Path:
        """The authorized_keys file; ``STATE/authorized_keys`` unless one is given."""
        return self.authorized_keys or self.state_dir / "authorized_keys"
