"""What an EvalTask evaluates: a service group or an external endpoint."""

from __future__ import annotations

from pydantic import Field

from modeleval.api.common import (
    ApiFlavour,
    ApiModel,
    GenerationParams,
    HeaderFromSecret,
    ObjectName,
    Rule,
    SecretKeySelector,
    ServerFlavour,
    has,
)

TARGET_RULE = Rule(
    cel="has(self.serviceGroupRef) != has(self.endpoint)",
    message="set exactly one of serviceGroupRef or endpoint",
    check=lambda s: has(s.service_group_ref) != has(s.endpoint),
)

PROMPT_RULE = Rule(
    cel="!has(self.promptTemplate) || self.promptTemplate.contains('{input}')",
    message="promptTemplate must contain {input}",
    check=lambda s: s.prompt_template is None or "{input}" in s.prompt_template,
    field_path=".promptTemplate",
)


class ServiceGroupRef(ApiModel):
    """A ModelEvalServiceGroup in the task's namespace."""

    name: ObjectName = Field(description="Name of the ModelEvalServiceGroup.")


class _EndpointFields(ApiModel):
    """Where an OpenAI-compatible endpoint is and how to authenticate to it."""

    url: str = Field(
        pattern=r"^https?://[^\s]+$",
        description="Base URL, e.g. https://api.example.com/v1 (the sources' url).",
    )
    api: ApiFlavour = Field(
        default=ApiFlavour.OPENAI_CHAT,
        description="openai-chat or openai-completions (the sources' api).",
    )
    model: str | None = Field(
        default=None,
        max_length=253,
        description="Model name sent in requests (the sources' model).",
    )
    request_headers: dict[str, str] | None = Field(
        default=None, description="Plain request headers (requestHeaders)."
    )
    request_headers_from: list[HeaderFromSecret] | None = Field(
        default=None, description="Headers whose values are in Secrets."
    )
    api_key_secret_ref: SecretKeySelector | None = Field(
        default=None, description="Secret key with the API key, sent as a Bearer token."
    )


class Endpoint(_EndpointFields):
    """An OpenAI-compatible endpoint outside the operator's control."""

    server: ServerFlavour = Field(
        default=ServerFlavour.AUTO,
        description="Server implementation (auto, openai, vllm, tgi, transformers): parameters "
        "it does not take are not sent, and the task says so (status.droppedParameters, an "
        "Event). auto: sent, and dropped once when the server rejects them by name.",
    )


class JudgeEndpoint(_EndpointFields):
    """An OpenAI-compatible judge endpoint outside the operator's control. It has no server
    flavour: the judge sends only OpenAI's own fields (model, messages or prompt,
    temperature, max_tokens, stream), which every flavour takes."""


class ModelTarget(ApiModel):
    """One evaluated object (Qianfan evalModelConfigList item)."""

    __rules__ = (TARGET_RULE, PROMPT_RULE)

    name: str = Field(
        min_length=1,
        max_length=63,
        pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
        description="Name of this model in results (modelId).",
    )
    service_group_ref: ServiceGroupRef | None = Field(
        default=None, description="Evaluate a ModelEvalServiceGroup (evaluatedServiceGroupUuid)."
    )
    endpoint: Endpoint | None = Field(default=None, description="Evaluate an external endpoint.")
    is_baseline: bool | None = Field(
        default=None, description="GSB baseline (exactly one of two models)."
    )
    prompt_template: str | None = Field(
        default=None,
        description="Per-model prompt template (promptTemplate); placeholders as in "
        "inference.promptTemplate.",
    )
    params: GenerationParams | None = Field(
        default=None, description="Per-model generation parameters, over the task's (params)."
    )
    parallel: int | None = Field(
        default=None,
        ge=1,
        le=4096,
        description="Requests in flight to this model (default inference.client.parallel). "
        "A task's models are evaluated at the same time, each with its own parallel requests.",
    )
