"""get and get-config: running and candidate merged with operational state, filtered and printed."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Hashable
from typing import TypeVar

from agent.datastore import DatastoreName, default_state
from agent.hooks import JSONData, StateProvider
from agent.netconf.filters import DataFilter, invalid_filter, parse_data_filter
from agent.netconf.monitoring import netconf_state
from agent.netconf.request import Request, datastore_of, with_defaults_of
from agent.schema import DataInvalidError, DataTree, release_soon
from agent.schema.filters import InvalidXPathError, prune_json, select

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Beyond this many selections, cutting the JSON once per selection costs
# more than parsing it whole.
_MAX_CUT_XPATHS = 8

# RFC 8341 nacm:default-deny-all nodes: never sent to a client.
_DENIED_PATHS = ("/pki-agent:pki/cert/enroll/password",)


# Per live datastore tree: (datastores version, copy without denied nodes).
_READABLE: weakref.WeakKeyDictionary[DataTree, tuple[int, DataTree]] = \
    weakref.WeakKeyDictionary()


def _pick(tree: DataTree, data_filter: DataFilter | None) -> DataTree:
    if data_filter is None:
        return tree.copy()
    try:
        return select(tree, list(data_filter.xpaths))
    except InvalidXPathError as exc:
        raise invalid_filter(exc.reason) from None


def _readable(request: Request, name: DatastoreName) -> DataTree:
    """Return a datastore without its default-deny-all nodes, for filters to run on.

    The nodes are removed before any filter runs, so that no predicate,
    content-match node or string-value can test a challenge password. The
    copy is kept until the datastores' version changes, which keeps a
    filtered get as cheap as a lookup.
    """
    datastores = request.services.datastores
    live = datastores.tree(name)
    cached = _READABLE.get(live)
    if cached is not None and cached[0] == datastores.version:
        return cached[1]
    readable = live.copy()
    strip_denied(readable)
    _READABLE[live] = (datastores.version, readable)
    return readable


def strip_denied(tree: DataTree) -> None:
    """Remove the default-deny-all nodes, such as challenge passwords, from a reply tree."""
    for path in _DENIED_PATHS:
        for node in tree.select(path):
            tree.remove(node)


def _data_reply(tree: DataTree, request: Request) -> str:
    strip_denied(tree)
    body = tree.print_xml(with_defaults_of(request))
    release_soon(tree)
    return f'<data xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{body}</data>'


async def get_config(request: Request) -> str:
    services = request.services
    source = datastore_of(request, "source")
    data_filter = parse_data_filter(services.schema, request.params.get("filter"))
    if data_filter is not None:
        return _data_reply(_pick(_readable(request, source), data_filter), request)
    # The whole datastore prints the same text until some datastore changes.
    version = services.datastores.version
    mode = with_defaults_of(request)
    body = services.config_replies.lookup(version, source, mode)
    if body is None:
        body = _data_reply(services.datastores.tree(source).copy(), request)
        services.config_replies.store(version, source, mode, body)
    return body


async def get(request: Request) -> str:
    services = request.services
    data_filter = parse_data_filter(services.schema, request.params.get("filter"))
    running = services.datastores.tree(DatastoreName.RUNNING)
    tree = running.copy() if data_filter is None else _pick(
        _readable(request, DatastoreName.RUNNING), data_filter)
    if data_filter is None or data_filter.wants("pki-agent"):
        for state in _state_trees(request, data_filter):
            tree.merge(state, consume=True)
    if data_filter is None or data_filter.wants("ietf-netconf-monitoring"):
        tree.merge(_pick(netconf_state(services), data_filter), consume=True)
    if data_filter is None or data_filter.wants("ietf-yang-library"):
        tree.merge(_pick(services.schema.yang_library(), data_filter), consume=True)
    return _data_reply(tree, request)


def _cut(document: JSONData, data_filter: DataFilter | None) -> list[JSONData]:
    """Cut provider JSON down to the filter before parsing, so a filtered get stays cheap."""
    if data_filter is None or len(data_filter.xpaths) > _MAX_CUT_XPATHS:
        return [document]
    pieces = [prune_json(document, xpath) for xpath in data_filter.xpaths]
    if any(piece is None for piece in pieces):
        return [document]
    return [piece for piece in pieces if piece]


def _state_trees(request: Request, data_filter: DataFilter | None) -> list[DataTree]:
    """Return the state of every provider as trees that the caller may consume."""
    services = request.services
    providers = services.hooks.state_providers
    if not providers:
        return _parse_document(default_state(services.datastores.running_json),
                               request, data_filter)
    trees = []
    for provider in providers:
        version_of = services.hooks.state_versions.get(provider)
        if version_of is None:
            state = _call_provider(provider, provider)
            if state is not None:
                trees.extend(_parse_document(state, request, data_filter))
            continue
        version = _call_provider(provider, version_of)
        if version is not None:
            trees.extend(_versioned_state(request, provider, version, data_filter))
    _forget_unregistered(request)
    return trees


def _call_provider(provider: StateProvider, function: Callable[[], T]) -> T | None:
    try:
        return function()
    except Exception:
        logger.exception("state provider %r failed; its state is left out", provider)
        return None


def _versioned_state(request: Request, provider: StateProvider, version: Hashable,
                     data_filter: DataFilter | None) -> list[DataTree]:
    """Select from the tree parsed at this version, parsing the provider's JSON if needed."""
    services = request.services
    tree = services.state_trees.lookup(provider, version)
    if tree is None:
        document = _call_provider(provider, provider)
        if document is None:
            return []
        tree = _parse_state(request, document)
        if tree is None:
            return []
        services.state_trees.store(provider, version, tree)
    return [_pick(tree, data_filter)]


def _parse_document(document: JSONData, request: Request,
                    data_filter: DataFilter | None) -> list[DataTree]:
    trees = []
    for piece in _cut(document, data_filter):
        parsed = _parse_state(request, piece)
        if parsed is None:
            continue
        trees.append(_pick(parsed, data_filter) if data_filter else parsed)
    return trees


def _parse_state(request: Request, document: JSONData) -> DataTree | None:
    """Parse provider JSON without its default-deny-all nodes, or log and return None."""
    try:
        tree = request.services.schema.parse_json(document)
    except DataInvalidError as exc:
        logger.error("a state provider returned invalid data, left out: %s", exc)
        return None
    strip_denied(tree)
    return tree


def _forget_unregistered(request: Request) -> None:
    """Free the cached trees of providers that were removed or lost their version."""
    hooks = request.services.hooks
    cache = request.services.state_trees
    for provider in cache.providers():
        if provider not in hooks.state_versions or provider not in hooks.state_providers:
            cache.forget(provider)
