"""Generation parameters as request-body fields."""

from __future__ import annotations

import pytest

from modeleval.builders.request_params import BodyParams


def test_generation_params_mapping() -> None:
    params = BodyParams(
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        max_new_tokens=128,
        max_length=4096,
        repetition_penalty=1.1,
        stop=["\n\n"],
        seed=7,
        extra={"enable_citation": True, "top_k": 5},
    )
    assert params.to_body() == {
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 5,  # vendor extras win: they are passed through verbatim
        "max_tokens": 128,
        "repetition_penalty": 1.1,
        "stop": ["\n\n"],
        "seed": 7,
        "enable_citation": True,
    }


def test_max_length_is_the_cap_when_max_new_tokens_is_unset() -> None:
    assert BodyParams(max_length=512).to_body() == {"max_tokens": 512}
    assert BodyParams().to_body() == {}


def test_each_server_flavour_is_sent_only_what_it_takes() -> None:
    from modeleval.builders.request_params import split_for_server

    body = {"temperature": 0.5, "top_k": 40, "repetition_penalty": 1.1, "penalty_score": 1.2,
            "max_tokens": 64, "stop": ["x"]}  # fmt: skip
    assert split_for_server(body, "auto") == (body, [])
    kept, dropped = split_for_server(body, "transformers")
    assert kept == {"temperature": 0.5, "max_tokens": 64, "stop": ["x"]}
    assert dropped == ["penalty_score", "repetition_penalty", "top_k"]
    assert split_for_server(body, "openai")[1] == split_for_server(body, "tgi")[1] == dropped
    kept, dropped = split_for_server(body, "vllm")
    assert "top_k" in kept and "repetition_penalty" in kept
    assert dropped == ["penalty_score"]  # vLLM would ignore it without a word


def test_the_plan_leaves_out_what_the_endpoint_flavour_does_not_take_and_says_so() -> None:
    from modeleval.api import EvalTask
    from modeleval.builders.runplan import build_run_plan

    params = {"temperature": 0.5, "topK": 40, "repetitionPenalty": 1.05, "maxNewTokens": 16,
              "extra": {"chat_template_kwargs": {"x": 1}}}  # fmt: skip
    task = EvalTask.model_validate({
        "metadata": {"name": "t", "namespace": "n"},
        "spec": {
            "models": [
                {"name": "hf", "endpoint": {"url": "http://hf/v1", "server": "transformers"}},
                {"name": "any", "endpoint": {"url": "http://any/v1"}},
            ],
            "dataset": {"inline": [{"input": "q", "target": "a"}]},
            "inference": {"params": params},
        },
    })  # fmt: skip
    hf, anything = build_run_plan(task, None)["models"]
    assert hf["server"] == "transformers"
    assert hf["params"] == {"temperature": 0.5, "max_tokens": 16,
                            "chat_template_kwargs": {"x": 1}}  # fmt: skip
    reason = "the transformers server flavour does not take them"
    assert hf["dropped"] == [{"parameters": ["repetition_penalty", "top_k"], "reason": reason}]
    assert anything["server"] == "auto" and anything["dropped"] == []
    assert anything["params"]["top_k"] == 40 and anything["params"]["repetition_penalty"] == 1.05


def plan_params(server: str, **params: object) -> tuple[dict[str, object], list[dict[str, object]]]:
    from modeleval.api import EvalTask
    from modeleval.builders.runplan import build_run_plan

    task = EvalTask.model_validate(
        {
            "metadata": {"name": "t", "namespace": "ns"},
            "spec": {
                "models": [{"name": "m", "endpoint": {"url": "http://h/v1", "server": server}}],
                "dataset": {"inline": [{"input": "x"}]},
                "inference": {"params": params},
            },
        }
    )
    (model,) = build_run_plan(task, None)["models"]
    return model["params"], model["dropped"]


QIANFAN = {"penaltyScore": 1.3, "disableSearch": True, "enableCitation": False}


def test_qianfan_parameters_reach_servers_that_take_them() -> None:
    """penaltyScore / disableSearch / enableCitation under Qianfan's own names."""
    for server in ("qianfan", "auto"):
        params, dropped = plan_params(server, **QIANFAN)
        assert params == {"penalty_score": 1.3, "disable_search": True, "enable_citation": False}
        assert dropped == []


def test_vllm_gets_the_penalty_as_repetition_penalty_and_drops_the_search_switches() -> None:
    params, dropped = plan_params("vllm", **QIANFAN)
    assert params == {"repetition_penalty": 1.3}
    assert dropped == [
        {"parameters": ["disable_search", "enable_citation"],
         "reason": "the vllm server flavour does not take them"}
    ]  # fmt: skip
    # Both set: repetitionPenalty is vLLM's own knob and wins; penaltyScore is reported.
    params, dropped = plan_params("vllm", penaltyScore=1.3, repetitionPenalty=1.1)
    assert params == {"repetition_penalty": 1.1}
    assert dropped[0]["parameters"] == ["penalty_score"]


