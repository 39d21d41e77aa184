"""get and get-config: running and candidate merged with operational state, filtered and printed."""

from __future__ import annotations

import logging

from agent.datastore import DatastoreName, default_state
from agent.hooks import JSONData
from agent.netconf.filters import DataFilter, parse_data_filter
from agent.netconf.monitoring import netconf_state
from agent.netconf.request import Request, datastore_of, with_defaults_of
from agent.schema import DataInvalidError, DataTree
from agent.schema.filters import prune_json, select

logger = logging.getLogger(__name__)

# Beyond this many selections, cutting the JSON once per selection costs
# more than parsing it whole.
_MAX_CUT_XPATHS = 8

# RFC 8341 nacm:default-deny-all nodes: never sent to a client.
_DENIED_PATHS = ("/pki-agent:pki/cert/enroll/password",)


def _pick(tree: DataTree, data_filter: DataFilter | None) -> DataTree:
    if data_filter is None:
        return tree.copy()
    return select(tree, list(data_filter.xpaths))


def strip_denied(tree: DataTree) -> None:
    """Remove the default-deny-all nodes, such as challenge passwords, from a reply tree."""
    for path in _DENIED_PATHS:
        for node in tree.select(path):
            tree.remove(node)


def _data_reply(tree: DataTree, request: Request) -> str:
    strip_denied(tree)
    body = tree.print_xml(with_defaults_of(request))
    return f'<data xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{body}</data>'


async def get_config(request: Request) -> str:
    services = request.services
    source = datastore_of(request, "source")
    data_filter = parse_data_filter(services.schema, request.params.get("filter"))
    tree = _pick(services.datastores.tree(source), data_filter)
    return _data_reply(tree, request)


async def get(request: Request) -> str:
    services = request.services
    data_filter = parse_data_filter(services.schema, request.params.get("filter"))
    tree = _pick(services.datastores.tree(DatastoreName.RUNNING), data_filter)
    if data_filter is None or data_filter.wants("pki-agent"):
        for state in _state_trees(request, data_filter):
            tree.merge(_pick(state, data_filter) if data_filter else state, consume=True)
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
    services = request.services
    providers = services.hooks.state_providers
    documents = []
    if providers:
        for provider in providers:
            try:
                documents.append(provider())
            except Exception:
                logger.exception("state provider %r failed; its state is left out", provider)
    else:
        documents.append(default_state(services.datastores.running_json))
    trees = []
    for document in (piece for full in documents for piece in _cut(full, data_filter)):
        try:
            trees.append(services.schema.parse_json(document))
        except DataInvalidError as exc:
            logger.error("a state provider returned invalid data, left out: %s", exc)
    return trees
