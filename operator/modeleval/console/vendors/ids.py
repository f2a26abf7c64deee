"""The vendors' identifiers and the Kubernetes objects they stand for (pure).

Nothing here is stored outside the objects themselves, so a console restart, a second replica
and ``kubectl`` all agree (docs/source-mapping.md, "Identifiers"):

- Qianfan ``taskId``: the EvalTask's ``metadata.uid`` as is;
- ZStack task ``uuid``: the EvalTask's uid without its dashes (ZStack's 32-hex form);
- ZStack group ``uuid``: the group's ``modeleval.io/zstack-uuid`` label (the uuid a client
  PUT), else its uid without dashes;
- ``modelId``, ``modelServiceGroupUuids[]``, judge ``apiName``: a ModelEvalServiceGroup by
  name, by ``spec.modelId`` or by ZStack uuid, in that order (`group_matches`);
- ``versionId``, ``datasetUuids[]``, ``inferDatasetId``: a dataset source
  (`dataset_source`).

Ids are compared without dashes and case (``ame-…`` style ids are not invented: the uid is
the id).
"""

from __future__ import annotations

import re
from typing import Any

from modeleval import constants as c

ZSTACK_UUID_LABEL = f"{c.GROUP}/zstack-uuid"
"""On a group created through ZStack's PUT: the uuid in the path."""
VENDOR_LABEL = f"{c.GROUP}/vendor-api"
"""On objects a vendor API created: ``qianfan`` or ``zstack``."""
DISPLAY_NAME_ANNOTATION = f"{c.GROUP}/display-name"
"""A vendor name that is not a Kubernetes name (kept as written; ``metadata.name`` is derived)."""
DATASET_KEY_ANNOTATION = f"{c.GROUP}/dataset-key"
"""On a ConfigMap with several keys: which one is the dataset file."""

LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


def compact(value: str) -> str:
    """An id as compared: no dashes, lower case."""
    return value.replace("-", "").lower()


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    found = obj.get("metadata")
    return found if isinstance(found, dict) else {}


def uid(obj: dict[str, Any]) -> str:
    return str(meta(obj).get("uid") or "")


def qianfan_task_id(obj: dict[str, Any]) -> str:
    return uid(obj)


def zstack_task_uuid(obj: dict[str, Any]) -> str:
    return compact(uid(obj))


def zstack_group_uuid(obj: dict[str, Any]) -> str:
    labels = meta(obj).get("labels") or {}
    return str(labels.get(ZSTACK_UUID_LABEL) or compact(uid(obj)))


def has_id(obj: dict[str, Any], wanted: str, *, group: bool = False) -> bool:
    """Whether ``obj`` is the object a vendor id names (a task by uid; a group also by its
    ZStack uuid label)."""
    key = compact(wanted)
    if not key:
        return False
    if compact(uid(obj)) == key:
        return True
    return group and compact(zstack_group_uuid(obj)) == key


def namespace(obj: dict[str, Any]) -> str:
    return str(meta(obj).get("namespace") or "")


def name(obj: dict[str, Any]) -> str:
    return str(meta(obj).get("name") or "")


def group_matches(obj: dict[str, Any], ref: str) -> int:
    """How well group ``obj`` matches a model reference: 3 by name, 2 by ``spec.modelId``, 1
    by ZStack uuid / uid, 0 not at all."""
    if name(obj) == ref:
        return 3
    spec = obj.get("spec") or {}
    if isinstance(spec, dict) and spec.get("modelId") == ref:
        return 2
    return 1 if has_id(obj, ref, group=True) else 0


# -- datasets --------------------------------------------------------------------------------


