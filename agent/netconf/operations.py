"""Configuration operations of RFC 6241 §7 and §8: edit, copy, delete, lock, validate, commit."""

from __future__ import annotations

from agent.datastore import EditOperation, ErrorOption, TestOption
from agent.datastore.confirmed import DEFAULT_CONFIRM_TIMEOUT
from agent.netconf.edit_content import parse_config_children, parse_edit_content
from agent.netconf.errors import BASE_NS, ErrorTag, ErrorType, RPCError
from agent.netconf.request import Request, datastore_of, text_of
from agent.schema import DataTree


def _enum_param(request: Request, name: str, kind: type, default: object) -> object:
    value = text_of(request, name)
    if value is None:
        return default
    try:
        return kind(value)
    except ValueError:
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.INVALID_VALUE,
                       f"invalid {name} {value!r}", info=(("bad-element", name),)) from None


def _source_tree(request: Request, param: str = "source") -> DataTree:
    element = request.params[param]
    inline = element.find(f"{{{BASE_NS}}}config")
    if inline is not None:
        return parse_config_children(request.services.schema, inline)
    return request.services.datastores.tree(datastore_of(request, param))


async def edit_config(request: Request) -> None:
    target = datastore_of(request, "target")
    if "url" in request.params:
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.OPERATION_NOT_SUPPORTED,
                       "the :url capability is not implemented", info=(("bad-element", "url"),))
    config = request.params.get("config")
    if config is None:
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.MISSING_ELEMENT,
                       "the config parameter is missing", info=(("bad-element", "config"),))
    edit, removals = parse_edit_content(request.services.schema, config)
    request.services.datastores.edit(
        target, edit, request.session.session_id, removals=removals,
        default_operation=_enum_param(request, "default-operation", EditOperation,
                                      EditOperation.MERGE),  # type: ignore[arg-type]
        test_option=_enum_param(request, "test-option", TestOption,
                                TestOption.TEST_THEN_SET),  # type: ignore[arg-type]
        error_option=_enum_param(request, "error-option", ErrorOption,
                                 ErrorOption.STOP_ON_ERROR),  # type: ignore[arg-type]
    )
    return None


async def copy_config(request: Request) -> None:
    target = datastore_of(request, "target")
    # RFC 6243 §4.5.3: with-defaults only shapes a copy to a URL, and :url
    # is not implemented, so the parameter is accepted with no effect.
    if request.params["source"].find(f"{{{BASE_NS}}}config") is None \
            and datastore_of(request, "source") is target:
        # RFC 6241 §7.3: source and target must differ.
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.INVALID_VALUE,
                       f"copy-config from {target} to itself", info=(("bad-element", "target"),))
    source = _source_tree(request)
    request.services.datastores.copy(source, target, request.session.session_id)


async def delete_config(request: Request) -> None:
    request.services.datastores.delete(datastore_of(request, "target"),
                                       request.session.session_id)


async def lock(request: Request) -> None:
    request.services.datastores.lock(datastore_of(request, "target"), request.session.session_id)


async def unlock(request: Request) -> None:
    request.services.datastores.unlock(datastore_of(request, "target"),
                                       request.session.session_id)


async def validate(request: Request) -> None:
    request.services.datastores.validate(_source_tree(request))


async def commit(request: Request) -> None:
    timeout = DEFAULT_CONFIRM_TIMEOUT
    raw_timeout = text_of(request, "confirm-timeout")
    if raw_timeout is not None:
        if not raw_timeout.isdigit() or not 1 <= int(raw_timeout) <= 4294967295:
            raise RPCError(ErrorType.PROTOCOL, ErrorTag.INVALID_VALUE,
                           f"invalid confirm-timeout {raw_timeout!r}",
                           info=(("bad-element", "confirm-timeout"),))
        timeout = int(raw_timeout)
    confirmed = "confirmed" in request.params
    if not confirmed and ("confirm-timeout" in request.params or "persist" in request.params):
        raise RPCError(ErrorType.PROTOCOL, ErrorTag.INVALID_VALUE,
                       "confirm-timeout and persist need confirmed",
                       info=(("bad-element", "confirmed"),))
    request.services.datastores.commit(
        request.session.session_id, confirmed=confirmed, timeout=timeout,
        persist=text_of(request, "persist"), persist_id=text_of(request, "persist-id"))


async def cancel_commit(request: Request) -> None:
    request.services.datastores.cancel_commit(request.session.session_id,
                                              text_of(request, "persist-id"))


async def discard_changes(request: Request) -> None:
    request.services.datastores.discard_changes(request.session.session_id)

