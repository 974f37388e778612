"""Read an ONNX file without its weights' bytes.

Counting needs the weights' shapes, never their values. For a large file, :func:`read_model_skeleton`
memory-maps it and walks the protobuf wire format of ``ModelProto → graph → initializer``, copying every
field except the data of large initializers; the pages holding the weights are never read. The result
parses into a ``ModelProto`` whose large initializers keep their name, dtype and dims but no values.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator
from pathlib import Path

__all__ = ["WireFormatError", "read_model_skeleton"]

# Field numbers (onnx.proto3).
_MODEL_GRAPH = 7
_GRAPH_INITIALIZER = 5
_TENSOR_DIMS = 1
#: float_data, int32_data, int64_data, raw_data, double_data, uint64_data.
_TENSOR_DATA = frozenset({4, 5, 7, 9, 10, 11})


class WireFormatError(ValueError):
    """The bytes are not a well-formed protobuf message (truncated or corrupt)."""


def _varint(buf: mmap.mmap | bytes, pos: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise WireFormatError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireFormatError("varint too long")


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _fields(buf: mmap.mmap | bytes, start: int, end: int) -> Iterator[tuple[int, int, int, int, int]]:
    """Yield ``(field, wire_type, field_start, value_start, field_end)`` for each field in ``[start, end)``."""
    pos = start
    while pos < end:
        field_start = pos
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if field == 0:
            raise WireFormatError("field number 0")
        value_start = pos
        if wire == 0:
            _, pos = _varint(buf, pos, end)
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos, end)
            value_start = pos
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise WireFormatError(f"unsupported wire type {wire}")
        if pos > end:
            raise WireFormatError("truncated field")
        yield field, wire, field_start, value_start, pos


def _tensor_elements(buf: mmap.mmap | bytes, start: int, end: int) -> int:
    count = 1
    for field, wire, _, value_start, field_end in _fields(buf, start, end):
        if field != _TENSOR_DIMS:
            continue
        if wire == 0:
            dim, _ = _varint(buf, value_start, field_end)
            count *= dim
        elif wire == 2:
            pos = value_start
            while pos < field_end:
                dim, pos = _varint(buf, pos, field_end)
                count *= dim
    return count


def _strip_tensor(buf: mmap.mmap | bytes, start: int, end: int, keep_elements: int) -> bytes:
    if _tensor_elements(buf, start, end) <= keep_elements:
        return bytes(buf[start:end])
    parts = [bytes(buf[fs:fe]) for field, _, fs, _, fe in _fields(buf, start, end) if field not in _TENSOR_DATA]
    return b"".join(parts)


def _strip_graph(buf: mmap.mmap | bytes, start: int, end: int, keep_elements: int) -> bytes:
    parts: list[bytes] = []
    for field, wire, field_start, value_start, field_end in _fields(buf, start, end):
        if field == _GRAPH_INITIALIZER and wire == 2:
            tensor = _strip_tensor(buf, value_start, field_end, keep_elements)
            parts.append(_key(field) + _encode_varint(len(tensor)))
            parts.append(tensor)
        else:
            parts.append(bytes(buf[field_start:field_end]))
    return b"".join(parts)


def _key(field: int) -> bytes:
    return _encode_varint(field << 3 | 2)


def strip_model_bytes(buf: mmap.mmap | bytes, keep_elements: int) -> bytes:
    """The serialized model with the data of initializers over ``keep_elements`` elements removed."""
    end = len(buf)
    parts: list[bytes] = []
    for field, wire, field_start, value_start, field_end in _fields(buf, 0, end):
        if field == _MODEL_GRAPH and wire == 2:
            graph = _strip_graph(buf, value_start, field_end, keep_elements)
            parts.append(_key(field) + _encode_varint(len(graph)))
            parts.append(graph)
        else:
            parts.append(bytes(buf[field_start:field_end]))
    return b"".join(parts)


def read_model_skeleton(path: Path, keep_elements: int) -> bytes:
    """The serialized ``ModelProto`` at ``path`` without the data of its large initializers.

    Raises:
        WireFormatError: the file is not well-formed protobuf.
        OSError: the file cannot be read.
    """
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        return strip_model_bytes(buf, keep_elements)
