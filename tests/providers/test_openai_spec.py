"""The OpenAI provider's requests are valid by OpenAI's own OpenAPI description.

Steady serves the official spec as a validating mock: a request that breaks the schema
gets 400 with the violation, which the transport raises as BadRequestError. Replies are
random examples, so only the requests are checked here.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from llmpipe_nb import providers
from llmpipe_nb.errors import BadRequestError
from llmpipe_nb.plugs import ExecuteRequest
from llmpipe_nb.request import Request
from llmpipe_nb.responses import ToolCall

pytestmark = pytest.mark.slow

STEADY = "@stdy/cli@0.22.2"
SPEC = Path(
    os.environ.get(
        "LLMPIPE_OPENAI_SPEC",
        Path(__file__).parents[1] / "specs" / "openai-openapi.yaml",
    )
)
KEY = "sk-test-canary-0123456789"
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def steady() -> Iterator[str]:
    npx = shutil.which("npx")
    if npx is None:
        reason = "npx (Node.js) is not installed, so OpenAI's spec cannot be served by Steady"
        if os.environ.get("LLMPIPE_CI"):
            pytest.fail(f"{reason}: CI must install Node.js.")
        pytest.skip(reason)
    if not SPEC.is_file():
        pytest.fail(f"OpenAI's OpenAPI spec is not at {SPEC}: set LLMPIPE_OPENAI_SPEC to its path.")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [npx, "--yes", STEADY, "--host", "127.0.0.1", "-p", str(port), "-q", str(SPEC)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # the first run downloads Steady
        while True:
            try:
                httpx2.get(url + "/models", headers={"Authorization": f"Bearer {KEY}"}, timeout=1)
                break
            except httpx2.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"Steady did not start: {process.stderr.read().decode()[-2000:]}"
                    ) from None
                time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        process.stderr.close()


def prepared(steady: str, kind: str, messages=(), **options) -> Request:
    """Run the OpenAI pipeline up to the HTTP call; return the request ready to send."""
    request = Request.new(
        "openai", messages, {"api_key": KEY, "base_url": steady, **options}, kind=kind
    )
    for plug in providers.get_pipeline("openai", kind):
        if isinstance(plug, ExecuteRequest):
            return request
        request = plug.call(request)
    raise AssertionError("the pipeline has no ExecuteRequest")


def accepted(steady: str, kind: str, messages=(), **options) -> None:
    request = prepared(steady, kind, messages, **options)
    transport, call = request.http_client, request.provider_request
    try:
        if call.stream:
            with transport.stream(call) as events:
                assert events.headers["content-type"].startswith("text/event-stream")
        else:
            assert transport.send(call).status == 200
    except BadRequestError as error:
        pytest.fail(f"Steady rejected the {kind} request {call.json}: {error.body}")


TOOL_TURNS = [
    {"role": "user", "content": "Weather in Paris?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [ToolCall("call_1", "get_weather", {"city": "Paris"})],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temp_c": 18}'},
]


@pytest.mark.parametrize(
    "kind, messages, options",
    [
        (
            "chat",
            [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"}],
            {"temperature": 0.2, "max_tokens": 64, "stop": ["\n\n"], "seed": 1, "top_p": 0.9},
        ),
        (
            "chat",
            [{"role": "developer", "content": "Terse."}, {"role": "user", "content": "Hi"}],
            {},
        ),
        (
            "chat",
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image", "data": "iVBORw0KGgo=", "media_type": "image/png"},
                        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                    ],
                }
            ],
            {},
        ),
        (
            "chat",
            [{"role": "user", "content": "JSON please"}],
            {"response_format": {"type": "json_object"}},
        ),
        (
            "chat",
            [{"role": "user", "content": "JSON please"}],
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {
                        "name": "answer",
                        "schema": {"type": "object", "properties": {"a": {"type": "string"}}},
                    },
                }
            },
        ),
        ("chat", [{"role": "user", "content": "Think"}], {"model": "o3-mini", "max_tokens": 256}),
        (
            "chat",
            [{"role": "user", "content": "Think"}],
            {
                "model": "gpt-6-luna",
                "max_tokens": 256,
                "reasoning_effort": "low",
                "verbosity": "low",
                "service_tier": "flex",
            },
        ),
        ("chat", [{"role": "user", "content": "Hi"}], {"model": "gpt-6-luna", "temperature": 0.2}),
        (
            "stream",
            [{"role": "user", "content": "Weather?"}],
            {"model": "gpt-6-luna", "tools": [WEATHER]},
        ),
        (
            "chat",
            [{"role": "user", "content": "Weather?"}],
            {"tools": [WEATHER], "tool_choice": "auto"},
        ),
        (
            "chat",
            TOOL_TURNS,
            {
                "tools": [WEATHER],
                "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            },
        ),
        ("stream", [{"role": "user", "content": "Hi"}], {}),
        ("stream", [{"role": "user", "content": "Weather?"}], {"tools": [WEATHER]}),
        ("embeddings", ["a", "b"], {}),
        ("embeddings", ["a"], {"dimensions": 256}),
        (
            "completion",
            "Once upon a time",
            {"model": "gpt-3.5-turbo-instruct", "max_tokens": 16, "temperature": 0.5},
        ),
        ("list_models", (), {}),
        ("validate", (), {}),
    ],
    ids=[
        "chat",
        "chat-developer",
        "chat-images",
        "chat-json-object",
        "chat-json-schema",
        "chat-reasoning-model",
        "chat-effort-verbosity-tier",
        "chat-sampling-effort-none",
        "stream-tools-effort-none",
        "chat-tools",
        "chat-tool-results",
        "stream",
        "stream-tools",
        "embeddings",
        "embeddings-dimensions",
        "completion",
        "list-models",
        "validate",
    ],
)
@pytest.mark.filterwarnings("ignore:gpt-6-luna takes")  # reasoning_effort="none" is added
def test_requests_match_the_spec(steady: str, kind, messages, options) -> None:
    accepted(steady, kind, messages, **options)


def test_steady_does_reject_a_wrong_request(steady: str) -> None:
    """The check above can fail: a message with an unknown role is refused."""
    request = prepared(steady, "chat", "Hi")
    call = request.provider_request
    wrong = type(call)(
        call.method, call.path, json={**call.json, "messages": [{"role": "robot", "content": 1}]}
    )
    with pytest.raises(BadRequestError):
        request.http_client.send(wrong)


# -- the Batch API: Files upload, batches, and the fake's objects --------------------------


def test_batch_calls_match_the_spec(steady: str) -> None:
    """What engine="batch" sends (the JSONL upload, the batch, its polls and its cancel)
    is valid by the spec; Steady's random replies are read without error."""
    from llmpipe_nb.providers.openai.batches import OpenAIBatches

    request = prepared(steady, "chat", "Hi", model="gpt-6-luna")
    provider = providers.get("openai")
    api = OpenAIBatches()
    try:
        batch = api.submit(
            provider, request.config, [("r1", request.provider_request)], {"llmpipe_job": "j"}
        )
        api.status(provider, request.config, batch)
        api.cancel(provider, request.config, batch)
    except BadRequestError as error:
        pytest.fail(f"Steady rejected a batch call: {error.body}")


