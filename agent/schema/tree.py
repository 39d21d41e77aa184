"""Ownership of libyang data trees, and the low-level calls the bindings lack."""

from __future__ import annotations

import asyncio
import weakref
from enum import StrEnum

import libyang
from _libyang import ffi, lib

from agent.schema.errors import DataInvalidError, ValidationIssue
from agent.schema.messages import ValueSource, issues_from_context


class WithDefaults(StrEnum):
    """RFC 6243 with-defaults retrieval modes."""

    REPORT_ALL = "report-all"
    REPORT_ALL_TAGGED = "report-all-tagged"
    TRIM = "trim"
    EXPLICIT = "explicit"


_WD_FLAGS = {
    WithDefaults.REPORT_ALL: lib.LYD_PRINT_WD_ALL,
    WithDefaults.REPORT_ALL_TAGGED: lib.LYD_PRINT_WD_ALL_TAG,
    WithDefaults.TRIM: lib.LYD_PRINT_WD_TRIM,
    WithDefaults.EXPLICIT: lib.LYD_PRINT_WD_EXPLICIT,
}


def _free_holder(holder: list[libyang.DNode | None]) -> None:
    node = holder[0]
    if node is not None and node.cdata is not None:
        lib.lyd_free_all(node.cdata)
    holder[0] = None