def test_openai_style_servers_take_none_of_them() -> None:
    for server in ("openai", "tgi", "transformers"):
        params, dropped = plan_params(server, temperature=0.5, **QIANFAN)
        assert params == {"temperature": 0.5}
        assert dropped[0]["parameters"] == ["disable_search", "enable_citation", "penalty_score"]


def test_max_length_bounds_the_answer_when_max_new_tokens_is_unset() -> None:
    assert plan_params("openai", maxLength=512)[0] == {"max_tokens": 512}
    assert plan_params("openai", maxLength=512, maxNewTokens=64)[0] == {"max_tokens": 64}


EVERY_PARAM = {
    "temperature": 0.5,
    "topP": 0.9,
    "topK": 40,
    "maxLength": 512,
    "maxNewTokens": 64,
    "repetitionPenalty": 1.1,
    "penaltyScore": 1.2,
    "stop": ["###"],
    "seed": 7,
    "system": "You are terse.",
    "disableSearch": True,
    "enableCitation": False,
    "extra": {"chat_template_kwargs": {"enable_thinking": False}},
}
"""Every field of GenerationParams (a new one must be added here and to the bodies below)."""

EVERY_BODY = {
    "temperature": 0.5,
    "top_p": 0.9,
    "top_k": 40,
    "max_tokens": 64,  # maxNewTokens; maxLength only when it is unset
    "repetition_penalty": 1.1,
    "penalty_score": 1.2,
    "stop": ["###"],
    "seed": 7,
    "disable_search": True,
    "enable_citation": False,
    "chat_template_kwargs": {"enable_thinking": False},
}


def planned_models(
    task_params: dict[str, object], *models: dict[str, object]
) -> list[dict[str, object]]:
    from modeleval.api import EvalTask
    from modeleval.builders.runplan import build_run_plan

    task = EvalTask.model_validate({
        "metadata": {"name": "t", "namespace": "ns"},
        "spec": {
            "models": [{"endpoint": {"url": "http://h/v1"}, **m} for m in models],
            "dataset": {"inline": [{"input": "x"}]},
            "inference": {"params": task_params},
        },
    })  # fmt: skip
    return list(build_run_plan(task, None)["models"])


def test_every_generation_parameter_of_the_task_reaches_the_request_body() -> None:
    from modeleval.api import GenerationParams

    assert set(EVERY_PARAM) == {f.alias for f in GenerationParams.model_fields.values()}
    (model,) = planned_models(EVERY_PARAM, {"name": "m"})
    assert model["params"] == EVERY_BODY
    assert model["system"] == "You are terse."  # the system message, not a body field
    assert model["dropped"] == []  # server auto: everything is sent


@pytest.mark.parametrize(
    ("field", "value", "changed"),
    [
        ("temperature", 0.1, {"temperature": 0.1}),
        ("topP", 0.5, {"top_p": 0.5}),
        ("topK", 5, {"top_k": 5}),
        ("maxLength", 100, {"max_tokens": 100}),
        ("maxNewTokens", 32, {"max_tokens": 32}),
        ("repetitionPenalty", 1.5, {"repetition_penalty": 1.5}),
        ("penaltyScore", 1.9, {"penalty_score": 1.9}),
        ("stop", ["END"], {"stop": ["END"]}),
        ("seed", 99, {"seed": 99}),
        ("system", "Be verbose.", {}),
        ("disableSearch", False, {"disable_search": False}),
        ("enableCitation", True, {"enable_citation": True}),
        ("extra", {"logprobs": True}, {"logprobs": True}),
    ],
)
def test_a_models_own_parameters_override_the_tasks_one_by_one(
    field: str, value: object, changed: dict[str, object]
) -> None:
    """spec.models[].params over spec.inference.params: the one field changes for that model
    only (maxNewTokens left out of the task's, so that maxLength decides max_tokens)."""
    task_params = {k: v for k, v in EVERY_PARAM.items() if k != "maxNewTokens"}
    base = {**EVERY_BODY, "max_tokens": 512}
    own, other = planned_models(
        task_params, {"name": "own", "params": {field: value}}, {"name": "other"}
    )
    assert other["params"] == base and other["system"] == "You are terse."
    # (extra: the model's map replaces the task's; both merge their keys into the body)
    if field == "extra":
        base = {k: v for k, v in base.items() if k != "chat_template_kwargs"}
    assert own["params"] == {**base, **changed}
    assert own["system"] == (value if field == "system" else "You are terse.")
