"""The Gemini fake: generateContent, streamGenerateContent, embeddings, the model list.

Streams are `data:`-only SSE with CRLF line ends and no terminator: the response
simply ends. Without `alt=sse` the stream comes back as one JSON array, as the real
endpoint does. Both `/v1` and `/v1beta` are served. A prompt containing `[blocked]` is
refused (`promptFeedback`), one containing `[unsafe]` gets an answer cut off with
finishReason `SAFETY`.

As the API does since December 2026: Gemini 3 models (`gemini-3*`) sign the first
functionCall part of an answer with a `thoughtSignature`, and refuse (400) a function
call echoed without it or with another one; their text answers end with a signed part
(in a stream, an empty-text part in a chunk of its own). A prompt containing `[hops=N]`
is answered in N requests: each but the last ends with finishReason `CONTINUATION` and a
`continuationToken` to send back with the same contents. A prompt containing
`[big-signature]` gets signatures of 200 KiB. `thinkingConfig.includeThoughts` adds a
thought part; a thinking level together with a thinking budget is refused.
`generationConfig.responseJsonSchema` (which needs `responseMimeType: application/json`)
is answered with a valid instance of the schema (`Wire.structured`).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
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
_HOPS = re.compile(r"\[hops=(\d+)\]")
_THOUGHT_SIGNATURE_MISSING = (
    "Function call is missing a thought_signature in functionCall parts. This is required "
    "for tools to work correctly, and missing thought_signature may lead to degraded model "
    "performance. Additional data, function call `{name}`, position {position}. Please refer "
    "to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
)


class GeminiWire(Wire):
    name = "gemini"
    base_path = "/v1beta"
    default_line_ending = "\r\n"

    def handle(self, request: RecordedRequest, chunk_count: int | None) -> Reply | Stream:
        if request.path.startswith("/v1/"):  # the same API under its other version
            request = dataclasses.replace(request, path="/v1beta/" + request.path[4:])
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
        refusal = (
            _thinking_refusal(body)
            or _hop_refusal(body)
            or _signature_refusal(model, body)
            or _schema_refusal(body)
            or _declaration_refusal(body)
        )
        if refusal is not None:
            return self.error(400, refusal)
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
        turn = _turn_text(body["contents"])
        signs = model.startswith("gemini-3")
        big = "[big-signature]" in turn
        thought = _thought(body, user)
        thoughts = {"thoughtsTokenCount": echo.token_count(thought)} if thought else {}
        shown = [{"text": thought, "thought": True}] if thought and _includes_thoughts(body) else []
        declarations = [
            d for tool in body.get("tools") or [] for d in tool.get("functionDeclarations") or []
        ]
        if declarations and not responses:
            calls: list[dict[str, Any]] = []
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
            if signs:  # only the first call of a step is signed
                calls[0]["thoughtSignature"] = _signature(model, calls[0]["functionCall"], big)
            usage = {
                "promptTokenCount": prompt,
                "candidatesTokenCount": 5,
                "totalTokenCount": prompt + 5,
            } | thoughts
            candidate = {
                "content": {"role": "model", "parts": shown + calls},
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
        config = body.get("generationConfig") or {}
        schema = config.get("responseJsonSchema")
        answer = echo.echo(user) if schema is None else self.structured(schema, user)
        hops = _hop_texts(answer, turn)
        hop = min(_hop_of(body), len(hops))
        earlier = sum(len(list(echo.pieces(text, chunk_count))) for text in hops[: hop - 1])
        pieces = list(echo.pieces(hops[hop - 1], chunk_count))
        ending: dict[str, Any] = {"finishReason": "STOP"}
        if hop < len(hops):
            token = _hop_token(hop + 1, body["contents"])
            ending = {"finishReason": "CONTINUATION", "continuationToken": token}
        chunks = []
        if hop == 1 and shown:
            candidate = {"content": {"role": "model", "parts": shown}, "index": 0}
            usage = {"promptTokenCount": prompt + earlier, "totalTokenCount": prompt + earlier}
            chunks.append(head | {"candidates": [candidate], "usageMetadata": usage})
        for index, piece in enumerate(pieces, start=1):
            candidate = {"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}
            usage = {"promptTokenCount": prompt + earlier, "totalTokenCount": prompt + earlier}
            if index == len(pieces):
                usage = {
                    "promptTokenCount": prompt + earlier,
                    "candidatesTokenCount": index,
                    "totalTokenCount": prompt + earlier + index,
                } | (thoughts if hop == 1 else {})
                if signs:  # the signature comes alone, on an empty text part
                    chunks.append(head | {"candidates": [candidate], "usageMetadata": usage})
                    signed = {"text": "", "thoughtSignature": _signature(model, hops[hop - 1], big)}
                    candidate = {"content": {"role": "model", "parts": [signed]}, "index": 0}
                candidate |= ending
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
    """Join stream fragments into the one response generateContent returns: pieces of text
    (or of thought) join, and a signature sent alone lands on the text before it."""
    merged = dict(chunks[-1])
    parts: list[dict[str, Any]] = []
    for chunk in chunks:
        for candidate in chunk.get("candidates", []):
            for part in candidate.get("content", {}).get("parts", []):
                previous = parts[-1] if parts else {}
                same = "text" in part and "text" in previous and "functionCall" not in previous
                same = same and part.get("thought") == previous.get("thought")
                if same and "thoughtSignature" not in previous:
                    previous["text"] += part["text"]
                    if "thoughtSignature" in part:
                        previous["thoughtSignature"] = part["thoughtSignature"]
                else:
                    parts.append(dict(part))
    if parts and "candidates" in merged:
        candidate = dict(merged["candidates"][0])
        candidate["content"] = {"role": "model", "parts": parts}
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


def _turn_text(contents: list[Any]) -> str:
    """The text of the user prompt that opened the current turn (before any tool results)."""
    for content in reversed(contents):
        if content.get("role") == "user":
            text = _parts_text(content.get("parts") or [])
            if text:
                return text
    return ""


def _signature(model: str, what: object, big: bool) -> str:
    """The opaque signature this fake gives a part: the same for the same model and part."""
    digest = hashlib.sha256(f"{model}|{json.dumps(what, sort_keys=True)}".encode()).digest()
    raw = digest * (6400 if big else 2)  # 6400 * 32 bytes: a 200 KiB signature
    return base64.b64encode(raw[: 150 * 1024 if big else 48]).decode()


def _thought(body: dict[str, Any], user: str) -> str:
    """The model's thought summary, when the request has thinking on."""
    config = (body.get("generationConfig") or {}).get("thinkingConfig") or {}
    if (
        config.get("includeThoughts")
        or config.get("thinkingLevel")
        or config.get("thinkingBudget", 0)
    ):
        return f"The user wrote {len(user.split())} words; answer with an echo."
    return ""


