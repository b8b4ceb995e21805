"""What a failed call says, whichever HTTP client it went through: each transport names
the kind of failure, this module words it, so both transports raise the same typed errors
with the same sentences."""

from __future__ import annotations

from typing import Literal, Protocol

from ...errors import ProviderConnectionError, ProviderError, ProviderTimeoutError

Failure = Literal["connect_timeout", "idle_timeout", "read_timeout", "connect", "not_http", "broke"]


class _Sender(Protocol):
    connect_timeout: float
    read_timeout: float
    idle_timeout: float

    @property
    def where(self) -> tuple[str, str | None]: ...


def failure(sender: _Sender, kind: Failure, detail: object = None) -> ProviderError:
    """The typed error for a call that failed before (or while) its answer arrived."""
    name, where = sender.where
    if kind == "connect_timeout":
        return ProviderTimeoutError(
            f"Connecting to {name} at {where} took longer than {sender.connect_timeout:g} s: "
            "check the address or raise the timeout.",
            provider=name,
        )
    if kind == "idle_timeout":
        return ProviderTimeoutError(
            f"The stream from {name} sent nothing for {sender.idle_timeout:g} s between chunks: "
            "retry, or raise the timeout.",
            provider=name,
        )
    if kind == "read_timeout":
        return ProviderTimeoutError(
            f"{name} did not answer within {sender.read_timeout:g} s: retry, or raise the timeout.",
            provider=name,
        )
    if kind == "connect":
        return ProviderConnectionError(
            f"Could not connect to {name} at {where}: check that the server runs and base_url is right.",
            provider=name,
        )
    if kind == "not_http":
        return ProviderConnectionError(
            f"The base_url of {name} is not an http:// or https:// URL: fix {where}.",
            retryable=False,
            provider=name,
        )
    return ProviderConnectionError(
        f"The connection to {name} broke off before the whole answer arrived, the HTTP "
        f'client saying "{detail}": retry the request, or check the network and base_url.',
        provider=name,
    )