def dataset_source(value: str) -> tuple[dict[str, Any] | None, str | None]:
    """A vendor dataset id as a dataset source, without reading anything.

    ``(source, None)`` for ids that say where the data is; ``(None, configmap)`` for a plain
    name, which names a ConfigMap whose key must be read from the cluster:

    - ``s3://bucket/key``, ``bos:/bucket/key`` or ``bos://bucket/key`` -> ``s3``
    - ``http://…``, ``https://…`` -> ``url``
    - ``pvc:<claim>/<path>`` -> ``pvc``
    - ``<configmap>/<key>`` -> ``configMap``
    - ``<configmap>`` -> the ConfigMap's only key (or the one its ``modeleval.io/dataset-key``
      annotation names)
    """
    text = value.strip()
    lower = text.lower()
    for prefix in ("s3://", "bos://", "bos:/"):
        if lower.startswith(prefix):
            rest = text[len(prefix) :].lstrip("/")
            bucket, _, key = rest.partition("/")
            if not bucket or not key:
                raise ValueError(f"{value!r} needs a bucket and a key: s3://bucket/key")
            return {"s3": {"url": f"s3://{bucket}/{key}"}}, None
    if lower.startswith(("http://", "https://")):
        if any(ch.isspace() for ch in text):
            raise ValueError(f"{value!r} is not a URL")
        return {"url": text}, None
    if lower.startswith("pvc:"):
        claim, _, path = text[4:].partition("/")
        if not DNS_SUBDOMAIN.match(claim) or not path:
            raise ValueError(f"{value!r} is not pvc:<claim name>/<path>")
        return {"pvc": {"claimName": claim, "path": path}}, None
    configmap, slash, key = text.partition("/")
    if not DNS_SUBDOMAIN.match(configmap):
        raise ValueError(
            f"{value!r} is not a dataset id: name a ConfigMap (lower-case DNS name, optionally "
            "/key), pvc:<claim>/<path>, s3://bucket/key or an http(s) URL"
        )
    if slash:
        if not key or not re.fullmatch(r"[-._a-zA-Z0-9]+", key):
            raise ValueError(f"{value!r}: {key!r} is not a ConfigMap key")
        return {"configMap": {"name": configmap, "key": key}}, None
    return None, configmap


def configmap_key(configmap: dict[str, Any]) -> str:
    """The dataset key of a ConfigMap: the annotated one, else its only key."""
    annotations = meta(configmap).get("annotations") or {}
    keys = sorted(
        str(k) for k in {*(configmap.get("data") or {}), *(configmap.get("binaryData") or {})}
    )
    chosen = annotations.get(DATASET_KEY_ANNOTATION)
    if chosen:
        if chosen not in keys:
            raise ValueError(
                f"ConfigMap {name(configmap)}: annotation {DATASET_KEY_ANNOTATION} names "
                f"{chosen!r}, which it does not hold"
            )
        return str(chosen)
    if len(keys) != 1:
        raise ValueError(
            f"ConfigMap {name(configmap)} holds {len(keys)} keys ({', '.join(keys) or 'none'}): "
            f"write <name>/<key>, or annotate it with {DATASET_KEY_ANNOTATION}"
        )
    return keys[0]


def dataset_spec(value: str, source: dict[str, Any]) -> dict[str, Any]:
    """An EvalTask ``dataset`` for vendor id ``value`` (named by it when it fits)."""
    spec: dict[str, Any] = dict(source)
    if len(value) <= 63:
        spec = {"name": value, **spec}
    return spec


def dataset_id(spec: Any) -> str:
    """A dataset source as a vendor id: its name, else where it is (the reverse of
    `dataset_source`)."""
    if not isinstance(spec, dict):
        return ""
    if spec.get("name"):
        return str(spec["name"])
    if isinstance(spec.get("configMap"), dict):
        return f"{spec['configMap'].get('name', '')}/{spec['configMap'].get('key', '')}"
    if isinstance(spec.get("pvc"), dict):
        return f"pvc:{spec['pvc'].get('claimName', '')}/{spec['pvc'].get('path', '')}"
    if isinstance(spec.get("s3"), dict):
        return str(spec["s3"].get("url") or "")
    if spec.get("url"):
        return str(spec["url"])
    if spec.get("inline") is not None:
        return "inline"
    return ""
