"""The data-only wire format between the grader and the sandboxed child.

Only tensors, arrays, numbers, strings, None, generators and lists/tuples/dicts of these cross
the process boundary. A message is a JSON header plus raw byte buffers; decoding builds fresh
plain objects and never unpickles, so the child cannot hand the grader live objects.

This module is copied next to the child runtime: it imports only the standard library, numpy
and torch.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any, BinaryIO

import numpy as np
import torch

MAX_DEPTH = 32
MAX_ITEMS = 100_000

TORCH_DTYPES: dict[str, torch.dtype] = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
    "uint8": torch.uint8,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
}
NUMPY_KINDS = "biufc"  # bool, int, uint, float, complex: never object, string or void arrays


class WireError(ValueError):
    """A value that cannot cross the process boundary, or a malformed message."""


def encode(obj: Any) -> bytes:
    """Serialize obj into one self-describing message."""
    buffers: list[bytes] = []
    try:
        tree = _encode_node(obj, buffers, 0, [0])
    except WireError:
        raise
    except (ValueError, TypeError, RuntimeError, RecursionError, OverflowError) as exc:
        raise WireError(f"cannot send this value: {exc}") from None
    header = json.dumps({"tree": tree, "sizes": [len(b) for b in buffers]}).encode()
    return struct.pack(">Q", len(header)) + header + b"".join(buffers)


def decode(data: bytes, max_bytes: int = 1 << 30) -> Any:
    """Rebuild the value of a message made by encode, validating every field."""
    if len(data) > max_bytes:
        raise WireError(f"message of {len(data)} bytes exceeds the limit of {max_bytes}")
    try:
        return _decode_message(data)
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError,
            OverflowError, RuntimeError) as exc:
        raise WireError(f"malformed message: {type(exc).__name__}: {exc}") from None


def _decode_message(data: bytes) -> Any:
    """Decode a message; any error other than WireError means it is malformed."""
    if len(data) < 8:
        raise WireError("truncated message")
    (hlen,) = struct.unpack(">Q", data[:8])
    if hlen > len(data) - 8:
        raise WireError("truncated header")
    try:
        header = json.loads(data[8 : 8 + hlen].decode())
        sizes = [int(s) for s in header["sizes"]]
        tree = header["tree"]
    except (ValueError, KeyError, TypeError) as exc:
        raise WireError(f"malformed header: {exc}") from None
    if any(s < 0 for s in sizes) or sum(sizes) != len(data) - 8 - hlen:
        raise WireError("buffer sizes do not match the message length")
    buffers, offset = [], 8 + hlen
    for size in sizes:
        buffers.append(data[offset : offset + size])
        offset += size
    return _decode_node(tree, buffers, 0, [0])


def write_frame(stream: BinaryIO, payload: bytes) -> None:
    """Write one length-prefixed frame and flush."""
    stream.write(struct.pack(">Q", len(payload)) + payload)
    stream.flush()


def read_frame(stream: BinaryIO, max_bytes: int = 1 << 30) -> bytes:
    """Read one length-prefixed frame; raise EOFError when the stream ends."""
    prefix = _read_exact(stream, 8)
    (size,) = struct.unpack(">Q", prefix)
    if size > max_bytes:
        raise WireError(f"frame of {size} bytes exceeds the limit of {max_bytes}")
    return _read_exact(stream, size)


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    """Read exactly size bytes or raise EOFError."""
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _count(counter: list[int], depth: int) -> None:
    """Enforce the depth and item limits."""
    counter[0] += 1
    if depth > MAX_DEPTH:
        raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
    if counter[0] > MAX_ITEMS:
        raise WireError(f"value has more than {MAX_ITEMS} items")


def _encode_node(obj: Any, buffers: list[bytes], depth: int, counter: list[int]) -> Any:
    """Encode one value as a JSON-able node, appending raw data to buffers."""
    _count(counter, depth)
    if obj is None or type(obj) in (bool, str):
        return obj
    if type(obj) is int:
        return {"$int": hex(obj)}
    if type(obj) is float:
        return {"$float": repr(obj)}
    if isinstance(obj, torch.Tensor):
        return _encode_tensor(obj, buffers)
    if isinstance(obj, np.ndarray):
        return _encode_array(obj, buffers)
    if isinstance(obj, np.generic):
        return {"$npscalar": _encode_array(np.asarray(obj), buffers)}
    if isinstance(obj, torch.Generator):
        return {"$generator": _encode_tensor(obj.get_state(), buffers)}
    if isinstance(obj, torch.dtype):
        return {"$dtype": str(obj).removeprefix("torch.")}
    if type(obj) in (list, tuple, torch.Size):
        items = [_encode_node(v, buffers, depth + 1, counter) for v in obj]
        return {"$list" if type(obj) is list else "$tuple": items}
    if type(obj) is dict or type(obj).__name__ == "OrderedDict":
        pairs = []
        for key, value in obj.items():
            if type(key) not in (str, int):
                raise WireError(f"dict keys must be str or int, got {type(key).__name__}")
            pairs.append([_encode_node(key, buffers, depth + 1, counter),
                          _encode_node(value, buffers, depth + 1, counter)])
        return {"$dict": pairs}
    raise WireError(
        f"cannot return a value of type {type(obj).__module__}.{type(obj).__qualname__}; "
        "return tensors, arrays, numbers, strings, or lists/tuples/dicts of them"
    )


def _encode_tensor(t: torch.Tensor, buffers: list[bytes]) -> dict:
    """Encode a tensor's dtype, shape and raw bytes (dense, CPU, contiguous)."""
    t = torch.Tensor.detach(t)
    if t.layout != torch.strided:
        t = t.to_dense()
    t = t.cpu().contiguous()
    name = str(t.dtype).removeprefix("torch.")
    if name not in TORCH_DTYPES:
        raise WireError(f"tensors of dtype {name} cannot be returned")
    if t.is_conj():
        t = t.resolve_conj()
    buffers.append(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return {"$tensor": len(buffers) - 1, "dtype": name, "shape": list(t.shape)}


def _encode_array(a: np.ndarray, buffers: list[bytes]) -> dict:
    """Encode a numeric numpy array's dtype, shape and raw bytes."""
    if a.dtype.kind not in NUMPY_KINDS:
        raise WireError(f"arrays of dtype {a.dtype} cannot be returned")
    a = a.copy(order="C")  # keeps 0-d arrays 0-d, unlike np.ascontiguousarray
    buffers.append(a.tobytes())
    return {"$ndarray": len(buffers) - 1, "dtype": a.dtype.str, "shape": list(a.shape)}


def _decode_node(node: Any, buffers: list[bytes], depth: int, counter: list[int]) -> Any:
    """Decode one node made by _encode_node."""
    _count(counter, depth)
    if node is None or type(node) in (bool, str):
        return node
    if type(node) is not dict or len(node) == 0:
        raise WireError("malformed node")
    if "$int" in node:
        return int(_text(node["$int"]), 16)
    if "$float" in node:
        return float(_text(node["$float"]))
    if "$tensor" in node:
        return _decode_tensor(node, buffers)
    if "$ndarray" in node:
        return _decode_array(node, buffers)
    if "$npscalar" in node:
        return _decode_array(node["$npscalar"], buffers)[()]
    if "$generator" in node:
        gen = torch.Generator()
        gen.set_state(_decode_tensor(node["$generator"], buffers))
        return gen
    if "$dtype" in node:
        if node["$dtype"] not in TORCH_DTYPES:
            raise WireError("unknown dtype")
        return TORCH_DTYPES[node["$dtype"]]
    if "$list" in node or "$tuple" in node:
        items = [_decode_node(v, buffers, depth + 1, counter) for v in node.get("$list", node.get("$tuple"))]
        return items if "$list" in node else tuple(items)
    if "$dict" in node:
        out = {}
        for key, value in node["$dict"]:
            k = _decode_node(key, buffers, depth + 1, counter)
            if type(k) not in (str, int):
                raise WireError("malformed dict key")
            out[k] = _decode_node(value, buffers, depth + 1, counter)
        return out
    raise WireError("unknown node type")


def _text(value: Any) -> str:
    """A node field that must be a string."""
    if type(value) is not str:
        raise WireError("malformed scalar")
    return value


def _shape(node: dict) -> tuple[int, ...]:
    """Validate and return a node's shape."""
    shape = node.get("shape")
    if type(shape) is not list or not all(type(s) is int and s >= 0 for s in shape):
        raise WireError("malformed shape")
    return tuple(shape)


def _buffer(node: dict, key: str, buffers: list[bytes], nbytes: int) -> bytes:
    """Return the buffer a node points to, checking its length."""
    index = node.get(key)
    if type(index) is not int or not 0 <= index < len(buffers):
        raise WireError("malformed buffer index")
    if len(buffers[index]) != nbytes:
        raise WireError("buffer length does not match dtype and shape")
    return buffers[index]


def _decode_tensor(node: dict, buffers: list[bytes]) -> torch.Tensor:
    """Build a fresh plain tensor from a tensor node."""
    dtype = TORCH_DTYPES.get(node.get("dtype"))
    if dtype is None:
        raise WireError("unknown tensor dtype")
    shape = _shape(node)
    itemsize = torch.empty((), dtype=dtype).element_size()
    raw = _buffer(node, "$tensor", buffers, math.prod(shape) * itemsize)
    flat = torch.frombuffer(bytearray(raw), dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
    return flat.view(dtype).reshape(shape).clone()


def _decode_array(node: dict, buffers: list[bytes]) -> np.ndarray:
    """Build a fresh numpy array from an array node."""
    try:
        dtype = np.dtype(node.get("dtype"))
    except TypeError:
        raise WireError("unknown array dtype") from None
    if dtype.kind not in NUMPY_KINDS:
        raise WireError("array dtype not allowed")
    shape = _shape(node)
    raw = _buffer(node, "$ndarray", buffers, math.prod(shape) * dtype.itemsize)
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
