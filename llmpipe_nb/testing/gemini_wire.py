"""The Gemini fake: generateContent, streamGenerateContent, embeddings, the model list.

Streams are `data:`-only SSE with CRLF line ends and no terminator: the response
simply ends. Without `alt=sse` the stream comes back as one JSON array, as the real
endpoint does. A prompt containing `[blocked]` is refused (`promptFeedback`), one
containing `[unsafe]` gets an answer cut off with finishReason `SAFETY`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from llmpipe_nb.testing import echo
from llmpipe_nb.testing.wire import (
    RecordedRequest,
    Reply,
    Stream,
    Wire,
    content_text,
    dumps,
    first_property,
)

__all__ = ["GeminiWire"]

MODELS = {
    "gemini-2.5-flash": ("Gemini 2.5 Flash", ["generateContent", "countTokens"]),
    "gemini-2.5-pro": ("Gemini 2.5 Pro", ["generateContent", "countTokens"]),
    "gemini-embedding-001": ("Gemini Embedding 001", ["embedContent", "batchEmbedContents"]),
    "text-embedding-004": ("Text Embedding 004", ["embedContent", "batchEmbedContents"]),
    "gemini-3.5-flash-lite": ("Gemini 3.5 Flash-Lite", ["generateContent", "countTokens"]),
}

# -- model lifecycle (December 2026): retired models are answered by their routing target --
REROUTED = {"gemini-2.5-flash": "gemini-3.5-flash-lite", "gemini-2.5-pro": "gemini-3.8-flash"}


def _answering(model: str) -> str:
    """The model that answers a request for `model` (its `modelVersion`)."""
    return REROUTED.get(model, model)


_STATUSES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_ACTION = re.compile(r"^/v1beta/models/([^/:]+):(\w+)$")


class GeminiWire(Wire):
    name = "gemini"
    base_path = "/v1beta"
    default_line_ending = "\r\n"

    def handle(self, request: RecordedRequest, chunk_count: int | None) -> Reply | Stream:
        if request.method == "GET":
            return self._models(request)
        match = _ACTION.match(request.path)
        if request.method != "POST" or match is None:
            return self.error(404, f"Method not found: {request.method} {request.path}.")
        model, action = match.groups()
        body = request.json
        if not isinstance(body, dict):
            return self.error(400, "Invalid JSON payload received.")
        if action == "embedContent":
            return self._embed(body)
        if action == "batchEmbedContents":
            return self._batch_embed(model, body)
        if action not in ("generateContent", "streamGenerateContent"):
            return self.error(404, f"Method not found: {action}.")
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return self.error(400, "* GenerateContentRequest.contents: contents is not specified")
        roles = {c.get("role") for c in contents}
        if not roles <= {"user", "model"}:
            return self.error(
                400,
                f"Please use a valid role: user, model. Got {sorted(roles - {'user', 'model'})}.",
            )
        chunks = self._chunks(_answering(model), body, chunk_count)
        if action == "generateContent":
            return Reply(_merge(chunks))
        if request.query.get("alt") != "sse":
            return Reply(chunks)
        return Stream(self.sse(chunk) for chunk in chunks)

    def _chunks(
        self, model: str, body: dict[str, Any], chunk_count: int | None
    ) -> list[dict[str, Any]]:
        """The stream as a list of response fragments; a plain reply is their merge."""
        last = body["contents"][-1]
        parts = last.get("parts") or []
        responses = [p["functionResponse"] for p in parts if "functionResponse" in p]
        user = json.dumps(responses[0].get("response")) if responses else _parts_text(parts)
        prompt = echo.token_count(
            json.dumps(body["contents"]), json.dumps(body.get("systemInstruction", ""))
        )
        head = {"modelVersion": model, "responseId": "resp_fake"}
        if "[blocked]" in user:
            feedback = {"blockReason": "SAFETY", "safetyRatings": []}
            usage = {"promptTokenCount": prompt, "totalTokenCount": prompt}
            return [head | {"promptFeedback": feedback, "usageMetadata": usage}]
        declarations = [
            d for tool in body.get("tools") or [] for d in tool.get("functionDeclarations") or []
        ]
        if declarations and not responses:
            calls = []
            for declaration in declarations[:2]:
                key = first_property(declaration.get("parameters"))
                calls.append(
                    {
                        "functionCall": {
                            "name": declaration["name"],
                            "args": {key: user} if key else {},
                        }
                    }
                )
            usage = {
                "promptTokenCount": prompt,
                "candidatesTokenCount": 5,
                "totalTokenCount": prompt + 5,
            }
            candidate = {
                "content": {"role": "model", "parts": calls},
                "finishReason": "STOP",
                "index": 0,
            }
            return [head | {"candidates": [candidate], "usageMetadata": usage}]
        if "[unsafe]" in user:
            candidate = {
                "finishReason": "SAFETY",
                "index": 0,
                "safetyRatings": [
                    {
                        "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                        "probability": "HIGH",
                        "blocked": True,
                    }
                ],
            }
            usage = {"promptTokenCount": prompt, "totalTokenCount": prompt}
            return [head | {"candidates": [candidate], "usageMetadata": usage}]
        pieces = list(echo.pieces(echo.echo(user), chunk_count))
        chunks = []
        for index, piece in enumerate(pieces, start=1):
            candidate = {"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}
            usage = {"promptTokenCount": prompt, "totalTokenCount": prompt}
            if index == len(pieces):
                candidate["finishReason"] = "STOP"
                usage = {
                    "promptTokenCount": prompt,
                    "candidatesTokenCount": index,
                    "totalTokenCount": prompt + index,
                }
            chunks.append(head | {"candidates": [candidate], "usageMetadata": usage})
        return chunks

    def _embed(self, body: dict[str, Any]) -> Reply:
        text = _parts_text((body.get("content") or {}).get("parts") or [])
        if not text:
            return self.error(400, "* EmbedContentRequest.content: contains an empty Part.")
        return Reply(
            {"embedding": {"values": echo.vector(text, body.get("outputDimensionality", 8))}}
        )

    def _batch_embed(self, model: str, body: dict[str, Any]) -> Reply:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            return self.error(
                400, "* BatchEmbedContentsRequest.requests: requests is not specified"
            )
        embeddings = []
        for item in requests:
            if item.get("model") != f"models/{model}":
                return self.error(
                    400, f"Model in request must be models/{model}, got {item.get('model')}."
                )
            text = _parts_text((item.get("content") or {}).get("parts") or [])
            embeddings.append({"values": echo.vector(text, item.get("outputDimensionality", 8))})
        return Reply({"embeddings": embeddings})

    def _models(self, request: RecordedRequest) -> Reply:
        if request.path == "/v1beta/models":
            size = int(request.query.get("pageSize", 50))
            start = int(request.query.get("pageToken", 0))
            names = list(MODELS)[start : start + size]
            page: dict[str, Any] = {"models": [_model(name) for name in names]}
            if start + size < len(MODELS):
                page["nextPageToken"] = str(start + size)
            return Reply(page)
        name = request.path.removeprefix("/v1beta/models/")
        if name in MODELS:
            return Reply(_model(name))
        return self.error(404, f"models/{name} is not found for API version v1beta.")

    def error_body(self, status: int, message: str) -> object:
        error: dict[str, Any] = {
            "code": status,
            "message": message,
            "status": _STATUSES.get(status, "UNKNOWN"),
        }
        if status == 429:
            error["details"] = [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}
            ]
        return {"error": error}

    def stream_error_frame(self) -> bytes:
        error = {
            "error": {
                "code": 500,
                "message": "An internal error has occurred.",
                "status": "INTERNAL",
            }
        }
        return (dumps(error) + self.eol * 2).encode()

    def malformed_frame(self) -> bytes:
        return self.sse('{"candidates": [{"content": {')

    def credential_ok(self, request: RecordedRequest) -> bool:
        return self.api_key is None or self.api_key in (
            request.headers.get("x-goog-api-key"),
            request.query.get("key"),
            request.headers.get("authorization", "").removeprefix("Bearer "),
        )


def _parts_text(parts: list[Any]) -> str:
    return content_text([p for p in parts if isinstance(p, dict) and "text" in p])


def _merge(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Join stream fragments into the one response generateContent returns."""
    merged = dict(chunks[-1])
    texts = [
        p["text"]
        for c in chunks
        for cand in c.get("candidates", [])
        for p in cand.get("content", {}).get("parts", [])
        if "text" in p
    ]
    if texts and "candidates" in merged:
        candidate = dict(merged["candidates"][0])
        candidate["content"] = {"role": "model", "parts": [{"text": "".join(texts)}]}
        merged["candidates"] = [candidate]
    return merged


def _model(name: str) -> dict[str, Any]:
    display, methods = MODELS[name]
    return {
        "name": f"models/{name}",
        "version": "001",
        "displayName": display,
        "inputTokenLimit": 1048576,
        "outputTokenLimit": 65536,
        "supportedGenerationMethods": methods,
    }
