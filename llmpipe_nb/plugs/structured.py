"""StructuredOutput: `schema=` asked in the provider's own form, the answer read back typed.

Placed right after FetchConfig (before the cache, so the cache key holds the schema as
sent), it takes the `schema` and `repair` options out, asks for the schema in the form
the provider and its server take (`structured_forms.py`), tags the ledger row
`schema:<Name>`, and registers ParseStructured, which runs once the pipeline has
finished, on a fresh answer and on a cache hit alike: it reads the answer as the schema's
type into `ChatResponse.parsed`, or fails the request with a SchemaValidationError (or
RefusalError) that says where the answer does not fit. Running the request again (a
repair, or the next form when a server refuses one) is `retry_structured.py`'s job.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from .. import registry
from ..errors import ConfigError, RefusalError
from ..pipeline import NOTE
from ..plug import Plug
from ..request import Request
from ..responses import ChatResponse
from ..structured import PRIVATE_KEY as KEY
from ..structured import Schema
from ..tagging import merge
from .fetch_config import after_fetch_config
from .structured_forms import apply_form, chosen_form

HISTORY = "structured_history"


@dataclasses.dataclass(frozen=True)
class Asked:
    """What a structured request asked for, kept in `private` for the parse and the retries."""

    schema: Schema
    form: str
    repair: int
    #: the caller's options (with where to reach the provider) and messages, before this plug
    options: Mapping[str, Any]
    messages: tuple[Any, ...]
    tags: tuple[str, ...]
    #: the attempts before this one: {"kind": "repair" | "form", "request_id", ...}
    history: tuple[Mapping[str, Any], ...]
    base_url: str | None
    #: the forms the model takes, best first (the next one is tried when a server refuses)
    forms: tuple[str, ...] = ()

    @property
    def repairs_used(self) -> int:
        return sum(1 for h in self.history if h["kind"] == "repair")


class StructuredOutput(Plug):
    """Turns `schema=` into the provider's structured-output fields (see the module doc)."""

    position: ClassVar[tuple[str, str]] = ("after", "FetchConfig")

    def call(self, request: Request) -> Request:
        options = dict(request.options)
        spec = options.pop("schema", None)
        repair = options.pop("repair", 0) or 0
        if spec is None:
            if repair or options.get("schema_form"):
                raise ConfigError("repair= and schema_form= go with schema=: pass the schema too.")
            return request
        if request.kind not in ("chat", "stream"):
            raise ConfigError(f"schema= asks for a structured chat answer, not for {request.kind}.")
        schema = Schema.of(spec)
        provider = registry.get(request.provider)
        base_url = getattr(request.config, "base_url", None)
        extra = dict(getattr(request.config, "extra", ()) or ())
        forms, dialect = provider.structured_for(request.model or provider.default_model)
        form = chosen_form(provider.name, forms, base_url, options, extra)
        history = tuple(request.metadata.get(HISTORY, ()))
        tags = tuple(request.metadata.get("tags", ()))
        sent = {**_reach(request.config), **request.options}  # FetchConfig took these out
        asked = Asked(schema, form, repair, sent, request.messages, tags, history, base_url, forms)
        options, messages = apply_form(form, schema, options, request.messages, dialect)
        label: tuple[str, ...] = (f"schema:{schema.name}",)
        if asked.repairs_used:
            label += (f"repair:{asked.repairs_used}",)
        request = request.evolve(
            options=options,
            messages=messages,
            private={**request.private, KEY: asked, NOTE: _note(asked)},
            metadata={**request.metadata, "tags": merge(tags, label), "structured_form": form},
        )
        return request.register_after_run(PARSE)


class ParseStructured(Plug):
    """Reads the finished answer as the schema's type (`parsed`); a misfit fails the request."""

    def call(self, request: Request) -> Request:
        asked: Asked | None = request.private.get(KEY)
        result = request.result
        if asked is None or not isinstance(result, ChatResponse):
            return request
        text, calls = result.content, result.tool_calls
        if asked.form == "tool":
            call = next((c for c in calls if c.name == asked.schema.name), None)
            if call is not None:
                args = call.arguments
                text = args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
                calls = tuple(c for c in calls if c is not call)
        refusal = result.refusal or (text if result.finish_reason == "content_filter" else None)
        if refusal is not None:
            raise RefusalError(
                f"The model declined to answer in {asked.schema.name}: {_clip(refusal)}; "
                "rephrase the prompt, or ask for something it will answer.",
                refusal=refusal,
                provider=request.provider,
            )
        _, value = asked.schema.read(text, provider=request.provider)
        return request.put_result(
            dataclasses.replace(result, content=text, tool_calls=calls, parsed=value)
        )


PARSE = ParseStructured()
_DEFAULT = StructuredOutput()


def ensure_structured(plugs: Sequence[Plug]) -> tuple[Plug, ...]:
    """`plugs` with StructuredOutput right after FetchConfig, unless one is there."""
    if any(p.name == "StructuredOutput" for p in plugs):
        return tuple(plugs)
    return after_fetch_config(
        plugs,
        _DEFAULT,
        "schema= needs a pipeline with FetchConfig: add StructuredOutput after your "
        "configuration plug yourself.",
    )


def _reach(config: Any) -> dict[str, Any]:
    """Where the request went (key, base URL, timeout, headers), as options for the next try."""
    if config is None:
        return {}
    reach = {
        "api_key": config.api_key,
        "base_url": config.base_url,
        "timeout": config.timeout,
        "headers": dict(config.headers) or None,
    }
    return {k: v for k, v in reach.items() if v is not None}


def _note(asked: Asked) -> str:
    """The StructuredOutput step's note in the trace: the form, and why this attempt."""
    note = f"{asked.schema.name} as {asked.form}"
    if asked.history:
        last = asked.history[-1]
        note += (
            f" (repair {asked.repairs_used} of {asked.repair})"
            if last["kind"] == "repair"
            else f" ({last['form']} refused by the server, remembered for {asked.base_url})"
        )
    return note


def _clip(text: str, n: int = 120) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
