"""Why a model-server pod is not serving: read from the Pod's status as real kubelets write it.

Pure: a Pod dict (and the group's spec for limits and probe settings) in, a
:class:`PodDiagnosis` out. :mod:`modeleval.reconcile.servicegroup_status` turns the diagnoses of
all pods into the group's phase, conditions and message; :mod:`modeleval.reconcile.evaltask_views`
uses the same readings for runner pods.

Most specific first:

1. the pod itself ended or is being removed: node shutdown (``status.reason``
   ``Terminated`` / ``Shutdown`` / ``NodeShutdown``), eviction (``status.reason: Evicted`` or,
   since Kubernetes 1.26, only a ``DisruptionTarget`` condition), rejection at admission
   (``UnexpectedAdmissionError``, ``OutOf<resource>``: e.g. a GPU the device plugin cannot
   allocate). The pod's own reason wins over what its containers show, which is often a
   ``ContainerStatusUnknown`` placeholder or a clean exit after SIGTERM;
2. each container, init containers first: image pull failure, configuration error, OOMKilled
   (whatever the exit code), a container killed by a probe before it ever started (boot
   timeout), a crash loop with the real exit code and termination message (also when the
   process never started: ``StartError``), a container whose status was lost
   (``ContainerStatusUnknown``); then never ready within ``bootTimeSeconds`` (boot timeout);
3. unschedulable (e.g. insufficient ``nvidia.com/gpu``).

Real status objects are partial and odd (no ``containerStatuses`` on evicted pods, timestamps
that do not parse, a ``lastState`` without ``restartCount``): nothing here indexes blindly or
raises on a strange value; ``tests/fixtures/kubelet`` holds real examples.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from modeleval.api.servicegroup import InstanceStatus, ModelEvalServiceGroup
from modeleval.builders.servicegroup import CONTAINER_NAME, health_of, serving_of

IMAGE_PULL_REASONS = frozenset(
    {"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull"}
)
CONFIG_REASONS = frozenset(
    {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}
)
SIGNAL_EXITS = frozenset({137, 143})  # SIGKILL / SIGTERM: something stopped the container
PLACEHOLDER = "ContainerStatusUnknown"
"""The terminated state a kubelet writes when it cannot find a container (exit code 137)."""
SHUTDOWN_REASONS = frozenset({"Terminated", "Shutdown", "NodeShutdown"})
"""``status.reason`` of pods stopped by a graceful node shutdown (1.22+, 1.20-1.21, admission)."""
ADMISSION_REASONS = frozenset(
    {
        "UnexpectedAdmissionError",
        "NodeAffinity",
        "NodeSelectorMismatching",
        "InvalidNodeInfo",
        "TopologyAffinityError",
        "PodOSNotSupported",
        "SysctlForbidden",
    }
)
"""``status.reason`` of pods the kubelet refused to run (plus every ``OutOf<resource>``)."""
DISRUPTIONS = {
    "TerminationByKubelet": "was evicted by the kubelet",
    "EvictionByEvictionAPI": "was evicted through the Eviction API (a drain or an autoscaler)",
    "PreemptionByScheduler": (
        "is being preempted by the scheduler to make room for a higher-priority pod"
    ),
    "PreemptionByKubeScheduler": (
        "is being preempted by the scheduler to make room for a higher-priority pod"
    ),
    "DeletionByTaintManager": "was deleted by the taint manager (its node has a NoExecute taint)",
    "DeletionByPodGC": "was deleted by the pod garbage collector (its node is gone)",
}
"""``DisruptionTarget`` condition reasons (Kubernetes 1.26+) and what they mean."""
_INSUFFICIENT = re.compile(r"Insufficient ([A-Za-z0-9._/-]*[A-Za-z0-9])")
_BACK_OFF = re.compile(r"back-off (\S+) restarting")
_STAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ]?(\d\d):(\d\d):(\d\d)")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d[ T][\d:,.]+\s+[A-Z]+\s+[\w.]+:\s*")
"""``<date> <time> LEVEL logger:`` at the start of a log line (the runner's log format)."""
_FRAME = re.compile(
    r"""^(?:
        goroutine\ \d+\ \[.*\]:?            # Go: goroutine header
      | created\ by\ \S+.*                  # Go: goroutine creator
      | \S*\.go:\d+(?:\ \+0x[0-9a-f]+)?     # Go: file:line +offset
      | [^\s(]*\(.*\)                       # Go: pkg.(*T).fn(args), no spaces before '('
      | File\ ".*",\ line\ \d+.*            # Python: frame
      | Traceback\ \(most\ recent\ call\ last\):
      | at\ [\w.$<>]+\(.*\)                 # Java: frame
      | \.\.\.\ \d+\ more
    )$""",
    re.X,
)
MESSAGE_LIMIT = 300
"""Characters of a termination message line shown in a status message."""


class Cause(StrEnum):
    """Reason of a pod failure, used as condition reason and ``lastFailureReason``."""

    IMAGE_PULL = "ImagePullFailed"
    CONFIG = "ContainerConfigError"
    OOM_KILLED = "OOMKilled"
    BOOT_TIMEOUT = "BootTimeout"
    CRASH_LOOP = "CrashLoopBackOff"
    UNSCHEDULABLE = "Unschedulable"
    EVICTED = "Evicted"
    NODE_SHUTDOWN = "NodeShutdown"
    ADMISSION = "AdmissionError"
    STATUS_UNKNOWN = "ContainerStatusUnknown"


FATAL_CAUSES = frozenset(Cause) - {Cause.UNSCHEDULABLE}
"""Causes that make a group with no ready instance Failed; Unschedulable keeps it Pending
(capacity may appear: a node scales up, another workload ends)."""


@dataclass(frozen=True)
class PodDiagnosis:
    """What one pod tells about the group."""

    instance: InstanceStatus
    cause: Cause | None = None
    message: str | None = None
    terminating: bool = False
    exit_code: int | None = None
    """The exit code the user should see (the real one, not a placeholder's, when known)."""


@dataclass(frozen=True)
class PodEnd:
    """The pod itself failed or is being removed, whatever its containers show."""

    cause: Cause
    reason: str
    """The kubelet's or controller's word: ``Evicted``, ``TerminationByKubelet``, …"""
    summary: str
    """What happened, after "pod P": ``was evicted``, ``was rejected by the kubelet …``."""
    detail: str
    """The kubelet's message, trimmed (may be empty)."""

    def describe(self, pod_name: str) -> str:
        return f"pod {pod_name} {self.summary}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class Failure:
    cause: Cause
    message: str
    exit_code: int | None = None


# -- reading values that may be missing or odd ------------------------------------------------


def parse_time(value: Any) -> datetime | None:
    """An aware datetime, or None for a missing, unreadable or placeholder time.

    Accepts what real objects carry: RFC 3339 with ``Z`` or an offset, datetimes (a YAML loader
    makes them from unquoted stamps), stamps without the ``T``; the Go zero time and the Unix
    epoch (``startedAt`` of a container that never started) are placeholders, not times."""
    if not value:
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        text = str(value).strip()
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            match = _STAMP.match(text)
            if match is None:
                return None
            try:
                year, month, day, hour, minute, second = (int(p) for p in match.groups())
                parsed = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except ValueError:
                return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return None if parsed.year <= 1970 else parsed


def as_int(value: Any) -> int | None:
    """``value`` as an int, or None when it is missing or not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _list(value: Any) -> list[dict[str, Any]]:
    return [dict(v) for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def clean(text: Any) -> str:
    """A kubelet message on one line, whitespace collapsed and trimmed (many end in ". "),
    invisible characters shown as ``<U+200B>``."""
    text = " ".join(str(text or "").split())
    return _INVISIBLE.sub(lambda found: f"<U+{ord(found.group()):04X}>", text)


def condition(pod: dict[str, Any], kind: str) -> dict[str, Any]:
    for cond in _list(_dict(pod.get("status")).get("conditions")):
        if cond.get("type") == kind:
            return cond
    return {}


def telling_line(text: Any, limit: int = MESSAGE_LIMIT) -> str:
    """The line of a termination message (or log tail) that says what went wrong.

    The last non-empty line, without a log prefix, skipping stack-frame lines: with
    ``FallbackToLogsOnError`` the kubelet keeps only the log's last 2048 bytes, which may be
    the tail of a goroutine dump or traceback. "" when there is no such line."""
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    for line in reversed(lines):
        line = LOG_PREFIX.sub("", line)
        if line and not _FRAME.match(line):
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


# -- the pod itself ---------------------------------------------------------------------------


def pod_end(pod: dict[str, Any]) -> PodEnd | None:
    """Why the pod itself failed or is going, from its ``status.reason`` or a
    ``DisruptionTarget`` condition (real kubelets may set only one of them)."""
    status = _dict(pod.get("status"))
    reason = str(status.get("reason") or "")
    message = clean(status.get("message"))
    target = condition(pod, "DisruptionTarget")
    disrupted = str(target.get("status")) == "True"
    target_reason = str(target.get("reason") or "") if disrupted else ""
    target_message = clean(target.get("message")) if disrupted else ""
    said = f"{message} {target_message}".lower()
    if reason in SHUTDOWN_REASONS or "node shutdown" in said or "node is shutting" in said:
        return PodEnd(
            Cause.NODE_SHUTDOWN,
            reason or target_reason,
            "was stopped by a shutdown of its node",
            message or target_message,
        )
    if reason == "Evicted":
        return PodEnd(Cause.EVICTED, reason, "was evicted", message or target_message)
    if disrupted:
        summary = DISRUPTIONS.get(target_reason, f"is being disrupted ({target_reason or '?'})")
        return PodEnd(Cause.EVICTED, target_reason, summary, target_message or message)
    if reason in ADMISSION_REASONS or reason.startswith("OutOf"):
        return PodEnd(
            Cause.ADMISSION, reason, f"was rejected by the kubelet of its node ({reason})", message
        )
    return None


# -- containers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContainerView:
    """One entry of ``initContainerStatuses`` / ``containerStatuses``, read defensively."""

    raw: dict[str, Any]
    init: bool = False

    @property
    def name(self) -> str:
        return str(self.raw.get("name") or "")

    @property
    def state(self) -> dict[str, Any]:
        return _dict(self.raw.get("state"))

    @property
    def waiting(self) -> dict[str, Any]:
        return _dict(self.state.get("waiting"))

    @property
    def terminated(self) -> dict[str, Any]:
        """The current termination, unless it is a placeholder."""
        term = _dict(self.state.get("terminated"))
        return {} if term.get("reason") == PLACEHOLDER else term

    @property
    def last(self) -> dict[str, Any]:
        """The previous run's termination, unless it is a placeholder."""
        term = _dict(_dict(self.raw.get("lastState")).get("terminated"))
        return {} if term.get("reason") == PLACEHOLDER else term

    @property
    def placeholder(self) -> dict[str, Any]:
        """A ``ContainerStatusUnknown`` placeholder in ``state`` or ``lastState``, if any."""
        for where in (self.state, _dict(self.raw.get("lastState"))):
            term = _dict(where.get("terminated"))
            if term.get("reason") == PLACEHOLDER:
                return term
        return {}

    @property
    def ready(self) -> bool:
        return self.raw.get("ready") is True

    @property
    def started(self) -> bool:
        return self.raw.get("started") is True

    @property
    def restarts(self) -> int:
        """``restartCount``; at least 1 when a previous run ended (excerpts may omit it)."""
        count = as_int(self.raw.get("restartCount")) or 0
        return max(count, 1) if self.last else count

    def latest_exit(self) -> dict[str, Any]:
        """The termination that tells most: the current one, else the previous run's."""
        return self.terminated or ({} if self.ready else self.last)


def containers(pod: dict[str, Any]) -> Iterator[ContainerView]:
    """Init containers in order, then the model-server container, then the others."""
    status = _dict(pod.get("status"))
    for raw in _list(status.get("initContainerStatuses")):
        yield ContainerView(raw, init=True)
    regular = _list(status.get("containerStatuses"))
    regular.sort(key=lambda raw: raw.get("name") != CONTAINER_NAME)
    for raw in regular:
        yield ContainerView(raw)


def main_container(pod: dict[str, Any]) -> dict[str, Any]:
    """The model-server container's status (else the first container's; {} when none)."""
    regular = _list(_dict(pod.get("status")).get("containerStatuses"))
    for raw in regular:
        if raw.get("name") == CONTAINER_NAME:
            return raw
    return regular[0] if regular else {}


def container_spec(pod: dict[str, Any], name: str, init: bool = False) -> dict[str, Any]:
    spec = _dict(pod.get("spec"))
    for raw in _list(spec.get("initContainers" if init else "containers")):
        if raw.get("name") == name:
            return raw
    return {}


def memory_limit(pod: dict[str, Any], view: ContainerView) -> str | None:
    limits = _dict(_dict(container_spec(pod, view.name, view.init).get("resources")).get("limits"))
    return str(limits["memory"]) if limits.get("memory") is not None else None


def label(view: ContainerView, pod_name: str) -> str:
    """How a message names the container: the model server's is just "container"."""
    if view.init:
        return f"init container {view.name or '?'} of pod {pod_name}"
    if view.name == CONTAINER_NAME:
        return f"container of pod {pod_name}"
    return f"container {view.name or '?'} of pod {pod_name}"


def exit_words(info: dict[str, Any]) -> str:
    """``exit code 2, Error`` (what a termination says about its end)."""
    code = as_int(info.get("exitCode"))
    reason = info.get("reason")
    return f"exit code {'?' if code is None else code}" + (f", {reason}" if reason else "")


def history(view: ContainerView) -> tuple[str, str] | None:
    """(reason, detail) of a ready container's previous failure, shown as instance history."""
    last = view.last
    if not last:
        return None
    code = as_int(last.get("exitCode"))
    detail = f"exit code {'?' if code is None else code}"
    if code in SIGNAL_EXITS and last.get("reason") != "OOMKilled":
        detail += " (stopped by a signal: a failed liveness probe, for instance)"
    line = telling_line(last.get("message"))
    if line:
        detail += f": {line}"
    elif last.get("message"):
        detail += ": its termination message is only a stack trace"
    return str(last.get("reason") or "Error"), detail


# -- the diagnosis ----------------------------------------------------------------------------


def _image_pull(view: ContainerView, image: str, who: str) -> Failure:
    waiting = view.waiting
    reason = waiting["reason"]
    message = clean(waiting.get("message"))
    text = f"image {image} cannot be pulled ({reason})" + (f": {message}" if message else "")
    if view.init or view.name != CONTAINER_NAME:
        text = f"{who}: {text}"
    said = f"{image} {waiting.get('message') or ''}"
    invisible = sorted({f"U+{ord(ch):04X}" for ch in _INVISIBLE.findall(said)})
    if invisible:
        text = clean(text) + (
            f"; the image reference contains invisible characters ({', '.join(invisible)})"
        )
    return Failure(Cause.IMAGE_PULL, text)


def _crash(view: ContainerView, info: dict[str, Any], who: str, terminal: bool) -> Failure:
    code = as_int(info.get("exitCode"))
    restarts = view.restarts
    if info.get("reason") == "StartError":
        head = f"{who} cannot start its process ({exit_words(info)}), {restarts} restarts"
    elif terminal or (restarts == 0 and not view.waiting):
        head = f"{who} failed: {exit_words(info)}"
    else:
        head = f"{who} keeps crashing (CrashLoopBackOff): {exit_words(info)}, {restarts} restarts"
    back_off = _BACK_OFF.search(str(view.waiting.get("message") or ""))
    if back_off:
        head += f" (back-off {back_off.group(1)})"
    line = telling_line(info.get("message"))
    if line:
        head += f": {line}"
    elif info.get("message"):
        head += ": its termination message is only a stack trace (see the log)"
    return Failure(Cause.CRASH_LOOP, head, code)


def _container_failure(
    group: ModelEvalServiceGroup,
    pod: dict[str, Any],
    view: ContainerView,
    booting: bool,
) -> Failure | None:
    """What is wrong with one container, if anything (booting: the pod never became ready
    within the boot time)."""
    name = str(_dict(pod.get("metadata")).get("name") or "?")
    who = label(view, name)
    waiting = view.waiting
    reason = str(waiting.get("reason") or "")
    if reason in IMAGE_PULL_REASONS:
        image = (
            group.spec.image
            if view.name == CONTAINER_NAME and not view.init
            else str(view.raw.get("image") or "?")
        )
        return _image_pull(view, image, who)
    if reason in CONFIG_REASONS:
        detail = clean(waiting.get("message")) or "check env Secrets / ConfigMaps and the command"
        return Failure(Cause.CONFIG, f"{who} cannot start ({reason}): {detail}")
    # A ready container's old termination (lastState) is history, not a current failure.
    for info in (view.terminated, {} if view.ready else view.last):
        if info.get("reason") == "OOMKilled":
            limit = memory_limit(pod, view)
            if limit is None and view.name == CONTAINER_NAME and not view.init:
                limit = _group_memory_limit(group)
            within = f" of {limit}" if limit else ""
            code = as_int(info.get("exitCode"))
            return Failure(
                Cause.OOM_KILLED,
                f"{who} was OOMKilled: it exceeded its memory limit{within} "
                f"(exit code {'?' if code is None else code}, {view.restarts} restarts)",
                code,
            )
    info = view.latest_exit()
    code = as_int(info.get("exitCode"))
    signal = code in SIGNAL_EXITS
    terminal = str(_dict(pod.get("status")).get("phase")) in ("Failed", "Succeeded")
    in_back_off = reason == "CrashLoopBackOff"
    if view.init:
        crashed = bool(info) and (code != 0 or in_back_off)
    else:
        crashed = in_back_off or bool(view.terminated and (code != 0 or view.restarts > 0))
        crashed = crashed or bool(not view.ready and view.last and code != 0)
    if not view.init and view.restarts > 0 and not view.started and view.last and signal:
        return _boot_timeout(group, pod, view, code)  # killed by its probe before it started
    if crashed and not signal:
        return _crash(view, info, who, terminal)
    placeholder = view.placeholder
    if placeholder and not info and not view.ready and not view.state.get("running"):
        return _status_unknown(placeholder, who)
    if booting and not view.init and not view.ready:
        return _boot_timeout(group, pod, view, code)
    if crashed:
        return _crash(view, info, who, terminal)
    return None


def _status_unknown(placeholder: dict[str, Any], who: str) -> Failure:
    """The kubelet lost the container and wrote a placeholder: its exit code 137 is no signal."""
    code = as_int(placeholder.get("exitCode"))
    shown = "" if code is None else f"; exit code {code} is a placeholder, not a signal"
    message = clean(placeholder.get("message")) or "the container could not be located"
    return Failure(
        Cause.STATUS_UNKNOWN,
        f"the state of the {who} is unknown ({PLACEHOLDER}{shown}): {message}; "
        "the pod was probably evicted or deleted (see its Events)",
        code,
    )


def _group_memory_limit(group: ModelEvalServiceGroup) -> str | None:
    resources = group.spec.resources
    if resources and resources.limits and resources.limits.memory is not None:
        return str(resources.limits.memory)
    return None


def _boot_timeout(
    group: ModelEvalServiceGroup, pod: dict[str, Any], view: ContainerView, code: int | None
) -> Failure:
    name = str(_dict(pod.get("metadata")).get("name") or "?")
    health = health_of(group)
    probe = f"GET {health.liveness_path} on port {serving_of(group).port}"
    last = f" (last exit code {code})" if code is not None else ""
    return Failure(
        Cause.BOOT_TIMEOUT,
        f"pod {name} is not ready within the boot time of {health.boot_time_seconds}s "
        f"(boot timeout): the startup/readiness probe ({probe}) keeps failing, "
        f"{view.restarts} restarts{last}",
        code,
    )


def _never_ready_in_time(group: ModelEvalServiceGroup, pod: dict[str, Any], now: datetime) -> bool:
    """The pod has not been ready since it started, for longer than the boot time."""
    health = health_of(group)
    started = parse_time(_dict(pod.get("status")).get("startTime"))
    if started is None:
        return False
    unready_since = parse_time(condition(pod, "Ready").get("lastTransitionTime")) or started
    slack = max(health.period_seconds, 5)
    never_ready = (unready_since - started).total_seconds() <= slack
    return never_ready and (now - started).total_seconds() > health.boot_time_seconds + slack


def _insufficient(pod: dict[str, Any], message: str) -> str:
    found = sorted(set(_INSUFFICIENT.findall(message)))
    parts = []
    for resource in found:
        wanted = _requested(pod, resource)
        parts.append(f"insufficient {resource}" + (f" ({wanted} requested)" if wanted else ""))
    return ", ".join(parts)


def _requested(pod: dict[str, Any], resource: str) -> str | None:
    amounts = []
    for raw in _list(_dict(pod.get("spec")).get("containers")):
        resources = _dict(raw.get("resources"))
        amount = _dict(resources.get("requests")).get(resource)
        amount = amount if amount is not None else _dict(resources.get("limits")).get(resource)
        if amount is not None:
            amounts.append(str(amount))
    return " + ".join(amounts) if amounts else None


def _unschedulable(pod: dict[str, Any]) -> Failure | None:
    scheduled = condition(pod, "PodScheduled")
    if str(scheduled.get("status")) != "False" or scheduled.get("reason") != "Unschedulable":
        return None
    name = str(_dict(pod.get("metadata")).get("name") or "?")
    detail = clean(scheduled.get("message"))
    short = _insufficient(pod, detail)
    summary = f"{short}; {detail}" if short and detail else short or detail or "no node fits"
    return Failure(Cause.UNSCHEDULABLE, f"pod {name} cannot be scheduled: {summary}")


def end_exit_code(pod: dict[str, Any]) -> int | None:
    """The exit code of the main container's latest termination (placeholders included)."""
    raw = main_container(pod)
    for where in (_dict(raw.get("state")), _dict(raw.get("lastState"))):
        code = as_int(_dict(where.get("terminated")).get("exitCode"))
        if code is not None:
            return code
    return None


def diagnose(group: ModelEvalServiceGroup, pod: dict[str, Any], now: datetime) -> Failure | None:
    """What keeps ``pod`` from serving, if anything."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    name = str(_dict(pod.get("metadata")).get("name") or "?")
    end = pod_end(pod)
    if end is not None:
        return Failure(end.cause, end.describe(name), end_exit_code(pod))
    booting = _never_ready_in_time(group, pod, now)
    for view in containers(pod):
        failure = _container_failure(group, pod, view, booting)
        if failure is not None:
            return failure
    return _unschedulable(pod)


def diagnose_pod(group: ModelEvalServiceGroup, pod: dict[str, Any], now: datetime) -> PodDiagnosis:
    """The instance entry of ``pod`` and its failure cause, if any."""
    meta = _dict(pod.get("metadata"))
    spec = _dict(pod.get("spec"))
    status = _dict(pod.get("status"))
    main = ContainerView(main_container(pod))
    failure = diagnose(group, pod, now)
    reason: str | None = str(failure.cause) if failure else None
    detail = failure.message if failure else None
    if failure is None:
        past = (history(view) for view in (main, *containers(pod)) if not view.init)
        if (old := next((entry for entry in past if entry is not None), None)) is not None:
            reason, detail = old
    instance = InstanceStatus(
        name=str(meta.get("name") or ""),
        node=spec.get("nodeName"),
        ready=main.ready and str(condition(pod, "Ready").get("status")) == "True",
        restarts=as_int(main.raw.get("restartCount")) or 0,
        phase=status.get("phase"),
        last_failure_reason=reason,
        last_failure_message=detail,
    )
    return PodDiagnosis(
        instance=instance,
        cause=failure.cause if failure else None,
        message=failure.message if failure else None,
        terminating=bool(meta.get("deletionTimestamp")),
        exit_code=failure.exit_code if failure else None,
    )
