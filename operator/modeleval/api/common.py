"""Building blocks shared by both custom resources.

Every model here is a pydantic v2 model whose JSON schema becomes part of a CRD
(see :mod:`modeleval.api.crdgen`). Field names are Kubernetes-style camelCase
(aliases); Python code uses snake_case attributes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema as cs

from modeleval.constants import secret_env_var

# Kubernetes resource quantity ("500m", "16Gi", 2): the API server's pattern without the
# minus sign (a negative amount of a resource means nothing). Stored as written.
QUANTITY_PATTERN = (
    r"^\+?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?"
    r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_QUANTITY_RE = re.compile(QUANTITY_PATTERN)


def _check_quantity(value: int | float | str) -> int | float | str:
    if isinstance(value, bool):
        raise ValueError("must be a Kubernetes quantity such as 2, '500m' or '16Gi'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("must not be negative")
        return value
    if not _QUANTITY_RE.match(value):
        raise ValueError(f"{value!r} is not a Kubernetes quantity such as 2, '500m' or '16Gi'")
    return value


def _quantity_validator(value: Any) -> int | float | str:
    if not isinstance(value, int | float | str):
        raise ValueError("must be a Kubernetes quantity such as 2, '500m' or '16Gi'")
    return _check_quantity(value)


Quantity = Annotated[
    int | str,
    BeforeValidator(_quantity_validator),
    WithJsonSchema({"x-kubernetes-int-or-string": True, "pattern": QUANTITY_PATTERN}),
]
"""A Kubernetes resource quantity: an integer or a string such as ``"500m"``, ``"16Gi"``."""

# DNS-1123 label / subdomain names, as the API server checks them.
DNS1123_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
ENV_NAME = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"

ObjectName = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS1123_SUBDOMAIN)]


@dataclass(frozen=True)
class Rule:
    """A cross-field rule, written once in both languages.

    ``cel`` goes into the CRD as an ``x-kubernetes-validations`` entry (core CEL only: the API
    server enforces it); ``check`` is the same rule in Python, run by pydantic, so
    ``modeleval run`` and the operator reject exactly what the API server rejects. A test
    evaluates both on every sample and every invalid example and requires them to agree.
    """

    cel: str
    message: str
    check: Callable[[Any], bool]
    field_path: str | None = None

    def to_schema(self) -> dict[str, str]:
        entry = {"rule": self.cel, "message": self.message}
        if self.field_path:
            entry["fieldPath"] = self.field_path
        return entry


def has(value: Any) -> bool:
    """CEL ``has()`` for an optional field: set (not None)."""
    return value is not None


class ApiModel(BaseModel):
    """Base of every API model: camelCase on the wire, unknown fields rejected."""

    __rules__: ClassVar[tuple[Rule, ...]] = ()

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        use_enum_values=True,
        validate_default=False,
        # Build validators on first use: the runner imports the whole API but validates only
        # an EvalTask, and start-up time counts in its benchmark.
        defer_build=True,
    )

    @model_validator(mode="after")
    def _check_rules(self) -> Self:
        for rule in type(self).__rules__:
            if not rule.check(self):
                where = f"{rule.field_path.lstrip('.')}: " if rule.field_path else ""
                raise ValueError(f"{where}{rule.message}")
        return self

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: cs.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        if cls.__dict__.get("__rules__"):
            target = handler.resolve_ref_schema(schema)
            target["x-kubernetes-validations"] = [r.to_schema() for r in cls.__rules__]
        return schema

    def to_wire(self) -> dict[str, Any]:
        """The object as it is written in YAML: camelCase, only fields that were set."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


class SecretKeySelector(ApiModel):
    """A key of a Secret in the object's namespace."""

    name: ObjectName = Field(description="Name of the Secret.")
    key: str = Field(min_length=1, description="Key inside the Secret.")


class ConfigMapKeySelector(ApiModel):
    """A key of a ConfigMap in the object's namespace."""

    name: ObjectName = Field(description="Name of the ConfigMap.")
    key: str = Field(min_length=1, description="Key inside the ConfigMap.")


class EnvVarSource(ApiModel):
    """An environment variable whose value comes from a Secret or a ConfigMap."""

    __rules__ = (
        Rule(
            cel="has(self.secretKeyRef) != has(self.configMapKeyRef)",
            message="set exactly one of secretKeyRef or configMapKeyRef",
            check=lambda s: has(s.secret_key_ref) != has(s.config_map_key_ref),
        ),
    )

    name: str = Field(pattern=ENV_NAME, description="Environment variable name.")
    secret_key_ref: SecretKeySelector | None = Field(
        default=None, description="Take the value from this Secret key."
    )
    config_map_key_ref: ConfigMapKeySelector | None = Field(
        default=None, description="Take the value from this ConfigMap key."
    )


class HeaderFromSecret(ApiModel):
    """An HTTP request header whose value is kept in a Secret (tokens, keys)."""

    name: str = Field(
        min_length=1, pattern=r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description="Header name."
    )
    secret_key_ref: SecretKeySelector = Field(description="Secret key holding the value.")


def secret_env_name(ref: SecretKeySelector) -> str:
    """Name of the environment variable a runner Job receives a Secret key through
    (:func:`modeleval.constants.secret_env_var`)."""
    return secret_env_var(ref.name, ref.key)


