"""How the mock behaves like each make of model server (``MockSettings.flavour``).

``transformers`` is modelled on Hugging Face ``transformers serve`` 5.24 as observed on CPU
(transcripts of 49 probes; docs/testing.md lists the differences that remain). The others
follow their documentation: ``openai`` (OpenAI's API: 400 for unknown arguments), ``vllm``
(vLLM's OpenAI server: extra sampling fields, unknown ones ignored), ``tgi`` (Text Generation
Inference's Messages API: unknown fields ignored). ``generic`` is the mock as it always was:
lenient about everything, OpenAI-shaped, with ``[DONE]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from modeleval_testkit.mockserver.config import ServerFlavour

OPENAI_FIELDS = frozenset(
    {
        "model",
        "messages",
        "prompt",
        "stream",
        "stream_options",
        "temperature",
        "top_p",
        "n",
        "max_tokens",
        "max_completion_tokens",
        "stop",
        "seed",
        "frequency_penalty",
        "presence_penalty",
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "user",
        "response_format",
        "tools",
        "tool_choice",
        "metadata",
        "store",
        "echo",
        "suffix",
        "best_of",
    }
)


VLLM_EXTRAS = frozenset(
    {
        "top_k",
        "min_p",
        "repetition_penalty",
        "length_penalty",
        "min_tokens",
        "ignore_eos",
        "stop_token_ids",
        "include_stop_str_in_output",
        "skip_special_tokens",
    }
)


@dataclass(frozen=True)
class Profile:
    """What distinguishes one server make on the wire."""

    error_shape: str = "openai"
    """``openai``: ``{"error": {"message", "type", "code"}}``; ``fastapi``: ``{"detail": ...}``."""
    unknown_fields: str = "ignore"
    """``ignore`` (vLLM, TGI), ``reject-422`` (transformers: ``Unexpected fields in the
    request: {...}``) or ``reject-400`` (OpenAI: ``Unrecognized request argument supplied``)."""
    extra_fields: frozenset[str] = frozenset()
    """Fields taken beyond OpenAI's (vLLM's sampling extras)."""
    pinned_model: bool = False
    """A request naming another model is refused (transformers: 400; OpenAI, vLLM: 404)."""
    done_marker: bool = True
    """The stream ends with ``data: [DONE]``."""
    role_only_first_chunk: bool = False
    """The first chat chunk carries ``{"role": "assistant"}`` and no text."""
    usage_in_finish_chunk: bool = False
    """Usage rides in the chunk with ``finish_reason``, whatever ``stream_options`` says."""
    tokens_per_chunk: int = 1
    """Text chunks carry this many tokens (fewer chunks than tokens)."""
    omit_nulls: bool = False
    """Keys whose value is null are left out of chunks (``finish_reason`` until the end)."""
    stop_in_text: bool = False
    """A stop string stays in the returned text (with the rest of its token)."""
    malformed_is_plain_500: bool = False
    """A request it cannot handle gets ``500 text/plain Internal Server Error``."""


PROFILES: dict[ServerFlavour, Profile] = {
    ServerFlavour.GENERIC: Profile(),
    ServerFlavour.OPENAI: Profile(unknown_fields="reject-400", pinned_model=True),
    ServerFlavour.VLLM: Profile(pinned_model=True, extra_fields=VLLM_EXTRAS),
    ServerFlavour.TGI: Profile(),
    ServerFlavour.TRANSFORMERS: Profile(
        error_shape="fastapi",
        unknown_fields="reject-422",
        pinned_model=True,
        done_marker=False,
        role_only_first_chunk=True,
        usage_in_finish_chunk=True,
        tokens_per_chunk=2,
        omit_nulls=True,
        stop_in_text=True,
        malformed_is_plain_500=True,
    ),
}


def unknown_fields(profile: Profile, body: dict[str, object]) -> list[str]:
    """Fields of ``body`` this server make does not know."""
    known = OPENAI_FIELDS | profile.extra_fields
    return sorted(k for k in body if k not in known)
