"""A pod's container as ``docker run`` arguments, the way a kubelet would start it (pure).

What is honoured: image; ``command`` (the entrypoint) and ``args`` (the image's CMD replaced);
env (values travel in the engine client's environment, ``-e NAME``: never on a command line);
volume mounts (bind mounts of the local directories behind ConfigMap, Secret, emptyDir, PVC
and projected volumes, ``readOnly``, ``subPath``); ``workingDir``; the pod's and container's
``securityContext`` (runAsUser/runAsGroup, runAsNonRoot, fsGroup/supplementalGroups,
readOnlyRootFilesystem, capabilities, allowPrivilegeEscalation, privileged, seccomp
``Unconfined``); memory and CPU limits (``--memory`` with ``--memory-swap`` equal, so a
container over its limit is killed by the cgroup's OOM killer as on a node without swap).

Containers share the host network (``--network host``): the API server, the Service proxies
and the probes all live on loopback, and a container listens on its own ``containerPort``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .resources import parse_quantity
from .volumes import NotReady

JsonDict = dict[str, Any]
LABEL = "io.modeleval.executor"
"""Label on every container the executor starts (value: the executor's id), for clean-up."""


@dataclass(frozen=True)
class Mount:
    """A local directory or file bind-mounted at ``target`` inside the container."""

    source: Path
    target: str
    read_only: bool = False

    def flag(self) -> str:
        spec = f"type=bind,source={self.source},target={self.target}"
        return spec + (",readonly" if self.read_only else "")


def security_context(pod_spec: Mapping[str, Any], container: Mapping[str, Any]) -> JsonDict:
    """The container's effective securityContext: the pod's, overridden field by field."""
    pod = dict(pod_spec.get("securityContext") or {})
    own = dict(container.get("securityContext") or {})
    merged = {
        key: own.get(key, pod.get(key))
        for key in ("runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile")
        if own.get(key, pod.get(key)) is not None
    }
    for key in (
        "readOnlyRootFilesystem",
        "capabilities",
        "allowPrivilegeEscalation",
        "privileged",
    ):
        if own.get(key) is not None:
            merged[key] = own[key]
    groups = [pod["fsGroup"]] if pod.get("fsGroup") is not None else []
    groups += list(pod.get("supplementalGroups") or [])
    if groups:
        merged["groups"] = groups
    return merged


def user_flag(context: Mapping[str, Any], image_user: str) -> str | None:
    """``--user`` value: runAsUser[:runAsGroup]; ``None`` keeps the image's user.

    Raises ``NotReady`` as the kubelet refuses a runAsNonRoot container that would run as root.
    """
    uid = context.get("runAsUser")
    gid = context.get("runAsGroup")
    image_uid, _, image_gid = (image_user or "0").partition(":")
    if context.get("runAsNonRoot"):
        effective = str(uid) if uid is not None else image_uid or "0"
        if not effective.isdigit():
            raise NotReady(
                "CreateContainerConfigError",
                f"Error: container has runAsNonRoot and image has non-numeric user "
                f"({effective}), cannot verify user is non-root",
            )
        if int(effective) == 0:
            raise NotReady(
                "CreateContainerConfigError",
                "Error: container has runAsNonRoot and image will run as root",
            )
    if uid is None and gid is None:
        return None
    user = str(uid) if uid is not None else image_uid or "0"
    group = str(gid) if gid is not None else image_gid
    return f"{user}:{group}" if group else user


def resource_flags(container: Mapping[str, Any]) -> list[str]:
    resources = container.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    flags: list[str] = []
    if limits.get("memory") is not None:
        memory = str(int(parse_quantity(limits["memory"])))
        flags += ["--memory", memory, "--memory-swap", memory]
    if limits.get("cpu") is not None:
        flags += ["--cpus", f"{float(parse_quantity(limits['cpu'])):g}"]
    cpu_request = requests.get("cpu", limits.get("cpu"))
    if cpu_request is not None:  # the kubelet's cpu.shares: milli-CPU * 1024 / 1000, at least 2
        shares = max(2, math.floor(float(parse_quantity(cpu_request)) * 1024))
        flags += ["--cpu-shares", str(shares)]
    return flags


def security_flags(context: Mapping[str, Any]) -> list[str]:
    flags: list[str] = []
    for group in context.get("groups") or []:
        flags += ["--group-add", str(group)]
    if context.get("readOnlyRootFilesystem"):
        flags.append("--read-only")
    if context.get("privileged"):
        flags.append("--privileged")
    capabilities = context.get("capabilities") or {}
    for name in capabilities.get("drop") or []:
        flags += ["--cap-drop", str(name)]
    for name in capabilities.get("add") or []:
        flags += ["--cap-add", str(name)]
    if context.get("allowPrivilegeEscalation") is False:
        flags += ["--security-opt", "no-new-privileges"]
    seccomp = (context.get("seccompProfile") or {}).get("type")
    if seccomp == "Unconfined":
        flags += ["--security-opt", "seccomp=unconfined"]
    elif seccomp == "Localhost":
        raise NotReady("CreateContainerError", "seccomp Localhost profiles are not supported here")
    return flags


def run_args(
    *,
    name: str,
    image: str,
    image_user: str,
    pod_spec: Mapping[str, Any],
    container: Mapping[str, Any],
    command: Sequence[str],
    args: Sequence[str],
    env_names: Sequence[str],
    mounts: Sequence[Mount],
    executor_id: str,
) -> list[str]:
    """``docker`` arguments (after the binary) that start ``container`` of a pod."""
    context = security_context(pod_spec, container)
    argv = ["run", "--name", name, "--network", "host", "--label", f"{LABEL}={executor_id}"]
    user = user_flag(context, image_user)
    if user is not None:
        argv += ["--user", user]
    argv += security_flags(context)
    argv += resource_flags(container)
    for env_name in env_names:
        argv += ["-e", env_name]
    for mount in mounts:
        argv += ["--mount", mount.flag()]
    if container.get("workingDir"):
        argv += ["--workdir", str(container["workingDir"])]
    if command:
        argv += ["--entrypoint", command[0]]
    argv.append(image)
    argv += [*command[1:], *args]
    return argv


def container_name(namespace: str, pod: str, container: str, uid: str, restart: int) -> str:
    """A unique engine name for one run of one container."""
    return f"modeleval-{namespace}-{pod}-{container}-{uid[:8]}-{restart}"
