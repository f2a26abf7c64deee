"""From a container spec to a local process: argv, env and paths, as a container would see them.

Paths inside the container (``volumeMounts[].mountPath``) do not exist here, so every
reference to a mount path in env values, command and args is rewritten to the local directory
that backs it; the full mapping is also passed in ``MODELEVAL_LOCAL_MOUNTS`` (JSON).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .client import CONFIGMAPS, SECRETS, JsonDict, KubeClient
from .config import ExecutorConfig
from .engine import EngineUnavailable, docker_binary, image_user
from .engine_args import Mount, container_name, run_args
from .resources import memory_limit_bytes
from .volumes import SA_MOUNT_PATH, NotReady, configmap_data, decode_secret, field_value

MOUNTS_ENV = "MODELEVAL_LOCAL_MOUNTS"
TERMINATION_ENV = "MODELEVAL_TERMINATION_LOG"
"""Where the container's ``terminationMessagePath`` file really is (the runner honours it)."""
DEFAULT_TERMINATION_PATH = "/dev/termination-log"
_VAR_REF = re.compile(r"\$\$|\$\(([-._a-zA-Z][-._a-zA-Z0-9]*)\)")


@dataclass
class Launch:
    """Everything needed to start one container process."""

    container: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    memory_limit: int | None
    ports: dict[Any, int] = field(default_factory=dict)
    termination_log: Path | None = None
    engine: EngineLaunch | None = None
    """Set when the container runs in the container engine instead of as a local process."""

    @property
    def exec_prefix(self) -> tuple[str, ...]:
        """What runs an exec probe's command inside the container."""
        return () if self.engine is None else (self.engine.docker, "exec", self.engine.name)


@dataclass(frozen=True)
class EngineLaunch:
    """``docker <run_args>`` starts the container named ``name``."""

    docker: str
    name: str
    run_args: list[str]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def allocate_ports(container: JsonDict) -> dict[Any, int]:
    """containerPort (and port name) -> a free local port; ``"{port}"`` -> the first one."""
    ports: dict[Any, int] = {}
    for declared in container.get("ports") or []:
        local = free_port()
        ports[int(declared["containerPort"])] = local
        if declared.get("name"):
            ports[declared["name"]] = local
    declared_first = (container.get("ports") or [{}])[0].get("containerPort")
    ports["{port}"] = ports[int(declared_first)] if declared_first else free_port()
    return ports


