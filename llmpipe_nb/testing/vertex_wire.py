"""The Vertex AI fake: Google's and Anthropic's publisher models in a project and location.

`/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:{action}`
is the Gemini fake's `generateContent` / `streamGenerateContent` (the same answers), plus
`:predict` for text embeddings (a `gemini-embedding*` model takes one instance per call,
as on Vertex); `.../publishers/anthropic/models/{model}:rawPredict` and
`:streamRawPredict` are the Anthropic fake's Messages, for a body that carries
`anthropic_version` (`vertex-2023-10-16`, or a dated API version) and no `model` (the
address names it). `GET /v1beta1/publishers/{publisher}/models` lists models. Errors
from Vertex itself (auth, quota, unknown addresses, injected faults) are in Google's
envelope; in-stream errors are in the publisher's format. Credentials: a bearer token
(OAuth2), or an express-mode key in `x-goog-api-key`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from llmpipe_nb.testing import echo
from llmpipe_nb.testing.anthropic_wire import AnthropicWire
from llmpipe_nb.testing.gemini_wire import GeminiWire
from llmpipe_nb.testing.wire import RecordedRequest, Reply, Stream, Wire

__all__ = ["VertexWire"]

_ROUTE = re.compile(
    r"^/v1/projects/([^/]+)/locations/([^/]+)/publishers/(google|anthropic)/models/([^/:]+):(\w+)$"
)
_LIST = re.compile(r"^/v1beta1/publishers/(google|anthropic)/models$")
PUBLISHED = {
    "google": (
        "gemini-3.5-flash-lite",
        "gemini-2.5-flash",
        "gemini-embedding-001",
        "text-embedding-005",
    ),
    "anthropic": ("claude-haiku-5-5", "claude-sonnet-5-5", "claude-opus-5-5"),
}
_VERTEX_VERSION = "vertex-2023-10-16"


class VertexWire(Wire):
    name = "vertex"
    base_path = ""
    default_line_ending = "\r\n"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.gemini = GeminiWire(line_ending=self.eol)
        self.claude = AnthropicWire()
        self.publisher = "google"  # of the last call, for the in-stream fault frames

    def handle(self, request: RecordedRequest, chunk_count: int | None) -> Reply | Stream:
        listing = _LIST.match(request.path)
        if request.method == "GET" and listing:
            owner = listing.group(1)
            models = [_published(owner, model) for model in PUBLISHED[owner]]
            return Reply({"publisherModels": models})
        route = _ROUTE.match(request.path)
        if request.method != "POST" or route is None:
            return self.error(404, f"The requested URL {request.path} was not found.")
        _project, _location, owner, model, action = route.groups()
        self.publisher = owner
        body = request.json
        if not isinstance(body, dict):
            return self.error(400, "Invalid JSON payload received.")
        if owner == "anthropic":
            return self._claude(request, model, action, body, chunk_count)
        if action == "predict":
            return self._predict(model, body)
        path = f"/v1beta/models/{model}:{action}"
        return self.gemini.handle(dataclasses.replace(request, path=path), chunk_count)

    def _claude(
        self,
        request: RecordedRequest,
        model: str,
        action: str,
        body: dict[str, Any],
        chunk_count: int | None,
    ) -> Reply | Stream:
        if action not in ("rawPredict", "streamRawPredict"):
            return self.error(404, f"Method not found: {action}.")
        body = dict(body)  # the recorded request keeps what was sent
        if "model" in body:
            return self.claude.error(400, "model: Extra inputs are not permitted")
        version = body.pop("anthropic_version", None)
        if version is None:
            return self.claude.error(400, "anthropic_version: Field required")
        if bool(body.get("stream")) != (action == "streamRawPredict"):
            return self.claude.error(
                400, f"stream must be {action == 'streamRawPredict'} for {action}"
            )
        header = "2023-06-01" if version == _VERTEX_VERSION else version
        messages = dataclasses.replace(
            request,
            path="/v1/messages",
            headers={**request.headers, "anthropic-version": header},
            json={"model": model, **body},
        )
        return self.claude.handle(messages, chunk_count)

    def _predict(self, model: str, body: dict[str, Any]) -> Reply:
        instances = body.get("instances")
        if not isinstance(instances, list) or not instances:
            return self.error(400, "instances: a non-empty list is required.")
        if model.startswith("gemini-embedding") and len(instances) > 1:
            return self.error(
                400,
                f"Unable to submit request because {model} only supports one instance per request.",
            )
        dimensions = (body.get("parameters") or {}).get("outputDimensionality", 8)
        predictions = []
        for instance in instances:
            text = str(instance.get("content", ""))
            statistics = {"token_count": echo.token_count(text), "truncated": False}
            values = echo.vector(text, dimensions)
            predictions.append({"embeddings": {"values": values, "statistics": statistics}})
        characters = sum(len(str(i.get("content", ""))) for i in instances)
        return Reply(
            {"predictions": predictions, "metadata": {"billableCharacterCount": characters}}
        )

    def error_body(self, status: int, message: str) -> object:
        return self.gemini.error_body(status, message)

    def stream_error_frame(self) -> bytes:
        wire: Wire = self.claude if self.publisher == "anthropic" else self.gemini
        return wire.stream_error_frame()

    def malformed_frame(self) -> bytes:
        wire: Wire = self.claude if self.publisher == "anthropic" else self.gemini
        return wire.malformed_frame()

    def credential_ok(self, request: RecordedRequest) -> bool:
        return self.api_key is None or self.api_key in (
            request.headers.get("x-goog-api-key"),
            request.headers.get("authorization", "").removeprefix("Bearer "),
        )


def _published(owner: str, model: str) -> dict[str, Any]:
    return {
        "name": f"publishers/{owner}/models/{model}",
        "versionId": "001",
        "openSourceCategory": "PROPRIETARY" if owner == "google" else "THIRD_PARTY_OWNED_OSS",
        "launchStage": "GA",
    }
