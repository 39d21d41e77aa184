"""The libyang context of the agent: module loading, parsing, validation and yang-library data."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import libyang
from _libyang import ffi, lib

import agent
from agent.schema.errors import DataInvalidError, SchemaError, ValidationIssue
from agent.schema.messages import xml_value_source
from agent.schema.tree import DataTree, take_issues

logger = logging.getLogger(__name__)

MODULE = "pki-agent"
NAMESPACE = "urn:pki-agent:yang:pki-agent"

# Modules implemented besides pki-agent.  ietf-netconf supplies the
# `operation` annotation of edit-config and the RPC definitions, and the
# other two are the state this server reports (RFC 6243, RFC 6022).
_IMPLEMENTED = ("ietf-netconf", "ietf-netconf-with-defaults", "ietf-netconf-monitoring")

# libyang 2.1 stops at the first validation error, so validate() removes the
# failing list entry and runs again to report one error per entry, at most
# this many times.
_MAX_ISSUES = 64


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """One module of the context, as ietf-netconf-monitoring lists it."""

    name: str
    revision: str
    namespace: str


def default_search_dirs(yang_dir: Path | None = None) -> list[Path]:
    """Return the module directories: the agent's own, then pyang's, then Debian's."""
    own = [yang_dir] if yang_dir is not None else [
        Path(agent.__file__).resolve().parents[1] / "yang",
        Path(sys.prefix) / "share" / "pki-agent" / "yang",
    ]
    pyang_dirs = [Path(sys.prefix) / "share" / "yang" / "modules" / sub for sub in ("ietf", "iana")]
    debian = Path("/usr/share/yang/modules")
    debian_dirs = sorted(p for p in debian.iterdir() if p.is_dir()) if debian.is_dir() else []
    return [directory for directory in [*own, *pyang_dirs, *debian_dirs] if directory.is_dir()]