def expand_vars(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes ``$(VAR)`` expansion: unknown references stay, ``$$`` escapes ``$``."""

    def replace(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        return env.get(match[1], match[0])

    return _VAR_REF.sub(replace, text)


def path_rewriter(mounts: Mapping[str, Path]) -> Callable[[str], str]:
    """A function replacing container mount paths by their local paths in any text."""
    if not mounts:
        return lambda text: text
    ordered = sorted(mounts, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![\w.-])(" + "|".join(re.escape(p.rstrip("/")) for p in ordered) + r")(?![\w.-])"
    )
    local = {p.rstrip("/"): str(path) for p, path in mounts.items()}
    return lambda text: pattern.sub(lambda m: local[m[1]], text)


class Launcher:
    """Resolves command, env and mounts of a pod's containers."""

    def __init__(
        self,
        client: KubeClient,
        config: ExecutorConfig,
        *,
        pod: JsonDict,
        root: Path,
        volumes: Mapping[str, Path],
        kubeconfig: Path | None,
        url_filter: Callable[[str], str],
        api_url: str = "",
        executor_id: str = "",
    ) -> None:
        self.client = client
        self.config = config
        self.pod = pod
        self.namespace = pod["metadata"]["namespace"]
        self.root = root
        self.volumes = volumes
        self.kubeconfig = kubeconfig
        self.url_filter = url_filter
        self.api_url = api_url
        self.executor_id = executor_id

    def in_engine(self, container: JsonDict) -> bool:
        """Whether ``container`` runs in the container engine (see ``container_images``)."""
        return self.config.runs_in_engine(str(container.get("image", "")))

    def ports_for(self, container: JsonDict) -> dict[Any, int]:
        """Local ports of ``container``: fresh ones for a process; for a real container on the
        host network, its own ``containerPort`` numbers."""
        if not self.in_engine(container):
            return allocate_ports(container)
        ports: dict[Any, int] = {}
        for declared in container.get("ports") or []:
            number = int(declared["containerPort"])
            ports[number] = number
            if declared.get("name"):
                ports[declared["name"]] = number
        first = (container.get("ports") or [{}])[0].get("containerPort")
        ports["{port}"] = int(first) if first else free_port()
        return ports

    def mounts(self, container: JsonDict) -> dict[str, Path]:
        result: dict[str, Path] = {}
        if "kube-api-access" in self.volumes:
            result[SA_MOUNT_PATH] = self.volumes["kube-api-access"]
        for mount in container.get("volumeMounts") or []:
            base = self.volumes.get(mount["name"])
            if base is None:
                raise NotReady("CreateContainerConfigError", f"volume {mount['name']!r} not found")
            result[mount["mountPath"]] = base / mount["subPath"] if mount.get("subPath") else base
        path = container.get("terminationMessagePath") or DEFAULT_TERMINATION_PATH
        result[path] = self.root / "termination" / f"{container['name']}.log"
        return result

    async def launch(
        self, container: JsonDict, ports: dict[Any, int], *, restart: int = 0
    ) -> Launch:
        if self.in_engine(container):
            return await self._engine_launch(container, ports, restart)
        name = container["name"]
        mounts = self.mounts(container)
        rewrite_paths = path_rewriter(mounts)

        def rewrite(text: str) -> str:
            return self.url_filter(rewrite_paths(text))

        env = self._base_env(name, mounts)
        path = container.get("terminationMessagePath") or DEFAULT_TERMINATION_PATH
        termination_log = _fresh_file(mounts[path])
        env[TERMINATION_ENV] = str(termination_log)
        for key, value in (await self._container_env(container)).items():
            env[key] = rewrite(value)
        argv = [rewrite(expand_vars(arg, env)) for arg in self._argv(container, ports)]
        if argv and argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        workdir = str(container.get("workingDir") or "")
        cwd = self.root / "rootfs" / name / workdir.lstrip("/")
        if workdir and rewrite_paths(workdir) != workdir:
            cwd = Path(rewrite_paths(workdir))  # a working dir inside a volume
        limit = memory_limit_bytes(container)
        return Launch(name, argv, env, cwd, limit, ports, termination_log=termination_log)

    async def _engine_launch(
        self, container: JsonDict, ports: dict[Any, int], restart: int
    ) -> Launch:
        """A real container: the image's own filesystem, user and entrypoint; the pod's volumes
        bind-mounted at their mount paths; the in-cluster API address in the environment."""
        name, image = container["name"], str(container.get("image", ""))
        try:
            docker = docker_binary(self.config.docker)
        except EngineUnavailable as error:
            raise NotReady("CreateContainerError", str(error)) from None
        user = await asyncio.to_thread(image_user, docker, image)
        if user is None:
            raise NotReady(
                "ErrImageNeverPull",
                f'Container image "{image}" is not present with pull policy of Never',
            )
        mounts = self.engine_mounts(container)
        path = container.get("terminationMessagePath") or DEFAULT_TERMINATION_PATH
        termination_log = _fresh_file(self.root / "termination" / f"{name}.log")
        mounts.append(Mount(termination_log, path))
        env = dict(self.config.extra_env)
        env.update(self._kubernetes_env())
        for key, value in (await self._container_env(container)).items():
            env[key] = self.url_filter(value)
        command = [self.url_filter(expand_vars(a, env)) for a in container.get("command") or []]
        args = [self.url_filter(expand_vars(a, env)) for a in container.get("args") or []]
        engine_name = container_name(
            self.namespace, self.pod["metadata"]["name"], name, self.pod["metadata"]["uid"], restart
        )
        run = run_args(
            name=engine_name,
            image=image,
            image_user=user,
            pod_spec=self.pod.get("spec") or {},
            container=container,
            command=command,
            args=args,
            env_names=sorted(env),
            mounts=mounts,
            executor_id=self.executor_id,
        )
        return Launch(
            name,
            argv=[docker, *run],
            env=env,
            cwd=self.root,
            memory_limit=None,  # the engine's cgroup enforces it
            ports=ports,
            termination_log=termination_log,
            engine=EngineLaunch(docker, engine_name, run),
        )

    def engine_mounts(self, container: JsonDict) -> list[Mount]:
        mounts: list[Mount] = []
        if "kube-api-access" in self.volumes:
            mounts.append(Mount(self.volumes["kube-api-access"], SA_MOUNT_PATH, read_only=True))
        for mount in container.get("volumeMounts") or []:
            base = self.volumes.get(mount["name"])
            if base is None:
                raise NotReady("CreateContainerConfigError", f"volume {mount['name']!r} not found")
            source = base
            if mount.get("subPath"):
                source = base / mount["subPath"]
                if not source.exists():  # the kubelet creates a missing subPath directory
                    source.mkdir(parents=True, exist_ok=True)
                    os.chmod(source, 0o777)
            read_only = bool(mount.get("readOnly")) or self._read_only_volume(mount["name"])
            mounts.append(Mount(source, mount["mountPath"], read_only))
        return mounts

    def _read_only_volume(self, name: str) -> bool:
        """ConfigMap, Secret, projected and downward-API volumes are always read-only."""
        for volume in (self.pod.get("spec") or {}).get("volumes") or []:
            if volume.get("name") == name:
                kinds = ("configMap", "secret", "projected", "downwardAPI")
                claim = volume.get("persistentVolumeClaim") or {}
                return any(k in volume for k in kinds) or bool(claim.get("readOnly"))
        return False

    def _kubernetes_env(self) -> dict[str, str]:
        """What every container of a cluster finds: the API server's in-cluster address, and
        its pod name as the hostname."""
        url = urlsplit(self.api_url)
        port = str(url.port or (443 if url.scheme == "https" else 80))
        return {
            "KUBERNETES_SERVICE_HOST": url.hostname or "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": port,
            "KUBERNETES_SERVICE_PORT_HTTPS": port,
            "HOSTNAME": self.pod["metadata"]["name"],
        }

    def _argv(self, container: JsonDict, ports: Mapping[Any, int]) -> list[str]:
        image = str(container.get("image", ""))
        command = list(container.get("command") or [])
        args = list(container.get("args") or [])
        template = self.config.command_for_image(image)
        if template is None and command and self.config.prefer_container_command:
            return command + args
        if template is None:
            template = self.config.default_command
        if template is None:
            if command:
                return command + args
            raise NotReady("CreateContainerError", f"executor has no command for image {image!r}")
        values = {
            "port": str(ports["{port}"]),
            "pod": self.pod["metadata"]["name"],
            "namespace": self.namespace,
            "container": container["name"],
            "readiness_path": _probe_path(container, "readinessProbe", "/ready"),
            "liveness_path": _probe_path(container, "livenessProbe", "/health"),
            "model": _served_model(args),
        }
        argv: list[str] = []
        for item in template:
            argv.extend(args if item == "{args}" else [item.format(**values)])
        return argv

    def _base_env(self, container: str, mounts: Mapping[str, Path]) -> dict[str, str]:
        home = self.root / "home" / container
        tmp = self.root / "tmp" / container
        home.mkdir(parents=True, exist_ok=True)
        tmp.mkdir(parents=True, exist_ok=True)
        env = self.config.passthrough()
        env.update(
            PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            HOME=str(home),
            TMPDIR=str(tmp),
            HOSTNAME=self.pod["metadata"]["name"],
            PYTHONUNBUFFERED="1",
        )
        env[MOUNTS_ENV] = json.dumps({k: str(v) for k, v in mounts.items()})
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        env.update(self.config.extra_env)
        return env

    async def _container_env(self, container: JsonDict) -> dict[str, str]:
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            prefix = source.get("prefix", "")
            data = await self._source_data(source)
            env.update({prefix + k: v for k, v in data.items()})
        for item in container.get("env") or []:
            if "valueFrom" in item:
                value = await self._value_from(item["valueFrom"], container)
                if value is None:
                    continue
            else:
                value = expand_vars(str(item.get("value", "")), env)
            env[item["name"]] = value
        return env

    async def _source_data(self, source: JsonDict) -> dict[str, str]:
        if "configMapRef" in source:
            ref, res, kind = source["configMapRef"], CONFIGMAPS, "configmap"
        else:
            ref, res, kind = source["secretRef"], SECRETS, "secret"
        obj = await self.client.get(res, ref["name"], self.namespace)
        if obj is None:
            if ref.get("optional"):
                return {}
            raise NotReady("CreateContainerConfigError", f'{kind} "{ref["name"]}" not found')
        data = configmap_data(obj) if kind == "configmap" else decode_secret(obj)
        return {k: v.decode(errors="replace") for k, v in data.items()}

    async def _value_from(self, source: JsonDict, container: JsonDict) -> str | None:
        if "fieldRef" in source:
            return field_value(self.pod, source["fieldRef"]["fieldPath"])
        if "resourceFieldRef" in source:
            ref = source["resourceFieldRef"]
            section, _, resource = ref["resource"].partition(".")
            value = ((container.get("resources") or {}).get(section) or {}).get(resource)
            return str(value if value is not None else 0)
        for key, res, kind in (
            ("configMapKeyRef", CONFIGMAPS, "configmap"),
            ("secretKeyRef", SECRETS, "secret"),
        ):
            if key in source:
                ref = source[key]
                obj = await self.client.get(res, ref["name"], self.namespace)
                data = (
                    {}
                    if obj is None
                    else (configmap_data(obj) if kind == "configmap" else decode_secret(obj))
                )
                if ref["key"] in data:
                    return data[ref["key"]].decode(errors="replace")
                if ref.get("optional"):
                    return None
                what = (
                    f'{kind} "{ref["name"]}" not found'
                    if obj is None
                    else (
                        f"couldn't find key {ref['key']} in {kind.capitalize()} "
                        f"{self.namespace}/{ref['name']}"
                    )
                )
                raise NotReady("CreateContainerConfigError", what)
        return None


def _probe_path(container: JsonDict, probe: str, default: str) -> str:
    return str(((container.get(probe) or {}).get("httpGet") or {}).get("path") or default)


def _served_model(args: list[str]) -> str:
    """The model name a model-server container serves (vLLM / TGI style flags)."""
    for flag in ("--served-model-name", "--model", "--model-id"):  # in order of preference
        for index, arg in enumerate(args):
            name, _, value = arg.partition("=")
            if name == flag and (value or index + 1 < len(args)):
                return value or args[index + 1]
    return "mock-model"


def _fresh_file(path: Path) -> Path:
    """An empty file for a new container instance (its termination message), writable by any
    uid as the kubelet makes it (a container's user writes it through a bind mount)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    os.chmod(path, 0o666)
    return path
