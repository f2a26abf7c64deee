"""Pod status as the kubelet reports it, built from the executor's view of its containers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .client import JsonDict

POD_IP = "127.0.0.1"
EPOCH = "1970-01-01T00:00:00Z"
"""``startedAt`` of a container whose process never started (``StartError``), as kubelets write."""
UNKNOWN_MESSAGE = "The container could not be located when the pod was terminated"
"""The kubelet's ``ContainerStatusUnknown`` placeholder message (fixture 24)."""


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration(seconds: int) -> str:
    """A whole number of seconds as Go's ``time.Duration`` prints it: ``40s``, ``1m20s``,
    ``5m0s`` (the kubelet's ``back-off 5m0s restarting failed container=…``)."""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


@dataclass
class ContainerState:
    """One container's observable state (``containerStatuses[]`` item)."""

    name: str
    image: str
    state: JsonDict = field(default_factory=lambda: {"waiting": {"reason": "ContainerCreating"}})
    last_state: JsonDict = field(default_factory=dict)
    restart_count: int = 0
    ready: bool = False
    started: bool = False
    container_id: str = ""
    ever_ran: bool = False

    def waiting(self, reason: str, message: str = "") -> None:
        self.state = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        self.ready = self.started = False

    def running(self, container_id: str, *, started: bool) -> None:
        self.container_id = container_id
        self.state = {"running": {"startedAt": now()}}
        self.started, self.ready, self.ever_ran = started, False, True

    def terminated(self, exit_code: int, reason: str, message: str = "") -> JsonDict:
        started = (self.state.get("running") or {}).get("startedAt", now())
        info: JsonDict = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": EPOCH if reason == "StartError" else started,
            "finishedAt": now(),
            "containerID": self.container_id,
        }
        if message:
            info["message"] = message
        self.state = {"terminated": info}
        self.ready = self.started = False
        self.ever_ran = True
        return info

    def unknown(self) -> None:
        """The kubelet's placeholder for a container it can no longer find (an evicted pod's,
        fixture 24): exit code 137, no times, no container or image ID."""
        self.state = {
            "terminated": {
                "exitCode": 137,
                "reason": "ContainerStatusUnknown",
                "message": UNKNOWN_MESSAGE,
                "startedAt": None,
                "finishedAt": None,
            }
        }
        self.ready = self.started = self.ever_ran = False
        self.container_id = ""

    @property
    def is_terminated(self) -> bool:
        return "terminated" in self.state

    def to_status(self) -> JsonDict:
        status: JsonDict = {
            "name": self.name,
            "image": self.image,
            "imageID": f"local://{self.image}" if self.ever_ran else "",
            "ready": self.ready,
            "started": self.started,
            "restartCount": self.restart_count,
            "state": self.state,
            "lastState": self.last_state,
        }
        if self.container_id:
            status["containerID"] = self.container_id
        return status


def _condition(kind: str, ok: bool, reason: str = "", message: str = "") -> JsonDict:
    condition: JsonDict = {"type": kind, "status": "True" if ok else "False"}
    if reason:
        condition["reason"] = reason
    if message:
        condition["message"] = message
    return condition