class Schema:
    """The loaded YANG modules, with the operations the datastores need."""

    def __init__(self, context: libyang.Context, search_dirs: list[Path]) -> None:
        self.context = context
        self.search_dirs = search_dirs
        self.module = context.get_module(MODULE)
        self._namespaces = {mod.name(): _namespace(mod) for mod in context}
        self._content_id: str | None = None

    @classmethod
    def load(cls, yang_dir: Path | None = None) -> Schema:
        """Load pki-agent and the IETF modules the server implements."""
        dirs = default_search_dirs(yang_dir)
        # libyang resolves the data path of an error only when a log callback
        # requests it.  The errors are stored in the context as well and
        # reported to the client, so the callback's log records are dropped.
        libyang.configure_logging(True, logging.ERROR)
        libyang_logger = logging.getLogger("libyang")
        if _drop_record not in libyang_logger.filters:
            libyang_logger.addFilter(_drop_record)
        context = libyang.Context(":".join(str(d) for d in dirs))
        try:
            context.load_module(MODULE)
            for name in _IMPLEMENTED:
                module = context.load_module(name)
                if name == "ietf-netconf":
                    module.feature_enable_all()
        except libyang.LibyangError as exc:
            raise SchemaError(f"cannot load YANG modules from {dirs}: {exc}") from exc
        logger.debug("YANG modules loaded from %s", ", ".join(map(str, dirs)))
        return cls(context, dirs)

    def modules(self) -> list[ModuleInfo]:
        result = []
        for mod in self.context:
            revisions = [rev.date() for rev in mod.revisions()]
            result.append(ModuleInfo(mod.name(), revisions[0] if revisions else "",
                                     self._namespaces[mod.name()]))
        return result

    def module_name(self, namespace: str) -> str | None:
        for name, known in self._namespaces.items():
            if known == namespace:
                return name
        return None

    def module_text(self, name: str, revision: str | None) -> str | None:
        """Return the YANG source of an implemented or imported module, or None."""
        for mod in self.context:
            if mod.name() != name:
                continue
            revs = [rev.date() for rev in mod.revisions()]
            if revision and (not revs or revs[0] != revision):
                continue
            path = mod.filepath()
            if path and Path(path).is_file():
                return Path(path).read_text(encoding="utf-8")
            return str(mod.print_mem("yang"))
        return None

    def parse_xml(self, text: str) -> DataTree:
        """Parse data, e.g. edit-config content, without validation.

        Raises:
            DataInvalidError: unknown elements or invalid values (parse=True).
        """
        return self._parse(text, "xml")

    def parse_json(self, data: dict[str, object]) -> DataTree:
        """Parse RFC 7951 JSON data, config and state, without validation."""
        if not data:
            return DataTree(self.context, None)
        return self._parse(json.dumps(data), "json")

    def _parse(self, text: str, fmt: str) -> DataTree:
        root_p = ffi.new("struct lyd_node **")
        in_p = ffi.new("struct ly_in **")
        encoded = ffi.new("char[]", text.encode())
        if lib.ly_in_new_memory(encoded, in_p) != lib.LY_SUCCESS:
            raise RuntimeError("libyang cannot read from memory")
        try:
            ret = lib.lyd_parse_data(
                self.context.cdata, ffi.NULL, in_p[0],
                lib.LYD_XML if fmt == "xml" else lib.LYD_JSON,
                lib.LYD_PARSE_ONLY | lib.LYD_PARSE_STRICT, 0, root_p,
            )
        finally:
            lib.ly_in_free(in_p[0], 0)
        if ret != lib.LY_SUCCESS:
            source = xml_value_source(self.context, text) if fmt == "xml" else None
            raise DataInvalidError(take_issues(self.context, source=source), parse=True)
        root = libyang.DNode.new(self.context, root_p[0]) if root_p[0] else None
        return DataTree(self.context, root)

    def parse_netconf_rpc(self, message: bytes) -> DataTree:
        """Parse a whole <rpc> with LYD_TYPE_RPC_NETCONF and return the operation's tree.

        The operation is not validated.  The opaque rpc envelope is freed here.

        Raises:
            DataInvalidError: an unknown operation or an invalid input value.
        """
        in_p = ffi.new("struct ly_in **")
        encoded = ffi.new("char[]", message)
        if lib.ly_in_new_memory(encoded, in_p) != lib.LY_SUCCESS:
            raise RuntimeError("libyang cannot read from memory")
        envelope = ffi.new("struct lyd_node **")
        operation = ffi.new("struct lyd_node **")
        try:
            ret = lib.lyd_parse_op(self.context.cdata, ffi.NULL, in_p[0], lib.LYD_XML,
                                   lib.LYD_TYPE_RPC_NETCONF, envelope, operation)
        finally:
            lib.ly_in_free(in_p[0], 0)
            if envelope[0]:
                lib.lyd_free_all(envelope[0])
        if ret != lib.LY_SUCCESS or not operation[0]:
            if operation[0]:
                lib.lyd_free_all(operation[0])
            raise DataInvalidError(take_issues(self.context), parse=True)
        return DataTree(self.context, libyang.DNode.new(self.context, operation[0]))

    def validate(self, tree: DataTree) -> tuple[ValidationIssue, ...]:
        """Validate config data in place, adding defaults, and return every problem found.

        An empty tuple means the tree is valid.  After a failure the tree keeps
        its data, and each failing list entry is reported once.
        """
        issues = self._validate_once(tree)
        if not issues:
            return ()
        found = list(issues)
        scratch = tree.copy()
        while len(found) < _MAX_ISSUES and _drop_failing_entry(scratch, found[-1]):
            more = self._validate_once(scratch)
            if not more:
                break
            found.extend(more)
        scratch.free()
        return tuple(found)

    def _validate_once(self, tree: DataTree) -> tuple[ValidationIssue, ...]:
        root = tree.root
        if root is None:
            return ()
        node_p = ffi.new("struct lyd_node **")
        node_p[0] = root.cdata
        # LYD_VALIDATE_PRESENT: only modules with data, so the mandatory
        # nodes of ietf-yang-library are not required in a datastore.
        ret = lib.lyd_validate_all(node_p, self.context.cdata,
                                   lib.LYD_VALIDATE_PRESENT | lib.LYD_VALIDATE_NO_STATE, ffi.NULL)
        tree.set_root(libyang.DNode.new(self.context, node_p[0]) if node_p[0] else None)
        if ret == lib.LY_SUCCESS:
            lib.ly_err_clean(self.context.cdata, ffi.NULL)
            return ()
        return take_issues(self.context, tree) or (ValidationIssue("validation failed"),)

    def yang_library(self) -> DataTree:
        """Return the RFC 8525 yang-library data of the context."""
        # libyang takes the content-id as a printf format, so the id must
        # contain no '%'. A hex digest contains none.
        root = self.context.get_yanglib_data(self.content_id())
        return DataTree(self.context, root)

    def content_id(self) -> str:
        """Return the RFC 8525 content-id: a hash of the module set, equal across restarts.

        It covers each module's name, revision, implemented flag and enabled
        features, so it changes exactly when the module set does. The module
        set is fixed once `load` returns, so the hash is computed only once.
        """
        if self._content_id is not None:
            return self._content_id
        digest = hashlib.sha256()
        for mod in sorted(self.context, key=lambda module: module.name()):
            revisions = [rev.date() for rev in mod.revisions()]
            features = sorted(feature.name() for feature in mod.features()
                              if feature.state())
            digest.update(json.dumps([mod.name(), revisions[:1], mod.implemented(),
                                      features]).encode())
        self._content_id = digest.hexdigest()[:16]
        return self._content_id


def _drop_record(record: logging.LogRecord) -> bool:
    return False


def _namespace(mod: libyang.Module) -> str:
    return ffi.string(mod.cdata.ns).decode() if mod.cdata.ns else ""


def _drop_failing_entry(tree: DataTree, issue: ValidationIssue) -> bool:
    """Remove the list entry (or node) an issue names; return False if none is found."""
    if issue.path is None:
        return False
    node = tree.find(issue.path)
    if node is None:
        return False
    entry: libyang.DNode | None = node
    while entry is not None and entry.schema().nodetype() != libyang.SNode.LIST:
        entry = entry.parent()
    tree.remove(entry if entry is not None else node)
    return True
