"""release_soon: a tree handed to it lives until the event loop's next iteration."""

from __future__ import annotations

import asyncio
import gc
import weakref

from agent.schema import DataTree, Schema, release_soon

CONFIG = ('<pki xmlns="urn:pki-agent:yang:pki-agent"><enroll-server><id>1</id>'
          "<label>ca</label></enroll-server></pki>")


def test_tree_kept_until_next_iteration() -> None:
    schema = Schema.load()

    async def run() -> tuple[bool, bool]:
        tree = schema.parse_xml(CONFIG)
        reference = weakref.ref(tree)
        release_soon(tree)
        del tree
        gc.collect()
        alive_now = reference() is not None
        await asyncio.sleep(0)
        return alive_now, reference() is not None

    alive_now, alive_later = asyncio.run(run())

    assert alive_now
    assert not alive_later


def test_tree_dropped_without_loop() -> None:
    reference = released_reference(Schema.load())

    assert reference() is None


def released_reference(schema: Schema) -> weakref.ref[DataTree]:
    """Release a new tree outside any event loop and return a weak reference to it."""
    tree = schema.parse_xml(CONFIG)
    release_soon(tree)
    return weakref.ref(tree)


def test_released_tree_still_readable() -> None:
    schema = Schema.load()

    async def run() -> str:
        tree = schema.parse_xml(CONFIG)
        release_soon(tree)
        return tree.print_xml()

    assert "<label>ca</label>" in asyncio.run(run())
