"""``ModelEvalServiceGroup``: the model service under evaluation (ZStack DeployModelEvalService).

The group deploys a Deployment (replicas = instances) and a Service from ``image``, reports the
OpenAI-compatible URL in status once ready, and may create one ``EvalTask`` per dataset.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import ConfigDict, Field

from modeleval.api.common import (
    DNS1123_LABEL,
    ApiFlavour,
    ApiModel,
    ClientSettings,
    Condition,
    EnvVarSource,
    GenerationParams,
    HeaderFromSecret,
    ObjectMetaLite,
    ObjectName,
    Quantity,
    ServerFlavour,
)
from modeleval.api.datasets import DatasetSpec
from modeleval.api.scoring import ScoringSpec
from modeleval.api.targets import PROMPT_RULE
from modeleval.constants import DEFAULT_GPU_RESOURCE


class ResourceAmounts(ApiModel):
    """CPU, memory and root-disk amounts (ZStack cpuNum / memorySize / rootDiskSize)."""

    cpu: Quantity | None = Field(default=None, description="CPU cores, e.g. 8 or '7500m'.")
    memory: Quantity | None = Field(default=None, description="Memory, e.g. '64Gi'.")
    ephemeral_storage: Quantity | None = Field(
        default=None, description="Root disk (container ephemeral storage), e.g. '100Gi'."
    )


class GpuResources(ApiModel):
    """Accelerators for each instance."""

    count: int = Field(default=1, ge=0, le=64, description="GPUs per instance.")
    resource_name: str = Field(
        default=DEFAULT_GPU_RESOURCE,
        pattern=r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$",
        description="Extended resource name of the device plugin (nvidia.com/gpu, amd.com/gpu…).",
    )


class ServiceResources(ApiModel):
    """Resources of each model-server instance."""

    limits: ResourceAmounts | None = Field(
        default=None, description="Upper bounds (ZStack cpuNum, memorySize, rootDiskSize)."
    )
    requests: ResourceAmounts | None = Field(
        default=None, description="Guaranteed amounts (ZStack requestCpuNum, requestMemorySize)."
    )
    gpu: GpuResources | None = Field(default=None, description="GPUs per instance.")


class HealthSettings(ApiModel):
    """Health paths and boot time (ZStack serviceLivez / serviceReadyz / serviceBootUptime)."""

    liveness_path: str = Field(
        default="/health",
        pattern=r"^/",
        description="HTTP path of the liveness probe (serviceLivez).",
    )
    readiness_path: str = Field(
        default="/health",
        pattern=r"^/",
        description="HTTP path of the readiness probe (serviceReadyz).",
    )
    boot_time_seconds: int = Field(
        default=600,
        ge=10,
        le=86400,
        description="Seconds a new instance may take to boot before it is restarted "
        "(serviceBootUptime): the startup probe's failureThreshold x periodSeconds.",
    )
    period_seconds: int = Field(default=10, ge=1, le=300, description="Probe period, seconds.")


class ServingSettings(ApiModel):
    """The API the container serves."""

    port: int = Field(default=8000, ge=1, le=65535, description="Container port of the API.")
    api: ApiFlavour = Field(
        default=ApiFlavour.OPENAI_CHAT, description="API flavour served (the sources' api)."
    )
    api_path: str = Field(
        default="/v1", pattern=r"^/", description="Base path of the OpenAI-compatible API."
    )
    server: ServerFlavour = Field(
        default=ServerFlavour.AUTO,
        description="Server implementation (auto, openai, vllm, tgi, transformers): tasks do "
        "not send it parameters it does not take, and say so.",
    )
    served_model_name: str | None = Field(
        default=None,
        description="Model name clients send in requests (the sources' model); defaults to "
        "the group's name.",
    )


class Toleration(ApiModel):
    """A Kubernetes toleration."""

    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = None
    toleration_seconds: int | None = None


class Placement(ApiModel):
    """Where instances run (ZStack zone / cluster / network / storage placement)."""

    node_selector: dict[str, str] | None = Field(
        default=None, description="Node labels the pods require (clusterUuid → a node-pool label)."
    )
    zone: str | None = Field(
        default=None,
        description="Availability zone (zoneUuid): adds topology.kubernetes.io/zone to the "
        "node selector.",
    )
    tolerations: list[Toleration] | None = Field(default=None, description="Pod tolerations.")
    affinity: dict[str, Any] | None = Field(
        default=None,
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
        description="A core/v1 Affinity, copied to the pods as written.",
    )
    networks: list[str] | None = Field(
        default=None,
        description="Extra pod networks (l3NetworkUuids), as Multus network-attachment names.",
    )
    priority_class_name: str | None = Field(default=None, description="Pod priority class.")
    runtime_class_name: str | None = Field(default=None, description="Runtime class, e.g. nvidia.")


class ModelCache(ApiModel):
    """A volume that holds model weights between restarts (primaryStorageUuid)."""

    claim_name: ObjectName | None = Field(
        default=None, description="Existing PVC to mount; when unset the operator creates one."
    )
    storage_class_name: str | None = Field(
        default=None, description="Storage class of the PVC the operator creates."
    )
    size: Quantity = Field(default="100Gi", description="Size of the PVC the operator creates.")
    mount_path: str = Field(default="/models", pattern=r"^/", description="Mount path.")
    access_modes: (
        list[Literal["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]] | None
    ) = Field(
        default=None,
        max_length=4,
        description="Access modes of the PVC the operator creates; default ReadWriteOnce for "
        "one instance, ReadWriteMany for more. Cannot change after creation.",
    )
    read_only: bool = Field(default=False, description="Mount read-only.")


class SecurityOverrides(ApiModel):
    """Relax the secure defaults for images that need it (the defaults are hardened)."""

    run_as_non_root: bool = Field(
        default=True,
        description="Refuse to start the container as root (the default); false lets images "
        "that run as root (vLLM's, among others) start. Enforce it per namespace with Pod "
        "Security Admission (docs/install.md).",
    )
    allow_privilege_escalation: bool = Field(
        default=False, description="Allow privilege escalation."
    )
    read_only_root_filesystem: bool = Field(
        default=False, description="Mount the root filesystem read-only."
    )
    drop_all_capabilities: bool = Field(default=True, description="Drop ALL capabilities.")


class TaskType(StrEnum):
    """What an evaluation measures (the sources' taskType)."""

    QUALITY = "Quality"
    PERFORMANCE = "Performance"


class GroupEvaluation(ApiModel):
    """Evaluations the group starts once it is Ready: one EvalTask per dataset × target."""

    datasets: list[DatasetSpec] = Field(
        default_factory=list,
        max_length=64,
        description="Datasets to evaluate (datasetUuids); one EvalTask each.",
    )
    targets: list[ObjectName] | None = Field(
        default=None,
        max_length=16,
        description="Service groups to evaluate (modelServiceGroupUuids); default: this group.",
    )
    task_type: TaskType = Field(default=TaskType.QUALITY, description="taskType of the tasks.")
    prompt_template: str | None = Field(
        default=None, description="Prompt template with {input} (the sources' prompt)."
    )
    limits: int | None = Field(
        default=None, ge=1, description="Use only the first N dataset items (limits)."
    )
    params: GenerationParams | None = Field(
        default=None, description="Default generation parameters of the tasks."
    )
    client: ClientSettings | None = Field(
        default=None,
        description="parallel, logEveryQuery, connect/read timeouts of the tasks' runner.",
    )
    url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Evaluate this URL instead of the in-cluster one (the sources' url).",
    )
    request_headers: dict[str, str] | None = Field(
        default=None, description="Plain request headers (requestHeaders)."
    )
    request_headers_from: list[HeaderFromSecret] | None = Field(
        default=None, description="Request headers whose values are in Secrets."
    )
    scoring: ScoringSpec | None = Field(
        default=None, description="Scoring of the tasks (EvalTask spec.scoring)."
    )

    __rules__ = (PROMPT_RULE,)


class ModelEvalServiceGroupSpec(ApiModel):
    """Desired state of a model service under evaluation."""

    description: str | None = Field(
        default=None, max_length=2048, description="Free text (description)."
    )
    type: str | None = Field(
        default=None,
        max_length=63,
        description="Group type label (the sources' type / modelServiceType).",
    )
    model_id: str | None = Field(
        default=None, max_length=253, description="Identifier of the model served (modelUuid)."
    )
    image: str = Field(
        min_length=1,
        max_length=1024,
        description="Container image serving the model (dockerImage).",
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] | None = Field(
        default=None, description="Image pull policy."
    )
    image_pull_secrets: list[ObjectName] | None = Field(
        default=None, description="Secrets for pulling the image."
    )
    command: list[str] | None = Field(default=None, description="Container entrypoint override.")
    args: list[str] | None = Field(
        default=None, description="Extra container args, after startupParameters."
    )
    startup_parameters: dict[str, str] | None = Field(
        default=None,
        description="Startup parameters (startupParameters): each key becomes `--key=value`, "
        "an empty value a bare `--key`, in key order.",
    )
    env: dict[str, str] | None = Field(
        default=None, description="Environment variables (environmentVariables)."
    )
    env_from: list[EnvVarSource] | None = Field(
        default=None, description="Environment variables taken from Secrets or ConfigMaps."
    )
    instances: int = Field(
        default=1, ge=0, le=64, description="Number of instances (Deployment replicas)."
    )
    resources: ServiceResources | None = Field(default=None, description="Resources per instance.")
    health: HealthSettings | None = Field(default=None, description="Probes and boot time.")
    serving: ServingSettings | None = Field(default=None, description="The served API.")
    placement: Placement | None = Field(default=None, description="Node placement.")
    model_cache: ModelCache | None = Field(default=None, description="Model weight volume.")
    security: SecurityOverrides | None = Field(
        default=None, description="Container security settings."
    )
    pod_labels: dict[str, str] | None = Field(
        default=None, description="Extra pod labels (systemTags / userTags)."
    )
    pod_annotations: dict[str, str] | None = Field(
        default=None, description="Extra pod annotations."
    )
    service_account_name: ObjectName | None = Field(
        default=None, description="Pod service account."
    )
    export_path: str | None = Field(
        default=None,
        description="Where the group's tasks export results (exportPath); PVC path or s3:// URL.",
    )
    evaluation: GroupEvaluation | None = Field(
        default=None, description="EvalTasks created once the group is Ready."
    )


class GroupPhase(StrEnum):
    PENDING = "Pending"
    DEPLOYING = "Deploying"
    RUNNING = "Running"
    DEGRADED = "Degraded"
    FAILED = "Failed"


class InstanceStatus(ApiModel):
    """One model-server pod (the sources' instances)."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(description="Pod name.")
    node: str | None = Field(default=None, description="Node the pod runs on.")
    ready: bool = Field(default=False, description="Readiness probe passes.")
    restarts: int = Field(default=0, description="Container restarts.")
    phase: str | None = Field(default=None, description="Pod phase.")
    last_failure_reason: str | None = Field(
        default=None, description="Why it last failed: OOMKilled, CrashLoopBackOff, ErrImagePull…"
    )
    last_failure_message: str | None = Field(default=None, description="Detail of the failure.")


class GroupTaskRef(ApiModel):
    """An EvalTask the group created (the sources' tasks / datasetRefInventories)."""

    model_config = ConfigDict(extra="ignore")

    name: str
    dataset: str | None = None
    target: str | None = None
    state: str | None = None
    total_score: float | None = None


class ModelEvalServiceGroupStatus(ApiModel):
    """Observed state of a service group."""

    model_config = ConfigDict(extra="ignore")

    phase: GroupPhase | None = Field(
        default=None, description="Pending … Running, Degraded, Failed."
    )
    url: str | None = Field(
        default=None, description="In-cluster OpenAI-compatible base URL once ready."
    )
    ready: str | None = Field(default=None, description="ready/desired, as kubectl shows it.")
    ready_replicas: int | None = Field(default=None, description="Instances passing readiness.")
    desired_replicas: int | None = Field(default=None, description="Instances asked for.")
    instances: list[InstanceStatus] | None = Field(default=None, description="Pods of the group.")
    deployment_name: str | None = Field(
        default=None, description="The Deployment serving the model (modelServiceUuid)."
    )
    service_name: str | None = Field(default=None, description="The Service in front of it.")
    supported_metrics: list[str] | None = Field(
        default=None, description="Metrics the group's tasks report (supportMetrics)."
    )
    export_path: str | None = Field(default=None, description="Results location (exportPath).")
    tasks: list[GroupTaskRef] | None = Field(
        default=None, description="EvalTasks the group created."
    )
    message: str | None = Field(default=None, description="What is happening or wrong.")
    conditions: list[Condition] | None = Field(
        default=None, description="Ready, Progressing, Degraded."
    )
    observed_generation: int | None = Field(default=None, description="Generation last reconciled.")
    last_update_time: datetime | None = Field(
        default=None, description="Last status change (lastOpDate)."
    )


class ModelEvalServiceGroup(ApiModel):
    """A model service deployed for evaluation."""

    model_config = ConfigDict(extra="ignore")

    api_version: Literal["modeleval.io/v1alpha1"] = "modeleval.io/v1alpha1"
    kind: Literal["ModelEvalServiceGroup"] = "ModelEvalServiceGroup"
    metadata: ObjectMetaLite = Field(default_factory=ObjectMetaLite)
    spec: ModelEvalServiceGroupSpec
    status: ModelEvalServiceGroupStatus | None = None


__all__ = [
    "DNS1123_LABEL",
    "GpuResources",
    "GroupEvaluation",
    "GroupPhase",
    "GroupTaskRef",
    "HealthSettings",
    "InstanceStatus",
    "ModelCache",
    "ModelEvalServiceGroup",
    "ModelEvalServiceGroupSpec",
    "ModelEvalServiceGroupStatus",
    "Placement",
    "ResourceAmounts",
    "SecurityOverrides",
    "ServiceResources",
    "ServingSettings",
    "TaskType",
    "Toleration",
]
