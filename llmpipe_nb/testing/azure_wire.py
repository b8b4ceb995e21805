"""The Azure OpenAI fake: OpenAI's answers at Azure's addresses, with its content filter.

Served: the deployment URLs (`/openai/deployments/{deployment}/chat/completions`,
`/completions`, `/embeddings`, and `/openai/models`), which need an `api-version` query
(Azure answers 404 "Resource not found" without one), and the v1 API (`/openai/v1/...`),
where the body's `model` names the deployment. Deployments map to the models that answer
(`DEPLOYMENTS`); an unknown one is Azure's 404 `DeploymentNotFound`. Credentials: the
`api-key` header, or `Authorization: Bearer` with an Entra ID token (the required key
stands for both). Streams open with Azure's prompt-filter chunk (no choices, blank
model). A prompt containing `[filtered]` is refused by the content filter (400
`content_filter`, jailbreak fired); one containing `[filtered-answer]` is answered with
finish reason `content_filter` (hate and violence fired). A JSON-schema `response_format`
is refused on dated API versions before 2024-08-01-preview, as Azure does.
"""

from __future__ import annotations

import re
from typing import Any

from llmpipe_nb.testing.openai_wire import OpenAIWire
from llmpipe_nb.testing.wire import CREATED, RecordedRequest, Reply, Stream, last_text

__all__ = ["DEPLOYMENTS", "AzureWire"]

#: deployment name -> the model that answers (what the answer reports)
DEPLOYMENTS = {
    "chat": "gpt-4o-mini-2024-07-18",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "sol": "gpt-6.1-sol",
    "embed": "text-embedding-3-small",
    "instruct": "gpt-35-turbo-instruct-0914",
}
_DEPLOYMENT = re.compile(
    r"^/openai/deployments/([^/]+)(/chat/completions|/completions|/embeddings)$"
)
_V1 = re.compile(r"^/openai/v1(/chat/completions|/completions|/embeddings)$")
_SAFE = {"filtered": False, "severity": "safe"}
_CATEGORIES = ("hate", "self_harm", "sexual", "violence")


def _verdicts(*fired: str) -> dict[str, Any]:
    return {c: {"filtered": True, "severity": "high"} if c in fired else _SAFE for c in _CATEGORIES}


class AzureWire(OpenAIWire):
    name = "azure"
    base_path = ""
    flavors: tuple[str, ...] = ()

    def handle(self, request: RecordedRequest, chunk_count: int | None) -> Reply | Stream:
        path, version = request.path, request.query.get("api-version")
        if request.method == "GET" and path in ("/openai/models", "/openai/v1/models"):
            if path == "/openai/models" and not version:
                return self._not_found()
            return Reply({"object": "list", "data": [_model(m) for m in sorted(DEPLOYMENTS)]})
        deployed, v1 = _DEPLOYMENT.match(path), _V1.match(path)
        if request.method != "POST" or not (deployed or v1) or (deployed and not version):
            return self._not_found()
        body = request.json
        if not isinstance(body, dict):
            return self.error(400, "The request body must be a JSON object.")
        deployment = deployed.group(1) if deployed else body.get("model")
        operation = (deployed or v1).group(2 if deployed else 1)  # type: ignore[union-attr]
        model = DEPLOYMENTS.get(str(deployment))
        if model is None:
            return Reply(
                {
                    "error": {
                        "code": "DeploymentNotFound",
                        "message": f"The API deployment {deployment} for this resource does "
                        "not exist. If you created the deployment within the last 5 minutes, "
                        "please wait a moment and try again.",
                    }
                },
                404,
            )
        body = {**body, "model": model}
        if operation == "/embeddings":
            return self._embeddings(body)
        if operation == "/completions":
            return self._completion(body, chunk_count)
        user = last_text(body.get("messages") or [], ("user", "tool"))
        if "[filtered]" in user:
            return _prompt_filtered()
        if "[filtered-answer]" in user:
            return self._filtered_answer(body)
        if (body.get("response_format") or {}).get("type") == "json_schema" and (
            deployed and str(version) < "2024-08-01"
        ):
            return self.error(
                400,
                "response_format value as json_schema is enabled only for api versions "
                "2024-08-01-preview and later",
            )
        answer = self._chat(body, chunk_count)
        if isinstance(answer, Stream):
            return Stream([self.sse(_prompt_chunk()), *answer.frames])
        if answer.status == 200 and isinstance(answer.body, dict):
            answer.body["prompt_filter_results"] = _prompt_chunk()["prompt_filter_results"]
            answer.body["choices"][0]["content_filter_results"] = _verdicts()
        return answer

    def _filtered_answer(self, body: dict[str, Any]) -> Reply | Stream:
        head = {"id": "chatcmpl-filtered", "created": CREATED, "model": body["model"]}
        verdicts = _verdicts("hate", "violence")
        if not body.get("stream"):
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": None},
                "finish_reason": "content_filter",
                "content_filter_results": verdicts,
            }
            usage = {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3}
            return Reply(head | {"object": "chat.completion", "choices": [choice], "usage": usage})
        head["object"] = "chat.completion.chunk"
        text = {"index": 0, "delta": {"role": "assistant", "content": "Well"}}
        stop = {"index": 0, "delta": {}, "finish_reason": "content_filter"}
        stop["content_filter_results"] = verdicts
        return Stream(
            [
                self.sse(_prompt_chunk()),
                self.sse(head | {"choices": [text]}),
                self.sse(head | {"choices": [stop]}),
                self.sse("[DONE]"),
            ]
        )

    def _not_found(self) -> Reply:
        return Reply({"error": {"code": "404", "message": "Resource not found"}}, 404)

    def error_body(self, status: int, message: str) -> object:
        return {"error": {"code": str(status), "message": message}}

    def credential_ok(self, request: RecordedRequest) -> bool:
        if self.api_key is None:
            return True
        return request.headers.get("api-key") == self.api_key or (
            request.headers.get("authorization") == f"Bearer {self.api_key}"
        )

    def reply_headers(self, request: RecordedRequest) -> dict[str, str]:
        return {
            "x-request-id": request.request_id,
            "apim-request-id": f"apim-{request.request_id}",
            "x-ratelimit-remaining-requests": "99",
            "x-ratelimit-remaining-tokens": "99000",
        }


def _prompt_chunk() -> dict[str, Any]:
    """The first chunk of an Azure stream: the prompt's filter verdicts, nothing else."""
    verdicts = [{"prompt_index": 0, "content_filter_results": _verdicts()}]
    return {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": verdicts,
    }


def _prompt_filtered() -> Reply:
    inner = _verdicts() | {"jailbreak": {"filtered": True, "detected": True}}
    error = {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
        "content management policy. Please modify your prompt and retry.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": inner,
        },
    }
    return Reply({"error": error}, 400)


def _model(deployment: str) -> dict[str, Any]:
    return {
        "id": DEPLOYMENTS[deployment],
        "object": "model",
        "created_at": CREATED,
        "lifecycle_status": "generally-available",
        "capabilities": {
            "chat_completion": deployment != "embed",
            "embeddings": deployment == "embed",
        },
    }