class DataTree:
    """A libyang data forest that frees itself when garbage collected.

    The forest is the list of top-level siblings starting at `root`; `root` is
    None for an empty datastore.  Callers must not keep DNode objects from the
    tree after it is freed or replaced.
    """

    __slots__ = ("__weakref__", "_finalizer", "_holder", "context")

    def __init__(self, context: libyang.Context, root: libyang.DNode | None) -> None:
        self.context = context
        self._holder: list[libyang.DNode | None] = [root]
        self._finalizer = weakref.finalize(self, _free_holder, self._holder)

    @property
    def root(self) -> libyang.DNode | None:
        node = self._holder[0]
        if node is None:
            return None
        # Inserting or freeing siblings may leave `root` pointing to a later
        # sibling, so always return the first one.
        first = lib.lyd_first_sibling(node.cdata)
        if first != node.cdata:
            node = libyang.DNode.new(self.context, first)
            self._holder[0] = node
        return node

    def set_root(self, root: libyang.DNode | None) -> None:
        self._holder[0] = root

    def copy(self) -> DataTree:
        root = self.root
        if root is None:
            return DataTree(self.context, None)
        return DataTree(self.context, _duplicate(root))

    def free(self) -> None:
        self._finalizer()

    def find(self, path: str) -> libyang.DNode | None:
        root = self.root
        if root is None:
            return None
        try:
            return root.find_path(path)
        except libyang.LibyangError:
            # An invalid path must not leave its error in the context, where
            # the next validation would report it.
            lib.ly_err_clean(self.context.cdata, ffi.NULL)
            return None

    def select(self, xpath: str) -> list[libyang.DNode]:
        """Return the nodes an XPath 1.0 expression selects; an invalid one selects none."""
        root = self.root
        if root is None:
            return []
        node_set = ffi.new("struct ly_set **")
        if lib.lyd_find_xpath(root.cdata, xpath.encode(), node_set) != lib.LY_SUCCESS:
            lib.ly_err_clean(self.context.cdata, ffi.NULL)
            return []
        found = node_set[0]
        try:
            return [libyang.DNode.new(self.context, found.dnodes[i]) for i in range(found.count)]
        finally:
            lib.ly_set_free(found, ffi.NULL)

    def leaf_values(self, xpath: str) -> list[tuple[str, str]]:
        """Return (data path, canonical value) of each leaf an XPath selects."""
        return [(node.path(), ffi.string(lib.lyd_get_value(node.cdata)).decode())
                for node in self.select(xpath)]

    def remove(self, node: libyang.DNode) -> None:
        """Free one subtree, keeping `root` valid."""
        root = self.root
        if root is not None and node.cdata == root.cdata:
            following = node.cdata.next
            self._holder[0] = libyang.DNode.new(self.context, following) if following else None
        lib.lyd_free_tree(node.cdata)

    def new_path(self, path: str, value: str | None = None) -> None:
        """Create or update the node at an absolute data path, with any missing parents."""
        root = self.root
        created = ffi.new("struct lyd_node **")
        ret = lib.lyd_new_path(
            root.cdata if root is not None else ffi.NULL,
            self.context.cdata,
            path.encode(),
            value.encode() if value is not None else ffi.NULL,
            lib.LYD_NEW_PATH_UPDATE,
            created,
        )
        if ret != lib.LY_SUCCESS:
            raise DataInvalidError(take_issues(self.context), parse=True)
        if root is None and created[0]:
            top = created[0]
            while top.parent:
                top = ffi.cast("struct lyd_node *", top.parent)
            self._holder[0] = libyang.DNode.new(self.context, top)

    def merge(self, other: DataTree, *, consume: bool = False) -> None:
        """Merge another forest into this one, keeping default flags.

        With consume=True the other forest is spent and left empty, which
        saves a copy.
        """
        source = other.root
        if source is None:
            return
        root = self.root
        if root is None:
            if consume:
                self._holder[0] = source
                other.set_root(None)
            else:
                self._holder[0] = _duplicate(source)
            return
        node_p = ffi.new("struct lyd_node **")
        node_p[0] = root.cdata
        flags = lib.LYD_MERGE_WITH_FLAGS
        if consume:
            flags |= lib.LYD_MERGE_DESTRUCT
            other.set_root(None)
        if lib.lyd_merge_siblings(node_p, source.cdata, flags) != lib.LY_SUCCESS:
            raise RuntimeError("libyang merge failed: " + "; ".join(
                issue.message for issue in take_issues(self.context)))
        self._holder[0] = libyang.DNode.new(self.context, node_p[0])

    def print_xml(self, with_defaults: WithDefaults = WithDefaults.EXPLICIT) -> str:
        root = self.root
        if root is None:
            return ""
        buf = ffi.new("char **")
        flags = lib.LYD_PRINT_WITHSIBLINGS | lib.LYD_PRINT_SHRINK | _WD_FLAGS[with_defaults]
        if lib.lyd_print_mem(buf, root.cdata, lib.LYD_XML, flags) != lib.LY_SUCCESS:
            raise RuntimeError("libyang failed to print a data tree")
        try:
            return "" if buf[0] == ffi.NULL else ffi.string(buf[0]).decode()
        finally:
            lib.free(buf[0])

    def print_json(self, with_defaults: WithDefaults = WithDefaults.EXPLICIT) -> str:
        root = self.root
        if root is None:
            return "{}"
        return str(root.print_mem(
            "json", with_siblings=True, pretty=False,
            include_implicit_defaults=with_defaults is WithDefaults.REPORT_ALL,
            trim_default_values=with_defaults is WithDefaults.TRIM,
        )) or "{}"


def release_soon(tree: DataTree) -> None:
    """Keep `tree` alive until the event loop's next iteration, then drop this reference.

    Freeing a large tree takes milliseconds in libyang: about 1.7 ms for the
    running configuration of 1,000 enrollments (cProfile on the benchmark
    machine). A handler that releases its trees this way sends its reply
    first, because the reply is written before the loop runs the next
    callback. Without a running event loop nothing is kept, and the tree is
    freed when the caller's last reference goes.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    loop.call_soon(_drop_reference, tree)


def _drop_reference(tree: DataTree) -> None:
    # The tree is freed when this callback returns, unless something else
    # still refers to it, such as a pending confirmed commit's rollback.
    del tree


def _duplicate(root: libyang.DNode) -> libyang.DNode:
    return root.duplicate(with_siblings=True, recursive=True, with_flags=True)


def take_issues(context: libyang.Context, tree: DataTree | None = None,
                source: ValueSource | None = None) -> tuple[ValidationIssue, ...]:
    """Collect and clear the errors libyang stored in a context, described for an operator.

    With `tree`, a missing mandatory node is reported at each entry of that
    tree that lacks it.
    """
    return issues_from_context(context, tree.select if tree is not None else None, source)
