"""Every exception llmpipe_nb raises, under one root so callers can catch them all.

    LLMPipeError
    ├── ConfigError                  bad options, messages or settings; nothing was sent
    │   ├── MissingKeyError          names the environment variable to set
    │   └── UnknownProviderError     lists the registered providers
    ├── MissingDependencyError       names the extra to install
    ├── PipelineError
    │   ├── PipelineHalted           a plug stopped the run without an answer (.plug .reason)
    │   └── PlugContractError        a plug returned something that is not a Request
    ├── ProviderError                .provider .status_code .error_type .request_id .retryable
    │   ├── AuthenticationError      401 / 403
    │   ├── RateLimitError           429 (.retry_after)
    │   ├── BadRequestError          400 / 404 / 422
    │   │   ├── ModelRetiredError    the model was shut down (.model .replacement)
    │   │   ├── ContextLengthError   the prompt does not fit the model's window
    │   │   └── ContentFilteredError the provider blocked the prompt or the answer
    │   ├── ServerError              5xx, 529
    │   ├── ProviderConnectionError  the connection failed or dropped before any answer
    │   ├── ProviderTimeoutError     connect, read or idle-between-chunks timeout
    │   ├── StreamInterruptedError   a stream ended without its end marker (.partial_text)
    │   ├── ResponseFormatError      the answer was not in the expected shape
    │   │   ├── SchemaValidationError  it does not fit the schema= asked for (.path .raw)
    │   │   └── RefusalError         the model declined to answer in the schema (.refusal)
    │   ├── CircuitOpenError         the circuit breaker is open; nothing was sent
    │   └── BatchJobError            a provider batch job (or a row of it) failed, expired
    │       │                        or was cancelled (.job_id .batch_id .status)
    │       └── BatchPendingError    the batch job has not finished yet
    ├── BudgetExceededError          the spend would pass a configured limit
    ├── ToolLoopError                a tool loop stopped before the model answered (.steps)
    │   ├── ToolLoopLimitError       it reached max_steps
    │   └── ToolFailedError          the same tool failed too many times in a row (.tool)
    ├── ReplayMissError              replaying, and nothing recorded answers (.differences)
    └── StoreError                   a cache or ledger store failed

Messages are one sentence that says what went wrong and what to do. They never
contain an API key: every message passes through `redact` before it is stored.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

_KEYLIKE = re.compile(
    r"(sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|(?i:bearer)\s+[A-Za-z0-9._\-]{8,})"
)
_known_secrets: set[str] = set()


def remember_secret(value: str) -> None:
    """Register a secret value so that `redact` removes it wherever it appears."""
    if len(value) >= 4:
        _known_secrets.add(value)


def redact(text: str) -> str:
    """Remove every known secret and anything shaped like an API key from `text`."""
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return _KEYLIKE.sub("***", text)


class LLMPipeError(Exception):
    """Root of every llmpipe_nb error; `request` is the Request it happened in, if any."""

    def __init__(self, message: str, *, request: Any = None) -> None:
        self.message = redact(message)
        self.request = request
        super().__init__(self.message)


class ConfigError(LLMPipeError):
    """Bad options, messages or settings, found before anything was sent."""


class MissingKeyError(ConfigError):
    """No API key for a provider that needs one."""

    def __init__(self, provider: str, env_var: str, *, request: Any = None) -> None:
        self.provider = provider
        self.env_var = env_var
        super().__init__(
            f"No API key for provider '{provider}': set the environment variable {env_var} "
            f"or call llm.configure('{provider}', api_key=...).",
            request=request,
        )


class UnknownProviderError(ConfigError):
    """A provider name that is not registered."""

    def __init__(self, name: str, known: list[str], *, request: Any = None) -> None:
        self.name = name
        self.known = known
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        super().__init__(
            f"Unknown provider '{name}'{hint}: use one of {', '.join(sorted(known))}, "
            "or register it with llm.providers.register().",
            request=request,
        )


class MissingDependencyError(LLMPipeError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"This feature needs the package '{package}': "
            f"install it with pip install 'llmpipe_nb[{extra}]'."
        )


class PipelineError(LLMPipeError):
    """The pipeline itself was misused."""


class PipelineHalted(PipelineError):
    """A plug halted the run before any answer (a budget guard, a plug of your own).

    `plug` names it and `reason` is what it gave `request.halt()`; `request` is the halted
    Request. A plug that halts with an answer (a cache hit) returns that answer instead.
    """

    def __init__(self, plug: str | None, reason: str | None, *, request: Any = None) -> None:
        self.plug = plug
        self.reason = reason
        why = f": {reason}" if reason else ""
        super().__init__(
            f"Plug {plug or '?'} halted the pipeline before any answer{why}; "
            "run() returns the halted request to inspect.",
            request=request,
        )


class PlugContractError(PipelineError):
    """A plug returned something that is not a Request."""


class ProviderError(LLMPipeError):
    """The provider (or the way to it) failed; carries what the provider said."""

    retryable_default = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        error_type: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
        body: Any = None,
        request: Any = None,
    ) -> None:
        self.provider = provider
        self.status_code = status_code
        self.error_type = error_type
        self.request_id = request_id
        self.retry_after = retry_after
        self.retryable = self.retryable_default if retryable is None else retryable
        self.body = body
        super().__init__(message, request=request)

    def __str__(self) -> str:
        where = self.provider or "provider"
        status = f" {self.status_code}" if self.status_code is not None else ""
        rid = f" Request id: {self.request_id}." if self.request_id else ""
        return f"{where}{status}: {self.message}{rid}"


class AuthenticationError(ProviderError):
    """The provider refused the credentials (401, 403)."""


class RateLimitError(ProviderError):
    """Too many requests (429) or a local rate limit; `retry_after` in seconds if known."""

    retryable_default = True


class BadRequestError(ProviderError):
    """The provider rejected the request as invalid (400, 404, 422)."""


class ModelRetiredError(BadRequestError):
    """The provider no longer serves the model; `replacement` names the model to use instead."""

    def __init__(
        self, message: str, *, model: str, replacement: str | None = None, **kwargs: Any
    ) -> None:
        self.model = model
        self.replacement = replacement
        super().__init__(message, **kwargs)


class ContextLengthError(BadRequestError):
    """The prompt and the requested output do not fit the model's context window."""


