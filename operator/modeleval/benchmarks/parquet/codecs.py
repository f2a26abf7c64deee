"""Page decompression: snappy (pure Python), gzip (zlib), zstd and brotli when installed.

Hugging Face Hub parquet files (written by pyarrow through ``datasets`` and by the Hub's
converter) are snappy-compressed; snappy is small enough to decode here, so the runner image
needs no compiled parquet library. zstd needs Python 3.14's ``compression.zstd`` or the
``zstandard`` package, brotli the ``brotli`` package; without them such a file fails with a
message saying so.
"""

from __future__ import annotations

import importlib
import zlib
from typing import Any

UNCOMPRESSED, SNAPPY, GZIP, LZO, BROTLI, LZ4, ZSTD, LZ4_RAW = range(8)
NAMES = {
    0: "UNCOMPRESSED",
    1: "SNAPPY",
    2: "GZIP",
    3: "LZO",
    4: "BROTLI",
    5: "LZ4",
    6: "ZSTD",
    7: "LZ4_RAW",
}


class CodecError(ValueError):
    """A page cannot be decompressed (corrupt, or a codec that is not available)."""


def snappy_decompress(data: bytes | memoryview) -> bytes:
    """Decode one raw snappy block (the format parquet pages use; no framing)."""
    src = bytes(data)
    pos = length = shift = 0
    limit = len(src) * 256 + 64  # snappy never expands more than this (copies <= 64 bytes)
    while True:  # preamble: uncompressed length as a varint
        if pos >= len(src):
            raise CodecError("snappy: truncated length")
        b = src[pos]
        pos += 1
        length |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
    if length > limit:
        raise CodecError("snappy: declared length out of range")
    out = bytearray()
    produced = 0
    end = len(src)
    from_bytes = int.from_bytes
    while pos < end:
        tag = src[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            size = tag >> 2
            if size >= 60:
                extra = size - 59
                size = from_bytes(src[pos : pos + extra], "little")
                pos += extra
            size += 1
            if pos + size > end:
                raise CodecError("snappy: literal runs past the end")
            out += src[pos : pos + size]
            pos += size
            produced += size
            if produced > length:
                raise CodecError("snappy: more bytes than the header declares")
            continue
        if kind == 1:
            size = 4 + ((tag >> 2) & 7)
            offset = ((tag >> 5) << 8) | src[pos]
            pos += 1
        elif kind == 2:
            size = (tag >> 2) + 1
            offset = src[pos] | (src[pos + 1] << 8)
            pos += 2
        else:
            size = (tag >> 2) + 1
            offset = from_bytes(src[pos : pos + 4], "little")
            pos += 4
        if offset == 0 or offset > produced:
            raise CodecError("snappy: copy offset out of range")
        start = produced - offset
        if offset >= size:
            out += out[start : start + size]
        else:  # overlapping copy: the pattern of `offset` bytes repeats
            pattern = out[start:]
            whole, rest = divmod(size, offset)
            out += pattern * whole + pattern[:rest]
        produced += size
        if produced > length:
            raise CodecError("snappy: more bytes than the header declares")
    if len(out) != length:
        raise CodecError(f"snappy: got {len(out)} bytes, header says {length}")
    return bytes(out)


def _module(*names: str) -> Any:
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def decompress(codec: int, data: bytes | memoryview, size: int) -> bytes:
    """``data`` decompressed to ``size`` bytes."""
    if codec == UNCOMPRESSED:
        return bytes(data)
    if codec == SNAPPY:
        return snappy_decompress(data)
    if codec == GZIP:
        try:  # no more than the page header declares (a gzip bomb stops there)
            out = zlib.decompressobj(47).decompress(bytes(data), size)
        except zlib.error as exc:
            raise CodecError(f"gzip: {exc}") from None
        return out
    if codec == ZSTD:
        zstd = _module("compression.zstd")
        if zstd is not None:
            return bytes(zstd.decompress(bytes(data)))
        zstandard = _module("zstandard")
        if zstandard is not None:
            return bytes(zstandard.ZstdDecompressor().decompress(bytes(data), max_output_size=size))
        raise CodecError(
            "ZSTD-compressed parquet needs the 'zstandard' package (pip install zstandard) or "
            "Python 3.14"
        )
    if codec == BROTLI:
        brotli = _module("brotli")
        if brotli is None:
            raise CodecError("BROTLI-compressed parquet needs the 'brotli' package")
        return bytes(brotli.decompress(bytes(data)))
    raise CodecError(f"{NAMES.get(codec, codec)}-compressed parquet is not supported")
