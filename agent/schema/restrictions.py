"""The restrictions of a compiled YANG type: ranges, lengths, patterns, enums and identities.

The libyang-python 2.7.1 bindings declare `struct lysc_range`,
`struct lysc_pattern` and `struct lysc_ident` as opaque, so their fields
are read here through a second cffi declaration of those structs, copied
from the libyang 2.1.30 header tree_schema.h. It matches that libyang
release only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import cffi  # type: ignore[import-untyped]
import libyang
from _libyang import ffi, lib
from libyang.util import c2str, ly_array_iter

_ffi = cffi.FFI()
_ffi.cdef("""
struct range_part { union { int64_t min_64; uint64_t min_u64; };
                    union { int64_t max_64; uint64_t max_u64; }; };
struct lysc_range { struct range_part *parts; const char *dsc; const char *ref;
                    const char *emsg; const char *eapptag; void *exts; };
struct lysc_pattern { const char *expr; void *code; const char *dsc; const char *ref;
                      const char *emsg; const char *eapptag; void *exts;
                      uint32_t inverted : 1; uint32_t refcount : 31; };
struct lysc_ident { const char *name; const char *dsc; const char *ref; void *module;
                    struct lysc_ident **derived; void *exts; uint16_t flags; };
""")

_SIGNED = {lib.LY_TYPE_INT8, lib.LY_TYPE_INT16, lib.LY_TYPE_INT32, lib.LY_TYPE_INT64}
_NUMBERS = {lib.LY_TYPE_UINT8, lib.LY_TYPE_UINT16, lib.LY_TYPE_UINT32, lib.LY_TYPE_UINT64,
            *_SIGNED}


@dataclass(frozen=True, slots=True)
class Pattern:
    """One pattern statement of a string type."""

    expression: str
    inverted: bool
    error_message: str | None
    description: str | None


@dataclass(frozen=True, slots=True)
class Restrictions:
    """What a type allows; `ranges` and `lengths` are inclusive (min, max) pairs."""

    ranges: tuple[tuple[int, int], ...] = ()
    range_message: str | None = None
    lengths: tuple[tuple[int, int], ...] = ()
    length_message: str | None = None
    patterns: tuple[Pattern, ...] = ()
    enums: tuple[str, ...] = ()
    identities: tuple[str, ...] = ()


def restrictions_of(ytype: libyang.Type) -> Restrictions:
    """Read the restrictions of a compiled type; a union or leafref type has none of its own."""
    base = ytype.cdata.basetype
    if base in _NUMBERS:
        signed = base in _SIGNED
        compiled = ffi.cast("struct lysc_type_num *", ytype.cdata).range
        ranges, message = _read_range(compiled, signed)
        return Restrictions(ranges=ranges, range_message=message)
    if base == lib.LY_TYPE_STRING:
        string = ffi.cast("struct lysc_type_str *", ytype.cdata)
        lengths, message = _read_range(string.length, signed=False)
        return Restrictions(lengths=lengths, length_message=message,
                            patterns=tuple(_read_patterns(string.patterns)))
    if base == lib.LY_TYPE_ENUM:
        items = ffi.cast("struct lysc_type_enum *", ytype.cdata).enums
        return Restrictions(enums=tuple(c2str(item.name) for item in ly_array_iter(items)))
    if base == lib.LY_TYPE_BOOL:
        return Restrictions(enums=("true", "false"))
    if base == lib.LY_TYPE_IDENT:
        bases = ffi.cast("struct lysc_type_identityref *", ytype.cdata).bases
        return Restrictions(identities=tuple(_derived_identities(bases)))
    return Restrictions()


def _own(pointer: Any, kind: str) -> Any:
    return _ffi.cast(kind, int(ffi.cast("uintptr_t", pointer)))


def _array(pointer: Any) -> Iterator[Any]:
    # libyang sized arrays keep their item count in the 64-bit word before
    # the first item.
    if pointer == _ffi.NULL:
        return
    count = _ffi.cast("uint64_t *", pointer)[-1]
    for index in range(count):
        yield pointer[index]


def _read_range(pointer: Any, signed: bool) -> tuple[tuple[tuple[int, int], ...], str | None]:
    if pointer == ffi.NULL:
        return (), None
    compiled = _own(pointer, "struct lysc_range *")
    parts = tuple(
        (int(part.min_64), int(part.max_64)) if signed else (int(part.min_u64), int(part.max_u64))
        for part in _array(compiled.parts))
    message = compiled.emsg
    return parts, _ffi.string(message).decode() if message != _ffi.NULL else None


def _read_patterns(pointer: Any) -> Iterator[Pattern]:
    if pointer == ffi.NULL:
        return
    for item in _array(_own(pointer, "struct lysc_pattern **")):
        yield Pattern(_text(item.expr), bool(item.inverted),
                      _optional_text(item.emsg), _optional_text(item.dsc))


def _derived_identities(bases: Any) -> Iterator[str]:
    """Yield module:name of each identity derived from the bases, the bases excluded."""
    pending = list(_array(_own(bases, "struct lysc_ident **"))) if bases != ffi.NULL else []
    seen: set[int] = set()
    while pending:
        ident = pending.pop(0)
        for derived in _array(ident.derived):
            address = int(_ffi.cast("uintptr_t", derived))
            if address in seen:
                continue
            seen.add(address)
            module = ffi.cast("struct lys_module *", int(_ffi.cast("uintptr_t", derived.module)))
            yield f"{c2str(module.name)}:{_text(derived.name)}"
            pending.append(derived)


def _text(pointer: Any) -> str:
    return str(_ffi.string(pointer).decode())


def _optional_text(pointer: Any) -> str | None:
    return _text(pointer) if pointer != _ffi.NULL else None
