"""Where evaluation data comes from, and where results go."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import ConfigDict, Field

from modeleval.api.common import ApiModel, ObjectName, Quantity, Rule, SecretKeySelector, has

_ONE_SOURCE_RULE = (
    "(has(self.configMap) ? 1 : 0) + (has(self.pvc) ? 1 : 0) + (has(self.url) ? 1 : 0)"
    " + (has(self.s3) ? 1 : 0) + (has(self.inline) ? 1 : 0) == 1"
)


class ConfigMapSource(ApiModel):
    name: ObjectName = Field(description="ConfigMap name.")
    key: str = Field(min_length=1, description="Key holding the file.")


class PvcSource(ApiModel):
    claim_name: ObjectName = Field(description="PersistentVolumeClaim name.")
    path: str = Field(min_length=1, description="File path inside the volume.")


class S3Source(ApiModel):
    url: str = Field(pattern=r"^s3://[^/]+/.+", description="s3://bucket/key of the file.")
    endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="S3-compatible endpoint (MinIO, BOS, OSS…).",
    )
    region: str | None = Field(default=None, description="Bucket region.")
    access_key_id: SecretKeySelector | None = Field(
        default=None, description="Secret key with the access key id."
    )
    secret_access_key: SecretKeySelector | None = Field(
        default=None, description="Secret key with the secret access key."
    )


class DatasetItem(ApiModel):
    """One inline item."""

    model_config = ConfigDict(extra="allow")

    id: str | None = Field(default=None, description="Stable item id (defaults to its index).")
    input: str = Field(description="The question / prompt input.")
    target: str | None = Field(default=None, description="The reference answer.")


class DatasetFormat(StrEnum):
    AUTO = "auto"
    JSONL = "jsonl"
    JSON = "json"
    CSV = "csv"


class _Columns(ApiModel):
    """The columns a dataset and a result set share: input, reference answer and id."""

    preset: Literal["default", "qianfan"] = Field(
        default="default", description="The column names used when none is given."
    )
    input: str | None = Field(default=None, description="Column of the input.")
    target: str | None = Field(default=None, description="Column of the reference answer.")
    id: str | None = Field(default=None, description="Column of the item id.")


class DatasetFields(_Columns):
    """Which columns of a dataset hold the input, the reference answer, the id and a per-item
    system prompt."""

    preset: Literal["default", "qianfan"] = Field(
        default="default",
        description="default: input/target/id; qianfan: prompt/response (response is the "
        "reference answer; a list of lists gives its first answer).",
    )
    system: str | None = Field(
        default=None,
        description="Column of a per-item system prompt; an empty cell falls back to "
        "inference.systemPrompt.",
    )


class ResultFields(_Columns):
    """Which columns of an existing result set hold the input, the reference answer, the id
    and the model's answer."""

    preset: Literal["default", "qianfan"] = Field(
        default="default",
        description="default: input/target/id/output; qianfan: prompt/reference/response "
        "(response is the model's answer).",
    )
    output: str | None = Field(
        default=None,
        description="Column of the model's answer (default: output; response with preset qianfan).",
    )


_ONE_SOURCE = (
    Rule(
        cel=_ONE_SOURCE_RULE,
        message="set exactly one of configMap, pvc, url, s3, inline",
        check=lambda s: sum(has(v) for v in (s.config_map, s.pvc, s.url, s.s3, s.inline)) == 1,
    ),
)


class DataSource(ApiModel):
    """Where rows are: exactly one source, and a format (a dataset's and a result set's)."""

    config_map: ConfigMapSource | None = Field(default=None, description="File in a ConfigMap.")
    pvc: PvcSource | None = Field(default=None, description="File on a PVC.")
    url: str | None = Field(default=None, pattern=r"^https?://", description="HTTP(S) URL.")
    s3: S3Source | None = Field(default=None, description="Object in an S3-compatible bucket.")
    inline: list[DatasetItem] | None = Field(
        default=None, max_length=1000, description="Items written in the spec."
    )
    format: DatasetFormat = Field(
        default=DatasetFormat.AUTO, description="File format; auto = from the file extension."
    )


class DatasetSpec(DataSource):
    """A dataset: a name, exactly one source, a format and a field mapping."""

    __rules__ = _ONE_SOURCE

    name: str | None = Field(
        default=None,
        max_length=63,
        description="Dataset id (datasetUuid / versionId); names derived tasks.",
    )
    fields: DatasetFields | None = Field(default=None, description="Column mapping.")


class ResultSetSource(DataSource):
    """Where an existing result set is: exactly one source, a format and a field mapping."""

    __rules__ = _ONE_SOURCE

    fields: ResultFields | None = Field(default=None, description="Column mapping.")


class StorageType(StrEnum):
    """Qianfan storageType: BOS (an object store) or sysStorage (platform storage)."""

    PVC = "PVC"
    S3 = "S3"


class ResultsStorage(ApiModel):
    """Where inference results, scores and reports are written (storageType / storagePath)."""

    __rules__ = (
        Rule(
            cel="self.type != 'S3' || has(self.s3)",
            message="type S3 needs s3",
            check=lambda s: s.type != "S3" or has(s.s3),
            field_path=".s3",
        ),
    )

    type: StorageType = Field(default=StorageType.PVC, description="PVC or S3.")
    claim_name: ObjectName | None = Field(
        default=None, description="PVC to write to; when unset the operator creates one per task."
    )
    storage_class_name: str | None = Field(
        default=None, description="Storage class of a created PVC."
    )
    size: Quantity = Field(default="1Gi", description="Size of a created PVC.")
    path: str | None = Field(
        default=None, description="Sub-directory inside the volume (storagePath)."
    )
    s3: S3Source | None = Field(default=None, description="s3://bucket/prefix to upload to.")


class ExistingResults(ApiModel):
    """An existing inference result set to score instead of running inference."""

    name: str = Field(
        min_length=1,
        max_length=63,
        description="Result set id (inferDatasetId); names the model in scores.",
    )
    model_id: str | None = Field(
        default=None,
        description="The deployed model that produced it (modelId); shown beside its name in "
        "summary.json, status.scores.perModel[].modelId and the report.",
    )
    is_baseline: bool | None = Field(
        default=None, description="The GSB baseline (exactly one of two)."
    )
    source: ResultSetSource = Field(description="Where the results are; rows need an `output`.")
