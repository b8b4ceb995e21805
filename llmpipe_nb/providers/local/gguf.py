"""Reading a GGUF file's header: that it is one, and the facts we need, before loading it.

Loading a model costs seconds and memory, and llama.cpp reports a bad file with a C-level
log line rather than an error. Reading the header first (the magic bytes, then the
metadata's scalar values; arrays such as the vocabulary are skipped) gives a one-sentence
error for a missing, unreadable or foreign file, and the context window from the file
itself, without loading anything.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from functools import cache
from typing import Any, BinaryIO

from ...errors import ConfigError

MAGIC = b"GGUF"
_SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True, slots=True)
class GGUFInfo:
    """What the header says: the architecture, its name and its training context."""

    path: str
    architecture: str | None
    name: str | None
    context_length: int | None


def _read(f: BinaryIO, size: int) -> bytes:
    data = f.read(size)
    if len(data) != size:
        raise EOFError
    return data


def _string(f: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", _read(f, 8))
    return _read(f, length).decode("utf-8", errors="replace")


def _value(f: BinaryIO, kind: int) -> Any:
    """A scalar or string value; an array is skipped (None)."""
    if kind in _SCALARS:
        fmt = "<" + _SCALARS[kind]
        return struct.unpack(fmt, _read(f, struct.calcsize(fmt)))[0]
    if kind == _STRING:
        return _string(f)
    if kind == _ARRAY:
        item, count = struct.unpack("<IQ", _read(f, 12))
        if item in _SCALARS:
            f.seek(count * struct.calcsize("<" + _SCALARS[item]), os.SEEK_CUR)
        else:
            for _ in range(count):
                _value(f, item)
        return None
    raise ValueError(f"unknown GGUF value type {kind}")


def _metadata(f: BinaryIO) -> dict[str, Any]:
    version, _tensors, count = struct.unpack("<IQQ", _read(f, 20))
    if version < 2:
        raise ValueError(f"GGUF version {version} is too old")
    values: dict[str, Any] = {}
    for _ in range(count):
        key = _string(f)
        (kind,) = struct.unpack("<I", _read(f, 4))
        value = _value(f, kind)
        if value is not None:
            values[key] = value
    return values


def read_info(path: str | os.PathLike[str]) -> GGUFInfo:
    """The header facts of a GGUF file; ConfigError for a missing, unreadable or foreign file."""
    full = os.path.abspath(os.path.expanduser(os.fspath(path)))
    try:
        stat = os.stat(full)
    except OSError:
        raise ConfigError(
            f"No model file at {full}: give the path of a .gguf file (model='path/to/model.gguf')."
        ) from None
    return _read_info(full, stat.st_mtime_ns, stat.st_size)


@cache
def _read_info(path: str, mtime_ns: int, size: int) -> GGUFInfo:
    try:
        with open(path, "rb") as f:
            if f.read(4) != MAGIC:
                raise ConfigError(
                    f"{path} is not a GGUF file (it does not start with 'GGUF'): convert the "
                    "model to GGUF (llama.cpp's convert_hf_to_gguf.py) or pick a .gguf file."
                )
            values = _metadata(f)
    except OSError as error:
        raise ConfigError(
            f"Cannot read the model file {path} ({error.strerror or error}): check its permissions."
        ) from None
    except (EOFError, ValueError, struct.error):
        raise ConfigError(
            f"{path} is a damaged or unsupported GGUF file (its header does not parse): "
            "download or convert it again."
        ) from None
    arch = values.get("general.architecture")
    context = values.get(f"{arch}.context_length")
    return GGUFInfo(
        path=path,
        architecture=arch if isinstance(arch, str) else None,
        name=values.get("general.name") if isinstance(values.get("general.name"), str) else None,
        context_length=int(context) if isinstance(context, int) else None,
    )
