"""Decoding the protobuf bodies of kubectl's typed generators, from hand-built messages."""

from __future__ import annotations

import pytest

from modeleval_testkit.apiserver.protobuf import MAGIC, Undecodable, decode


def varint(value: int) -> bytes:
    out = b""
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field(number: int, payload: bytes | str | int) -> bytes:
    if isinstance(payload, int):
        return varint(number << 3) + varint(payload)
    data = payload.encode() if isinstance(payload, str) else payload
    return varint(number << 3 | 2) + varint(len(data)) + data


def entry(number: int, key: str, value: str | bytes) -> bytes:
    return field(number, field(1, key) + field(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    type_meta = field(1, api_version) + field(2, kind)
    return (
        MAGIC
        + field(1, type_meta)
        + field(2, raw)
        + field(4, "application/vnd.kubernetes.protobuf")
    )


def test_configmap_with_labels_and_data() -> None:
    meta = field(1, "cm") + field(3, "ns") + entry(11, "app", "x")
    raw = field(1, meta) + entry(2, "a", "1") + entry(2, "b" * 200, "2") + field(4, 1)
    assert decode(envelope("v1", "ConfigMap", raw)) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "ns", "labels": {"app": "x"}},
        "data": {"a": "1", "b" * 200: "2"},
        "immutable": True,
    }


def test_secret_bytes_become_base64() -> None:
    raw = field(1, field(1, "s")) + entry(2, "token", b"\x00\xff") + field(3, "Opaque")
    secret = decode(envelope("v1", "Secret", raw))
    assert secret["data"] == {"token": "AP8="}
    assert secret["type"] == "Opaque"


def test_subject_access_review() -> None:
    attrs = field(1, "team") + field(2, "list") + field(5, "pods")
    spec = field(1, attrs) + field(3, "alice") + field(4, "devs") + field(4, "ops")
    review = decode(envelope("authorization.k8s.io/v1", "SubjectAccessReview", field(2, spec)))
    assert review["spec"] == {
        "resourceAttributes": {"namespace": "team", "verb": "list", "resource": "pods"},
        "user": "alice",
        "groups": ["devs", "ops"],
    }


@pytest.mark.parametrize("body", [b"{}", envelope("apps/v1", "Deployment", b""), MAGIC + b"\x0a"])
def test_unknown_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(Undecodable):
        decode(body)
