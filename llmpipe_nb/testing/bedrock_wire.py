"""The AWS Bedrock fake: Converse (plain, and streamed as binary event-stream messages),
InvokeModel embeddings (Titan, Cohere), ListFoundationModels; SigV4 checked on every call.

Every request must carry a valid SigV4 signature for service `bedrock` (checked here from
AWS's specification, independently of the client's signer: canonical request, string to
sign, derived key, at most five minutes of clock skew), made with the required secret
key (`api_key`, else `SECRET_KEY`), or a Bedrock API key as a bearer token; otherwise
403 `InvalidSignatureException` / `UnrecognizedClientException`. Errors are
`{"message"}` bodies with the exception's name in `x-amzn-ErrorType`. Streams split each
message across two writes, so a client must join frames. A prompt containing `[too-long]`
is a ValidationException saying the input is too long; model `anthropic.claude-locked` is
denied (AccessDeniedException).

Structured output, which Converse has no field for: a tool forced by name
(`toolChoice.tool`) is answered with a valid instance of its input schema, and a system
message that asks for JSON following a schema (`Schema.instructions`) as an obedient
model would, with a valid instance of it (`Wire.structured`). The flavor `no_tool_choice`
is a model that refuses `toolChoice.tool`, as Bedrock's models outside the Claude,
Mistral Large and Nova families do.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

from llmpipe_nb.providers._eventstream import encode
from llmpipe_nb.testing import echo
from llmpipe_nb.testing.wire import RecordedRequest, Reply, Stream, Wire, content_text, dumps

__all__ = ["ACCESS_KEY", "SECRET_KEY", "BedrockWire"]

ACCESS_KEY = "AKIDLOOPBACKEXAMPLE"
SECRET_KEY = "loopback/K7MDENG+bPxRfiCYEXAMPLEKEY"
MODELS = {
    "amazon.nova-micro-v1:0": ("Nova Micro", "Amazon", "ACTIVE"),
    "anthropic.claude-haiku-5-5": ("Claude Haiku 5.5", "Anthropic", "ACTIVE"),
    "amazon.titan-embed-text-v2:0": ("Titan Text Embeddings V2", "Amazon", "ACTIVE"),
    "cohere.embed-english-v3": ("Embed English", "Cohere", "ACTIVE"),
    "amazon.titan-text-lite-v1": ("Titan Text G1 - Lite", "Amazon", "LEGACY"),
}
_ROUTE = re.compile(r"^/model/([^/]+)/(converse|converse-stream|invoke)$")
_PROFILE = re.compile(r"^(us|eu|apac|global|jp|au|ca)\.")
#: the schema a system message asks the answer to follow (`Schema.instructions`)
_ASKED_SCHEMA = re.compile(r"It must follow this JSON Schema:\n(\{.*\})\s*$", re.DOTALL)
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$"
)
_STATUS_TYPES = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


def signature_problem(request: RecordedRequest, secret: str) -> str | None:
    """What is wrong with the request's SigV4 signature, or None when it is valid."""
    match = _AUTH.match(request.headers.get("authorization", ""))
    if match is None:
        return "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'."
    _key, day, region, service, signed, given = match.groups()
    stamp = request.headers.get("x-amz-date", "")
    if service != "bedrock" or not stamp.startswith(day):
        return f"Credential should be scoped to a valid date and service 'bedrock', not {service}."
    when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    if abs((datetime.now(timezone.utc) - when).total_seconds()) > 300:
        return "Signature expired: the request time is more than 5 minutes from the server's."
    names = signed.split(";")
    if "host" not in names or any(name not in request.headers for name in names):
        return "The signed headers must include host and be present on the request."
    query = "&".join(
        f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}"
        for k, v in sorted(parse_qsl("&".join(f"{k}={v}" for k, v in request.query.items())))
    )
    canonical = "\n".join(
        [
            request.method,
            quote(request.path, safe="/~"),
            query,
            "".join(f"{n}:{' '.join(request.headers[n].split())}\n" for n in names),
            signed,
            hashlib.sha256(request.body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, given):
        return (
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
    return None


class BedrockWire(Wire):
    name = "bedrock"
    base_path = ""
    flavors = ("no_tool_choice",)

    def handle(self, request: RecordedRequest, chunk_count: int | None) -> Reply | Stream:
        denied = self._denied(request)
        if denied is not None:
            return denied
        if (request.method, request.path) == ("GET", "/foundation-models"):
            return Reply({"modelSummaries": [_summary(m) for m in MODELS]})
        route = _ROUTE.match(request.path)
        if request.method != "POST" or route is None:
            return self._error(404, "UnknownOperationException", "Unknown operation.")
        model, action = unquote(route.group(1)), route.group(2)
        if _PROFILE.sub("", model) == "anthropic.claude-locked":
            return self._error(
                403,
                "AccessDeniedException",
                "You don't have access to the model with the specified model ID.",
            )
        if _PROFILE.sub("", model) not in MODELS:
            return self._error(
                400, "ValidationException", "The provided model identifier is invalid."
            )
        body = request.json
        if not isinstance(body, dict):
            return self._error(400, "SerializationException", "The request body is not valid JSON.")
        if action == "invoke":
            return self._invoke(model, body)
        return self._converse(body, action == "converse-stream", chunk_count)

    def _denied(self, request: RecordedRequest) -> Reply | None:
        authorization = request.headers.get("authorization", "")
        if authorization.startswith("Bearer "):
            if self.api_key is None or authorization == f"Bearer {self.api_key}":
                return None
            return self._error(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            )
        problem = signature_problem(request, self.api_key or SECRET_KEY)
        if problem is None:
            return None
        return self._error(403, "InvalidSignatureException", problem)

    # -- Converse ---------------------------------------------------------------------

    def _converse(
        self, body: dict[str, Any], stream: bool, chunk_count: int | None
    ) -> Reply | Stream:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages or messages[0].get("role") != "user":
            return self._error(
                400, "ValidationException", "A conversation must start with a user message."
            )
        roles = [m.get("role") for m in messages]
        if any(a == b for a, b in itertools.pairwise(roles)) or not set(roles) <= {
            "user",
            "assistant",
        }:
            return self._error(
                400,
                "ValidationException",
                "A conversation must alternate between user and assistant roles.",
            )
        last = messages[-1].get("content") or []
        text = " ".join(
            content_text(b["toolResult"]["content"]) if "toolResult" in b else b.get("text", "")
            for b in last
            if isinstance(b, dict)
        ).strip()
        if "[too-long]" in text:
            return self._error(400, "ValidationException", "Input is too long for requested model.")
        config = body.get("toolConfig") or {}
        forced = ((config.get("toolChoice") or {}).get("tool") or {}).get("name")
        if forced is not None and self.flavor == "no_tool_choice":
            return self._error(
                400,
                "ValidationException",
                "This model doesn't support the toolConfig.toolChoice.tool field. "
                "Remove toolConfig.toolChoice.tool and try again.",
            )
        tools = [] if any("toolResult" in b for b in last) else (config.get("tools") or [])[:2]
        if forced is not None:
            tools = [t for t in tools if t["toolSpec"]["name"] == forced]
        calls = [_tool_use(i, t["toolSpec"], text) for i, t in enumerate(tools)]
        for call, tool in zip(calls, tools, strict=True):
            if forced is not None:  # a tool forced by name is answered with a valid input
                schema = (tool["toolSpec"].get("inputSchema") or {}).get("json")
                call["input"] = json.loads(self.structured(schema, text))
        asked = _ASKED_SCHEMA.search(" ".join(b.get("text", "") for b in body.get("system") or ()))
        answer = (
            echo.echo(text) if asked is None else self.structured(json.loads(asked.group(1)), text)
        )
        prompt = echo.token_count(dumps(messages))
        usage = {"inputTokens": prompt, "outputTokens": echo.token_count(answer)}
        usage["totalTokens"] = usage["inputTokens"] + usage["outputTokens"]
        stop = "tool_use" if calls else "end_turn"
        if not stream:
            content = [{"toolUse": c} for c in calls] if calls else [{"text": answer}]
            return Reply(
                {
                    "output": {"message": {"role": "assistant", "content": content}},
                    "stopReason": stop,
                    "usage": usage,
                    "metrics": {"latencyMs": 12},
                }
            )
        events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
        if calls:
            for index, call in enumerate(calls):
                start = {"toolUseId": call["toolUseId"], "name": call["name"]}
                events.append(
                    ("contentBlockStart", {"contentBlockIndex": index, "start": {"toolUse": start}})
                )
                arguments = json.dumps(call["input"])
                for piece in (arguments[: len(arguments) // 2], arguments[len(arguments) // 2 :]):
                    delta = {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}}
                    events.append(("contentBlockDelta", delta))
                events.append(("contentBlockStop", {"contentBlockIndex": index}))
        else:
            for piece in echo.pieces(answer, chunk_count):
                events.append(
                    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
                )
            events.append(("contentBlockStop", {"contentBlockIndex": 0}))
        events.append(("messageStop", {"stopReason": stop}))
        events.append(("metadata", {"usage": usage, "metrics": {"latencyMs": 12}}))
        return Stream(self._frames(events), content_type="application/vnd.amazon.eventstream")

    def _frames(self, events: list[tuple[str, dict[str, Any]]]):
        for name, payload in events:
            message = _event(name, payload | {"p": "abcdefghij"[: len(name) % 10]})
            yield message[:10]  # the prelude split across two writes
            yield message[10:]

    # -- InvokeModel embeddings -----------------------------------------------------------

    def _invoke(self, model: str, body: dict[str, Any]) -> Reply:
        if "titan-embed" in model:
            text = body.get("inputText")
            if not isinstance(text, str) or not text:
                return self._error(
                    400, "ValidationException", "Malformed input request: inputText is required."
                )
            vector = echo.vector(text, int(body.get("dimensions", 8)))
            return Reply({"embedding": vector, "inputTextTokenCount": echo.token_count(text)})
        texts = body.get("texts")
        if not isinstance(texts, list) or not texts or not body.get("input_type"):
            return self._error(
                400,
                "ValidationException",
                "Malformed input request: texts and input_type are required.",
            )
        count = str(echo.token_count(*texts))
        reply = {
            "id": "emb-fake",
            "embeddings": [echo.vector(t) for t in texts],
            "response_type": "embeddings_floats",
            "texts": texts,
        }
        return Reply(reply, headers={"x-amzn-bedrock-input-token-count": count})

    # -- errors -------------------------------------------------------------------------

    def _error(self, status: int, kind: str, message: str) -> Reply:
        headers = {
            "x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/"
        }
        return Reply({"message": message}, status, headers)

    def error_body(self, status: int, message: str) -> object:
        return {"message": message}

    def stream_error_frame(self) -> bytes:
        headers = {
            ":message-type": "exception",
            ":exception-type": "serviceUnavailableException",
            ":content-type": "application/json",
        }
        return encode(
            headers, dumps({"message": "Bedrock is unable to process your request."}).encode()
        )

    def malformed_frame(self) -> bytes:
        frame = bytearray(
            _event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "x"}})
        )
        frame[-1] ^= 0xFF  # a message CRC that does not match
        return bytes(frame)

    def reply_headers(self, request: RecordedRequest) -> dict[str, str]:
        return {"x-amzn-RequestId": request.request_id}


def _event(name: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": name, ":content-type": "application/json", ":message-type": "event"}
    return encode(headers, dumps(payload).encode())


def _tool_use(index: int, spec: dict[str, Any], text: str) -> dict[str, Any]:
    properties = ((spec.get("inputSchema") or {}).get("json") or {}).get("properties") or {}
    key = next(iter(properties), None)
    return {
        "toolUseId": f"tooluse_{index}",
        "name": spec["name"],
        "input": {key: text} if key else {},
    }


def _summary(model: str) -> dict[str, Any]:
    name, owner, status = MODELS[model]
    return {
        "modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{model}",
        "modelId": model,
        "modelName": name,
        "providerName": owner,
        "responseStreamingSupported": "embed" not in model,
        "inferenceTypesSupported": ["ON_DEMAND"],
        "modelLifecycle": {"status": status},
    }
