"""Pod volumes as local directories: PVC, emptyDir, ConfigMap, Secret, projected, downwardAPI."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

from .client import CONFIGMAPS, SECRETS, JsonDict, KubeClient

SA_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"

TokenSource = Callable[[str, str, str | None], Awaitable[str]]
"""``(namespace, serviceAccountName, audience)`` -> bearer token of that ServiceAccount, bound
to ``audience`` (None: the API server's own)."""

TextFilter = Callable[[str], str]


class NotReady(Exception):
    """A pod cannot start yet; the kubelet retries. ``reason``/``message`` go to the status."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def field_value(pod: JsonDict, path: str) -> str:
    """A downward-API ``fieldPath`` of ``pod`` (``metadata.labels['app']`` style included)."""
    meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
    for prefix, source in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((meta.get(source) or {}).get(path[len(prefix) + 2 : -2], ""))
        if path == prefix:
            items = sorted((meta.get(source) or {}).items())
            return "\n".join(f'{k}="{v}"' for k, v in items)
    simple = {
        "metadata.name": meta.get("name"),
        "metadata.namespace": meta.get("namespace"),
        "metadata.uid": meta.get("uid"),
        "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
        "status.podIP": status.get("podIP", "127.0.0.1"),
        "status.hostIP": status.get("hostIP", "127.0.0.1"),
        "status.podIPs": status.get("podIP", "127.0.0.1"),
    }
    if path not in simple:
        raise NotReady("CreateContainerConfigError", f"unsupported fieldPath {path!r}")
    return str(simple[path] or "")


def decode_secret(secret: JsonDict) -> dict[str, bytes]:
    data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
    data.update({k: v.encode() for k, v in (secret.get("stringData") or {}).items()})
    return data


def configmap_data(configmap: JsonDict) -> dict[str, bytes]:
    data = {k: str(v).encode() for k, v in (configmap.get("data") or {}).items()}
    data.update({k: base64.b64decode(v) for k, v in (configmap.get("binaryData") or {}).items()})
    return data


class VolumeBuilder:
    """Materialises the volumes of one pod under ``root``."""

    def __init__(
        self,
        client: KubeClient,
        *,
        pod: JsonDict,
        root: Path,
        pvc_root: Path,
        tokens: TokenSource,
        api_url: str,
        text_filter: TextFilter,
    ) -> None:
        self.client = client
        self.pod = pod
        self.namespace = pod["metadata"]["namespace"]
        self.root = root
        self.pvc_root = pvc_root
        self.tokens = tokens
        self.api_url = api_url
        self.text_filter = text_filter
        self._token: str | None = None

    async def token(self, audience: str | None = None) -> str:
        account = (self.pod.get("spec") or {}).get("serviceAccountName") or "default"
        if audience:  # a projected token for another service: minted for its audience
            return await self.tokens(self.namespace, account, audience)
        if self._token is None:
            self._token = await self.tokens(self.namespace, account, None)
        return self._token

    async def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig that carries the pod's ServiceAccount identity."""
        cluster: JsonDict = {"server": self.api_url}
        if self.client.ca_data is not None:
            cluster["certificate-authority-data"] = self.client.ca_data
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "local", "cluster": cluster}],
            "users": [{"name": "pod", "user": {"token": await self.token()}}],
            "contexts": [
                {
                    "name": "pod",
                    "context": {"cluster": "local", "user": "pod", "namespace": self.namespace},
                }
            ],
            "current-context": "pod",
        }
        _write_text(path, yaml.safe_dump(config))
        return path

    async def build_all(self) -> dict[str, Path]:
        """Every volume of the pod (plus the automounted SA token) -> its local directory."""
        spec = self.pod.get("spec") or {}
        result: dict[str, Path] = {}
        for volume in spec.get("volumes") or []:
            result[volume["name"]] = await self.build(volume)
        if spec.get("automountServiceAccountToken", True):
            target = self.root / "volumes" / "kube-api-access"
            await self._files(target, await self._token_files())
            result["kube-api-access"] = target
        return result

    async def build(self, volume: JsonDict) -> Path:
        name = str(volume["name"])
        target: Path = self.root / "volumes" / name
        if "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            return _make_dir(self.pvc_root / str(self.namespace) / str(claim), writable=True)
        if "hostPath" in volume:
            return Path(volume["hostPath"]["path"])
        if "configMap" in volume:
            files = await self._configmap_files(volume["configMap"])
        elif "secret" in volume:
            source = dict(volume["secret"], name=volume["secret"].get("secretName"))
            files = await self._secret_files(source)
        elif "projected" in volume:
            files = {}
            for source in volume["projected"].get("sources") or []:
                files.update(await self._projected(source))
        elif "downwardAPI" in volume:
            files = self._downward(volume["downwardAPI"].get("items") or [])
        else:  # emptyDir and anything else: an empty per-pod directory
            return _make_dir(target, writable=True)
        await self._files(target, files)
        return target

    async def _files(self, target: Path, files: dict[str, bytes]) -> None:
        _write_files(target, files)

    async def _projected(self, source: JsonDict) -> dict[str, bytes]:
        if "serviceAccountToken" in source:
            projected = source["serviceAccountToken"]
            path = projected.get("path", "token")
            return {path: (await self.token(projected.get("audience"))).encode()}
        if "configMap" in source:
            return await self._configmap_files(source["configMap"])
        if "secret" in source:
            return await self._secret_files(source["secret"])
        if "downwardAPI" in source:
            return self._downward(source["downwardAPI"].get("items") or [])
        return {}

    async def _token_files(self) -> dict[str, bytes]:
        files = {"token": (await self.token()).encode(), "namespace": self.namespace.encode()}
        if self.client.ca_data is not None:  # in-cluster clients verify the API server with it
            files["ca.crt"] = base64.b64decode(self.client.ca_data)
        return files

    def _downward(self, items: list[Any]) -> dict[str, bytes]:
        files = {}
        for item in items:
            if "fieldRef" in item:
                files[item["path"]] = field_value(self.pod, item["fieldRef"]["fieldPath"]).encode()
        return files

    async def _configmap_files(self, source: JsonDict) -> dict[str, bytes]:
        obj = await self.client.get(CONFIGMAPS, source["name"], self.namespace)
        if obj is None:
            return self._missing("configmap", source)
        data = configmap_data(obj)
        data = {
            k: self.text_filter(v.decode()).encode() if _is_text(v) else v for k, v in data.items()
        }
        return _select(data, source)

    def _filter(self, content: bytes) -> bytes:
        return self.text_filter(content.decode()).encode() if _is_text(content) else content

    async def _secret_files(self, source: JsonDict) -> dict[str, bytes]:
        obj = await self.client.get(SECRETS, source["name"], self.namespace)
        if obj is None:
            return self._missing("secret", source)
        return _select(decode_secret(obj), source)

    def _missing(self, kind: str, source: JsonDict) -> dict[str, bytes]:
        if source.get("optional"):
            return {}
        raise NotReady("ContainerCreating", f'{kind} "{source["name"]}" not found')


def _is_text(content: bytes) -> bool:
    try:
        content.decode()
    except UnicodeDecodeError:
        return False
    return True


def _select(data: dict[str, bytes], source: JsonDict) -> dict[str, bytes]:
    items = source.get("items")
    if not items:
        return data
    selected = {}
    for item in items:
        if item["key"] not in data:
            if source.get("optional"):
                continue
            raise NotReady("ContainerCreating", f'key "{item["key"]}" not found')
        selected[item["path"]] = data[item["key"]]
    return selected


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _write_files(target: Path, files: dict[str, bytes]) -> None:
    """Replace ``target`` by a directory holding ``files`` (read-only, as kubelet mounts)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for relative, content in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.chmod(path, 0o444)


def _make_dir(path: Path, *, writable: bool = False) -> Path:
    """A directory; ``writable``: mode 0777, as the kubelet makes an emptyDir and a local
    provisioner a volume, so a container under any uid can write it."""
    path.mkdir(parents=True, exist_ok=True)
    if writable:
        os.chmod(path, 0o777)
    return path