def _includes_thoughts(body: dict[str, Any]) -> bool:
    config = (body.get("generationConfig") or {}).get("thinkingConfig") or {}
    return bool(config.get("includeThoughts"))


def _thinking_refusal(body: dict[str, Any]) -> str | None:
    config = (body.get("generationConfig") or {}).get("thinkingConfig") or {}
    if "thinkingLevel" in config and "thinkingBudget" in config:
        return "You can only set only one of thinking budget and thinking level."
    return None


def _schema_refusal(body: dict[str, Any]) -> str | None:
    """Gemini's 400 for a JSON schema without the JSON MIME type it requires."""
    config = body.get("generationConfig") or {}
    if "responseJsonSchema" in config and config.get("responseMimeType") != "application/json":
        return (
            "* GenerationConfig.response_json_schema: requires response_mime_type application/json"
        )
    return None


def _declaration_refusal(body: dict[str, Any]) -> str | None:
    """Gemini's 400 for a function whose OBJECT parameters have no properties."""
    tools = body.get("tools") or []
    for t, tool in enumerate(tools):
        for d, declaration in enumerate(tool.get("functionDeclarations") or []):
            parameters = declaration.get("parameters")
            if (
                isinstance(parameters, dict)
                and str(parameters.get("type")).lower() == "object"
                and not parameters.get("properties")
            ):
                return (
                    f"* GenerateContentRequest.tools[{t}].function_declarations[{d}]"
                    ".parameters.properties: should be non-empty for OBJECT type"
                )
    return None


def _hop_texts(text: str, turn: str) -> list[str]:
    """The answer split into the hops a `[hops=N]` prompt asks for (one hop otherwise)."""
    found = _HOPS.search(turn)
    words = list(echo.pieces(text))
    count = max(1, min(int(found.group(1)), len(words))) if found else 1
    size = -(-len(words) // count)
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


def _contents_digest(contents: list[Any]) -> str:
    return hashlib.sha256(json.dumps(contents, sort_keys=True).encode()).hexdigest()[:12]


def _hop_token(hop: int, contents: list[Any]) -> str:
    value = {"hop": hop, "contents": _contents_digest(contents)}
    return base64.b64encode(json.dumps(value).encode()).decode()


def _hop_of(body: dict[str, Any]) -> int:
    """The hop a request asks for: 1, or the one its continuationToken names."""
    token = body.get("continuationToken")
    if token is None:
        return 1
    return int(json.loads(base64.b64decode(token))["hop"])


def _hop_refusal(body: dict[str, Any]) -> str | None:
    token = body.get("continuationToken")
    if token is None:
        return None
    try:
        value = json.loads(base64.b64decode(token, validate=True))
        hop, digest = int(value["hop"]), value["contents"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        return "Invalid continuation token."
    if digest != _contents_digest(body["contents"]) or hop < 2:
        return "The continuation token does not match this request: send it with the same contents."
    return None


def _signature_refusal(model: str, body: dict[str, Any]) -> str | None:
    """Gemini 3 checks the function calls of the current turn: each step's first call must
    come back with the signature it was given."""
    if not model.startswith("gemini-3"):
        return None
    contents = body["contents"]
    start = max(
        (
            i
            for i, c in enumerate(contents)
            if c.get("role") == "user" and _parts_text(c.get("parts") or [])
        ),
        default=0,
    )
    big = "[big-signature]" in _turn_text(contents)
    for position in range(start, len(contents)):
        content = contents[position]
        calls = [p for p in content.get("parts") or () if "functionCall" in p]
        if content.get("role") != "model" or not calls:
            continue
        first = calls[0]
        if "thoughtSignature" not in first:
            name = first["functionCall"].get("name")
            return _THOUGHT_SIGNATURE_MISSING.format(name=name, position=position)
        if first["thoughtSignature"] != _signature(model, first["functionCall"], big):
            return "Corrupted thought signature."
    return None
