"""The few fields of an ONNX model that counting needs, read without importing ``onnx``.

``import onnx`` costs a second or more (it loads ml_dtypes and the protobuf runtime), far
more than reading the file, so ``emocompress inspect`` of an ``.onnx`` file reads the
protobuf wire format itself: the graph's initializers (name, data type, dims, where the
data lies) and each node's name and inputs. Values are never read here (the ``raw_data``
bytes are skipped); ``emocompress.models.checkpoint`` reads values with ``onnx`` when asked
(``--sparsity``). The objects mirror the attribute names of ``onnx.ModelProto`` for the
fields they carry.

Field numbers are those of onnx.proto (ModelProto.graph = 7; GraphProto.node = 1,
initializer = 5; NodeProto.input = 1, name = 3, op_type = 4; TensorProto.dims = 1, data_type = 2,
name = 8, external_data = 13, data_location = 14; StringStringEntryProto key = 1, value = 2).
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


class ProtoError(ValueError):
    """The bytes are not a well-formed protobuf message."""


@dataclass
class Entry:
    key: str = ""
    value: str = ""


@dataclass
class Tensor:
    name: str = ""
    data_type: int = 0
    dims: list[int] = field(default_factory=list)
    data_location: int = 0  # 1: EXTERNAL
    external_data: list[Entry] = field(default_factory=list)


@dataclass
class Node:
    name: str = ""
    op_type: str = ""
    input: list[str] = field(default_factory=list)


@dataclass
class Graph:
    node: list[Node] = field(default_factory=list)
    initializer: list[Tensor] = field(default_factory=list)


@dataclass
class Model:
    graph: Graph = field(default_factory=Graph)


def _varint(buf: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtoError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ProtoError("varint too long")


def _fields(buf: memoryview) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value) of one message: an int for varints and fixed
    widths, a memoryview for length-delimited fields."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ProtoError("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = int.from_bytes(buf[pos : pos + 8], "little"), pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise ProtoError("length-delimited field runs past the end")
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = int.from_bytes(buf[pos : pos + 4], "little"), pos + 4
        else:
            raise ProtoError(f"unsupported wire type {wire}")
        if pos > end:
            raise ProtoError("truncated field")
        yield number, wire, value


def _text(value: object) -> str:
    assert isinstance(value, memoryview)
    return bytes(value).decode("utf-8", errors="replace")


def _ints(wire: int, value: object) -> list[int]:
    """A repeated integer field's values, packed or not."""
    if wire == 0:
        assert isinstance(value, int)
        return [value]
    assert isinstance(value, memoryview)
    out, pos = [], 0
    while pos < len(value):
        number, pos = _varint(value, pos)
        out.append(number)
    return out


def _entry(buf: memoryview) -> Entry:
    entry = Entry()
    for number, wire, value in _fields(buf):
        if wire == 2 and number == 1:
            entry.key = _text(value)
        elif wire == 2 and number == 2:
            entry.value = _text(value)
    return entry


def _tensor(buf: memoryview) -> Tensor:
    tensor = Tensor()
    for number, wire, value in _fields(buf):
        if number == 1:
            tensor.dims += _ints(wire, value)
        elif number == 2 and wire == 0:
            assert isinstance(value, int)
            tensor.data_type = value
        elif number == 8 and wire == 2:
            tensor.name = _text(value)
        elif number == 13 and wire == 2:
            assert isinstance(value, memoryview)
            tensor.external_data.append(_entry(value))
        elif number == 14 and wire == 0:
            assert isinstance(value, int)
            tensor.data_location = value
    return tensor


def _node(buf: memoryview) -> Node:
    node = Node()
    for number, wire, value in _fields(buf):
        if number == 1 and wire == 2:
            node.input.append(_text(value))
        elif number == 3 and wire == 2:
            node.name = _text(value)
        elif number == 4 and wire == 2:
            node.op_type = _text(value)
    return node


def _graph(buf: memoryview) -> Graph:
    graph = Graph()
    for number, wire, value in _fields(buf):
        if wire != 2:
            continue
        assert isinstance(value, memoryview)
        if number == 1:
            graph.node.append(_node(value))
        elif number == 5:
            graph.initializer.append(_tensor(value))
    return graph


def read_model(file: Path) -> Model:
    """The initializers and nodes of ``file``'s graph (ProtoError when it is not protobuf)."""
    with open(file, "rb") as handle:
        if handle.seek(0, 2) == 0:
            raise ProtoError("empty file")
        # mapped, not read: a 2 GB graph with embedded weights costs no memory here; the map
        # closes when the last view of it is gone
        buf = memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
    model = Model()
    found = False
    for number, wire, value in _fields(buf):
        if number == 7 and wire == 2:
            assert isinstance(value, memoryview)
            model.graph = _graph(value)
            found = True
    if not found:
        raise ProtoError("no graph")
    return model
