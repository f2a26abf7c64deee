"""The judge's endpoint has no server flavour: the judge sends only OpenAI's own fields (model,
messages or prompt, temperature, max_tokens, stream), which every flavour takes, so a
``server`` there would change nothing. The model rejects it naming the field, and the CRD does
not declare it (the API server prunes it; kubectl's strict field validation reports it as
unknown). A model's endpoint keeps its ``server``."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from modeleval.api import EvalTask
from modeleval.api.crdgen import build_crd
from modeleval.api.kinds import KINDS
from modeleval_testkit.apiserver.schema import validate_custom_resource

TASK: dict[str, Any] = {
    "apiVersion": "modeleval.io/v1alpha1",
    "kind": "EvalTask",
    "metadata": {"name": "t", "namespace": "ns"},
    "spec": {
        "models": [{"name": "m", "endpoint": {"url": "http://m/v1", "server": "vllm"}}],
        "dataset": {"inline": [{"input": "x"}]},
        "scoring": {"modes": ["model"], "judge": {"endpoint": {"url": "http://judge/v1"}}},
    },
}


def _crd() -> dict[str, Any]:
    return build_crd(next(kind for kind in KINDS if kind.kind == "EvalTask"))


def test_a_models_endpoint_keeps_its_server() -> None:
    result = validate_custom_resource(_crd(), TASK)
    assert result.ok and not result.pruned, (result.errors, result.pruned)
    task = EvalTask.model_validate(TASK)
    assert task.spec.models is not None and task.spec.models[0].endpoint is not None
    assert task.spec.models[0].endpoint.server == "vllm"


def test_the_judge_endpoint_has_no_server() -> None:
    doc = copy.deepcopy(TASK)
    doc["spec"]["scoring"]["judge"]["endpoint"]["server"] = "vllm"
    with pytest.raises(ValidationError) as info:
        EvalTask.model_validate(doc)
    [error] = info.value.errors()
    assert ".".join(map(str, error["loc"])) == "spec.scoring.judge.endpoint.server"
    assert error["type"] == "extra_forbidden"
    assert validate_custom_resource(_crd(), doc).pruned == ["spec.scoring.judge.endpoint.server"]


class _Reply:
    status = 200

    async def json(self, content_type: str | None = None) -> dict[str, Any]:
        return {"choices": [{"message": {"content": "Score: 5"}, "text": "Score: 5"}]}

    async def __aenter__(self) -> _Reply:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class _Session:
    """Stands in for the judge's aiohttp session: records each request body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def post(self, url: str, *, json: dict[str, Any]) -> _Reply:
        self.bodies.append(json)
        return _Reply()


@pytest.mark.parametrize("api", ["openai-chat", "openai-completions"])
async def test_every_server_flavour_takes_what_the_judge_sends(api: str) -> None:
    """Why the judge endpoint needs no ``server``: no flavour would drop a field of its body."""
    from modeleval.builders.request_params import SERVER_EXTRAS, split_for_server
    from modeleval.runner.server_compat import PROTECTED
    from modeleval.scoring.http_judge import OpenAIJudge

    judge = OpenAIJudge("http://judge/v1", "j", api=api)
    session = _Session()
    judge._session = session  # type: ignore[assignment]
    assert await judge([{"role": "user", "content": "q"}]) == "Score: 5"
    [body] = session.bodies
    sampling = {k: v for k, v in body.items() if k not in PROTECTED}
    assert set(sampling) == {"temperature", "max_tokens"}
    for server in SERVER_EXTRAS:
        assert split_for_server(sampling, server) == (sampling, [])
