"""Decode the few protobuf request bodies kubectl sends, for kinds it has typed generators for.

kubectl's typed clients (``kubectl create namespace|configmap|secret``, ``kubectl auth can-i``)
send ``application/vnd.kubernetes.protobuf`` bodies. Decoding needs each kind's field
numbers (from k8s.io/api ``generated.proto``), so only these kinds are understood: Namespace,
ConfigMap, Secret, ServiceAccount, SelfSubjectAccessReview and SubjectAccessReview. Other
protobuf bodies are answered 415, as documented.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
Field = tuple[int, int, Any]  # (number, wire type, int or bytes)
MAGIC = b"k8s\x00"


class Undecodable(ValueError):
    """Not a protobuf body the emulator understands."""


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise Undecodable("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> list[Field]:
    """The fields of one protobuf message, in order."""
    out: list[Field] = []
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            out.append((number, wire, value))
        elif wire == 2:
            size, pos = _varint(data, pos)
            out.append((number, wire, data[pos : pos + size]))
            pos += size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            out.append((number, wire, data[pos : pos + width]))
            pos += width
        else:
            raise Undecodable(f"unsupported wire type {wire}")
    return out


def _text(value: Any) -> str:
    return bytes(value).decode()


def _map(entries: list[bytes], decode_value: Callable[[bytes], Any] = _text) -> Obj:
    out: Obj = {}
    for entry in entries:
        parts = {num: val for num, _, val in fields(entry)}
        out[_text(parts.get(1, b""))] = decode_value(parts.get(2, b""))
    return out


def _message(
    data: bytes,
    strings: dict[int, str],
    maps: dict[int, str] | None = None,
    bools: dict[int, str] | None = None,
) -> Obj:
    """Decode string, bool and map<string,string> fields named in the tables."""
    out: Obj = {}
    grouped: dict[int, list[Any]] = {}
    for number, _, value in fields(data):
        grouped.setdefault(number, []).append(value)
    for number, name in strings.items():
        if number in grouped:
            out[name] = _text(grouped[number][-1])
    for number, name in (maps or {}).items():
        if number in grouped:
            out[name] = _map(grouped[number])
    for number, name in (bools or {}).items():
        if number in grouped:
            out[name] = bool(grouped[number][-1])
    return out


def _metadata(data: bytes) -> Obj:
    return _message(
        data, {1: "name", 2: "generateName", 3: "namespace"}, {11: "labels", 12: "annotations"}
    )


def _sub(data: bytes, number: int) -> bytes | None:
    found = [value for num, _, value in fields(data) if num == number]
    return bytes(found[-1]) if found else None


def _with_metadata(data: bytes, obj: Obj) -> Obj:
    meta = _sub(data, 1)
    obj["metadata"] = _metadata(meta) if meta is not None else {}
    return obj


def _configmap(data: bytes) -> Obj:
    obj = _with_metadata(data, {})
    grouped = [(n, v) for n, _, v in fields(data)]
    if any(n == 2 for n, _ in grouped):
        obj["data"] = _map([v for n, v in grouped if n == 2])
    if any(n == 3 for n, _ in grouped):
        obj["binaryData"] = _map(
            [v for n, v in grouped if n == 3], lambda b: base64.b64encode(b).decode()
        )
    if any(n == 4 for n, _ in grouped):
        obj["immutable"] = bool([v for n, v in grouped if n == 4][-1])
    return obj


def _secret(data: bytes) -> Obj:
    obj = _with_metadata(data, {})
    grouped = [(n, v) for n, _, v in fields(data)]
    if any(n == 2 for n, _ in grouped):
        obj["data"] = _map(
            [v for n, v in grouped if n == 2], lambda b: base64.b64encode(b).decode()
        )
    obj.update(_message(data, {3: "type"}, {4: "stringData"}, {5: "immutable"}))
    return obj


def _review(data: bytes) -> Obj:
    spec = _sub(data, 2) or b""
    out: Obj = {}
    grouped = {n: v for n, _, v in fields(spec)}
    keys = {
        1: "namespace",
        2: "verb",
        3: "group",
        4: "version",
        5: "resource",
        6: "subresource",
        7: "name",
    }
    for number, wrapper in ((1, "resourceAttributes"),):
        if number in grouped:
            out[wrapper] = _message(bytes(grouped[number]), keys)
    if 2 in grouped:
        out["nonResourceAttributes"] = _message(bytes(grouped[2]), {1: "path", 2: "verb"})
    subject = _message(spec, {3: "user", 6: "uid"})
    groups = [_text(v) for n, _, v in fields(spec) if n == 4]
    if groups:
        subject["groups"] = groups
    return {"metadata": {}, "spec": {**out, **subject}}


DECODERS: dict[str, Callable[[bytes], Obj]] = {
    "Namespace": lambda data: _with_metadata(data, {}),
    "ServiceAccount": lambda data: _with_metadata(data, {}),
    "ConfigMap": _configmap,
    "Secret": _secret,
    "SelfSubjectAccessReview": _review,
    "SubjectAccessReview": _review,
}


def decode(body: bytes) -> Obj:
    """A protobuf request body as the JSON object it stands for; raises `Undecodable`."""
    if not body.startswith(MAGIC):
        raise Undecodable("missing the k8s protobuf envelope")
    envelope = {num: val for num, _, val in fields(body[len(MAGIC) :])}
    type_meta = _message(bytes(envelope.get(1, b"")), {1: "apiVersion", 2: "kind"})
    decoder = DECODERS.get(type_meta.get("kind", ""))
    if decoder is None:
        raise Undecodable(f"protobuf bodies of kind {type_meta.get('kind')!r} are not supported")
    return {**type_meta, **decoder(bytes(envelope.get(2, b"")))}
