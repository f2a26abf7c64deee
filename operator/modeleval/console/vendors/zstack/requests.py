"""ZStack DeployModelEvalService's request body, every field of the source document.

The body comes flat (the documented curl) or wrapped as ZStack's SDKs send it
(``{"params": {…}, "systemTags": […], "userTags": […]}``); `params_of` accepts both. Types
are strict, unknown keys ignored (ZStack ignores them too); ``limits`` is required (the
document marks it so) and ``dockerImage`` (or ``vmImageUuid``) because a group needs an image.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modeleval.console.vendors.errors import invalid

Names = list[str]


class ZStackModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class DeployModelEvalService(ZStackModel):
    # what is evaluated
    limits: int = Field(ge=1)
    datasetUuids: Names | None = Field(default=None, max_length=64)
    modelServiceGroupUuids: Names | None = Field(default=None, max_length=16)
    taskType: str | None = Field(default=None, max_length=63)
    # generation parameters (ranges as the EvalTask API's)
    temperature: float | None = Field(default=None, ge=0.01, le=1.0)
    topK: int | None = Field(default=None, ge=1)
    topP: float | None = Field(default=None, ge=0.0, le=1.0)
    maxLength: int | None = Field(default=None, ge=1)
    maxNewTokens: int | None = Field(default=None, ge=1)
    repetitionPenalty: float | None = Field(default=None, ge=1.0, le=2.0)
    prompt: str | None = Field(default=None, max_length=65536)
    # client behaviour
    model: str | None = Field(default=None, min_length=1, max_length=253)
    url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=2048)
    api: str | None = Field(default=None, max_length=63)
    parallel: int | None = Field(default=None, ge=1, le=4096)
    logEveryQuery: int | None = Field(default=None, ge=1)
    requestHeaders: dict[str, str] | None = None
    connectTimeout: int | None = Field(default=None, ge=1)
    readTimeout: int | None = Field(default=None, ge=1)
    # the service itself
    name: str | None = Field(default=None, min_length=1, max_length=253)
    description: str | None = Field(default=None, max_length=2048)
    type: str | None = Field(default=None, max_length=63)
    modelUuid: str | None = Field(default=None, max_length=253)
    dockerImage: str | None = Field(default=None, min_length=1, max_length=1024)
    vmImageUuid: str | None = Field(default=None, min_length=1, max_length=1024)
    cpuNum: int | None = Field(default=None, ge=1)
    memorySize: int | None = Field(default=None, ge=1)
    requestCpuNum: int | None = Field(default=None, ge=1)
    requestMemorySize: int | None = Field(default=None, ge=1)
    rootDiskSize: int | None = Field(default=None, ge=1)
    rootDiskOfferingUuid: str | None = Field(default=None, max_length=253)
    environmentVariables: dict[str, str] | None = None
    startupParameters: dict[str, str] | None = None
    serviceLivez: str | None = Field(default=None, pattern=r"^/", max_length=1024)
    serviceReadyz: str | None = Field(default=None, pattern=r"^/", max_length=1024)
    serviceBootUptime: int | None = Field(default=None, ge=1, le=86400)
    # placement and bookkeeping
    zoneUuid: str | None = Field(default=None, max_length=63)
    clusterUuid: str | None = Field(default=None, max_length=63)
    primaryStorageUuid: str | None = Field(default=None, max_length=253)
    l3NetworkUuids: Names | None = Field(default=None, max_length=16)
    systemTags: Names | None = Field(default=None, max_length=64)
    userTags: Names | None = Field(default=None, max_length=64)
    tagUuids: Names | None = Field(default=None, max_length=64)
    resourceUuid: str | None = Field(default=None, max_length=253)
    projectUuid: str | None = Field(default=None, max_length=253)
    uuid: str | None = Field(default=None, max_length=253)

    @field_validator("prompt")
    @classmethod
    def _has_input(cls, value: str | None) -> str | None:
        if value is not None and "{input}" not in value:
            raise ValueError("must contain {input} (where each dataset item's input goes)")
        return value

    @field_validator("datasetUuids", "modelServiceGroupUuids", "l3NetworkUuids")
    @classmethod
    def _no_blank(cls, value: Names | None) -> Names | None:
        if value is not None and any(not v.strip() for v in value):
            raise ValueError("must not hold empty ids")
        return value


def params_of(body: dict[str, Any]) -> dict[str, Any]:
    """The request's parameters: ``body["params"]`` when the body is wrapped (systemTags and
    userTags may sit beside it), else the body itself."""
    if "params" not in body:
        return body
    params = body["params"]
    if not isinstance(params, dict):
        raise invalid("params", "must be a JSON object")
    merged = dict(params)
    for key in ("systemTags", "userTags"):
        if key in body and key not in merged:
            merged[key] = body[key]
    return merged
