"""Frozen model values to JSON and back, checked against the dataclasses' own type hints.

A recording is a file someone attaches to a ticket: it is read as untrusted data. JSON, not
pickle (unpickling runs code); every value decoded is checked against the field's declared
type, so a damaged or hand-edited recording is refused with the field it broke on, never
turned into a half-built Reading that fails somewhere in the UI later."""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
import zlib
from functools import cache
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

T = TypeVar("T")
MAX_VALUE_BYTES = 4 * 1024 * 1024  # one reading is a few KB; a chain of KEYFRAME_EVERY
#                                    of these is what one decode may hold at once


class Damaged(ValueError):
    """A value in a recording that does not fit the model."""


def encode(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(kind: Any, data: object, where: str = "") -> Any:
    origin, args = get_origin(kind), get_args(kind)
    if kind is Any or kind is object:
        return _plain(data, where)
    if origin in (Union, types.UnionType):
        for option in args:
            try:
                return decode(option, data, where)
            except Damaged:
                continue
        raise Damaged(f"{where or 'value'}: {type(data).__name__} fits none of {kind}")
    if kind is type(None):
        if data is None:
            return None
        raise Damaged(f"{where}: expected null")
    if origin is Literal:
        if data in args:
            return data
        raise Damaged(f"{where}: {data!r} is not one of {args}")
    if origin is tuple:
        if not isinstance(data, list):
            raise Damaged(f"{where}: expected a list")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v, f"{where}[{i}]") for i, v in enumerate(data))
        if len(args) != len(data):
            raise Damaged(f"{where}: expected {len(args)} items")
        pairs = enumerate(zip(args, data, strict=True))
        return tuple(decode(a, v, f"{where}[{i}]") for i, (a, v) in pairs)
    if origin is dict:
        if not isinstance(data, dict):
            raise Damaged(f"{where}: expected an object")
        return {str(k): decode(args[1], v, f"{where}.{k}") for k, v in data.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _dataclass(kind, data, where)
    if kind is float and isinstance(data, (int, float)) and not isinstance(data, bool):
        if not math.isfinite(data):  # JSON has no NaN: a value written by hand, refused
            raise Damaged(f"{where or 'value'}: {data!r} is not a finite number")
        return float(data)
    if kind in (int, str, bool) and type(data) is kind:
        return data
    raise Damaged(f"{where or 'value'}: {data!r} is not {getattr(kind, '__name__', kind)}")


def _dataclass(cls: type[T], data: object, where: str) -> T:
    if not isinstance(data, dict):
        raise Damaged(f"{where or cls.__name__}: expected an object")
    hints = _hints(cls)  # type: ignore[arg-type]  # a class is hashable
    values = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        if field.name in data:
            values[field.name] = decode(hints[field.name], data[field.name],
                                        f"{where}.{field.name}" if where else field.name)
        elif field.default is dataclasses.MISSING and \
                field.default_factory is dataclasses.MISSING:
            raise Damaged(f"{where or cls.__name__}: {field.name} is missing")
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise Damaged(f"{where or cls.__name__}: unknown fields {sorted(unknown)}")
    return cls(**values)


def _plain(data: object, where: str) -> object:
    """A pragma's value: a number, text, null, or bytes as written by encode."""
    if isinstance(data, dict) and set(data) == {"$bytes"} and isinstance(data["$bytes"], str):
        try:
            return bytes.fromhex(data["$bytes"])
        except ValueError as exc:
            raise Damaged(f"{where}: bad bytes") from exc
    if isinstance(data, float) and not math.isfinite(data):
        raise Damaged(f"{where}: {data!r} is not a finite number")
    if data is None or isinstance(data, (int, float, str, bool)):
        return data
    raise Damaged(f"{where}: unexpected {type(data).__name__}")


def to_json(value: object) -> bytes:
    return json.dumps(encode(value), separators=(",", ":")).encode()


def compress(data: bytes, base: bytes = b"") -> bytes:
    """With ``base`` (the same database's previous value) as zlib's preset dictionary: a
    reading that differs from the last one in a few numbers costs a few dozen bytes."""
    packer = zlib.compressobj(6, zdict=base) if base else zlib.compressobj(6)
    return packer.compress(data) + packer.flush()


def inflate(blob: object, base: bytes = b"") -> bytes:
    if not isinstance(blob, bytes):
        raise Damaged("expected a compressed blob")
    try:
        inflater = zlib.decompressobj(zdict=base) if base else zlib.decompressobj()
        data = inflater.decompress(blob, MAX_VALUE_BYTES)
        if inflater.unconsumed_tail:  # a small blob that inflates without end
            raise Damaged(f"a value larger than {MAX_VALUE_BYTES} bytes")
        return data
    except zlib.error as exc:
        raise Damaged(f"cannot decompress: {exc}") from exc


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def from_json(kind: type[T], data: bytes) -> T:
    try:
        plain = json.loads(data, parse_constant=_no_constant)  # NaN, Infinity: refused
    except (ValueError, RecursionError) as exc:
        raise Damaged(f"not JSON: {exc}") from exc
    result: T = decode(kind, plain)
    return result


def pack(value: object) -> bytes:
    return compress(to_json(value))


def unpack(kind: type[T], blob: object) -> T:
    return from_json(kind, inflate(blob))