def test_steady_does_reject_a_wrong_batch(steady: str) -> None:
    request = prepared(steady, "chat", "Hi")
    wrong = {
        "input_file_id": "file-1",
        "endpoint": "/v1/chat/completions",
        "completion_window": "1h",
    }
    with pytest.raises(BadRequestError):
        request.http_client.send(type(request.provider_request)("POST", "/batches", json=wrong))


def test_the_fake_batch_endpoints_answer_as_the_spec_says() -> None:
    """The loopback fake's file and batch objects, in every state a job passes, validate
    against the spec's schemas (the spec does not mark the fields the API sends as null
    nullable, so those are left out first)."""
    import jsonschema
    import yaml

    from llmpipe_nb.testing import FakeServer

    spec = yaml.load(SPEC.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    schemas = spec["components"]["schemas"]

    def check(body: dict, name: str) -> None:
        kept = {k: v for k, v in body.items() if v is not None}
        resolver = {"components": {"schemas": schemas}, **schemas[name]}
        jsonschema.validate(kept, resolver)

    headers = {"Authorization": f"Bearer {KEY}"}
    line = b'{"custom_id":"r1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-6-luna","messages":[{"role":"user","content":"Hi"}]}}\n'
    with (
        FakeServer("openai") as server,
        httpx2.Client(base_url=server.base_url, headers=headers) as http,
    ):
        uploaded = http.post("/files", data={"purpose": "batch"}, files={"file": ("b.jsonl", line)})
        check(uploaded.json(), "OpenAIFile")
        body = {
            "input_file_id": uploaded.json()["id"],
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
        }
        batch = http.post("/batches", json=body).json()
        statuses = [batch["status"]]
        check(batch, "Batch")
        while batch["status"] != "completed":
            batch = http.get(f"/batches/{batch['id']}").json()
            check(batch, "Batch")
            statuses.append(batch["status"])
        assert statuses == ["validating", "in_progress", "finalizing", "completed"]
        output = http.get(f"/files/{batch['output_file_id']}/content").text
        assert '"custom_id":"r1"' in output and '"status_code":200' in output
