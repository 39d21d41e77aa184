"""The root of the agent's exception hierarchy, with one branch per subsystem."""


class AgentError(Exception):
    """Base class of every error the agent raises on purpose."""


class SettingsError(AgentError):
    """A start-up setting is invalid."""
