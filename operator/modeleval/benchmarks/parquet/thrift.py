"""Thrift's compact protocol, decode only: parquet's footer and page headers are written in it.

A struct decodes to ``{field id: value}``; lists and sets to lists; maps to dicts; binary to
bytes. No schema is needed to decode, so unknown (newer) fields are read and ignored.
"""

from __future__ import annotations

import struct
from typing import Any

STOP, TRUE, FALSE, BYTE, I16, I32, I64, DOUBLE, BINARY, LIST, SET, MAP, STRUCT = range(13)


class ThriftError(ValueError):
    """The bytes are not a valid compact-protocol message."""


class Reader:
    def __init__(self, data: bytes | memoryview, position: int = 0) -> None:
        self.data = data
        self.pos = position

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise ThriftError("unexpected end of data")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def varint(self) -> int:
        data, pos = self.data, self.pos
        result = shift = 0
        try:
            while True:
                b = data[pos]
                pos += 1
                result |= (b & 0x7F) << shift
                if not b & 0x80:
                    self.pos = pos
                    return result
                shift += 7
                if shift > 70:
                    raise ThriftError("varint too long")
        except IndexError:
            raise ThriftError("unexpected end of data") from None

    def zigzag(self) -> int:
        n = self.varint()
        return (n >> 1) ^ -(n & 1)

    def binary(self) -> bytes:
        size = self.varint()
        end = self.pos + size
        if end > len(self.data):
            raise ThriftError("binary field runs past the end of data")
        value = bytes(self.data[self.pos : end])
        self.pos = end
        return value

    def value(self, kind: int) -> Any:
        if kind == TRUE:
            return True
        if kind == FALSE:
            return False
        if kind == BYTE:
            b = self.byte()
            return b - 256 if b > 127 else b
        if kind in (I16, I32, I64):
            return self.zigzag()
        if kind == DOUBLE:
            end = self.pos + 8
            (number,) = struct.unpack("<d", bytes(self.data[self.pos : end]))
            self.pos = end
            return number
        if kind == BINARY:
            return self.binary()
        if kind in (LIST, SET):
            header = self.byte()
            size, element = header >> 4, header & 0x0F
            if size == 15:
                size = self.varint()
            if element in (TRUE, FALSE):  # booleans in a list are whole bytes: 1 true, 2 false
                return [self.byte() == TRUE for _ in range(size)]
            return [self.value(element) for _ in range(size)]
        if kind == MAP:
            size = self.varint()
            if size == 0:
                return {}
            types = self.byte()
            return {self.value(types >> 4): self.value(types & 0x0F) for _ in range(size)}
        if kind == STRUCT:
            return self.struct()
        raise ThriftError(f"unknown compact type {kind}")

    def struct(self) -> dict[int, Any]:
        fields: dict[int, Any] = {}
        last = 0
        data = self.data
        while True:
            if self.pos >= len(data):
                raise ThriftError("unexpected end of data")
            header = data[self.pos]
            self.pos += 1
            kind = header & 0x0F
            if kind == STOP:
                return fields
            delta = header >> 4
            last = last + delta if delta else self.zigzag()
            if kind in (I32, I64, I16):  # the common case, inlined
                fields[last] = self.zigzag()
            else:
                fields[last] = self.value(kind)
