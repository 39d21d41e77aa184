"""Parsed state of versioned state providers: reused while the version stays, rebuilt after."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.hooks import Hooks
from tests.netconf.rpc_harness import NS, PKI_NS, Harness, harness_fixture

ENROLL_STATE = "nc:data/pki:pki/pki:cert/pki:enroll[pki:name='{}']/pki:state/pki:state/text()"


class CountingProvider:
    """A state provider with a version counter that counts how often it is called."""

    def __init__(self) -> None:
        self.calls = 0
        self.counter = 0
        self.states = {"mycert1": "issued", "mycert2": "pending"}

    def __call__(self) -> dict[str, Any]:
        self.calls += 1
        enrollments = [{"name": name, "state": {"state": state}}
                       for name, state in self.states.items()]
        return {"pki-agent:pki": {"daemon": {"status": "running"},
                                  "cert": {"enroll": enrollments}}}

    def version(self) -> int:
        return self.counter

    def change(self, name: str, state: str) -> None:
        self.states[name] = state
        self.counter += 1


def get_state(harness: Harness, name: str, filtered: bool = False) -> list[str]:
    session = harness.open()
    body = "<get/>"
    if filtered:
        body = (f'<get><filter type="subtree"><pki xmlns="{PKI_NS}"><cert><enroll>'
                f"<name>{name}</name></enroll></cert></pki></filter></get>")
    reply = harness.send(session, body)
    harness.end(session)
    return list(reply.xpath(ENROLL_STATE.format(name), namespaces=NS))


def versioned_hooks(provider: CountingProvider) -> Hooks:
    return Hooks(state_providers=[provider], state_versions={provider: provider.version})


def test_same_version_parses_once(tmp_path: Path) -> None:
    provider = CountingProvider()
    for harness in harness_fixture(tmp_path, versioned_hooks(provider)):
        first = get_state(harness, "mycert1")
        second = get_state(harness, "mycert1")

        assert first == ["issued"]
        assert second == ["issued"]
        assert provider.calls == 1


def test_new_version_shows_new_state(tmp_path: Path) -> None:
    provider = CountingProvider()
    for harness in harness_fixture(tmp_path, versioned_hooks(provider)):
        assert get_state(harness, "mycert2") == ["pending"]
        provider.change("mycert2", "issued")

        assert get_state(harness, "mycert2") == ["issued"]
        assert provider.calls == 2


def test_filtered_get_uses_cached_tree(tmp_path: Path) -> None:
    provider = CountingProvider()
    for harness in harness_fixture(tmp_path, versioned_hooks(provider)):
        full = get_state(harness, "mycert1")
        filtered = get_state(harness, "mycert1", filtered=True)
        other = get_state(harness, "mycert2", filtered=True)

        assert full == ["issued"]
        assert filtered == ["issued"]
        assert other == ["pending"]
        assert provider.calls == 1


def test_filtered_get_leaves_cache_whole(tmp_path: Path) -> None:
    provider = CountingProvider()
    for harness in harness_fixture(tmp_path, versioned_hooks(provider)):
        get_state(harness, "mycert1", filtered=True)

        assert get_state(harness, "mycert2") == ["pending"]
        assert get_state(harness, "mycert1") == ["issued"]


def test_unversioned_provider_called_every_get(tmp_path: Path) -> None:
    provider = CountingProvider()
    for harness in harness_fixture(tmp_path, Hooks(state_providers=[provider])):
        get_state(harness, "mycert1")
        provider.states["mycert1"] = "rejected"

        assert get_state(harness, "mycert1") == ["rejected"]
        assert provider.calls == 2


def test_removed_version_forgets_tree(tmp_path: Path) -> None:
    provider = CountingProvider()
    hooks = versioned_hooks(provider)
    for harness in harness_fixture(tmp_path, hooks):
        get_state(harness, "mycert1")
        del hooks.state_versions[provider]
        provider.states["mycert1"] = "rejected"

        assert get_state(harness, "mycert1") == ["rejected"]
        assert harness.processor.services.state_trees.providers() == []


def test_failing_version_leaves_state_out(tmp_path: Path) -> None:
    provider = CountingProvider()

    def broken_version() -> int:
        raise RuntimeError("version store unavailable")

    hooks = Hooks(state_providers=[provider], state_versions={provider: broken_version})
    for harness in harness_fixture(tmp_path, hooks):
        assert get_state(harness, "mycert1") == []
        assert provider.calls == 0


def test_invalid_state_not_cached(tmp_path: Path) -> None:
    provider = CountingProvider()
    provider.states["mycert1"] = "no-such-state"
    for harness in harness_fixture(tmp_path, versioned_hooks(provider)):
        first = get_state(harness, "mycert1")
        second = get_state(harness, "mycert1")

        assert first == []
        assert second == []
        assert provider.calls == 2