def qos_class(spec: JsonDict) -> str:
    """``Guaranteed``, ``Burstable`` or ``BestEffort``, from the containers' resources."""
    containers = [*spec.get("containers", []), *(spec.get("initContainers") or [])]
    resources = [c.get("resources") or {} for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                return "Burstable"
    return "Guaranteed"


def low_on_memory(container: str) -> str:
    """The eviction manager's message for a memory-pressure eviction, trailing space included
    (fixtures 25 and 26)."""
    return (
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. "
        f"Container {container} was using 2097152Ki, request is 0, has larger consumption of "
        "memory. "
    )


@dataclass(frozen=True)
class Eviction:
    """How the kubelet's eviction manager ended a pod under node pressure."""

    message: str
    """``status.message`` and the ``DisruptionTarget`` condition's message."""
    status_reason: bool = True
    """Write ``status.reason: Evicted`` and ``status.message``; ``False`` models the runtimes
    that leave them empty and set only the condition (fixture 25)."""
    placeholder: bool = True
    """Report each container as the ``ContainerStatusUnknown`` placeholder (fixture 24), not
    as the exit of the killed process (137, ``Error``)."""


def pod_phase(containers: list[ContainerState], restart_policy: str) -> str:
    if not all(c.ever_ran for c in containers):
        return "Pending"
    if all(c.is_terminated for c in containers):
        failed = any(c.state["terminated"]["exitCode"] != 0 for c in containers)
        if restart_policy == "Always" or (restart_policy == "OnFailure" and failed):
            return "Running"
        return "Failed" if failed else "Succeeded"
    return "Running"


@dataclass
class PodView:
    """What the kubelet knows about a pod, rendered into ``status``."""

    containers: list[ContainerState]
    restart_policy: str
    scheduled: bool = False
    unschedulable_message: str = ""
    initialized: bool = False
    start_time: str = ""
    qos_class: str = "BestEffort"
    init_containers: list[ContainerState] = field(default_factory=list)
    transitions: dict[str, tuple[str, str]] = field(default_factory=dict)
    eviction: Eviction | None = None

    def phase(self) -> str:
        if self.eviction is not None:
            return "Failed"
        failed_init = any(
            c.is_terminated and c.state["terminated"]["exitCode"] != 0 for c in self.init_containers
        )
        if failed_init and self.restart_policy == "Never":
            return "Failed"
        if not self.initialized:
            return "Pending"
        return pod_phase(self.containers, self.restart_policy)

    def render(self, previous: dict[str, Any] | None = None) -> JsonDict:
        phase = self.phase()
        conditions = [
            _condition(
                "PodScheduled",
                self.scheduled,
                "" if self.scheduled else "Unschedulable",
                self.unschedulable_message,
            )
        ]
        status: JsonDict = {"phase": phase, "qosClass": self.qos_class}
        if self.eviction is not None:
            # The eviction manager's condition comes first, as in fixtures 25 and 26.
            conditions.insert(
                0,
                _condition("DisruptionTarget", True, "TerminationByKubelet", self.eviction.message),
            )
            if self.eviction.status_reason:
                status.update(reason="Evicted", message=self.eviction.message)
        if self.scheduled:
            unready = [c.name for c in self.containers if not c.ready]
            terminal = phase in ("Succeeded", "Failed")
            # Kubelets write PodFailed on a Failed pod's Ready conditions, PodCompleted on a
            # Succeeded one's.
            ended = "PodFailed" if phase == "Failed" else "PodCompleted"
            reason = ended if terminal else "ContainersNotReady" if unready else ""
            message = (
                ""
                if terminal or not unready
                else (f"containers with unready status: [{' '.join(unready)}]")
            )
            waiting = [c.name for c in self.init_containers if not c.is_terminated]
            init_message = f"containers with incomplete status: [{' '.join(waiting)}]"
            conditions += [
                _condition(
                    "Initialized",
                    self.initialized,
                    "" if self.initialized else "ContainersNotInitialized",
                    "" if self.initialized else init_message,
                ),
                _condition("ContainersReady", not unready, reason, message),
                _condition("Ready", not unready, reason, message),
                # Since 1.29: True once the pod's sandbox runs, False again when it is terminal.
                _condition("PodReadyToStartContainers", not terminal),
            ]
            status.update(
                hostIP=POD_IP,
                hostIPs=[{"ip": POD_IP}],
                podIP=POD_IP,
                podIPs=[{"ip": POD_IP}],
                startTime=self.start_time,
                containerStatuses=[c.to_status() for c in self.containers],
            )
            if self.init_containers:
                status["initContainerStatuses"] = [c.to_status() for c in self.init_containers]
        stamp = now()
        for condition in conditions:
            key = condition["status"]
            old = self.transitions.get(condition["type"])
            if old is None or old[0] != key:
                self.transitions[condition["type"]] = (key, stamp)
            condition["lastProbeTime"] = None
            condition["lastTransitionTime"] = self.transitions[condition["type"]][1]
        status["conditions"] = conditions
        return status
