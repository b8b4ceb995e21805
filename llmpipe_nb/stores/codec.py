"""How stored answers are compressed: zstd where available, else zlib, told apart by their
first bytes, so a store reads whatever it finds (an entry written before compression
included, which is kept as text).

Answers are JSON with much repeated structure (the provider's raw body beside the parsed
answer), so they shrink several times over; see the caching docs for measured ratios.
zstd comes from the standard library (Python 3.14's `compression.zstd`) or from the
`zstandard` package (install llmpipe_nb[zstd]).
"""

from __future__ import annotations

import importlib
import threading
import zlib
from typing import Any

from ..errors import StoreError

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # every zstd frame starts with it
ZLIB_LEVEL = 6
ZSTD_LEVEL = 3
CODECS = ("zstd", "zlib")

_local = threading.local()  # zstandard's (de)compressors are not shared between threads


def _zstd() -> Any:
    """The zstd module in use (stdlib or zstandard), or None."""
    found: Any = getattr(_zstd, "found", False)
    if found is False:
        found = None
        for name in ("compression.zstd", "zstandard"):
            try:
                found = importlib.import_module(name)
                break
            except ImportError:
                continue
        _zstd.found = found  # type: ignore[attr-defined]
    return found


def best() -> str:
    """The codec new entries are written with: "zstd" where available, else "zlib"."""
    return "zstd" if _zstd() is not None else "zlib"


def pack(text: str, codec: str | None = None) -> bytes:
    """`text` compressed with `codec` (default: the best available)."""
    raw = text.encode()
    if (codec or best()) == "zlib":
        return zlib.compress(raw, ZLIB_LEVEL)
    zstd = _zstd()
    if zstd is None:
        raise StoreError(
            "zstd compression is not available: install llmpipe_nb[zstd], or use codec 'zlib'."
        )
    if hasattr(zstd, "ZstdCompressor"):  # the zstandard package
        compressor = getattr(_local, "compressor", None)
        if compressor is None:
            compressor = _local.compressor = zstd.ZstdCompressor(level=ZSTD_LEVEL)
        return bytes(compressor.compress(raw))
    return bytes(zstd.compress(raw, level=ZSTD_LEVEL))


def unpack(value: str | bytes | memoryview) -> str:
    """The text of a stored value: zstd, zlib, or plain (an entry from before compression)."""
    if isinstance(value, str):
        return value
    data = bytes(value)
    try:
        if data.startswith(ZSTD_MAGIC):
            return _unzstd(data).decode()
        if data[:1] == b"\x78":  # a zlib stream; JSON never starts with "x"
            return zlib.decompress(data).decode()
        return data.decode()
    except (zlib.error, UnicodeDecodeError) as error:
        raise StoreError(f"A stored entry is corrupt ({error}): clear the store.") from error


def _unzstd(data: bytes) -> bytes:
    zstd = _zstd()
    if zstd is None:
        raise StoreError(
            "This entry is zstd-compressed and zstd is not available here: "
            "install llmpipe_nb[zstd] to read it."
        )
    try:
        if hasattr(zstd, "ZstdCompressor"):  # the zstandard package
            decompressor = getattr(_local, "decompressor", None)
            if decompressor is None:
                decompressor = _local.decompressor = zstd.ZstdDecompressor()
            return bytes(decompressor.decompress(data))
        return bytes(zstd.decompress(data))
    except Exception as error:  # each zstd binding has its own error class
        raise StoreError(f"A stored entry is corrupt ({error}): clear the store.") from error