class ContentFilteredError(BadRequestError):
    """The provider blocked the prompt or the answer for safety reasons; `categories` names
    the filters that fired where the provider says which (Azure: hate, violence, jailbreak)."""

    def __init__(self, message: str, *, categories: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.categories = tuple(categories)
        super().__init__(message, **kwargs)


class ServerError(ProviderError):
    """The provider failed on its side (5xx, 529 overloaded)."""

    retryable_default = True


class ProviderConnectionError(ProviderError):
    """The connection could not be made or dropped before any answer."""

    retryable_default = True


class ProviderTimeoutError(ProviderError):
    """Connecting, waiting for the answer, or waiting between stream chunks took too long."""

    retryable_default = True


class StreamInterruptedError(ProviderError):
    """A stream ended without its end marker; keeps what had arrived."""

    def __init__(
        self, message: str, *, partial_text: str = "", usage: Any = None, **kw: Any
    ) -> None:
        self.partial_text = partial_text
        self.usage = usage
        super().__init__(message, **kw)


class ResponseFormatError(ProviderError):
    """The provider's answer was not in the shape its wire format promises."""


class SchemaValidationError(ResponseFormatError):
    """A structured answer that is not JSON or does not fit the `schema=` it was asked for.

    `raw` is the text that came back, `path` the first field that does not fit (`items[0].total`,
    or "the answer"), `reason` what is wrong with it, `schema` the schema's name.
    """

    def __init__(
        self,
        message: str,
        *,
        raw: str = "",
        path: str = "",
        reason: str = "",
        schema: str = "",
        **kw: Any,
    ) -> None:
        self.raw = raw
        self.path = path
        self.reason = reason
        self.schema = schema
        super().__init__(message, **kw)

    def __str__(self) -> str:
        return super().__str__() if self.provider else self.message


class RefusalError(ResponseFormatError):
    """The model declined to answer in the schema; `refusal` is what it said instead."""

    def __init__(self, message: str, *, refusal: str = "", **kw: Any) -> None:
        self.refusal = refusal
        super().__init__(message, **kw)


class CircuitOpenError(ProviderError):
    """The circuit breaker for this provider is open, so the call was not made."""


class BatchJobError(ProviderError):
    """A provider batch job gave no answer for a row: the job failed, expired or was
    cancelled (`status`); `job_id` is this machine's id of the job, `batch_id` the provider's."""

    def __init__(
        self,
        message: str,
        *,
        job_id: str | None = None,
        batch_id: str | None = None,
        status: str | None = None,
        **kw: Any,
    ) -> None:
        self.job_id = job_id
        self.batch_id = batch_id
        self.status = status
        super().__init__(message, **kw)


class BatchPendingError(BatchJobError):
    """The batch job is still running at the provider: its result is not there yet."""


class BudgetExceededError(LLMPipeError):
    """Running the request would pass a spending limit."""


class ToolLoopError(LLMPipeError):
    """A tool loop stopped before the model answered; `steps` holds what ran until then."""

    def __init__(self, message: str, *, steps: tuple[Any, ...] = (), **kw: Any) -> None:
        super().__init__(message, **kw)
        self.steps = steps


class ToolLoopLimitError(ToolLoopError):
    """The model still asked for tools when the loop reached `max_steps`."""


class ToolFailedError(ToolLoopError):
    """The same tool failed `max_failures` times in a row."""

    def __init__(self, message: str, *, tool: str = "", **kw: Any) -> None:
        super().__init__(message, **kw)
        self.tool = tool


class ReplayMissError(LLMPipeError):
    """Replaying a recording, a request that is not in it: nothing was sent.

    `differences` says how the request differs from the nearest recorded one (the model,
    an option, the message that changed); empty when the recording has none to compare.
    """

    def __init__(
        self, message: str, *, path: str, differences: list[str], request: Any = None
    ) -> None:
        self.path = path
        self.differences = differences
        super().__init__(message, request=request)


class StoreError(LLMPipeError):
    """A cache or ledger store could not be read or written."""
