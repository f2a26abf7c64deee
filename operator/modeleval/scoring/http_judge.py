"""A minimal OpenAI-compatible judge client over aiohttp (``POST {base}/chat/completions``).

The runner may pass its own client instead; anything matching
:class:`modeleval.scoring.judge.JudgeClient` works. Timeouts and retries are applied by the
judge logic around each call, not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import aiohttp

from modeleval.scoring.judge import ChatMessage


class JudgeHTTPError(RuntimeError):
    """The judge endpoint answered with a non-2xx status or an unexpected body.

    ``cause`` is the short form failures are counted by (``HTTP 503 from URL``).
    """

    def __init__(self, message: str, *, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


class OpenAIJudge:
    """Async context manager and :class:`JudgeClient`: sends chat messages, returns the text.

    ``base_url`` is the API root (e.g. ``http://judge:8000/v1``); ``model`` is the judge's
    model name (``autoModelEvalConfig.apiName``). ``max_tokens`` leaves room for the reasoning
    the prompts ask for before the final verdict line (a reply cut off before it has no verdict).
    ``api`` ``openai-completions`` sends the messages' contents as one prompt to
    ``/completions`` (a judge that serves only completions). ``connect_timeout_s`` bounds the
    TCP connect; the whole call is bounded by the judge logic around it.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        headers: Mapping[str, str] | None = None,
        api_key: str | None = None,
        temperature: float = 0.0,
        max_tokens: int | None = 1024,
        api: str = "openai-chat",
        connect_timeout_s: float | None = None,
    ) -> None:
        self.chat = api != "openai-completions"
        path = "/chat/completions" if self.chat else "/completions"
        self.url = base_url.rstrip("/") + path
        self.model = model
        self.connect_timeout_s = connect_timeout_s
        self.headers = dict(headers or {})
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> OpenAIJudge:
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.connect_timeout_s)
        self._session = aiohttp.ClientSession(headers=self.headers, timeout=timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __call__(self, messages: Sequence[ChatMessage], /) -> str:
        if self._session is None:
            raise RuntimeError("OpenAIJudge must be used as 'async with OpenAIJudge(...)'")
        body: dict[str, Any] = {"model": self.model}
        if self.chat:
            body["messages"] = [dict(m) for m in messages]
        else:
            body["prompt"] = "\n\n".join(m["content"] for m in messages)
        body.update({
            "temperature": self.temperature,
            "stream": False,
        })  # fmt: skip
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        async with self._session.post(self.url, json=body) as response:
            if response.status >= 300:
                text = await response.text()
                raise JudgeHTTPError(
                    f"HTTP {response.status} from {self.url}: {text[:200]}",
                    cause=f"HTTP {response.status} from the judge",
                )
            data = await response.json(content_type=None)
        try:
            choice = data["choices"][0]
            return str(choice["message"]["content"] if self.chat else choice["text"])
        except (KeyError, IndexError, TypeError) as exc:
            raise JudgeHTTPError(
                f"unexpected judge response from {self.url}: {data!r:.200}",
                cause="unexpected response body from the judge",
            ) from exc
