"""What a task references, resolved on this machine for ``modeleval run``, as a cluster would.

In a cluster the operator mounts the dataset ConfigMap or PVC into the runner pod and hands it
the Secrets the task names. Locally the same objects come from the documents given with
``-f`` (ConfigMaps and Secrets, as ``kubectl apply -f`` would create them), from options
(``--dataset FILE`` overrides the dataset; ``--pvc CLAIM=DIR`` stands for a PVC), or, for
Secrets, from the environment variable the error names.

    refs = LocalObjects.from_documents(docs, pvc_dirs={"data": Path("/srv/data")})
    path = refs.dataset_file(task.spec.dataset, namespace, work_dir)   # or LocalRunError
    env = refs.secret_env(task.spec)                                  # {ENV_VAR: value}
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modeleval.api import EvalTaskSpec, SecretKeySelector, secret_env_name
from modeleval.api.datasets import DataSource
from modeleval.builders.evaltask import secret_refs


class LocalRunError(Exception):
    """The task cannot run locally; the message says why and what to do."""


def _key(kind: str, namespace: str | None, name: str) -> tuple[str, str, str]:
    return (kind, namespace or "default", name)


@dataclass
class LocalObjects:
    """ConfigMaps and Secrets given with ``-f``, and local directories standing for PVCs."""

    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    pvc_dirs: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def from_documents(
        cls, documents: Iterable[Mapping[str, Any]], pvc_dirs: Mapping[str, Path] | None = None
    ) -> LocalObjects:
        found = cls(pvc_dirs=dict(pvc_dirs or {}))
        for doc in documents:
            kind = doc.get("kind")
            meta = doc.get("metadata") or {}
            if kind in ("ConfigMap", "Secret") and meta.get("name"):
                found.objects[_key(kind, meta.get("namespace"), meta["name"])] = dict(doc)
        return found

    def _find(self, kind: str, namespace: str | None, name: str) -> dict[str, Any] | None:
        exact = self.objects.get(_key(kind, namespace, name))
        if exact is not None:
            return exact
        # A document without a namespace is created in the task's namespace by kubectl.
        same = [o for (k, _, n), o in self.objects.items() if k == kind and n == name]
        return same[0] if len(same) == 1 else None

    def config_map_value(self, namespace: str | None, name: str, key: str, what: str) -> bytes:
        doc = self._find("ConfigMap", namespace, name)
        if doc is None:
            raise LocalRunError(
                f"{what}: ConfigMap {name} (key {key}) is not among the files given with -f; "
                f"add -f FILE holding the ConfigMap"
            )
        if key in (doc.get("data") or {}):
            return str(doc["data"][key]).encode("utf-8")
        if key in (doc.get("binaryData") or {}):
            return _decode(doc["binaryData"][key], f"ConfigMap {name} binaryData.{key}")
        raise LocalRunError(f"{what}: ConfigMap {name} has no key {key}")

    def dataset_file(
        self,
        dataset: DataSource | None,
        namespace: str | None,
        work_dir: Path,
        where: str = "spec.dataset",
    ) -> Path | None:
        """A local file holding a dataset (or result set) given by a ConfigMap or a PVC; None
        for inline / URL / S3 ones. ``where``: the field, for messages."""
        if dataset is None:
            return None
        override = " (or pass --dataset FILE)" if where == "spec.dataset" else ""
        if dataset.config_map is not None:
            ref = dataset.config_map
            data = self.config_map_value(
                namespace, ref.name, ref.key, f"{where}.configMap{override}"
            )
            path = work_dir / where.replace("[", "-").replace("]", "") / Path(ref.key).name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return path
        if dataset.pvc is not None:
            claim, inner = dataset.pvc.claim_name, dataset.pvc.path.lstrip("/")
            base = self.pvc_dirs.get(claim)
            if base is None:
                raise LocalRunError(
                    f"{where}.pvc: PVC {claim} is a cluster volume; pass --pvc {claim}=DIR "
                    f"(a local directory holding {inner})"
                    + (" or --dataset FILE" if override else "")
                )
            path = base / inner
            if not path.is_file():
                raise LocalRunError(f"{where}.pvc: {path} not found (--pvc {claim}={base})")
            return path
        return None

    def secret_value(self, namespace: str | None, ref: SecretKeySelector) -> str | None:
        doc = self._find("Secret", namespace, ref.name)
        if doc is None:
            return None
        if ref.key in (doc.get("stringData") or {}):
            return str(doc["stringData"][ref.key])
        if ref.key in (doc.get("data") or {}):
            return _decode(doc["data"][ref.key], f"Secret {ref.name} data.{ref.key}").decode()
        raise LocalRunError(f"Secret {ref.name} given with -f has no key {ref.key}")

    def secret_env(self, spec: EvalTaskSpec, namespace: str | None) -> dict[str, str]:
        """Environment variables for every Secret the task names (models, judge, S3
        credentials), from ``-f`` documents or the environment; a missing one is an error
        naming the variable to export."""
        import os

        env: dict[str, str] = {}
        for ref in secret_refs(spec):
            name = secret_env_name(ref)
            value = self.secret_value(namespace, ref)
            if value is None:
                value = os.environ.get(name)
            if value is None:
                raise LocalRunError(
                    f"the task needs Secret {ref.name}/{ref.key}: add -f FILE holding the "
                    f"Secret, or export {name}=VALUE"
                )
            env[name] = value
        return env


def _decode(value: Any, where: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise LocalRunError(f"{where}: not valid base64") from None
