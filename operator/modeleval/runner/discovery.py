"""The model name to send when the task does not say: the one model the server serves.

A server pinned to one model (``transformers serve``, a vLLM started with one model) answers
400 to any other ``model`` field, so guessing (the task's model name) fails every request.
When ``endpoint.model`` is unset, the runner asks ``GET {url}/models`` once per endpoint and
uses the model it lists when it lists exactly one; otherwise the phase fails naming the field
and what the server listed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable

import aiohttp

from modeleval.runner.config import ModelRun

TIMEOUT_S = 30.0


class DiscoveryError(Exception):
    """The model name cannot be found out; the message names the field to set."""


async def served_models(model: ModelRun, session: aiohttp.ClientSession) -> list[str]:
    """The ids ``GET {url}/models`` lists (OpenAI ``{"data": [{"id": …}]}``)."""
    url = model.url.rstrip("/") + "/models"
    headers = {k: v for k, v in model.client_headers().items() if k.lower() != "content-type"}
    where = f"{model.model_field} is not set and {url}"
    try:
        async with session.get(url, headers=headers) as resp:
            body = await resp.read()
            if resp.status != 200:
                text = body[:200].decode("utf-8", "replace").strip()
                raise DiscoveryError(
                    f"{where} answered HTTP {resp.status} ({text}): set {model.model_field}"
                )
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DiscoveryError(
            f"{where} cannot be reached ({exc}): set {model.model_field}"
        ) from None
    try:
        data = json.loads(body).get("data")
        ids = [str(entry["id"]) for entry in data]
    except (ValueError, AttributeError, KeyError, TypeError):
        raise DiscoveryError(
            f"{where} did not answer a model list: set {model.model_field}"
        ) from None
    return ids


async def with_served_models(models: Iterable[ModelRun]) -> tuple[ModelRun, ...]:
    """``models`` with every unset ``model`` filled in from its server (asked once per URL)."""
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    listed: dict[str, list[str]] = {}
    out: list[ModelRun] = []
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for model in models:
            if model.model:
                out.append(model)
                continue
            if model.url not in listed:
                listed[model.url] = await served_models(model, session)
            ids = listed[model.url]
            if len(ids) != 1:
                shown = ", ".join(ids[:10]) + (" …" if len(ids) > 10 else "")
                raise DiscoveryError(
                    f"{model.model_field} is not set and {model.url}/models lists {len(ids)} "
                    f"models ({shown or 'none'}): set {model.model_field} to one of them"
                )
            out.append(dataclasses.replace(model, model=ids[0]))
    return tuple(out)