class ApiFlavour(StrEnum):
    """Wire protocol of a model endpoint (the source documents' ``api``)."""

    OPENAI_CHAT = "openai-chat"
    OPENAI_COMPLETIONS = "openai-completions"


class ServerFlavour(StrEnum):
    """Which server implementation answers an endpoint: it decides which sampling parameters
    beyond OpenAI's the requests may carry (``modeleval.builders.request_params``)."""

    AUTO = "auto"
    """Unknown: every parameter is sent; those the server rejects as unexpected (HTTP 400/422
    naming them) are dropped once, reported in ``status.droppedParameters`` and an Event."""
    OPENAI = "openai"
    """OpenAI's API: OpenAI's parameters only."""
    VLLM = "vllm"
    """vLLM: OpenAI's parameters plus ``top_k``, ``repetition_penalty``, ``min_p`` …"""
    TGI = "tgi"
    """Text Generation Inference's Messages API: OpenAI's parameters only."""
    TRANSFORMERS = "transformers"
    """Hugging Face ``transformers serve``: OpenAI's parameters only (others are a 422)."""
    QIANFAN = "qianfan"
    """Baidu Qianfan's OpenAI-compatible API (``/v2/chat/completions``): OpenAI's parameters
    plus ``penalty_score``, ``disable_search``, ``enable_citation``."""


class GenerationParams(ApiModel):
    """Sampling parameters sent with every inference request.

    Ranges follow the source documents: temperature 0.01–1.0 (Qianfan), topP 0–1,
    repetitionPenalty / penaltyScore 1–2.
    """

    temperature: float | None = Field(
        default=None, ge=0.01, le=1.0, description="Sampling temperature (0.01–1.0)."
    )
    top_p: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Nucleus sampling probability mass (0–1)."
    )
    top_k: int | None = Field(
        default=None, ge=1, description="Keep only the k most likely tokens at each step."
    )
    max_length: int | None = Field(
        default=None,
        ge=1,
        description="ZStack's maximum length (maxLength), tokens. OpenAI-compatible servers "
        "bound only the answer, so when maxNewTokens is unset it is sent as max_tokens.",
    )
    max_new_tokens: int | None = Field(
        default=None, ge=1, description="Maximum tokens to generate (max_tokens)."
    )
    repetition_penalty: float | None = Field(
        default=None, ge=1.0, le=2.0, description="Repetition penalty (1.0–2.0)."
    )
    penalty_score: float | None = Field(
        default=None,
        ge=1.0,
        le=2.0,
        description="Qianfan's repetition penalty (1.0–2.0): sent as penalty_score to servers "
        "of flavour qianfan or auto, as repetition_penalty to vllm (when repetitionPenalty is "
        "unset); other flavours do not take it (reported in status.droppedParameters).",
    )
    stop: list[str] | None = Field(default=None, max_length=16, description="Stop sequences.")
    seed: int | None = Field(default=None, description="Sampling seed, when the server has one.")
    system: str | None = Field(default=None, description="System prompt (Qianfan's model persona).")
    disable_search: bool | None = Field(
        default=None,
        description="Qianfan: force real-time search off; sent as disable_search to servers "
        "of flavour qianfan or auto (others do not take it: reported as dropped).",
    )
    enable_citation: bool | None = Field(
        default=None,
        description="Qianfan: enable search citations; sent as enable_citation to servers of "
        "flavour qianfan or auto (others do not take it: reported as dropped).",
    )
    extra: dict[str, Any] | None = Field(
        default=None,
        description="Vendor parameters passed through verbatim in the request body.",
    )


class ClientSettings(ApiModel):
    """How the runner talks to a model endpoint (the load-test knobs of the sources)."""

    parallel: int = Field(default=8, ge=1, le=4096, description="Requests in flight at once.")
    log_every_query: int = Field(
        default=100, ge=1, description="Log and report progress every N queries."
    )
    connect_timeout_seconds: float = Field(
        default=10.0, gt=0, description="TCP connect timeout, seconds."
    )
    read_timeout_seconds: float = Field(
        default=300.0, gt=0, description="Timeout waiting for a response, seconds."
    )
    request_timeout_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Longest one request may take as a whole (connect, send, wait, read), "
        "seconds; a server that trickles bytes cannot hold it longer. Unset: only the read "
        "timeout applies.",
    )
    max_retries: int = Field(
        default=3, ge=0, le=20, description="Retries of a failed request (5xx, 429, timeouts)."
    )
    max_error_ratio: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="The task fails when more than this share of items still fail after retries.",
    )


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(ApiModel):
    """A standard Kubernetes condition (``metav1.Condition``)."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(description="Condition type, e.g. Ready.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str | None = Field(default=None, description="CamelCase reason.")
    message: str | None = Field(default=None, description="Human-readable detail.")
    last_transition_time: datetime | None = Field(
        default=None, description="When the status last changed."
    )
    observed_generation: int | None = Field(
        default=None, description="metadata.generation this condition was set for."
    )


class ObjectMetaLite(ApiModel):
    """The parts of ``metadata`` the models read; everything else is kept as is."""

    model_config = ConfigDict(extra="allow")

    name: str | None = None
    namespace: str | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
