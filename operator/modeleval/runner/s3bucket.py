"""Where a task's S3 results live (``spec.results.type: S3``) and the errors of reaching it.

Credentials come from the environment variables named by ``modeleval.api.secret_env_name``
for ``accessKeyId`` / ``secretAccessKey`` (the Job maps the Secrets to them); without those
references boto3's usual ``AWS_*`` variables apply. Secret values are never logged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from modeleval.runner.plan import PlanError, s3_settings
from modeleval.runner.sources import S3Settings

if TYPE_CHECKING:
    from modeleval.api.datasets import ResultsStorage


class S3ResultsError(Exception):
    """The bucket cannot be read or written; the message names the bucket and key."""


@dataclass(frozen=True, slots=True)
class S3Results:
    """Where a task's results live in a bucket, and how to reach it."""

    bucket: str
    prefix: str
    """Key prefix without leading or trailing ``/`` (may be empty)."""
    settings: S3Settings

    @classmethod
    def from_plan(
        cls, results: Mapping[str, Any] | None, env: Mapping[str, str] | None = None
    ) -> S3Results | None:
        """The bucket of a run plan's ``results`` (``{"s3": {...}}``); None for a volume."""
        s3 = (results or {}).get("s3")
        if not s3:
            return None
        env = os.environ if env is None else env
        parsed = urlparse(s3["url"])
        if parsed.scheme != "s3" or not parsed.netloc:
            raise S3ResultsError(f"{s3['url']}: expected s3://bucket/prefix")
        try:
            settings = s3_settings(s3, env)
        except PlanError as exc:
            raise S3ResultsError(f"{s3['url']}: {exc}") from None
        return cls(parsed.netloc, parsed.path.strip("/"), settings)

    @classmethod
    def from_storage(
        cls, storage: ResultsStorage | None, env: Mapping[str, str] | None = None
    ) -> S3Results | None:
        """The bucket of an S3 ``ResultsStorage``; None for any other storage."""
        from modeleval.builders.runplan import results_plan

        return cls.from_plan(results_plan(storage), env)

    def key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def url(self, relative: str = "") -> str:
        return f"s3://{self.bucket}/{self.key(relative)}"


def describe(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', '?')}: {error.get('Message') or 'no message'}"
    return str(exc)
