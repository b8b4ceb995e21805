"""The Request: the one immutable value that flows through a pipeline.

Every helper returns a new Request that shares everything it did not change, so
the runner can keep the request as it was after each plug for free (a reference,
never a copy), and no plug can corrupt another plug's view.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any

from . import rendering
from .credentials import secret_key
from .errors import PipelineError
from .messages import normalize_inputs, normalize_messages

STATES = ("pending", "executing", "completed", "error", "halted", "cancelled")
KINDS = ("chat", "stream", "embeddings", "completion", "list_models", "validate")

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_ids = itertools.count(1)


def _id_prefix() -> str:
    """Unique per process, forked children and restarts included, so persisted rows join."""
    return f"req-{os.getpid():x}{os.urandom(2).hex()}-"


def _new_process() -> None:
    global _prefix
    _prefix = _id_prefix()


_prefix = _id_prefix()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_process)


@dataclass(frozen=True, slots=True)
class ErrorEntry:
    """An error recorded on a request: the exception, the plug it came from, and its weight."""

    error: BaseException
    plug: str | None = None
    terminal: bool = False


_FIELDS = (
    "id",
    "provider",
    "kind",
    "messages",
    "options",
    "state",
    "halted",
    "config",
    "http_client",
    "provider_request",
    "response",
    "result",
    "assigns",
    "private",
    "metadata",
    "errors",
)


class Request:
    """One LLM operation on its way through a pipeline. Immutable: helpers return a new one."""

    __slots__ = _FIELDS

    id: str
    provider: str
    kind: str
    messages: tuple[Mapping[str, Any], ...]
    options: Mapping[str, Any]
    state: str
    halted: bool
    config: Any
    http_client: Any
    provider_request: Any
    response: Any
    result: Any
    assigns: Mapping[str, Any]
    private: Mapping[str, Any]
    metadata: Mapping[str, Any]
    errors: tuple[ErrorEntry, ...]

    def __init__(self, **fields: Any) -> None:
        for name in _FIELDS:
            object.__setattr__(self, name, fields[name])

    @classmethod
    def new(
        cls,
        provider: str,
        messages: Any = (),
        options: Mapping[str, Any] | None = None,
        *,
        kind: str = "chat",
        assigns: Mapping[str, Any] | None = None,
    ) -> Request:
        """Build a pending request; messages are checked and normalised here, before anything runs.

        `messages` may be a string (one user message), a list of `{"role", "content"}`
        dicts, or, for embeddings, a string or a list of strings to embed.
        """
        if kind not in KINDS:
            raise PipelineError(f"Unknown request kind '{kind}': use one of {', '.join(KINDS)}.")
        if kind == "embeddings":
            msgs: tuple[Any, ...] = normalize_inputs(messages)
        elif kind in ("list_models", "validate"):
            msgs = ()
        else:
            msgs = normalize_messages(messages)
        return cls(
            id=f"{_prefix}{next(_ids)}",
            provider=provider,
            kind=kind,
            messages=msgs,
            options=dict(secret_key(options)) if options else {},
            state="pending",
            halted=False,
            config=None,
            http_client=None,
            provider_request=None,
            response=None,
            result=None,
            assigns=dict(assigns or {}),
            private=_EMPTY,
            metadata=_EMPTY,
            errors=(),
        )

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Request is immutable: use request.evolve({name}=...) instead.")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Request is immutable.")

    def evolve(self, **changes: Any) -> Request:
        """A new Request with `changes` applied and every other field shared."""
        return _evolve(self, changes)

    # -- helpers (the seed's vocabulary) ---------------------------------------------------

    def assign(self, key: str, value: Any) -> Request:
        """Store user data for later plugs."""
        return self.evolve(assigns={**self.assigns, key: value})

    def put_private(self, key: str, value: Any) -> Request:
        """Store library-internal data (keys namespaced `llmpipe.<plug>.<key>`)."""
        return self.evolve(private={**self.private, key: value})

    def put_metadata(self, key: str, value: Any) -> Request:
        """Record a fact about the run (cost, cache hit, attempts, ...)."""
        return self.evolve(metadata={**self.metadata, key: value})

    def update_metadata(self, values: Mapping[str, Any]) -> Request:
        """Record several facts at once."""
        return self.evolve(metadata={**self.metadata, **values})

    def put_options(self, **options: Any) -> Request:
        """Set request options (model, temperature, ...)."""
        return self.evolve(options={**self.options, **options})

    def put_result(self, result: Any) -> Request:
        """Set the normalised result of the operation."""
        return self.evolve(result=result)

    def add_error(
        self, error: BaseException, terminal: bool = False, plug: str | None = None
    ) -> Request:
        """Record an error; a terminal one also halts the run with state 'error'."""
        errors = (*self.errors, ErrorEntry(error, plug, terminal))
        if terminal:
            return self.evolve(errors=errors, state="error", halted=True)
        return self.evolve(errors=errors)

    def halt(self, reason: str | None = None) -> Request:
        """Stop the run after this plug, without error (a cache hit, a budget guard)."""
        meta = {**self.metadata, "halt_reason": reason} if reason else self.metadata
        state = self.state if self.state == "error" else "halted"
        return self.evolve(halted=True, state=state, metadata=meta)

    def register_after_run(self, plug: Any) -> Request:
        """Run `plug` once the pipeline has finished (e.g. a cache storing the final result)."""
        hooks = self.private.get("llmpipe.after_run", ())
        return self.put_private("llmpipe.after_run", (*hooks, plug))

    # -- reading ----------------------------------------------------------------------------

    @property
    def model(self) -> str | None:
        """The model this request asks for, once known."""
        model = self.options.get("model")
        return model if isinstance(model, str) else None

    @property
    def trace(self) -> tuple[Any, ...]:
        """The per-plug steps of the finished run (see `pipeline.Step`)."""
        return self.metadata.get("trace", ())

    @property
    def timings(self) -> dict[str, int]:
        """Nanoseconds spent in each plug, in run order."""
        return {step.plug: step.duration_ns for step in self.trace}

    @property
    def terminal_error(self) -> BaseException | None:
        """The error that stopped the run, if one did."""
        for entry in reversed(self.errors):
            if entry.terminal:
                return entry.error
        return None

    def __repr__(self) -> str:
        return (
            f"Request(id={self.id!r}, provider={self.provider!r}, kind={self.kind!r}, "
            f"model={self.model!r}, state={self.state!r}, messages={len(self.messages)}, "
            f"errors={len(self.errors)})"
        )

    def _repr_html_(self) -> str | None:
        return rendering.render("request_html", self)

    def __rich__(self) -> Any:
        return rendering.render("request_rich", self) or repr(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    __hash__ = object.__hash__


def _compile_evolve() -> Any:
    """Generate `_evolve` with one line per field: the hot path of every plug, ~2x faster than a loop.

    (The same technique dataclasses use for `__init__`.)
    """
    lines = [f"    set_{n}(new, changes['{n}'] if '{n}' in changes else self.{n})" for n in _FIELDS]
    src = (
        "def _evolve(self, changes):\n    new = new_request()\n"
        + "\n".join(lines)
        + "\n    return new\n"
    )
    namespace: dict[str, Any] = {"new_request": partial(object.__new__, Request)}
    namespace.update({f"set_{n}": getattr(Request, n).__set__ for n in _FIELDS})
    exec(src, namespace)
    return namespace["_evolve"]


_evolve = _compile_evolve()


def message_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """All text content of messages joined, for token estimates and cache keys."""
    parts: list[str] = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if isinstance(p, Mapping))
    return "\n".join(parts)
