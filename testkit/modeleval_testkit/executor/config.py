"""Settings of the local workload executor: what to run for an image, node capacity, timing."""

from __future__ import annotations

import fnmatch
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MOCK_MODEL_SERVER = (
    "python",
    "-m",
    "modeleval_testkit.mockserver",
    "--port",
    "{port}",
    "--ready-path",
    "{readiness_path}",
    "--live-path",
    "{liveness_path}",
    "--model",
    "{model}",
)
"""Command that stands in for a model-server image: our mock OpenAI-compatible server."""

DEFAULT_PASSTHROUGH_ENV = (
    "LANG",
    "LC_ALL",
    "TZ",
    "SSL_CERT_FILE",
    "COVERAGE_PROCESS_START",
    "COVERAGE_FILE",
)


@dataclass(frozen=True)
class ExecutorConfig:
    """How the executor turns Pods into local processes.

    Command templates are lists of strings; these placeholders are substituted in each item:
    ``{port}`` (local port of the container's first declared port, or a fresh free port),
    ``{pod}``, ``{namespace}``, ``{container}``, ``{readiness_path}`` / ``{liveness_path}``
    (the httpGet paths of those probes; ``/ready`` / ``/health`` without one) and ``{model}``
    (the value of ``--served-model-name``/``--model`` in the container's args). An item
    that is exactly ``{args}`` expands to the container's (rewritten) ``args``. A leading
    ``python`` means the current interpreter, as the runner image's entrypoint is this very
    package.
    """

    image_commands: Mapping[str, Sequence[str]] = field(
        default_factory=lambda: {"*vllm*": MOCK_MODEL_SERVER, "*mock*": MOCK_MODEL_SERVER}
    )
    """Image glob pattern -> command template. The first matching pattern wins (dict order)."""

    default_command: Sequence[str] | None = None
    """Command template for images that match no pattern and whose container sets no
    ``command``. ``None``: such containers fail with ``CreateContainerError``."""

    container_images: Sequence[str] = ()
    """Image globs whose containers run as real containers of the local Docker engine ("pods
    as containers"): the image's filesystem, user and entrypoint, the pod's volumes bind-mounted,
    its securityContext and resource limits applied (a memory limit is a cgroup limit: going
    over it is a real OOM kill), on the host network. Images with a stand-in command
    (``image_commands``) still run the stand-in as a process; the image must be present
    locally (as with ``imagePullPolicy: Never``). Empty (the default): every pod is processes."""

    docker: str = "docker"
    """The Docker client used for ``container_images``."""

    prefer_container_command: bool = True
    """Run the container's own ``command`` (+ ``args``) when it sets one and no image pattern
    matches. Job containers of the runner image use this path."""

    gpu_capacity: Mapping[str, int] = field(default_factory=lambda: {"nvidia.com/gpu": 0})
    """Extended resources of the single node, e.g. ``{"nvidia.com/gpu": 2}``. A pod that
    requests more than what is left stays Pending as ``Unschedulable``."""

    unpullable_images: Sequence[str] = ()
    """Image globs whose pull fails: containers wait in ``ErrImagePull``/``ImagePullBackOff``."""

    work_dir: Path | None = None
    """Root of pod directories, PVC directories and logs. ``None``: a fresh temp dir."""

    node_name: str = "local-node"
    """Name written to ``spec.nodeName`` of every scheduled pod."""

    node_labels: Mapping[str, str] = field(default_factory=dict)
    """Extra labels of the node, matched by pods' ``nodeSelector`` together with
    ``kubernetes.io/hostname``, ``kubernetes.io/os`` and ``kubernetes.io/arch`` (e.g. the
    ``nvidia.com/gpu.present: "true"`` that GPU feature discovery puts on GPU nodes)."""

    time_scale: float = 1.0
    """Factor applied to kubelet/controller timings (probe periods and delays, crash-loop and
    Job retry back-off). Spec deadlines (``activeDeadlineSeconds``) are never scaled."""

    enforce_memory_limits: bool = True
    """Kill a container whose resident memory exceeds its memory limit (``OOMKilled``)."""

    termination_grace_cap: float = 5.0
    """Upper bound in seconds on ``terminationGracePeriodSeconds`` while stopping a process."""

    passthrough_env: Sequence[str] = DEFAULT_PASSTHROUGH_ENV
    """Host environment variables copied into every process (containers get a clean env)."""

    extra_env: Mapping[str, str] = field(default_factory=dict)
    """Variables added to every process (before the container's own env)."""

    api_url_for_pods: str | None = None
    """API server URL written into the pods' kubeconfig. ``None``: the executor's own URL."""

    def command_for_image(self, image: str) -> Sequence[str] | None:
        """The configured command template for ``image``, if a pattern matches."""
        for pattern, command in self.image_commands.items():
            if fnmatch.fnmatchcase(image, pattern):
                return command
        return None

    def runs_in_engine(self, image: str) -> bool:
        """Whether containers of ``image`` run in the container engine."""
        if self.command_for_image(image) is not None:
            return False
        return any(fnmatch.fnmatchcase(image, pattern) for pattern in self.container_images)

    def is_unpullable(self, image: str) -> bool:
        return any(fnmatch.fnmatchcase(image, pattern) for pattern in self.unpullable_images)

    def resolve_work_dir(self) -> Path:
        if self.work_dir is not None:
            self.work_dir.mkdir(parents=True, exist_ok=True)
            return self.work_dir
        return Path(tempfile.mkdtemp(prefix="modeleval-executor-"))

    def scaled(self, seconds: float) -> float:
        return max(0.0, seconds * self.time_scale)

    def passthrough(self) -> dict[str, str]:
        return {name: os.environ[name] for name in self.passthrough_env if name in os.environ}
