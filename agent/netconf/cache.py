"""Caches of the retrieval path: printed get-config replies and parsed operational state.

A get-config of the whole running configuration prints the same text until a
datastore changes, and a get parses the same state-provider JSON until that
state changes. Both caches keep what they built together with the version
it was built from, and rebuild when the version differs.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from agent.datastore import DatastoreName
from agent.hooks import StateProvider
from agent.schema import DataTree, WithDefaults


class ConfigReplyCache:
    """The <data> bodies of unfiltered get-config replies, for one datastore version.

    Entries are keyed by source datastore and with-defaults mode. A new
    version drops every entry, so at most one version's bodies are kept.
    """

    def __init__(self) -> None:
        self._version: int | None = None
        self._bodies: dict[tuple[DatastoreName, WithDefaults], str] = {}

    def lookup(self, version: int, source: DatastoreName, mode: WithDefaults) -> str | None:
        """Return the stored body, or None when it is missing or from another version."""
        if version != self._version:
            return None
        return self._bodies.get((source, mode))

    def store(self, version: int, source: DatastoreName, mode: WithDefaults, body: str) -> None:
        if version != self._version:
            self._bodies.clear()
            self._version = version
        self._bodies[(source, mode)] = body


@dataclass(frozen=True, slots=True)
class _ParsedState:
    version: Hashable
    tree: DataTree


class StateTreeCache:
    """Trees parsed from the JSON of versioned state providers, one per provider.

    Callers must not change a tree they get from here: they copy it, or
    select from it, before merging it into a reply.
    """

    def __init__(self) -> None:
        self._trees: dict[StateProvider, _ParsedState] = {}

    def lookup(self, provider: StateProvider, version: Hashable) -> DataTree | None:
        """Return the provider's tree if it was parsed at this version."""
        parsed = self._trees.get(provider)
        if parsed is None or parsed.version != version:
            return None
        return parsed.tree

    def store(self, provider: StateProvider, version: Hashable, tree: DataTree) -> None:
        self._trees[provider] = _ParsedState(version, tree)

    def forget(self, provider: StateProvider) -> None:
        """Drop the tree of a provider, for example one that is no longer registered."""
        self._trees.pop(provider, None)

    def providers(self) -> list[StateProvider]:
        return list(self._trees)
