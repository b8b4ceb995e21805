"""The fake servers answer retired models as the live APIs of December 2026 do, and list
each model's lifecycle where the API does."""

from __future__ import annotations

import httpx2

from llmpipe_nb.testing import FakeServer

CHAT = {"messages": [{"role": "user", "content": "hi"}]}


def test_openai_answers_a_shut_down_model_with_model_not_found(openai_server) -> None:
    for path, body in (
        ("/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "x"}),
        ("/chat/completions", {"model": "o3-mini", **CHAT}),
    ):
        reply = httpx2.post(openai_server.base_url + path, json=body)
        assert reply.status_code == 404
        assert reply.json() == {
            "error": {
                "message": f"The model `{body['model']}` does not exist or you do not have "
                "access to it.",
                "type": "invalid_request_error",
                "param": None,
                "code": "model_not_found",
            }
        }
    answered = httpx2.post(
        openai_server.base_url + "/chat/completions", json={"model": "gpt-4o", **CHAT}
    )
    assert answered.status_code == 200


def test_openai_compatible_flavors_keep_their_own_models(fake_server) -> None:
    vllm = fake_server("openai", flavor="vllm")
    reply = httpx2.post(
        vllm.base_url + "/completions", json={"model": "davinci-002", "prompt": "x"}
    )
    assert reply.status_code == 200


def test_openai_models_carry_shutdown_date(openai_server) -> None:
    listing = httpx2.get(openai_server.base_url + "/models").json()["data"]
    dates = {m["id"]: m["shutdown_date"] for m in listing}
    assert dates["gpt-4o-mini"] == "2027-01-14" and dates["gpt-6-luna"] is None
    assert "gpt-3.5-turbo-instruct" not in dates


def test_anthropic_answers_a_retired_model_with_not_found(anthropic_server: FakeServer) -> None:
    reply = httpx2.post(
        anthropic_server.base_url + "/v1/messages",
        headers={"anthropic-version": "2023-06-01"},
        json={"model": "claude-sonnet-4-20250514", "max_tokens": 5, **CHAT},
    )
    assert reply.status_code == 404
    assert reply.json() == {
        "type": "error",
        "error": {"type": "not_found_error", "message": "model: claude-sonnet-4-20250514"},
        "request_id": "req_fake",
    }


def test_anthropic_models_carry_lifecycle_and_retires_at(anthropic_server) -> None:
    listing = httpx2.get(anthropic_server.base_url + "/v1/models").json()["data"]
    fields = {m["id"]: (m["lifecycle"], m["retires_at"]) for m in listing}
    assert fields["claude-sonnet-4-20250514"] == ("retired", "2026-06-15T00:00:00Z")
    assert fields["claude-3-5-haiku-20241022"] == ("active", None)


def test_gemini_answers_a_retired_model_from_its_routing_target(gemini_server) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    routed = httpx2.post(
        gemini_server.base_url + "/models/gemini-2.5-flash:generateContent", json=body
    )
    assert routed.status_code == 200 and routed.json()["modelVersion"] == "gemini-3.5-flash-lite"
    current = httpx2.post(
        gemini_server.base_url + "/models/gemini-3.5-flash-lite:generateContent", json=body
    )
    assert current.json()["modelVersion"] == "gemini-3.5-flash-lite"
